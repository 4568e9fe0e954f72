"""Which snapshot data each resource kind of the guide is, and how it is picked.

The guide names every resource; a kind here is one of them. Picking (the VPC
among several with the same Name, the security group in the valohai VPC) is the
one judgement made outside the rules, and it is made here, once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from validator.checks import Missing
from validator.snapshot import Undecidable


@dataclass(frozen=True)
class Kind:
    resource_type: str
    name: str          # the name the guide gives it
    exists_rule: str   # the rule that fails when it is missing
    many: bool = False


KINDS: dict[str, Kind] = {
    "params": Kind("Params", "params", ""),
    "worker_policy": Kind("AWS::IAM::ManagedPolicy", "ValohaiWorkerPolicy", "worker-policy-exists"),
    "worker_role": Kind("AWS::IAM::Role", "ValohaiWorkerRole", "worker-role-exists"),
    "master_policy": Kind("AWS::IAM::ManagedPolicy", "ValohaiMasterPolicy", "master-policy-exists"),
    "master_role": Kind("AWS::IAM::Role", "ValohaiMaster", "master-role-exists"),
    "vpc": Kind("AWS::EC2::VPC", "valohai-vpc", "vpc-exists"),
    "subnets": Kind("AWS::EC2::Subnet", "valohai-subnet-*", "subnets-exist", many=True),
    "igw": Kind("AWS::EC2::InternetGateway", "valohai-igw", "igw-exists"),
    "route_table": Kind("AWS::EC2::RouteTable", "valohai-rt", "vpc-exists"),
    "sg_workers": Kind("AWS::EC2::SecurityGroup", "valohai-sg-workers", "sg-workers-exists"),
    "sg_queue": Kind("AWS::EC2::SecurityGroup", "valohai-sg-queue", "sg-queue-exists"),
    "instance": Kind("AWS::EC2::Instance", "valohai-i-queue", "queue-instance-exists"),
    "eip": Kind("AWS::EC2::EIP", "valohai-ip-queue", "eip-exists"),
}

IAM_PATHS = {
    "worker_policy": "policies.ValohaiWorkerPolicy",
    "master_policy": "policies.ValohaiMasterPolicy",
    "worker_role": "roles.ValohaiWorkerRole",
    "master_role": "roles.ValohaiMaster",
}
EC2_LISTS = {"vpc": "vpcs", "igw": "igws", "instance": "instances", "eip": "eips"}
LIVE_STATES = ("pending", "running", "stopping", "stopped")


def resource_id(kind: str, item: dict[str, Any] | None) -> str | None:
    if not item:
        return None
    return item.get("arn") or item.get("id") or item.get("allocation_id")


def _objects(path: str, items: list[Any]) -> list[dict[str, Any]]:
    """The items, each an object, or Undecidable (a hand-edited or damaged snapshot)."""
    bad = [i for i in items if not isinstance(i, dict)]
    if bad:
        raise Undecidable(f"{path} holds {type(bad[0]).__name__} where an object was expected")
    return items


def candidates(snap: Any, kind: str) -> list[dict[str, Any]]:
    """Every object in the snapshot that answers to the guide's name for `kind`."""
    if kind in IAM_PATHS:
        item = snap.get(IAM_PATHS[kind])
        return _objects(IAM_PATHS[kind], [item]) if item else []
    if kind in EC2_LISTS:
        items = _objects(EC2_LISTS[kind], list(snap.get(EC2_LISTS[kind])))
        if kind == "instance":
            # a terminated instance keeps its Name tag for an hour; it is not the queue
            items.sort(key=lambda i: i.get("state") not in LIVE_STATES)
        return items
    if kind == "subnets":
        return _objects("subnets", list(snap.get("subnets")))
    if kind in ("sg_workers", "sg_queue"):
        name = KINDS[kind].name
        groups = [g for g in _objects("security_groups", list(snap.get("security_groups"))) if g.get("name") == name]
        vpc = pick(snap, "vpc", required=False)
        if vpc:
            groups.sort(key=lambda g: g.get("vpc_id") != vpc["id"])
        return groups
    if kind == "route_table":
        vpc = pick(snap, "vpc")
        return [t for t in _objects("route_tables", list(snap.get("route_tables"))) if t.get("vpc_id") == vpc["id"] and t.get("main")]
    raise KeyError(kind)


def judged(snap: Any, kind: str) -> list[dict[str, Any]]:
    """The candidates the rules inspect: a terminated valohai-i-queue is only
    queue-instance-exists' business (the other rules skip rather than judge a corpse)."""
    found = candidates(snap, kind)
    if kind == "instance":
        found = [i for i in found if i.get("state") in LIVE_STATES]
    return found


def pick(snap: Any, kind: str, required: bool = True) -> dict[str, Any] | None:
    """The one object the rules judge as the guide's `kind`; Missing if none."""
    found = judged(snap, kind)
    if found:
        return found[0]
    if required:
        k = KINDS[kind]
        raise Missing(k.name, k.exists_rule)
    return None
