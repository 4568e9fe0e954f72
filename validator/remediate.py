"""`vhv remediate`: check, plan, and with --fix apply the reviewed plan, then check again.

The order of the gates: the plan is shown first; a --plan-checksum that does not match
the plan computed now stops everything; a plan that touches more than half of the
guide's resources needs --force; then a yes (--yes, or an answer on a terminal).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from validator import waivers
from validator.engine import evaluate
from validator.errors import VhvError
from validator.findings import exit_code, summary
from validator.fixers import planner
from validator.fixers.apply import apply
from validator.kinds import KINDS
from validator.render import plan as show


def guide_kinds(params: Any) -> tuple[str, ...]:
    """The guide's resources the safety limit counts: each kind a fixer writes that the guide has under
    the params' provisioning (the network and the queue only when you provision them), a role's
    instance profile counted with its role."""
    profiles = {k.profile for k in KINDS.values() if k.profile}
    return tuple(
        k.key
        for k in KINDS.values()
        if k.fixer and k.key not in profiles and k.provisioning in ("", params.provisioning)
    )


def over_limit(plan: Any, params: Any, tighten: bool) -> str | None:
    """Why the plan is too big to apply without --force, or None."""
    kinds = guide_kinds(params)
    changed = plan.changed_kinds(tighten) & set(kinds)
    if len(changed) * 2 > len(kinds):
        return (
            f"the plan changes {len(changed)} of the guide's {len(kinds)} resources ({', '.join(sorted(changed))}), "
            "more than half: is this the right account and region? Pass --force to apply it anyway"
        )
    return None


def check_options(args: Any) -> None:
    """Options that only mean something with --fix are refused without it (a --plan-checksum
    that is silently ignored would look like a check that passed), and a checksum that is not
    one is refused before the account is read."""
    given = [name for name, on in (("--yes", args.yes), ("--plan-checksum", args.plan_checksum is not None)) if on]
    if given and not args.fix:
        verb = "applies" if len(given) == 1 else "apply"
        raise VhvError(
            f"{' and '.join(given)} only {verb} with --fix; without it nothing is applied "
            "(add --fix, or drop them to see the plan)"
        )
    # `is not None`: --plan-checksum "$UNSET" in CI must not switch the check off
    if args.plan_checksum is not None and not re.fullmatch(r"[0-9a-f]{64}", args.plan_checksum):
        raise VhvError(
            f"--plan-checksum {args.plan_checksum!r}: expected the 64 hex digits after 'plan checksum:' in the plan"
        )


def refuse_other_region(args: Any, params: Any) -> None:
    """`--fix` changes the guide's resources in the params' region only: a --region that says
    otherwise is a mistake to stop on, before anything is read (a plan alone may look elsewhere)."""
    if args.fix and args.region and args.region != params.region:
        raise VhvError(
            f"--fix changes only the params' region ({params.region}), not --region {args.region}: "
            "set region in the params to fix another region. Nothing was changed"
        )


def recheck_text(findings: list[Any]) -> str:
    counts = summary(findings)
    lines = ["", "vhv remediate: the account re-checked: " + ", ".join(f"{counts[s]} {s}" for s in counts)]
    for f in findings:
        if f.status in ("fail", "error", "warn"):
            lines.append(f"  {f.status.upper():<5} {f.rule_id}: {f.message}")
    return "\n".join(lines) + "\n"


def confirm(n: int, answer: Callable[[str], str] | None = None) -> bool:
    if answer is None:
        if not sys.stdin or not sys.stdin.isatty():
            raise VhvError(
                f"--fix would change {n} thing(s) but there is no terminal to confirm on and no --yes: "
                "nothing was changed (review the plan, then pass --yes)"
            )
        answer = input
    try:
        return answer(f"Apply these {n} step(s)? [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def run(
    args: Any, pack: Any, params: Any, snap: Any, target: Any, reread: Callable[[], Any], waived: Sequence[Any] = ()
) -> int:
    """`waived`: the waivers of `vhv check` (validator.waivers): a waived failure is not planned."""
    findings = waivers.apply(evaluate(pack, params, snap), waived)
    plan = planner.build(pack, params, snap, findings, force=getattr(args, "force", False))
    meta = {"account_id": snap.account_id, "region": snap.region}
    out = sys.stdout
    out.write(show.render(plan, args.format, meta, tighten=args.tighten))
    note = sys.stdout if args.format == "console" else sys.stderr
    if not args.fix:
        return exit_code(findings)
    if args.plan_checksum is not None and args.plan_checksum != plan.checksum:
        raise VhvError(
            f"the plan computed now ({plan.checksum}) is not the reviewed one ({args.plan_checksum}): "
            "the account changed since; review the new plan. Nothing was changed"
        )
    steps = plan.to_apply(args.tighten)
    if not steps:
        note.write("vhv remediate: nothing to apply.\n")
        return exit_code(findings)
    why = over_limit(plan, params, args.tighten)
    if why and not args.force:
        raise VhvError(f"{why}. Nothing was changed")
    if not args.yes and not confirm(len(steps)):
        note.write("vhv remediate: not confirmed; nothing was changed.\n")
        return 2
    report = apply(plan, target, tighten=args.tighten, caller_arn=snap.caller_arn)
    note.write(show.applied(report))
    try:
        after = waivers.apply(evaluate(pack, params, reread()), waived)
    except VhvError as exc:  # the endpoint went away, the credentials expired: said, not a traceback
        note.write(f"vhv remediate: could not re-check the account: {exc}\n")
        return 2
    note.write(recheck_text(after))
    return 2 if not report.ok else exit_code(after)
