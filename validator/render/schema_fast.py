"""A fast yes/no for "does this document obey the schema?", for large documents.

jsonschema takes ~0.1 ms a finding (5 s for a 27 MB report read by `--diff`). This
compiles a schema, once, into plain Python checks: `valid(doc)` is True only when
jsonschema would find no error. It knows the keywords vhv's schemas use, with
jsonschema's meaning (Draft 2020-12); a schema with any other keyword compiles to None,
and a document it says no to is validated by jsonschema, which words every message.
"""
from __future__ import annotations

import re
from typing import Any, Callable

Check = Callable[[Any], bool]
ANNOTATIONS = {"$schema", "$id", "$comment", "$defs", "title", "description", "examples", "default"}
TYPES: dict[str, Check] = {
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
    "string": lambda x: isinstance(x, str),
    "boolean": lambda x: isinstance(x, bool),
    "null": lambda x: x is None,
    "number": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "integer": lambda x: (isinstance(x, int) and not isinstance(x, bool)) or (isinstance(x, float) and x.is_integer()),
}


class Unsupported(Exception):
    """A keyword (or a form of one) this module does not check exactly as jsonschema does."""


def compile_schema(root: dict[str, Any]) -> Check | None:
    """valid(document) -> bool for `root`, or None when it uses what is not supported here."""
    compiled: dict[str, Check] = {}

    def ref(target: str) -> Check:
        if not target.startswith("#/$defs/") or "/" in target[len("#/$defs/"):]:
            raise Unsupported(target)
        name = target[len("#/$defs/"):]
        if name not in root.get("$defs", {}):
            raise Unsupported(target)
        if name not in compiled:
            compiled[name] = lambda x: False  # a placeholder while it compiles (a recursive ref)
            check = node(root["$defs"][name])
            compiled[name] = check
        return lambda x: compiled[name](x)

    def node(schema: Any) -> Check:
        if schema is True or schema is False:
            return lambda x, ok=schema: ok
        if not isinstance(schema, dict) or ("$id" in schema and schema is not root):
            raise Unsupported(schema)  # an inner $id would change what "#/$defs/..." means
        checks = [_keyword(key, value, schema, node, ref) for key, value in schema.items()
                  if key not in ANNOTATIONS and key not in ("then", "else")]
        return _all([c for c in checks if c is not None])

    try:
        return node(root)
    except (Unsupported, re.error, TypeError, KeyError):
        return None


def _all(checks: list[Check]) -> Check:
    if len(checks) == 1:
        return checks[0]

    def every(x: Any) -> bool:
        for c in checks:
            if not c(x):
                return False
        return True
    return every


def _keyword(key: str, value: Any, schema: dict[str, Any], node: Callable[[Any], Check],
             ref: Callable[[str], Check]) -> Check | None:
    if key == "$ref":
        return ref(value)
    if key == "type":
        kinds = [TYPES[t] for t in ([value] if isinstance(value, str) else value)]
        return kinds[0] if len(kinds) == 1 else lambda x: any(k(x) for k in kinds)
    if key in ("enum", "const"):
        allowed = frozenset(value if key == "enum" else [value])
        if not all(isinstance(v, str) for v in allowed):
            raise Unsupported(key)  # jsonschema's equality of 1, 1.0 and True is its own
        return lambda x: isinstance(x, str) and x in allowed
    if key == "minLength":
        return lambda x: not isinstance(x, str) or len(x) >= value
    if key == "pattern":
        rx = re.compile(value)
        return lambda x: not isinstance(x, str) or rx.search(x) is not None
    if key == "minimum":
        return lambda x: not TYPES["number"](x) or x >= value
    if key == "items":
        item = node(value)
        return lambda x: not isinstance(x, list) or all(item(i) for i in x)
    if key == "required":
        need = frozenset(value)
        return lambda x: not isinstance(x, dict) or need <= x.keys()
    if key == "dependentRequired":
        deps = {k: tuple(v) for k, v in value.items()}
        return lambda x: not isinstance(x, dict) or all(d in x for k, ds in deps.items() if k in x for d in ds)
    if key == "properties":
        props = {k: node(v) for k, v in value.items()}

        def properties(x: Any) -> bool:
            if isinstance(x, dict):
                for k, v in x.items():
                    c = props.get(k)
                    if c is not None and not c(v):
                        return False
            return True
        return properties
    if key == "patternProperties":
        pats = [(re.compile(p), node(v)) for p, v in value.items()]
        return lambda x: not isinstance(x, dict) or all(c(v) for rx, c in pats for k, v in x.items() if rx.search(k))
    if key == "additionalProperties":
        if value is True:
            return None
        if value is not False:
            raise Unsupported(key)
        known = frozenset(schema.get("properties", {}))
        pats = [re.compile(p) for p in schema.get("patternProperties", {})]
        return lambda x: (not isinstance(x, dict) or x.keys() <= known
                          or all(any(rx.search(k) for rx in pats) for k in x.keys() - known))
    if key == "if":
        cond = node(value)
        then = node(schema.get("then", True))
        other = node(schema.get("else", True))
        return lambda x: then(x) if cond(x) else other(x)
    raise Unsupported(key)
