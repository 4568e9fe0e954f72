"""Resource ARNs in a policy against the catalogue's ARN templates.

A policy ARN may hold the wildcards `*` and `?`; a template holds variables
(`${Region}`, `${RoleNameWithPath}`). Whether they can name the same resource is
whether two glob patterns intersect, decided exactly by `globs_intersect`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from validator.policy import catalogue

_VAR = re.compile(r"\$\{[^}]*\}|<[^>]*>")


@dataclass(frozen=True)
class ArnProblem:
    rule: str       # lint check id
    message: str
    expected: str


def _wild(s: str) -> bool:
    return "*" in s or "?" in s


def template_glob(template: str) -> str:
    return _VAR.sub("*", template)


@lru_cache(maxsize=65536)
def globs_intersect(a: str, b: str) -> bool:
    """Is there a string both glob patterns (`*` any run, `?` one character) match?"""
    memo: dict[tuple[int, int], bool] = {}

    def go(i: int, j: int) -> bool:
        if (i, j) in memo:
            return memo[i, j]
        if i == len(a) and j == len(b):
            r = True
        elif i < len(a) and a[i] == "*":
            r = go(i + 1, j) or (j < len(b) and go(i, j + 1))
        elif j < len(b) and b[j] == "*":
            r = go(i, j + 1) or (i < len(a) and go(i + 1, j))
        elif i < len(a) and j < len(b):
            r = (a[i] == b[j] or a[i] == "?" or b[j] == "?") and go(i + 1, j + 1)
        else:
            r = False
        memo[i, j] = r
        return r

    return go(0, 0)


@lru_cache(maxsize=16384)
def matches_template(resource: str, template: str) -> bool:
    """Can the policy resource name a resource of this ARN template?"""
    if resource == "*":
        return True
    r, t = resource.split(":", 5), template.split(":", 5)
    if len(r) == 6 and len(t) == 6:
        # field by field: a `*` in one field never spans a `:` of the ARN's first five
        return all(globs_intersect(x, template_glob(y)) for x, y in zip(r, t))
    return globs_intersect(resource, template_glob(template))


@lru_cache(maxsize=16384)
def check(resource: str) -> tuple[ArnProblem, ...]:
    """Problems with the ARN itself: shape, partition, service, region, account, resource type."""
    if resource == "*":
        return ()
    shown = resource
    resource = catalogue.without_variables(resource)   # ${aws:PrincipalAccount}: any value
    return tuple(ArnProblem(p.rule, p.message.replace(repr(resource), repr(shown), 1), p.expected)
                 for p in _check(resource))


def _check(resource: str) -> list[ArnProblem]:
    parts = resource.split(":", 5)
    if parts[0] != "arn" or (len(parts) < 6 and not _wild(resource)):
        return [ArnProblem("lint-resource-not-arn",
                           f"Resource {resource!r} is not an ARN",
                           "an ARN arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, or \"*\"")]
    if len(parts) < 6:
        return []
    _, partition, service, region, account, rest = parts
    out: list[ArnProblem] = []
    if not _wild(partition) and partition not in catalogue.PARTITIONS:
        out.append(ArnProblem("lint-arn-field", f"Resource {resource!r}: {partition!r} is not an AWS partition",
                              "aws (or aws-cn, aws-us-gov, ...) as the second field"))
    if _wild(service):
        return out
    templates = catalogue.arn_templates(service)
    if not templates and service.lower() in catalogue.services():
        return out   # a service whose resource types the reference does not list: nothing to compare
    if not templates:
        hint = catalogue.nearest(service, catalogue.arn_services())
        return out + [ArnProblem("lint-arn-field", f"Resource {resource!r}: no AWS service has ARNs "
                                 f"with the service field {service!r}",
                                 f"arn:{partition}:{hint}:..." if hint else "a service's ARN format")]
    fields = [t[2].split(":", 5) for t in templates]
    out += _field(resource, "region", region, {f[3] for f in fields}, catalogue.REGION,
                  "a region such as eu-west-1, or *")
    accounts = {f[4] for f in fields}
    if account == "aws":
        # resources AWS owns (arn:aws:iam::aws:policy/..., CloudFormation transforms, SageMaker's
        # public hub): shapes the reference does not always list, so only the fields above are checked
        return out
    if account:   # an empty account is how AWS-owned resources are named (SSM documents, AMIs)
        out += _field(resource, "account", account, accounts, catalogue.ACCOUNT, "a 12-digit account id, or *")
    if not out and not any(globs_intersect(rest, template_glob(f[5])) for f in fields):
        kinds = sorted({template_glob(f[5]).split("/")[0].split(":")[0] for f in fields} - {"*", ""})
        near = catalogue.nearest(rest.split("/")[0], kinds, cutoff=0.6)
        out.append(ArnProblem("lint-arn-field", f"Resource {resource!r}: {rest!r} matches no {service} "
                              "resource type",
                              f"{near}/..." if near else "one of: " + ", ".join(kinds[:12])))
    return out


def _field(resource: str, what: str, value: str, shapes: set[str], rx: re.Pattern[str],
           want: str) -> list[ArnProblem]:
    if _wild(value):
        return []
    var = [s for s in shapes if "${" in s]
    service = resource.split(":")[2]
    if value and not var and shapes <= {""}:
        return [ArnProblem("lint-arn-field", f"Resource {resource!r}: {service} ARNs have an empty {what} "
                           f"field, this one has {value!r}", "nothing between the colons: "
                           + _blank(resource, 3 if what == "region" else 4))]
    if value and var and not rx.match(value) and value not in shapes:
        return [ArnProblem("lint-arn-field", f"Resource {resource!r}: {value!r} is not a valid {what}", want)]
    if not value and "" not in shapes:
        return [ArnProblem("lint-arn-field", f"Resource {resource!r}: the {what} field is empty", want)]
    return []


def _blank(resource: str, index: int) -> str:
    parts = resource.split(":", 5)
    parts[index] = ""
    return ":".join(parts)
