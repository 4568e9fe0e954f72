"""The one resource the rules judge as each of the guide's kinds, picked from the snapshot.

The catalogue (validator.kinds) says how each kind is picked among those that answer to its
name; this module does it, once, for the evaluators, the record and the fixers alike.
"""

from __future__ import annotations

from typing import Any

from validator.kinds import KINDS, LIVE_STATES, resource_id
from validator.snapshot import Undecidable

__all__ = ["Missing", "candidates", "judged", "namesakes", "pick", "resource_id"]


class Missing(Exception):
    """A resource the rule inspects does not exist; the rule is skipped and the rule that says it is
    missing (the kind's missing_rule) carries the failure."""

    def __init__(self, name: str, rule_hint: str = "", kind: str = ""):
        super().__init__(name)
        self.name = name
        self.rule_hint = rule_hint
        self.kind = kind  # the kind that is missing, when one is (its name may be the params')


def missing(kind: str) -> Missing:
    k = KINDS[kind]
    return Missing(k.name, k.missing_rule, kind)


def _objects(path: str, items: list[Any]) -> list[dict[str, Any]]:
    """The items, each an object, or Undecidable (a hand-edited or damaged snapshot)."""
    bad = [i for i in items if not isinstance(i, dict)]
    if bad:
        raise Undecidable(f"{path} holds {type(bad[0]).__name__} where an object was expected")
    return items


def candidates(snap: Any, kind: str) -> list[dict[str, Any]]:
    """Every object in the snapshot that answers to the guide's name for `kind`, the one the rules
    judge first."""
    k = KINDS[kind]
    if k.pick == "by-name":
        item = snap.get(k.path)
        return _objects(k.path, [item]) if item else []
    items = _objects(k.snapshot, list(snap.get(k.snapshot)))
    if k.pick == "all":
        return items
    if k.pick == "in-vpc":
        # the guide's are those in its VPC; when there is none (renamed, not made yet), all of the name
        vpc = pick(snap, "vpc", required=False)
        return [i for i in items if i.get("vpc_id") == vpc["id"]] if vpc else items
    if k.pick == "live-first":
        # a terminated instance keeps its Name tag for an hour; it is not the one
        items.sort(key=lambda i: i.get("state") not in LIVE_STATES)
        return items
    if k.pick == "in-vpc-first":
        # a group name is unique only within a VPC: the one in the guide's VPC first
        groups = [g for g in items if g.get("name") == k.name]
        vpc = pick(snap, "vpc", required=False)
        if vpc:
            groups.sort(key=lambda g: g.get("vpc_id") != vpc["id"])
        return groups
    if k.pick == "main-of-vpc":
        vpc = pick(snap, "vpc")
        return [t for t in items if t.get("vpc_id") == vpc["id"] and t.get("main")]
    raise KeyError(kind)


def namesakes(snap: Any, kind: str) -> list[dict[str, Any]]:
    """Every object in the snapshot that answers to the guide's name for `kind`, in whatever VPC:
    the guide's and its lookalikes (a subnet or group of the name in another VPC)."""
    k = KINDS[kind]
    if k.pick == "in-vpc":
        return _objects(k.snapshot, list(snap.get(k.snapshot)))
    return candidates(snap, kind)


def judged(snap: Any, kind: str) -> list[dict[str, Any]]:
    """The candidates the rules inspect: one that is gone for good (a terminated instance) is only
    the missing rule's business; the other rules skip rather than judge a corpse."""
    found = candidates(snap, kind)
    if KINDS[kind].pick == "live-first":
        found = [i for i in found if i.get("state") in LIVE_STATES]
    return found


def pick(snap: Any, kind: str, required: bool = True) -> dict[str, Any] | None:
    """The one object the rules judge as the guide's `kind`; Missing if none."""
    found = judged(snap, kind)
    if found:
        return found[0]
    if required:
        raise missing(kind)
    return None
