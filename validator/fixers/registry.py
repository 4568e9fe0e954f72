"""The fixes, by the name the rules give them, found where the catalogue says.

A kind's `fixer: MODULE` (rules/catalogue.yaml) is validator/fixers/MODULE.py, which declares its
fixes in FIXERS (by name) and the order they run in, ORDER (kinds, then fix names, in dependency
order). A rule's `fixer:` is looked up in the module of its kind, so `tag` on a policy's rule is the
IAM tag and on a security group's rule the EC2 one. A fix is called with the builder, the kind, and
the rules of that kind that name it (in the pack's order); it asks the builder for their failing
findings. A new kind's fixer is a new module; nothing here changes."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from validator.errors import VhvError
from validator.fixers.builder import Builder
from validator.kinds import CATALOGUE, KINDS, directory
from validator.rulepack import Rule

Fix = Callable[[Builder, str, list[Rule]], None]
Order = tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]


def load() -> tuple[dict[str, dict[str, Fix]], Order]:
    """Each fixer module the catalogue names, in the order it first names them: its fixes by name,
    and the modules' ORDERs one after another (the IAM before the network, as the catalogue lists
    them). A module's ORDER names only the kinds the catalogue gives it."""
    fixers: dict[str, dict[str, Fix]] = {}
    order: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    for k in KINDS.values():
        if not k.fixer or k.fixer in fixers:
            continue
        where = f"{directory() / CATALOGUE}: kinds.{k.key}: fixer {k.fixer!r}"
        path = f"validator.fixers.{k.fixer}"
        try:
            module = importlib.import_module(path)
        except ModuleNotFoundError as exc:
            if exc.name != path:  # the module is there; something it imports is not
                raise
            raise VhvError(f"{where}: there is no fixer module validator/fixers/{k.fixer}.py") from None
        if not isinstance(getattr(module, "FIXERS", None), dict) or not hasattr(module, "ORDER"):
            raise VhvError(f"{where}: validator/fixers/{k.fixer}.py declares no FIXERS and ORDER")
        fixers[k.fixer] = module.FIXERS
        for kinds, names in module.ORDER:
            other = [kind for kind in kinds if kind not in KINDS or KINDS[kind].fixer != k.fixer]
            if other:
                raise VhvError(f"validator/fixers/{k.fixer}.py: ORDER names {other[0]!r}, which it does not write")
            order.append((kinds, names))
    return fixers, tuple(order)


# the catalogue's fixer module name -> its fixes by name; the order they all run in
FIXERS, ORDER = load()


def module_of(kind: str) -> str:
    """The fixer module that writes `kind` ("" when none does)."""
    return KINDS[kind].fixer


def fix_of(kind: str, name: str) -> Fix | None:
    """The fix `name` of the module that writes `kind`, or None."""
    return FIXERS.get(module_of(kind), {}).get(name)
