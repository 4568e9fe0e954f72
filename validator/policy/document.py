"""An IAM policy document, normalised so that two documents that mean the same
compare the same: statement order, Sid, a string vs a one-element list and
action case do not matter; conditions become sets keyed case-insensitively."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from validator.policy.glob import compile_glob, is_wild, literal_length, squeeze_stars  # noqa: F401

# squeeze_stars: imported from here by older callers (it lives in glob.py now)
from validator.shape import brief

PLACEHOLDER = re.compile(r"RECORDED\b.*\bHERE", re.I)  # what is_placeholder answers, in linear time
_RECORDED = re.compile(r"RECORDED\b", re.I)
_HERE = re.compile(r"\bHERE", re.I)


def is_placeholder(text: str) -> bool:
    """PLACEHOLDER.search(text), without its backtracking: a text of many "recorded" and no
    "here" costs that regex the square of its length. A line holds the placeholder when a
    RECORDED in it is followed by a HERE: the first RECORDED of the line is the one to try."""
    pos = 0
    while (m := _RECORDED.search(text, pos)) is not None:
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        if _HERE.search(text, m.end(), end):
            return True
        pos = end + 1
    return False


class PolicyError(ValueError):
    """The document is not a policy vhv can read."""


Condition = frozenset  # of (operator_lower, key_lower, frozenset(values))


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str | None
    effect: str
    actions: tuple[str, ...] | None  # as written; compare with action_matches
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...] | None
    not_resources: tuple[str, ...] | None
    condition: Condition
    principals: tuple[tuple[str, str], ...] | None  # (type, value); ("*", "*") for "*"
    not_principal: bool = False
    # the conditions as written, (operator, key, values): for messages and IAM's own evaluation
    written: tuple[tuple[str, str, tuple[str, ...]], ...] = field(default=(), compare=False)

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


def _text(value: Any) -> str:
    """A condition value as IAM compares it: a JSON true is "true", not Python's "True"."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


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
            listed = values if isinstance(values, list) else [values]
            if not listed or not all(isinstance(v, (str, int, float)) for v in listed):
                raise PolicyError(
                    f"Condition {op!r} {key!r}: values must be strings, numbers or booleans, not {brief(values)}"
                )
            out.add((str(op).lower(), str(key).lower(), frozenset(_text(v) for v in listed)))
    return frozenset(out)


def _written(cond: Any) -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """A condition canonical_condition accepted, as written (a JSON true is IAM's "true")."""
    if not isinstance(cond, dict):
        return ()
    return tuple(
        (str(op), str(key), tuple(_text(v) for v in (values if isinstance(values, list) else [values])))
        for op, block in cond.items()
        for key, values in block.items()
    )


def _text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _principals(value: Any) -> tuple[tuple[str, str], ...]:
    if value == "*":
        return (("*", "*"),)
    if not isinstance(value, dict):
        raise PolicyError('Principal must be "*" or an object such as {"AWS": ...}')
    for t, vs in value.items():
        listed = vs if isinstance(vs, list) else [vs]
        if not listed or not all(isinstance(v, str) for v in listed):
            raise PolicyError(f"Principal {t!r} must be a string or a non-empty list of strings, not {brief(vs)}")
    return tuple(sorted((str(t), str(v)) for t, vs in value.items() for v in as_list(vs)))


_MANY = 1000  # statements from which a document's reading is remembered (by its text)
_READ: dict[str, list[Statement]] = {}
_TEXT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
# Within `read_once()`: each document's reading, by the document's identity (id -> (the
# document, kept so that its id is not reused; its statements)).
_ONCE: ContextVar[dict[int, tuple[Any, list[Statement]]] | None] = ContextVar("vhv_read_once", default=None)


@contextmanager
def read_once() -> Iterator[None]:
    """Within the block, each policy document (a dict) is read once: the rules judging one
    snapshot (engine.evaluate) read the same live policy five times, and its text, the key
    of the cache below, costs a fifth of a second to write out when it has 100,000 statements.
    Only for data nobody changes in the block: the rules judge, they do not edit."""
    token = _ONCE.set({})
    try:
        yield
    finally:
        _ONCE.reset(token)


def statements(doc: Any) -> list[Statement]:
    once = _ONCE.get()
    if once is not None and isinstance(doc, dict):
        hit = once.get(id(doc))
        if hit is None or hit[0] is not doc:  # read here, not through the text-keyed cache below
            hit = once[id(doc)] = (doc, _statements(_raw(doc)))
        return list(hit[1])
    d = load_document(doc)
    raw = _raw(d)
    if isinstance(raw, list) and len(raw) > _MANY:
        # several rules read the same live policy; a huge one (100,000 statements) costs a
        # second a reading, its text a tenth of that. Keyed by the text, not the object, so
        # that a document changed in place is read again.
        key = _TEXT.encode(d)
        if key not in _READ:
            _READ.clear()
            _READ[key] = _statements(raw)
        return list(_READ[key])
    return _statements(raw)


def deny_only(doc: Any) -> bool:
    """Whether every statement of the policy is a Deny (and it has one): it grants nothing, it only
    takes away. False for a document that cannot be read as a policy."""
    try:
        sts = statements(doc)
    except PolicyError:
        return False
    return bool(sts) and all(st.effect == "Deny" for st in sts)


def _raw(doc: Any) -> Any:
    raw = load_document(doc).get("Statement")
    if raw is None:
        raise PolicyError("policy has no Statement")
    return raw


def _statements(raw: Any) -> list[Statement]:
    out = []
    for i, st in enumerate(as_list(raw)):
        if not isinstance(st, dict):
            raise PolicyError(f"statement #{i + 1} is not an object")
        principal = st.get("Principal", st.get("NotPrincipal"))
        effect = st.get("Effect")
        if effect not in ("Allow", "Deny"):
            raise PolicyError(f'statement #{i + 1}: Effect must be "Allow" or "Deny", not {brief(effect)}')
        actions, not_actions = _keep(st, "Action", i), _keep(st, "NotAction", i)
        resources, not_resources = _keep(st, "Resource", i), _keep(st, "NotResource", i)
        if (actions is None) == (not_actions is None):
            raise PolicyError(f"statement #{i + 1}: needs exactly one of Action and NotAction")
        if principal is None and (resources is None) == (not_resources is None):
            raise PolicyError(f"statement #{i + 1}: needs exactly one of Resource and NotResource")
        out.append(
            Statement(
                index=i,
                sid=st.get("Sid"),
                effect=effect,
                actions=actions,
                not_actions=not_actions,
                resources=resources,
                not_resources=not_resources,
                condition=canonical_condition(st.get("Condition")),
                principals=_principals(principal) if principal is not None else None,
                not_principal="NotPrincipal" in st,
                written=_written(st.get("Condition")),
            )
        )
    return out


def _keep(st: dict[str, Any], key: str, i: int = 0) -> tuple[str, ...] | None:
    """A statement's Action/NotAction/Resource/NotResource: a string or a non-empty list of
    strings, as IAM takes them; anything else is a PolicyError, not an empty or "7" element
    (a statement read as touching nothing would make a wider policy look within the guide)."""
    if key not in st:
        return None
    value = st[key]
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(a, str) for a in value):
        return tuple(value)
    raise PolicyError(f"statement #{i + 1}: {key} must be a string or a non-empty list of strings, not {brief(value)}")


# ------------------------------------------------------------------ actions


@lru_cache(maxsize=1)
def _catalogue() -> frozenset[str]:
    from policyuniverse import all_permissions  # deferred: loads policyuniverse

    return frozenset(all_permissions)


@lru_cache(maxsize=1)
def _by_service() -> tuple[dict[str, tuple[str, ...]], int]:
    """The catalogue by service prefix, and the length of its longest action."""
    out: dict[str, list[str]] = {}
    for a in _catalogue():
        out.setdefault(a.split(":", 1)[0], []).append(a)
    return {k: tuple(v) for k, v in out.items()}, max(map(len, _catalogue()), default=0)


@lru_cache(maxsize=4096)
def expand(pattern: str) -> frozenset[str]:
    """Every known action an action pattern matches (lower case). An exact action
    unknown to the catalogue stands for itself; an unknown wildcard matches nothing
    known and is returned as itself so that it can be named."""
    p = pattern.lower()
    if p == "*":
        return _catalogue()
    if not is_wild(p):
        return frozenset([p])
    by_service, longest = _by_service()
    if literal_length(p) > longest:
        return frozenset([p])  # longer than every action: it matches none (and is not matched at all)
    service, colon, _ = p.partition(":")
    names = by_service.get(service, ()) if colon and not is_wild(service) else _catalogue()
    found = frozenset(compile_glob(p, True).filter(names))
    return found or frozenset([p])


def action_matches(pattern: str, action: str) -> bool:
    """IAM action matching: `*` and `?` are wildcards, case does not matter."""
    return compile_glob(pattern, True).match(action)


def resource_matches(pattern: str, resource: str) -> bool:
    """IAM resource matching: `*` and `?` are wildcards, case matters."""
    return compile_glob(pattern, False).match(resource)
