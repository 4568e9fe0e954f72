"""Run a plan's steps with boto3, in order, and say what was applied, what failed (and why)
and what was not tried. The first failure stops the run: a later step may need what the
failed one would have made, and a re-run plans again from what the account then holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from validator.aws.actions import iam_action
from validator.aws.session import DENIED_CODES, Target, client, describe_failure, error_code, fatal, session
from validator.fixers.plan import Plan, Step, Unresolved, refs_in, resolve

NOT_YET = (".NotFound", "NoSuchEntity")  # a resource made a moment ago may not be visible everywhere yet
SETTLE_TRIES = 4


@dataclass
class Report:
    applied: list[Step] = field(default_factory=list)
    failed: list[tuple[Step, str]] = field(default_factory=list)
    not_tried: list[Step] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_tried

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": [s.id for s in self.applied],
            "failed": [{"id": s.id, "why": why} for s, why in self.failed],
            "not_tried": [s.id for s in self.not_tried],
        }


def action(step: Step) -> str:
    """The IAM action of a step's call: iam.create_policy_version -> iam:CreatePolicyVersion,
    s3.put_bucket_encryption -> s3:PutEncryptionConfiguration."""
    return iam_action(step.service, "".join(p.capitalize() for p in step.operation.split("_")))


def _clean(answer: Any) -> Any:
    if isinstance(answer, dict):
        return {k: v for k, v in answer.items() if k != "ResponseMetadata"}
    return answer


def _call(fn: Callable[..., Any], args: dict[str, Any], settle: bool) -> Any:
    import botocore.exceptions as bex  # deferred: loads botocore

    for attempt in range(SETTLE_TRIES):
        try:
            return fn(**args)
        except bex.ClientError as exc:
            if not (settle and error_code(exc).endswith(NOT_YET) and attempt < SETTLE_TRIES - 1):
                raise
            time.sleep(1 + attempt)
    raise AssertionError("unreachable")


def why_failed(exc: BaseException, step: Step, target: Target, caller_arn: str = "") -> str:
    """A failed call in words: the denied action and whose policy needs it, or the endpoint gone."""
    stop = fatal(exc, target.endpoint_url)
    if stop:
        return str(stop)
    why = describe_failure(exc, action(step))
    if caller_arn and error_code(exc) in DENIED_CODES:
        why += f" (add it to the policy of {caller_arn}; `vhv permissions --fix` prints what remediate needs)"
    return why


def apply(
    plan: Plan,
    target: Target,
    tighten: bool = False,
    before_step: Callable[[Step], None] | None = None,
    caller_arn: str = "",
) -> Report:
    """`caller_arn`: who vhv runs as, named when a call is denied."""
    import botocore.exceptions as bex  # deferred: loads botocore

    steps = plan.to_apply(tighten)
    report = Report()
    sess = session(target)
    clients: dict[str, Any] = {}
    results: dict[int, Any] = {}
    for i, step in enumerate(steps):
        if before_step:
            before_step(step)
        try:
            args = resolve(step.arguments, results)
            if step.service not in clients:
                clients[step.service] = client(sess, step.service, target)
            fn = getattr(clients[step.service], step.operation)
            results[step.id] = _clean(_call(fn, args, settle=bool(refs_in(step.arguments))))
        except Unresolved as exc:
            report.failed.append((step, f"cannot run: {exc}"))
        except (bex.ClientError, bex.BotoCoreError) as exc:
            report.failed.append((step, why_failed(exc, step, target, caller_arn)))
        else:
            report.applied.append(step)
            continue
        report.not_tried = steps[i + 1 :]
        break
    return report
