"""Lint checks on what a well-formed policy means: too wide, redundant, dead, or
still holding the guide's placeholders."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator

from validator.policy import arn, catalogue
from validator.policy.document import resource_matches
from validator.policy.lintmodel import Issue, Stmt

PLACEHOLDER = re.compile(r"RECORDED\b.*\bHERE", re.I)
_RESOURCE_CAP = 400   # beyond this many expanded actions, resource-type checks are skipped (service:*)


def walk(value: Any, ptr: str) -> Iterator[tuple[str, str]]:
    """Every string in a JSON value with its pointer."""
    if isinstance(value, str):
        yield value, ptr
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{ptr}/{i}")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{ptr}/{k.replace('~', '~0').replace('/', '~1')}")


def placeholders(st: Stmt) -> list[Issue]:
    out = []
    for key in ("Resource", "NotResource", "Principal", "NotPrincipal", "Condition"):
        for text, ptr in walk(st.raw.get(key), st.at(key)):
            if PLACEHOLDER.search(text):
                want = ("the ValohaiWorkerRole ARN you recorded, arn:aws:iam::ACCOUNT:role/ValohaiWorkerRole"
                        if "worker" in text.lower() else
                        "the AssumeRole ARN you recorded (from Valohai), arn:aws:iam::ACCOUNT:role/NAME"
                        if "assume" in text.lower() else "the value you recorded")
                out.append(Issue("lint-guide-placeholder", ptr, f"the guide's placeholder {text!r} is still "
                                 "in the policy", want, text))
    return out


def has_placeholder(st: Stmt, key: str) -> bool:
    return any(PLACEHOLDER.search(t) for t, _ in walk(st.raw.get(key), ""))


def redundant(st: Stmt) -> list[Issue]:
    out = []
    items = st.strings("Action")
    first: dict[str, int] = {}
    wild = [(p, _glob(p)) for p, _ in items if "*" in p or "?" in p]
    for j, (pattern, ptr) in enumerate(items):
        low = pattern.lower()
        if low in first:
            out.append(Issue("lint-redundant-action", ptr, f"action {pattern!r} is listed twice in the "
                             "same statement", f"remove this {pattern!r}", pattern))
            continue
        first[low] = j
        cover = next((w for w, rx in wild if w.lower() != low and rx.fullmatch(low)), None)
        if cover:
            out.append(Issue("lint-redundant-action", ptr, f"action {pattern!r} is already covered by "
                             f"{cover!r} in the same statement", f"remove {pattern!r}", pattern))
    return out


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    """An action pattern as a regex over lower-case text (`?` and `*` of the covered
    pattern are matched literally by `?`/`*` of the wider one)."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower()))


def allow_not(st: Stmt) -> list[Issue]:
    if not st.allow:
        return []
    out = []
    for key, fix in (("NotAction", '"Action": [the actions needed]'), ("NotResource", '"Resource": [the ARNs needed]'),
                     ("NotPrincipal", '"Principal": {the principals trusted}')):
        if key in st.raw:
            out.append(Issue("lint-allow-not-element", st.at(key), f"\"Allow\" with {key!r} allows everything "
                             f"not listed, including what AWS adds later", fix, at_key=True))
    return out


def too_wide(st: Stmt) -> list[Issue]:
    if not st.allow or st.trust:
        return []
    resources = [r for r, _ in st.strings("Resource")]
    on_star = "*" in resources
    out = []
    stars = set()
    for pattern, ptr in st.strings("Action"):
        if on_star and (pattern == "*" or re.fullmatch(r"[A-Za-z0-9-]+:\*", pattern)):
            stars.add(pattern.lower())
            who = "every action of every service" if pattern == "*" else f"every {pattern.split(':')[0]} action"
            out.append(Issue("lint-star-on-star", ptr, f"\"Allow\" of {pattern!r} on \"Resource\": \"*\" "
                             f"grants {who} on every resource", "the actions the workload needs, by name", pattern))
    for pattern, ptr in st.strings("Action"):
        low = pattern.lower()
        if low in stars or (low != "iam:passrole" and not (("*" in low or "?" in low)
                                                          and _glob(pattern).fullmatch("iam:passrole"))):
            continue
        wide = [r for r in resources if _all_roles(r)]
        if wide:
            out.append(Issue("lint-passrole-star", ptr, f"{pattern!r} allows iam:PassRole on {wide[0]!r}: any role "
                             "can be passed to a service (privilege escalation)",
                             '"Resource": "arn:aws:iam::ACCOUNT:role/THE-ROLE-TO-PASS" (for Valohai: the '
                             'ValohaiWorkerRole ARN)', pattern))
    return out


def _all_roles(resource: str) -> bool:
    parts = resource.split(":", 5)
    account = parts[4] if len(parts) == 6 and catalogue.ACCOUNT.match(parts[4]) else "123456789012"
    return all(resource_matches(resource, f"arn:{p}:iam::{account}:role/{name}")
               for p in ("aws",) for name in ("vhv-any-role", "path/x-7"))


def arns(st: Stmt) -> tuple[list[Issue], bool]:
    """ARN shape checks; also says whether every Resource is clean enough to judge types."""
    out = []
    for key in ("Resource", "NotResource"):
        for r, ptr in st.strings(key):
            if PLACEHOLDER.search(r):
                continue
            out += [Issue(p.rule, ptr, p.message, p.expected, r) for p in arn.check(r)]
    return out, not out


def resource_types(st: Stmt) -> list[Issue]:
    """Do the statement's actions act on its resources (and the resources fit its actions)?"""
    if "Action" not in st.raw or "Resource" not in st.raw or st.unknown_actions or has_placeholder(st, "Resource"):
        return []
    patterns = st.strings("Action")
    if not patterns or any(p == "*" for p, _ in patterns):
        return []
    acts = {(a.service, a.name): a for exp in st.expanded.values() for a in exp}
    if not acts or len(acts) > _RESOURCE_CAP:
        return []
    resources = st.strings("Resource")
    has_star = any(resource_matches(r, "*") for r, _ in resources)
    out = []
    for r, ptr in resources:
        if r == "*" or any(arn.matches_template(r, t) for a in acts.values() for t in _templates(a)):
            continue
        names = sorted({f"{a.service}:{a.name}" for a in acts.values()})
        kinds = sorted({f"{a.service}:{k}" for a in acts.values() for k, _ in a.resource_types})
        out.append(Issue("lint-resource-type-unsupported", ptr, f"Resource {r!r} is of no type that "
                         f"{', '.join(names[:3])}{'...' if len(names) > 3 else ''} act on",
                         ("an ARN of: " + ", ".join(kinds[:8])) if kinds else '"Resource": "*"', r))
    if has_star:
        return out
    for pattern, ptr in patterns:
        exp = st.expanded.get(pattern, [])
        if exp and not any(any(arn.matches_template(r, t) for r, _ in resources for t in _templates(a)) for a in exp):
            no_level = all(not a.resource_types for a in exp)
            msg = (f"{pattern!r} does not support resource-level permissions: it is granted only on \"*\""
                   if no_level else f"{pattern!r} acts on none of this statement's resources")
            want = '"Resource": "*" (in a statement of its own if the others need ARNs)' if no_level else \
                "an ARN of: " + ", ".join(sorted({k for a in exp for k, _ in a.resource_types})[:8])
            out.append(Issue("lint-resource-type-unsupported", ptr, msg, want, pattern))
    return out


def _templates(a: catalogue.Action) -> list[str]:
    table = catalogue.resource_types(a.service)
    return [t for k, _ in a.resource_types for t in catalogue.arns(table.get(k.lower(), {}))]
