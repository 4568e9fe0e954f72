"""Lint checks on what a well-formed policy means: too wide, redundant, dead, or
still holding the guide's placeholders."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from validator.policy import arn, catalogue
from validator.policy.document import is_placeholder, resource_matches
from validator.policy.glob import Glob, compile_glob, is_wild
from validator.policy.lintmodel import Budget, Issue, Stmt, clip, shown

_RESOURCE_CAP = 400  # beyond this many expanded actions, resource-type checks are skipped (service:*)


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


def _worker_role() -> str:
    """The guide's name of the workers' role, as the advice names it."""
    from validator.kinds import name  # deferred: `vhv lint` loads the catalogue only to word this advice

    return name("worker_role")


def placeholders(st: Stmt) -> list[Issue]:
    out = []
    for key in ("Resource", "NotResource", "Principal", "NotPrincipal", "Condition"):
        if key not in st.raw:
            continue
        for text, ptr in walk(st.raw[key], st.at(key)):
            if is_placeholder(text):
                want = (
                    f"the {_worker_role()} ARN you recorded, arn:aws:iam::ACCOUNT:role/{_worker_role()}"
                    if "worker" in text.lower()
                    else "the AssumeRole ARN you recorded (from Valohai), arn:aws:iam::ACCOUNT:role/NAME"
                    if "assume" in text.lower()
                    else "the value you recorded"
                )
                out.append(
                    Issue(
                        "lint-guide-placeholder",
                        ptr,
                        f"the guide's placeholder {shown(text)} is still in the policy",
                        want,
                        text,
                    )
                )
    return out


def has_placeholder(st: Stmt, key: str) -> bool:
    return any(is_placeholder(t) for t, _ in walk(st.raw.get(key), ""))


Cover = tuple[int, str, str, Glob]  # a wildcard: (index in the statement, as written, lower case, compiled)


def redundant(st: Stmt, budget: Budget | None = None) -> list[Issue]:
    """An action listed twice (case does not matter), or matched as text by a wildcard of
    the same statement (its `*`/`?` match the other's `*`/`?` too); named is the first such
    wildcard in the statement.

    Not every pair is compared: a wildcard whose text before its first wildcard character
    holds a ':' ("ec2:Describe*") can cover only actions of that service prefix, so
    wildcards are grouped by it, and each action is compared with its own service's group
    and with the wildcards without such a prefix ("*", "s3*", "*:Get*"). A policy IAM
    accepts has a few thousand actions at most, and its pairs take a second at worst; in a
    far larger one (already a lint-policy-size error) the comparisons stop when `budget`
    (shared by the document's statements) runs out, with one lint-check-skipped note.
    Duplicates are always found (a set)."""
    out = []
    items = st.strings("Action")
    first: dict[str, int] = {}
    by_service: dict[str | None, list[Cover]] = {}  # each in statement order
    for i, (p, _) in enumerate(items):
        low = p.lower()
        if is_wild(low) and low not in first:
            first[low] = i
            by_service.setdefault(_service_of(low), []).append((i, p, low, compile_glob(low)))
    anywhere = by_service.get(None, [])
    seen: set[str] = set()
    skipped = False
    for pattern, ptr in items:
        low = pattern.lower()
        if low in seen:
            out.append(
                Issue(
                    "lint-redundant-action",
                    ptr,
                    f"action {shown(pattern)} is listed twice in the same statement",
                    f"remove this {shown(pattern)}",
                    clip(pattern),
                )
            )
            continue
        seen.add(low)
        own = by_service.get(low.split(":", 1)[0], []) if ":" in low else []
        if skipped or not (own or anywhere):
            continue
        if budget is not None and not budget.spend(len(own) + len(anywhere)):
            skipped = True
            out += budget.note(st, "lint-redundant-action", ptr)
            continue
        cover = _first_cover(low, own, anywhere)
        if cover:
            out.append(
                Issue(
                    "lint-redundant-action",
                    ptr,
                    f"action {shown(pattern)} is already covered by {shown(cover)} in the same statement",
                    f"remove {shown(pattern)}",
                    clip(pattern),
                )
            )
    return out


def _service_of(low: str) -> str | None:
    """The service prefix every text the (lower-case) wildcard matches starts with, if its
    literal start holds the ':'."""
    head = low[: min((i for i in (low.find("*"), low.find("?")) if i >= 0), default=len(low))]
    return head.split(":", 1)[0] if ":" in head else None


def _first_cover(low: str, own: list[Cover], anywhere: list[Cover]) -> str | None:
    """The wildcard (as written) of the lowest statement index in either group that
    matches `low`, other than `low` itself."""
    best: tuple[int, str] | None = None
    for group in (own, anywhere):
        for i, p, w, g in group:
            if best is not None and i >= best[0]:
                break
            if w != low and low.startswith(g.prefix) and low.endswith(g.suffix) and g.match(low):
                best = (i, p)
                break
    return best[1] if best else None


def allow_not(st: Stmt) -> list[Issue]:
    if not st.allow:
        return []
    out = []
    for key, fix in (
        ("NotAction", '"Action": [the actions needed]'),
        ("NotResource", '"Resource": [the ARNs needed]'),
        ("NotPrincipal", '"Principal": {the principals trusted}'),
    ):
        if key in st.raw:
            out.append(
                Issue(
                    "lint-allow-not-element",
                    st.at(key),
                    f'"Allow" with {shown(key)} allows everything not listed, including what AWS adds later',
                    fix,
                    at_key=True,
                )
            )
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
            out.append(
                Issue(
                    "lint-star-on-star",
                    ptr,
                    f'"Allow" of {shown(pattern)} on "Resource": "*" grants {who} on every resource',
                    "the actions the workload needs, by name",
                    pattern,
                )
            )
    for pattern, ptr in st.strings("Action"):
        low = pattern.lower()
        if low in stars or (low != "iam:passrole" and not (is_wild(low) and compile_glob(low).match("iam:passrole"))):
            continue
        wide = [r for r in resources if _all_roles(r)]
        if wide:
            out.append(
                Issue(
                    "lint-passrole-star",
                    ptr,
                    f"{shown(pattern)} allows iam:PassRole on {shown(wide[0])}: "
                    "any role can be passed to a service (privilege escalation)",
                    f'"Resource": "arn:aws:iam::ACCOUNT:role/THE-ROLE-TO-PASS" (for Valohai: the {_worker_role()} ARN)',
                    pattern,
                )
            )
    return out


def _all_roles(resource: str) -> bool:
    parts = resource.split(":", 5)
    account = parts[4] if len(parts) == 6 and catalogue.ACCOUNT.match(parts[4]) else "123456789012"
    return all(
        resource_matches(resource, f"arn:{p}:iam::{account}:role/{role}")
        for p in ("aws",)
        for role in ("vhv-any-role", "path/x-7")
    )


def arns(st: Stmt, budget: Budget | None = None) -> tuple[list[Issue], bool]:
    """ARN shape checks; also says whether every Resource is clean enough to judge types.
    In a document far larger than IAM accepts, the Resources after the budget's first
    20,000 are not checked (one lint-check-skipped note), and their statements' types not
    judged."""
    out = []
    for key in ("Resource", "NotResource"):
        for r, ptr in st.strings(key):
            if is_placeholder(r):
                continue
            if budget is not None and not budget.resource():
                note = budget.note(st, "lint-arn-field", ptr, "checking Resources against the ARN formats")
                return out + note, False
            out += [Issue(p.rule, ptr, p.message, p.expected, clip(r)) for p in arn.check(r)]
    return out, not out


def resource_types(st: Stmt, budget: Budget | None = None) -> list[Issue]:
    """Do the statement's actions act on its resources (and the resources fit its actions)?

    When no action of the statement can act on any of its resources, the statement grants
    nothing: an error. Otherwise an action or a resource left over is a warning: AWS's own
    policies list actions and resources in bags like that, and the Service Authorization
    Reference that says which pairs fit is not complete (see `_fits`).

    Actions with the same ARN templates (of the same service) fit the same resources, so each
    resource is compared once per such group, not once per action. In a document far larger
    than IAM accepts, a statement that would still need more than `budget` comparisons is
    not judged, with one lint-check-skipped note."""
    if "Action" not in st.raw or "Resource" not in st.raw or st.unknown_actions or has_placeholder(st, "Resource"):
        return []
    patterns = st.strings("Action")
    if not patterns or any(p == "*" for p, _ in patterns):
        return []
    acts = {(a.service, a.name): a for exp in st.expanded.values() for a in exp}
    if not acts or len(acts) > _RESOURCE_CAP:
        return []
    resources = [(r, catalogue.without_variables(r), ptr) for r, ptr in st.strings("Resource")]
    groups: dict[tuple[tuple[str, ...], str], set[str]] = {}  # (templates, service) -> the patterns
    for pattern, _ in patterns:
        for a in st.expanded.get(pattern, ()):
            groups.setdefault((catalogue.action_templates(a), a.service), set()).add(pattern)
    if budget is not None and not budget.spend(len(resources) * len(groups)):
        return budget.note(
            st, "lint-resource-type-unsupported", st.at("Resource"), "comparing actions with Resources pair by pair"
        )
    fitting: set[str] = set()  # resources some action surely acts on
    possible: set[str] = set()  # ... or might act on
    live: set[tuple[tuple[str, ...], str]] = set()  # groups that surely act on some resource
    maybe: set[tuple[tuple[str, ...], str]] = set()  # ... or might
    for r, plain, _ in resources:
        for group in groups:
            if r in fitting and group in live:
                continue  # nothing more to learn from this pair
            fit = _fits_group(plain, *group)
            if fit is not False:
                possible.add(r)
                maybe.add(group)
            if fit:
                fitting.add(r)
                live.add(group)
    live_patterns = {p for g in live for p in groups[g]}
    maybe_patterns = {p for g in maybe for p in groups[g]}
    rule = "lint-resource-type-partial" if possible else "lint-resource-type-unsupported"
    tail = " (other pairs of this statement do fit)" if fitting else ""
    out = []
    names = sorted({f"{a.service}:{a.name}" for a in acts.values()})
    kinds = sorted({f"{a.service}:{k}" for a in acts.values() for k, _ in a.resource_types})
    for r, _, ptr in resources:
        if r in possible:
            continue
        out.append(
            Issue(
                rule,
                ptr,
                f"Resource {shown(r)} is of no type that "
                f"{', '.join(names[:3])}{'...' if len(names) > 3 else ''} "
                f"{'acts' if len(names) == 1 else 'act'} on{tail}",
                ("an ARN of: " + ", ".join(kinds[:8])) if kinds else '"Resource": "*"',
                clip(r),
            )
        )
    for pattern, ptr in patterns:
        exp = st.expanded.get(pattern, [])
        if exp and pattern not in live_patterns:
            no_level = all(not a.resource_types for a in exp)
            if pattern in maybe_patterns:
                msg = (
                    f'{shown(pattern)} has no resource type in the Service Authorization Reference ("*" only); '
                    f"unless {exp[0].service} checks it against these ARNs, it grants nothing here"
                )
            elif no_level:
                msg = (
                    f"{shown(pattern)} does not support resource-level permissions (the Service Authorization "
                    'Reference lists no resource type for it): it is granted only on "*"'
                )
            else:
                msg = f"{shown(pattern)} acts on none of this statement's resources"
            want = (
                '"Resource": "*" (in a statement of its own if the others need ARNs)'
                if no_level
                else "an ARN of: " + ", ".join(sorted({k for a in exp for k, _ in a.resource_types})[:8])
            )
            out.append(Issue(rule, ptr, msg + tail, want, pattern))
    return out


def _fits(resource: str, a: catalogue.Action) -> bool | None:
    """Can the action act on (something the) policy resource (names)? None: perhaps.

    An action the reference lists no resource type for is granted on "*" only, says the
    reference; but several services authorize such actions against an ARN of their own
    (logs:DescribeLogGroups against arn:aws:logs:REGION:ACCOUNT:log-group::log-stream:,
    iam:ListRoles against a role path, fsx:Describe*), and AWS's own policies rely on it.
    So an ARN of the action's own service is a "perhaps", except for the services whose
    documentation says "*" only (catalogue.STAR_ONLY_SERVICES: EC2, Auto Scaling)."""
    return _fits_group(resource, catalogue.action_templates(a), a.service)


def _fits_group(resource: str, templates: tuple[str, ...], service: str) -> bool | None:
    """`_fits` for every action of `service` whose ARN templates are `templates`."""
    if resource == "*":
        return True
    if templates:
        return any(arn.matches_template(resource, t) for t in templates)
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return False
    if parts[5] == "*" and parts[2] in ("*", *_arn_services(service)):
        return True  # every resource of the service (or of every service)
    if service in catalogue.STAR_ONLY_SERVICES:
        return False
    return None if (parts[2] in _arn_services(service) or arn.is_wildcard(parts[2])) else False


@lru_cache(maxsize=None)
def _arn_services(service: str) -> frozenset[str]:
    fields = {service, catalogue.ARN_ALIASES.get(service, service)}
    for rt in catalogue.resource_types(service).values():
        fields.update(t.split(":")[2] for t in catalogue.arns(rt) if t.count(":") >= 5)
    return frozenset(fields)
