"""Adopt before create: the guide's VPC, internet gateway, queue instance or Elastic IP that is not
found by its Name but that the guide's other resources point at is named (ec2.create_tags), never
duplicated.

When the VPC is not found by its Name, the VPC the named subnets, groups and queue are in is; the
gateway: the one attached to the guide's VPC (and where its main route table's default route
points); the queue instance: the one the guide's address is associated with, or the one in the
queue's group in the guide's VPC; the address: the one associated with the queue. Exactly one such
resource, without a Name of its own: it is tagged Name (and with the guide's tag when missing). A
VPC only when it is not the region's default VPC and has the params' vpc_cidr (a group left in the
default VPC, where the console puts a new one, does not make it the guide's). Several, or one
named otherwise, or vhv could not look: a by-hand step, and nothing is created. What points where
is read by validator.aws.ec2.read_unnamed (remediate only). The names are the catalogue's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from validator.fixers.builder import TAG_TEXT, Builder
from validator.fixers.plan import FIX
from validator.kinds import KINDS, LIVE_STATES, VALUES, resource_id

DEFAULT = "0.0.0.0/0"

# (the resource, why vhv believes it is the guide's, why it must not be named by vhv: "" when it may)
Candidate = tuple[dict[str, Any], str, str]


class NotRead(Exception):
    """vhv could not look for the unnamed resource (the read failed or was denied)."""


def _unnamed(b: Builder, key: str) -> list[dict[str, Any]]:
    path = f"unnamed.{key}"
    for k, why in b.snap.errors.items():
        if path == k or path.startswith(k + "."):
            raise NotRead(why)
    found = b.snap.data.get("unnamed")
    items = found.get(key) if isinstance(found, dict) else None
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _listed(b: Builder, key: str) -> list[dict[str, Any]]:
    items = b.get(key, []) or []
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _vpc(b: Builder) -> list[Candidate]:
    held: dict[str, list[str]] = {}
    for key in ("subnets", "security_groups"):
        for x in _listed(b, key):
            held.setdefault(x.get("vpc_id") or "", []).append(str(x.get("name") or x.get("id")))
    for i in _listed(b, "instances"):
        if i.get("state") in LIVE_STATES:
            held.setdefault(i.get("vpc_id") or "", []).append(str(i.get("name") or i.get("id")))
    out = []
    for v in _unnamed(b, "vpcs"):
        why = f"holds {_and(sorted(set(held.get(v['id'], []))))}"
        # a namesake left in the default VPC (where the console puts a new group) or in a VPC of another
        # CIDR does not make that VPC the guide's: vhv names only one that is neither
        blocked = []
        if v.get("is_default") is not False:
            blocked.append(
                "it is the region's default VPC"
                if v.get("is_default")
                else "vhv could not tell whether it is the region's default VPC"
            )
        if v.get("cidr") != b.params.vpc_cidr:
            blocked.append(f"its CIDR is {v.get('cidr')}, not the params' vpc_cidr {b.params.vpc_cidr}")
        if not blocked:
            why += f" and has the params' vpc_cidr {v['cidr']}"
        out.append((v, why, " and ".join(blocked)))
    return out


def _igw(b: Builder) -> list[Candidate]:
    vpc = b.vpc_id()
    if not vpc:
        return []
    vpc_name, table_name = KINDS["vpc"].name, KINDS["route_table"].name
    table = b.existing("route_table")
    route = next((r.get("target") for r in (table or {}).get("routes", []) if r.get("destination") == DEFAULT), None)
    out: list[Candidate] = []
    for g in _unnamed(b, "igws"):
        if vpc in [a.get("vpc_id") for a in g.get("attachments", [])]:
            why = f"is attached to {vpc_name} ({vpc})"
            points = f" and {table_name}'s default route points to it" if route == g["id"] else ""
            out.append((g, why + points, ""))
    if route and str(route).startswith("igw-") and route not in [g["id"] for g, _, _ in out]:
        out.append(
            ({"id": route}, f"is where {table_name}'s default route points", f"it is not attached to {vpc_name}")
        )
    return out


def _instance(b: Builder) -> list[Candidate]:
    vpc = b.vpc_id()
    if not vpc:
        return []
    vpc_name = KINDS["vpc"].name
    ips = {a.get("instance_id"): a.get("public_ip") for a in _listed(b, "eips") if a.get("instance_id")}
    found: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for i in _unnamed(b, "instances"):
        if i.get("state") in LIVE_STATES:
            found.setdefault(i["id"], (i, []))[1].append(f"is in {KINDS['sg_queue'].name} in {vpc_name}")
    for i in _unnamed(b, "eip_instances"):
        if i.get("state") in LIVE_STATES:
            found.setdefault(i["id"], (i, []))[1].append(f"has {KINDS['eip'].name} ({ips.get(i['id'])}) associated")
    return [
        (
            i,
            " and ".join(why),
            "" if i.get("vpc_id") == vpc else f"it is in {i.get('vpc_id')}, not in {vpc_name} ({vpc})",
        )
        for i, why in found.values()
    ]


def _eip(b: Builder) -> list[Candidate]:
    inst = b.existing("instance") or b.adopted.get("instance")
    if not inst:
        return []
    return [
        (a, f"({a.get('public_ip')}) is associated with {KINDS['instance'].name} ({inst['id']})", "")
        for a in _unnamed(b, "eips")
        if a.get("instance_id") == inst["id"]
    ]


FINDERS: dict[str, Callable[[Builder], list[Candidate]]] = {
    "vpc": _vpc,
    "igw": _igw,
    "instance": _instance,
    "eip": _eip,
}


def adopt(b: Builder, kind: str) -> bool:
    """Plan for the guide's `kind` that is not found by its Name, before anything creates one:
    True when this did (named the one resource the others point at, or a by-hand step); False when
    nothing points anywhere (then it may be created)."""
    rule, name = KINDS[kind].missing_rule, KINDS[kind].name
    try:
        found = FINDERS[kind](b)
    except NotRead as exc:
        b.manual(
            rule,
            kind,
            f"{name} not found by its name, and vhv could not look for one that lost its Name "
            f"({exc}). By hand: if the guide's {name} is there without its Name, tag it Name={name}; vhv "
            f"creates no second one while it cannot tell",
            resource=name,
        )
        return True
    if not found:
        return False
    if len(found) > 1:
        listing = "; ".join(f"{resource_id(item)} {why}" for item, why, _ in found)
        b.manual(
            rule,
            kind,
            f"{name} not found by its name, and several resources could be it: {listing}. By hand: "
            f"tag the one that is the guide's Name={name} (vhv names none and creates none while it cannot "
            "tell which)",
            resource=name,
        )
        return True
    item, why, blocked = found[0]
    rid = resource_id(item)
    tags = item.get("tags") or {}
    if blocked and kind == "vpc":
        b.manual(
            rule,
            kind,
            f"{name} not found by its name; {rid} {why}, but vhv does not adopt it as {name}: "
            f"{blocked}. By hand: the guide's {name} is a VPC of its own with CIDR {b.params.vpc_cidr}; delete "
            f"or rename what of the guide's is left in {rid} and run vhv remediate again (it then creates "
            f"{name}), or create {name} yourself (vhv neither renames {rid} nor creates anything in it)",
            resource=name,
        )
        return True
    if blocked or tags.get("Name"):
        because = blocked or f"it is named {tags['Name']!r}"
        b.manual(
            rule,
            kind,
            f"{name} not found by its name; {rid} {why}, but {because}. By hand: if it is the "
            f"guide's {name}, tag it Name={name} (vhv neither renames it nor creates a second one)",
            resource=name,
        )
        return True
    add = [{"Key": "Name", "Value": name}]
    if tags.get(VALUES.tag_key) != VALUES.tag_value:
        add.append(dict(VALUES.tag))
    b.add(
        rule,
        kind,
        "ec2.create_tags",
        {"Resources": [rid], "Tags": add},
        f"{rid} {why}: naming it {name}" + (f" and tagging it {TAG_TEXT}" if len(add) > 1 else ""),
        risk=FIX,
        resource=name,
    )
    b.adopted[kind] = item
    return True


def to_create(b: Builder, kind: str, rules: list[Any]) -> Any:
    """The failing rule to create the guide's `kind` under, or None: nothing fails, the one that
    fails is found elsewhere (a by-hand step), or the plan names one that lost its Name instead."""
    rule = b.first_failing(rules)
    if not rule or b.found_elsewhere(rule, kind) or adopt(b, kind):
        return None
    return rule
