"""Does the resource the guide names exist (once)?"""

from __future__ import annotations

from validator.checks import Outcome, bad, evaluator, ok
from validator.checks.context import Context
from validator.kinds import KINDS, LIVE_STATES, resource_id
from validator.picking import candidates, namesakes
from validator.snapshot import Undecidable
from validator.visible import visible


@evaluator("exists")
def exists(ctx: Context) -> list[Outcome]:
    """Passes when the guide's resource is found by its name; fails when it is
    missing, terminated, or when several answer to the name."""
    found = candidates(ctx.snap, ctx.kind)
    name = ctx.name
    if not found:
        where = ctx.expand(KINDS[ctx.kind].looked_for.replace("{name}", name))  # {data_store.x} too
        fix = ""
        if KINDS[ctx.kind].match == "associated":  # found by its association: the stack's is unassociated
            fix = (
                f"Associate the Elastic IP the stack made with {ctx.name_of('instance')} (EC2 > Elastic IPs > "
                "Associate), or update the stack so that it associates it again; a new address would change the "
                "queue's public IP."
            )
        return [
            bad(f"{name} not found {where}{_elsewhere(ctx)}", expected=f"{name} exists", actual="not found", fix=fix)
        ]
    if ctx.kind == "subnets":
        ids = [f"{visible(s.get('name'))} ({s['id']})" for s in found]
        return [ok(f"{len(found)} subnet(s) named {name}", expected="at least 1", actual=ids)]
    first = found[0]
    rid = resource_id(first)
    if ctx.kind == "instance" and first.get("state") not in LIVE_STATES:
        return [
            bad(
                f"{name} ({rid}) is {first.get('state')}",
                expected="pending, running or stopped",
                actual=first.get("state"),
                resource_id=rid,
            )
        ]
    if ctx.kind == "instance":
        found = [i for i in found if i.get("state") in LIVE_STATES]
    if ctx.kind in ("sg_workers", "sg_queue"):
        vpc_id = found[0].get("vpc_id")
        found = [g for g in found if g.get("vpc_id") == vpc_id]
    if len(found) > 1:
        ids = [resource_id(f) for f in found]
        return [
            bad(
                f"{len(found)} resources are named {name} ({', '.join(ids)}); vhv judges {rid}. "
                "Rename or delete the others so that Valohai finds the right one",
                expected=f"one {name}",
                actual=ids,
                resource_id=rid,
            )
        ]
    where = rid or (f"inline in {first['inline_in']}" if first.get("inline_in") else "")
    said = f" ({where})" if where else ""
    return [ok(f"{name} exists{said}", expected=f"{name} exists", actual=where or "found", resource_id=rid)]


def _elsewhere(ctx: Context) -> str:
    """Of a kind the guide keeps in its VPC, those of the name outside it (not the guide's)."""
    others = namesakes(ctx.snap, ctx.kind) if KINDS[ctx.kind].pick == "in-vpc" else []
    if not others:
        return ""
    listed = ", ".join(f"{visible(o.get('name'))} ({o['id']}) in {o.get('vpc_id')}" for o in others)
    return f"; none is in {KINDS['vpc'].name}, and those outside it are not the guide's: {listed}"


@evaluator("no_namesakes")
def no_namesakes(ctx: Context) -> list[Outcome]:
    """No security group outside the guide's VPC has the guide's name (a name is unique only within
    a VPC). Such a group is not the guide's, so no other rule judges it and remediate never
    changes it; but whoever picks the group by its name (the console, a script, Valohai) may
    get it instead."""
    if ctx.kind not in ("sg_workers", "sg_queue"):
        raise Undecidable(f"no_namesakes judges security groups, not {ctx.kind}")
    vpc = ctx.resource("vpc")
    judged = ctx.resource()
    here = (vpc["id"], judged.get("vpc_id"))  # one there too is exists' failure (two of the name in a VPC)
    others = [g for g in namesakes(ctx.snap, ctx.kind) if g.get("id") != judged["id"] and g.get("vpc_id") not in here]
    name, jid = ctx.name, judged["id"]
    vpc_name = KINDS["vpc"].name
    where = vpc_name if judged.get("vpc_id") == vpc["id"] else judged.get("vpc_id")
    if not others:
        return [ok(f"no security group but {jid} is named {name}", f"one group named {name}", jid, resource_id=jid)]
    return [
        bad(
            f"{name} ({g['id']}) in {g.get('vpc_id')}, outside {vpc_name} ({vpc['id']}), is not the guide's "
            f"group (vhv judges {jid}, in {where}): vhv neither checks nor changes it, yet whoever picks "
            f"{name} by its name may get it",
            f"one group named {name}",
            f"{g['id']} in {g.get('vpc_id')}",
            resource_id=g["id"],
            resource_name=name,
        )
        for g in others
    ]
