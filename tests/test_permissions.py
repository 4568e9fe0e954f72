"""`vhv permissions`: the policy vhv needs is exactly what its readers call.

Every call boto3 actually sends during a real check (moto) is caught with botocore's
`before-call` event on the clients the readers use; each must be in the printed
policy. The denied-call side (a user holding exactly that policy) is in test_e2e.py.
"""

from __future__ import annotations

import json
import sys
import types

import pytest

from validator import permissions
from validator.aws import account as account_mod
from validator.aws.actions import iam_action
from validator.cli import main
from validator.demo import DEMO_PARAMS
from validator.kinds import KINDS

from .conftest import make_account


def printed_policy(capsys, *flags: str) -> dict:
    assert main(["permissions", "--format", "json", *flags]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["actions"] == sorted({a for s in out["policy"]["Statement"] for a in s["Action"]})
    return out["policy"]


def actions_of(doc: dict) -> set[str]:
    return {a for s in doc["Statement"] if s["Effect"] == "Allow" for a in s["Action"]}


def fix_statements(doc: dict) -> dict[str, dict]:
    """The --fix policy's statements beyond check's, by Sid."""
    return {s["Sid"]: s for s in doc["Statement"][1:]}


@pytest.fixture
def sent(monkeypatch) -> set[str]:
    """Every API action the readers' clients send, as IAM names it (service:Operation)."""
    seen: set[str] = set()
    make = account_mod.client

    def hook(model, **_kw) -> None:  # noqa: ANN001
        svc = model.service_model
        seen.add(iam_action(svc.service_name, model.name))

    def client(sess, service, target):  # noqa: ANN001, ANN202
        c = make(sess, service, target)
        c.meta.events.register("before-call", hook)
        return c

    monkeypatch.setattr(account_mod, "client", client)
    return seen


@pytest.mark.parametrize("provisioning", ["self", pytest.param("valohai", marks=pytest.mark.managed_policies)])
def test_every_action_a_check_sends_is_in_the_printed_policy(capsys, moto_env, pack, sent, provisioning):
    acct = make_account(moto_env, pack, provisioning=provisioning)
    result = acct.check()
    assert result.findings
    policy = actions_of(printed_policy(capsys))
    assert "sts:GetCallerIdentity" in sent and "iam:GetRole" in sent
    assert sent <= policy, sorted(sent - policy)
    # the Recorder's own account of what it did names only declared actions, too
    assert set(result.calls) <= policy
    if provisioning == "self":
        # Least privilege: on the guide's account every declared action is used. moto's GetPolicy
        # returns the policy's tags, so the ListPolicyTags fallback (for endpoints that do not) is
        # not exercised; nor are the catalogue's conditional reads: the data store's bucket uses
        # SSE-S3 (tests/test_rules_data_kms.py reads a KMS key) and its user is in no group.
        conditional = {a for k in KINDS.values() if k.made_by("guide") for a in k.conditional_reads}
        assert conditional >= {"kms:DescribeKey", "iam:GetGroupPolicy"}
        assert policy - sent == {"iam:ListPolicyTags", *(conditional - sent)}
    # check reads nothing only the fixers use
    assert not sent & set(account_mod.FIX_PERMISSIONS), sorted(sent & set(account_mod.FIX_PERMISSIONS))


def test_every_action_a_remediate_read_sends_is_in_the_fix_policy(capsys, account, sent):
    """read(for_fix=True), as `vhv remediate` reads: check's reads plus exactly the fixers' reads."""
    check_policy = actions_of(printed_policy(capsys))
    result = account.check(for_fix=True)
    fix_policy = actions_of(printed_policy(capsys, "--fix"))
    assert sent <= fix_policy, sorted(sent - fix_policy)
    assert sent - check_policy == set(account_mod.FIX_PERMISSIONS)
    assert set(result.calls) == sent


def test_printed_policy_is_read_only_and_derived_from_the_readers(capsys):
    doc = printed_policy(capsys)
    assert actions_of(doc) == set(account_mod.PERMISSIONS)
    assert not actions_of(doc) & set(account_mod.FIX_PERMISSIONS)  # the fixers' reads are --fix's
    assert len(doc["Statement"]) == 1 and doc["Version"] == "2012-10-17"
    verbs = {a.split(":")[1].split("Caller")[0] for a in actions_of(doc)}
    assert all(v.startswith(("Describe", "Get", "List")) for v in verbs), verbs


def test_console_format_is_a_policy_document_that_lints_clean(capsys, tmp_path):
    assert main(["permissions"]) == 0
    text = capsys.readouterr().out
    assert json.loads(text) == printed_policy(capsys)
    path = tmp_path / "vhv-policy.json"
    path.write_text(text)
    assert main(["lint", str(path)]) == 0, capsys.readouterr().out


def test_fix_adds_what_the_fixers_declare(capsys, monkeypatch):
    fixers = types.ModuleType("validator.fixers")
    fixers.__path__ = []  # a package with no modules: its own PERMISSIONS only
    fixers.PERMISSIONS = ("ec2:CreateVpc", "ec2:DescribeVpcs", "iam:CreateRole")
    monkeypatch.setitem(sys.modules, "validator.fixers", fixers)
    doc = printed_policy(capsys, "--fix")
    read = doc["Statement"][0]
    assert set(read["Action"]) == set(account_mod.PERMISSIONS)
    # the fixers' writes and the reads only remediate makes; check's reads are not repeated
    fix = {a for st in doc["Statement"][1:] for a in st["Action"]}
    assert fix == {"ec2:CreateVpc", "iam:CreateRole", *account_mod.FIX_PERMISSIONS}
    assert "ec2:DescribeVpcs" not in fix


def test_fix_prefers_the_fixers_own_permissions_function(capsys, monkeypatch):
    fixers = types.ModuleType("validator.fixers")
    fixers.__path__ = []
    fixers.PERMISSIONS = ("ec2:Ignored",)
    fixers.permissions = lambda: ["ec2:AuthorizeSecurityGroupIngress"]
    monkeypatch.setitem(sys.modules, "validator.fixers", fixers)
    doc = printed_policy(capsys, "--fix")
    assert {a for st in doc["Statement"][1:] for a in st["Action"]} == {
        "ec2:AuthorizeSecurityGroupIngress",
        *account_mod.FIX_PERMISSIONS,
    }


def test_fix_in_this_build(capsys):
    """Whatever this build has: either remediation's writes are added, or one line says there are none."""
    writes = permissions.fix_actions()
    code = main(["permissions", "--fix"])
    out, err = capsys.readouterr()
    if writes is None:
        assert code == 2 and out == ""
        assert err.strip().count("\n") == 0 and "remediation is not available" in err
    else:
        assert code == 0 and err == ""
        assert set(writes) <= actions_of(json.loads(out)) and writes


@pytest.mark.parametrize("flags", [(), ("--fix",), ("--fix", "--params")])
def test_each_printed_policy_lints_without_an_error_or_security_finding(capsys, tmp_path, flags):
    if "--params" in flags:
        params = tmp_path / "params.yaml"
        params.write_text(json.dumps(DEMO_PARAMS))
        flags = (*flags, str(params))
    assert main(["permissions", *flags]) == 0
    path = tmp_path / "vhv-policy.json"
    path.write_text(capsys.readouterr().out)
    assert main(["lint", str(path)]) == 0, capsys.readouterr().out
    assert "0 finding(s)" in capsys.readouterr().out


def test_fix_allows_iam_and_s3_writes_only_on_the_guides_resources(capsys):
    doc = printed_policy(capsys, "--fix")
    by_sid = fix_statements(doc)
    anywhere = by_sid["VhvRemediate"]
    assert anywhere["Resource"] == "*"
    assert all(a.startswith("ec2:") for a in anywhere["Action"]), anywhere["Action"]
    assert by_sid["VhvRemediatePassWorkerRoleToItsProfile"] == {
        "Sid": "VhvRemediatePassWorkerRoleToItsProfile",
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": ["arn:aws:iam::*:role/ValohaiWorkerRole"],
    }
    assert by_sid["VhvRemediateRoles"]["Resource"] == [
        "arn:aws:iam::*:role/ValohaiMaster",
        "arn:aws:iam::*:role/ValohaiWorkerRole",
    ]
    assert "iam:CreateRole" in by_sid["VhvRemediateRoles"]["Action"]
    assert by_sid["VhvRemediatePolicies"]["Resource"] == [
        "arn:aws:iam::*:policy/ValohaiMasterPolicy",
        "arn:aws:iam::*:policy/ValohaiWorkerPolicy",
    ]
    assert by_sid["VhvRemediateInstanceProfile"]["Resource"] == ["arn:aws:iam::*:instance-profile/ValohaiWorkerRole"]
    # the bucket is the params': without them, any bucket (never another service's resource)
    assert by_sid["VhvRemediateDataBucket"]["Resource"] == ["arn:aws:s3:::*"]
    assert all(a.startswith("s3:") for a in by_sid["VhvRemediateDataBucket"]["Action"])


def test_fix_with_params_names_their_account_partition_and_bucket(capsys, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(json.dumps({**DEMO_PARAMS, "region": "cn-north-1", "account_id": "210987654321"}))
    doc = printed_policy(capsys, "--fix", "--params", str(params))
    by_sid = fix_statements(doc)
    assert by_sid["VhvRemediatePassWorkerRoleToItsProfile"]["Resource"] == [
        "arn:aws-cn:iam::210987654321:role/ValohaiWorkerRole"
    ]
    bucket = DEMO_PARAMS["data_store"]["bucket"]
    assert by_sid["VhvRemediateDataBucket"]["Resource"] == [f"arn:aws-cn:s3:::{bucket}"]
    # without a data store in the params, remediate writes nothing in S3
    params.write_text(json.dumps({k: v for k, v in DEMO_PARAMS.items() if k != "data_store"}))
    doc = printed_policy(capsys, "--fix", "--params", str(params))
    assert not [a for st in doc["Statement"][1:] for a in st["Action"] if a.startswith("s3:")]
    assert "VhvRemediateDataBucket" not in fix_statements(doc)


def test_params_are_not_needed(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["permissions"]) == 0
    assert DEMO_PARAMS["region"] not in capsys.readouterr().out


def test_every_action_remediate_fix_sends_is_in_the_fix_policy(capsys, moto_env, sent, monkeypatch, tmp_path):
    """On the empty account the plan creates everything the guide asks for: every writer runs."""
    apply_mod = pytest.importorskip("validator.fixers.apply")
    make = apply_mod.client

    def client(sess, service, target):  # noqa: ANN001, ANN202
        c = make(sess, service, target)
        c.meta.events.register(
            "before-call",
            lambda model, **_: sent.add(iam_action(model.service_model.service_name, model.name)),
        )
        return c

    monkeypatch.setattr(apply_mod, "client", client)
    params = tmp_path / "params.yaml"
    params.write_text(json.dumps(DEMO_PARAMS))
    # --force: on the empty account the plan creates more than half of the guide (a safety limit)
    code = main(["remediate", "--params", str(params), "--fix", "--yes", "--force"])
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), err
    assert any(not a.split(":")[1].startswith(("Describe", "Get", "List")) for a in sent), (code, out, err)
    allowed = actions_of(printed_policy(capsys, "--fix"))
    assert sent <= allowed, sorted(sent - allowed)
