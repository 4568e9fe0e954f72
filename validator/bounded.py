"""Bounds for data read from user files: how much a YAML/JSON document expands to.

YAML aliases let a few hundred bytes stand for billions of values ("billion laughs");
PyYAML's safe loader shares the aliased objects, so loading is cheap, but anything that
walks the result (a schema, a repr, a JSON dump) is not. Count, stop early.
"""

from __future__ import annotations

import os
import re
import reprlib
import stat
import sys
from pathlib import Path
from typing import Any

import yaml

from validator import pipes
from validator.errors import VhvError

MAX_VALUES = 200_000
MAX_DEPTH = 200
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 60


def check(data: Any, source: str, limit: int = MAX_VALUES, depth: int = MAX_DEPTH) -> Any:
    """`data` itself, or VhvError when it expands to more than `limit` values or nests deeper
    than `depth`, or holds a value no report can print: a lone surrogate ("\\ud800" is valid
    YAML, and the pure-Python loader keeps it; writing it as UTF-8 fails) or an integer of more
    digits than Python converts to text (0x... of any length loads; str() of it fails)."""
    count = 0
    too_big = 10 ** sys.get_int_max_str_digits() if sys.get_int_max_str_digits() else None
    seen: set[int] = set()  # non-ASCII strings looked at: an aliased one is looked at once
    # (node, level, path): path is None or (parent path, step), step ("k", key) | ("i", index) | ("key",)
    stack: list[tuple[Any, int, Any]] = [(data, 0, None)]
    while stack:
        node, level, path = stack.pop()
        count += 1
        if count > limit:
            raise VhvError(f"{source}: expands to more than {limit} values (YAML aliases?); refusing to read it")
        if level > depth:
            raise VhvError(f"{source}: nested more than {depth} levels deep")
        if isinstance(node, dict):
            for k, v in reversed(node.items()):  # reversed: the first in the file is looked at first
                stack.append((v, level + 1, (path, ("k", k))))
                stack.append((k, level + 1, (path, ("key",))))
        elif isinstance(node, (list, tuple)):
            stack.extend((v, level + 1, (path, ("i", i))) for i, v in reversed(list(enumerate(node))))
        elif isinstance(node, (set, frozenset)):
            stack.extend((v, level + 1, (path, ("key",))) for v in node)
        elif isinstance(node, str):
            if not node.isascii() and id(node) not in seen:
                seen.add(id(node))
                half = _SURROGATE.search(node)
                if half:
                    raise VhvError(f"{_where(source, path)}{_surrogate_problem(node, half.start())}")
        elif isinstance(node, int) and not isinstance(node, bool) and too_big is not None and abs(node) >= too_big:
            raise VhvError(
                f"{_where(source, path)}an integer of more than {sys.get_int_max_str_digits():,} digits "
                "(more than Python prints); write a shorter one, or quote it if it is text"
            )
    return data


_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*\Z")


def _where(source: str, path: Any) -> str:
    """'file: waivers[0].justification: ' for the value at `path` (see check)."""
    steps = []
    while path is not None:
        path, step = path
        steps.append(step)
    text, is_key = "", False
    for step in reversed(steps):
        if step[0] == "key":
            is_key = True
        elif step[0] == "i":
            text += f"[{step[1]}]"
        elif isinstance(step[1], str) and _NAME.match(step[1]):
            text += f".{step[1]}" if text else step[1]
        else:
            text += f"[{short(step[1])}]"
    if is_key:
        text = f"{text} (a key)" if text else "a key"
    return f"{source}: {text}: " if text else f"{source}: "


def _surrogate_problem(text: str, at: int) -> str:
    """Why the lone surrogate at text[at] is refused, and what to write instead."""
    pair = text[at : at + 2]
    if len(pair) == 2 and "\ud800" <= pair[0] <= "\udbff" and "\udc00" <= pair[1] <= "\udfff":
        char = pair.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
        return (
            f'"\\u{ord(pair[0]):04x}\\u{ord(pair[1]):04x}" is a UTF-16 surrogate pair, which YAML does not '
            f'join into one character; write the character itself (or "\\U{ord(char):08x}")'
        )
    return f'"\\u{ord(text[at]):04x}" is not a Unicode character (a lone surrogate escape); write the character itself'


def read_at_most(path: Any, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes of the file: a device (/dev/zero) or a pipe that never
    ends is "too big", not a hang that eats the memory; a named pipe no one writes to is
    one line after pipes.WAIT_S, not a hang."""

    if pipes.is_fifo(path):
        return pipes.read(path, max_bytes)
    with open(path, "rb") as f:
        return f.read(max_bytes + 1)


def reread_text(path: Any) -> str | None:
    """The text of a file read before, to point at a line in it; None when it cannot be
    read again: a pipe gave its text once (opening it again waits for a writer that is gone)."""

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
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if problem == "found invalid Unicode character escape code":  # libyaml's, at "\ud800"
        problem += " (beyond \\U0010ffff, or half a character such as \\ud800); write the character itself"
    return where, problem


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
                        None,
                        None,
                        f"duplicate key {short(key)} (first at line {where}); "
                        "YAML keeps only the last one: write it once",
                        value_node.start_mark if key_node is node.value[first][0] else key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _YamlErrors:
    """What PyYAML would raise as a bare ValueError is a YAML error at its line."""

    def scan_flow_scalar_non_spaces(self, double: bool, start_mark: Any) -> Any:
        """An escape beyond Unicode ("\\U00110000") as libyaml says it, not chr()'s ValueError
        (the pure-Python scanner only)."""
        try:
            return super().scan_flow_scalar_non_spaces(double, start_mark)  # type: ignore[misc]
        except ValueError:
            raise yaml.scanner.ScannerError(
                "while scanning a double-quoted scalar",
                start_mark,
                "found invalid Unicode character escape code",
                self.get_mark(),
            ) from None  # type: ignore[attr-defined]

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        """A scalar PyYAML cannot turn into a value (an integer of more than 4300 digits,
        the date 2027-02-30) is a YAML error at its line, not a bare ValueError."""
        try:
            return super().construct_object(node, deep=deep)  # type: ignore[misc]
        except (ValueError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(None, None, _scalar_problem(node, exc), node.start_mark) from None


def _scalar_problem(node: Any, exc: Exception) -> str:
    value = getattr(node, "value", "")
    if node.tag == "tag:yaml.org,2002:int" and isinstance(value, str):
        digits = sum(c.isdigit() for c in value)
        return (
            f"an integer of {digits:,} digits is more than Python reads ({sys.get_int_max_str_digits():,}); "
            "write a shorter one, or quote it if it is text"
        )
    why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if node.tag == "tag:yaml.org,2002:timestamp":
        return f"{short(value)} is not a date ({why}); write one that exists, as YYYY-MM-DD"
    return f"{short(value)} cannot be read ({why})"


class SafeUniqueLoader(_YamlErrors, _UniqueKeys, yaml.SafeLoader):
    """The pure-Python safe loader, refusing duplicate keys."""


class _FastUniqueLoader(_YamlErrors, _UniqueKeys, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's safe loader when present, refusing duplicate keys."""


def load_yaml(text: str) -> Any:
    """YAML with a safe loader only (plain data: no tags that build objects), refusing
    duplicate keys. libyaml's when present: it is fast and refuses flow nesting deeper than
    1000 levels, where the pure-Python scanner takes quadratic time. A value PyYAML cannot
    build (an integer of 5000 digits) is a yaml.YAMLError at its line, as any other problem;
    then check() refuses what loads but cannot be printed."""
    return yaml.load(text, Loader=_FastUniqueLoader)  # noqa: S506 (safe loaders only)
