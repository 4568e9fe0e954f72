"""The recorded AssumeRole ARN against the region and the account it is for: Valohai's principal
lives in Valohai's account, in the partition of the region (arn:aws-cn for cn-*, arn:aws-us-gov for
us-gov-*, arn:aws otherwise), and is never the master role itself."""

from __future__ import annotations

from typing import Any

from validator import params as P
from validator.checks import SKIP, Outcome, bad, evaluator, ok
from validator.checks.context import Context
from validator.kinds import KINDS
from validator.snapshot import PARTITION_OF_PREFIX

KEY = "assume_role_arn"


def _arn(ctx: Context) -> tuple[str, Any] | Outcome:
    value = str(ctx.params.get(KEY) or "")
    m = P.ARN_RE.match(value)
    if not m:
        return Outcome(
            SKIP, f"{KEY} is not a valid IAM ARN (its own rule says why): nothing to compare", resource_id=KEY
        )
    return value, m


def region_partition(region: str) -> str:
    return next((p for prefix, p in PARTITION_OF_PREFIX if region.startswith(prefix)), "aws")


@evaluator("assume_role_partition")
def assume_role_partition(ctx: Context) -> list[Outcome]:
    """The AssumeRole ARN is of the region's partition: a principal of another partition cannot
    assume a role in this one (IAM keeps the partitions apart)."""
    got = _arn(ctx)
    if isinstance(got, Outcome):
        return [got]
    value, m = got
    region = str(ctx.params.get("region") or "")
    want, have = region_partition(region), m.group("partition")
    kw = {"resource_id": KEY}
    if have == want:
        return [ok(f"{KEY} is of partition {have}, the partition of {region}", f"arn:{want}:...", value, **kw)]
    return [
        bad(
            f"{ctx.params.source}: {KEY}: {value} is of partition {have}, but {region} is in partition {want}: "
            f"a principal of {have} cannot assume a role in {want}; ask your Valohai contact for the ARN "
            f"(arn:{want}:iam::...) of their principal in {want}",
            f"arn:{want}:iam::...",
            value,
            **kw,
        )
    ]


def _account(ctx: Context) -> str | None:
    """The account being checked: the one read, else the params' account_id."""
    if ctx.snap is not None and ctx.snap.account_id:
        return ctx.snap.account_id
    return str(ctx.params.get("account_id") or "") or None


@evaluator("assume_role_account", same={"enum": ["master-role", "account"]})
def assume_role_account(ctx: Context, same: str) -> list[Outcome]:
    """The AssumeRole ARN is not in the account being checked: with same: master-role, it is not
    the master role itself (a role that trusts itself lets nobody in); with same: account, it is
    no principal of this account at all (Valohai's lives in Valohai's account). Role names are
    compared as IAM does, ignoring case."""
    got = _arn(ctx)
    if isinstance(got, Outcome):
        return [got]
    value, m = got
    account = _account(ctx)
    kw = {"resource_id": KEY}
    if account is None:
        return [
            Outcome(SKIP, "the account being checked is not known here (not read; the params give no account_id)", **kw)
        ]
    master = KINDS["master_role"].name
    src = f"{ctx.params.source}: {KEY}"
    if same == "master-role":
        role = m.group("role")
        # IAM role names are unique case-insensitively: the master role in lower case is the master role
        itself = (
            m.group("account") == account and role is not None and role.rsplit("/", 1)[-1].lower() == master.lower()
        )
        if itself:
            return [
                bad(
                    f"{src}: {value} is {master} itself, in the account being checked ({account}): the role "
                    f"would trust only itself, so Valohai cannot assume it; write the AssumeRole ARN your Valohai "
                    "contact gave you (a principal in Valohai's account)",
                    f"Valohai's principal, not {master}",
                    value,
                    **kw,
                )
            ]
        return [ok(f"{KEY} {value} is not {master} of account {account}", f"not {master}", value, **kw)]
    if m.group("account") == account:
        return [
            bad(
                f"{src}: {value} is a principal of the account being checked ({account}); Valohai's principal "
                "lives in Valohai's account: was the right ARN recorded?",
                "a principal of Valohai's account",
                value,
                **kw,
            )
        ]
    return [
        ok(
            f"{KEY} {value} is of account {m.group('account')}, not the one checked ({account})",
            "another account",
            value,
            **kw,
        )
    ]
