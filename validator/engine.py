"""RulePack x Params x Snapshot -> [Finding]. No I/O, no boto3."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from validator.checks import Missing, Outcome, load_all
from validator.checks.context import Context
from validator.findings import ERROR, FAIL, SKIP, WARN, Finding
from validator.kinds import KINDS, RECIPES, for_params, recipe_of, renamed, resource_id
from validator.picking import pick
from validator.policy.document import read_once
from validator.rulepack import Rule, RulePack
from validator.snapshot import Snapshot, Undecidable


def _finding(
    rule: Rule,
    ctx: Context,
    status: str,
    message: str,
    expected: str = "",
    actual: str = "",
    rid: str | None = None,
    rname: str | None = None,
    fix: str = "",
    severity: str = "",
) -> Finding:
    return Finding(
        rule_id=rule.id,
        title=renamed(rule.title),
        severity=severity or rule.severity,
        status=status,
        resource_type=rule.resource_type,
        resource_id=rid,
        resource_name=rname or ctx.name,
        message=message,
        expected=expected,
        actual=actual,
        fixable=rule.fixable,
        section=rule.section,
        fix=fix or renamed(_safe_expand(ctx, rule.fix), fix=True),
    )


def _safe_expand(ctx: Context, text: str) -> str:
    try:
        return ctx.expand(text)
    except Undecidable:
        return text


def _default_id(ctx: Context) -> str | None:
    if ctx.kind == "params" or ctx.snap is None:
        return None
    try:
        return resource_id(pick(ctx.snap, ctx.kind, required=False)) if not KINDS[ctx.kind].many else None
    except Exception:  # noqa: BLE001 -- only a label for a finding that is already an error or a skip
        return None


def evaluate_rule(rule: Rule, params: Any, snap: Snapshot | None, pack_ids: set[str] | None = None) -> list[Finding]:
    """The findings of `rule`. `pack_ids`: the ids of the pack it is in; when the rule that says its
    resource is missing is not among them, a missing resource fails here instead of skipping. The
    resources are named as the recipe that built the account (params built_with) names them."""
    with for_params(params):
        return _evaluate_rule(rule, params, snap, pack_ids)


def _evaluate_rule(rule: Rule, params: Any, snap: Snapshot | None, pack_ids: set[str] | None) -> list[Finding]:
    registry = load_all()
    ctx = Context(params=params, snap=snap, kind=rule.resource)
    kind = KINDS[rule.resource]
    if not kind.named(params):  # a kind the params name (the data store's bucket), and they do not
        section = kind.params_key.split(".")[0]
        # the section when it is absent, else the key it lacks (data_store without its role)
        lacking = section if not isinstance(params.get(section), dict) else kind.params_key
        return [
            _finding(
                rule, ctx, SKIP, f"applies only when the params name it ({kind.params_key}); they have no {lacking}"
            )
        ]
    if not ctx.applies(rule.when):
        why = ", ".join(f"{k}: {v}" for k, v in rule.when.items())
        have = ", ".join(f"{k}: {params.get(k)}" for k in rule.when)
        reason = f"applies only when {why}; the params say {have}"
        if rule.when.get("provisioning") == "self":
            reason += " (Option 2: Valohai provisions the network and the queue)"
        return [_finding(rule, ctx, SKIP, reason)]
    recipe = recipe_of(params)
    if rule.built_with and recipe not in rule.built_with:
        made = RECIPES[recipe].title if recipe in RECIPES else "the setup guide"
        return [
            _finding(
                rule,
                ctx,
                SKIP,
                f"applies only to accounts built with {' or '.join(rule.built_with)}; the params say built_with: "
                f"{recipe} ({made}), which does not make what this rule judges",
            )
        ]
    try:
        outcomes: list[Outcome] = registry[rule.evaluator].fn(ctx, **rule.args)
    except Missing as m:
        hint = f" (rule {m.rule_hint})" if m.rule_hint else ""
        name = ctx.name_of(m.kind) if m.kind else m.name
        if pack_ids is not None and m.rule_hint and m.rule_hint not in pack_ids:
            return [
                _finding(
                    rule,
                    ctx,
                    FAIL,
                    f"{name} does not exist (this rule pack has no {m.rule_hint} to say so)",
                    expected=f"{name} exists",
                    actual="not found",
                )
            ]
        return [_finding(rule, ctx, SKIP, f"{name} does not exist{hint}; nothing to inspect")]
    except Undecidable as u:
        return [_finding(rule, ctx, ERROR, f"could not decide: {u}", rid=_default_id(ctx))]
    except Exception as exc:  # noqa: BLE001 -- an evaluator bug must never read as a pass
        return [
            _finding(
                rule,
                ctx,
                ERROR,
                f"internal error in evaluator {rule.evaluator}: {type(exc).__name__}: {exc}",
                rid=_default_id(ctx),
            )
        ]
    if not outcomes:
        return [_finding(rule, ctx, ERROR, f"evaluator {rule.evaluator} returned no result")]
    out = []
    default_id = None if any(o.resource_id for o in outcomes) else _default_id(ctx)
    for o in outcomes:
        status = WARN if (o.status == FAIL and rule.on_fail == "warn") else o.status
        out.append(
            _finding(
                rule,
                ctx,
                status,
                o.message,
                o.expected,
                o.actual,
                rid=o.resource_id or default_id,
                rname=o.resource_name,
                fix=o.fix,
                severity=o.severity,
            )
        )
    return out


def evaluate(pack: RulePack, params: Any, snap: Snapshot | None, only: Iterable[str] | None = None) -> list[Finding]:
    wanted = set(only) if only is not None else None
    ids = {r.id for r in pack.rules}
    findings: list[Finding] = []
    with read_once():  # several rules read one policy document: once
        for rule in pack.rules:
            if wanted is not None and rule.id not in wanted:
                continue
            if rule.resource != "params" and snap is None:
                continue
            findings.extend(evaluate_rule(rule, params, snap, ids))
    return findings


def blocking_failures(pack: RulePack, params: Any) -> list[Finding]:
    """Params rules whose failure means the account cannot be checked meaningfully."""
    return [f for r in pack.rules if r.blocking for f in evaluate_rule(r, params, None) if f.status == FAIL]
