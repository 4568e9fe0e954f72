"""Security-group fixers: create the guide's two groups, add a missing rule, and (a decision)
revoke a rule wider than the guide. A group itself is never deleted.

Each fix is registered in FIXERS by the name the rules give it (`fixer:` in rules/*.yaml); the
rules a group must have are those rules' args, its name and description the catalogue's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from validator.checks import Missing
from validator.checks import sg as sg_checks
from validator.fixers.builder import Builder, tag_spec
from validator.fixers.plan import DECIDE, FIX
from validator.fixers.tagging import tag_each
from validator.kinds import KINDS
from validator.rulepack import Rule


def permission(
    protocol: str, port: int | None, cidr: str | None = None, group: str | None = None, description: str = ""
) -> dict[str, Any]:
    p: dict[str, Any] = {"IpProtocol": protocol}
    if protocol != "-1" and port is not None:
        p["FromPort"] = p["ToPort"] = port
    peer = {"Description": description} if description else {}
    if group:
        p["UserIdGroupPairs"] = [{"GroupId": group, **peer}]
    else:
        p["IpRanges"] = [{"CidrIp": cidr, **peer}]
    return p


def _flat_to_permission(r: dict[str, Any]) -> dict[str, Any]:
    """A rule as the snapshot holds it -> the IpPermissions entry that names exactly it."""
    p: dict[str, Any] = {"IpProtocol": r["protocol"]}
    if r["protocol"] != "-1":
        p["FromPort"], p["ToPort"] = r.get("from_port"), r.get("to_port")
    if r.get("cidr"):
        p["IpRanges"] = [{"CidrIp": r["cidr"]}]
    elif r.get("cidr_ipv6"):
        p["Ipv6Ranges"] = [{"CidrIpv6": r["cidr_ipv6"]}]
    elif r.get("group_id"):
        p["UserIdGroupPairs"] = [{"GroupId": r["group_id"]}]
    elif r.get("prefix_list_id"):
        p["PrefixListIds"] = [{"PrefixListId": r["prefix_list_id"]}]
    return p


def _specs(b: Builder, rule: Rule) -> list[dict[str, Any]]:
    ctx = b.ctx(rule.resource)
    return [s for s in rule.args["rules"] if ctx.applies(s.get("when"))]


def _source(b: Builder, spec: dict[str, Any]) -> tuple[str | None, str | None]:
    """(cidr, group id or reference) of a guide rule's source."""
    src = spec["source"]
    if src.startswith("sg:"):
        return None, b.id_of(src[3:])
    return b.ctx("params").expand(src), None


def _authorize(
    b: Builder, rule: str, kind: str, group: str, direction: str, spec: dict[str, Any], risk: str = FIX
) -> None:
    cidr, peer = _source(b, spec)
    src = spec["source"]  # a group (sg:<kind> -> its name) or a CIDR ({admin_cidr} -> its value)
    shown = KINDS[src[3:]].name if src.startswith("sg:") else b.expand(src)
    label = f"{spec['protocol'].upper()} {spec.get('port', '')} {'from' if direction == 'ingress' else 'to'} {shown}"
    name, vpc_name = KINDS[kind].name, KINDS["vpc"].name
    if not (cidr or peer):  # the peer group is not one vhv may refer to (missing, or not in the guide's VPC)
        b.manual(
            rule,
            kind,
            f"allow {direction} {label} on {name} once that group is in {vpc_name} (vhv found none there to refer to)",
        )
        return
    b.add(
        rule,
        kind,
        f"ec2.authorize_security_group_{direction}",
        {
            "GroupId": group,
            "IpPermissions": [
                permission(spec["protocol"], spec.get("port"), cidr, peer, description="the Valohai setup guide")
            ],
        },
        f"allow {direction} {label} on {name}",
        risk=risk,
    )


def create(b: Builder, kind: str, rules: list[Rule]) -> None:
    """A missing group is created in the guide's VPC with every inbound rule its `sg-only` rules
    list (outbound is open by default)."""
    rule = b.first_failing(rules)
    if not rule or b.found_elsewhere(rule, kind):
        return
    name, desc, vpc_name = KINDS[kind].name, KINDS[kind].description, KINDS["vpc"].name
    vpc = b.id_of("vpc")
    if not vpc:
        b.manual(rule.id, kind, f"create {name} in {vpc_name} (vhv found no {vpc_name} to put it in)")
        return
    b.add(
        rule.id,
        kind,
        "ec2.create_security_group",
        {"GroupName": name, "Description": desc, "VpcId": vpc, "TagSpecifications": tag_spec(kind)},
        f"create {name} in {vpc_name}",
        creates="GroupId",
    )
    for only in b.named("sg-only", kind):
        if only.args["direction"] == "ingress":
            for spec in _specs(b, only):
                _authorize(b, rule.id, kind, b.id_of(kind), "ingress", spec)


def _missing_specs(b: Builder, kind: str, rule: Rule) -> list[dict[str, Any]]:
    ctx = b.ctx(kind)
    group = b.existing(kind)
    direction = rule.args["direction"]
    out = []
    for spec in _specs(b, rule):
        try:
            want = sg_checks.Want(ctx, spec)
        except Missing:  # its peer group is being created: only a rule open to the world covers it yet
            if not any(_world_covers(r, spec) for r in group.get(direction, [])):
                out.append(spec)
            continue
        if not want.covered_by_all(group.get(direction, [])):
            out.append(spec)
    return out


def _world_covers(r: dict[str, Any], spec: dict[str, Any]) -> bool:
    if r.get("cidr") != "0.0.0.0/0":
        return False
    if r.get("protocol") == "-1":
        return True
    port = spec.get("port")
    return r.get("protocol") == spec["protocol"] and (
        port is None or r.get("from_port", 0) <= port <= r.get("to_port", 65535)
    )


def _peer_created(spec: dict[str, Any], created: set[str]) -> bool:
    return spec["source"].startswith("sg:") and spec["source"][3:] in created


def _standing(b: Builder, kind: str) -> dict[str, Any] | None:
    """The group as it stands in scope (None when the plan creates it, or it is not the guide's to change)."""
    return None if kind in b.created else b.existing(kind)


def allow(b: Builder, kind: str, rules: list[Rule]) -> None:
    """What a failing rule finds missing is allowed; so is what a rule skipped for want of a peer
    group the plan creates."""
    group = _standing(b, kind)
    if not group:
        return
    for rule in rules:
        failing = bool(b.fails(rule))
        new_peer = [s for s in _specs(b, rule) if _peer_created(s, set(b.created))]
        if not failing and not new_peer:
            continue
        direction = rule.args["direction"]
        for spec in _missing_specs(b, kind, rule):
            if failing:
                _authorize(b, rule.id, kind, group["id"], direction, spec)
            elif _peer_created(spec, set(b.created)):  # the rule skipped: its peer group was missing
                peer = spec["source"][3:]
                _authorize(b, KINDS[peer].missing_rule, kind, group["id"], direction, spec)


def tag(b: Builder, kind: str, rules: list[Rule]) -> None:
    if _standing(b, kind):
        tag_each(b, kind, rules)


def only(b: Builder, kind: str, rules: list[Rule]) -> None:
    """What a failing rule finds wider than the guide is revoked (a decision)."""
    group = _standing(b, kind)
    if not group:
        return
    for rule in rules:
        _revoke_wider(b, rule, kind, group)


def _revoke_wider(b: Builder, rule: Rule, kind: str, group: dict[str, Any]) -> None:
    """Each rule wider than the guide is revoked; a rule of the guide that only a revoked one
    allowed (SSH from admin_cidr, inside 22 open to the world) is allowed first, in the same
    decision: tightening never takes away what the guide asks for."""
    if not b.fails(rule):
        return
    ctx = b.ctx(kind)
    direction = rule.args["direction"]
    wants = []  # (the guide's rule as written, as resolved); one naming a missing group is left out
    for spec in _specs(b, rule):
        try:
            wants.append((spec, sg_checks.Want(ctx, spec)))
        except Missing:
            continue
    names = {g["id"]: g["name"] for g in b.get(KINDS[kind].snapshot, []) or []}
    rules = group.get(direction, [])
    wider = [r for r in rules if not any(w.contains(r) for _, w in wants)]
    kept = [r for r in rules if r not in wider]
    for spec, w in wants:
        if not any(w.covered_by(r) for r in kept) and any(w.covered_by(r) for r in wider):
            _authorize(b, rule.id, kind, group["id"], direction, spec, risk=DECIDE)
    for r in wider:
        b.add(
            rule.id,
            kind,
            f"ec2.revoke_security_group_{direction}",
            {"GroupId": group["id"], "IpPermissions": [_flat_to_permission(r)]},
            f"revoke {direction} {sg_checks.describe(r, names)} from {KINDS[kind].name} (the group stays)",
            risk=DECIDE,
        )


FIXERS: dict[str, Callable[[Builder, str, list[Rule]], None]] = {
    "create": create,
    "tag": tag,
    "sg-allow": allow,
    "sg-only": only,
}

# the order the planner runs these fixes in: both groups before the rules that name one another
ORDER: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("sg_workers", "sg_queue"), ("create",)),
    (("sg_workers", "sg_queue"), ("sg-allow", "tag", "sg-only")),
)
