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
from validator.policy.glob import compile_glob, literal_length, squeeze_stars
from validator.policy.lintmodel import shown as _s

_VAR = re.compile(r"\$\{[^}]*\}|<[^>]*>")
# AWS's ARNs have at most 2,048 characters (an S3 object's, the longest kind, about 1,100): a
# Resource with more characters than twice that (wildcards not counted) names nothing, and is
# not compared with the templates at all
MAX_ARN = 4096


@dataclass(frozen=True)
class ArnProblem:
    rule: str  # lint check id
    message: str
    expected: str


def is_wildcard(s: str) -> bool:
    return "*" in s or "?" in s


# a template variable whose values never hold a '/': an S3 bucket name (so that
# arn:aws:s3:::acme/* is an object, never a bucket)
SLASHLESS = "\x01"
_NO_SLASH_VARS = ("${BucketName}",)


@lru_cache(maxsize=None)
def template_glob(template: str) -> str:
    return _VAR.sub("*", template)


@lru_cache(maxsize=None)
def match_glob(template: str) -> str:
    """The template as a glob to match with `globs_intersect`: variables are `*`, except those
    that cannot hold a '/' (SLASHLESS)."""
    for var in _NO_SLASH_VARS:
        template = template.replace(var, SLASHLESS)
    return template_glob(template)


@lru_cache(maxsize=65536)
def globs_intersect(a: str, b: str) -> bool:
    """Is there a string both glob patterns (`*` any run, `?` one character) match? `b`, a
    template's glob, may also hold SLASHLESS: any run without a '/'.

    In time about linear in `a` (the policy's, which may be hostile; `b` is the catalogue's,
    short): a literal text against a pattern is a glob match; two patterns are walked
    together, `a` one character at a time, with the positions `b` can be at as the bits of
    an int (a search of every (i, j) pair, as a recursion, ran out of stack at a thousand
    characters)."""
    if a == b:
        return True
    a, head_a, tail_a, wild_a = _policy_shape(a)
    head_b, tail_b, plain_b = _template_shape(b)
    # every string both match starts with both literal starts and ends with both literal ends
    if not (head_a.startswith(head_b) if len(head_a) >= len(head_b) else head_b.startswith(head_a)):
        return False
    if not (tail_a.endswith(tail_b) if len(tail_a) >= len(tail_b) else tail_b.endswith(tail_a)):
        return False
    if not wild_a:
        if SLASHLESS not in b:
            return compile_glob(b).match(a)
        rx = _slashless_rx(b)
        if rx is not None:
            return rx.fullmatch(a) is not None
    if plain_b:
        return compile_glob(a).match(b)
    return _walk(a, b)


@lru_cache(maxsize=None)
def _slashless_rx(b: str) -> re.Pattern[str] | None:
    """A template glob with SLASHLESS (and at most one `*`, so that matching a text cannot
    backtrack more than once over it) as a regex; None for other templates."""
    if b.count("*") > 1:
        return None
    return re.compile(
        "".join(".*" if c == "*" else "[^/]*" if c == SLASHLESS else "." if c == "?" else re.escape(c) for c in b), re.S
    )


_WILD_A = re.compile(r"[*?]")
_WILD_B = re.compile(r"[*?\x01]")


@lru_cache(maxsize=4096)
def _policy_shape(a: str) -> tuple[str, str, str, bool]:
    """A policy glob with its runs of `*` as one, its literal start and end, and whether it
    has a wildcard."""
    a = squeeze_stars(a)
    first = _WILD_A.search(a)
    if first is None:
        return a, a, a, False
    last = max(a.rfind("*"), a.rfind("?"))
    return a, a[: first.start()], a[last + 1 :], True


@lru_cache(maxsize=None)
def _template_shape(b: str) -> tuple[str, str, bool]:
    """A template glob's literal start and end, and whether it is plain text."""
    first = _WILD_B.search(b)
    if first is None:
        return b, b, True
    last = max(b.rfind("*"), b.rfind("?"), b.rfind(SLASHLESS))
    return b[: first.start()], b[last + 1 :], False


def _walk(a: str, b: str) -> bool:
    """The pair search of globs_intersect: bit j of `row` says "a's first i characters and
    b's first j can match the same text" (bit len(b): all of b)."""
    m, full, star, slash, qmark, skip, single, same = _masks(b)
    row = _close(1, skip)
    for c in a:
        if c == "*":
            # a's star can take in any part of b: every position from the first one reached
            row = _close(full & ~((row & -row) - 1), skip)
        else:
            one = single if c == "?" else (qmark | same.get(c, 0))
            nxt = ((row & one) << 1) | (row & star)  # both take one character; or b's star takes it
            if c != "/":
                nxt |= row & slash  # SLASHLESS takes any character but '/'
            row = _close(nxt & full, skip)
        if not row:
            return False
    return bool(row >> m & 1)


def _close(row: int, skip: int) -> int:
    """b's `*` (and SLASHLESS) may match nothing: position j also reaches j + 1."""
    while True:
        more = row | ((row & skip) << 1)
        if more == row:
            return row
        row = more


@lru_cache(maxsize=None)
def _masks(b: str) -> tuple[int, int, int, int, int, int, int, dict[str, int]]:
    """A template glob as bit masks over its positions, for `_walk`."""
    m = len(b)
    full = (1 << (m + 1)) - 1
    star = slash = qmark = 0
    same: dict[str, int] = {}
    for j, c in enumerate(b):
        bit = 1 << j
        if c == "*":
            star |= bit
        elif c == SLASHLESS:
            slash |= bit
        elif c == "?":
            qmark |= bit
        else:
            same[c] = same.get(c, 0) | bit
    skip = star | slash
    single = full & ~skip & ~(1 << m)  # positions of b that match one character
    return m, full, star, slash, qmark, skip, single, same


@lru_cache(maxsize=16384)
def matches_template(resource: str, template: str) -> bool:
    """Can the policy resource name a resource of this ARN template?"""
    if resource == "*":
        return True
    r, t = resource.split(":", 5), _template_fields(template)
    if len(r) == 6 and len(t) == 6:
        # field by field: a `*` in one field never spans a `:` of the ARN's first five
        return all(globs_intersect(x, y) for x, y in zip(r, t))
    return globs_intersect(resource, match_glob(template))


@lru_cache(maxsize=None)
def _template_fields(template: str) -> tuple[str, ...]:
    return tuple(match_glob(y) for y in template.split(":", 5))


@lru_cache(maxsize=16384)
def check(resource: str) -> tuple[ArnProblem, ...]:
    """Problems with the ARN itself: shape, partition, service, region, account, resource type."""
    if resource == "*":
        return ()
    shown = resource
    resource = catalogue.without_variables(resource)  # ${aws:PrincipalAccount}: any value
    if literal_length(resource) > MAX_ARN:
        return (
            ArnProblem(
                "lint-resource-not-arn",
                f"Resource {_s(shown)} is longer than any ARN: AWS ARNs have at most 2,048 characters",
                'the resource\'s ARN, or "*"',
            ),
        )
    return tuple(
        ArnProblem(p.rule, p.message.replace(_s(resource), _s(shown), 1), p.expected) for p in _check(resource)
    )


def _check(resource: str) -> list[ArnProblem]:
    parts = resource.split(":", 5)
    if parts[0] != "arn" or (len(parts) < 6 and not is_wildcard(resource)):
        return [
            ArnProblem(
                "lint-resource-not-arn",
                f"Resource {_s(resource)} is not an ARN",
                'an ARN arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE, or "*"',
            )
        ]
    if len(parts) < 6:
        return []
    _, partition, service, region, account, rest = parts
    out: list[ArnProblem] = []
    if not is_wildcard(partition) and partition not in catalogue.PARTITIONS:
        out.append(
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)}: {_s(partition)} is not an AWS partition",
                "aws (or aws-cn, aws-us-gov, ...) as the second field",
            )
        )
    if is_wildcard(service):
        return out + _region_of(resource, partition, region)
    templates = catalogue.arn_templates(service)
    if not templates and service.lower() in catalogue.services():
        return out + _region_of(resource, partition, region)  # no resource types listed: nothing to compare
    if not templates:
        hint = catalogue.nearest(service, catalogue.arn_services())
        return out + [
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)}: no AWS service has ARNs with the service field {_s(service)}",
                f"arn:{partition}:{hint}:..." if hint else "a service's ARN format",
            )
        ]
    table = _service_table(service)
    fields = table.fields
    in_region = _field(resource, "region", region, table.regions, catalogue.REGION, "a region such as eu-west-1, or *")
    out += in_region or _region_of(resource, partition, region)
    accounts = table.accounts
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
    elif service == "iam" and rest.endswith("/") and not is_wildcard(rest):
        kind = rest.split("/", 1)[0]
        out.append(
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)} names no {kind}: the name after "
                f"{_s(rest)} is empty (an IAM path ends with '/', the name comes after it)",
                f"{resource}NAME, or {resource}* for every {kind} under that path",
            )
        )
    if out:
        return out
    if rest == "" and not any(f[5] == "" for f in fields):
        kinds = sorted({template_glob(f[5]).split("/")[0].split(":")[0] for f in fields} - {"*", ""})
        return [
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)} names no resource: the part after the account field is empty",
                f"a {service} resource: " + ", ".join(f"{k}/..." for k in kinds[:12]),
            )
        ]
    by_rest = [(templates[i], fields[i]) for i in table.candidates(rest) if globs_intersect(rest, table.rests[i])]
    if not by_rest:
        kinds = sorted({template_glob(f[5]).split("/")[0].split(":")[0] for f in fields} - {"*", ""})
        near = catalogue.nearest(rest.split("/")[0], kinds, cutoff=0.6)
        return [
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)}: {_s(rest)} matches no {service} resource type",
                f"{near}/..." if near else "one of: " + ", ".join(kinds[:12]),
            )
        ]
    if not any(
        globs_intersect(region, template_glob(f[3])) and globs_intersect(account, template_glob(f[4]))
        for _, f in by_rest
    ):
        # the resource part fits a type whose ARNs carry another region or account (S3 buckets: none)
        kinds = " and ".join(sorted({t[1] or "resource" for t, _ in by_rest}))
        no = [
            what
            for what, value, i in (("region", region, 3), ("account", account, 4))
            if value and all(f[i] == "" for _, f in by_rest)
        ]
        if no:
            return [
                ArnProblem(
                    "lint-arn-field",
                    f"Resource {_s(resource)}: {service} {kinds} ARNs have no "
                    f"{' and no '.join(no)} field{'s' if len(no) > 1 else ''}, this one has "
                    + " and ".join(repr(region if w == "region" else account) for w in no),
                    _blank(_blank(resource, 3) if "region" in no else resource, 4)
                    if "account" in no
                    else _blank(resource, 3),
                )
            ]  # the same ARN without them
        return [
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)}: no {service} resource type has the region "
                f"{_s(region)} and the account {_s(account)} with the resource part {_s(rest)}",
                "the format of the " + kinds + ": " + ", ".join(_shown(t[2]) for t, _ in by_rest[:3]),
            )
        ]
    return []


@dataclass(frozen=True)
class _Table:
    """One ARN service field's templates, split, with an index of their resource parts by
    literal start: a Resource without wildcards is compared only with the templates whose
    resource part could start it (EC2 has some 60 templates)."""

    fields: tuple[list[str], ...]
    rests: tuple[str, ...]  # the resource part of each, as a match glob
    regions: set[str]
    accounts: set[str]
    starts: dict[str, list[tuple[str, int]]]  # first character ("" if none) -> (literal start, index)

    def candidates(self, rest: str) -> list[int] | range:
        if _WILD_A.search(rest):
            return range(len(self.rests))
        found = [i for head, i in self.starts.get(rest[:1], ()) if rest.startswith(head)] if rest else []
        return sorted(found + [i for _, i in self.starts.get("", ())])


@lru_cache(maxsize=None)
def _service_table(service: str) -> _Table:
    fields = tuple(t[2].split(":", 5) for t in catalogue.arn_templates(service))
    rests = tuple(match_glob(f[5]) if len(f) == 6 else "" for f in fields)
    starts: dict[str, list[tuple[str, int]]] = {}
    for i, b in enumerate(rests):
        head = _template_shape(b)[0]
        starts.setdefault(head[:1], []).append((head, i))
    return _Table(fields, rests, {f[3] for f in fields}, {f[4] for f in fields}, starts)


_BUCKET_CHARS = re.compile(r"[a-z0-9.\-*?]*\Z")
_LEGACY_BUCKET_CHARS = re.compile(r"[A-Za-z0-9._\-*?]*\Z")


def _bucket(resource: str, rest: str) -> list[ArnProblem]:
    """An S3 bucket or object ARN (arn:aws:s3:::BUCKET[/KEY]): is there a bucket name, and
    could a bucket have it? Names are 3-63 characters of a-z, 0-9, '.' and '-'; buckets made
    before March 2018 in us-east-1 may also have A-Z and '_', and up to 255 characters.
    A `*`, `?` or policy variable (already `*` here) stands for any characters."""
    bucket, slash, key = rest.partition("/")
    if not bucket:
        return [
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)} names no bucket: the bucket name after ':::' is empty",
                _with_rest(resource, "BUCKET-NAME" + (slash + key)),
            )
        ]
    if slash and not key:
        return [
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)} names no object: the object key after {_s(bucket + '/')} is empty",
                f"{resource}* (every object of {bucket}), or {_with_rest(resource, bucket)} for the bucket itself",
            )
        ]
    wild = is_wildcard(bucket)
    bad = sorted({c for c in bucket if not _LEGACY_BUCKET_CHARS.match(c)})
    if bad:
        return [
            ArnProblem(
                "lint-s3-bucket-name",
                f"Resource {_s(resource)}: no S3 bucket can be named {_s(bucket)}: "
                f"bucket names have no {' '.join(repr(c) for c in bad)} (only a-z, 0-9, '.' and '-')",
                _with_rest(resource, _fixed_bucket(bucket) + slash + key),
            )
        ]
    if wild:
        return []  # a pattern: it may be meant for the older buckets below
    if len(bucket) > 255:
        return [
            ArnProblem(
                "lint-s3-bucket-name",
                f"Resource {_s(resource)}: no S3 bucket can have a name of "
                f"{len(bucket)} characters (at most 63; 255 for buckets made before March 2018)",
                "the bucket's name",
            )
        ]
    if not _BUCKET_CHARS.match(bucket) or len(bucket) > 63:
        what = ("upper-case letters" if any(c.isupper() for c in bucket) else "") + (
            " and '_'" if "_" in bucket and any(c.isupper() for c in bucket) else "'_'" if "_" in bucket else ""
        )
        what = what or f"{len(bucket)} characters (at most 63)"
        return [
            ArnProblem(
                "lint-s3-bucket-name",
                f"Resource {_s(resource)}: S3 bucket names have only a-z, 0-9, "
                f"'.' and '-' (3-63 characters), and {_s(bucket)} has {what}; no bucket made since "
                "March 2018 can have that name (only an older bucket in us-east-1 can: if it is one, "
                "suppress lint-s3-bucket-name for this file)",
                _with_rest(resource, _fixed_bucket(bucket) + slash + key),
            )
        ]
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
    return [
        ArnProblem(
            "lint-arn-field",
            f"Resource {_s(resource)}: the account field 'aws' names what AWS owns, and "
            f"in {service} that is only {owned}; a {kind} is in an account",
            f"{_with(resource, 4, 'ACCOUNT')} (ACCOUNT: the 12-digit id of the account it is in, or *)",
        )
    ]


def _region_of(resource: str, partition: str, region: str) -> list[ArnProblem]:
    """Is the region one of the partition's? From the regions AWS lists (botocore's data)."""
    if not region or is_wildcard(region) or not catalogue.REGION.match(region):
        return []
    table = catalogue.partitions()
    if not table or (not is_wildcard(partition) and partition not in table):
        return []
    owner = catalogue.region_partition(region)
    if is_wildcard(partition):
        if owner is None:
            return [
                ArnProblem(
                    "lint-arn-field",
                    f"Resource {_s(resource)}: {_s(region)} is not a region AWS lists in any partition",
                    "a region such as eu-west-1, or *",
                )
            ]
        return []
    if region in table[partition].regions:
        return []
    known = sorted(table[partition].regions)
    if owner and owner != partition:
        return [
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)}: the region {_s(region)} belongs to the "
                f"partition {_s(owner)}, not to {_s(partition)}",
                f"arn:{owner}:...:{region}:... for a resource in {region}, or a region of {partition} "
                f"({', '.join(known[:4])}, ...)",
            )
        ]
    near = catalogue.nearest(region, known, cutoff=0.8)
    return [
        ArnProblem(
            "lint-arn-field",
            f"Resource {_s(resource)}: {_s(region)} is not a region of the partition "
            f"{_s(partition)}: AWS lists no such region for it (known: {', '.join(known)})",
            f'"{near}"' if near else "one of the partition's regions, or *",
        )
    ]


def _field(resource: str, what: str, value: str, shapes: set[str], rx: re.Pattern[str], want: str) -> list[ArnProblem]:
    if is_wildcard(value):
        return []
    var = [s for s in shapes if "${" in s]
    service = resource.split(":")[2]
    if value and not var and shapes <= {""}:
        return [
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)}: {service} ARNs have an empty {what} field, this one has {_s(value)}",
                "nothing between the colons: " + _blank(resource, 3 if what == "region" else 4),
            )
        ]
    if value and var and not rx.match(value) and value not in shapes:
        return [ArnProblem("lint-arn-field", f"Resource {_s(resource)}: {_s(value)} is not a valid {what}", want)]
    if not value and "" not in shapes:
        why = f": {service} ARNs always name the account" if what == "account" else ""
        return [
            ArnProblem(
                "lint-arn-field",
                f"Resource {_s(resource)}: the {what} field is empty{why}",
                want
                if what != "account"
                else _with(resource, 4, "ACCOUNT") + " (ACCOUNT: the 12-digit account id, or *)",
            )
        ]
    return []


def _blank(resource: str, index: int) -> str:
    return _with(resource, index, "")
