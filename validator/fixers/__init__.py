"""[Finding] -> Plan (named boto3 calls, shown first) -> apply. The only writer to AWS.

plan.py     the plan as plain data, its checksum, references between steps
builder.py  what a fixer sees while the plan is built
iam.py, network.py, sg.py, queue.py   the fixers, each declaring the IAM actions it calls
adopt.py    names the guide's resource that lost its Name instead of creating a second
planner.py  runs the fixers in dependency order
apply.py    runs a plan's steps with boto3 and reports applied / failed / not tried
"""

from __future__ import annotations

from validator.fixers import adopt, iam, network, queue, sg

PERMISSIONS = tuple(
    sorted(set(iam.PERMISSIONS + network.PERMISSIONS + sg.PERMISSIONS + queue.PERMISSIONS + adopt.PERMISSIONS))
)


def permissions() -> tuple[str, ...]:
    """Every IAM action `remediate --fix` may call (the reads are validator.aws.account.PERMISSIONS)."""
    return PERMISSIONS
