"""A found value as a reader of the report can see it: a tag value or name with a leading or
trailing space, a no-break or zero-width space, a control character or a letter of another
script (a Cyrillic "а" in "valohai") is shown quoted, such characters escaped, and each named:
`'1\\u00a0' (U+00A0 NO-BREAK SPACE)`. A plain value is shown as it is."""

from __future__ import annotations

import unicodedata

LONGEST = 300  # characters of a value shown (a tag value has at most 256; a doctored snapshot more)
_CONTROL_NAMES = {"\t": "CHARACTER TABULATION", "\n": "LINE FEED", "\r": "CARRIAGE RETURN"}


def _plain(ch: str) -> bool:
    return "!" <= ch <= "~"


def _name(ch: str) -> str:
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "") or f"{unicodedata.category(ch)} character"
    return f"U+{ord(ch):04X} {name}"


def quoted(text: str) -> tuple[str, list[str]]:
    """(the text to show, the names of what is hidden in it); the names are empty for a plain
    text, which is shown as it is."""
    names: list[str] = []
    shown = []
    last = len(text) - 1
    for i, ch in enumerate(text):
        if _plain(ch) or (ch == " " and 0 < i < last):
            shown.append("\\'" if ch == "'" else "\\\\" if ch == "\\" else ch)
            continue
        where = "leading " if i == 0 and ch == " " else "trailing " if i == last and ch == " " else ""
        names.append(where + _name(ch))
        shown.append(ch if ch == " " else f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    if not names and text:
        return (text if len(text) <= LONGEST else f"{text[:LONGEST]}… ({len(text):,} characters)"), []
    body = "".join(shown[:LONGEST]) + ("…" if len(shown) > LONGEST else "")
    more = f" ({len(text):,} characters)" if len(shown) > LONGEST else ""
    return f"'{body}'{more}", list(dict.fromkeys(names))


def visible(text: object) -> str:
    """The text shown with what it hides named (any other value as str())."""
    if not isinstance(text, str):
        return str(text)
    shown, names = quoted(text)
    return f"{shown} ({', '.join(names)})" if names else shown


def pair(key: str, value: object) -> str:
    """`key=value` shown, the names of what either hides after both."""
    k, kn = quoted(key)
    v, vn = quoted(value) if isinstance(value, str) else (str(value), [])
    names = list(dict.fromkeys(kn + vn))
    return f"{k}={v}" + (f" ({', '.join(names)})" if names else "")


def hidden(text: str) -> bool:
    """Whether the text holds something `visible` would name."""
    return bool(quoted(text)[1])


def bare(text: str) -> str:
    """The text without what it hides at its ends and its invisible characters (to recognise a
    key that was meant: "valohai\\u200b" is meant as "valohai")."""
    kept = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cc"))
    return kept.strip(" \u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000")
