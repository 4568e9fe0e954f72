"""What a fixer sees while the plan is built: the findings, the snapshot, the params,
and the steps planned so far (to refer to what an earlier step creates)."""
from __future__ import annotations

from typing import Any

from validator import guide
from validator.checks.context import Context
from validator.checks.resources import KINDS, candidates, pick
from validator.fixers.plan import DECIDE, FIX, MANUAL, Plan, Step, ref
from validator.rulepack import Rule, RulePack
from validator.snapshot import Snapshot, Undecidable


def tags(name: str | None = None) -> list[dict[str, str]]:
    """The guide's tags for a resource vhv creates: its Name (when it has one) and valohai=1."""
    return ([{"Key": "Name", "Value": name}] if name else []) + [dict(guide.TAG)]


def tag_spec(resource_type: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": tags(name)}]


class Builder:
    def __init__(self, pack: RulePack, params: Any, snap: Snapshot, findings: list[Any]):
        self.pack = pack
        self.params = params
        self.snap = snap
        self.rules: dict[str, Rule] = {r.id: r for r in pack.rules}
        self.failing: dict[str, list[Any]] = {}
        for f in findings:
            if f.status == "fail":
                self.failing.setdefault(f.rule_id, []).append(f)
        self.covered: set[str] = set()   # rules a fixer has planned for (or decided to leave)
        self.plan = Plan(undecided=sorted({f.rule_id for f in findings if f.status == "error"}))
        self.created: dict[str, str] = {}  # kind -> a reference to its id in the answer of the step creating it

    # ------------------------------------------------------------- reading
    def ctx(self, kind: str) -> Context:
        return Context(params=self.params, snap=self.snap, kind=kind)

    def fails(self, rule_id: str) -> list[Any]:
        """The failing findings of `rule_id` (none when it passes, skips or errors); marks it covered."""
        found = self.failing.get(rule_id, [])
        if found:
            self.covered.add(rule_id)
        return found

    def get(self, path: str, default: Any = None) -> Any:
        try:
            return self.snap.get(path)
        except Undecidable:
            return default

    def existing(self, kind: str) -> dict[str, Any] | None:
        try:
            return pick(self.snap, kind, required=False)
        except Undecidable:
            return None

    def found_any(self, kind: str) -> bool:
        try:
            return bool(candidates(self.snap, kind))
        except Undecidable:
            return True  # could not look: never plan to create a second one

    def id_of(self, kind: str) -> str | None:
        """The id of the guide's `kind`: the existing one's, or a reference to the step creating it."""
        if kind in self.created:
            return self.created[kind]
        item = self.existing(kind)
        return (item.get("id") or item.get("allocation_id")) if item else None

    # ------------------------------------------------------------- planning
    def add(self, rule: str, kind: str, call: str, arguments: dict[str, Any], summary: str,
            risk: str | None = None, resource: str | None = None, creates: str = "") -> Step:
        """`creates`: the path of the new resource's id in the call's answer (``Vpc.VpcId``), for
        later steps to refer to; IAM names need none (pass ``"-"``)."""
        # the same call with the same arguments is planned once
        if risk is None:
            risk = DECIDE if self.rules[rule].wider else FIX
        for s in self.plan.steps:
            if s.call == call and s.arguments == arguments and call:
                if risk == FIX and s.risk == DECIDE:
                    s.risk = FIX
                return s
        step = Step(id=len(self.plan.steps) + 1, rule=rule, resource=resource or KINDS[kind].name, call=call,
                    arguments=arguments, risk=risk, summary=summary, kind=kind)
        self.plan.steps.append(step)
        self.covered.add(rule)
        if creates:
            self.created[kind] = ref(step.id, creates) if creates != "-" else ""
        return step

    def manual(self, rule: str, kind: str, summary: str, resource: str | None = None) -> Step:
        return self.add(rule, kind, "", {"what": summary}, summary, risk=MANUAL, resource=resource)

    def expand(self, text: str) -> str:
        try:
            return self.ctx("params").expand(text)
        except Undecidable:
            return text
