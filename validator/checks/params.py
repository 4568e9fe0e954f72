"""The recorded values themselves (no AWS needed)."""

from __future__ import annotations

from validator import params as P
from validator.checks import STR, STRS, Outcome, bad, evaluator, ok
from validator.checks.context import Context

LABELS = {
    "region": "AWS region",
    "arn": "IAM ARN",
    "cidr": "CIDR",
    "vpc_cidr": "VPC CIDR",
    "admin_cidr": "admin CIDR (/16 or narrower)",
    "choice": "choice",
}


@evaluator("param_valid", key=STR, kind={"enum": sorted(P.VALIDATORS)})
def param_valid(ctx: Context, key: str, kind: str) -> list[Outcome]:
    """The params value `key` is a valid `kind` (region, arn, cidr, choice)."""
    value = ctx.params.get(key)
    src = ctx.params.source
    if value in (None, ""):
        return [ok(f"{key} is not set and not needed here", "", "(not set)", resource_id=key)]
    problem = P.VALIDATORS[kind](str(value))
    if problem:
        return [bad(f"{src}: {key}: {problem}", f"a valid {LABELS[kind]}", value, resource_id=key)]
    return [ok(f"{key} {value} is a valid {LABELS[kind]}", f"a valid {LABELS[kind]}", value, resource_id=key)]


@evaluator("param_in", key=STR, values=STRS, reason=STR)
def param_in(ctx: Context, key: str, values: list[str], reason: str) -> list[Outcome]:
    """An advisory: the params value is one of the guide's recommendations."""
    value = ctx.params.get(key)
    if value in values:
        return [ok(f"{key} {value} is one the guide recommends", values, value, resource_id=key)]
    return [
        bad(
            f"{key} {value} is not one the guide recommends ({', '.join(values)}): {reason}",
            values,
            value,
            resource_id=key,
        )
    ]
