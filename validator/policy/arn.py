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


# a template variable whose values never hold a '/': an S3 bucket name (so that
# arn:aws:s3:::acme/* is an object, never a bucket)
SLASHLESS = "\x01"
_NO_SLASH_VARS = ("${BucketName}",)


def template_glob(template: str) -> str:
    return _VAR.sub("*", template)


def match_glob(template: str) -> str:
    """The template as a glob to match with `globs_intersect`: variables are `*`, except those
    that cannot hold a '/' (SLASHLESS)."""
    for var in _NO_SLASH_VARS:
        template = template.replace(var, SLASHLESS)
    return template_glob(template)


@lru_cache(maxsize=65536)
def globs_intersect(a: str, b: str) -> bool:
    """Is there a string both glob patterns (`*` any run, `?` one character) match? `b`, a
    template's glob, may also hold SLASHLESS: any run without a '/'."""
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
        elif j < len(b) and b[j] == SLASHLESS:
            r = go(i, j + 1) or (i < len(a) and a[i] != "/" and go(i + 1, j))
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
        return all(globs_intersect(x, match_glob(y)) for x, y in zip(r, t))
    return globs_intersect(resource, match_glob(template))


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
        return out + _region_of(resource, partition, region)
    templates = catalogue.arn_templates(service)
    if not templates and service.lower() in catalogue.services():
        return out + _region_of(resource, partition, region)   # no resource types listed: nothing to compare
    if not templates:
        hint = catalogue.nearest(service, catalogue.arn_services())
        return out + [ArnProblem("lint-arn-field", f"Resource {resource!r}: no AWS service has ARNs "
                                 f"with the service field {service!r}",
                                 f"arn:{partition}:{hint}:..." if hint else "a service's ARN format")]
    fields = [t[2].split(":", 5) for t in templates]
    in_region = _field(resource, "region", region, {f[3] for f in fields}, catalogue.REGION,
                       "a region such as eu-west-1, or *")
    out += in_region or _region_of(resource, partition, region)
    accounts = {f[4] for f in fields}
    if account == "aws":
        # resources AWS owns (arn:aws:iam::aws:policy/..., CloudFormation transforms, SageMaker's
        # public hub): shapes the reference does not always list, so only the fields above are
        # checked, and for IAM what AWS owns there (managed policies, role templates)
        return out + _aws_owned(resource, service, rest)
    if account or service in catalogue.ACCOUNT_REQUIRED:
        # elsewhere an empty account is how AWS-owned resources are named (SSM documents, AMIs)
        out += _field(resource, "account", account, accounts, catalogue.ACCOUNT, "a 12-digit account id, or *")
    if out:
        return out
    if service == "s3" and region == "" and account == "":
        out += _bucket(resource, rest)
    elif service == "iam" and rest.endswith("/") and not _wild(rest):
        kind = rest.split("/", 1)[0]
        out.append(ArnProblem("lint-arn-field", f"Resource {resource!r} names no {kind}: the name after "
                              f"{rest!r} is empty (an IAM path ends with '/', the name comes after it)",
                              f"{resource}NAME, or {resource}* for every {kind} under that path"))
    if out:
        return out
    if rest == "" and not any(f[5] == "" for f in fields):
        kinds = sorted({template_glob(f[5]).split("/")[0].split(":")[0] for f in fields} - {"*", ""})
        return [ArnProblem("lint-arn-field", f"Resource {resource!r} names no resource: the part after the "
                           "account field is empty", f"a {service} resource: " + ", ".join(f"{k}/..." for k in kinds[:12]))]
    by_rest = [(t, f) for t, f in zip(templates, fields) if globs_intersect(rest, match_glob(f[5]))]
    if not by_rest:
        kinds = sorted({template_glob(f[5]).split("/")[0].split(":")[0] for f in fields} - {"*", ""})
        near = catalogue.nearest(rest.split("/")[0], kinds, cutoff=0.6)
        return [ArnProblem("lint-arn-field", f"Resource {resource!r}: {rest!r} matches no {service} "
                           "resource type", f"{near}/..." if near else "one of: " + ", ".join(kinds[:12]))]
    if not any(globs_intersect(region, template_glob(f[3])) and globs_intersect(account, template_glob(f[4]))
               for _, f in by_rest):
        # the resource part fits a type whose ARNs carry another region or account (S3 buckets: none)
        kinds = " and ".join(sorted({t[1] or "resource" for t, _ in by_rest}))
        no = [what for what, value, i in (("region", region, 3), ("account", account, 4))
              if value and all(f[i] == "" for _, f in by_rest)]
        if no:
            return [ArnProblem("lint-arn-field", f"Resource {resource!r}: {service} {kinds} ARNs have no "
                               f"{' and no '.join(no)} field{'s' if len(no) > 1 else ''}, this one has "
                               + " and ".join(repr(region if w == "region" else account) for w in no),
                               _blank(_blank(resource, 3) if "region" in no else resource, 4)
                               if "account" in no else _blank(resource, 3))]  # the same ARN without them
        return [ArnProblem("lint-arn-field", f"Resource {resource!r}: no {service} resource type has the region "
                           f"{region!r} and the account {account!r} with the resource part {rest!r}",
                           "the format of the " + kinds + ": " + ", ".join(_shown(t[2]) for t, _ in by_rest[:3]))]
    return []


_BUCKET_CHARS = re.compile(r"[a-z0-9.\-*?]*\Z")
_LEGACY_BUCKET_CHARS = re.compile(r"[A-Za-z0-9._\-*?]*\Z")


def _bucket(resource: str, rest: str) -> list[ArnProblem]:
    """An S3 bucket or object ARN (arn:aws:s3:::BUCKET[/KEY]): is there a bucket name, and
    could a bucket have it? Names are 3-63 characters of a-z, 0-9, '.' and '-'; buckets made
    before March 2018 in us-east-1 may also have A-Z and '_', and up to 255 characters.
    A `*`, `?` or policy variable (already `*` here) stands for any characters."""
    bucket, slash, key = rest.partition("/")
    if not bucket:
        return [ArnProblem("lint-arn-field", f"Resource {resource!r} names no bucket: the bucket name after "
                           "':::' is empty", _with_rest(resource, "BUCKET-NAME" + (slash + key)))]
    if slash and not key:
        return [ArnProblem("lint-arn-field", f"Resource {resource!r} names no object: the object key after "
                           f"{bucket + '/'!r} is empty", f"{resource}* (every object of {bucket}), or "
                           f"{_with_rest(resource, bucket)} for the bucket itself")]
    wild = _wild(bucket)
    bad = sorted({c for c in bucket if not _LEGACY_BUCKET_CHARS.match(c)})
    if bad:
        return [ArnProblem("lint-s3-bucket-name", f"Resource {resource!r}: no S3 bucket can be named {bucket!r}: "
                           f"bucket names have no {' '.join(repr(c) for c in bad)} (only a-z, 0-9, '.' and '-')",
                           _with_rest(resource, _fixed_bucket(bucket) + slash + key))]
    if wild:
        return []   # a pattern: it may be meant for the older buckets below
    if len(bucket) > 255:
        return [ArnProblem("lint-s3-bucket-name", f"Resource {resource!r}: no S3 bucket can have a name of "
                           f"{len(bucket)} characters (at most 63; 255 for buckets made before March 2018)",
                           "the bucket's name")]
    if not _BUCKET_CHARS.match(bucket) or len(bucket) > 63:
        what = ("upper-case letters" if any(c.isupper() for c in bucket) else "") + \
               (" and '_'" if "_" in bucket and any(c.isupper() for c in bucket) else "'_'" if "_" in bucket else "")
        what = what or f"{len(bucket)} characters (at most 63)"
        return [ArnProblem("lint-s3-bucket-name", f"Resource {resource!r}: S3 bucket names have only a-z, 0-9, "
                           f"'.' and '-' (3-63 characters), and {bucket!r} has {what}; no bucket made since "
                           "March 2018 can have that name (only an older bucket in us-east-1 can: if it is one, "
                           "suppress lint-s3-bucket-name for this file)",
                           _with_rest(resource, _fixed_bucket(bucket) + slash + key))]
    return []


def _fixed_bucket(bucket: str) -> str:
    return re.sub(r"[^a-z0-9.\-*?]+", "-", bucket.lower()).strip("-") or "bucket-name"


def _with_rest(resource: str, rest: str) -> str:
    return _with(resource, 5, rest)


def _with(resource: str, index: int, value: str) -> str:
    """The ARN with one field replaced (0 "arn" ... 5 the resource part)."""
    parts = resource.split(":", 5)
    parts[index] = value
    return ":".join(parts)


def _shown(template: str) -> str:
    return template.replace("${Partition}", "aws")


def _aws_owned(resource: str, service: str, rest: str) -> list[ArnProblem]:
    kinds = catalogue.AWS_OWNED_KINDS.get(service)
    if not kinds or any(globs_intersect(rest, k + "*") for k in kinds):
        return []
    kind = rest.split("/", 1)[0]
    owned = " and ".join(f"{k}..." for k in kinds)
    return [ArnProblem("lint-arn-field", f"Resource {resource!r}: the account field 'aws' names what AWS owns, and "
                       f"in {service} that is only {owned}; a {kind} is in an account",
                       f"{_with(resource, 4, 'ACCOUNT')} (ACCOUNT: the 12-digit id of the account it is in, or *)")]


def _region_of(resource: str, partition: str, region: str) -> list[ArnProblem]:
    """Is the region one of the partition's? From the regions AWS lists (botocore's data)."""
    if not region or _wild(region) or not catalogue.REGION.match(region):
        return []
    table = catalogue.partitions()
    if not table or (not _wild(partition) and partition not in table):
        return []
    owner = catalogue.region_partition(region)
    if _wild(partition):
        if owner is None:
            return [ArnProblem("lint-arn-field", f"Resource {resource!r}: {region!r} is not a region AWS lists "
                               "in any partition", "a region such as eu-west-1, or *")]
        return []
    if region in table[partition].regions:
        return []
    known = sorted(table[partition].regions)
    if owner and owner != partition:
        return [ArnProblem("lint-arn-field", f"Resource {resource!r}: the region {region!r} belongs to the "
                           f"partition {owner!r}, not to {partition!r}",
                           f"arn:{owner}:...:{region}:... for a resource in {region}, or a region of {partition} "
                           f"({', '.join(known[:4])}, ...)")]
    near = catalogue.nearest(region, known, cutoff=0.8)
    return [ArnProblem("lint-arn-field", f"Resource {resource!r}: {region!r} is not a region of the partition "
                       f"{partition!r}: AWS lists no such region for it (known: {', '.join(known)})",
                       f'"{near}"' if near else "one of the partition's regions, or *")]


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
        why = f": {service} ARNs always name the account" if what == "account" else ""
        return [ArnProblem("lint-arn-field", f"Resource {resource!r}: the {what} field is empty{why}",
                           want if what != "account" else _with(resource, 4, "ACCOUNT")
                           + " (ACCOUNT: the 12-digit account id, or *)")]
    return []


def _blank(resource: str, index: int) -> str:
    return _with(resource, index, "")
