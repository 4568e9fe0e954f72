"""A remediation plan (and what applying it did) as text for people, JSON, or `aws` CLI commands."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from validator.fixers.plan import DECIDE, FIX, MANUAL, REF, WAIVED, Plan, Step, refs_in
from validator.render.common import visible

FORMATS = ("console", "json", "cli")
RISK_LABEL = {FIX: "fix", DECIDE: "needs a decision", MANUAL: "by hand", WAIVED: "waived"}


def _args_text(args: dict[str, Any]) -> str:
    return " ".join(
        f"{k}={json.dumps(v, separators=(',', ':')) if not isinstance(v, str) else v}" for k, v in args.items()
    )


def counts(plan: Plan) -> str:
    n = {r: len(plan.of(r)) for r in (FIX, DECIDE, MANUAL, WAIVED)}
    waived = f", {n[WAIVED]} skipped as waived" if n[WAIVED] else ""
    return f"{n[FIX]} to fix, {n[DECIDE]} needing a decision (--tighten), {n[MANUAL]} to do by hand{waived}"


def console(plan: Plan, meta: dict[str, Any], tighten: bool = False) -> str:
    where = f"account {meta.get('account_id')} ({meta.get('region')})"
    if not plan.steps:
        lines = [f"vhv remediate: nothing to change in {where}: every fixable rule passes."]
    else:
        lines = [
            f"vhv remediate: plan for {where}: {len(plan.steps)} step(s): {counts(plan)}",
            f"plan checksum: {plan.checksum}",
            "",
        ]
        for s in plan.steps:
            lines.append(f"{s.id:>3}. [{RISK_LABEL[s.risk]}] {s.resource}: {s.summary}  ({s.rule})")
            if s.call:
                lines.append(f"     {s.call}  {_args_text(s.arguments)}")
        if plan.of(DECIDE) and not tighten:
            lines += [
                "",
                "Steps marked [needs a decision] take away something wider than the guide; "
                "`--fix` applies them only with `--tighten`.",
            ]
        if plan.of(MANUAL):
            lines += ["Steps marked [by hand] are never done by vhv."]
        if plan.of(WAIVED):
            lines += ["Steps marked [waived] are accepted failures (a waiver): vhv leaves them as they are."]
    if plan.undecided:
        lines += ["", f"Not planned: these rules could not be decided (see `vhv check`): {', '.join(plan.undecided)}"]
    return _shown(lines)


def as_json(plan: Plan) -> str:
    return json.dumps([s.to_dict() for s in plan.steps], indent=2) + "\n"


# ------------------------------------------------------------------ aws CLI


def _opt(name: str) -> str:
    return "--" + re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _var(step_id: int) -> str:
    return f"STEP_{step_id}"


def _query(path: str) -> str:
    return re.sub(r"\.(\d+)(?=\.|$)", r"[\1]", path)


def _value(v: Any) -> str:
    if isinstance(v, str):
        m = REF.match(v)
        return f'"${_var(int(m.group(1)))}"' if m else shlex.quote(v)
    text = json.dumps(v, separators=(",", ":"))
    if not refs_in(v):
        return shlex.quote(text)
    # close the single quotes around each reference so that the shell expands it
    return "'" + re.sub(r'"\$step:(\d+):[\w.]+"', lambda m: f'"\'"${_var(int(m.group(1)))}"\'"', text) + "'"


def command(step: Step, region: str = "") -> str:
    """The `aws` command of `step`, in `region` (the plan's: not the user's default region)."""
    parts = ["aws", step.service, step.operation.replace("_", "-")]
    for k, v in step.arguments.items():
        if isinstance(v, bool):
            parts.append(_opt(k) if v else "--no-" + _opt(k)[2:])
        elif isinstance(v, list) and v and all(isinstance(x, str) for x in v):
            parts += [_opt(k), *(_value(x) for x in v)]
        else:
            parts += [_opt(k), _value(v)]
    if region:
        parts += ["--region", shlex.quote(region)]
    return " ".join(parts)


def as_cli(plan: Plan) -> str:
    used: dict[int, str] = {}
    for s in plan.steps:
        for sid, path in refs_in(s.arguments):
            used.setdefault(sid, path)
    lines = ["#!/bin/sh", f"# vhv remediate plan {plan.checksum}", "set -e", ""]
    for s in plan.steps:
        lines.append(f"# {s.id}. [{RISK_LABEL[s.risk]}] {s.resource}: {s.summary} ({s.rule})")
        if s.risk in (MANUAL, WAIVED):
            continue
        cmd = command(s, plan.region)
        if s.id in used:
            cmd = f"{_var(s.id)}=$({cmd} --query {shlex.quote(_query(used[s.id]))} --output text)"
        lines.append(("# " if s.risk == DECIDE else "") + cmd)
    if plan.of(DECIDE):
        lines += ["", "# lines starting with '# aws' need a decision: they take away something wider than the guide"]
    return "\n".join(lines) + "\n"


def render(plan: Plan, fmt: str, meta: dict[str, Any], tighten: bool = False) -> str:
    if fmt == "json":
        return as_json(plan)
    if fmt == "cli":
        return as_cli(plan)
    return console(plan, meta, tighten)


def _shown(lines: list[str]) -> str:
    """Lines for a terminal: control characters in names from the account are escaped."""

    return "\n".join(visible(line) for line in lines) + "\n"


# ------------------------------------------------------------------ after --fix


def applied(report: Any) -> str:
    lines = [
        f"vhv remediate: applied {len(report.applied)} step(s), {len(report.failed)} failed, "
        f"{len(report.not_tried)} not tried"
    ]
    lines += [f"  applied     {s.id:>3}. {s.call} ({s.resource})" for s in report.applied]
    lines += [f"  FAILED      {s.id:>3}. {s.call} ({s.resource}): {why}" for s, why in report.failed]
    lines += [f"  not tried   {s.id:>3}. {s.call} ({s.resource})" for s in report.not_tried]
    if not report.ok:
        lines.append(
            "Run `vhv remediate --fix` again once the cause is fixed: it plans from what the account "
            "holds then, so what was applied is not done twice."
        )
    return _shown(lines)
