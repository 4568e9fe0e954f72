"""Lint checks of resource policies (an S3 bucket policy): an Allow to everyone that no
condition narrows to an account, an organisation, a network or a source."""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from validator.policy.lintmodel import Issue, Stmt, clip, shown

# Condition keys that say who the caller is or where the request comes from, by the kind of
# value they hold (lower case: condition keys are case-insensitive).
_ID_KEYS = frozenset(
    {
        "aws:principalaccount",
        "aws:principalorgid",
        "aws:principalorgpaths",  # o-ORG/r-ROOT/ou-.../: the organisation first
        "aws:userid",  # AROAID:* for a role's sessions: the unique id first
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceaccount",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:sourceowner",
        "s3:dataaccesspointaccount",
    }
)
_ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn", "s3:dataaccesspointarn"})
_IP_KEYS = frozenset({"aws:sourceip", "aws:vpcsourceip"})
NARROWING_KEYS = _ID_KEYS | _ARN_KEYS | _IP_KEYS

_EQUALS = frozenset({"stringequals", "stringequalsignorecase"})  # a "*" in the value is literal
_LIKE = frozenset({"stringlike", "arnlike", "arnequals"})  # a "*" or "?" in the value is a wildcard
_OPERATORS = {
    **dict.fromkeys(_ID_KEYS, _EQUALS | {"stringlike"}),
    **dict.fromkeys(_ARN_KEYS, _EQUALS | _LIKE),
    **dict.fromkeys(_IP_KEYS, frozenset({"ipaddress"})),
}
_HEAD = re.compile(r"[^/:]*")  # an id up to its first / or : (an org path's organisation)
_WILD = re.compile(r"[*?]")
_LISTED = 3  # actions and resources named in the message


def public(st: Stmt) -> list[Issue]:
    """lint-public-principal: an Allow whose Principal is "*", {"AWS": "*"} or a list holding
    "*", unless a condition pins the caller (`narrowing`)."""
    if not st.allow:
        return []
    spot = _everyone(st)
    if spot is None or narrowing(st):
        return []
    ptr, what = spot
    acts = [a for a, _ in st.strings("Action")]
    but = [a for a, _ in st.strings("NotAction")]
    does = _listed(acts) if acts else f"every action but {_listed(but)}" if but else "its actions"
    on = [r for r, _ in st.strings("Resource")]
    where = f" on {_listed(on)}" if on else ""
    keys = [f"{op} {key}" for op, key, _, _ in st.conditions()]
    named = ", ".join(keys[:_LISTED]) + (f" and {len(keys) - _LISTED:,} more" if len(keys) > _LISTED else "")
    why = (
        f"its Condition ({clip(named, 500)}) does not narrow who may call (a condition on the "
        "caller's account, organisation, VPC, VPC endpoint, source IP or source ARN does, with a value that "
        "is not a wildcard)"
        if keys
        else "no Condition narrows who may call"
    )
    return [
        Issue(
            "lint-public-principal",
            ptr,
            f"{what} allows anyone (every AWS account, and anonymous callers on the internet) {does}{where}; {why}",
            '"Principal": {"AWS": "arn:aws:iam::ACCOUNT:user/NAME"} (for Valohai: the data store\'s user or role), '
            'or a condition that pins the caller, e.g. "Condition": {"StringEquals": {"aws:PrincipalAccount": '
            '"ACCOUNT"}}',
            "*",
        )
    ]


def _everyone(st: Stmt) -> tuple[str, str] | None:
    """(pointer, words) of the statement's "*" principal, if it has one."""
    p = st.raw.get("Principal")
    if p == "*":
        return st.at("Principal"), '"Principal": "*"'
    aws = p.get("AWS") if isinstance(p, dict) else None
    if aws == "*":
        return st.at("Principal", "AWS"), '"Principal": {"AWS": "*"}'
    if isinstance(aws, list) and "*" in aws:
        return st.at("Principal", "AWS", aws.index("*")), '"Principal": {"AWS": [..., "*", ...]}'
    return None


def narrowing(st: Stmt, keys: frozenset[str] = NARROWING_KEYS) -> bool:
    """Whether a condition of the statement pins who may call: a key of `keys` with an
    operator that must match (not IfExists, ForAllValues or a negated one, which hold when the
    key is absent or differs) and values that all are no wildcard. Condition blocks are ANDed,
    so one such condition is enough; a key's values are ORed, so every one must narrow."""
    for op, key, values, _ in st.conditions():
        low, base = key.lower(), op.lower()
        if base.endswith("ifexists") or base.startswith("forallvalues:"):
            continue
        base = base.removeprefix("foranyvalue:")
        if low not in keys or base not in _OPERATORS[low]:
            continue
        vals = values if isinstance(values, list) else [values]
        if vals and all(_narrows(low, base, v) for v in vals):
            return True
    return False


def _narrows(key: str, op: str, value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # an account id written as a JSON number
    if not isinstance(value, str) or not value or not _WILD.sub("", value):
        return False  # a bare "*" (or "?*"): the author means anyone, whatever the operator
    if key in _IP_KEYS:
        try:
            return ipaddress.ip_network(value, strict=False).prefixlen > 0
        except ValueError:
            return False
    if op in _EQUALS:
        return True  # StringEquals compares the text: "vpce-*" matches only itself
    if key in _ARN_KEYS:
        return _arn_narrows(value)
    return not _WILD.search(_HEAD.match(value).group())  # "vpce-*" and "o-*/..." match anyone's


def _arn_narrows(arn: str) -> bool:
    """An ARN pattern that names one account (its 5th field), or for an ARN without an account
    (an S3 bucket: bucket names are global) one resource."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return False
    account, rest = parts[4], parts[5]
    if account:
        return not _WILD.search(account)
    head = _HEAD.match(rest).group()
    return bool(head) and not _WILD.search(head)


def _listed(values: list[str]) -> str:
    """The first few values, shown, and how many more there are."""
    named = ", ".join(shown(v, 200) for v in values[:_LISTED])
    return named + (f" and {len(values) - _LISTED:,} more" if len(values) > _LISTED else "")
