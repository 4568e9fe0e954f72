"""Whether Valohai's assumer (the params' assume_role_arn) can meet the conditions of a trust
statement: what its sts:AssumeRole request carries, key by key, and each condition judged on it.

Valohai calls STS from its own addresses, over HTTPS and the internet (no VPC or VPC endpoint
of the customer's), with a role's credentials (no MFA) and no principal tag; the request's
principal is the assumer and its account. sts:ExternalId is the id agreed with Valohai. Valohai
calls STS itself, not through an AWS service: aws:ViaAWSService is false and the keys a service
sets on the calls it makes for you (aws:SourceAccount, aws:SourceArn, aws:SourceOrgID,
aws:SourceOrgPaths) are absent, judged by IAM's rules for an absent key. A role's session calls,
so aws:PrincipalType is AssumedRole. Valohai's addresses are public IPv4 ones that the account does
not choose: a condition on aws:SourceIp is met when every public IPv4 address meets it (0.0.0.0/0,
or ranges that add up to it), never when none does (only private ranges), and is a failure when
only some do. A key vhv cannot know the value of is a warning naming it, never a silent
pass."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from validator.policy import condition as C

FAIL, WARN = "fail", "warn"
FAR_FUTURE = "9999-12-31T00:00:00Z"
_ARN = re.compile(r"arn:([a-z-]+):(iam|sts)::(\d{12}):(.+)\Z")
_VPC_KEYS = ("aws:sourcevpc", "aws:sourcevpce", "aws:vpcsourceip")
# set only when an AWS service calls on the account's behalf; Valohai calls STS itself
_SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths")
_DIRECT = "Valohai calls STS itself, not through an AWS service"
# Valohai's addresses (the guide's, in the catalogue) are IPv4: its request comes from some public
# IPv4 address, which this account does not choose
VALOHAI_SOURCE = C.PublicAddress(4)
_PRINCIPAL_TYPE = {"role": "AssumedRole", "assumed-role": "AssumedRole", "user": "User", "root": "Account"}
_REASONS = {
    "aws:multifactorauthpresent": "Valohai's assumer is a service: its requests never carry MFA",
    "aws:multifactorauthage": "Valohai's assumer is a service: its requests never carry MFA",
    **dict.fromkeys(_VPC_KEYS, "Valohai calls STS over the internet, not from a VPC or VPC endpoint of yours"),
    "aws:currenttime": "the statement does not apply now ({now}), as the date is past or not yet come",
    "aws:epochtime": "the statement does not apply now ({now}), as the date is past or not yet come",
    "aws:tokenissuetime": "Valohai's session credentials are recent (issued by about {now}), never from that date",
    "aws:securetransport": "Valohai calls STS over HTTPS (aws:SecureTransport is true)",
    "aws:principalarn": "it names something other than the assumer {assumer}",
    "aws:principalaccount": "it names another account than the assumer's ({account})",
    "aws:viaawsservice": f"{_DIRECT} (aws:ViaAWSService is false)",
    **{k: f"{_DIRECT}: its request carries no {{key}}" for k in _SOURCE_KEYS},
    "aws:principaltype": "Valohai's principal is {what} (aws:PrincipalType is {ptype})",
}
_WHAT = {"AssumedRole": "a role, so its session calls", "User": "an IAM user", "Account": "an account's root"}
_TAG_REASON = "Valohai sets no principal tag on its request"
_IP_REASON = (
    "Valohai calls STS from its own addresses, which this account does not choose: a condition on the caller's "
    "address may lock Valohai out"
)
_PRIVATE_REASON = "Valohai calls STS from public addresses, never from a private range"
_NONE_REASON = "Valohai calls STS from public IPv4 addresses, and none of them meets it"
_IPV6_REASON = (
    "it is met only by IPv6 addresses, and Valohai's addresses are IPv4: make sure Valohai calls STS over IPv6, or "
    "add 0.0.0.0/0"
)


@dataclass(frozen=True)
class Verdict:
    level: str  # FAIL or WARN
    text: str


Cond = tuple[str, str, Sequence[str]]  # (operator, key, values) as written


def now() -> datetime:
    """The clock the time conditions are judged by (a test may set it)."""
    return datetime.now(UTC)


def written(cond: Cond, listed: int = 5, longest: int = 200) -> str:
    """The condition as written, its values cut short (a condition may list thousands)."""
    op, key, values = cond
    shown = ", ".join(v if len(v) <= longest else f"{v[:longest]}…" for v in values[:listed])
    more = f" and {len(values) - listed:,} more" if len(values) > listed else ""
    return f"{op} {key} {shown}{more}"


def time_values(low: str, at: datetime) -> list[str] | None:
    """aws:CurrentTime or aws:EpochTime (lower case) as a request made at `at` carries it; None for another key."""
    if low == "aws:currenttime":
        return [at.strftime("%Y-%m-%dT%H:%M:%SZ")]
    if low == "aws:epochtime":
        return [str(int(at.timestamp()))]
    return None


def contexts(key: str, assumer: str, agreed_ids: Sequence[str] = (), at: datetime | None = None) -> list | None:
    """The values `key` may have in the assumer's request (None: absent); None when vhv cannot know."""
    low = key.lower()
    m = _ARN.match(assumer)
    at = at or now()
    if low in ("aws:multifactorauthpresent",):
        kind = m.group(4).split("/", 1)[0] if m else ""
        return ["false"] if kind in ("role", "assumed-role") else [None] if kind == "user" else [None, "false"]
    if low in ("aws:multifactorauthage", *_VPC_KEYS) or low.startswith("aws:principaltag/"):
        return [None]
    if low in ("aws:currenttime", "aws:epochtime"):
        return time_values(low, at)
    if low == "aws:tokenissuetime":  # a role session's credentials are hours old at most; a user's key has none
        kind = m.group(4).split("/", 1)[0] if m else ""
        return [at.strftime("%Y-%m-%dT%H:%M:%SZ")] if kind in ("role", "assumed-role") else None
    if low == "aws:securetransport":
        return ["true"]
    if low == "aws:principalaccount":
        account = m.group(3) if m else assumer if re.fullmatch(r"\d{12}", assumer) else None
        return [account] if account else None
    if low == "aws:principalarn":
        # a role's or user's ARN is the request's principal; an account's root stands for any of its principals
        return [assumer] if m and not m.group(4).startswith("root") else None
    if low == "sts:externalid":
        return list(agreed_ids) or [None]
    if low == "aws:viaawsservice":
        return ["false"]
    if low in _SOURCE_KEYS:
        return [None]
    if low == "aws:sourceip":
        return [VALOHAI_SOURCE]
    if low == "aws:principaltype":
        ptype = _PRINCIPAL_TYPE.get(m.group(4).split("/", 1)[0]) if m else None
        return [ptype] if ptype else None
    return None


def _private_only(values: Sequence[str]) -> bool:
    """Whether every value is an address range within the private ones (no public address in it)."""
    return bool(values) and all(C.public_share([v], 4) is False and C.public_share([v], 6) is False for v in values)


def met(cond: Cond, assumer: str, agreed_ids: Sequence[str] = (), at: datetime | None = None) -> set[bool] | None:
    """Whether the condition holds in each request the assumer may make; None when vhv cannot tell."""
    op, key, values = cond
    parsed = C.parse(op)
    ctx = contexts(key, assumer, agreed_ids, at)
    if parsed is None or ctx is None:
        return None
    found = {C.holds(parsed, values, v) for v in ctx}
    return None if None in found else found


def _source_ip(cond: Cond, found: set[bool] | None) -> Verdict | None:
    """What a condition on aws:SourceIp does to Valohai's request: nothing when every public IPv4
    address meets it (0.0.0.0/0, or ranges that add up to it); else why it fails or warns."""
    if found == {True}:
        return None
    op, _key, values = cond
    parsed = C.parse(op)
    if found == {False} and parsed is not None:
        if not parsed.negated and C.holds(parsed, values, C.PublicAddress(6)):
            return Verdict(WARN, f"{written(cond)}: {_IPV6_REASON}")
        reason = _PRIVATE_REASON if not parsed.negated and _private_only(values) else _NONE_REASON
        return Verdict(FAIL, f"{written(cond)}: {reason}")
    return Verdict(FAIL, f"{written(cond)}: {_IP_REASON}")


def judge_allow(conds: Iterable[Cond], assumer: str, at: datetime | None = None) -> list[Verdict]:
    """What stands between the assumer and an Allow statement that trusts it: a condition it
    cannot meet (FAIL, with the reason), a condition vhv cannot judge (WARN, naming it)."""
    at = at or now()
    out = []
    for cond in conds:
        op, key, values = cond
        low = key.lower()
        if low == "sts:externalid":
            continue  # Valohai sends the id agreed with it
        if low == "aws:sourceip":
            verdict = _source_ip(cond, met(cond, assumer, (), at))
            out += [verdict] if verdict else []
            continue
        found = met(cond, assumer, (), at)
        if found is None:
            why = "an operator IAM does not have" if C.parse(op) is None else "a key vhv cannot judge for Valohai"
            out.append(Verdict(WARN, f"{op} {key} is {why}: make sure Valohai's request meets it"))
        elif False in found:
            reason = _TAG_REASON if low.startswith("aws:principaltag/") else _REASONS.get(low, "")
            ptype = (contexts(key, assumer) or [""])[0] if low == "aws:principaltype" else ""
            reason = reason.format(
                now=at.strftime("%Y-%m-%d %H:%M UTC"),
                assumer=assumer,
                account=_account(assumer),
                key=key,
                ptype=ptype,
                what=_WHAT.get(ptype or "", ""),
            )
            out.append(Verdict(FAIL, f"{written(cond)}: " + (reason or "Valohai's request does not meet it")))
        elif low in ("aws:currenttime", "aws:epochtime") and False in (met(cond, assumer, (), _far()) or {False}):
            out.append(Verdict(WARN, f"{written(cond)}: the statement stops applying then, and Valohai with it"))
    return out


def deny_may_apply(conds: Iterable[Cond], assumer: str, agreed_ids: Sequence[str], at: datetime | None = None) -> bool:
    """A Deny's conditions are ANDed: it spares the assumer only when one of them never holds for it."""
    for cond in conds:
        found = met(cond, assumer, agreed_ids, at)
        if found is not None and True not in found:
            return False
    return True


@dataclass(frozen=True)
class Narrowing:
    """A condition that must match (StringEquals, StringEqualsIgnoreCase, StringLike, ArnEquals,
    ArnLike; not negated, not IfExists, not ForAllValues) on a key that pins the caller."""

    op: C.Operator
    values: tuple[str, ...]


def narrowed_to(conds: Iterable[Cond], key: str = "aws:principalarn") -> Narrowing | None:
    """What a condition on `key` (aws:PrincipalArn, aws:PrincipalAccount) narrows a "*" principal
    (or an account's root) to; None when none does."""
    for op, k, values in conds:
        parsed = C.parse(op)
        if k.lower() != key or parsed is None:
            continue
        if parsed.negated or parsed.if_exists or parsed.qualifier == "forallvalues":
            continue
        if parsed.base in C.STRING_MATCHING:
            return Narrowing(parsed, tuple(values))
    return None


def only(narrowing: Narrowing, assumer: str) -> bool:
    """Whether each narrowing value matches the assumer and nothing else: no wildcard where the
    operator takes one, and the assumer's ARN (in any case, for StringEqualsIgnoreCase: IAM's
    names are unique ignoring case)."""
    wild = narrowing.op.base in ("stringlike", "arnequals", "arnlike")
    return bool(narrowing.values) and all(
        not (wild and ("*" in v or "?" in v)) and C.holds(narrowing.op, [v], assumer) for v in narrowing.values
    )


def reaches(narrowing: Narrowing, value: str) -> bool:
    """Whether one of the narrowing values (a pattern, perhaps) matches `value`."""
    return bool(C.holds(narrowing.op, narrowing.values, value))


def account_of(assumer: str) -> str:
    """The assumer's account (an account id stands for itself)."""
    return _account(assumer)


def _account(assumer: str) -> str:
    m = _ARN.match(assumer)
    return m.group(3) if m else assumer


def _far() -> datetime:
    return datetime.fromisoformat(FAR_FUTURE)
