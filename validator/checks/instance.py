"""The worker-queue instance, its image, disk, key pair, and the Elastic IP."""

from __future__ import annotations

import datetime as dt
import re

from validator.checks import STR, Outcome, bad, evaluator, ok
from validator.checks.context import Context
from validator.kinds import name
from validator.snapshot import Undecidable


def _queue() -> str:
    """The queue instance's name as the recipe in use names it (valohai-queue in Terraform's)."""
    return name("instance")


def _eip() -> str:
    return name("eip")


def _subnets() -> str:
    return name("subnets")


def _image(ctx: Context) -> tuple[dict, dict]:
    inst = ctx.resource("instance")
    images = ctx.data("images")
    img = images.get(inst.get("image_id"))
    if not img:
        raise Undecidable(
            f"image {inst.get('image_id')} of {_queue()} cannot be read (deregistered, or not visible "
            "to this account): its operating system cannot be confirmed"
        )
    return inst, img


@evaluator("image_os", pattern=STR, label=STR)
def image_os(ctx: Context, pattern: str, label: str) -> list[Outcome]:
    """The instance's AMI name (or description) matches `pattern`."""
    inst, img = _image(ctx)
    name = img.get("name") or ""
    kw = {"resource_id": inst["id"]}
    actual = f"{img['id']} {name!r}"
    if re.search(pattern, name, re.I) or re.search(pattern, img.get("description") or "", re.I):
        return [ok(f"{_queue()} runs {label} ({img['id']} {name})", label, actual, **kw)]
    return [bad(f"{_queue()} runs {img['id']} ({name or 'no name'}), not {label}", label, actual, **kw)]


@evaluator("image_owner", owner=STR, publisher=STR)
def image_owner(ctx: Context, owner: str, publisher: str) -> list[Outcome]:
    """The instance's AMI is published by `owner` (an image named like Ubuntu can come from anyone)."""
    inst, img = _image(ctx)
    owner = ctx.expand(owner)
    kw = {"resource_id": inst["id"]}
    got = img.get("owner_id")
    if got == owner:
        return [
            ok(
                f"{_queue()}'s image {img['id']} is published by {publisher} ({owner})",
                f"{publisher} ({owner})",
                got,
                **kw,
            )
        ]
    return [
        bad(
            f"{_queue()}'s image {img['id']} ({img.get('name') or 'no name'}) is owned by {got}, "
            f"not {publisher} ({owner}): make sure you trust where it comes from",
            f"{publisher} ({owner})",
            got,
            **kw,
        )
    ]


@evaluator("image_supported", pattern=STR, label=STR, ended=STR, advice=STR)
def image_supported(ctx: Context, pattern: str, label: str, ended: str, advice: str) -> list[Outcome]:
    """An image matching `pattern` is past the end of its standard support on `ended` (YYYY-MM-DD)."""
    inst, img = _image(ctx)
    name = img.get("name")
    if not isinstance(name, str) or not name:  # every AMI has a name: without it, the release is unknown
        raise Undecidable(f"the name of image {img.get('id')} was not read, so its release is unknown")
    kw = {"resource_id": inst["id"]}
    end = dt.date.fromisoformat(ended)
    if re.search(pattern, name, re.I) and dt.date.today() > end:
        return [
            bad(
                f"{label} reached the end of standard support on {ended}; {advice}",
                f"a supported release (after {ended})",
                name,
                **kw,
            )
        ]
    return [ok(f"{_queue()}'s image is in standard support", "a supported release", name, **kw)]


@evaluator("root_volume_min", gib={"type": "integer", "minimum": 1})
def root_volume_min(ctx: Context, gib: int) -> list[Outcome]:
    """The instance's root volume is at least `gib` GiB."""
    inst = ctx.resource("instance")
    kw = {"resource_id": inst["id"]}
    vol_id = inst.get("root_volume_id")
    vol = ctx.data("volumes").get(vol_id) if vol_id else None
    if not vol:
        raise Undecidable(f"root volume {vol_id or '(none mapped)'} of {_queue()} cannot be read")
    size = vol.get("size")
    if size is not None and size >= gib:
        return [ok(f"root volume {vol_id} is {size} GiB", f">= {gib} GiB", f"{size} GiB", **kw)]
    return [
        bad(
            f"root volume {vol_id} of {_queue()} is {size} GiB; the guide asks for {gib} GiB",
            f">= {gib} GiB",
            f"{size} GiB",
            **kw,
        )
    ]


@evaluator("has_group", group={"enum": ["sg_queue", "sg_workers"]})
def has_group(ctx: Context, group: str) -> list[Outcome]:
    """The instance has the guide's security group attached."""
    inst = ctx.resource("instance")
    sg = ctx.resource(group)
    kw = {"resource_id": inst["id"]}
    names = inst.get("security_groups") or []
    actual = ", ".join(f"{g['name']} ({g['id']})" for g in names) or "(none)"
    if any(g["id"] == sg["id"] for g in names):
        return [ok(f"{_queue()} has {sg['name']} ({sg['id']})", f"{sg['name']} ({sg['id']})", actual, **kw)]
    return [
        bad(
            f"{_queue()} does not have {sg['name']} ({sg['id']}) attached; it has {actual}",
            f"{sg['name']} ({sg['id']})",
            actual,
            **kw,
        )
    ]


def interfaces_of(ctx: Context, inst: dict) -> list[dict]:
    """The instance's network interfaces, the primary (device 0) first. Without any read for it (a
    snapshot of an instance with no interface answer), its top-level groups stand for the primary's."""
    found = [n for n in ctx.data("network_interfaces") if n.get("instance_id") == inst["id"]]
    if not found:
        return [{"id": None, "device_index": 0, "security_groups": inst.get("security_groups") or []}]
    # the primary interface's groups are the instance's SecurityGroups, as DescribeInstances gives them
    found = [
        {**n, "security_groups": inst.get("security_groups") or []} if n.get("device_index") == 0 else n for n in found
    ]
    return sorted(found, key=lambda n: (n.get("device_index") is None, n.get("device_index") or 0))


def _on(n: dict) -> str:
    """Where a group is attached, said after it: nothing for the primary interface."""
    if not n.get("device_index"):
        return ""
    return f" on its network interface {n['id']} (device {n['device_index']})"


@evaluator("only_group", group={"enum": ["sg_queue", "sg_workers"]})
def only_group(ctx: Context, group: str) -> list[Outcome]:
    """The instance has no security group but the guide's, on any of its network interfaces: the
    groups of an instance (of each interface) add up, so another group's rules open the queue wider
    than the guide, whatever the guide's group says."""
    inst = ctx.resource("instance")
    sg = ctx.resource(group)
    kw = {"resource_id": inst["id"]}
    nics = interfaces_of(ctx, inst)
    others = [(g, n) for n in nics for g in n.get("security_groups") or [] if g["id"] != sg["id"]]
    actual = (
        "; ".join(", ".join(f"{g['name']} ({g['id']})" for g in n.get("security_groups") or []) + _on(n) for n in nics)
        or "(none)"
    )
    if not others:
        return [ok(f"{_queue()} has no security group but {sg['name']}", f"{sg['name']} alone", actual, **kw)]
    extra = ", ".join(f"{g['name']} ({g['id']}){_on(n)}" for g, n in others)
    fix = ""
    elsewhere = sorted({n["id"] for _, n in others if n.get("device_index")})
    if elsewhere:
        fix = (
            f"Detach {', '.join(elsewhere)} from {_queue()}, or change its security groups to {sg['name']} alone "
            "(EC2 > Network interfaces > Actions > Change security groups); the queue needs one interface."
        )
    return [
        bad(
            f"{_queue()} also has {extra} attached: an instance's groups add up, so what {'they allow' if len(others) > 1 else 'it allows'} "
            f"reaches the queue too, beyond {sg['name']}; the guide attaches {sg['name']} alone",
            f"{sg['name']} ({sg['id']}) alone",
            actual,
            fix=fix,
            **kw,
        )
    ]


@evaluator("in_subnets")
def in_subnets(ctx: Context) -> list[Outcome]:
    """The instance is in one of the guide's subnets."""
    inst = ctx.resource("instance")
    subnets = {s["id"]: s.get("name") for s in ctx.items("subnets")}
    kw = {"resource_id": inst["id"]}
    sid = inst.get("subnet_id")
    if sid in subnets:
        return [ok(f"{_queue()} is in {subnets[sid]} ({sid})", "a valohai subnet", sid, **kw)]
    return [
        bad(
            f"{_queue()} is in subnet {sid}, which is not a {_subnets()} subnet",
            ", ".join(f"{n} ({i})" for i, n in subnets.items()),
            sid,
            **kw,
        )
    ]


@evaluator("key_pair")
def key_pair(ctx: Context) -> list[Outcome]:
    """The instance was launched with a key pair, and that key pair still exists."""
    inst = ctx.resource("instance")
    kw = {"resource_id": inst["id"]}
    name = inst.get("key_name")
    if not name:
        return [bad(f"{_queue()} has no key pair: nobody can SSH to install the queue", "a key pair", "(none)", **kw)]
    kp = ctx.data("key_pairs").get(name)
    if not kp:
        return [
            bad(
                f"{_queue()}'s key pair {name!r} no longer exists in {ctx.snap.region}",
                f"key pair {name} exists",
                "not found",
                **kw,
            )
        ]
    return [ok(f"{_queue()} uses key pair {name!r}", "a key pair that exists", name, **kw)]


@evaluator("eip_associated")
def eip_associated(ctx: Context) -> list[Outcome]:
    """The guide's Elastic IP is associated with the queue instance."""
    eip = ctx.resource()
    inst = ctx.resource("instance")
    kw = {"resource_id": eip.get("allocation_id")}
    eni = eip.get("network_interface_id")
    if eni and (eip.get("instance_id") in (inst["id"], None, "")):
        nic = next((n for n in interfaces_of(ctx, inst) if n.get("id") == eni), None)
        if nic and nic.get("device_index"):
            primary = next((n["id"] for n in interfaces_of(ctx, inst) if n.get("device_index") == 0), None)
            return [
                bad(
                    f"{_eip()} {eip.get('public_ip')} is associated with {eni}, a secondary network interface "
                    f"(device {nic['device_index']}) of {_queue()} ({inst['id']}), not its primary interface"
                    f"{f' {primary}' if primary else ''}: what reaches the address is that interface's, with its "
                    "own security groups and subnet",
                    f"{inst['id']} (its primary interface)",
                    f"{eni} (device {nic['device_index']})",
                    **kw,
                )
            ]
    if eip.get("instance_id") == inst["id"]:
        return [
            ok(
                f"{_eip()} {eip.get('public_ip')} is associated with {_queue()} ({inst['id']})",
                inst["id"],
                eip.get("instance_id"),
                **kw,
            )
        ]
    actual = eip.get("instance_id") or eip.get("network_interface_id")
    if not actual:
        return [
            bad(
                f"{_eip()} {eip.get('public_ip')} is not associated with any instance; the guide "
                f"attaches it to {_queue()} ({inst['id']})",
                inst["id"],
                "not associated",
                **kw,
            )
        ]
    return [
        bad(
            f"{_eip()} {eip.get('public_ip')} is associated with {actual}, not {_queue()} ({inst['id']})",
            inst["id"],
            actual,
            **kw,
        )
    ]


@evaluator("user_data_no_secret", why=STR)
def user_data_no_secret(ctx: Context, why: str) -> list[Outcome]:
    """The instance's user data assigns no literal secret (a name such as REDIS_PASSWORD, TOKEN or
    SECRET given a value, not $VAR): user data is readable by anyone allowed
    ec2:DescribeInstanceAttribute and from inside the instance. The reader kept only the names."""
    why_unread = ctx.snap.error_at("user_data") if ctx.snap else None
    if why_unread:
        raise Undecidable(why_unread)
    read = ctx.data("user_data")
    out = []
    for item in ctx.items():
        label = f"{item.get('name') or _queue()} ({item['id']})"
        kw = {"resource_id": item["id"], "resource_name": item.get("name") or _queue()}
        if not isinstance(read, dict) or item["id"] not in read:
            raise Undecidable(f"the user data of {label} was not read")
        got = read[item["id"]]
        expected = "no secret written into the user data"
        if got is None:
            out.append(ok(f"{label} has no user data", expected, "(none)", **kw))
        elif not got["readable"]:
            raise Undecidable(f"the user data of {label} is neither base64 nor gzip as EC2 keeps it")
        elif got["secret_names"]:
            names = ", ".join(got["secret_names"])
            out.append(
                bad(
                    f"the user data of {label} gives {names} a literal value (not shown here): {why}",
                    expected,
                    f"{names} written in",
                    **kw,
                )
            )
        else:
            out.append(ok(f"the user data of {label} gives no secret a literal value", expected, "none", **kw))
    return out
