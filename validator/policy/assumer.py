"""Whether Valohai's assumer (the params' assume_role_arn) can meet the conditions of a trust
statement: what its sts:AssumeRole request carries, key by key, and each condition judged on it.

Valohai calls STS from its own addresses, over HTTPS and the internet (no VPC or VPC endpoint
of the customer's), with a role's credentials (no MFA) and no principal tag; the request's
principal is the assumer and its account. sts:ExternalId is the id agreed with Valohai. A key
vhv cannot know the value of is a warning naming it, never a silent pass."""

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
_REASONS = {
    "aws:multifactorauthpresent": "Valohai's assumer is a service: its requests never carry MFA",
    "aws:multifactorauthage": "Valohai's assumer is a service: its requests never carry MFA",
    **dict.fromkeys(_VPC_KEYS, "Valohai calls STS over the internet, not from a VPC or VPC endpoint of yours"),
    "aws:currenttime": "the statement does not apply now ({now}), as the date is past or not yet come",
    "aws:epochtime": "the statement does not apply now ({now}), as the date is past or not yet come",
    "aws:securetransport": "Valohai calls STS over HTTPS (aws:SecureTransport is true)",
    "aws:principalarn": "it names something other than the assumer {assumer}",
    "aws:principalaccount": "it names another account than the assumer's ({account})",
}
_TAG_REASON = "Valohai sets no principal tag on its request"
_IP_REASON = (
    "Valohai calls STS from its own addresses, which this account does not choose: a condition on the caller's "
    "address may lock Valohai out"
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
    if low == "aws:currenttime":
        return [at.strftime("%Y-%m-%dT%H:%M:%SZ")]
    if low == "aws:epochtime":
        return [str(int(at.timestamp()))]
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
    return None


def met(cond: Cond, assumer: str, agreed_ids: Sequence[str] = (), at: datetime | None = None) -> set[bool] | None:
    """Whether the condition holds in each request the assumer may make; None when vhv cannot tell."""
    op, key, values = cond
    parsed = C.parse(op)
    ctx = contexts(key, assumer, agreed_ids, at)
    if parsed is None or ctx is None:
        return None
    found = {C.holds(parsed, values, v) for v in ctx}
    return None if None in found else found


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
        if low in ("aws:sourceip",):
            out.append(Verdict(FAIL, f"{written(cond)}: {_IP_REASON}"))
            continue
        found = met(cond, assumer, (), at)
        if found is None:
            why = "an operator IAM does not have" if C.parse(op) is None else "a key vhv cannot judge for Valohai"
            out.append(Verdict(WARN, f"{op} {key} is {why}: make sure Valohai's request meets it"))
        elif False in found:
            reason = _TAG_REASON if low.startswith("aws:principaltag/") else _REASONS.get(low, "")
            reason = reason.format(now=at.strftime("%Y-%m-%d %H:%M UTC"), assumer=assumer, account=_account(assumer))
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


def narrowed_to(conds: Iterable[Cond]) -> list[str] | None:
    """The ARNs an aws:PrincipalArn condition that must match (StringEquals, StringLike, ArnEquals,
    ArnLike; not IfExists, not ForAllValues) narrows a "*" principal to; None when none does."""
    for op, key, values in conds:
        parsed = C.parse(op)
        if key.lower() != "aws:principalarn" or parsed is None:
            continue
        if parsed.negated or parsed.if_exists or parsed.qualifier == "forallvalues":
            continue
        if parsed.base in C.STRING_MATCHING:
            return list(values)
    return None


def only(arns: Sequence[str], assumer: str) -> bool:
    """Whether the narrowing ARNs name the assumer and nothing else (no wildcard)."""
    return bool(arns) and all(a == assumer for a in arns)


def reaches(arns: Sequence[str], assumer: str) -> bool:
    """Whether one of the narrowing ARNs (a pattern, perhaps) matches the assumer."""
    return any(a == assumer or C.arn_matches(a, assumer) for a in arns)


def _account(assumer: str) -> str:
    m = _ARN.match(assumer)
    return m.group(3) if m else assumer


def _far() -> datetime:
    return datetime.fromisoformat(FAR_FUTURE)
