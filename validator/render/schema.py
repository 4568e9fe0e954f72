"""The JSON Schemas vhv ships (validator/data/*.schema.json), for `vhv schema` and the tests."""

from __future__ import annotations

import itertools
import json
from functools import lru_cache
from importlib import resources
from typing import Any

from validator import kinds, shape

SCHEMAS = ("report", "waivers", "snapshot")


def text(name: str = "report") -> str:
    """The schema as vhv prints it: the guide's names filled in from the catalogue (kinds.fill)."""
    return kinds.fill((resources.files("validator") / "data" / f"{name}.schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=None)
def load(name: str = "report") -> dict[str, Any]:
    return json.loads(text(name))


@lru_cache(maxsize=None)
def _quick(name: str):  # noqa: ANN202
    """A yes/no of the schema that says yes only when jsonschema finds no error (validator/shape.py;
    stricter where JSON Schema is loose: 1.0 is no integer, a final newline no end of a pattern):
    a large valid report is known valid 20x faster; what it says no to, jsonschema words."""

    try:
        return shape.compile_schema(shape.inline(load(name), load(name).get("$defs", {})))
    except ValueError:  # a keyword it does not know: jsonschema alone
        return None


@lru_cache(maxsize=None)
def _skipping_valid_items(name: str):  # noqa: ANN202
    """jsonschema's validator whose `items` leaves out the items the compiled check accepts: they
    have no error to find (it says yes only when jsonschema does), and jsonschema walks them 10x
    slower. One broken finding at the end of a 200 MB report was a 45 s walk; now jsonschema
    words that finding alone, and the errors are the very ones, in the same order."""
    import jsonschema  # deferred: loads jsonschema

    base = jsonschema.Draft202012Validator
    plain = base.VALIDATORS["items"]
    defs = load(name).get("$defs", {})
    compiled: dict[int, Any] = {}

    def items(validator: Any, want: Any, instance: Any, schema: dict[str, Any]) -> Any:
        if not isinstance(instance, list) or not isinstance(want, dict) or schema.get("prefixItems"):
            yield from plain(validator, want, instance, schema)
            return
        if id(want) not in compiled:
            try:
                compiled[id(want)] = shape.compile_schema(shape.inline(want, defs))
            except ValueError:
                compiled[id(want)] = None
        check = compiled[id(want)]
        for index, item in enumerate(instance):
            try:
                fine = check is not None and check(item)
            except (TypeError, RecursionError):
                fine = False
            if not fine:
                yield from validator.descend(instance=item, schema=want, path=index)

    return jsonschema.validators.extend(base, {"items": items})


# How many errors `errors` collects at most. jsonschema finds them lazily, in the document's
# order; collecting and sorting all of them costs time and memory in proportion to a broken
# report's size (tens of seconds and gigabytes for tens of megabytes), for the one line --diff prints.
FIRST_ERRORS = 20


def errors(document: Any, name: str = "report", limit: int = FIRST_ERRORS) -> list[str]:
    """The first `limit` ways `document` breaks the schema, as `path: message` lines sorted by
    path (empty when valid)."""

    import jsonschema  # deferred: loads jsonschema

    quick = _quick(name)
    try:
        if quick is not None and quick(document):  # a large valid report: 20x faster than jsonschema
            return []
    except (TypeError, RecursionError):
        pass  # what the quick check cannot walk, jsonschema words
    cls = jsonschema.Draft202012Validator if quick is None else _skipping_valid_items(name)
    validator = cls(load(name))
    out = []
    first = itertools.islice(validator.iter_errors(document), limit)
    for err in sorted(first, key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        out.append(f"{where}: {err.message}")
    return out
