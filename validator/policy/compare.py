"""A live policy against the guide's statements, by meaning.

`missing_grants` answers "does the document allow what the guide asks?";
`wider_than` answers "does it allow anything the guide does not?". Both work on
normalised statements and expanded actions, so statement order, Sid, list vs
string, action case and equivalent wildcards do not change the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from validator.policy.document import (
    Condition,
    Statement,
    action_matches,
    as_list,
    canonical_condition,
    expand,
    is_placeholder,
    resource_matches,
)
from validator.policy.trusted import trust_problems  # noqa: F401  (its home was here)


@dataclass(frozen=True)
class Spec:
    """One statement of the guide: these actions on these resources, under this condition."""

    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Condition = frozenset()
    operators: frozenset[str] = frozenset()  # other operators accepted for the condition
    stricter: frozenset[str] = frozenset()  # operators that apply in fewer requests: never wider, but not the guide's
    label: str = ""
    condition_text: str = ""  # as the guide writes it, for messages
    # keys every request of the guide's use carries, lower case -> value (iam:AWSServiceName on the
    # service-linked role Valohai creates): a condition on them that the value meets narrows nothing
    carries: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_args(cls, d: dict[str, Any]) -> Spec:
        cond = canonical_condition(d.get("condition"))
        ops = {op for op, _, _ in cond} | {o.lower() for o in d.get("accept_operators", [])}
        stricter = {o.lower() for o in d.get("stricter_operators", [])}
        text = " and ".join(
            f"{k} = {', '.join(map(str, as_list(v)))}"
            for block in (d.get("condition") or {}).values()
            for k, v in block.items()
        )
        return cls(
            tuple(as_list(d["actions"])),
            tuple(as_list(d.get("resources", ["*"]))),
            cond,
            frozenset(ops),
            frozenset(stricter),
            d.get("label", ""),
            text,
            tuple(sorted((k.lower(), str(v)) for k, v in (d.get("request_carries") or {}).items())),
        )

    def condition_met_by(self, cond: Condition) -> bool:
        """True when a statement with `cond` is at least as strict as this spec."""
        return all(
            any(k == key and v and v <= vals and op in self.operators | self.stricter for op, k, v in cond)
            for _, key, vals in self.condition
        )

    def condition_allows(self, cond: Condition) -> bool:
        """True when a statement with `cond` would apply wherever the spec applies."""
        return all(
            any(k == key and vals <= v and op in self.operators for _, key, vals in self.condition)
            or self._carried(op, k, v)
            for op, k, v in cond
        )

    def _carried(self, op: str, key: str, values: frozenset[str]) -> bool:
        """The clause holds for every request of the guide's use: its key is one those requests
        always carry, with a value the clause's string operator matches."""
        value = dict(self.carries).get(key)
        if value is None:
            return False
        base = op.split(":", 1)[-1].removesuffix("ifexists")
        if base in ("stringequals",):
            return value in values
        if base == "stringequalsignorecase":
            return value.lower() in {v.lower() for v in values}
        if base == "stringlike":
            return any(resource_matches(v, value) for v in values)
        return False

    def describe_condition(self) -> str:
        return (
            self.condition_text
            or " and ".join(f"{k} = {', '.join(sorted(v))}" for _, k, v in sorted(self.condition))
            or "none"
        )


def concretise(resource: str, account_id: str) -> str:
    """`arn:aws:iam::*:role/x` -> `arn:aws:iam::<account>:role/x`: the resource the
    guide's wildcard account stands for in this account."""
    parts = resource.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and parts[4] == "*":
        parts[4] = account_id
        return ":".join(parts)
    return resource


def acts_on(st: Statement, action: str) -> bool:
    if st.actions is not None:
        return any(action_matches(p, action) for p in st.actions)
    return st.not_actions is not None and not any(action_matches(p, action) for p in st.not_actions)


def touches(st: Statement, resource: str) -> bool:
    if st.resources is not None:
        return any(resource_matches(p, resource) for p in st.resources)
    return st.not_resources is not None and not any(resource_matches(p, resource) for p in st.not_resources)


def _acting(statements: list[Statement], actions: tuple[str, ...]) -> dict[str, list[Statement]]:
    """For each of `actions`, the Allow and Deny statements that act on it, in document
    order. Each distinct pattern is matched against the actions once, not once per statement
    that repeats it: 100,000 statements cost 100,000 set unions, not millions of matches."""
    wanted = list(dict.fromkeys(actions))
    by_pattern: dict[str, frozenset[str]] = {}
    by_list: dict[tuple[tuple[str, ...] | None, tuple[str, ...] | None], frozenset[str]] = {}

    def hits(patterns: tuple[str, ...]) -> set[str]:
        out: set[str] = set()
        for p in patterns:
            found = by_pattern.get(p)
            if found is None:
                found = by_pattern[p] = frozenset(a for a in wanted if action_matches(p, a))
            out |= found
        return out

    acting: dict[str, list[Statement]] = {a: [] for a in wanted}
    for st in statements:
        if st.effect not in ("Allow", "Deny") or (st.actions is None and st.not_actions is None):
            continue
        key = (st.actions, st.not_actions)  # statements repeat their action lists: each is matched once
        got = by_list.get(key)
        if got is None:
            got = by_list[key] = frozenset(
                hits(st.actions) if st.actions is not None else set(wanted) - hits(st.not_actions or ())
            )
        for a in got:
            acting[a].append(st)
    return acting


def distinct(statements: list[Statement]) -> list[Statement]:
    """The first statement of each distinct meaning (effect, actions, resources, condition),
    in document order. What a document allows, and the first statement that allows or denies
    a thing, are those of these: 100,000 statements that repeat four are judged as four."""
    first: dict[tuple[Any, ...], Statement] = {}
    for st in statements:
        first.setdefault((st.effect, st.actions, st.not_actions, st.resources, st.not_resources, st.condition), st)
    return list(first.values())


def missing_grants(statements: list[Statement], spec: Spec, account_id: str, whose: str = "the guide") -> list[str]:
    """Each (action on resource) of `spec` the document does not allow, with why (`whose` spec it is)."""
    problems = []
    acting = _acting(distinct(statements), spec.actions)
    by_shape: dict[tuple[Any, ...], bool] = {}  # (resources, not resources, target) -> touches it
    by_target: dict[str, dict[int, bool]] = {}  # target -> id of a statement -> touches it

    for action in spec.actions:
        on = acting[action]
        for res in spec.resources:
            target = concretise(res, account_id)
            known = by_target.setdefault(target, {})
            allows, denies = [], []
            for s in on:
                hit = known.get(id(s))
                if hit is None:
                    shape = (s.resources, s.not_resources, target)
                    if shape not in by_shape:
                        by_shape[shape] = touches(s, target)
                    hit = known[id(s)] = by_shape[shape]
                if hit and s.effect == "Allow":
                    allows.append(s)
                elif hit and not s.condition:  # a Deny (`on` holds Allow and Deny statements only)
                    denies.append(s)
            if denies:
                problems.append(f"{action} on {res} is denied by {denies[0].label}")
            elif not allows:
                problems.append(f"{action} on {res} is not allowed")
            elif not any(spec.condition_allows(s.condition) for s in allows):
                problems.append(
                    f"{action} on {res} is allowed only under a condition {whose} does not set ({allows[0].label})"
                )
    return problems


@dataclass
class Wider:
    problems: list[str] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    def add(self, text: str) -> None:
        if text not in self._seen:
            self._seen.add(text)
            self.problems.append(text)


@dataclass(frozen=True)
class Extra:
    """One thing an Allow statement grants beyond the guide: the sentence that says it, the
    statement, and the actions it adds (lower case; empty for a placeholder, which grants nothing)."""

    text: str
    statement: Statement
    actions: frozenset[str]


def wider_than(statements: list[Statement], specs: list[Spec], whose: str = "the guide") -> list[str]:
    """Everything an Allow statement grants beyond the union of `specs`, one sentence each (`whose`
    statements they are, as the sentences say: the guide's, or a recipe's)."""
    out = Wider()
    for e in wider_parts(statements, specs, whose):
        out.add(e.text)
    return out.problems


def wider_parts(statements: list[Statement], specs: list[Spec], whose: str = "the guide") -> list[Extra]:
    """Everything an Allow statement grants beyond the union of `specs`. What a pattern on a
    resource under a condition grants beyond them is worked out once, however many
    statements repeat it."""
    judge = _Judge(specs, whose)
    out: list[Extra] = []
    said: dict[tuple[Any, ...], list[tuple[str, str, frozenset[str]]]] = {}  # a statement's meaning -> its extras
    for st in statements:
        if st.effect != "Allow":
            continue
        key = (st.actions, st.not_actions, st.resources, st.not_resources, st.condition)
        if key not in said:
            said[key] = _wider(st, judge)
        for before, after, acts in said[key]:  # the statement's label goes between
            out.append(Extra(f"{before}{st.label}{after}", st, acts))
    return out


def _wider(st: Statement, judge: _Judge) -> list[tuple[str, str, frozenset[str]]]:
    """What an Allow statement grants beyond the guide, each as the words before and after the
    statement's label (statements that differ only in Sid share them) and the actions it adds."""
    if st.not_actions is not None:
        every = expand("*") - frozenset().union(*(expand(a) for a in st.not_actions))
        return [("", f" uses NotAction: it allows every action except {', '.join(st.not_actions)}", every)]
    if st.not_resources is not None:
        acts = frozenset().union(*(expand(a) for a in st.actions or ()))
        return [
            (
                "",
                f" uses NotResource: it allows its actions on every resource except {', '.join(st.not_resources)}",
                acts,
            )
        ]
    out = []
    for res in st.resources or ():
        if is_placeholder(res):
            out.append(
                (
                    "",
                    f" still has the guide's placeholder {res!r} as its Resource; replace it with the real ARN",
                    frozenset(),
                )
            )
            continue
        for pattern in st.actions or ():
            found = judge(pattern, res, st.condition)
            if found is not None:
                out.append((f"{pattern} on {res} (", f"){found[0]}", found[1]))
    return out


class _Judge:
    """What `pattern` on `res` under `condition` grants beyond the specs: the end of the
    problem's sentence (after "PATTERN on RES (STATEMENT)"), or None.

    The answer depends on `res` only through which specs' resources match it, so it is
    remembered per (pattern, that match, condition): 100,000 statements that differ only
    in their ARN cost 100,000 lookups, not 100,000 judgments."""

    def __init__(self, specs: list[Spec], whose: str = "the guide") -> None:
        self.specs = specs
        self.whose = whose
        self.guide = [frozenset(a for act in s.actions for a in expand(act)) for s in specs]
        self.memo: dict[tuple[str, tuple[bool, ...], Condition], tuple[str, frozenset[str]] | None] = {}
        self.matches: dict[str, tuple[bool, ...]] = {}
        self.everything = [any(r == "*" for r in s.resources) for s in specs]

    def _matches(self, res: str) -> tuple[bool, ...]:
        """Which specs' resources match `res`."""
        if res not in self.matches:
            if len(self.matches) > 100_000:
                self.matches.clear()
            self.matches[res] = tuple(
                every or any(resource_matches(r, res) for r in s.resources)
                for s, every in zip(self.specs, self.everything)
            )
        return self.matches[res]

    def __call__(self, pattern: str, res: str, condition: Condition) -> tuple[str, frozenset[str]] | None:
        key = (pattern, self._matches(res), condition)
        if key not in self.memo:
            self.memo[key] = self._judge(pattern, key[1], condition)
        return self.memo[key]

    def _judge(
        self, pattern: str, matches: tuple[bool, ...], condition: Condition
    ) -> tuple[str, frozenset[str]] | None:
        granted = expand(pattern)
        allowed = frozenset().union(
            *(g for g, s, m in zip(self.guide, self.specs, matches) if m and s.condition_met_by(condition))
        )
        tail = self._tail(pattern, granted, granted - allowed, matches, condition)
        return None if tail is None else (tail, granted - allowed)

    def _tail(
        self,
        pattern: str,
        granted: frozenset[str],
        added: frozenset[str],
        matches: tuple[bool, ...],
        condition: Condition,
    ) -> str | None:
        extra = sorted(added)
        if not extra:
            return None
        # say *why* when the action is the guide's but the resource or condition is not
        for s, guide_actions, m in zip(self.specs, self.guide, matches):
            if not set(extra) <= guide_actions:
                continue
            if not m:
                return f": {self.whose} allows it only on {', '.join(s.resources)}"
            if not s.condition_met_by(condition):
                how = "under a condition wider than" if condition else "without"
                return f" is allowed {how} {self.whose}'s condition {s.describe_condition()}"
        if len(granted) > 1 or "*" in pattern:
            sample = ", ".join(extra[:3]) + (f" and {len(extra) - 3} more" if len(extra) > 3 else "")
            return f" allows {len(extra)} action(s) {self.whose} does not ask for: {sample}"
        return f" is not in {self.whose}"
