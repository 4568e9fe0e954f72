"""The user's recorded values (YAML) -> Params.

Loading only checks what must hold for vhv to run at all (YAML, a mapping, the
fixed keys present and of the right type). Whether each value is *right* (a real
region, a valid ARN, a CIDR) is judged by the `params-*` rules, through the same
validators below, so the rule list documents them and `check` can refuse early.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from validator import bounded
from validator.botodata import data_loader  # the readers' loader too: the file is parsed once
from validator.bounded import short
from validator.errors import VhvError
from validator.kinds import BUILT_WITH, GUIDE
from validator.policy.document import is_placeholder

REQUIRED = ("region", "assume_role_arn", "provisioning", "queue_installer", "vpc_cidr")
# admin_cidr is needed only when the user installs the queue themselves.
OPTIONAL = ("admin_cidr", "account_id", "waivers", "data_store", "built_with", "managed_by")
MANAGERS = ("terraform",)  # managed_by: what changes the guide's resources (remediate leaves them to it)
# the data store's section: the S3 bucket Valohai keeps data in, and how Valohai reaches it
DATA_STORE_KEYS = ("bucket", "user", "role", "multipart_role_arn", "web_uploads")
# S3's rule for a general purpose bucket's name (3-63 characters; no IP address: checked below)
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# prefixes and suffixes S3 keeps for its own names (access points, aliases, directory buckets)
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3")
BUCKET_IP_RE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
IAM_NAME_RE = re.compile(r"^[\w+=,.@-]{1,64}$")
CHOICES = ("self", "valohai")
CHOICE_KEYS = ("provisioning", "queue_installer")  # the keys whose value is one of CHOICES
ARN_RE = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>\d{12}):"
    r"(?P<kind>root|role/(?P<role>[\w+=,.@/-]{1,512})|user/(?P<user>[\w+=,.@/-]{1,512}))$"
)
MAX_BYTES = 1_000_000
# what to write instead of a placeholder (RECORDED ... HERE), for the keys `vhv init` leaves one in
PLACEHOLDER_HINTS = {
    "account_id": 'write the id of the account you set up, quoted (account_id: "123456789012"), or delete the line',
    "assume_role_arn": "ask your Valohai contact for the AssumeRole ARN",
    "admin_cidr": "write your IP as a /32",
}


@dataclass(frozen=True)
class Params:
    region: str
    assume_role_arn: str
    provisioning: str
    queue_installer: str
    vpc_cidr: str
    admin_cidr: str | None = None
    source: str = "params.yaml"
    extra: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str) -> Any:
        if key in self.__dataclass_fields__ and key != "extra":
            return getattr(self, key)
        if key == "built_with":  # the guide's own steps unless the params name a recipe
            return self.extra.get(key) or GUIDE
        return self.extra.get(key)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in REQUIRED + ("admin_cidr",)}
        out.update(self.extra)
        return out


def load(path: str | Path) -> Params:
    p = Path(path)
    text = bounded.read_text(p, "params file", MAX_BYTES, f" (write one with `vhv init -o {p}`)")
    return from_text(text, source=str(p))


def is_key(key: Any) -> bool:
    """A key a params file may have: a fixed one, or x-... of the user's own."""
    return key in REQUIRED + OPTIONAL or str(key).startswith("x-")


def unknown_hint(key: str, known: tuple[str, ...] = REQUIRED + OPTIONAL) -> str:
    """'; did you mean ...?' for a key that is not a params key, else the known keys."""
    near = difflib.get_close_matches(key, known, n=1)
    return f"; did you mean {near[0]!r}?" if near else f" (known: {', '.join(known)}; x-... for your own)"


def when_problem(when: dict[str, Any]) -> str | None:
    """Why a rule's `when:` (params key -> value) can never hold, or None: a key that is no
    params value, or a value its key never has, would skip the rule forever."""
    # waivers and data_store: a list and a section, never equal to a value
    values = tuple(k for k in REQUIRED + OPTIONAL if k not in ("waivers", "data_store"))
    values += tuple(f"data_store.{k}" for k in DATA_STORE_KEYS)  # a key of the section: data_store.role
    for key, value in when.items():
        if key not in values and not str(key).startswith("x-"):
            return f"when: unknown params key {short(key)}{unknown_hint(str(key), values)}"
        if key == "built_with" and value not in BUILT_WITH:
            return f"when.built_with: {short(value)} is no recipe (allowed: {'|'.join(BUILT_WITH)})"
        if key in CHOICE_KEYS and value not in CHOICES:
            return (
                f"when.{key}: {short(value)} is never the params' {key} (allowed: {'|'.join(CHOICES)}); "
                "the rule would always be skipped"
            )
    return None


def from_text(text: str, source: str = "params.yaml") -> Params:
    try:
        data = bounded.load_yaml(text)
    except yaml.YAMLError as exc:
        where, problem = bounded.yaml_problem(exc)
        raise VhvError(f"{source}{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise VhvError(f"{source}: YAML nested too deeply") from None
    return from_dict(bounded.check(data, source), source=source)


def from_dict(data: Any, source: str = "params.yaml") -> Params:
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise VhvError(f"{source}: expected a mapping of keys (region, assume_role_arn, ...), got {kind}")
    missing = [k for k in REQUIRED if k not in data or data[k] in (None, "")]
    if missing:
        raise VhvError(f"{source}: missing key {missing[0]!r} (required: {', '.join(REQUIRED)})")
    if data.get("queue_installer") == "self" and data.get("provisioning") == "self" and not data.get("admin_cidr"):
        raise VhvError(f"{source}: missing key 'admin_cidr' (your IP as a CIDR, needed when queue_installer is self)")
    placeholders = [k for k, v in data.items() if isinstance(v, str) and is_placeholder(v)]
    if placeholders:  # a value not filled in yet (`vhv init`'s template, the guide's JSON): as if missing
        raise VhvError(
            f"{source}: "
            + "; ".join(
                f"{k}: {_q(data[k])} is a placeholder; {PLACEHOLDER_HINTS.get(k, 'write the value')}"
                for k in placeholders
            )
        )
    for key in REQUIRED + ("admin_cidr",):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            raise VhvError(f"{source}: key {key!r} must be a string, got {type(data[key]).__name__} {short(data[key])}")
    if "account_id" in data:  # a guard: "", false or 0 must not switch it off silently
        value = data["account_id"]
        if isinstance(value, bool) or not isinstance(value, (str, int)) or not re.fullmatch(r"\d{12}", str(value)):
            raise VhvError(
                f"{source}: account_id: {short(value)} is not a 12-digit AWS account id; write the "
                'account vhv may change, quoted (account_id: "123456789012"), or leave the key out'
            )
    if "built_with" in data and data["built_with"] not in BUILT_WITH:
        raise VhvError(
            f"{source}: built_with: {short(data['built_with'])} is not one of {'|'.join(BUILT_WITH)} "
            "(which of Valohai's recipes built the account; leave it out for the guide's own steps)"
        )
    if "managed_by" in data and data["managed_by"] not in MANAGERS:
        raise VhvError(
            f"{source}: managed_by: {short(data['managed_by'])} is not one of {'|'.join(MANAGERS)} (what changes "
            "the guide's resources: vhv remediate then leaves them to it; leave it out otherwise)"
        )
    if "data_store" in data:
        problem = data_store_problem(data["data_store"])
        if problem:
            raise VhvError(f"{source}: {problem}")
    unknown = [str(k) for k in data if not is_key(k)]
    if unknown:  # a typo'd key (acount_id) would silently switch a guard off
        raise VhvError(f"{source}: unknown key {short(unknown[0])}{unknown_hint(unknown[0])}")
    known = set(REQUIRED) | {"admin_cidr"}
    extra = {str(k): v for k, v in data.items() if k not in known}
    params = Params(
        region=data["region"].strip(),
        assume_role_arn=data["assume_role_arn"].strip(),
        provisioning=data["provisioning"].strip(),
        queue_installer=data["queue_installer"].strip(),
        vpc_cidr=data["vpc_cidr"].strip(),
        admin_cidr=(data.get("admin_cidr") or None) and data["admin_cidr"].strip(),
        source=source,
        extra=extra,
    )
    return params


def bucket_reserved(bucket: str) -> str:
    """Why S3 refuses a name that has a bucket name's letters, or "": an IP address, or a prefix
    or suffix S3 keeps for itself."""
    if BUCKET_IP_RE.match(bucket):
        return "S3 refuses a name written as an IP address"
    pre = next((p for p in BUCKET_RESERVED_PREFIXES if bucket.startswith(p)), None)
    if pre:
        return f"S3 keeps the prefix {pre!r} for itself"
    suf = next((x for x in BUCKET_RESERVED_SUFFIXES if bucket.endswith(x)), None)
    return f"S3 keeps the suffix {suf!r} for itself" if suf else ""


def data_store_problem(value: Any) -> str | None:
    """What is wrong with the params' data_store section (the key named first), or None."""
    if not isinstance(value, dict):
        return f"data_store: expected a section (bucket:, user: or role:, ...), got {short(value)}"
    unknown = [str(k) for k in value if k not in DATA_STORE_KEYS]
    if unknown:
        return f"data_store: unknown key {short(unknown[0])}{unknown_hint(unknown[0], DATA_STORE_KEYS)}"
    bucket = value.get("bucket")
    if not isinstance(bucket, str) or not bucket:
        return f"data_store.bucket: the S3 bucket's name is required, got {short(bucket)}"
    if not BUCKET_RE.match(bucket) or ".." in bucket:
        return (
            f"data_store.bucket: {short(bucket)} is not an S3 bucket name (3-63 lowercase letters, digits, "
            "dots and hyphens, starting and ending with a letter or digit)"
        )
    reserved = bucket_reserved(bucket)
    if reserved:
        return f"data_store.bucket: {short(bucket)} is not an S3 bucket name: {reserved}"
    reach = [k for k in ("user", "role") if value.get(k) is not None]
    if len(reach) != 1:
        return (
            "data_store: write exactly one of user (the IAM user whose access keys Valohai has) or role "
            f"(the role of this account Valohai uses); found {' and '.join(reach) or 'neither'}"
        )
    who = value[reach[0]]
    if not isinstance(who, str) or not IAM_NAME_RE.match(who):
        return f"data_store.{reach[0]}: {short(who)} is not an IAM {reach[0]} name (the name, not an ARN)"
    arn = value.get("multipart_role_arn")
    if arn is not None:
        m = ARN_RE.match(arn) if isinstance(arn, str) else None
        if not m or not m.group("role"):
            return f"data_store.multipart_role_arn: {short(arn)} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
    uploads = value.get("web_uploads")
    if uploads is not None and not isinstance(uploads, bool):
        return f"data_store.web_uploads: write true or false, got {short(uploads)}"
    return None


# ---------------------------------------------------------------- validators
# Each returns None when the value is right, else a message saying what is wrong
# and what to write instead. Used by the params-* rules and by `check` up front.


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    # botocore's endpoints file lists each partition's regions; get_available_regions("ec2")
    # would give the same set but load the whole EC2 service model to get there (a second
    # time in `vhv check`, whose EC2 client loads it again): 3x the time of the region check

    endpoints = data_loader().load_data("endpoints")
    return frozenset(r for partition in endpoints["partitions"] for r in partition.get("regions", {}))


def check_region(value: str) -> str | None:
    if value in known_regions():
        return None

    # the usual slips first (case, '_' for '-', the letter l or I for the digit 1): difflib
    # scores eu-west-1/2/3 alike for 'eu-west-l' and would pick the last
    guess = re.sub(r"-[li]$", "-1", value.strip().lower().replace("_", "-"))
    near = [guess] if guess in known_regions() else difflib.get_close_matches(value, sorted(known_regions()), n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"{_q(value)} is not an AWS region{hint}"


def _q(value: str, quote: bool = True) -> str:
    """`value` for a one-line message: quoted, cut to 200 characters (a value may be 1 MB)."""
    text = repr(value) if quote else value
    return text if len(text) <= 200 else f"{text[:160]}...({len(value):,} characters)"


def check_arn(value: str) -> str | None:

    if is_placeholder(value):
        return f"{_q(value)} is the guide's placeholder; ask your Valohai contact for the AssumeRole ARN"
    m = ARN_RE.match(value)
    if m:
        return None
    if not value.startswith("arn:"):
        return f"{_q(value)} is not an ARN; expected arn:aws:iam::<12-digit account>:role/<name>"
    parts = value.split(":", 5)
    if len(parts) < 6:
        return (
            f"{_q(value)} has {len(parts)} ':'-separated fields, an IAM ARN has 6 (arn:aws:iam::<account>:role/<name>)"
        )
    _, partition, service, region, account, res = parts
    if partition not in ("aws", "aws-cn", "aws-us-gov"):
        return f"{_q(value)}: partition {_q(partition)} is not aws, aws-cn or aws-us-gov"
    if service != "iam":
        return f"{_q(value)}: service {_q(service)} should be 'iam'"
    if region:
        return f"{_q(value)}: IAM ARNs have an empty region field, found {_q(region)}"
    if not re.fullmatch(r"\d{12}", account):
        return f"{_q(value)}: account {_q(account)} is not 12 digits"
    return f"{_q(value)}: resource {_q(res)} should be role/<name>, user/<name> or root"


def check_cidr(value: str) -> str | None:
    try:
        net = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{_q(value)} is not a CIDR ({_q(str(exc), quote=False)}); write it as 10.0.0.0/16 or 203.0.113.7/32"
        return f"{_q(value)} has host bits set; did you mean {str(loose)!r}?"
    if net.version != 4:
        return f"{_q(value)} is IPv6; the guide's VPC and rules use IPv4 CIDRs"
    if "/" not in value:
        return f"{_q(value)} has no prefix length; write it as {value}/32 for one address"
    return None


def check_vpc_cidr(value: str) -> str | None:
    problem = check_cidr(value)
    if problem:
        return problem
    prefix = ipaddress.ip_network(value).prefixlen
    if not 16 <= prefix <= 28:
        return f"{_q(value)}: a VPC's CIDR is /16 to /28 (AWS limit), this is /{prefix}; the guide uses 10.0.0.0/16"
    return None


def check_choice(value: str) -> str | None:
    if value in CHOICES:
        return None
    return f"{_q(value)} is not one of: {', '.join(CHOICES)}"


ADMIN_MIN_PREFIX = 16  # an admin's IP, or an office's or VPN's range; not the internet or a large slice of it


def check_admin_cidr(value: str) -> str | None:
    """Who may SSH to the queue: the guide says "your IP". A valid CIDR, and not the whole
    internet (with 0.0.0.0/0 the SSH rule would pass, and remediate would open SSH to the world)."""
    problem = check_cidr(value)
    if problem:
        return problem
    net = ipaddress.ip_network(value)
    if net.prefixlen < ADMIN_MIN_PREFIX:
        whole = "the whole internet" if net.prefixlen == 0 else f"{net.num_addresses:,} addresses"
        return (
            f"{_q(value)} lets {whole} SSH to the queue; the guide asks for your IP: write it as a /32 "
            f"(an office or VPN range of /{ADMIN_MIN_PREFIX} or narrower is accepted)"
        )
    return None


VALIDATORS = {
    "region": check_region,
    "arn": check_arn,
    "cidr": check_cidr,
    "vpc_cidr": check_vpc_cidr,
    "admin_cidr": check_admin_cidr,
    "choice": check_choice,
}
