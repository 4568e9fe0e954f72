"""[Finding] -> Plan (named boto3 calls, shown first) -> apply. The only writer to AWS.

plan.py       the plan as plain data, its checksum, references between steps
builder.py    what a fixer sees while the plan is built: the rules naming it, their failing findings
iam.py, network.py, sg.py, queue.py   the fixer modules (the catalogue's `fixer:` of each kind),
              each registering its fixes by the name the rules give them (`fixer:` in rules/*.yaml)
tagging.py    the tag fix the EC2 fixer modules share
adopt.py      names the guide's resource that lost its Name instead of creating a second
registry.py   the fixes by module and name
planner.py    runs the fixes in dependency order
apply.py      runs a plan's steps with boto3 and reports applied / failed / not tried

The IAM actions the fixers call are the catalogue's (each kind's fix_actions).
"""

from __future__ import annotations

from validator.kinds import KINDS


def permissions() -> tuple[str, ...]:
    """Every IAM action `remediate --fix` may call (the reads are validator.aws.account.PERMISSIONS):
    the fix_actions of every kind a fixer module writes."""
    return tuple(sorted({a for k in KINDS.values() if k.fixer for a in k.fix_actions}))
