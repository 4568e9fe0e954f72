"""The fixes, by the name the rules give them.

Each fixer module (the catalogue's `fixer:` of a kind) registers its fixes in its FIXERS; a rule's
`fixer:` is looked up in the module of its kind, so `tag` on a policy's rule is the IAM tag and on
a security group's rule the EC2 one. A fix is called with the builder, the kind, and the rules of
that kind that name it (in the pack's order); it asks the builder for their failing findings."""

from __future__ import annotations

from collections.abc import Callable

from validator.fixers import iam, network, queue, sg
from validator.fixers.builder import Builder
from validator.kinds import KINDS
from validator.rulepack import Rule

Fix = Callable[[Builder, str, list[Rule]], None]

# the catalogue's fixer module name -> its fixes by name
FIXERS: dict[str, dict[str, Fix]] = {
    "iam": iam.FIXERS,
    "network": network.FIXERS,
    "sg": sg.FIXERS,
    "queue": queue.FIXERS,
}


def module_of(kind: str) -> str:
    """The fixer module that writes `kind` ("" when none does)."""
    return KINDS[kind].fixer


def fix_of(kind: str, name: str) -> Fix | None:
    """The fix `name` of the module that writes `kind`, or None."""
    return FIXERS.get(module_of(kind), {}).get(name)
