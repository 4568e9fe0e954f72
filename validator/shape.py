"""JSON read strictly and checked against a JSON Schema, fast, with one line naming the place.

`loads` refuses what Python's json accepts but no JSON writer of ours emits (NaN, Infinity,
floats beyond the float range, integers longer than int() reads). `compile_schema` turns a
schema (after `inline`) into a yes/no function about 8x faster than jsonschema, for the
keywords our schemas use; jsonschema stays the reference that words the problem
(`describe`), and tests hold both to the same answers. Used by validator.snapshot.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any


class _Number:
    """A number Python's json accepts but vhv never writes: NaN, Infinity, a float that
    overflows to infinity, an integer too long for int(). Stands in its place until load
    names where it is."""

    __slots__ = ("text", "why")

    def __init__(self, text: str, why: str):
        self.text, self.why = text, why

    def text_brief(self) -> str:
        return self.text if len(self.text) <= 30 else f"{self.text[:12]}...({len(self.text)} digits)"


class BadNumber(ValueError):
    def __init__(self, doc: Any, number: _Number):
        super().__init__(number.text)
        self.doc, self.number = doc, number


class DuplicateKey(ValueError):
    """A key written twice in one object: Python's json keeps the last one, silently."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def loads(text: str) -> Any:
    """json.loads, refusing NaN, Infinity, -Infinity, floats beyond the float range and integers
    beyond Python's int() limit (BadNumber, which names where the first one is), and a key
    written twice in one object (DuplicateKey: json keeps the last, so the first is never seen)."""
    bad: list[_Number] = []

    def constant(name: str) -> _Number:
        bad.append(_Number(name, "JSON has no NaN or Infinity"))
        return bad[-1]

    def real(literal: str) -> Any:
        value = float(literal)
        if math.isinf(value):
            bad.append(_Number(literal, "too large for a number"))
            return bad[-1]
        return value

    def integer(literal: str) -> Any:
        try:
            return int(literal)
        except ValueError:  # more digits than sys.get_int_max_str_digits()
            bad.append(_Number(literal, "too many digits"))
            return bad[-1]

    twice: list[str] = []

    def members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) != len(pairs) and not twice:
            seen: set[str] = set()
            twice.append(next(k for k, _ in pairs if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
        return obj

    doc = json.loads(text, parse_constant=constant, parse_float=real, parse_int=integer, object_pairs_hook=members)
    if bad:
        raise BadNumber(doc, bad[0])
    if twice:
        raise DuplicateKey(twice[0])
    return doc


def d_path(doc: Any, target: Any) -> list[Any] | None:
    """The path (keys and indexes) of the object `target` in `doc`, by identity; None if absent."""
    stack: list[tuple[Any, list[Any]]] = [(doc, [])]
    while stack:
        node, where = stack.pop()
        if node is target:
            return where
        if isinstance(node, dict):
            stack.extend((v, where + [k]) for k, v in reversed(list(node.items())))
        elif isinstance(node, list):
            stack.extend((v, where + [i]) for i, v in reversed(list(enumerate(node))))
    return None


def inline(node: Any, defs: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`node` with each "$ref": "#/$defs/x" replaced by x itself (its siblings kept; an allOf when
    they overlap): the same schema, that jsonschema validates twice as fast (it resolves a $ref
    at every use) and that `_compile` can read."""
    if isinstance(node, list):
        return [inline(v, defs, seen) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: inline(v, defs, seen) for k, v in node.items() if k not in ("$ref", "$defs")}
    if isinstance(out.get("pattern"), str) and out["pattern"].endswith("$") and not out["pattern"].endswith("\\$"):
        out["pattern"] = out["pattern"][:-1] + "\\Z"  # Python's $ also matches before a final newline
    ref = node.get("$ref")
    if ref is None:
        return out
    name = ref.removeprefix("#/$defs/")
    if name in seen or name not in defs:
        raise ValueError(f"schema: $ref {ref} is recursive or not in $defs")
    target = inline(defs[name], defs, seen + (name,))
    return {**out, "allOf": [target]} if set(out) & set(target) - {"description"} else {**target, **out}


_PY_TYPES = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "null": (type(None),),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


def _is(types: Any) -> Any:
    names = [types] if isinstance(types, str) else list(types)
    py = tuple(t for n in names for t in _PY_TYPES[n])
    if "boolean" in names or not {"integer", "number"} & set(names):
        return lambda v: isinstance(v, py)
    return lambda v: isinstance(v, py) and not isinstance(v, bool)  # true is no integer here


def _same(a: Any, b: Any) -> bool:
    return isinstance(a, bool) == isinstance(b, bool) and a == b


def compile_schema(node: Any) -> Any:
    """A function value -> bool that says whether `value` obeys the (inlined) schema `node`:
    jsonschema's answer, about 8x faster (one closure per keyword, no error objects). It knows
    the keywords snapshot.schema.json uses; another one is refused here, not ignored. jsonschema
    stays the reference: it names what is wrong, and the tests hold both to the same answers."""
    if node is True or node == {}:
        return lambda v: True
    checks = [
        _keyword(kw, want, node)
        for kw, want in node.items()
        if kw not in ("description", "title", "$schema", "$id", "$comment", "then", "else", "properties")
    ]
    if "properties" in node and "additionalProperties" not in node:
        checks.append(_members(node["properties"], True))
    return checks[0] if len(checks) == 1 else _all(checks)


def _all(checks: list[Any]) -> Any:
    def check(v: Any) -> bool:
        for c in checks:
            if not c(v):
                return False
        return True

    return check


def _members(properties: dict[str, Any], others: Any) -> Any:
    """properties + additionalProperties: each member obeys its property's schema, or `others` (False: none)."""
    props = {k: compile_schema(sub) for k, sub in properties.items()}
    other = None if others is False else compile_schema(others)

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for k, x in v.items():
            obey = props.get(k, other)
            if obey is None or not obey(x):
                return False
        return True

    return check


def _keyword(kw: str, want: Any, node: dict[str, Any]) -> Any:
    if kw == "type":
        return _is(want)
    if kw == "const":
        return lambda v: _same(v, want)
    if kw == "enum":
        return lambda v: any(_same(v, x) for x in want)
    if kw == "pattern":
        search = re.compile(want).search  # `inline` made a final $ into \\Z
        return lambda v: not isinstance(v, str) or search(v) is not None
    if kw == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= want
    if kw == "maxLength":
        return lambda v: not isinstance(v, str) or len(v) <= want
    if kw == "minItems":
        return lambda v: not isinstance(v, list) or len(v) >= want
    if kw in ("minimum", "maximum"):
        low, high = (want, math.inf) if kw == "minimum" else (-math.inf, want)
        return lambda v: isinstance(v, bool) or not isinstance(v, (int, float)) or low <= v <= high
    if kw == "required":
        keys = frozenset(want)
        return lambda v: not isinstance(v, dict) or v.keys() >= keys
    if kw == "dependentRequired":
        deps = {k: frozenset(v) for k, v in want.items()}
        return lambda v: not isinstance(v, dict) or all(v.keys() >= need for k, need in deps.items() if k in v)
    if kw == "additionalProperties":
        if node.get("patternProperties"):
            raise ValueError("schema: additionalProperties beside patternProperties is not one compile_schema knows")
        return _members(node.get("properties", {}), want)
    if kw == "patternProperties":
        pats = [(re.compile(p).search, compile_schema(sub)) for p, sub in want.items()]
        return lambda v: not isinstance(v, dict) or all(c(x) for k, x in v.items() for match, c in pats if match(k))
    if kw in ("items", "propertyNames"):
        each, kind = compile_schema(want), (list if kw == "items" else dict)

        def every(v: Any) -> bool:
            if isinstance(v, kind):
                for x in v:  # a list's items; a dict's keys
                    if not each(x):
                        return False
            return True

        return every
    if kw == "if":
        cond, then, other = (
            compile_schema(want),
            compile_schema(node.get("then", True)),
            compile_schema(node.get("else", True)),
        )
        return lambda v: then(v) if cond(v) else other(v)
    if kw in ("oneOf", "anyOf", "allOf"):
        subs = [compile_schema(sub) for sub in want]
        if kw == "allOf":
            return _all(subs)
        if kw == "anyOf":
            return lambda v: any(c(v) for c in subs)
        return lambda v: [c(v) for c in subs].count(True) == 1
    raise ValueError(f"schema: keyword {kw!r} is not one compile_schema knows")


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_:-]*\Z")
_KINDS = {
    "object": "an object",
    "array": "an array",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}


def _path(parts: Any) -> str:
    """data.security_groups[3].ingress; keys that are not plain words quoted: key_pairs["my key"]."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif _PLAIN_KEY.match(p) and len(p) <= 80:
            out += ("." if out else "") + p
        else:
            out += f"[{brief(p)}]"
    return out


def at(parts: Any) -> str:
    text = _path(parts or [])
    return f"{text}: " if text else ""


def kind_of(value: Any) -> str:
    if isinstance(value, _Number):
        return "a number JSON cannot hold"
    if isinstance(value, bool):
        return "a boolean"
    for name, t in (("object", dict), ("array", list), ("string", str), ("integer", int), ("number", float)):
        if isinstance(value, t):
            return _KINDS[name]
    return "null" if value is None else type(value).__name__


def brief(value: Any, room: int = 60, quote: bool = True) -> str:
    """`value` as JSON, cut to about `room` characters (control characters escaped)."""
    if isinstance(value, _Number):
        return value.text_brief()
    if isinstance(value, str) and not quote:
        text = json.dumps(value)[1:-1]
    elif isinstance(value, dict) and len(value) > 8:
        text = json.dumps(dict(list(value.items())[:8]), default=brief)[:-1] + ", ...}"
    elif isinstance(value, list) and len(value) > 8:
        text = json.dumps(value[:8], default=brief)[:-1] + ", ...]"
    else:
        text = json.dumps(value, default=brief)
    return text if len(text) <= room else text[: room - 3] + "..."


def _found(value: Any) -> str:
    kind = kind_of(value)
    return kind if value is None else f"{kind} ({brief(value)})"


def describe(err: Any) -> str:
    """One line for a jsonschema error: where, what was expected, what was found."""
    kw, want, value, sub = err.validator, err.validator_value, err.instance, err.schema
    where = at(err.absolute_path)
    if len(err.schema_path) > 1 and err.schema_path[-2] == "propertyNames":
        what = sub.get("description") or (f"a key matching {sub['pattern']}" if "pattern" in sub else "another key")
        return f"{where}key {brief(value)}: expected {what} as a key"
    if kw == "type":
        types = [want] if isinstance(want, str) else list(want)
        return f"{where}expected {' or '.join(_KINDS[t] for t in types)}, found {_found(value)}"
    if kw == "required":
        missing = [k for k in want if k not in value]
        return f"{where}missing the key {brief(missing[0])}" if missing else f"{where}{err.message}"
    if kw == "additionalProperties":
        known = list(sub.get("properties", {}))
        extra = [k for k in value if k not in known]
        expected = f" (expected only: {', '.join(known)})" if known else ""
        return f"{where}unexpected key {brief(extra[0] if extra else '?')}{expected}"
    if kw == "const":
        return f"{where}expected {brief(want)}, found {_found(value)}"
    if kw == "enum":
        return f"{where}expected one of {', '.join(brief(w, quote=False) for w in want)}, found {_found(value)}"
    if kw == "pattern":
        what = sub.get("description") or f"a string matching {want}"
        return f"{where}expected {what}, found {_found(value)}"
    if kw in ("minimum", "maximum"):
        bound = "at least" if kw == "minimum" else "at most"
        return f"{where}expected {bound} {want}, found {_found(value)}"
    if kw == "minLength":
        return (
            f"{where}expected a non-empty string, found {_found(value)}"
            if want == 1
            else f"{where}expected at least {want} characters, found {_found(value)}"
        )
    if kw == "minItems":
        return f"{where}expected at least {want} item{'s' if want > 1 else ''}, found {_found(value)}"
    if kw == "maxLength":
        return f"{where}expected at most {want} characters, found a string of {len(value)}"
    if kw == "oneOf" and all(set(alt) == {"required"} for alt in want):
        keys = [k for alt in want for k in alt["required"]]
        there = [k for k in keys if isinstance(value, dict) and k in value]
        return f"{where}expected exactly one of {', '.join(keys)}, found {', '.join(there) if there else 'none'}"
    return f"{where}{brief(err.message, room=200, quote=False)}"
