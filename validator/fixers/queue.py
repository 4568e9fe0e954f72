"""Queue fixers: the instance's tag and security group, and the Elastic IP. What the guide
leaves to the user (type, AMI, disk, key pair, launching it) is a manual step."""

from __future__ import annotations

from validator.fixers.adopt import adopt
from validator.fixers.builder import Builder, tag_spec
from validator.fixers.network import _found_elsewhere, _tag
from validator.fixers.plan import DECIDE, FIX

PERMISSIONS = ("ec2:ModifyInstanceAttribute", "ec2:AllocateAddress", "ec2:AssociateAddress", "ec2:CreateTags")


def plan_instance(b: Builder) -> None:
    if b.failing.get("queue-instance-exists"):  # not adopted: a by-hand launch (planner.build says it)
        adopt(b, "instance")
    _tag(b, "queue-instance-tag", "instance")
    inst = b.existing("instance")
    sg = b.id_of("sg_queue")
    rule = (
        "queue-instance-sg"
        if b.fails("queue-instance-sg")
        else ("sg-queue-exists" if "sg_queue" in b.created else None)
    )
    if inst and sg and rule:
        groups = [g["id"] for g in inst.get("security_groups", []) if g.get("id") != sg]
        b.add(
            rule,
            "instance",
            "ec2.modify_instance_attribute",
            {"InstanceId": inst["id"], "Groups": groups + [sg]},
            f"add valohai-sg-queue to valohai-i-queue ({inst['id']}), keeping its other groups",
            risk=FIX,
        )
    if inst and sg and b.fails("queue-instance-sg-only"):  # taking a group away is a decision (--tighten)
        others = [f"{g.get('name')} ({g['id']})" for g in inst.get("security_groups", []) if g.get("id") != sg]
        b.add(
            "queue-instance-sg-only",
            "instance",
            "ec2.modify_instance_attribute",
            {"InstanceId": inst["id"], "Groups": [sg]},
            f"detach {', '.join(others)} from valohai-i-queue ({inst['id']}), leaving valohai-sg-queue alone: "
            "an instance's groups add up",
            risk=DECIDE,
        )


def plan_eip(b: Builder) -> None:
    inst = b.existing("instance")
    if b.fails("eip-exists") and not _found_elsewhere(b, "eip-exists", "eip") and not adopt(b, "eip"):
        b.add(
            "eip-exists",
            "eip",
            "ec2.allocate_address",
            {"Domain": "vpc", "TagSpecifications": tag_spec("elastic-ip", "valohai-ip-queue")},
            "allocate valohai-ip-queue from Amazon's pool",
            creates="AllocationId",
        )
        if inst:
            b.add(
                "eip-exists",
                "eip",
                "ec2.associate_address",
                {"AllocationId": b.id_of("eip"), "InstanceId": inst["id"]},
                f"associate valohai-ip-queue with valohai-i-queue ({inst['id']})",
            )
    eip = b.existing("eip")
    for f in b.fails("eip-associated"):
        several = b.several("eip") or b.several("instance")
        if several:  # which address goes on which instance is the user's call
            b.leave("eip-associated", "eip", f, several)
            continue
        if not (eip and inst):
            continue
        taken = eip.get("instance_id") or eip.get("network_interface_id")
        args = {"AllocationId": eip["allocation_id"], "InstanceId": inst["id"]}
        if taken:
            b.add(
                "eip-associated",
                "eip",
                "ec2.associate_address",
                {**args, "AllowReassociation": True},
                f"move valohai-ip-queue from {taken} to valohai-i-queue ({inst['id']})",
                risk=DECIDE,
            )
        else:
            b.add(
                "eip-associated",
                "eip",
                "ec2.associate_address",
                args,
                f"associate valohai-ip-queue with valohai-i-queue ({inst['id']})",
                risk=FIX,
            )
    _tag(b, "eip-tag", "eip")


HANDLERS = (plan_instance, plan_eip)
