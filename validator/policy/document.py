"""An IAM policy document, normalised so that two documents that mean the same
compare the same: statement order, Sid, a string vs a one-element list and
action case do not matter; conditions become sets keyed case-insensitively."""
from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import unquote


class PolicyError(ValueError):
    """The document is not a policy vhv can read."""


Condition = frozenset  # of (operator_lower, key_lower, frozenset(values))


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...] | None       # as written; compare with action_matches
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    condition: Condition
    principals: tuple[tuple[str, str], ...] | None   # (type, value); ("*", "*") for "*"
    not_principal: bool = False

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else f"statement #{self.index + 1}"


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def load_document(doc: Any) -> dict[str, Any]:
    """A policy document as AWS returns it (dict, JSON text, URL-encoded JSON)."""
    if isinstance(doc, dict):
        return doc
    if isinstance(doc, str):
        text = doc if doc.lstrip().startswith("{") else unquote(doc)
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"policy document is not JSON: {exc}") from None
        if isinstance(loaded, dict):
            return loaded
    raise PolicyError(f"policy document is not a JSON object (got {type(doc).__name__})")


def canonical_condition(cond: Any) -> Condition:
    if cond in (None, {}):
        return frozenset()
    if not isinstance(cond, dict):
        raise PolicyError("Condition must be an object")
    out = set()
    for op, block in cond.items():
        if not isinstance(block, dict):
            raise PolicyError(f"Condition operator {op!r} must map keys to values")
        for key, values in block.items():
            out.add((str(op).lower(), str(key).lower(), frozenset(str(v) for v in as_list(values))))
    return frozenset(out)


def _principals(value: Any) -> tuple[tuple[str, str], ...]:
    if value == "*":
        return (("*", "*"),)
    if not isinstance(value, dict):
        raise PolicyError("Principal must be \"*\" or an object such as {\"AWS\": ...}")
    return tuple(sorted((str(t), str(v)) for t, vs in value.items() for v in as_list(vs)))


def statements(doc: Any) -> list[Statement]:
    d = load_document(doc)
    raw = d.get("Statement")
    if raw is None:
        raise PolicyError("policy has no Statement")
    out = []
    for i, st in enumerate(as_list(raw)):
        if not isinstance(st, dict):
            raise PolicyError(f"statement #{i + 1} is not an object")
        def keep(key: str) -> tuple[str, ...] | None:
            return tuple(str(a) for a in as_list(st[key])) if key in st else None

        principal = st.get("Principal", st.get("NotPrincipal"))
        out.append(
            Statement(
                index=i,
                sid=st.get("Sid"),
                effect=str(st.get("Effect", "")),
                actions=keep("Action"),
                not_actions=keep("NotAction"),
                resources=keep("Resource"),
                not_resources=keep("NotResource"),
                condition=canonical_condition(st.get("Condition")),
                principals=_principals(principal) if principal is not None else None,
                not_principal="NotPrincipal" in st,
            )
        )
    return out


# ------------------------------------------------------------------ actions

@lru_cache(maxsize=1)
def _catalogue() -> frozenset[str]:
    from policyuniverse import all_permissions

    return frozenset(all_permissions)


@lru_cache(maxsize=4096)
def expand(pattern: str) -> frozenset[str]:
    """Every known action an action pattern matches (lower case). An exact action
    unknown to the catalogue stands for itself; an unknown wildcard matches nothing
    known and is returned as itself so that it can be named."""
    p = pattern.lower()
    if p == "*":
        return _catalogue()
    if "*" not in p and "?" not in p:
        return frozenset([p])
    found = frozenset(fnmatch.filter(_catalogue(), p))
    return found or frozenset([p])


def squeeze_stars(pattern: str) -> str:
    """The same wildcard pattern with each run of `*` as one `*`."""
    return re.sub(r"\*{2,}", "*", pattern)


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    # one `.*` per run of stars: "**...*a" as many `.*` backtracks exponentially (a hang on a hostile policy)
    body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in squeeze_stars(pattern))
    return re.compile(body, re.S | (re.I if ignore_case else 0))


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: `*` and `?` are wildcards, case does not matter."""
    return _glob(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """IAM resource matching: `*` and `?` are wildcards, case matters."""
    return _glob(pattern, False).fullmatch(resource) is not None
