"""Network fixers (Option 1): the guide's VPC, its subnets, its internet gateway and the main route table.

Each fix is registered in FIXERS by the name the rules give it (`fixer:` in rules/*.yaml); the
names of what it creates are the catalogue's."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

from validator.checks import routing
from validator.fixers.adopt import to_create
from validator.fixers.builder import TAG_TEXT, Builder, tag_spec, tags
from validator.fixers.plan import DECIDE, FIX
from validator.fixers.tagging import tag_each
from validator.kinds import KINDS
from validator.rulepack import Rule

DEFAULT = "0.0.0.0/0"


def _create_vpc(b: Builder, kind: str, rules: list[Rule]) -> None:
    rule = to_create(b, kind, rules)
    if not rule:
        return
    name, table = KINDS[kind].name, KINDS["route_table"].name
    b.add(
        rule.id,
        kind,
        "ec2.create_vpc",
        {"CidrBlock": b.params.vpc_cidr, "TagSpecifications": tag_spec(kind)},
        f"create {name} with CIDR {b.params.vpc_cidr}",
        creates="Vpc.VpcId",
    )
    # the main route table comes with the VPC: found, then named and tagged
    b.add(
        rule.id,
        "route_table",
        "ec2.describe_route_tables",
        {
            "Filters": [
                {"Name": "vpc-id", "Values": [b.id_of(kind)]},
                {"Name": "association.main", "Values": ["true"]},
            ]
        },
        "find the main route table the new VPC came with (a read)",
        creates="RouteTables.0.RouteTableId",
    )
    b.add(
        rule.id,
        "route_table",
        "ec2.create_tags",
        {"Resources": [b.id_of("route_table")], "Tags": tags(table)},
        f"name the new VPC's main route table {table} and tag it {TAG_TEXT}",
    )


def _free_cidrs(b: Builder, count: int) -> list[str]:
    vpc = ipaddress.ip_network(b.params.vpc_cidr) if "vpc" in b.created else None
    item = b.existing("vpc")
    if item and item.get("cidr"):
        vpc = ipaddress.ip_network(item["cidr"])
    if vpc is None:
        return []
    used = [ipaddress.ip_network(s["cidr"]) for s in b.get("vpc_subnets", []) or [] if s.get("cidr")]
    size = min(28, max(20, vpc.prefixlen + 2))
    free = [n for n in vpc.subnets(new_prefix=size) if not any(n.overlaps(u) for u in used)]
    return [str(n) for n in free[:count]]


def _create_subnets(b: Builder, kind: str, rules: list[Rule]) -> None:
    rule = b.first_failing(rules)
    if not rule:
        return
    k = KINDS[kind]
    vpc = b.id_of("vpc")
    zones = list(b.get("zones", []) or [])
    cidrs = _free_cidrs(b, len(zones))
    if not vpc or not zones or not cidrs:
        b.manual(
            rule.id,
            kind,
            f"create one subnet per availability zone in {KINDS['vpc'].name}, named {k.nth(1)}, -2, ... and "
            f"tagged {TAG_TEXT} (vhv found no VPC, zones or free CIDRs to use)",
        )
    for i, (zone, cidr) in enumerate(zip(zones, cidrs), 1):
        name = k.nth(i)
        b.add(
            rule.id,
            kind,
            "ec2.create_subnet",
            {
                "VpcId": vpc,
                "CidrBlock": cidr,
                "AvailabilityZone": zone,
                "TagSpecifications": tag_spec(kind, name),
            },
            f"create {name} ({cidr}) in {zone}",
            resource=name,
        )


def _create_igw(b: Builder, kind: str, rules: list[Rule]) -> None:
    vpc = b.id_of("vpc")
    rule = to_create(b, kind, rules)
    if not rule:
        return
    name = KINDS[kind].name
    b.add(
        rule.id,
        kind,
        "ec2.create_internet_gateway",
        {"TagSpecifications": tag_spec(kind)},
        f"create {name}",
        creates="InternetGateway.InternetGatewayId",
    )
    if vpc:
        b.add(
            rule.id,
            kind,
            "ec2.attach_internet_gateway",
            {"InternetGatewayId": b.id_of(kind), "VpcId": vpc},
            f"attach {name} to {KINDS['vpc'].name}",
        )


CREATE: dict[str, Callable[[Builder, str, list[Rule]], None]] = {
    "vpc": _create_vpc,
    "subnets": _create_subnets,
    "igw": _create_igw,
}


def create(b: Builder, kind: str, rules: list[Rule]) -> None:
    """What is missing is created (after looking for the one that lost its Name: validator.fixers.adopt)."""
    CREATE[kind](b, kind, rules)


def tag(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The main route table is found through the VPC: it is tagged only when it is the guide VPC's,
    as the rules judge it (one out of scope is the planner's by-hand step)."""
    if KINDS[kind].pick == "main-of-vpc" and b.existing(kind) is None:
        return
    tag_each(b, kind, rules)


def _igw_attachments(igw: dict[str, Any]) -> list[str]:
    return [a["vpc_id"] for a in igw.get("attachments", []) if a.get("state") in ("available", "attached")]


def attach_igw(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The gateway is attached to the guide's VPC when a rule finds it detached, or when the plan
    creates that VPC; one attached to another VPC is left, said."""
    vpc = b.id_of("vpc")
    igw = b.existing(kind, scoped=False)  # attached elsewhere: said, not changed
    if b.several(kind):  # which one is the guide's: by hand (the missing rule says so)
        igw = None
    failing = b.first_failing(rules)
    rule = failing.id if failing else (KINDS["vpc"].missing_rule if "vpc" in b.created else None)
    if not (igw and rule and vpc):
        return
    name, vpc_name = KINDS[kind].name, KINDS["vpc"].name
    elsewhere = [v for v in _igw_attachments(igw) if v != vpc]
    if elsewhere:
        b.manual(
            rule,
            kind,
            f"{name} ({igw['id']}) is attached to {', '.join(elsewhere)}; an internet "
            "gateway serves one VPC: detach it there (that VPC loses the internet) or create another",
        )
    elif vpc not in _igw_attachments(igw):
        b.add(
            rule,
            kind,
            "ec2.attach_internet_gateway",
            {"InternetGatewayId": igw["id"], "VpcId": vpc},
            f"attach {name} ({igw['id']}) to {vpc_name}",
        )


def _default_route(
    b: Builder, rule: str, table: dict[str, Any] | None, table_id: str, igw: str, resource: str | None = None
) -> None:
    current = [r for r in (table or {}).get("routes", []) if r.get("destination") == DEFAULT]
    args = {"RouteTableId": table_id, "DestinationCidrBlock": DEFAULT, "GatewayId": igw}
    gateway = KINDS["igw"].name
    resource = resource or KINDS["route_table"].name
    # more specific routes elsewhere win over any default route: deleting them is the user's call
    taken = routing.internet(table, igw).more_specific() if table else []
    if taken:
        b.manual(
            rule,
            "route_table",
            f"{'; '.join(routing.label(r) for r in taken)} of {table_id} "
            f"{'takes' if len(taken) == 1 else 'take'} internet traffic from {DEFAULT} (the longest prefix wins). "
            f"By hand: delete {'it' if len(taken) == 1 else 'them'} or point {'it' if len(taken) == 1 else 'them'} "
            f"to {gateway}; vhv does not delete routes",
            resource=resource,
        )
        if routing.delivers(current[0] if current else None, igw):
            return
    if current and current[0].get("target") and current[0].get("target") != igw:
        b.add(
            rule,
            "route_table",
            "ec2.replace_route",
            args,
            f"replace the route {DEFAULT} => {current[0]['target']} of {table_id} with {DEFAULT} => {gateway}",
            risk=DECIDE,
            resource=resource,
        )
    elif current and current[0].get("target") == igw:
        b.add(
            rule,
            "route_table",
            "ec2.replace_route",
            args,
            f"renew the route {DEFAULT} => {gateway} of {table_id} ({current[0].get('state')})",
            risk=FIX,
            resource=resource,
        )
    else:
        b.add(
            rule,
            "route_table",
            "ec2.create_route",
            args,
            f"add the route {DEFAULT} => {gateway} to {table_id}",
            risk=FIX,
            resource=resource,
        )


def default_route(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The main table routes to the gateway when a rule finds it does not, or when the plan creates
    the VPC or the gateway."""
    igw = b.id_of("igw")
    table = b.existing(kind) if "vpc" not in b.created else None
    table_id = b.id_of(kind)
    failing = b.first_failing(rules)
    if failing:
        rule = failing.id
    elif "igw" in b.created:
        rule = KINDS["igw"].missing_rule
    else:
        rule = KINDS["vpc"].missing_rule if "vpc" in b.created else None
    if rule and igw and table_id:
        _default_route(b, rule, table, table_id, igw)


def subnet_routes(b: Builder, kind: str, rules: list[Rule]) -> None:
    """A subnet with a route table of its own gets the default route in that table."""
    igw = b.id_of("igw")
    tables = b.get(KINDS["route_table"].snapshot, []) or []
    for rule in rules:
        for f in b.fails(rule):
            own = [t for t in tables if f.resource_id in t.get("subnet_ids", []) and not t.get("main")]
            why = b.out_of_scope("route_table", own[0]) if own else None
            if why:
                b.leave(rule.id, "route_table", f, why)
            elif own and igw:
                _default_route(b, rule.id, own[0], own[0]["id"], igw, resource=f.resource_name or None)


FIXERS: dict[str, Callable[[Builder, str, list[Rule]], None]] = {
    "create": create,
    "tag": tag,
    "attach-igw": attach_igw,
    "default-route": default_route,
    "subnet-routes": subnet_routes,
}

# the order the planner runs these fixes in: the VPC before its subnets, the gateway and the main
# table, and the subnets' routes once the table has its route to the gateway
ORDER: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("vpc",), ("create", "tag")),
    (("subnets",), ("create", "tag")),
    (("igw",), ("create", "attach-igw", "tag")),
    (("route_table",), ("default-route", "tag")),
    (("subnets",), ("subnet-routes",)),
)
