"""IAM condition operators, evaluated for one request's value of a key as IAM documents them:
a key absent from the request matches nothing, so a positive operator is false and a negated
one (StringNotEquals, ArnNotLike, NotIpAddress, ...) true, unless the operator ends in IfExists
(then true) or is qualified ForAllValues (true on no values) or ForAnyValue (false); Null asks
whether the key is absent. The values written for one key are ORed (a negated operator: the
request's value must match none of them)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from validator.policy.glob import compile_glob

# ranges no caller on the internet comes from: RFC 1918, shared address space (RFC 6598),
# loopback, link-local, and their IPv6 counterparts
PRIVATE = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)
_WHOLE = {4: ipaddress.ip_network("0.0.0.0/0"), 6: ipaddress.ip_network("::/0")}


class PublicAddress(str):
    """A request's source address (aws:SourceIp) known only as some public address of one IP
    version (a caller on the internet): a condition on it holds when it holds for every public
    address of that version, fails when it holds for none, and cannot be said otherwise."""

    version: int

    def __new__(cls, version: int) -> PublicAddress:
        made = super().__new__(cls, f"any public IPv{version} address")
        made.version = version
        return made


def public_share(values: Sequence[str], version: int) -> bool | None:
    """Whether the address ranges `values` hold every public address of IP `version` (True), none
    of them (False: only private ranges or the other version), or some (None); None too when a
    value is no address range."""
    try:
        nets = [ipaddress.ip_network(v.strip(), strict=False) for v in values]
    except ValueError:
        return None
    mine = [n for n in nets if n.version == version]
    private = [p for p in PRIVATE if p.version == version]
    if all(any(n.subnet_of(p) for p in private) for n in mine):  # type: ignore[arg-type]
        return False
    if list(ipaddress.collapse_addresses([*mine, *private])) == [_WHOLE[version]]:  # type: ignore[list-item]
        return True
    return None


_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "numericnotequals": "numericequals",
    "datenotequals": "dateequals",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "notipaddress": "ipaddress",
}
_POSITIVE = frozenset(
    {
        "stringequals",
        "stringequalsignorecase",
        "stringlike",
        "arnequals",
        "arnlike",
        "bool",
        "binaryequals",
        "ipaddress",
        *(
            f"{kind}{cmp}"
            for kind in ("numeric", "date")
            for cmp in ("equals", "lessthan", "lessthanequals", "greaterthan", "greaterthanequals")
        ),
    }
)
STRING_MATCHING = frozenset({"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"})


@dataclass(frozen=True)
class Operator:
    written: str
    base: str  # lower case, without its qualifier, IfExists and negation
    negated: bool = False
    if_exists: bool = False
    qualifier: str = ""  # "forallvalues" or "foranyvalue"

    @property
    def null(self) -> bool:
        return self.base == "null"


def parse(op: str) -> Operator | None:
    """The operator as written (`ForAnyValue:StringNotLikeIfExists`), or None when IAM has no such one."""
    low = op.lower()
    qualifier, _, rest = low.rpartition(":")
    if qualifier not in ("", "forallvalues", "foranyvalue"):
        return None
    if_exists = rest.endswith("ifexists") and rest != "ifexists"
    base = rest.removesuffix("ifexists") if if_exists else rest
    if base == "null":
        return None if if_exists or qualifier else Operator(op, "null")
    negated = base in _NEGATED
    base = _NEGATED.get(base, base)
    if base not in _POSITIVE:
        return None
    return Operator(op, base, negated, if_exists, qualifier)


def holds(op: Operator, values: Sequence[str], actual: str | None) -> bool | None:
    """Whether the condition `op` with `values` holds for a request whose value of the key is
    `actual` (None: absent); None when a value cannot be compared (a date that is no date)."""
    if op.null:
        return any((actual is None) == (v.lower() == "true") for v in values)
    if actual is None:
        if op.if_exists or op.qualifier == "forallvalues":
            return True
        return op.negated and op.qualifier != "foranyvalue"
    if isinstance(actual, PublicAddress):
        share = public_share(values, actual.version) if op.base == "ipaddress" else None
        return None if share is None else share != op.negated
    found = [_matches(op.base, v, actual) for v in values]
    if None in found:
        return None
    return not any(found) if op.negated else any(found)


def _matches(base: str, pattern: str, actual: str) -> bool | None:
    if base == "stringequals" or base == "binaryequals":
        return actual == pattern
    if base == "stringequalsignorecase":
        return actual.lower() == pattern.lower()
    if base == "stringlike":
        return compile_glob(pattern, False).match(actual)
    if base in ("arnequals", "arnlike"):
        return arn_matches(pattern, actual)
    if base == "bool":
        return actual.lower() == pattern.lower()
    if base == "ipaddress":
        try:
            return ipaddress.ip_address(actual) in ipaddress.ip_network(pattern, strict=False)
        except ValueError:
            return None
    kind, cmp = ("numeric", base[7:]) if base.startswith("numeric") else ("date", base[4:])
    a, p = (_number(actual), _number(pattern)) if kind == "numeric" else (epoch(actual), epoch(pattern))
    if a is None or p is None:
        return None
    return {
        "equals": a == p,
        "lessthan": a < p,
        "lessthanequals": a <= p,
        "greaterthan": a > p,
        "greaterthanequals": a >= p,
    }[cmp]


def arn_matches(pattern: str, arn: str) -> bool:
    """ArnEquals/ArnLike: each of the six colon-separated fields matched on its own (a wildcard
    does not cross a colon, but the last field keeps its colons)."""
    want, have = pattern.split(":", 5), arn.split(":", 5)
    return len(want) == len(have) == 6 and all(compile_glob(w, False).match(h) for w, h in zip(want, have))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def epoch(text: str) -> float | None:
    """A date as IAM's Date operators take it (ISO 8601, or seconds since 1970) in seconds."""
    number = _number(text)
    if number is not None:
        return number
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
