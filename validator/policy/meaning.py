"""Lint checks on what a well-formed policy means: too wide, redundant, dead, or
still holding the guide's placeholders."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterator

from validator.policy import arn, catalogue
from validator.policy.document import resource_matches, squeeze_stars
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
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c)
                              for c in squeeze_stars(pattern.lower())))


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
    """Do the statement's actions act on its resources (and the resources fit its actions)?

    When no action of the statement can act on any of its resources, the statement grants
    nothing: an error. Otherwise an action or a resource left over is a warning: AWS's own
    policies list actions and resources in bags like that, and the Service Authorization
    Reference that says which pairs fit is not complete (see `_fits`)."""
    if "Action" not in st.raw or "Resource" not in st.raw or st.unknown_actions or has_placeholder(st, "Resource"):
        return []
    patterns = st.strings("Action")
    if not patterns or any(p == "*" for p, _ in patterns):
        return []
    acts = {(a.service, a.name): a for exp in st.expanded.values() for a in exp}
    if not acts or len(acts) > _RESOURCE_CAP:
        return []
    resources = [(r, catalogue.without_variables(r), ptr) for r, ptr in st.strings("Resource")]
    fitting: set[str] = set()     # resources some action surely acts on
    possible: set[str] = set()    # ... or might act on
    live: set[str] = set()        # action patterns that surely act on some resource
    maybe: set[str] = set()       # ... or might
    for pattern, _ in patterns:
        for a in st.expanded.get(pattern, []):
            for r, plain, _ in resources:
                fit = _fits(plain, a)
                if fit is not False:
                    possible.add(r)
                    maybe.add(pattern)
                if fit:
                    fitting.add(r)
                    live.add(pattern)
    rule = "lint-resource-type-partial" if possible else "lint-resource-type-unsupported"
    tail = " (other pairs of this statement do fit)" if fitting else ""
    out = []
    for r, _, ptr in resources:
        if r in possible:
            continue
        names = sorted({f"{a.service}:{a.name}" for a in acts.values()})
        kinds = sorted({f"{a.service}:{k}" for a in acts.values() for k, _ in a.resource_types})
        out.append(Issue(rule, ptr, f"Resource {r!r} is of no type that "
                         f"{', '.join(names[:3])}{'...' if len(names) > 3 else ''} "
                         f"{'acts' if len(names) == 1 else 'act'} on{tail}",
                         ("an ARN of: " + ", ".join(kinds[:8])) if kinds else '"Resource": "*"', r))
    for pattern, ptr in patterns:
        exp = st.expanded.get(pattern, [])
        if exp and pattern not in live:
            no_level = all(not a.resource_types for a in exp)
            if pattern in maybe:
                msg = (f"{pattern!r} has no resource type in the Service Authorization Reference (\"*\" only); "
                       f"unless {exp[0].service} checks it against these ARNs, it grants nothing here")
            elif no_level:
                msg = (f"{pattern!r} does not support resource-level permissions (the Service Authorization "
                       "Reference lists no resource type for it): it is granted only on \"*\"")
            else:
                msg = f"{pattern!r} acts on none of this statement's resources"
            want = '"Resource": "*" (in a statement of its own if the others need ARNs)' if no_level else \
                "an ARN of: " + ", ".join(sorted({k for a in exp for k, _ in a.resource_types})[:8])
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
    if resource == "*":
        return True
    templates = catalogue.action_templates(a)
    if templates:
        return any(arn.matches_template(resource, t) for t in templates)
    parts = resource.split(":", 5)
    if len(parts) < 6:
        return False
    if parts[5] == "*" and parts[2] in ("*", *_arn_services(a.service)):
        return True   # every resource of the service (or of every service)
    if a.service in catalogue.STAR_ONLY_SERVICES:
        return False
    return None if (parts[2] in _arn_services(a.service) or arn._wild(parts[2])) else False


@lru_cache(maxsize=None)
def _arn_services(service: str) -> frozenset[str]:
    fields = {service, catalogue.ARN_ALIASES.get(service, service)}
    for rt in catalogue.resource_types(service).values():
        fields.update(t.split(":")[2] for t in catalogue.arns(rt) if t.count(":") >= 5)
    return frozenset(fields)
