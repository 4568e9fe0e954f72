"""What every layer reports in: a finding, its statuses, the counts and the exit code.

pass, fail, warn, error (could not be decided: exit 2), skip. A finding comes from a rule of the
guide (validator.engine), from the IAM policy linter (validator.policy.lint), or from a waiver
(validator.waivers); every report renders the same fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

PASS, FAIL, WARN, ERROR, SKIP = "pass", "fail", "warn", "error", "skip"
STATUSES = (PASS, FAIL, WARN, ERROR, SKIP)
SEVERITIES = ("critical", "high", "medium", "low", "info")  # most severe first
# what a rule on what a principal can do says of an action no policy grants: a finding whose every
# part says it is fixed by the fix of the rules the rule names in `fixed_with` (the guide's policy)
NOT_GRANTED = "is not allowed by any policy of"


@dataclass
class Finding:
    rule_id: str
    title: str
    severity: str
    status: str
    resource_type: str
    resource_id: str | None
    resource_name: str
    message: str
    expected: str
    actual: str
    fixable: bool
    section: str = ""
    fix: str = ""
    # where in a file (lint findings, or a check finding about the params file)
    file: str | None = None
    line: int | None = None
    column: int | None = None
    pointer: str | None = None
    # set by validator.waivers when a waiver turned this fail/warn into skip: the original
    # status and the waiver (justification, expires, owner, source)
    waived: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summary(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {s: 0 for s in STATUSES}
    for f in findings:
        counts[f.status] += 1
    return counts


def exit_code(findings: Iterable[Finding]) -> int:
    statuses = {f.status for f in findings}
    if ERROR in statuses:
        return 2
    return 1 if FAIL in statuses else 0
