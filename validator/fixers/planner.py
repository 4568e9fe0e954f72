"""[Finding] x Snapshot x Params -> Plan. No AWS calls: what the plan needs, the readers read.

Which rules a fix serves is data (each rule's `fixer:`); the order the fixes run in is each fixer
module's ORDER."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from validator import picking
from validator.errors import VhvError
from validator.findings import NOT_GRANTED
from validator.fixers import registry
from validator.fixers.builder import UNKNOWN, Builder
from validator.fixers.plan import DECIDE, FIX, MANUAL, WAIVED, Plan, refs_in
from validator.kinds import GUIDE, KINDS, RECIPES, active, built_with, for_params
from validator.rulepack import RulePack
from validator.snapshot import Snapshot, Undecidable

# In dependency order, each fixer module's ORDER in the catalogue's order of the modules (the
# policies and roles, the network, the security groups, the queue): each entry holds the kinds and
# the fixes (by name) run for each kind in turn. A fix runs whether or not a rule of the kind names
# it: some act on what the plan creates (the route to a new gateway, a new group on the queue).
ORDER = registry.ORDER


def problems(pack: RulePack) -> list[str]:
    """The rules whose `fixer:` would never run: not a fix of their kind's fixer module, or one the
    planner does not run for their kind (judged on the guide's kinds: a recipe may leave a kind to
    its template, and then every fix of it is a by-hand step)."""
    with built_with(GUIDE):
        return _problems(pack)


def _problems(pack: RulePack) -> list[str]:
    runs = {(kind, fix) for kinds, fixes in ORDER for kind in kinds for fix in fixes}
    out = []
    for r in pack.rules:
        if not r.fixer:
            continue
        module = registry.module_of(r.resource)
        where = f"{r.source}: rule {r.id}: fixer {r.fixer!r}"
        if registry.fix_of(r.resource, r.fixer) is None:
            known = ", ".join(sorted(registry.FIXERS.get(module, {}))) or "none"
            out.append(f"{where} is not a fix of the fixer module of {r.resource} ({module or 'none'}: {known})")
        elif (r.resource, r.fixer) not in runs:
            out.append(f"{where} is never run for {r.resource}")
    return out


def build(pack: RulePack, params: Any, snap: Snapshot, findings: list[Any], force: bool = False) -> Plan:
    """The plan for `findings`. A step that would change a resource a CloudFormation stack manages
    (its aws:cloudformation:stack-name tag), or any guide resource with `managed_by: terraform` in
    the params, is said as a by-hand step naming the stack or module, unless `force` (then it stays,
    and says the stack will drift)."""
    with for_params(params):  # the names of the recipe that built the account
        return _managed(_build(pack, params, snap, findings), params, snap, force)


STACK_TAG = "aws:cloudformation:stack-name"


@dataclass(frozen=True)
class Manager:
    """What manages a guide resource vhv would change: who, how it is changed there (when the
    params name no recipe, whose own words say it), and what changing it here anyway leaves."""

    who: str
    how: str
    drift: str


TERRAFORM = Manager(
    "Terraform (the params say managed_by: terraform)",
    "change it in the module and run terraform apply",
    "the module's state then differs until terraform apply puts it back",
)


def _manager(params: Any, snap: Snapshot, kind: str) -> Manager | None:
    """What manages the guide's `kind` in this account (None for nothing vhv knows of)."""
    if kind not in KINDS or kind == "params":
        return None
    if params.get("managed_by") == "terraform":
        return TERRAFORM
    try:
        items = picking.judged(snap, kind)
    except Exception:  # noqa: BLE001 -- an unreadable kind has no fix planned anyway
        return None
    stacks = sorted({(i.get("tags") or {}).get(STACK_TAG) for i in items if isinstance(i, dict)} - {None})
    if not stacks:
        return None
    return Manager(
        f"CloudFormation stack {', '.join(stacks)}",
        "change it in the stack's template and update the stack",
        "the stack then drifts",
    )


def _managed(plan: Plan, params: Any, snap: Snapshot, force: bool) -> Plan:
    recipe = RECIPES.get(params.get("built_with"))
    steps, moved = [], set()
    for s in plan.steps:
        m = _manager(params, snap, s.kind) if s.call and s.risk in (FIX, DECIDE) else None
        if m is None and not any(ref in moved for ref, _ in refs_in(s.arguments)):
            steps.append(s)
            continue
        what = f"{s.summary}: {s.call} {s.arguments}"
        if m is None:  # it uses what a step moved to the stack or module returns
            moved.add(s.id)
            text = f"waits for a step that is done in the stack or module: {what}"
            steps.append(replace(s, call="", arguments={"what": text}, risk=MANUAL, summary=text))
            continue
        how = recipe.change if recipe else m.how
        if force:
            steps.append(
                replace(s, summary=f"{s.summary} ({m.who} manages it: --force changes it here, and {m.drift}; {how})")
            )
            continue
        moved.add(s.id)
        text = f"{m.who} manages {s.resource}: {how}, not here (vhv would {what}; --force does it here, and {m.drift})"
        steps.append(replace(s, call="", arguments={"what": text}, risk=MANUAL, summary=text))
    plan.steps = steps
    return plan


def _build(pack: RulePack, params: Any, snap: Snapshot, findings: list[Any]) -> Plan:
    found = problems(pack)
    if found:
        raise VhvError(found[0])
    b = Builder(pack, params, snap, findings)
    for kinds, fixes in ORDER:
        for kind in kinds:
            _run(b, kind, fixes)
    # what no fixer changes (instance type, AMI, disk, key pair, a CIDR): said as a manual step
    for rule_id, found_ in b.failures.items():
        if rule_id in b.covered:
            continue
        if rule_id in b.rules and any(other in b.failures for other in b.rules[rule_id].explained_by):
            continue  # a path cut where another failing rule says what to change: the re-check tells the rest
        f = found_[0]
        if _fixed_with(b, rule_id, f):
            b.covered.add(rule_id)
            continue
        kind = b.rules[rule_id].resource if rule_id in b.rules else "params"
        where = f" ({f.resource_id})" if f.resource_id and f.resource_id not in f.message else ""
        why = b.scope_of_id(kind, f.resource_id) if f.resource_id and kind in KINDS and kind != "params" else None
        if why and why != UNKNOWN:
            b.leave(rule_id, kind, f, why)
            continue
        b.manual(rule_id, kind, f"{f.message}{where}. By hand: {f.fix}".strip(), resource=f.resource_name)
    _say_waived(b, findings)
    return b.plan


def _fixed_with(b: Builder, rule_id: str, f: Any) -> bool:
    """The rule's finding says only that no policy grants what the guide asks, and the fix of a rule
    it names in `fixed_with` (the guide's policy, created or attached) is planned: that fix is its."""
    rule = b.rules.get(rule_id)
    if rule is None or not any(r in b.covered for r in rule.fixed_with):
        return False
    parts = [p for p in (f.actual or "").split("; ") if p]
    return bool(parts) and all(NOT_GRANTED in p for p in parts)


def _run(b: Builder, kind: str, fixes: tuple[str, ...]) -> None:
    """The fixes of `kind`, in order. When one cannot be planned (the guide's master policy names the
    worker role's ARN, and it was not read), every failing rule of the kind is said as not planned.
    A kind the recipe in use leaves to its template (no fixer) is changed there: each failing rule
    of it is a by-hand step saying so."""
    if not registry.module_of(kind):
        _in_template(b, kind)
        return
    try:
        for name in fixes:
            fix = registry.fix_of(kind, name)
            if fix is None:
                raise KeyError(f"{registry.module_of(kind)} has no fix {name!r} for {kind}")
            fix(b, kind, b.named(name, kind))
    except Undecidable as exc:
        for rule in sorted(r for r in b.failures if r in b.rules and b.rules[r].resource == kind):
            b.manual(rule, kind, f"not planned: {exc}; run vhv remediate where that can be read")


def _in_template(b: Builder, kind: str) -> None:
    recipe = RECIPES.get(active())
    made, how = (f"{recipe.title} ({recipe.source})", recipe.change) if recipe else ("its template", "change it there")
    for rule in sorted(r for r in b.failures if r in b.rules and b.rules[r].resource == kind):
        f = b.failures[rule][0]
        b.covered.add(rule)
        b.manual(
            rule,
            kind,
            f"{f.message}. {KINDS[kind].name} is made by {made}: {how}, not in the account (vhv remediate "
            f"does not change it). What to change: {f.fix}",
        )


def _say_waived(b: Builder, findings: list[Any]) -> None:
    """A waived failure (validator.waivers made it a skip) is not planned; the plan says so, with the
    waiver (not the file it came from: the checksum must not depend on where the waivers are kept)."""
    for f in findings:
        w = getattr(f, "waived", None)
        if not w or w.get("status") != "fail":
            continue
        by = f" by {w['owner']}" if w.get("owner") else ""
        b.add(
            f.rule_id,
            b.rules[f.rule_id].resource if f.rule_id in b.rules else "params",
            "",
            {"waived": {k: w.get(k) for k in ("justification", "expires", "owner")}},
            f"not planned: waived until {w['expires']}{by}: {w['justification']}",
            risk=WAIVED,
            resource=f.resource_name,
        )
