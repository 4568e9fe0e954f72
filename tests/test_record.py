"""`vhv record`: the values the guide's Conclusion asks to hand over, read from a moto account."""

from __future__ import annotations

import json

import pytest
import yaml

from tests.conftest import make_account
from validator import params as params_mod
from validator import record
from validator.cli import main
from validator.demo import DEMO_PARAMS
from validator.render.record import render_record

REGION = DEMO_PARAMS["region"]
# the data store as DEMO_PARAMS set it up: its bucket and region, the IAM user, the multipart role
DATA_STORE_KEYS = ["data_store_bucket", "data_store_region", "data_store_user", "data_store_multipart_role_arn"]
OPTION1_KEYS = [
    "region",
    "master_role_arn",
    *DATA_STORE_KEYS,
    "vpc_id",
    "subnet_names",
    "queue_public_ip",
    "queue_private_ip",
    "key_pair_name",
]


def values(rec: record.Record) -> dict:
    return {v.key: v for v in rec.values}


def build(account, **overrides) -> record.Record:
    res = account.check(**overrides)
    return record.build(res.snapshot, params_mod.from_dict({**account.params, **overrides}, source="params.yaml"))


def test_golden_account_hands_over_every_value(account):
    rec = build(account)
    got = values(rec)
    assert list(got) == OPTION1_KEYS and rec.complete
    inst = account.ec2.describe_instances(InstanceIds=[account.ids["instance"]])["Reservations"][0]["Instances"][0]
    eip = account.ec2.describe_addresses(AllocationIds=[account.ids["eip"]])["Addresses"][0]
    assert got["region"].value == REGION
    assert got["master_role_arn"].value == account.ids["master_role"]
    assert got["vpc_id"].value == account.ids["vpc"]
    assert got["subnet_names"].value == ["valohai-subnet-1", "valohai-subnet-2", "valohai-subnet-3"]
    assert got["queue_public_ip"].value == eip["PublicIp"] and got["queue_public_ip"].note is None
    assert got["queue_private_ip"].value == inst["PrivateIpAddress"]
    assert got["key_pair_name"].value == "valohai-queue-key"
    assert any("private key is not read" in n for n in rec.notes)


def test_unassociated_elastic_ip_leaves_the_public_ip_missing_with_why(account):
    assoc = account.ec2.describe_addresses(AllocationIds=[account.ids["eip"]])["Addresses"][0]
    account.ec2.disassociate_address(AssociationId=assoc["AssociationId"])
    got = values(build(account))
    pub = got["queue_public_ip"]
    assert pub.value is None
    assert pub.missing == (
        f"valohai-i-queue ({account.ids['instance']}) has no public IP: valohai-ip-queue "
        f"({assoc['PublicIp']}) is not associated (rule eip-associated)"
    )
    assert got["queue_private_ip"].missing is None


def test_missing_role_and_unreadable_vpc_are_named(account):
    iam = account.iam
    for p in iam.list_attached_role_policies(RoleName="ValohaiMaster")["AttachedPolicies"]:
        iam.detach_role_policy(RoleName="ValohaiMaster", PolicyArn=p["PolicyArn"])
    iam.delete_role(RoleName="ValohaiMaster")
    res = account.check()
    res.snapshot.errors["vpcs"] = "ec2:DescribeVpcs: AccessDenied"  # as the reader records a denied call
    rec = record.build(res.snapshot, params_mod.from_dict(account.params, source="params.yaml"))
    got = values(rec)
    assert got["master_role_arn"].missing == "ValohaiMaster does not exist (rule master-role-exists)"
    assert got["vpc_id"].missing == "could not be read: ec2:DescribeVpcs: AccessDenied"
    assert got["subnet_names"].missing == "could not be read: ec2:DescribeVpcs: AccessDenied"
    assert not rec.complete
    text = render_record(rec, "console")
    assert "MISSING: ValohaiMaster does not exist (rule master-role-exists)" in text
    assert "3 value(s) missing" in text


def test_deleted_key_pair_is_missing(account):
    account.ec2.delete_key_pair(KeyName="valohai-queue-key")
    got = values(build(account))
    assert got["key_pair_name"].missing == (
        "valohai-i-queue names key pair 'valohai-queue-key', which no longer exists (rule queue-instance-key-pair)"
    )


@pytest.mark.managed_policies
def test_option2_hands_over_region_and_role_only(moto_env, pack):
    acct = make_account(moto_env, pack, provisioning="valohai", queue_installer="valohai")
    rec = build(acct)
    assert [v.key for v in rec.values] == ["region", "master_role_arn", *DATA_STORE_KEYS] and rec.complete
    assert any("only the region and the role ARN" in note for note in rec.notes)


def test_private_key_is_never_read_or_printed(account, tmp_path, capsys):
    account.ec2.delete_key_pair(KeyName="valohai-queue-key")
    material = account.ec2.create_key_pair(KeyName="valohai-queue-key")["KeyMaterial"]
    secret = [line for line in material.splitlines() if "PRIVATE KEY" not in line][0]
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(DEMO_PARAMS))
    snap_file = tmp_path / "snap.json"
    assert main(["snapshot", "--params", str(params_file), "-o", str(snap_file)]) == 0
    outputs = [snap_file.read_text()]
    for fmt in ("console", "json", "markdown"):
        assert main(["record", "--params", str(params_file), "--format", fmt]) == 0
        outputs.append(capsys.readouterr().out)
    for text in outputs:
        assert secret not in text and "BEGIN RSA PRIVATE KEY" not in text
    res = account.check()
    assert not [c for c in res.calls if not c.split(":")[1].startswith(("Describe", "Get", "List"))]


def test_vhv_record_json_and_markdown_from_a_snapshot(account, tmp_path, capsys):
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(DEMO_PARAMS))
    snap_file = tmp_path / "snap.json"
    assert main(["snapshot", "--params", str(params_file), "-o", str(snap_file)]) == 0
    out = tmp_path / "record.json"
    assert (
        main(
            [
                "record",
                "--params",
                str(params_file),
                "--snapshot",
                str(snap_file),
                "--format",
                "json",
                "--output",
                str(out),
            ]
        )
        == 0
    )
    doc = json.loads(out.read_text())
    assert doc["complete"] is True and [v["key"] for v in doc["values"]] == OPTION1_KEYS
    assert doc["values"][OPTION1_KEYS.index("vpc_id")]["value"] == account.ids["vpc"]
    assert main(["record", "--params", str(params_file), "--snapshot", str(snap_file), "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert f"| VPC ID | `{account.ids['vpc']}` |" in md
    assert "| Subnet names | `valohai-subnet-1, valohai-subnet-2, valohai-subnet-3` |" in md


def test_the_data_store_is_handed_over_without_a_secret(account):
    got = values(build(account))
    store = DEMO_PARAMS["data_store"]
    assert got["data_store_bucket"].value == store["bucket"]
    assert got["data_store_region"].value == REGION
    assert got["data_store_user"].value == store["user"]
    rec = build(account)
    assert any(f"access key of {store['user']} is not read or printed" in n for n in rec.notes)


def test_a_missing_data_store_bucket_is_named_and_without_the_section_nothing_is_said(account):
    account.params = {**account.params, "data_store": {**DEMO_PARAMS["data_store"], "bucket": "acme-gone"}}
    got = values(build(account))
    assert got["data_store_bucket"].missing == "acme-gone does not exist (rule data-bucket-exists)"
    account.params = {k: v for k, v in DEMO_PARAMS.items() if k != "data_store"}
    assert not [k for k in values(build(account)) if k.startswith("data_store")]
