"""`vhv record`: what the guide's Conclusion asks the user to hand over to Valohai, read from a Snapshot.

Always: the region and the ARN of the role Valohai assumes. With `provisioning: self`
also the VPC ID, the subnet names, the public and private IP of the queue instance and
the name of its EC2 key pair. A value that cannot be read is listed as missing, with
why (and the rule that explains it: a kind's missing_rule, or the rule of the installed
pack that judges it with a given evaluator). The private key is never read: AWS hands it
out once, at creation, and no API returns it afterwards.

No boto3 here: the snapshot is what validator/aws read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from validator import __version__, rulepack
from validator.checks import Missing
from validator.kinds import KINDS, for_params, name
from validator.picking import judged, missing, pick
from validator.snapshot import Snapshot, Undecidable

PRIVATE_KEY_NOTE = (
    "The key pair's private key is not read or printed by vhv (AWS returns it only once, when the "
    "key pair is created). {who}"
)


@dataclass
class Value:
    key: str
    label: str
    value: Any = None
    missing: str | None = None  # why the value could not be read
    note: str | None = None


@dataclass
class Record:
    account_id: str
    region: str
    provisioning: str
    values: list[Value] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return all(v.missing is None for v in self.values)

    def to_dict(self) -> dict[str, Any]:

        return {
            "tool": "vhv",
            "version": __version__,
            "account_id": self.account_id,
            "region": self.region,
            "provisioning": self.provisioning,
            "complete": self.complete,
            "values": [asdict(v) for v in self.values],
            "notes": self.notes,
        }


def _read(v: Value, fn: Any) -> Value:
    try:
        v.value = fn()
    except Missing as m:
        v.missing = f"{m.name} does not exist" + (f" (rule {m.rule_hint})" if m.rule_hint else "")
    except Undecidable as u:
        v.missing = f"could not be read: {u}"
    except _Absent as a:
        v.missing = str(a)
    return v


class _Absent(Exception):
    """The resource exists but the value is not there."""


@lru_cache(maxsize=None)
def rule_of(kind: str, evaluator: str) -> str:
    """The id of the installed pack's rule that judges `kind` with `evaluator` ("" if not exactly
    one): rule ids live in the pack, and `vhv record` always reads the installed one. Loaded only
    when a message names such a rule."""
    found = [r.id for r in rulepack.load().rules if r.resource == kind and r.evaluator == evaluator]
    return found[0] if len(found) == 1 else ""


def _rule(rule_id: str) -> str:
    return f" (rule {rule_id})" if rule_id else ""


def _master_arn(snap: Snapshot) -> str:
    role = snap.get(KINDS["master_role"].path)
    if not role:
        raise missing("master_role")
    return role["arn"]


def _subnet_names(snap: Snapshot) -> list[str]:
    vpc = pick(snap, "vpc")
    subnets = [s for s in judged(snap, "subnets") if s.get("vpc_id") == vpc["id"]]
    if not subnets:
        raise _Absent(
            f"no subnet named {name('subnets')} in {name('vpc')} ({vpc['id']})" + _rule(KINDS["subnets"].missing_rule)
        )
    return sorted(s.get("name") or s["id"] for s in subnets)


def _eip_for(snap: Snapshot, instance: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    """The guide's Elastic IP, and how it stands to the instance (for messages)."""
    eip_name = name("eip")
    try:
        eip = pick(snap, "eip", required=False)
    except Undecidable as u:
        return None, f"{eip_name} could not be read: {u}"
    if not eip:
        return None, f"{eip_name} does not exist" + _rule(KINDS["eip"].missing_rule)
    if eip.get("instance_id") != instance["id"]:
        where = f"is associated with {eip['instance_id']}" if eip.get("instance_id") else "is not associated"
        return eip, f"{eip_name} ({eip.get('public_ip')}) {where}" + _rule(rule_of("eip", "eip_associated"))
    return eip, ""


def _public_ip(snap: Snapshot, v: Value) -> str:
    inst = pick(snap, "instance")
    eip, problem = _eip_for(snap, inst)
    ip = inst.get("public_ip")
    if not ip:
        raise _Absent(f"{name('instance')} ({inst['id']}) has no public IP" + (f": {problem}" if problem else ""))
    if problem:
        v.note = f"not the Elastic IP, it changes when the instance stops: {problem}"
    return ip


def _private_ip(snap: Snapshot) -> str:
    inst = pick(snap, "instance")
    if not inst.get("private_ip"):
        raise _Absent(f"{name('instance')} ({inst['id']}) has no private IP (state: {inst.get('state')})")
    return inst["private_ip"]


def _key_pair(snap: Snapshot) -> str:
    inst = pick(snap, "instance")
    key = inst.get("key_name")
    if not key:
        raise _Absent(
            f"{name('instance')} ({inst['id']}) was launched without a key pair"
            + _rule(rule_of("instance", "key_pair"))
        )
    if snap.get("key_pairs").get(key) is None:
        raise _Absent(
            f"{name('instance')} names key pair {key!r}, which no longer exists"
            + _rule(rule_of("instance", "key_pair"))
        )
    return key


def _found(snap: Snapshot, params: Any, kind_key: str) -> dict[str, Any]:
    """The data store's resource of `kind_key` as it was read (never the params' word for it)."""
    found = pick(snap, kind_key, required=False)
    if not found:
        kind = KINDS[kind_key]
        raise _Absent(f"{kind.named(params)} does not exist" + _rule(kind.missing_rule))
    return found


def _bucket(snap: Snapshot, params: Any) -> dict[str, Any]:
    return _found(snap, params, "data_bucket")


def _data_store(rec: Record, snap: Snapshot, params: Any) -> None:
    """The data store's settings Valohai asks for: the bucket, its region, how Valohai reaches it
    (an IAM user's access keys, or a role), the multipart upload role. Never a secret access key."""
    store = params.get("data_store")
    if not isinstance(store, dict):
        return
    rec.values.append(_read(Value("data_store_bucket", "Data store bucket"), lambda: _bucket(snap, params)["name"]))
    rec.values.append(
        _read(Value("data_store_region", "Data store bucket region"), lambda: _bucket(snap, params)["region"])
    )
    if store.get("user"):
        rec.values.append(
            _read(
                Value("data_store_user", "Data store IAM user (its access key)"),
                lambda: _found(snap, params, "data_user")["name"],
            )
        )
        rec.notes.append(
            f"The data store's access key of {store['user']} is not read or printed by vhv: create one for "
            "Valohai and share it through your Valohai contact's secure channel."
        )
    else:
        rec.values.append(
            _read(Value("data_store_role", "Data store role"), lambda: _found(snap, params, "data_role")["name"])
        )
    if store.get("multipart_role_arn"):
        rec.values.append(
            _read(
                Value("data_store_multipart_role_arn", "Multipart upload role ARN"),
                lambda: _found(snap, params, "multipart_role")["arn"],
            )
        )


def build(snap: Snapshot, params: Any) -> Record:
    with for_params(params):  # the names of the recipe that built the account
        return _build(snap, params)


def _build(snap: Snapshot, params: Any) -> Record:
    rec = Record(account_id=snap.account_id, region=snap.region, provisioning=params.provisioning)
    rec.values.append(Value("region", "Region", value=snap.region))
    rec.values.append(_read(Value("master_role_arn", f"{name('master_role')} role ARN"), lambda: _master_arn(snap)))
    _data_store(rec, snap, params)
    if params.provisioning != "self":
        rec.notes.append(
            "provisioning: valohai: Valohai creates the network and the queue; only the region and "
            "the role ARN are handed over (and the data store, when the params name one)."
        )
        return rec
    rec.values.append(_read(Value("vpc_id", "VPC ID"), lambda: pick(snap, "vpc")["id"]))
    rec.values.append(_read(Value("subnet_names", "Subnet names"), lambda: _subnet_names(snap)))
    queue = name("instance")
    pub = Value("queue_public_ip", f"Public IP of {queue}")
    rec.values.append(_read(pub, lambda: _public_ip(snap, pub)))
    rec.values.append(_read(Value("queue_private_ip", f"Private IP of {queue}"), lambda: _private_ip(snap)))
    rec.values.append(_read(Value("key_pair_name", "Name of the EC2 Key Pair"), lambda: _key_pair(snap)))
    who = (
        "Valohai installs the queue (queue_installer: valohai): share the private key file you saved with your "
        "Valohai contact through the Vault."
        if params.queue_installer == "valohai"
        else "You install the queue (queue_installer: self): keep the private key; you need it yourself."
    )
    rec.notes.append(PRIVATE_KEY_NOTE.format(who=who))
    return rec
