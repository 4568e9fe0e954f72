"""Lint checks on the words of a policy: services, actions, condition operators,
keys and values, looked up in the catalogue."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from validator.policy import catalogue, retired
from validator.policy.glob import compile_glob, literal_length
from validator.policy.lintmodel import SHOWN, Issue, Stmt, clip, shown

_ACTION = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?]+\Z")
_HOSTLIKE = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+(/.*)?\Z", re.I)
_MAX_ACTION = 256  # far more than any "service:ActionName" (the longest is under 130 characters)


def actions(st: Stmt, budget: Any = None) -> list[Issue]:
    """Resolve every Action/NotAction pattern; record the expansion on the statement. With a
    `budget` (a policy far past IAM's size limit) only so many wildcards are resolved (each
    costs a pass over its service's actions), and the rest is said to be skipped."""
    out: list[Issue] = []
    for key in ("Action", "NotAction"):
        for pattern, ptr in st.strings(key):
            if pattern == "*":
                continue
            if budget is not None and ("*" in pattern or "?" in pattern) and not budget.wildcard():
                st.unknown_actions = True  # later checks must not judge a partly resolved statement
                out += budget.note(
                    st, "lint-pattern-matches-nothing", ptr, "resolving wildcard actions against the AWS catalogue"
                )
                continue
            issue = _action(pattern, ptr)
            if issue:
                st.unknown_actions = True
                out.append(issue)
            elif key == "Action":
                st.expanded[pattern] = catalogue.expand(pattern)
    return out


def _action(pattern: str, ptr: str) -> Issue | None:
    if not _ACTION.match(pattern):
        fixed = re.sub(r"[\s]+", "", pattern)
        fixed = re.sub(r"^([A-Za-z0-9-]+)[-_./ ]+", r"\1:", fixed) if ":" not in fixed else fixed
        return Issue(
            "lint-action-format",
            ptr,
            f"{shown(pattern)} is not an action (SERVICE:Action)",
            clip(f'"{fixed}"') if _ACTION.match(fixed) else '"service:ActionName", e.g. "ec2:DescribeInstances"',
            clip(pattern),
        )
    service, name = pattern.split(":", 1)
    svc = service.lower()
    if "*" in svc or "?" in svc:
        return (
            None
            if catalogue.expand(pattern)
            else Issue(
                "lint-pattern-matches-nothing",
                ptr,
                f"action pattern {shown(pattern)} matches no AWS action" + _too_long(pattern),
                "a pattern that names existing actions",
                clip(pattern),
            )
        )
    if svc not in catalogue.services():
        if retired.service(svc):
            return _retired(pattern, ptr, f"the service prefix {shown(service)} is retired: AWS no longer lists it")
        near = catalogue.nearest(svc, catalogue.services())
        return Issue(
            "lint-unknown-service",
            ptr,
            f"unknown service prefix {shown(service)} in {shown(pattern)}",
            clip(f'"{near}:{name}"') if near else "a service prefix such as ec2, iam, s3",
            clip(pattern),
        )
    if "*" in name or "?" in name:
        if catalogue.expand(pattern):
            return None
        if _retired_match(svc, name.lower()):
            return _retired(pattern, ptr, f"{shown(pattern)} matches only actions AWS has retired")
        near = catalogue.nearest(name, _names(svc), cutoff=0.5)
        return Issue(
            "lint-pattern-matches-nothing",
            ptr,
            f"action pattern {shown(pattern)} matches no {svc} action" + _too_long(name, svc),
            "check the spelling" + (f" (closest action: {svc}:{near})" if near else ""),
            clip(pattern),
        )
    if name.lower() not in catalogue.actions(svc):
        if name.lower() in retired.actions(svc):
            return _retired(pattern, ptr, f"{shown(pattern)} is retired: {svc} no longer has the action {shown(name)}")
        near = catalogue.nearest(name, _names(svc))
        return Issue(
            "lint-unknown-action",
            ptr,
            f"unknown action {shown(pattern)}: {svc} has no action {shown(name)}" + _too_long(name, svc),
            f'"{svc}:{near}"' if near else f"an action of {svc} (see the Service Authorization Reference)",
            clip(pattern),
        )
    return None


@lru_cache(maxsize=None)
def _names(svc: str) -> tuple[str, ...]:
    """The service's action names as AWS spells them (one tuple: `nearest` remembers answers)."""
    return tuple(a.name for a in catalogue.actions(svc).values())


def _retired_match(svc: str, name: str) -> bool:
    """Does the (lower-case) wildcard match an action the service retired?"""
    gone = retired.actions(svc)
    if not gone or literal_length(name) > max(map(len, gone)):
        return False
    return bool(compile_glob(name).filter(gone))


def _too_long(name: str, svc: str | None = None) -> str:
    """Why nothing matches, when the name is longer than any action (a 10 MB action): it is
    said, and nothing was compared."""
    if literal_length(name) <= _MAX_ACTION:
        return ""
    count = "" if len(name) > SHOWN else f"{len(name):,} characters: "  # a longer one is shown with its count
    return f" ({count}no {svc + ' ' if svc else ''}action is that long)"


def _retired(pattern: str, ptr: str, what: str) -> Issue:
    return Issue(
        "lint-retired-action",
        ptr,
        f"{what}; it is not in the Service Authorization Reference ({catalogue.version()}), so it grants nothing today",
        "remove it, or use the action that replaced it",
        clip(pattern),
    )


# ------------------------------------------------------------------ conditions


def conditions(st: Stmt) -> list[Issue]:
    out: list[Issue] = []
    cond = st.raw.get("Condition")
    if isinstance(cond, dict):
        for op in cond:
            if not catalogue.known_operator(op):
                near = catalogue.nearest(op, catalogue.OPERATORS, cutoff=0.6)
                out.append(
                    Issue(
                        "lint-unknown-operator",
                        st.at("Condition", op),
                        f"unknown condition operator {shown(op)}",
                        f'"{near}"' if near else "an operator such as StringEquals",
                        clip(op),
                        at_key=True,
                    )
                )
    supported = _supported_keys(st)
    acts: _Acts | None = None
    for op, key, values, ptr in st.conditions():
        hit = catalogue.condition_key(key)
        prefix = key.split(":", 1)[0].lower()
        if hit is None:
            if ":" in key and prefix not in catalogue.services() and _HOSTLIKE.match(prefix):
                continue  # an OIDC/SAML provider's keys (token.actions.githubusercontent.com:sub): open set
            if retired.service(prefix):
                continue  # the key of a retired service: its actions are reported as retired
            near = catalogue.nearest(key, catalogue.key_candidates(key), cutoff=0.7)
            out.append(
                Issue(
                    "lint-unknown-condition-key",
                    ptr,
                    f"unknown condition key {shown(key)}",
                    f'"{near}"' if near else "a global aws: key or a key of the action's service",
                    clip(key),
                    at_key=True,
                )
            )
            continue
        pattern, info = hit
        if (
            supported is not None
            and (info.per_service or (not info.global_ and prefix in catalogue.services()))
            and pattern not in supported
        ):
            acts = acts or _Acts(st)
            out.append(_unsupported(acts, key, pattern, info, ptr))
        if catalogue.known_operator(op):
            out += _operator_type(op, key, info, ptr)
            out += _set_operator(op, key, info, ptr, st)
            out += _values(op, key, values, ptr)
    return out


class _Acts:
    """What `_unsupported` needs of the statement's actions, worked out once for all its
    condition keys (a statement of ec2:* has 700 actions; a policy may have 100,000 keys)."""

    def __init__(self, st: Stmt) -> None:
        self.acts = [a for exp in st.expanded.values() for a in exp]
        self.services = {a.service for a in self.acts} | {catalogue.ARN_ALIASES.get(a.service, "") for a in self.acts}
        self.names = ", ".join(sorted(st.expanded)[:4]) + ("..." if len(st.expanded) > 4 else "")
        self.any_resource = any(a.resource_types for a in self.acts)
        self._trusted: dict[str, bool] = {}

    def reference_trusted(self, prefix: str) -> bool:
        """No tagging action, and no action of a renamed service under its other name `prefix`."""
        if prefix not in self._trusted:
            self._trusted[prefix] = not any(
                a.name.lower() in catalogue.TAGGING_ACTIONS or catalogue.ARN_ALIASES.get(a.service) == prefix
                for a in self.acts
            )
        return self._trusted[prefix]


def _unsupported(acts: _Acts, key: str, pattern: str, info: catalogue.KeyInfo, ptr: str) -> Issue:
    """A key no action of the statement lists. Sure (error) when the key cannot be in those
    requests at all: another service's key, a resource tag on actions that act on no resource,
    or a service key the reference lists for other actions of its service but for none of these.
    Otherwise the reference may just not list it for these actions (tag keys, keys it lists for
    no action at all, tagging actions and the prefixes two services share): a warning."""
    prefix = key.split(":", 1)[0].lower()
    names = acts.names
    resource_tag = info.per_service and "resourcetag/" in key.lower()
    move = f"move {info.name} to a statement with actions that support it, or remove it"
    if (not info.global_ and prefix not in acts.services) or (resource_tag and not acts.any_resource):
        why = (
            f"{shown(key)} is a key of {prefix}, and no action of this statement ({names}) is"
            if not info.global_
            else f"{shown(key)} is the tag of a resource, and no action of this statement ({names}) acts on one"
        )
        return Issue(
            "lint-condition-key-unsupported",
            ptr,
            f"condition key {why}, so the condition never matches",
            move,
            clip(key),
            at_key=True,
        )
    listed = catalogue.key_actions(prefix).get(pattern, ()) if not info.global_ else ()
    if listed and _reference_complete(pattern, acts, prefix):
        named = [f"{prefix}:{n}" for n in listed[:4]]
        which = (", ".join(named[:-1]) + " and " + named[-1] if len(named) > 1 else named[0]) + (
            f" (and {len(listed) - 4} more)" if len(listed) > 4 else ""
        )
        return Issue(
            "lint-condition-key-unsupported",
            ptr,
            f"condition key {shown(key)} is set only for {which}, not "
            f"for any action of this statement ({names}): these requests never carry it, so the condition "
            "does not do what it says (it never matches; with IfExists or Null it always does)",
            f"move {info.name} to a statement of {', '.join(f'{prefix}:{n}' for n in listed[:3])}, or remove it",
            clip(key),
            at_key=True,
        )
    return Issue(
        "lint-condition-key-unlisted",
        ptr,
        f"condition key {shown(key)} is not listed for any action of "
        f"this statement ({names}) in the Service Authorization Reference; if the service does not set it, "
        "the condition never matches",
        f"check that {prefix} sets {info.name} for these actions, or remove it",
        clip(key),
        at_key=True,
    )


def _reference_complete(pattern: str, acts: _Acts, prefix: str) -> bool:
    """Can the reference's word that these actions do not support the key be trusted? Not for
    tag keys (it lists them per action and lags behind), tagging actions, the prefixes two
    services share (one action table for both), or a renamed service's actions under its other name."""
    low = pattern.lower()
    if "tag/" in low or low.endswith(":tagkeys") or prefix in catalogue.MERGED_PREFIXES:
        return False
    return acts.reference_trusted(prefix)


def _supported_keys(st: Stmt) -> set[str] | None:
    """The condition keys (lower case, patterns as in the catalogue) the statement's actions
    support; None when that cannot be known (NotAction, "*", unknown actions)."""
    if "Action" not in st.raw or st.unknown_actions or not st.expanded:
        return None
    if any(p == "*" for p, _ in st.strings("Action")):
        return None
    keys: set[str] = set()
    for acts in st.expanded.values():
        for a in acts:
            keys |= a.condition_keys
    return keys


# the operator family (by the start of its name) -> the key types it compares
_FAMILIES = (
    ("String", "String"),
    ("Numeric", "Numeric"),
    ("Date", "Date"),
    ("Bool", "Bool"),
    ("Arn", "ARN"),
    ("Binary", "Binary"),
    ("IpAddress", "IPAddress"),
    ("NotIpAddress", "IPAddress"),
)
# key type -> the operator families that compare it as what it is (String keys: not checked)
_ACCEPTS = {
    "IPAddress": {"IPAddress"},
    "Date": {"Date"},
    "Bool": {"Bool"},
    "Numeric": {"Numeric"},
    "ARN": {"ARN", "String"},
}
_TYPE_WORDS = {
    "IPAddress": (
        "an IP address",
        "a range (CIDR) is matched only by IpAddress/NotIpAddress; compared "
        'as text, "203.0.113.0/24" never equals the request\'s address',
    ),
    "Date": (
        "a date",
        "dates are compared as dates only by the Date operators; as text only the very "
        "same spelling matches, and there is no before or after",
    ),
    "Bool": ("a Boolean", "only Bool reads true/false as a Boolean (as text, case and spelling count)"),
    "Numeric": (
        "a number",
        "numbers are compared as numbers only by the Numeric operators (as text "
        '"3600" and "3600.0" differ, and there is no less or greater than)',
    ),
    "ARN": ("an ARN", "ARN keys take the Arn operators (or the String ones)"),
}
_AS = {
    "String": "text",
    "Numeric": "a number",
    "Date": "a date",
    "Bool": "a Boolean",
    "ARN": "an ARN",
    "Binary": "binary data",
    "IPAddress": "an IP address",
}
_FIRST = {
    "IPAddress": ("IpAddress", "NotIpAddress"),
    "Date": ("DateEquals", "DateNotEquals"),
    "Bool": ("Bool", "Bool"),
    "Numeric": ("NumericEquals", "NumericNotEquals"),
    "ARN": ("ArnLike", "ArnNotLike"),
}


def _operator_type(op: str, key: str, info: catalogue.KeyInfo, ptr: str) -> list[Issue]:
    """An operator that compares the key as another type than the key's (StringEquals on
    aws:SourceIp). Null tests presence only, and is right for every key."""
    prefix, _, base = op.rpartition(":")
    plain = base.removesuffix("IfExists")
    if plain == "Null":
        return []
    family = next((t for start, t in _FAMILIES if plain.startswith(start)), None)
    types = catalogue.key_types(info)
    accepts = set().union(*(_ACCEPTS.get(t, {t}) for t in types))
    if family is None or family in accepts or not any(t in _ACCEPTS for t in types):
        return []
    ktype = next(t for t in sorted(types) if t in _ACCEPTS)
    what, why = _TYPE_WORDS[ktype]
    negative = "Not" in plain
    want = _FIRST[ktype][1 if negative else 0] + ("IfExists" if base.endswith("IfExists") else "")
    if prefix:
        want = f"{prefix}:{want}"
    return [
        Issue(
            "lint-operator-type-mismatch",
            ptr,
            f"{op} compares {shown(key)} as {_AS[family]}, but {info.name} is {what}: {why}",
            f'"{want}": {{"{key}": ...}}',
            op,
            at_key=True,
        )
    ]


def _set_operator(op: str, key: str, info: catalogue.KeyInfo, ptr: str, st: Stmt) -> list[Issue]:
    prefix, _, base = op.partition(":")
    if not base or prefix not in catalogue.SET_PREFIXES or info.multivalued:
        return []
    if prefix == "ForAllValues":
        # ForAllValues holds when the key is absent, as IfExists does: the plain operator would also
        # refuse requests without the key (a create action carries no aws:ResourceTag)
        instead = base if base.endswith("IfExists") else f"{base}IfExists"
        why = (
            "is true when the key is absent, so it also matches every request without it; the single-valued "
            f"operator that means the same is {instead} (plain {base.removesuffix('IfExists')} would also refuse "
            "requests without the key, such as actions that create the resource)"
        )
    else:
        instead = base
        why = "on a single-valued key is the plain operator, written confusingly"
    return [
        Issue(
            "lint-forallvalues-single-valued",
            st.at("Condition", op),
            f"{op} with the single-valued key {shown(key)}: {prefix} {why}",
            f'"{instead}": {{"{key}": ...}}',
            op,
            at_key=True,
        )
    ]


_BOOL = {"true", "false"}


def _values(op: str, key: str, values: Any, ptr: str) -> list[Issue]:
    base = op.split(":", 1)[-1].removesuffix("IfExists")
    kind = next((k for k in ("Bool", "Null", "Numeric", "Date") if base.startswith(k)), None)
    if base in ("IpAddress", "NotIpAddress"):
        kind = "IpAddress"
    check = _VALUE_CHECKS.get(kind or "")
    if check is None:
        return []
    vals = values if isinstance(values, list) else [values]
    out = []
    for i, v in enumerate(vals):
        if isinstance(v, (dict, list)) or v is None:
            continue
        if not check[0](v):
            at = f"{ptr}/{i}" if isinstance(values, list) else ptr
            out.append(
                Issue("lint-condition-value", at, f"{op} {shown(key)}: {shown(v)} is not {check[1]}", check[2], str(v))
            )
    return out


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool) or str(v).lower() in _BOOL


def _is_number(v: Any) -> bool:
    try:
        float(str(v))
        return not isinstance(v, bool)
    except ValueError:
        return False


def _is_date(v: Any) -> bool:
    s = str(v)
    if s.isdigit():
        return True
    try:
        datetime.fromisoformat(s.replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


def _is_ip(v: Any) -> bool:
    try:
        ipaddress.ip_network(str(v), strict=False)
        return True
    except ValueError:
        return False


_VALUE_CHECKS = {
    "Bool": (_is_bool, "true or false", '"true" or "false"'),
    "Null": (_is_bool, "true or false", '"true" (the key is absent) or "false" (it is present)'),
    "Numeric": (_is_number, "a number", 'a number such as "3600"'),
    "Date": (_is_date, "a date", 'an ISO 8601 date such as "2026-01-01T00:00:00Z" or epoch seconds'),
    "IpAddress": (_is_ip, "an IP address or CIDR", 'a CIDR such as "203.0.113.0/24"'),
}
