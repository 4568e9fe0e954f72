"""A snapshot's shape is checked on load (validator/data/snapshot.schema.json).

What `vhv snapshot` writes always loads; a snapshot doctored anywhere with a wrong type (or a
number JSON cannot hold, or a key vhv does not write) is refused with one line that names the
JSON path, what was expected and what was found: never judged, so never a pass.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tests.conftest import write_snapshot
from tests.test_hostile_input import _paths as hostile_paths
from validator import consistency, kinds
from validator import params as params_mod
from validator import snapshot as snapshot_mod
from validator.aws import account as account_mod
from validator.aws import recorder
from validator.aws.session import Target
from validator.cli import main
from validator.demo import DEMO_PARAMS, build_golden
from validator.errors import VhvError
from validator.snapshot import Snapshot

DEAD = "http://127.0.0.1:9"
NOT_OURS = "not a snapshot vhv wrote; take a new one with vhv snapshot"
RAW = "@@raw-json-token@@"


@pytest.fixture
def dead_aws(monkeypatch):
    """`check --snapshot` must not read AWS: a call would be 'cannot reach', not the answer under test."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", DEAD)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _read(for_fix: bool = False, **overrides: Any) -> Snapshot:
    prm = params_mod.from_dict({**DEMO_PARAMS, **overrides})
    snap, _ = account_mod.read(prm, Target(region=prm.region), for_fix=for_fix)
    return snap


@pytest.fixture(scope="module")
def golden(tmp_path_factory) -> dict[str, Path]:
    """The guide's account read by `check` and by `remediate` (for_fix), saved as snapshots."""
    out = tmp_path_factory.mktemp("golden")
    mp = pytest.MonkeyPatch()
    mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    mp.delenv("AWS_ENDPOINT_URL", raising=False)
    try:
        with mock_aws():
            build_golden(boto3.Session(region_name=DEMO_PARAMS["region"]))
            _read().save(out / "snap.json")
            _read(for_fix=True).save(out / "snap_fix.json")
    finally:
        mp.undo()
    (out / "params.yaml").write_text(yaml.safe_dump(DEMO_PARAMS))
    return {"snap": out / "snap.json", "fix": out / "snap_fix.json", "params": out / "params.yaml"}


def _jsonschema_valid(doc: Any) -> bool:
    return not list(jsonschema.Draft202012Validator(snapshot_mod.schema()).iter_errors(doc))


def check(capsys, params: Path, snap: Path) -> tuple[int, str, str]:
    code = main(["check", "--params", str(params), "--snapshot", str(snap), "--format", "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return code, out, err


# ------------------------------------------------------------------ what vhv writes loads


def test_the_schema_is_draft_2020_12_and_the_fast_check_knows_every_keyword_in_it():
    jsonschema.Draft202012Validator.check_schema(snapshot_mod.schema())
    assert snapshot_mod.schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    snapshot_mod._checkers()  # _compile refuses a keyword it does not know


def test_vhv_schema_snapshot_prints_it(capsys):
    assert main(["schema", "snapshot"]) == 0
    assert json.loads(capsys.readouterr().out) == snapshot_mod.schema()


@pytest.mark.parametrize("which", ["snap", "fix"])
def test_the_golden_snapshot_validates_and_round_trips(golden, which):
    doc = json.loads(golden[which].read_text())
    assert _jsonschema_valid(doc)  # the published schema as any validator reads it
    assert snapshot_mod.shape_problem(doc) is None
    loaded = Snapshot.load(golden[which])
    assert loaded.to_dict() == doc


@pytest.mark.usefixtures("dead_aws")
def test_the_golden_snapshot_is_checked_not_refused(capsys, golden):
    code, out, err = check(capsys, golden["params"], golden["snap"])
    assert "vhv: " not in err and code in (0, 1, 2)  # 2 only when a rule errs (test_golden says none does)
    report = json.loads(out)
    assert report["account_id"] == "123456789012" and report["summary"]["pass"] > 50


def test_the_schema_names_what_the_readers_read():
    data = snapshot_mod.schema()["properties"]["data"]["properties"]
    for key in ("policies", "roles", "instance_profiles"):  # the IAM kinds, kept by name
        assert list(data[key]["properties"]) == [k.name for k in kinds.of_snapshot(key)], key
    error_paths = snapshot_mod.schema()["properties"]["errors"]["propertyNames"]["pattern"]
    assert error_paths.startswith("^(" + "|".join(data) + ")(")  # an error names a path into data


REAL_CALL = recorder.Recorder.call


def _denying(action: str) -> Callable[..., Any]:
    """Recorder.call as if `action` were denied (and only it)."""

    def call(self: recorder.Recorder, path: str, act: str, fn: Callable[[], Any]) -> Any:
        if act != action:
            return REAL_CALL(self, path, act, fn)
        self.calls.append(act)
        self.fail(path, f"{act}: AccessDenied")
        return recorder.FAILED

    return call


def _valid(snap: Snapshot, where: str) -> dict[str, Any]:
    doc = json.loads(json.dumps(snap.to_dict(), default=str))
    problem = snapshot_mod.shape_problem(doc)
    assert problem is None, f"{where}: {problem}"
    assert _jsonschema_valid(doc), where
    return doc


def test_every_read_that_fails_leaves_a_snapshot_that_validates(account, monkeypatch):
    # a failed read leaves its subtree out and names it in errors: still the schema's shape
    prm = params_mod.from_dict(dict(DEMO_PARAMS))
    denied = []
    for action in sorted(set(account_mod.PERMISSIONS + account_mod.FIX_PERMISSIONS) - {"sts:GetCallerIdentity"}):
        monkeypatch.setattr(recorder.Recorder, "call", _denying(action))
        snap, calls = account_mod.read(prm, Target(region=prm.region), for_fix=True)
        doc = _valid(snap, f"{action} denied")
        if action in calls:
            assert any(action in why for why in doc["errors"].values()), action
            denied.append(action)
    assert len(denied) >= 15  # iam:ListPolicyTags is asked only of an endpoint that does not give the tags


def test_what_the_readers_write_of_a_drifted_account_validates(account, tmp_path):
    ec2, iam, ids = account.ec2, account.iam, account.ids
    keys: set[str] = set(_valid(_read(for_fix=True), "golden")["data"])
    prefix_list = ec2.create_managed_prefix_list(PrefixListName="pl", MaxEntries=2, AddressFamily="IPv4")["PrefixList"][
        "PrefixListId"
    ]
    ec2.authorize_security_group_ingress(
        GroupId=ids["sg_queue"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
            {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.1.0.0/16"}]},
            {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53, "PrefixListIds": [{"PrefixListId": prefix_list}]},
            {"IpProtocol": "58", "FromPort": -1, "ToPort": -1, "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32"}]},
        ],
    )
    rules = _valid(_read(), "odd rules")["data"]["security_groups"]
    peers = {
        k for g in rules for r in g["ingress"] for k in ("cidr", "cidr_ipv6", "group_id", "prefix_list_id") if k in r
    }
    assert peers == {"cidr", "cidr_ipv6", "group_id", "prefix_list_id"}
    for a in ec2.describe_addresses()["Addresses"]:
        ec2.disassociate_address(AssociationId=a["AssociationId"])
    _valid(_read(), "EIP not associated")  # moto says InstanceId "" then
    ec2.stop_instances(InstanceIds=[ids["instance"]])
    _valid(_read(), "queue stopped")
    ec2.delete_key_pair(KeyName="valohai-queue-key")
    assert _valid(_read(), "key pair deleted")["data"]["key_pairs"] == {"valohai-queue-key": None}
    ec2.terminate_instances(InstanceIds=[ids["instance"]])
    iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=ids["worker_policy"])
    iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    iam.delete_role(RoleName="ValohaiWorkerRole")
    assert _valid(_read(for_fix=True), "role deleted")["data"]["roles"]["ValohaiWorkerRole"] is None
    ec2.delete_tags(Resources=[ids["vpc"]], Tags=[{"Key": "Name"}])
    keys |= set(_valid(_read(for_fix=True), "VPC lost its Name")["data"])
    # the data store reached through a role of the account (Valohai's templates), not a user
    by_role = {"bucket": DEMO_PARAMS["data_store"]["bucket"], "role": "ValohaiMaster"}
    keys |= set(_valid(_read(data_store=by_role), "the data store's role")["data"])
    # what only Valohai's recipes make: the queue's role and secret, the queue's user data
    keys |= set(_valid(_read(built_with="terraform"), "Terraform's account")["data"])
    assert keys == set(snapshot_mod.schema()["properties"]["data"]["properties"])  # no key the readers never write
    # Option 2: IAM, and the data store, which stays the customer's
    assert set(_valid(_read(provisioning="valohai"), "Option 2")["data"]) == {
        "policies",
        "roles",
        "buckets",
        "users",
        "multipart_roles",
        "organization",
    }


def test_an_empty_account_validates(moto_env):
    _valid(_read(for_fix=True), "empty account")


# ------------------------------------------------------------------ doctored snapshots are refused


def _at(doc: dict[str, Any], *where: Any) -> Any:
    node: Any = doc
    for part in where:
        node = node[part]
    return node


def _set(doc: dict[str, Any], where: tuple, value: Any) -> None:
    _at(doc, *where[:-1])[where[-1]] = value


def _drop(doc: dict[str, Any], where: tuple) -> None:
    """Delete the key at `where` (nothing when it is not there); None, as _set."""
    _at(doc, *where[:-1]).pop(where[-1], None)


def _raw(doc: dict[str, Any], where: tuple, token: str) -> str:
    """The document as JSON text with the value at `where` replaced by `token`, written as is."""
    _set(doc, where, RAW)
    return json.dumps(doc).replace(json.dumps(RAW), token)


def _one(doc: dict[str, Any], key: str) -> str:
    return next(iter(doc["data"][key]))


# name -> doctor(doc) returning the file's text (or None: json.dumps(doc)), the path the message
# names ("" for the whole file) and what it must say after the path
CASES: dict[str, Callable[[dict[str, Any]], tuple[str | None, str, str]]] = {
    "sg ingress an object": lambda d: (
        _set(d, ("data", "security_groups", 0, "ingress"), {}),
        "data.security_groups[0].ingress",
        "expected an array, found an object ({})",
    ),
    "route table main a string": lambda d: (
        _set(d, ("data", "route_tables", 0, "main"), "x"),
        "data.route_tables[0].main",
        'expected a boolean, found a string ("x")',
    ),
    "key pair a string": lambda d: (
        _set(d, ("data", "key_pairs", _one(d, "key_pairs")), "x"),
        f"data.key_pairs.{_one(d, 'key_pairs')}",
        'expected an object or null, found a string ("x")',
    ),
    "NaN": lambda d: (
        _raw(d, ("data", "policies", "ValohaiMasterPolicy", "attachment_count"), "NaN"),
        "data.policies.ValohaiMasterPolicy.attachment_count",
        "NaN is not a number vhv writes (JSON has no NaN or Infinity)",
    ),
    "Infinity": lambda d: (
        _raw(d, ("data", "volumes", _one(d, "volumes"), "size"), "Infinity"),
        f"data.volumes.{_one(d, 'volumes')}.size",
        "Infinity is not a number vhv writes",
    ),
    "-Infinity inside a policy document": lambda d: (
        _raw(
            d,
            ("data", "policies", "ValohaiWorkerPolicy", "document", "Statement", 0, "Condition"),
            '{"NumericLessThan": {"aws:MultiFactorAuthAge": [1, -Infinity]}}',
        ),
        "data.policies.ValohaiWorkerPolicy.document.Statement[0].Condition.NumericLessThan.aws:MultiFactorAuthAge[1]",
        "-Infinity is not a number vhv writes",
    ),
    "1e999999": lambda d: (
        _raw(d, ("data", "volumes", _one(d, "volumes"), "size"), "1e999999"),
        f"data.volumes.{_one(d, 'volumes')}.size",
        "1e999999 is not a number vhv writes (too large for a number)",
    ),
    "an int of 5000 digits": lambda d: (
        _raw(d, ("data", "volumes", _one(d, "volumes"), "size"), "9" * 5000),
        f"data.volumes.{_one(d, 'volumes')}.size",
        "999999999999...(5000 digits) is not a number vhv writes (too many digits)",
    ),
    "version true": lambda d: (_set(d, ("version",), True), "", "snapshot format version true (written by vhv"),
    "version 2.0": lambda d: (_set(d, ("version",), 2.0), "", "snapshot format version 2.0 (written by vhv"),
    "account_id null": lambda d: (_set(d, ("account_id",), None), "account_id", "expected a string, found null"),
    "account_id of 11 digits": lambda d: (
        _set(d, ("account_id",), "12345678901"),
        "account_id",
        'expected a 12-digit AWS account id, found a string ("12345678901")',
    ),
    "a VPC CIDR of null": lambda d: (  # found by bench/hostile.py: crashed subnets-cidr-in-vpc's evaluator
        _set(d, ("data", "vpcs", 0, "cidrs", 0), None),
        "data.vpcs[0].cidrs[0]",
        "expected a string, found null",
    ),
    "account_id with a trailing newline": lambda d: (  # Python's $ matches before a final newline
        _set(d, ("account_id",), "123456789012\n"),
        "account_id",
        'expected a 12-digit AWS account id, found a string ("123456789012\\n")',
    ),
    "account_id not the caller's": lambda d: (
        _set(d, ("account_id",), "999999999999"),
        "caller_arn",
        '"arn:aws:sts::123456789012:user/moto" is of account 123456789012, the account_id is 999999999999',
    ),
    "partition mars": lambda d: (
        _set(d, ("partition",), "mars"),
        "partition",
        (
            "expected one of aws, aws-cn, aws-us-gov, aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc, "
            'found a string ("mars")'
        ),
    ),
    "partition of another region": lambda d: (
        _set(d, ("partition",), "aws-cn"),
        "partition",
        '"aws-cn" is not the partition of region eu-west-1 (aws)',
    ),
    "region mars": lambda d: (
        _set(d, ("region",), "mars"),
        "region",
        'expected an AWS region such as eu-west-1, found a string ("mars")',
    ),
    "attached policies a string": lambda d: (
        _set(d, ("data", "roles", "ValohaiMaster", "attached_policies"), "ValohaiMasterPolicy"),
        "data.roles.ValohaiMaster.attached_policies",
        'expected an array, found a string ("ValohaiMasterPolicy")',
    ),
    "subnet cidr an int": lambda d: (
        _set(d, ("data", "subnets", 0, "cidr"), 7),
        "data.subnets[0].cidr",
        "expected a string or null, found an integer (7)",
    ),
    "instance entry a string": lambda d: (
        _set(d, ("data", "instances", 0), "i-0123"),
        "data.instances[0]",
        'expected an object, found a string ("i-0123")',
    ),
    "errors a list": lambda d: (
        _set(d, ("errors",), ["vpcs"]),
        "errors",
        'expected an object, found an array (["vpcs"])',
    ),
    "errors naming a path with no why": lambda d: (
        _set(d, ("errors",), {"vpcs": 1}),
        "errors.vpcs",
        "expected a string, found an integer (1)",
    ),
    "errors naming no path of data": lambda d: (
        _set(d, ("errors",), {"iam:GetRole": "AccessDenied"}),
        "errors",
        'key "iam:GetRole": expected a dotted path into data such as roles.ValohaiMaster as a key',
    ),
    "data missing": lambda d: (_drop(d, ("data",)), "", 'missing the key "data"'),
    "a misspelled key": lambda d: (
        _set(d, ("data", "securitygroups"), d["data"].pop("security_groups")),
        "data",
        'unexpected key "securitygroups" (expected only: policies, roles',
    ),
    "volume size true": lambda d: (
        _set(d, ("data", "volumes", _one(d, "volumes"), "size"), True),
        f"data.volumes.{_one(d, 'volumes')}.size",
        "expected an integer or null, found a boolean (true)",
    ),
    "an sg rule with no peer": lambda d: (
        _drop(d, ("data", "security_groups", 0, "ingress", 0, "cidr"))
        or _drop(d, ("data", "security_groups", 0, "ingress", 0, "group_id")),
        "data.security_groups[0].ingress[0]",
        "expected exactly one of cidr, cidr_ipv6, group_id, prefix_list_id, found none",
    ),
    "a tcp rule with no ports": lambda d: (
        _set(d, ("data", "security_groups", 0, "ingress", 0, "protocol"), "tcp")
        or _drop(d, ("data", "security_groups", 0, "ingress", 0, "from_port")),
        "data.security_groups[0].ingress[0]",
        'missing the key "from_port"',
    ),
    "a port beyond 65535": lambda d: (
        _set(d, ("data", "security_groups", 0, "ingress", 0, "to_port"), 70000),
        "data.security_groups[0].ingress[0].to_port",
        "expected at most 65535, found an integer (70000)",
    ),
    "an image under another key": lambda d: (
        _set(d, ("data", "images", "ubuntu"), None),
        "data.images",
        'key "ubuntu": expected an image id (ami-...) as a key',
    ),
    "a policy document as text": lambda d: (
        _set(d, ("data", "policies", "ValohaiMasterPolicy", "document"), "{}"),
        "data.policies.ValohaiMasterPolicy.document",
        'expected an object or null, found a string ("{}")',
    ),
    "a policy of another name": lambda d: (
        _set(d, ("data", "policies", "ValohaiMasterPolicyy"), None),
        "data.policies",
        'unexpected key "ValohaiMasterPolicyy" (expected only: ValohaiWorkerPolicy, ValohaiMasterPolicy, ValohaiQueuePolicy)',
    ),
}


@pytest.mark.usefixtures("dead_aws")
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_doctored_snapshot_is_refused_with_one_line_naming_the_path(capsys, golden, tmp_path, case):
    doc = json.loads(golden["snap"].read_text())
    text, path, says = CASES[case](doc)
    snap = tmp_path / "doctored.json"
    snap.write_text(text if text is not None else json.dumps(doc))
    code, out, err = check(capsys, golden["params"], snap)
    assert (code, out) == (2, "")
    [line] = err.strip().splitlines()
    where = f"vhv: {snap}: {path}: " if path else f"vhv: {snap}: "
    assert line.startswith(where + says) or (line.startswith(where) and says in line), line
    ending = "take a new snapshot with this vhv" if case.startswith("version") else NOT_OURS
    assert line.endswith(ending) and len(line) < 500, line


def test_a_snapshot_handed_over_in_process_is_checked_too(golden):
    # pytest-xdist workers get the controller's snapshot as a dict (validator/pytest_state.py)
    doc = json.loads(golden["snap"].read_text())
    doc["data"]["route_tables"][0]["main"] = "yes"
    with pytest.raises(VhvError, match=r"^the controller: data\.route_tables\[0\]\.main: expected a boolean"):
        Snapshot.from_dict(doc, source="the controller")


def test_a_key_that_is_not_a_plain_word_is_quoted_in_the_path(golden, tmp_path):
    doc = json.loads(golden["snap"].read_text())
    doc["data"]["key_pairs"] = {"my key.pem": {"name": "my key.pem", "id": None, "type": 7}}
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(doc))
    with pytest.raises(VhvError) as exc:
        Snapshot.load(snap)
    assert 'data.key_pairs["my key.pem"].type: expected a string or null, found an integer (7)' in str(exc.value)


def test_a_long_or_hostile_value_is_cut_and_escaped_in_the_message(golden, tmp_path):
    doc = json.loads(golden["snap"].read_text())
    doc["data"]["subnets"][0]["cidr"] = ["\x1b[2J" + "a" * 100_000] * 1000
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(doc))
    with pytest.raises(VhvError) as exc:
        Snapshot.load(snap)
    message = str(exc.value)
    assert "data.subnets[0].cidr: expected a string or null, found an array ([" in message
    assert "\x1b" not in message and len(message) < 400


# ------------------------------------------------------------------ save writes only what loads


def test_save_refuses_a_shape_that_would_not_load(tmp_path):
    path = tmp_path / "snap.json"
    snap = Snapshot(
        account_id="123456789012",
        region="eu-west-1",
        caller_arn="arn:aws:iam::123456789012:user/me",
        data={"security_groups": {}},
    )
    with pytest.raises(VhvError, match=r"cannot write snapshot: .*data\.security_groups: expected an array"):
        snap.save(path)
    snap.data = {"volumes": {"vol-1": {"id": "vol-1", "size": float("nan"), "type": "gp3"}}}
    with pytest.raises(VhvError, match="cannot write snapshot: Out of range float values"):
        snap.save(path)
    assert list(tmp_path.iterdir()) == []
    snap.data = {}
    snap.save(path)
    assert Snapshot.load(path) == snap


# ------------------------------------------------------------------ the fast check is jsonschema's


def _paths(node: Any) -> list[tuple]:
    return hostile_paths(node, first=2)


MUTATIONS = {
    "null": None,
    "int": 7,
    "neg": -1,
    "float": 1.5,
    "str": "x",
    "empty": "",
    "list": [],
    "dict": {},
    "bool": True,
}


def test_the_fast_check_and_jsonschema_agree_on_every_node_of_the_golden_snapshot_replaced(golden):
    fast, reference = snapshot_mod._checkers()
    published = jsonschema.Draft202012Validator(snapshot_mod.schema())  # as written: $refs, not inlined
    base = json.loads(golden["fix"].read_text())
    inside_documents = ("document", "trust_policy")  # the schema does not look in: any value is its shape
    refused = 0
    for where in _paths(base)[1:]:
        if any(key in where[:-1] for key in inside_documents):
            continue
        for name, value in [*MUTATIONS.items(), ("deleted", RAW)]:
            doc = copy.deepcopy(base)
            if value == RAW:
                del _at(doc, *where[:-1])[where[-1]]
            else:
                _set(doc, where, value)
            error = next(reference.iter_errors(doc), None)
            assert fast(doc) == (error is None), (where, name, error and error.message)
            refused += error is not None
            if name in ("str", "deleted"):  # inlining the $refs changed nothing; a refusal names its path
                assert (next(published.iter_errors(doc), None) is None) == (error is None), (where, name)
                problem = snapshot_mod.shape_problem(doc)
                # beyond the schema: the header's parts agree, and so do data's (validator/consistency.py)
                assert (
                    (problem is None) == (error is None)
                    or where[0] in ("account_id", "region", "partition", "caller_arn")
                    or (error is None and problem == consistency.problem(doc))
                ), (where, name)
                assert problem != "not the shape of a snapshot"
    assert refused > 1000  # the mutations do reach the schema


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(data=st.data())
def test_the_fast_check_and_jsonschema_agree_on_random_doctoring(golden, data):
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from(["vpc-1", "sg-0a", "10.0.0.0/16", "-1", "tcp", ""]),
    )
    values = st.recursive(
        scalars,
        lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=6), kids, max_size=3)),
        max_leaves=8,
    )
    fast, reference = snapshot_mod._checkers()
    doc = json.loads(golden["fix"].read_text())
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(_paths(doc)[1:]))
        _set(doc, where, data.draw(values))
    assert fast(doc) == (not list(reference.iter_errors(doc)))


# ------------------------------------------------------------------ cost


def _crowded(doc: dict[str, Any], n: int) -> dict[str, Any]:
    """`doc` with n subnets, instances (each with its interface) and EIPs and n/4 security groups (copies of its own)."""
    big = copy.deepcopy(doc)
    data = big["data"]
    data["subnets"] = [dict(data["subnets"][0], id=f"subnet-{i:017x}") for i in range(n)]
    data["instances"] = [dict(data["instances"][0], id=f"i-{i:017x}") for i in range(n)]
    data["network_interfaces"] = [
        dict(data["network_interfaces"][0], id=f"eni-{i:017x}", instance_id=f"i-{i:017x}") for i in range(n)
    ]
    data["eips"] = [dict(data["eips"][0], allocation_id=f"eipalloc-{i:017x}") for i in range(n)]
    data["security_groups"] = [dict(data["security_groups"][i % 2], id=f"sg-{i:017x}") for i in range(n // 4)]
    return big


def test_a_crowded_snapshot_loads_and_its_last_entry_is_still_checked(golden, tmp_path):
    # how long it takes is measured by bench/hostile.py --only load, not asserted here
    doc = _crowded(json.loads(golden["snap"].read_text()), 2000)
    path = write_snapshot(tmp_path / "crowded.json", doc)
    assert len(Snapshot.load(path).data["instances"]) == 2000
    doc["data"]["instances"][-1]["state"] = 16
    path.write_text(json.dumps(doc))
    with pytest.raises(VhvError, match=r"data\.instances\[1999\]\.state: expected a string"):
        Snapshot.load(path)


@pytest.mark.parametrize("argv", [["--version"], ["lint", "policy.json"]])
def test_version_and_lint_do_not_import_jsonschema(tmp_path, argv):
    (tmp_path / "policy.json").write_text(
        json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        )
    )
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "validator", *argv],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    imported = [line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time")]
    assert "validator.cli" in imported  # -X importtime did report
    if argv[0] == "lint":
        assert "validator.policy.lint" in imported  # the path was walked
    assert not [m for m in imported if m.split(".")[0] == "jsonschema"]


# ------------------------------------------------------------------ the seal: a well-typed edit

EDITED = "changed after vhv wrote it (its seal does not match what it holds); take a new one with vhv snapshot"


def _sg(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in doc["data"]["security_groups"] if g["name"] == name)


def _queue_ssh(doc: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in _sg(doc, "valohai-sg-queue")["ingress"] if r["from_port"] == 22)


# edits of the right type in the right place, each a lie the shape check cannot see (an independent
# tester's, and the one that matters most: a failure edited into a pass)
WELL_TYPED_EDITS = {
    "the queue's SSH source changed": lambda d: _queue_ssh(d).update(cidr="198.51.100.7/32"),
    "a rule of a security group removed": lambda d: _sg(d, "valohai-sg-workers")["ingress"].pop(),
    "the master policy's statements cut to one": lambda d: d["data"]["policies"]["ValohaiMasterPolicy"][
        "document"
    ].update(Statement=d["data"]["policies"]["ValohaiMasterPolicy"]["document"]["Statement"][:1]),
    "an instance type changed": lambda d: d["data"]["instances"][0].update(type="t3.micro"),
    "the root volume made bigger": lambda d: next(iter(d["data"]["volumes"].values())).update(size=100),
    "the vhv version changed": lambda d: d.update(vhv_version="9.9.9"),
}


@pytest.mark.usefixtures("dead_aws")
@pytest.mark.parametrize("edit", sorted(WELL_TYPED_EDITS))
def test_a_snapshot_edited_after_vhv_wrote_it_is_refused(capsys, golden, tmp_path, edit):
    doc = json.loads(golden["snap"].read_text())
    WELL_TYPED_EDITS[edit](doc)
    assert snapshot_mod.shape_problem(doc) is None  # the edit is of the snapshot's shape: only the seal sees it
    snap = tmp_path / "edited.json"
    snap.write_text(json.dumps(doc, indent=2))
    code, out, err = check(capsys, golden["params"], snap)
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [f"vhv: {snap}: {EDITED}"]


@pytest.mark.usefixtures("dead_aws")
def test_a_drift_edited_out_of_a_snapshot_does_not_pass(capsys, golden, tmp_path):
    doc = json.loads(golden["snap"].read_text())
    _queue_ssh(doc)["cidr"] = "0.0.0.0/0"  # what the account would hold: SSH to the queue from anywhere
    drifted = write_snapshot(tmp_path / "drifted.json", doc)
    code, out, _ = check(capsys, golden["params"], drifted)
    assert code == 1 and any(f["status"] == "fail" for f in json.loads(out)["findings"])
    doc = json.loads(drifted.read_text())
    _queue_ssh(doc)["cidr"] = DEMO_PARAMS["admin_cidr"]  # ... edited back to the guide's by hand
    drifted.write_text(json.dumps(doc))
    code, out, err = check(capsys, golden["params"], drifted)
    assert (code, out) == (2, "") and EDITED in err


def test_the_seal_holds_through_formatting_key_order_and_escapes(golden, tmp_path):
    doc = json.loads(golden["snap"].read_text())
    reordered = dict(reversed(list(doc.items())))
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(reordered, separators=(",", ":"), ensure_ascii=False))
    assert Snapshot.load(snap).to_dict() == doc
    snap.write_text(json.dumps(doc, indent=7, ensure_ascii=True).replace('"valohai-vpc"', '"valohai\\u002dvpc"'))
    assert Snapshot.load(snap).to_dict() == doc


def test_a_snapshot_without_a_seal_is_refused(golden, tmp_path):
    doc = json.loads(golden["snap"].read_text())
    del doc["seal"]
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(doc))
    with pytest.raises(VhvError, match='missing the key "seal"'):
        Snapshot.load(snap)
    doc["version"] = 1  # what vhv wrote before snapshots were sealed: the version says it
    snap.write_text(json.dumps(doc))
    with pytest.raises(VhvError, match=r"snapshot format version 1 .*reads version 2: take a new snapshot"):
        Snapshot.load(snap)


def test_the_controllers_snapshot_is_held_to_its_seal_too(golden):
    doc = json.loads(golden["snap"].read_text())
    assert Snapshot.from_dict(doc, source="the controller").to_dict() == doc
    doc["data"]["vpcs"][0]["cidr"] = doc["data"]["vpcs"][0]["cidrs"][0] = "10.9.0.0/16"
    with pytest.raises(VhvError, match=f"^the controller: {re.escape(EDITED)}$"):
        Snapshot.from_dict(doc, source="the controller")


# ------------------------------------------------------------------ the parts agree (validator/consistency.py)


def _key(d: dict[str, Any], key: str, new: str) -> None:
    entries = d["data"][key]
    old = next(iter(entries))
    entries[new] = entries.pop(old)


# a well-typed lie, resealed (anyone can reseal): what the readers could not have written -> (path, says)
RESEALED_LIES = {
    "a VPC of another name": (
        lambda d: d["data"]["vpcs"][0].update(name="vaIohai-vpc"),
        "data.vpcs[0].name",
        '"vaIohai-vpc", but vhv reads vpcs by the Name tag valohai-vpc',
    ),
    "a name that is not its Name tag": (
        lambda d: d["data"]["igws"][0]["tags"].update(Name="other"),
        "data.igws[0].tags.Name",
        '"other" is not its name "valohai-igw"',
    ),
    "a subnet listed twice": (
        lambda d: d["data"]["subnets"].append(d["data"]["subnets"][0]),
        "data.subnets[3].id",
        "is listed twice (also data.subnets[0])",
    ),
    "a security group vhv does not read": (
        lambda d: d["data"]["security_groups"][0].update(name="default"),
        "data.security_groups[0].name",
        '"default", but vhv reads only the groups',
    ),
    "an image under another id": (
        lambda d: _key(d, "images", "ami-0123456789abcdef0"),
        "data.images.ami-0123456789abcdef0.id",
        'is not its key "ami-0123456789abcdef0"',
    ),
    "a role under another name": (
        lambda d: d["data"]["roles"]["ValohaiMaster"].update(name="ValohaiWorkerRole"),
        "data.roles.ValohaiMaster.name",
        '"ValohaiWorkerRole" is not its key "ValohaiMaster"',
    ),
    "a policy of another account": (
        lambda d: d["data"]["policies"]["ValohaiMasterPolicy"].update(
            arn="arn:aws:iam::999999999999:policy/ValohaiMasterPolicy"
        ),
        "data.policies.ValohaiMasterPolicy.arn",
        "is not the policy ValohaiMasterPolicy of account 123456789012",
    ),
    "an instance profile of another account": (
        lambda d: d["data"]["roles"]["ValohaiWorkerRole"]["instance_profiles"][0].update(
            arn="arn:aws:iam::999999999999:instance-profile/ValohaiWorkerRole"
        ),
        "data.roles.ValohaiWorkerRole.instance_profiles[0].arn",
        "is not the instance profile",
    ),
    "an instance profile that does not hold the role": (  # an independent tester: it passed the profile rule
        lambda d: d["data"]["roles"]["ValohaiWorkerRole"]["instance_profiles"][0].update(roles=[]),
        "data.roles.ValohaiWorkerRole.instance_profiles[0].roles",
        "[] does not hold ValohaiWorkerRole",
    ),
    "a second main route table": (  # an independent tester: the verdict hung on which was listed first
        lambda d: d["data"]["route_tables"].append(
            dict(d["data"]["route_tables"][0], id="rtb-0123456789abcdef0", routes=[])
        ),
        "data.route_tables[1].main",
        "a second main route table of vpc-",
    ),
    "a subnet in two route tables": (
        lambda d: d["data"]["route_tables"].extend(
            dict(
                d["data"]["route_tables"][0],
                id=f"rtb-0123456789abcdef{i}",
                main=False,
                subnet_ids=[d["data"]["subnets"][0]["id"]],
            )
            for i in (1, 2)
        ),
        "data.route_tables[2].subnet_ids",
        "a subnet has one route table",
    ),
    "a route table of a VPC not read": (
        lambda d: d["data"]["route_tables"][0].update(vpc_id="vpc-0123456789abcdef0"),
        "data.route_tables[0].vpc_id",
        '"vpc-0123456789abcdef0" is not a VPC vhv read',
    ),
    "the data store's user of another account": (
        lambda d: d["data"]["users"][0].update(arn="arn:aws:iam::999999999999:user/valohai-data-store"),
        "data.users[0].arn",
        "is not the user valohai-data-store of account 123456789012",
    ),
    "two multipart roles": (
        lambda d: d["data"]["multipart_roles"].append(d["data"]["multipart_roles"][0]),
        "data.multipart_roles",
        "holds 2 entries; vhv reads one role by its name",
    ),
    "a key pair the queue does not use": (
        lambda d: d["data"]["key_pairs"].update({"spare": {"name": "spare", "id": "key-1", "type": "rsa"}}),
        "data.key_pairs",
        "but the queue instances name",
    ),
}


@pytest.mark.usefixtures("dead_aws")
@pytest.mark.parametrize("lie", sorted(RESEALED_LIES))
def test_a_resealed_snapshot_whose_parts_disagree_is_refused(capsys, golden, tmp_path, lie):
    doc = json.loads(golden["snap"].read_text())
    edit, path, says = RESEALED_LIES[lie]
    edit(doc)
    snap = write_snapshot(tmp_path / "lie.json", doc)
    code, out, err = check(capsys, golden["params"], snap)
    assert (code, out) == (2, "")
    [line] = err.strip().splitlines()
    assert line.startswith(f"vhv: {snap}: {path}: ") and says in line and line.endswith(NOT_OURS), line


def test_a_key_written_twice_in_a_snapshot_is_refused(golden, tmp_path):
    # an independent tester: two "data" keys, the first holding a drift; json keeps the last, silently
    text = golden["snap"].read_text()
    doctored = text.replace('"data": {', '"data": {"security_groups": []}, "data": {', 1)
    assert doctored != text
    snap = tmp_path / "twice.json"
    snap.write_text(doctored)
    with pytest.raises(VhvError, match=r'the key "data" is written twice in one object .* ' + re.escape(NOT_OURS)):
        Snapshot.load(snap)


def test_a_lone_surrogate_in_a_snapshot_is_one_line_not_an_internal_error(capsys, golden, tmp_path):
    # an independent tester: "\udfff" in a tag, resealed, reached the console report (UnicodeEncodeError)
    doc = json.loads(golden["snap"].read_text())
    doc["data"]["vpcs"][0]["tags"]["Owner"] = "ops \udfff"
    with pytest.raises(UnicodeEncodeError):
        snapshot_mod.seal_of(doc)  # so no seal can be computed for it: the file below is as a tool would write it
    snap = tmp_path / "surrogate.json"
    snap.write_text(json.dumps({**doc, "seal": "sha256:" + "0" * 64}))
    code, out, err = check(capsys, golden["params"], snap)
    assert (code, out) == (2, "")
    assert err.strip().splitlines() == [
        f"vhv: {snap}: data.vpcs[0].tags.Owner: holds a lone surrogate (a \\ud800-"
        f"\\udfff escape): not text — {NOT_OURS}"
    ]
