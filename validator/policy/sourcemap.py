"""JSON text -> (value, where every JSON pointer starts), with exact line/column.

Why our own ~100 lines rather than `json-source-map` (PyPI): that package
builds pointers from the raw key text without RFC 6901 escaping, so the
condition key `aws:ResourceTag/Valohai` (a `/` inside a key) yields an
ambiguous pointer; it silently keeps the last of duplicate keys (which IAM
users need to hear about); and it walks the text a character at a time in
Python, about ten times slower than this scanner, which leaves strings to the
C `json` decoder. Lines and columns here are 1-based, columns count characters.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field
from json.decoder import scanstring
from typing import Any

_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}


class JsonSyntaxError(ValueError):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{message} (line {line}, column {column})")
        self.reason, self.line, self.column = message, line, column


def escape(token: str) -> str:
    """One JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: Any) -> str:
    return "".join("/" + escape(str(t)) for t in tokens)


@dataclass
class SourceMap:
    """Where the values of a JSON text start, found when asked: a pointer is followed from the
    top, and each object or array on the way is read once (its members skipped over by the C
    scanner), so that locating every finding of a 10 MB file costs about one more parse."""

    text: str
    duplicates: list[str] = field(default_factory=list)  # pointers of keys seen twice in one object
    out_of_range: dict[str, str] = field(default_factory=dict)  # pointer -> a number's text that reads as infinity
    _lines: list[int] | None = None
    _members: dict[int, dict[str, tuple[int, int]] | list[int] | None] = field(default_factory=dict)

    def position(self, offset: int) -> tuple[int, int]:
        if self._lines is None:  # once: a one-line file has no line break, and is asked 100,000 times
            self._lines = [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(self._lines, offset)
        start = self._lines[line - 1] if line else 0
        return line + 1, offset - start + 1

    def locate(self, ptr: str, key: bool = False) -> tuple[int, int]:
        """Line and column of the value at `ptr` (or of its key), falling back to the
        nearest enclosing pointer that exists."""
        at, key_at = _skip(self.text, 0), None
        for token in ptr.split("/")[1:] if ptr else ():
            members = self._read(at)
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(members, dict) and token in members:
                key_at, at = members[token]
            elif isinstance(members, list) and token.isdigit() and int(token) < len(members):
                key_at, at = None, members[int(token)]
            else:
                break
        return self.position(key_at if key and key_at is not None else at)

    def _read(self, at: int) -> dict[str, tuple[int, int]] | list[int] | None:
        """The members of the object (key -> offsets of the key and of the value; the last of
        a key written twice, as JSON readers keep) or array (offsets) that starts at `at`."""
        if at not in self._members:
            self._members[at] = _members(self.text, at)
        return self._members[at]

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""


_SCAN = json.JSONDecoder().scan_once  # reads (and so skips) one JSON value, in C


def _members(text: str, at: int) -> dict[str, tuple[int, int]] | list[int] | None:
    opening = text[at] if at < len(text) else ""
    if opening not in ("{", "["):
        return None
    closing = "}" if opening == "{" else "]"
    found: dict[str, tuple[int, int]] = {}
    items: list[int] = []
    pos = _skip(text, at + 1)
    if text[pos] == closing:
        return found if opening == "{" else items
    while True:
        if opening == "{":
            key_at = pos
            key, pos = scanstring(text, pos + 1)
            pos = _skip(text, _skip(text, pos) + 1)  # past ':'
            found[key] = (key_at, pos)
        else:
            items.append(pos)
        _, pos = _SCAN(text, pos)
        pos = _skip(text, pos)
        if text[pos] == closing:
            return found if opening == "{" else items
        pos = _skip(text, pos + 1)  # past ','


def parse(text: str) -> tuple[Any, SourceMap]:
    """Parse `text` as JSON (RFC 8259); the SourceMap locates its values when asked.

    The C decoder reads it (fast, and its error messages are good ones); only when it met
    what needs a pointer - a key written twice in one object, a number that reads as
    infinity, NaN or Infinity (which Python reads and JSON has not) - is the text walked
    again in Python to find where."""
    smap = SourceMap(text)
    if text.startswith("\ufeff"):
        text = " " + text[1:]  # a BOM is not JSON, but editors write it: keep offsets
        smap.text = text
    met: set[str] = set()

    def members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            met.add("a key twice")
        return out

    def number(s: str) -> float:
        value = float(s)
        if value in (_INF, -_INF):
            met.add("out of range")
        return value

    def constant(s: str) -> None:
        met.add(s)

    try:
        value = json.loads(text, object_pairs_hook=members, parse_float=number, parse_constant=constant)
        if met:
            value, _ = _value(text, _skip(text, 0), "", smap)
    except json.JSONDecodeError as exc:
        reason, at = _reason(exc)
        raise JsonSyntaxError(reason, *smap.position(at)) from None
    except _NotJson as exc:
        raise JsonSyntaxError(exc.args[0], *smap.position(exc.args[1])) from None
    except RecursionError:
        raise JsonSyntaxError("nested too deeply", 1, 1) from None
    except ValueError as exc:  # int() of a number with more digits than Python converts (4300)
        raise JsonSyntaxError(f"a number too long to read ({str(exc).split(':')[0]})", 1, 1) from None
    return value, smap


_CONTROL = {"\n": "line break", "\r": "carriage return", "\t": "tab"}


def _reason(exc: json.JSONDecodeError) -> tuple[str, int]:
    """The decoder's message as a whole sentence, and the offset to show: its position goes to
    line/column, and the messages that end in "at" (the C decoder's "Invalid control
    character at") say what is there. A string that runs into the end of its line is shown
    at its opening quote."""
    msg, text, pos = exc.msg.removesuffix(" at"), exc.doc, exc.pos
    if msg.startswith("Invalid control character"):
        ch = text[pos] if pos < len(text) else ""
        if ch in "\r\n":
            start = _open_quote(text, pos)
            if start is not None:
                return (
                    "unterminated string: the string that starts here runs into the end of the line "
                    "(is its closing '\"' missing?)"
                ), start
        name = _CONTROL.get(ch, f"U+{ord(ch):04X}" if ch else "character")
        return (
            f"invalid control character ({name}) inside a string (write it as {json.dumps(ch)[1:-1] or 'an escape'})"
        ), pos
    if msg.startswith("Unterminated string"):
        return "unterminated string: a '\"' opens a string here that is never closed", pos
    return msg, pos


def _open_quote(text: str, pos: int) -> int | None:
    """The offset of the quote that opens the string `pos` is in. A JSON string holds no raw
    line break, so every line starts outside of strings: pair the quotes from there."""
    at, start = text.rfind("\n", 0, pos) + 1, None
    while at < pos:
        ch = text[at]
        if ch == '"':
            start = at if start is None else None
        elif ch == "\\" and start is not None:
            at += 1
        at += 1
    return start


class _NotJson(Exception):
    """(message, offset): what Python's decoder accepts but JSON does not (NaN, Infinity)."""


def _skip(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()  # type: ignore[union-attr]


def _value(text: str, pos: int, ptr: str, smap: SourceMap) -> tuple[Any, int]:
    """One value, recording the pointers of duplicate keys and of out-of-range numbers (and
    refusing NaN and Infinity where they are)."""
    ch = text[pos]
    if ch == "{":
        out: dict[str, Any] = {}
        pos = _skip(text, pos + 1)
        if text[pos] == "}":
            return out, pos + 1
        while True:
            key, pos = scanstring(text, pos + 1)
            child = ptr + "/" + escape(key)
            if key in out:
                smap.duplicates.append(child)
            pos = _skip(text, _skip(text, pos) + 1)  # past ':'
            out[key], pos = _value(text, pos, child, smap)
            pos = _skip(text, pos)
            if text[pos] == "}":
                return out, pos + 1
            pos = _skip(text, pos + 1)  # past ','
    if ch == "[":
        items: list[Any] = []
        pos = _skip(text, pos + 1)
        if text[pos] == "]":
            return items, pos + 1
        while True:
            item, pos = _value(text, pos, f"{ptr}/{len(items)}", smap)
            items.append(item)
            pos = _skip(text, pos)
            if text[pos] == "]":
                return items, pos + 1
            pos = _skip(text, pos + 1)
    if ch == '"':
        return scanstring(text, pos + 1)
    for word, lit in _LITERALS.items():
        if text.startswith(word, pos):
            return lit, pos + len(word)
    m = _NUMBER.match(text, pos)
    if m is None:
        word = re.match(r"-?\w*", text[pos : pos + 12]).group() or text[pos]  # type: ignore[union-attr]
        raise _NotJson(f"{word!r} is not a JSON value", pos)
    s = m.group()
    if not any(c in s for c in ".eE"):
        return int(s), m.end()
    number = float(s)
    if number in (_INF, -_INF):  # 1e999999: Python's decoder reads infinity, without a word
        smap.out_of_range[ptr] = s
    return number, m.end()


_INF = float("inf")
