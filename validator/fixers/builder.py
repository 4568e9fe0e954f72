"""What a fixer sees while the plan is built: the findings, the snapshot, the params,
and the steps planned so far (to refer to what an earlier step creates).

A fixer is handed the rules that name it (`fixer:` in the YAML) for one kind, and asks here
for their failing findings; it never looks a rule up by its id. The guide's names, and what
vhv may change, come from the catalogue (validator.kinds)."""

from __future__ import annotations

from typing import Any

from validator.checks.context import Context
from validator.fixers.plan import DECIDE, FIX, MANUAL, Plan, Step, ref
from validator.kinds import KINDS, VALUES, resource_id
from validator.picking import Missing, candidates, judged, pick
from validator.rulepack import Rule, RulePack
from validator.snapshot import Snapshot, Undecidable

UNKNOWN = "vhv did not find it by the guide's name"
TAG_TEXT = f"{VALUES.tag_key}={VALUES.tag_value}"  # the guide's tag, as a summary says it


def tags(name: str | None = None) -> list[dict[str, str]]:
    """The guide's tags for a resource vhv creates: its Name (when it has one) and the guide's tag."""
    return ([{"Key": "Name", "Value": name}] if name else []) + [dict(VALUES.tag)]


def tag_spec(kind: str, name: str | None = None) -> list[dict[str, Any]]:
    """The TagSpecifications of a new EC2 resource of `kind`, named `name` (the guide's name by default)."""
    return [{"ResourceType": KINDS[kind].tag_type, "Tags": tags(name or KINDS[kind].name)}]


class Builder:
    def __init__(self, pack: RulePack, params: Any, snap: Snapshot, findings: list[Any]):
        self.pack = pack
        self.params = params
        self.snap = snap
        self.rules: dict[str, Rule] = {r.id: r for r in pack.rules}
        # (kind, fix) -> the rules of that kind naming the fix, in the pack's order
        self.naming: dict[tuple[str, str], list[Rule]] = {}
        for r in pack.rules:
            if r.fixer:
                self.naming.setdefault((r.resource, r.fixer), []).append(r)
        self.failures: dict[str, list[Any]] = {}  # rule id -> its failing findings
        # rule id -> its findings that fail or warn (what a rule's `fix_after` asks about)
        self.troubles: dict[str, list[Any]] = {}
        for f in findings:
            if f.status in ("fail", "warn"):
                self.troubles.setdefault(f.rule_id, []).append(f)
        for f in findings:
            # an advisory rule (on_fail: warn) that names a fix is planned like a failing one
            if f.status == "fail" or (f.status == "warn" and f.rule_id in self.rules and self.rules[f.rule_id].fixer):
                self.failures.setdefault(f.rule_id, []).append(f)
        self.covered: set[str] = set()  # rules a fixer has planned for (or decided to leave)
        self.plan = Plan(
            undecided=sorted({f.rule_id for f in findings if f.status == "error"}),
            account_id=snap.account_id,
            region=snap.region,
        )
        self.created: dict[str, str] = {}  # kind -> a reference to its id in the answer of the step creating it
        # kind -> the existing resource that lost its Name, which the plan names (validator.fixers.adopt)
        self.adopted: dict[str, dict[str, Any]] = {}
        # kind -> what one fix leaves for the next fixes of the same kind (the document a new policy version sets)
        self.handed_on: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------- reading
    def ctx(self, kind: str) -> Context:
        return Context(params=self.params, snap=self.snap, kind=kind)

    def named(self, fix: str, kind: str) -> list[Rule]:
        """The rules of `kind` that name `fix` (their `fixer:`), in the pack's order."""
        return list(self.naming.get((kind, fix), []))

    def fails(self, rule: Rule) -> list[Any]:
        """The failing findings of `rule` (none when it passes, skips or errors); marks it covered."""
        found = self.failures.get(rule.id, [])
        if found:
            self.covered.add(rule.id)
        return found

    def held_back(self, rule: Rule) -> list[Any]:
        """The failing or warning findings of the rules `rule` names in `fix_after` (they judge the
        value its fix would write): while there is one, the fix must not be planned."""
        return [f for other in rule.fix_after for f in self.troubles.get(other, [])]

    def first_failing(self, rules: list[Rule]) -> Rule | None:
        """The first of `rules` that fails (the later ones are not asked, nor marked covered)."""
        return next((r for r in rules if self.fails(r)), None)

    def missing(self, kind: str) -> list[Any]:
        """The failing findings of the rule that says `kind` is missing; it stays uncovered."""
        return self.failures.get(KINDS[kind].missing_rule, [])

    def applies(self, rule: Rule) -> bool:
        """The rule applies under the params (its `when`)."""
        return self.ctx(rule.resource).applies(rule.when)

    def get(self, path: str, default: Any = None) -> Any:
        try:
            return self.snap.get(path)
        except Undecidable:
            return default

    def existing(self, kind: str, scoped: bool = True) -> dict[str, Any] | None:
        """The guide's `kind` as the rules judge it; with `scoped`, None when it is out of scope."""
        try:
            item = pick(self.snap, kind, required=False)
        except (Undecidable, Missing):  # what it is judged in (the VPC of a route table) is not there
            return None
        return item if not scoped or not self.out_of_scope(kind, item) else None

    # ------------------------------------------------------------- scope
    def vpc_id(self) -> str | None:
        """The id of the one guide VPC in the params' region (or the one the plan names so); None when
        there is none, several, or unread."""
        try:
            vpcs = candidates(self.snap, "vpc")
        except Undecidable:
            return None
        if not vpcs and "vpc" in self.adopted:  # the one the plan names as the guide's
            return self.adopted["vpc"]["id"]
        return vpcs[0]["id"] if len(vpcs) == 1 else None

    def out_of_scope(self, kind: str, item: dict[str, Any] | None) -> str | None:
        """Why vhv must not change `item` (None: it may). Every read is of the params' region, and
        by the guide's name; what lives in a VPC must also be in the one guide VPC."""
        if not item:
            return UNKNOWN
        several = self.several(kind)
        if several:
            return several
        vpc = self.vpc_id()
        vpc_name = KINDS["vpc"].name
        if kind == "vpc":
            return None if item.get("id") == vpc else f"it is one of several VPCs named {vpc_name}"
        if kind == "igw":  # attached to a VPC rather than in one
            elsewhere = [a.get("vpc_id") for a in item.get("attachments", []) if a.get("vpc_id") != vpc]
            return f"it is attached to {', '.join(map(str, elsewhere))}, not to {vpc_name}" if elsewhere else None
        if KINDS[kind].in_vpc and (vpc is None or item.get("vpc_id") != vpc):
            where = f"{vpc_name} ({vpc})" if vpc else f"a single {vpc_name}"
            return f"it is in {item.get('vpc_id')}, not in {where}"
        return None

    def several(self, kind: str) -> str | None:
        """Why vhv must not change any of the guide's `kind` (None: it may): several answer to its name,
        and which of them the rules judge is only the order AWS lists them in."""
        if not KINDS[kind].one_of:
            return None
        try:
            found = judged(self.snap, kind)
        except Undecidable:
            return None
        if len(found) < 2:
            return None
        ids = ", ".join(str(resource_id(f)) for f in found)
        return (
            f"it is one of {len(found)} resources named {KINDS[kind].name} ({ids}) and vhv cannot tell which "
            "is the guide's"
        )

    def scope_of_id(self, kind: str, rid: str) -> str | None:
        """`out_of_scope` of the resource `rid` of `kind` (a step's reference to what it creates: in scope)."""
        if rid.startswith("$step:"):
            return None
        try:
            found = [c for c in candidates(self.snap, kind) if resource_id(c) == rid]
        except (Undecidable, Missing):
            found = []
        return self.out_of_scope(kind, found[0] if found else None)

    def leave(self, rule: str, kind: str, finding: Any, why: str) -> Step:
        """A manual step for a failing finding on a resource vhv must not change."""
        what = f"{finding.resource_name or KINDS[kind].named(self.params) or kind} ({finding.resource_id})"
        return self.manual(
            rule,
            kind,
            f"{finding.message}. vhv does not change {what}: {why} (vhv changes only "
            f"the guide's resources in {self.snap.region} and {KINDS['vpc'].name}). By hand: {finding.fix}",
            resource=finding.resource_name or None,
        )

    def found_any(self, kind: str) -> bool:
        try:
            return bool(candidates(self.snap, kind))
        except Undecidable:
            return True  # could not look: never plan to create a second one

    def found_elsewhere(self, rule: Rule, kind: str) -> bool:
        """`rule` (the kind is missing) fails although something answers to the name (several of
        them): said as a by-hand step, and nothing is created."""
        if not self.found_any(kind):
            return False
        for f in self.fails(rule):
            self.manual(rule.id, kind, f"{f.message}. {f.fix}".strip())
        return True

    def id_of(self, kind: str) -> str | None:
        """The id of the guide's `kind`: the existing one's, or a reference to the step creating it."""
        if kind in self.created:
            return self.created[kind]
        if kind in self.adopted:
            return resource_id(self.adopted[kind])
        item = self.existing(kind)
        return (item.get("id") or item.get("allocation_id")) if item else None

    # ------------------------------------------------------------- planning
    def add(
        self,
        rule: str,
        kind: str,
        call: str,
        arguments: dict[str, Any],
        summary: str,
        risk: str | None = None,
        resource: str | None = None,
        creates: str = "",
    ) -> Step:
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
        step = Step(
            id=len(self.plan.steps) + 1,
            rule=rule,
            resource=resource or KINDS[kind].named(self.params) or KINDS[kind].name,
            call=call,
            arguments=arguments,
            risk=risk,
            summary=summary,
            kind=kind,
        )
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
