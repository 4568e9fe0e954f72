"""Waivers: a failure that is known and accepted, for a while, with a reason.

    waivers:
      - rule: RULE-ID                          # a rule id of `vhv rules` (checked when read)
        resource: sg-0123456789abcdef0         # the finding's resource id/ARN or guide name; "*": all
        justification: VPN range for the on-call team, approved in SEC-142
        expires: 2027-01-31                    # YYYY-MM-DD; expires at 00:00 that day (as InSpec)
        owner: platform-team                   # optional

From `vhv check --waivers FILE` (YAML or JSON, the shape above) and/or the
`waivers:` key of the params file; both are validated against
validator/data/waivers.schema.json (`vhv schema waivers`) and the rule pack
when read: a bad waiver is one line naming the file and the key, exit 2.

Applied after evaluation (`apply`): a matching `fail` or `warn` becomes `skip`
with the waiver in its message and in `Finding.waived` (the original status
stays visible in every report). An `error` is never waived: a rule that could
not be decided must not read as accepted. A waiver that has expired is ignored
and adds a `warn` finding (`waiver-expired`); one that matches no fail or warn
finding adds a `warn` finding (`waiver-unmatched`) saying what the rule found
instead. Both point at the waiver's file and line.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from validator import bounded
from validator.errors import VhvError
from validator.findings import ERROR, FAIL, PASS, SKIP, WARN, Finding

ALL = "*"
WAIVABLE = (FAIL, WARN)
MAX_BYTES = 1_000_000
EXPIRED, UNMATCHED = "waiver-expired", "waiver-unmatched"


@dataclass(frozen=True)
class Waiver:
    rule: str
    resource: str
    justification: str
    expires: dt.date
    owner: str | None
    source: str  # the file it was read from (a waiver file or the params file)
    pointer: str  # JSON pointer of the entry in that file: /waivers/0
    line: int | None = None

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else f"{self.source}#{self.pointer}"

    def covers(self, f: Finding) -> bool:
        return f.rule_id == self.rule and (self.resource == ALL or self.resource in (f.resource_id, f.resource_name))

    def in_force(self, today: dt.date) -> bool:
        """Expires at 00:00 local time on `expires` (as InSpec): in force the days before."""
        return today < self.expires


class _Loader(bounded.SafeUniqueLoader):
    """SafeLoader that leaves dates as text: `expires` is checked (and explained) by us, not by
    PyYAML, which fails on 2027-02-30 with a bare ValueError."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    return json.loads((resources.files("validator") / "data" / "waivers.schema.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ loading


def load(path: str | Path, pack: Any) -> list[Waiver]:
    """A waiver file (YAML or JSON): a mapping with a `waivers:` list."""
    p = Path(path)
    text = bounded.read_text(p, "waiver file", MAX_BYTES)
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        where, problem = bounded.yaml_problem(exc)
        raise VhvError(f"{p}{where}: not valid YAML or JSON: {problem}") from None
    except RecursionError:
        raise VhvError(f"{p}: nested too deeply") from None
    bounded.check(data, str(p))  # aliases that expand to billions: refused before the schema walks them
    if not isinstance(data, dict):
        kind = "an empty file" if data is None else f"a {type(data).__name__}"
        raise VhvError(f"{p}: expected a mapping with a `waivers:` list (see `vhv schema waivers`), got {kind}")
    return from_data(data, str(p), pack, _item_lines(text))


def from_params(prm: Any, pack: Any) -> list[Waiver]:
    """The `waivers:` key of the params file (the same shape as a waiver file's)."""
    if "waivers" not in prm.extra:
        return []
    text = bounded.reread_text(prm.source)
    lines = _item_lines(text) if text is not None else []
    return from_data({"waivers": prm.extra["waivers"]}, prm.source, pack, lines)


def combine(*groups: Sequence[Waiver]) -> list[Waiver]:
    """Waivers from several sources; the same rule and resource twice is an error (which one holds?)."""
    seen: dict[tuple[str, str], Waiver] = {}
    out = []
    for w in (w for g in groups for w in g):
        first = seen.setdefault((w.rule, w.resource), w)
        if first is not w:
            raise VhvError(
                f"{_loc(w.source, w.line)}{_label(w.pointer, w.rule)}: waives {w.rule} on "
                f"{w.resource} again (first at {first.where}); keep one"
            )
        out.append(w)
    return out


def from_data(data: dict[str, Any], source: str, pack: Any, lines: Sequence[int] = ()) -> list[Waiver]:
    data = copy.deepcopy(data)
    if "waivers" in data and data["waivers"] is None:
        data["waivers"] = []  # `waivers:` with nothing under it: no waivers
    items = data.get("waivers")
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("expires"), dt.date):
                # YAML reads an unquoted 2027-01-31 as a date; a date with a time stays wrong
                e = item["expires"]
                item["expires"] = e.isoformat() if not isinstance(e, dt.datetime) else str(e)
    errors = sorted(jsonschema.Draft202012Validator(schema()).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = errors[0]
        path = list(err.absolute_path)
        index = path[1] if len(path) >= 2 and path[0] == "waivers" and isinstance(path[1], int) else None
        line = lines[index] if index is not None and index < len(lines) else None
        raise VhvError(f"{_loc(source, line)}{_message(err, data)}")
    known = {r.id for r in pack.rules}
    out: list[Waiver] = []
    for i, item in enumerate(data["waivers"]):
        line = lines[i] if i < len(lines) else None
        label = _label(f"/waivers/{i}", item["rule"])
        for key in ("justification", "owner"):
            if key in item and _says_nothing(item[key]):  # the schema's \S lets U+200B through
                raise VhvError(f"{_loc(source, line)}{label}.{key}: {_empty(key)}")
        if item["rule"] not in known:
            near = difflib.get_close_matches(item["rule"], sorted(known), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise VhvError(
                f"{_loc(source, line)}{label}.rule: unknown rule id {item['rule']!r}{hint} (`vhv rules` lists them)"
            )
        try:
            expires = dt.date.fromisoformat(item["expires"])
        except ValueError as exc:
            raise VhvError(f"{_loc(source, line)}{label}.expires: {item['expires']!r} is not a date ({exc})") from None
        owner = item.get("owner")
        out.append(
            Waiver(
                rule=item["rule"],
                resource=item["resource"].strip(),
                justification=" ".join(item["justification"].split()),
                expires=expires,
                owner=owner.strip() if owner else None,
                source=source,
                pointer=f"/waivers/{i}",
                line=line,
            )
        )
    return combine(out)


def _loc(source: str, line: int | None) -> str:
    return f"{source}:{line}: " if line else f"{source}: "


def _label(pointer: str, rule: Any) -> str:
    """/waivers/3 -> waivers[3] (rule-id)"""
    index = pointer.rsplit("/", 1)[-1]
    return f"waivers[{index}]" + (f" ({rule})" if isinstance(rule, str) and rule else "")


def _message(err: jsonschema.ValidationError, doc: Any) -> str:
    path = list(err.absolute_path)
    if len(path) >= 2 and path[0] == "waivers" and isinstance(path[1], int):
        item = doc["waivers"][path[1]]
        where = _label(f"/waivers/{path[1]}", item.get("rule") if isinstance(item, dict) else None)
        where += "".join(f".{p}" if not isinstance(p, int) else f"[{p}]" for p in path[2:])
    else:
        where = ".".join(map(str, path)) or "top level"
    key = path[-1] if path else None
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(str(k) for k in err.instance if k not in allowed and not str(k).startswith("x-"))
        return f"{where}: unknown key {', '.join(map(repr, extra))} (allowed: {', '.join(sorted(allowed))})"
    if err.validator == "required":
        missing = err.message.replace(" is a required property", "")
        why = {
            "'justification'": " (say why this failure is accepted)",
            "'expires'": " (a date YYYY-MM-DD: every waiver ends)",
        }.get(missing, "")
        return f"{where}: {missing} is missing (a required key){why}"
    if err.validator == "pattern" and key == "expires":
        return f"{where}: {err.instance!r} is not a date as YYYY-MM-DD"
    if err.validator == "pattern" and key in ("justification", "owner"):
        return f"{where}: {_empty(key)}"
    if err.validator == "pattern" and key == "rule":
        return f"{where}: {err.instance!r} is not a rule id (`vhv rules` lists them)"
    if err.validator == "minLength":
        return f"{where}: must not be empty"
    return f"{where}: {err.message[:300]}"


def _empty(key: str) -> str:
    return "must not be empty" + (" (say why this failure is accepted)" if key == "justification" else "")


def _says_nothing(text: str) -> bool:
    """Nothing a reader would see: not one letter, digit, punctuation mark or symbol, only
    whitespace, controls, invisible format characters (zero-width spaces and joiners, bidi
    marks, the BOM), marks with nothing to sit on (variation selectors, the combining
    grapheme joiner), private-use and unassigned code points, and letters that draw nothing."""
    return not any(unicodedata.category(c)[0] in "LNPS" and c not in _BLANK_LETTERS for c in text)


# letters that draw nothing (Hangul fillers, the braille blank): Unicode calls them letters or symbols
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _item_lines(text: str) -> list[int]:
    """The line of each entry of the top-level `waivers:` list (best effort; [] when unknown)."""
    try:
        node = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return []
    if not isinstance(node, yaml.MappingNode):
        return []
    for k, v in node.value:
        if isinstance(k, yaml.ScalarNode) and k.value == "waivers" and isinstance(v, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in v.value]
    return []


# ------------------------------------------------------------------ applying


def apply(findings: Sequence[Finding], waivers: Sequence[Waiver], today: dt.date | None = None) -> list[Finding]:
    """`findings` with each in-force waiver applied, plus a `warn` finding for each waiver that has
    expired or matches no fail/warn finding."""
    today = today or dt.date.today()
    out = list(findings)
    notes: list[Finding] = []
    for w in waivers:
        hits = [i for i, f in enumerate(out) if w.covers(f)]
        if not w.in_force(today):
            notes.append(_expired(w, [out[i] for i in hits], today))
            continue
        todo = [i for i in hits if out[i].status in WAIVABLE and out[i].waived is None]
        if not todo:
            notes.append(_unmatched(w, [out[i] for i in hits], [f for f in out if f.rule_id == w.rule]))
            continue
        for i in todo:
            f = out[i]
            by = f" by {w.owner}" if w.owner else ""
            out[i] = replace(
                f,
                status=SKIP,
                message=f"waived until {w.expires.isoformat()}{by}: {w.justification} (was: {f.message})",
                waived={
                    "status": f.status,
                    "justification": w.justification,
                    "expires": w.expires.isoformat(),
                    "owner": w.owner,
                    "source": w.source,
                    "line": w.line,
                },
            )
    return out + notes


def _note(w: Waiver, rule_id: str, title: str, message: str, expected: str, actual: str, fix: str) -> Finding:
    return Finding(
        rule_id=rule_id,
        title=title,
        severity="low",
        status=WARN,
        resource_type="Waiver",
        resource_id=None,
        resource_name=f"waiver: {w.rule} on {w.resource}",
        message=message,
        expected=expected,
        actual=actual,
        fixable=False,
        fix=fix,
        file=w.source,
        line=w.line,
        pointer=w.pointer,
    )


def _expired(w: Waiver, hits: list[Finding], today: dt.date) -> Finding:
    open_ = [f for f in hits if f.status in WAIVABLE]
    if open_:
        n = {s: sum(f.status == s for f in open_) for s in WAIVABLE}
        what = f"; what it covered is reported as it is ({', '.join(f'{c} {s}' for s, c in n.items() if c)})"
    else:
        what = "; it matches no fail or warn finding any more, so it can be removed"
    return _note(
        w,
        EXPIRED,
        "A waiver has expired",
        f"the waiver for {w.rule} on {w.resource} ({w.where}) expired on {w.expires.isoformat()} and is ignored{what}",
        expected=f"an expiry date after today ({today.isoformat()})",
        actual=f"expires: {w.expires.isoformat()}",
        fix="fix what the rule reports, or renew the waiver with a new `expires` and a fresh justification",
    )


def _unmatched(w: Waiver, hits: list[Finding], of_rule: list[Finding]) -> Finding:
    if not of_rule:
        why = f"{w.rule} reported nothing in this check"
    elif not hits:
        names = sorted(
            {
                f.resource_name + (f" ({f.resource_id})" if f.resource_id and f.resource_id != f.resource_name else "")
                for f in of_rule
            }
        )
        why = f"{w.rule} has no finding on {w.resource!r}; its findings are on: {', '.join(names)}"
    else:
        statuses = {f.status for f in hits}
        parts = []
        if ERROR in statuses:
            parts.append("could not be decided (error), and a waiver never covers an undecided rule")
        if PASS in statuses:
            parts.append("passes")
        if SKIP in statuses:
            already = sorted(
                {
                    f"{f.waived['source']}:{f.waived['line']}" if f.waived["line"] else f.waived["source"]
                    for f in hits
                    if f.waived
                }
            )
            parts.append(f"is already waived ({', '.join(already)})" if already else "does not apply (skip)")
        why = f"{w.rule} on {w.resource} " + " and ".join(parts)
    return _note(
        w,
        UNMATCHED,
        "A waiver matches no failing finding",
        f"the waiver for {w.rule} on {w.resource} ({w.where}) matches no fail or warn finding: {why}",
        expected=f"a fail or warn finding of {w.rule} on {w.resource}",
        actual=why,
        fix="remove the waiver if what it accepted is gone; otherwise correct its rule or resource",
    )
