"""The JSON Schemas vhv ships (validator/data/*.schema.json), for `vhv schema` and the tests."""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

SCHEMAS = ("report", "waivers", "snapshot")


def text(name: str = "report") -> str:
    return (resources.files("validator") / "data" / f"{name}.schema.json").read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def load(name: str = "report") -> dict[str, Any]:
    return json.loads(text(name))


@lru_cache(maxsize=None)
def _quick(name: str):  # noqa: ANN202
    """A yes/no of the schema that says yes only when jsonschema finds no error (validator/shape.py;
    stricter where JSON Schema is loose: 1.0 is no integer, a final newline no end of a pattern):
    a large valid report is known valid 20x faster; what it says no to, jsonschema words."""
    from validator import shape

    try:
        return shape.compile_schema(shape.inline(load(name), load(name).get("$defs", {})))
    except ValueError:  # a keyword it does not know: jsonschema alone
        return None


def errors(document: Any, name: str = "report") -> list[str]:
    """Every way `document` breaks the schema, as `path: message` lines (empty when valid)."""
    import jsonschema

    quick = _quick(name)
    try:
        if quick is not None and quick(document):  # a large valid report: 20x faster than jsonschema
            return []
    except (TypeError, RecursionError):
        pass  # what the quick check cannot walk, jsonschema words
    validator = jsonschema.Draft202012Validator(load(name))
    out = []
    for err in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        out.append(f"{where}: {err.message}")
    return out
