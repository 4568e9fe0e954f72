"""Does a statement's Condition hold for one request? IAM's documented evaluation of condition
operators, against a request context that says, per key, what the request carries.

A context maps a lower-case key to the frozenset of values the request carries, or to ABSENT
when the request certainly carries no such key (a role session has no MFA). A key the context
does not hold is unknown: a condition on it is undecidable (None), never assumed to hold.

Rules followed (IAM User Guide, "Condition operators" and "multivalued context keys"): operators
AND together, keys of one operator AND together, values of one key OR together (a negated
operator: NOR); a key absent from the request makes a condition false, a negated one true;
`...IfExists` is true when the key is absent; `Null: true` holds when it is absent;
`ForAllValues:` holds when the key is absent or every request value matches; `ForAnyValue:`
needs one request value that matches.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import ipaddress
import re
from collections.abc import Callable, Mapping

from validator.policy.document import Condition

ABSENT = None
Context = Mapping[str, "frozenset[str] | None"]
VARIABLE = re.compile(r"\$\{")

_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "notipaddress": "ipaddress",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
}


def _glob(pattern: str, value: str, fold: bool = False) -> bool:
    if fold:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


def _number(text: str) -> float:
    return float(text)


def _date(text: str) -> float:
    """Seconds since the epoch of an ISO 8601 date-time or of epoch seconds."""
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text)
    when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _ip(value: str, cidr: str) -> bool:
    return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)


def _compare(parse: Callable[[str], float], test: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    return lambda value, wanted: test(parse(value), parse(wanted))


MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda v, w: v == w,
    "stringequalsignorecase": lambda v, w: v.lower() == w.lower(),
    "stringlike": _glob,
    "arnequals": _glob,
    "arnlike": _glob,
    "bool": lambda v, w: v.lower() == w.lower(),
    "ipaddress": _ip,
    "numericequals": _compare(_number, lambda a, b: a == b),
    "numericlessthan": _compare(_number, lambda a, b: a < b),
    "numericlessthanequals": _compare(_number, lambda a, b: a <= b),
    "numericgreaterthan": _compare(_number, lambda a, b: a > b),
    "numericgreaterthanequals": _compare(_number, lambda a, b: a >= b),
    "dateequals": _compare(_date, lambda a, b: a == b),
    "datelessthan": _compare(_date, lambda a, b: a < b),
    "datelessthanequals": _compare(_date, lambda a, b: a <= b),
    "dategreaterthan": _compare(_date, lambda a, b: a > b),
    "dategreaterthanequals": _compare(_date, lambda a, b: a >= b),
}


def _parts(op: str) -> tuple[str, str, bool, bool]:
    """(set qualifier or "", base operator, negated, IfExists) of a lower-case operator."""
    qualifier = ""
    for q in ("forallvalues:", "foranyvalue:"):
        if op.startswith(q):
            qualifier, op = q[:-1], op[len(q) :]
    if_exists = op.endswith("ifexists") and op != "ifexists"
    if if_exists:
        op = op[: -len("ifexists")]
    base = _NEGATED.get(op, op)
    return qualifier, base, base != op, if_exists


def one(op: str, key: str, wanted: frozenset[str], context: Context) -> bool | None:
    """Whether one (operator, key, values) of a condition holds; None when it cannot be said."""
    if key not in context or any(VARIABLE.search(w) for w in wanted):
        return None
    have = context[key]
    qualifier, base, negated, if_exists = _parts(op)
    if base == "null":
        want_absent = {w.lower() for w in wanted}
        if want_absent not in ({"true"}, {"false"}):
            return None
        return (have is ABSENT) == (want_absent == {"true"})
    match = MATCHERS.get(base)
    if match is None:
        return None
    if have is ABSENT:
        if if_exists or qualifier == "forallvalues":
            return True
        return qualifier != "foranyvalue" and negated

    def hits(value: str) -> bool:
        found = any(match(value, w) for w in wanted)
        return not found if negated else found

    try:
        if qualifier == "forallvalues":
            return all(hits(v) for v in have)
        return any(hits(v) for v in have)
    except ValueError:  # a value that is no number, date or address: IAM's answer is not ours to guess
        return None


def holds(condition: Condition, context: Context) -> bool | None:
    """Whether the whole Condition holds: False as soon as one part is false; None when no part is
    false and one cannot be said."""
    unknown = False
    for op, key, wanted in condition:
        got = one(op, key, wanted, context)
        if got is False:
            return False
        unknown |= got is None
    return None if unknown else True


def unknown_keys(condition: Condition, context: Context) -> list[str]:
    """The keys of the condition that cannot be judged against `context`, as written (lower case)."""
    return sorted({key for op, key, wanted in condition if one(op, key, wanted, context) is None})
