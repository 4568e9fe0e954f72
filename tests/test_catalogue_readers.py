"""The readers are the catalogue's: each kind's `reader:` is registered, and it calls exactly the
IAM actions the kind declares.

rules/catalogue.yaml names each kind's reader (a key of validator.aws.readers.READERS) and the
actions it calls (read_actions; fix_read_actions for what remediate adds). `vhv permissions`
prints those declarations, so a reader that calls an undeclared action is denied under the printed
policy, and a declared action no reader calls is a permission too many. Each reader is run alone
on the guide's account (moto) and what its client sends is caught with botocore's `before-call`
event, as tests/test_permissions.py catches a whole check.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import pytest

from validator import kinds, params
from validator.aws import account as account_mod
from validator.aws.actions import iam_action
from validator.aws.readers import LAST_FOR_FIX, READERS
from validator.aws.recorder import Reading, Recorder
from validator.aws.session import Target, client, session
from validator.demo import DEMO_PARAMS, build_golden
from validator.kinds import KINDS
from validator.snapshot import Snapshot

from .conftest import REGION

# the data store reached through a role of the account (the guide's master role, as Valohai's
# templates do) rather than the tutorial's user: the params under which the data_role kind is read
ROLE_PARAMS = {
    **DEMO_PARAMS,
    "data_store": {
        **{k: v for k, v in DEMO_PARAMS["data_store"].items() if k != "user"},
        "role": kinds.name("master_role"),
    },
}


def _params_naming(batch: tuple[kinds.Kind, ...]) -> dict[str, Any]:
    """The demo's params, or the ones that name every kind of `batch` (the data store's role)."""
    plain = params.from_dict(dict(DEMO_PARAMS))
    return dict(DEMO_PARAMS) if all(k.named(plain) for k in batch) else dict(ROLE_PARAMS)


def _kinds_of(reader: str) -> tuple[kinds.Kind, ...]:
    return tuple(k for k in kinds.of_every_recipe() if k.reader == reader)


def test_every_kinds_reader_is_registered_and_every_registered_reader_is_a_kinds():
    # the kinds of every recipe: a recipe's inline policy has a reader the guide's kinds do not name
    named = {k.reader for k in kinds.of_every_recipe() if k.reader}
    assert named - set(READERS) == set(), "kinds name readers that are not in READERS"
    assert set(READERS) - named == set(), "readers no kind names"


def test_a_kind_with_a_reader_declares_what_it_reads_and_what_it_reads_after():
    for name, reader in READERS.items():
        group = _kinds_of(name)
        assert all(k.read_actions for k in group), name
        assert len({k.snapshot for k in group}) == 1, f"{name}: its kinds are kept in one place of the snapshot"
        assert name.split(".")[0] == reader.service, name
        for read in (reader.read, *reader.more, *reader.fix):
            if read.after:  # the reader it waits for is read whenever this one is, and once
                first = READERS[read.after]
                assert not first.each and not first.read.after, (name, read.after)
                assert {k.provisioning for k in group} <= {k.provisioning for k in _kinds_of(read.after)}, name


def test_the_policy_is_the_kinds_read_actions():
    # the guide's kinds: those only Valohai's recipes make are read only in accounts they built
    guides = [k for k in KINDS.values() if k.made_by(kinds.GUIDE)]
    check = {a for k in guides if k.read_for == "check" for a in k.read_actions}
    fix = {a for k in guides for a in k.fix_read_actions + (k.read_actions if k.read_for == "fix" else ())}
    assert set(account_mod.PERMISSIONS) == {"sts:GetCallerIdentity"} | check
    assert set(account_mod.FIX_PERMISSIONS) == fix - check
    assert len(account_mod.PERMISSIONS) == len(set(account_mod.PERMISSIONS))


def test_what_is_read_follows_the_params_and_remediate():
    self_ = params.from_dict(dict(DEMO_PARAMS))
    valohai = params.from_dict({**DEMO_PARAMS, "provisioning": "valohai"})
    every = [  # the store is reached with a user; the queue's role and secret are the recipes'
        k for k in KINDS.values() if k.reader and k.key != "data_role" and k.made_by(kinds.GUIDE)
    ]
    assert account_mod.kinds_read(self_, for_fix=True) == every
    recipe = params.from_dict({**DEMO_PARAMS, "built_with": "terraform"})
    with kinds.for_params(recipe):
        made = {k.key for k in account_mod.kinds_read(recipe)}
    assert {"queue_role", "queue_policy", "redis_secret"} <= made
    by_role = params.from_dict(dict(ROLE_PARAMS))
    assert KINDS["data_role"] in account_mod.kinds_read(by_role)
    assert KINDS["data_user"] not in account_mod.kinds_read(by_role)
    assert account_mod.kinds_read(self_) == [k for k in every if k.read_for == "check"]
    # Option 2: Valohai provisions the network and the queue; IAM (and the data store) are the customer's,
    # and whether the account is in an organisation is asked either way
    assert {READERS[k.reader].service for k in account_mod.kinds_read(valohai, for_fix=True)} == {
        "iam",
        "s3",
        "organizations",
    }
    assert all(k.provisioning == "self" for k in every if k not in account_mod.kinds_read(valohai, for_fix=True))


# ------------------------------------------------------------------ what each reader calls


@dataclass
class Guide:
    """The guide's account (moto), its ids, and what the readers' clients sent."""

    ids: dict[str, Any]
    clients: dict[str, Any]
    account: str
    sent: list[str] = field(default_factory=list)

    def reading(self, for_fix: bool, prm: dict[str, Any] | None = None) -> Reading:
        snap = Snapshot(account_id=self.account, region=REGION, partition="aws", caller_arn="")
        return Reading(self.clients, Recorder(snap), for_fix, params.from_dict(prm or dict(DEMO_PARAMS)))

    def run(self, name: str, batch: tuple[kinds.Kind, ...], for_fix: bool) -> tuple[set[str], Reading]:
        """What reader `name` sends for `batch` (kinds that name it) run alone, as check (or
        remediate, with its fix reads) runs it; a read after another reader is given that one's
        answer, read first and not counted."""
        reader = READERS[name]
        r = self.reading(for_fix, _params_naming(batch))
        calls: set[str] = set()
        for read in (reader.read, *reader.more, *(reader.fix if for_fix else ())):
            first = READERS[read.after] if read.after else None
            found = first.read.fn(self.reading(for_fix), _kinds_of(read.after), None) if first else None
            self.sent.clear()
            read.fn(r, batch, found)
            calls |= set(self.sent)
        assert set(r.rec.calls) == calls, name  # the Recorder's own account names what was sent
        return calls, r


@pytest.fixture
def guide(moto_env) -> Guide:
    """GetPolicy answers without the tags, as an endpoint that does not give them does: the policy
    reader then lists them (moto gives them, and ListPolicyTags would go untried). The data store's
    principals have both kinds of policy, inline and attached, so that their readers read both
    (the guide's master role, read as the data store's role under ROLE_PARAMS, gets an inline one)."""
    ids = build_golden(moto_env)
    iam = moto_env.client("iam", region_name=REGION)
    doc = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}
    )
    extra = iam.create_policy(PolicyName="reader-test-extra", PolicyDocument=doc)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=DEMO_PARAMS["data_store"]["user"], PolicyArn=extra)
    iam.attach_role_policy(RoleName=ids["multipart_role"].rsplit("/", 1)[-1], PolicyArn=extra)
    iam.put_role_policy(RoleName=kinds.name("master_role"), PolicyName="reader-test-inline", PolicyDocument=doc)
    # the guide's roles with what their conditional reads read: an inline policy, another managed
    # policy, a permissions boundary
    for role in (kinds.name("worker_role"), kinds.name("master_role")):
        iam.put_role_policy(RoleName=role, PolicyName="reader-test-inline", PolicyDocument=doc)
        iam.attach_role_policy(RoleName=role, PolicyArn=extra)
        iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=extra)
    target = Target(region=REGION)
    sess = session(target)
    services = {s for r in READERS.values() for s in (r.service, *r.also)}
    clients = {s: client(sess, s, target) for s in services}
    out = Guide(ids, clients, client(sess, "sts", target).get_caller_identity()["Account"])

    def hook(model: Any, **_: Any) -> None:
        out.sent.append(iam_action(model.service_model.service_name, model.name))

    def untagged(parsed: dict[str, Any], **_: Any) -> None:
        parsed.get("Policy", {}).pop("Tags", None)

    for c in clients.values():
        c.meta.events.register("before-call", hook)
    clients["iam"].meta.events.register("after-call.iam.GetPolicy", untagged)
    return out


# the kinds whose conditional reads the `guide` fixture makes them make
EXERCISED = {"worker_role", "master_role"}


def _batches() -> list[tuple[str, tuple[kinds.Kind, ...]]]:
    """(reader, the kinds it is given at once): one kind at a time for a reader that is `each`."""
    out = []
    for name, reader in READERS.items():
        group = _kinds_of(name)
        out += [(name, (k,)) for k in group] if reader.each else [(name, group)]
    return out


@pytest.mark.parametrize(
    ("name", "batch"), _batches(), ids=lambda x: x if isinstance(x, str) else "+".join(k.key for k in x)
)
def test_a_reader_calls_exactly_the_read_actions_of_its_kinds(guide, name, batch):
    if all(k.read_for == "check" for k in batch):
        calls, r = guide.run(name, batch, for_fix=False)
        # the guide's account has none of what the conditional reads read (no KMS key, no group),
        # but for the guide's roles (EXERCISED)
        assert calls == {
            a for k in batch for a in k.read_actions if a not in k.conditional_reads or k.key in EXERCISED
        }, name
        assert not r.rec.snap.errors, r.rec.snap.errors
    calls, r = guide.run(name, batch, for_fix=True)
    declared = {
        a
        for k in batch
        for a in k.read_actions + k.fix_read_actions
        if a not in k.conditional_reads or k.key in EXERCISED
    }
    assert calls == declared, name
    assert not r.rec.snap.errors, r.rec.snap.errors


def test_remediates_last_read_calls_what_the_kinds_it_looks_for_declare(guide):
    """The guide's VPC, IGW, queue instance and EIP without their Name: the last read finds each by
    what points at it, with the fix_read_actions of those kinds."""
    ec2 = guide.clients["ec2"]
    lost = ("vpc", "igw", "instance", "eip")
    eips = [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]]
    ec2.delete_tags(
        Resources=[guide.ids["vpc"], guide.ids["igw"], guide.ids["instance"], *eips], Tags=[{"Key": "Name"}]
    )
    r = guide.reading(for_fix=True)
    for task in account_mod.tasks(r, account_mod.kinds_read(params.from_dict(dict(DEMO_PARAMS)), for_fix=True)):
        task()
    guide.sent.clear()
    [last] = LAST_FOR_FIX.values()
    last(r)
    assert set(r.rec.snap.data["unnamed"]) >= {KINDS[k].snapshot for k in lost}
    assert set(guide.sent) == {a for k in lost for a in KINDS[k].fix_read_actions}


# ------------------------------------------------------------------ names in the snapshot's schema


def test_the_snapshot_schema_file_names_the_kinds_by_key_and_is_printed_with_their_names():
    raw = (resources.files("validator") / "data" / "snapshot.schema.json").read_text(encoding="utf-8")
    for k in KINDS.values():
        if k.match == "none":  # no name of the guide's (the params file)
            continue
        fixed = k.name.split("*")[0]
        assert fixed not in raw, f"snapshot.schema.json spells {fixed}: write {{name:{k.key}}}"
    filled = kinds.fill(raw)
    assert "{name:" not in filled
    assert re.findall(r"\{name:([a-z_0-9]+)\}", raw), "the schema names the IAM kinds it keeps by name"


def test_fill_names_a_kind_and_refuses_an_unknown_one():
    assert kinds.fill('"{name:vpc}"') == f'"{kinds.name("vpc")}"'
    with pytest.raises(KeyError):
        kinds.fill("{name:no_such_kind}")
