"""Network fixers (Option 1): valohai-vpc, its subnets, valohai-igw and the main route table."""

from __future__ import annotations

import ipaddress
from typing import Any

from validator.fixers.adopt import adopt
from validator.fixers.builder import Builder, tag_spec, tags
from validator.fixers.plan import DECIDE, FIX

PERMISSIONS = (
    "ec2:CreateVpc",
    "ec2:CreateSubnet",
    "ec2:CreateInternetGateway",
    "ec2:AttachInternetGateway",
    "ec2:DescribeRouteTables",
    "ec2:CreateRoute",
    "ec2:ReplaceRoute",
    "ec2:CreateTags",
)
DEFAULT = "0.0.0.0/0"


def _found_elsewhere(b: Builder, rule: str, kind: str) -> bool:
    """The exists rule fails although something answers to the name (several of them): by hand."""
    if not b.found_any(kind):
        return False
    for f in b.fails(rule):
        b.manual(rule, kind, f"{f.message}. {f.fix}".strip())
    return True


def _tag(b: Builder, rule: str, kind: str, key: str = "valohai", value: str = "1") -> None:
    for f in b.fails(rule):
        rid = f.resource_id or b.id_of(kind)
        why = b.scope_of_id(kind, rid) if rid else None
        if why:
            b.leave(rule, kind, f, why)
        elif rid:
            b.add(
                rule,
                kind,
                "ec2.create_tags",
                {"Resources": [rid], "Tags": [{"Key": key, "Value": value}]},
                f"tag {f.resource_name or kind} ({rid}) {key}={value}",
                resource=f.resource_name or None,
            )


def plan_vpc(b: Builder) -> None:
    if b.fails("vpc-exists") and not _found_elsewhere(b, "vpc-exists", "vpc") and not adopt(b, "vpc"):
        b.add(
            "vpc-exists",
            "vpc",
            "ec2.create_vpc",
            {"CidrBlock": b.params.vpc_cidr, "TagSpecifications": tag_spec("vpc", "valohai-vpc")},
            f"create valohai-vpc with CIDR {b.params.vpc_cidr}",
            creates="Vpc.VpcId",
        )
        b.add(
            "vpc-exists",
            "route_table",
            "ec2.describe_route_tables",
            {
                "Filters": [
                    {"Name": "vpc-id", "Values": [b.id_of("vpc")]},
                    {"Name": "association.main", "Values": ["true"]},
                ]
            },
            "find the main route table the new VPC came with (a read)",
            creates="RouteTables.0.RouteTableId",
        )
        b.add(
            "vpc-exists",
            "route_table",
            "ec2.create_tags",
            {"Resources": [b.id_of("route_table")], "Tags": tags("valohai-rt")},
            "name the new VPC's main route table valohai-rt and tag it valohai=1",
        )
    _tag(b, "vpc-tag", "vpc")


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


def plan_subnets(b: Builder) -> None:
    if b.fails("subnets-exist"):
        vpc = b.id_of("vpc")
        zones = list(b.get("zones", []) or [])
        cidrs = _free_cidrs(b, len(zones))
        if not vpc or not zones or not cidrs:
            b.manual(
                "subnets-exist",
                "subnets",
                "create one subnet per availability zone in valohai-vpc, named "
                "valohai-subnet-1, -2, ... and tagged valohai=1 (vhv found no VPC, zones or free CIDRs to use)",
            )
        for i, (zone, cidr) in enumerate(zip(zones, cidrs), 1):
            name = f"valohai-subnet-{i}"
            b.add(
                "subnets-exist",
                "subnets",
                "ec2.create_subnet",
                {
                    "VpcId": vpc,
                    "CidrBlock": cidr,
                    "AvailabilityZone": zone,
                    "TagSpecifications": tag_spec("subnet", name),
                },
                f"create {name} ({cidr}) in {zone}",
                resource=name,
            )
    _tag(b, "subnets-tag", "subnets")


def _igw_attachments(igw: dict[str, Any]) -> list[str]:
    return [a["vpc_id"] for a in igw.get("attachments", []) if a.get("state") in ("available", "attached")]


def plan_igw(b: Builder) -> None:
    vpc = b.id_of("vpc")
    if b.fails("igw-exists") and not _found_elsewhere(b, "igw-exists", "igw") and not adopt(b, "igw"):
        b.add(
            "igw-exists",
            "igw",
            "ec2.create_internet_gateway",
            {"TagSpecifications": tag_spec("internet-gateway", "valohai-igw")},
            "create valohai-igw",
            creates="InternetGateway.InternetGatewayId",
        )
        if vpc:
            b.add(
                "igw-exists",
                "igw",
                "ec2.attach_internet_gateway",
                {"InternetGatewayId": b.id_of("igw"), "VpcId": vpc},
                "attach valohai-igw to valohai-vpc",
            )
    igw = b.existing("igw", scoped=False)  # attached elsewhere: said, not changed
    if b.several("igw"):  # which one is the guide's: by hand (the exists rule says so)
        igw = None
    rule = "igw-attached" if b.fails("igw-attached") else ("vpc-exists" if "vpc" in b.created else None)
    if igw and rule and vpc:
        elsewhere = [v for v in _igw_attachments(igw) if v != vpc]
        if elsewhere:
            b.manual(
                rule,
                "igw",
                f"valohai-igw ({igw['id']}) is attached to {', '.join(elsewhere)}; an internet "
                "gateway serves one VPC: detach it there (that VPC loses the internet) or create another",
            )
        elif vpc not in _igw_attachments(igw):
            b.add(
                rule,
                "igw",
                "ec2.attach_internet_gateway",
                {"InternetGatewayId": igw["id"], "VpcId": vpc},
                f"attach valohai-igw ({igw['id']}) to valohai-vpc",
            )
    _tag(b, "igw-tag", "igw")


def _default_route(
    b: Builder, rule: str, table: dict[str, Any] | None, table_id: str, igw: str, resource: str = "valohai-rt"
) -> None:
    current = [r for r in (table or {}).get("routes", []) if r.get("destination") == DEFAULT]
    args = {"RouteTableId": table_id, "DestinationCidrBlock": DEFAULT, "GatewayId": igw}
    if current and current[0].get("target") and current[0].get("target") != igw:
        b.add(
            rule,
            "route_table",
            "ec2.replace_route",
            args,
            f"replace the route {DEFAULT} => {current[0]['target']} of {table_id} with {DEFAULT} => valohai-igw",
            risk=DECIDE,
            resource=resource,
        )
    elif current and current[0].get("target") == igw:
        b.add(
            rule,
            "route_table",
            "ec2.replace_route",
            args,
            f"renew the route {DEFAULT} => valohai-igw of {table_id} ({current[0].get('state')})",
            risk=FIX,
            resource=resource,
        )
    else:
        b.add(
            rule,
            "route_table",
            "ec2.create_route",
            args,
            f"add the route {DEFAULT} => valohai-igw to {table_id}",
            risk=FIX,
            resource=resource,
        )


def plan_routes(b: Builder) -> None:
    igw = b.id_of("igw")
    table = b.existing("route_table") if "vpc" not in b.created else None
    table_id = b.id_of("route_table")
    new_path = "vpc" in b.created or "igw" in b.created
    rule = (
        "rt-default-route"
        if b.fails("rt-default-route")
        else ("igw-exists" if "igw" in b.created else "vpc-exists" if "vpc" in b.created else None)
    )
    if rule and (new_path or rule == "rt-default-route") and igw and table_id:
        _default_route(b, rule, table, table_id, igw)
    if table is not None:
        _tag(b, "rt-name", "route_table", "Name", "valohai-rt")
        _tag(b, "rt-tag", "route_table")
    tables = b.get("route_tables", []) or []
    for f in b.fails("rt-subnet-routes"):
        own = [t for t in tables if f.resource_id in t.get("subnet_ids", []) and not t.get("main")]
        why = b.out_of_scope("route_table", own[0]) if own else None
        if why:
            b.leave("rt-subnet-routes", "route_table", f, why)
        elif own and igw:
            _default_route(b, "rt-subnet-routes", own[0], own[0]["id"], igw, resource=f.resource_name or None)


HANDLERS = (plan_vpc, plan_subnets, plan_igw, plan_routes)
