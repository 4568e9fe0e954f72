"""Queue fixers: the instance's tag and security group, and the Elastic IP. What the guide
leaves to the user (type, AMI, disk, key pair, launching it) is a manual step.

Each fix is registered in FIXERS by the name the rules give it (`fixer:` in rules/*.yaml); the
group the queue must be in is those rules' args, every name the catalogue's."""

from __future__ import annotations

from collections.abc import Callable

from validator.fixers.adopt import adopt, to_create
from validator.fixers.builder import Builder, tag_spec
from validator.fixers.plan import DECIDE, FIX
from validator.fixers.tagging import tag_each
from validator.kinds import KINDS
from validator.rulepack import Rule


def _name_the_instance(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The queue is never launched by vhv (its missing rule is not fixable): the one that lost its
    Name is named; otherwise the planner says the launch is by hand."""
    if b.missing(kind):
        adopt(b, kind)


def _create_eip(b: Builder, kind: str, rules: list[Rule]) -> None:
    inst = b.existing("instance")
    rule = to_create(b, kind, rules)
    if not rule:
        return
    name = KINDS[kind].name
    b.add(
        rule.id,
        kind,
        "ec2.allocate_address",
        {"Domain": "vpc", "TagSpecifications": tag_spec(kind)},
        f"allocate {name} from Amazon's pool",
        creates="AllocationId",
    )
    if inst:
        b.add(
            rule.id,
            kind,
            "ec2.associate_address",
            {"AllocationId": b.id_of(kind), "InstanceId": inst["id"]},
            f"associate {name} with {KINDS['instance'].name} ({inst['id']})",
        )


CREATE: dict[str, Callable[[Builder, str, list[Rule]], None]] = {
    "instance": _name_the_instance,
    "eip": _create_eip,
}


def create(b: Builder, kind: str, rules: list[Rule]) -> None:
    CREATE[kind](b, kind, rules)


def add_group(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The group a rule's args name (`group`, a kind) is added to the instance, keeping its others,
    when the rule finds it missing or the plan creates the group."""
    inst = b.existing(kind)
    for rule in rules:
        group = rule.args["group"]
        sg = b.id_of(group)
        if b.fails(rule):
            because = rule.id
        else:
            because = KINDS[group].missing_rule if group in b.created else None
        if inst and sg and because:
            groups = [g["id"] for g in inst.get("security_groups", []) if g.get("id") != sg]
            b.add(
                because,
                kind,
                "ec2.modify_instance_attribute",
                {"InstanceId": inst["id"], "Groups": groups + [sg]},
                f"add {KINDS[group].name} to {KINDS[kind].name} ({inst['id']}), keeping its other groups",
                risk=FIX,
            )


def only_group(b: Builder, kind: str, rules: list[Rule]) -> None:
    """Every group but the one a rule's args name is detached (a decision, --tighten)."""
    inst = b.existing(kind)
    for rule in rules:
        group = rule.args["group"]
        sg = b.id_of(group)
        if inst and sg and b.fails(rule):
            others = [f"{g.get('name')} ({g['id']})" for g in inst.get("security_groups", []) if g.get("id") != sg]
            if others:  # the instance's groups are its primary interface's
                b.add(
                    rule.id,
                    kind,
                    "ec2.modify_instance_attribute",
                    {"InstanceId": inst["id"], "Groups": [sg]},
                    f"detach {', '.join(others)} from {KINDS[kind].name} ({inst['id']}), leaving {KINDS[group].name} "
                    "alone: an instance's groups add up",
                    risk=DECIDE,
                )
            # another interface of the queue: whether it should be there at all is the user's call
            for nic in b.get("network_interfaces", []) or []:
                wider = [g for g in nic.get("security_groups") or [] if g.get("id") != sg]
                if nic.get("instance_id") == inst["id"] and nic.get("device_index") and wider:
                    groups = ", ".join(f"{g.get('name')} ({g['id']})" for g in wider)
                    b.manual(
                        rule.id,
                        kind,
                        f"{KINDS[kind].name} ({inst['id']}) has {groups} on its network "
                        f"interface {nic['id']} (device {nic['device_index']}). By hand: detach that interface, or "
                        f"change its security groups to {KINDS[group].name} alone",
                    )


def associate(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The address is associated with the queue; moving it from elsewhere is a decision."""
    inst = b.existing("instance")
    eip = b.existing(kind)
    name, queue = KINDS[kind].name, KINDS["instance"].name
    for rule in rules:
        for f in b.fails(rule):
            several = b.several(kind) or b.several("instance")
            if several:  # which address goes on which instance is the user's call
                b.leave(rule.id, kind, f, several)
                continue
            if not (eip and inst):
                continue
            taken = eip.get("instance_id") or eip.get("network_interface_id")
            args = {"AllocationId": eip["allocation_id"], "InstanceId": inst["id"]}
            if taken:
                b.add(
                    rule.id,
                    kind,
                    "ec2.associate_address",
                    {**args, "AllowReassociation": True},
                    f"move {name} from {taken} to {queue} ({inst['id']})",
                    risk=DECIDE,
                )
            else:
                b.add(
                    rule.id,
                    kind,
                    "ec2.associate_address",
                    args,
                    f"associate {name} with {queue} ({inst['id']})",
                    risk=FIX,
                )


FIXERS: dict[str, Callable[[Builder, str, list[Rule]], None]] = {
    "create": create,
    "tag": tag_each,
    "add-group": add_group,
    "only-group": only_group,
    "associate": associate,
}

# the order the planner runs these fixes in: the instance before the address associated with it
ORDER: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("instance",), ("create", "tag", "add-group", "only-group")),
    (("eip",), ("create", "associate", "tag")),
)
