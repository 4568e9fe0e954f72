"""Tags and plain attributes of a resource."""

from __future__ import annotations

from typing import Any

from validator.checks import STR, Outcome, bad, evaluator, ok, optional
from validator.checks.context import Context
from validator.kinds import KINDS, resource_id
from validator.snapshot import Undecidable
from validator.visible import bare, pair, visible


def _label(ctx: Context, item: dict[str, Any]) -> tuple[str, str | None]:
    rid = resource_id(item)
    name = visible(item.get("name") or ctx.name)
    if ctx.kind == "route_table" and item.get("name") != ctx.name:
        # found as the guide VPC's main table, not by its name: do not call it by the guide's name
        return f"the main route table of {KINDS['vpc'].name} ({rid})", rid
    return (f"{name} ({rid})" if rid and rid != name and not rid.startswith("arn:") else name), rid


def _tag_error(ctx: Context) -> str | None:
    """Why the tags could not be read: what the reader recorded under the kind's path."""
    k = KINDS[ctx.kind]
    path = k.path if k.pick == "by-name" else k.snapshot
    return ctx.snap.error_at(f"{path}.tags") if ctx.snap is not None else None


@evaluator("tag", key=STR, value=STR)
def tag(ctx: Context, key: str, value: str) -> list[Outcome]:
    """The resource carries tag `key` = `value` (keys and values are case-sensitive in AWS)."""
    out = []
    for item in ctx.items():
        label, rid = _label(ctx, item)
        tags = item.get("tags")
        if tags is None:  # the tag read failed: the reason is recorded under the resource's path
            raise Undecidable(_tag_error(ctx) or f"the tags of {label} could not be read")
        want = ctx.expand(value)
        kw = {"resource_id": rid, "resource_name": item.get("name") or ctx.name}
        if tags.get(key) == want:
            out.append(ok(f"{label} has tag {key}={want}", f"{key}={want}", f"{key}={want}", **kw))
            continue
        if key in tags:
            actual = pair(key, tags[key])
        else:
            near = [k for k in tags if bare(k).lower() == key.lower()]
            how = "key case differs" if near and near[0].lower() == key.lower() else "key differs"
            actual = f"{pair(near[0], tags[near[0]])} ({how})" if near else f"no {key} tag"
        out.append(bad(f"tag {key}={want} missing on {label}: found {actual}", f"{key}={want}", actual, **kw))
    return out


@evaluator("attribute", field=STR, equals=STR, label=STR, hint=optional(STR), asked_by=optional(STR))
def attribute(
    ctx: Context, field: str, equals: str, label: str, hint: str = "", asked_by: str = "the guide"
) -> list[Outcome]:
    """A plain attribute of the resource equals a value (templated from params); `asked_by` says
    whose value it is (the guide's, unless the rule says otherwise)."""
    out = []
    want = ctx.expand(equals)
    for item in ctx.items():
        name, rid = _label(ctx, item)
        actual = item.get(field)
        kw = {"resource_id": rid, "resource_name": item.get("name") or ctx.name}
        if str(actual) == want:
            out.append(ok(f"{name} {label} is {want}", want, actual, **kw))
        else:
            extra = f" {ctx.expand(hint)}" if hint else ""
            shown = visible(actual)
            out.append(
                bad(f"{name} {label} is {shown}; {asked_by} asks for {want}.{extra}".rstrip(), want, shown, **kw)
            )
    return out
