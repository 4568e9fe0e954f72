"""IAM wildcards: `*` (any run of characters, also none) and `?` (one character), and
nothing else (`[`, `\\` are plain characters, unlike fnmatch).

Matching takes time about linear in the text, whatever the pattern: the pattern is
split at its stars, and each piece between two stars is looked for at its leftmost
place after the previous one (str.find; a piece with `?` by a small regex of literals
and `.`), which is exact for stars that match anything. A regex of `.*` per star
backtracks instead: `s3:*a*a*a*...*b` against a long action takes exponential time.
A pattern's text is split once (cached); nothing here compiles a regex of the whole
pattern, so an 8 MB pattern costs what splitting 8 MB costs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

STAR_RUN = re.compile(r"\*{2,}")


def squeeze_stars(pattern: str) -> str:
    """The same wildcard pattern with each run of `*` as one `*`."""
    return STAR_RUN.sub("*", pattern) if "**" in pattern else pattern


def is_wild(text: str) -> bool:
    return "*" in text or "?" in text


def literal_length(pattern: str) -> int:
    """How many characters any string the pattern matches has at least (every character
    but `*` stands for one)."""
    return len(pattern) - pattern.count("*")


class Glob:
    """One compiled pattern; `match(text)` is a full match (the whole text)."""

    __slots__ = ("pattern", "ignore_case", "pieces", "star", "prefix", "suffix")

    def __init__(self, pattern: str, ignore_case: bool = False) -> None:
        p = squeeze_stars(pattern.lower() if ignore_case else pattern)
        self.pattern = p
        self.ignore_case = ignore_case
        self.star = "*" in p
        self.pieces: tuple[str, ...] = tuple(p.split("*")) if self.star else (p,)
        self.prefix = _literal_head(self.pieces[0])  # text every match starts with
        self.suffix = _literal_tail(self.pieces[-1]) if self.star else self.prefix if "?" not in p else ""

    def match(self, text: str) -> bool:
        if self.ignore_case:
            text = text.lower()
        pieces = self.pieces
        if not self.star:
            return len(text) == len(pieces[0]) and _at(pieces[0], text, 0)
        first, last = pieces[0], pieces[-1]
        end = len(text) - len(last)
        if end < len(first) or not _at(first, text, 0) or not _at(last, text, end):
            return False
        pos = len(first)
        for piece in pieces[1:-1]:
            found = _find(piece, text, pos, end)
            if found < 0:
                return False
            pos = found + len(piece)
        return True

    def filter(self, names: Iterable[str]) -> list[str]:
        """The names the pattern matches, in the order given."""
        return [n for n in names if self.match(n)]


def _literal_head(piece: str) -> str:
    q = piece.find("?")
    return piece if q < 0 else piece[:q]


def _literal_tail(piece: str) -> str:
    q = piece.rfind("?")
    return piece if q < 0 else piece[q + 1 :]


def _at(piece: str, text: str, pos: int) -> bool:
    """Does `piece` (literal characters and `?`) match the text at `pos`?"""
    if "?" not in piece:
        return text.startswith(piece, pos)
    return pos + len(piece) <= len(text) and _piece_rx(piece).match(text, pos, pos + len(piece)) is not None


def _find(piece: str, text: str, start: int, end: int) -> int:
    """The leftmost place in text[start:end] where `piece` matches entirely, or -1."""
    if "?" not in piece:
        return text.find(piece, start, end)
    m = _piece_rx(piece).search(text, start, end)
    return m.start() if m else -1


@lru_cache(maxsize=4096)
def _piece_rx(piece: str) -> re.Pattern[str]:
    # literals and `.` only: no quantifier, so no backtracking beyond the piece's length
    return re.compile("".join("." if c == "?" else re.escape(c) for c in piece), re.S)


@lru_cache(maxsize=65536)
def compile_glob(pattern: str, ignore_case: bool = False) -> Glob:
    return Glob(pattern, ignore_case)


def glob_match(pattern: str, text: str, ignore_case: bool = False) -> bool:
    return compile_glob(pattern, ignore_case).match(text)
