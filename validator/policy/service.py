"""Whether an AWS service trusted by a role (a principal of type Service: EC2, which assumes the
worker role when an instance starts with the role's instance profile, and again as it renews the
instance's credentials) can meet the conditions of a trust statement that trusts it: what its
sts:AssumeRole request carries, key by key, and each condition judged on it.

The service calls STS itself, for an instance of the role's account: its request carries no MFA,
no source address, VPC or VPC endpoint, no principal tag (a service is no IAM principal) and no
external id; aws:PrincipalServiceName is the service and aws:PrincipalIsAWSService true; the time
is the current time; aws:SourceAccount is the instance's account (the one checked) and aws:SourceArn
an instance of that account: a condition naming another account is not met, one naming an instance
vhv cannot know is a warning. Any other key is a warning naming it, never a silent pass."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from validator.policy import assumer as A
from validator.policy import condition as C
from validator.policy.glob import compile_glob

_VPC_KEYS = ("aws:sourcevpc", "aws:sourcevpce", "aws:vpcsourceip", "aws:sourceip")
_MFA_KEYS = ("aws:multifactorauthpresent", "aws:multifactorauthage")
_ABSENT = (*_MFA_KEYS, *_VPC_KEYS, "sts:externalid")
# two instances of the account: a condition that holds for one and not the other names an instance
_INSTANCES = ("i-0123456789abcdef0", "i-0fedcba9876543210")


@dataclass(frozen=True)
class Where:
    """The account the role is in, where the service starts the instances that assume it."""

    partition: str
    region: str
    account: str

    def instance(self, instance_id: str) -> str:
        return f"arn:{self.partition}:ec2:{self.region}:{self.account}:instance/{instance_id}"


def _reasons(service: str, where: Where, key: str, now: str) -> str:
    low = key.lower()
    if low in _MFA_KEYS:
        return f"{service} assumes the role for the instance: its request never carries MFA"
    if low in _VPC_KEYS:
        return f"{service} calls STS itself, not from an address, VPC or VPC endpoint: its request carries no {key}"
    if low.startswith("aws:principaltag/"):
        return f"{service} is a service, no IAM principal: its request carries no principal tag"
    if low == "sts:externalid":
        return f"{service} sends no external id"
    if low in ("aws:currenttime", "aws:epochtime"):
        return f"the statement does not apply now ({now}), as the date is past or not yet come"
    if low == "aws:principalservicename":
        return f"the request names the service {service}"
    if low == "aws:principalisawsservice":
        return f"{service} is an AWS service (aws:PrincipalIsAWSService is true)"
    if low in ("aws:sourceaccount", "aws:sourcearn"):
        return f"{service} assumes the role for an instance of account {where.account}, not of another account"
    return f"the request of {service} does not meet it"


def contexts(key: str, service: str, where: Where, at: datetime) -> list | None:
    """The values `key` may have in the service's request (None: absent); None when vhv cannot know."""
    low = key.lower()
    if low in _ABSENT or low.startswith("aws:principaltag/"):
        return [None]
    if low in ("aws:currenttime", "aws:epochtime"):
        return A.time_values(low, at)
    if low == "aws:principalservicename":
        return [service]
    if low == "aws:principalisawsservice":
        return ["true"]
    if low == "aws:sourceaccount":
        return [where.account] if where.account else None
    return None


def _names_account(values: Iterable[str], account: str) -> bool:
    """Whether a value (an ARN, perhaps a pattern) may name a resource of `account`."""
    for v in values:
        parts = v.split(":")
        if len(parts) < 6 or compile_glob(parts[4], False).match(account):
            return True
    return False


def met(cond: A.Cond, service: str, where: Where, at: datetime) -> set[bool] | None:
    """Whether the condition holds in each request the service may make; None when vhv cannot tell."""
    op, key, values = cond
    parsed = C.parse(op)
    if parsed is None:
        return None
    if key.lower() == "aws:sourcearn":
        if not where.account:
            return None
        found = {C.holds(parsed, values, where.instance(i)) for i in _INSTANCES}
        if None in found:
            return None
        if found == {True}:
            return found
        # no instance of the account meets it when no value names the account; else it names one
        # instance (or several) that vhv cannot know
        if found == {False} and not parsed.negated and not _names_account(values, where.account):
            return found
        return None
    ctx = contexts(key, service, where, at)
    if ctx is None:
        return None
    found = {C.holds(parsed, values, v) for v in ctx}
    return None if None in found else found


def judge_allow(conds: Iterable[A.Cond], service: str, where: Where, at: datetime | None = None) -> list[A.Verdict]:
    """What stands between the service and an Allow statement that trusts it: a condition it cannot
    meet (FAIL, with the reason), a condition vhv cannot judge (WARN, naming its key)."""
    at = at or A.now()
    out = []
    for cond in conds:
        op, key, _values = cond
        found = met(cond, service, where, at)
        if found is None:
            why = "an operator IAM does not have" if C.parse(op) is None else f"a key vhv cannot judge for {service}"
            out.append(A.Verdict(A.WARN, f"{op} {key} is {why}: make sure the request of {service} meets it"))
        elif False in found:
            reason = _reasons(service, where, key, at.strftime("%Y-%m-%d %H:%M UTC"))
            out.append(A.Verdict(A.FAIL, f"{A.written(cond)}: {reason}"))
        elif key.lower() in ("aws:currenttime", "aws:epochtime") and False in (
            met(cond, service, where, datetime.fromisoformat(A.FAR_FUTURE)) or {False}
        ):
            out.append(
                A.Verdict(A.WARN, f"{A.written(cond)}: the statement stops applying then, and {service} with it")
            )
    return out


def deny_may_apply(conds: Iterable[A.Cond], service: str, where: Where, at: datetime | None = None) -> bool:
    """A Deny's conditions are ANDed: it spares the service only when one of them never holds for it."""
    at = at or A.now()
    for cond in conds:
        found = met(cond, service, where, at)
        if found is not None and True not in found:
            return False
    return True
