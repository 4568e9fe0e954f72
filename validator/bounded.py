"""Bounds for data read from user files: how much a YAML/JSON document expands to.

YAML aliases let a few hundred bytes stand for billions of values ("billion laughs");
PyYAML's safe loader shares the aliased objects, so loading is cheap, but anything that
walks the result (a schema, a repr, a JSON dump) is not. Count, stop early.
"""
from __future__ import annotations

import reprlib
from typing import Any

import yaml

from validator.errors import VhvError

MAX_VALUES = 200_000
MAX_DEPTH = 200
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60


def check(data: Any, source: str, limit: int = MAX_VALUES, depth: int = MAX_DEPTH) -> Any:
    """`data` itself, or VhvError when it expands to more than `limit` values or nests deeper than `depth`."""
    count = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        node, level = stack.pop()
        count += 1
        if count > limit:
            raise VhvError(f"{source}: expands to more than {limit} values (YAML aliases?); refusing to read it")
        if level > depth:
            raise VhvError(f"{source}: nested more than {depth} levels deep")
        if isinstance(node, dict):
            stack.extend((v, level + 1) for kv in node.items() for v in kv)
        elif isinstance(node, (list, tuple, set, frozenset)):
            stack.extend((v, level + 1) for v in node)
    return data


def read_at_most(path: Any, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes of the file: a device (/dev/zero) or a pipe that never
    ends is "too big", not a hang that eats the memory; a named pipe no one writes to is
    one line after pipes.WAIT_S, not a hang."""
    from validator import pipes

    if pipes.is_fifo(path):
        return pipes.read(path, max_bytes)
    with open(path, "rb") as f:
        return f.read(max_bytes + 1)


def reread_text(path: Any) -> str | None:
    """The text of a file read before, to point at a line in it; None when it cannot be
    read again: a pipe gave its text once (opening it again waits for a writer that is gone)."""
    import os
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def read_text(path: Any, what: str, max_bytes: int, missing_hint: str = "", usual: str = "") -> str:
    """A small UTF-8 text file the user wrote (params, waivers): one clear line when it
    is missing, unreadable, too big or not UTF-8."""
    from pathlib import Path

    p = Path(path)
    try:
        raw = read_at_most(p, max_bytes)
    except FileNotFoundError:
        raise VhvError(f"{p}: {what} not found{missing_hint}") from None
    except OSError as exc:
        raise VhvError(f"{p}: cannot read {what}: {exc.strerror}") from None
    if len(raw) > max_bytes:
        raise VhvError(f"{p}: {what} is more than {max_bytes:,} bytes; {usual or f'a {what} is a few lines'}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VhvError(f"{p}: not UTF-8 text (byte {exc.start})") from None


def yaml_problem(exc: Any) -> tuple[str, str]:
    """(":line:col" or "", the problem in one line) of a PyYAML error, for one-line messages."""
    mark = getattr(exc, "problem_mark", None)
    where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
    return where, getattr(exc, "problem", None) or str(exc).splitlines()[0]


def short(value: Any) -> str:
    """A repr that stays short whatever the value is."""
    return _REPR.repr(value)


class _UniqueKeys:
    """A mapping that names a key twice is refused: YAML's spec says keys are unique, and
    PyYAML silently keeps the last value, so `region:` written twice would check the region
    the reader did not look at."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for i, (key_node, value_node) in enumerate(node.value):
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *base` then overriding a key is how merges are meant to be used
                key = self.construct_object(key_node, deep=deep)  # type: ignore[attr-defined]
                try:
                    first = seen.setdefault(key, i)
                except TypeError:
                    continue  # an unhashable key: the constructor below says so
                if first != i:  # by position: `*a : v` repeats the very node `&a k` is
                    where = node.value[first][0].start_mark.line + 1
                    raise yaml.constructor.ConstructorError(
                        None, None,
                        f"duplicate key {short(key)} (first at line {where}); "
                        "YAML keeps only the last one: write it once",
                        value_node.start_mark if key_node is node.value[first][0] else key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class SafeUniqueLoader(_UniqueKeys, yaml.SafeLoader):
    """The pure-Python safe loader, refusing duplicate keys."""


class _FastUniqueLoader(_UniqueKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader when present, refusing duplicate keys."""


def load_yaml(text: str) -> Any:
    """YAML with a safe loader only (plain data: no tags that build objects), refusing
    duplicate keys. libyaml's when present: it is fast and refuses flow nesting deeper than
    1000 levels, where the pure-Python scanner takes quadratic time."""
    return yaml.load(text, Loader=_FastUniqueLoader)  # noqa: S506 (safe loaders only)
