"""What the guide's roles are granted outside the guide's own policies: their inline policies and
other managed policies, judged by meaning (worker-role-grants-within-guide,
master-role-grants-within-guide), each extra grant with a severity set by what it allows; and
those inline policies linted inside `vhv check` (worker-role-inline-lint, master-role-inline-lint).

Each case drifts the guide's golden account on moto the way an account drifts: a quick fix put
inline, a managed policy attached beside the guide's.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from validator import engine
from validator import params as params_mod

WORKER, MASTER = "worker-role-grants-within-guide", "master-role-grants-within-guide"
WORKER_ARN = "arn:aws:iam::123456789012:role/ValohaiWorkerRole"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _inline(acct: Any, role: str, name: str, *statements: dict[str, Any]) -> None:
    acct.iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=_doc(*statements))


def _attach(acct: Any, role: str, name: str, *statements: dict[str, Any]) -> None:
    arn = acct.iam.create_policy(PolicyName=name, PolicyDocument=_doc(*statements))["Policy"]["Arn"]
    acct.iam.attach_role_policy(RoleName=role, PolicyArn=arn)


def allow(action: Any, resource: Any = "*", sid: str = "", **extra: Any) -> dict[str, Any]:
    return {**({"Sid": sid} if sid else {}), "Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_the_guide_account_has_no_other_grants_and_nothing_to_lint(account):
    result = account.check()
    for rule_id, role in ((WORKER, "ValohaiWorkerRole"), (MASTER, "ValohaiMaster")):
        f = result.one(rule_id)
        assert f.status == "pass", f.message
        assert f"{role}'s other policies grant nothing beyond the guide (it has none)" in f.message
    for rule_id, role in (
        ("worker-role-inline-lint", "ValohaiWorkerRole"),
        ("master-role-inline-lint", "ValohaiMaster"),
    ):
        f = result.one(rule_id)
        assert f.status == "pass"
        assert f"{role} has no inline policy to lint" in f.message


@pytest.mark.parametrize(
    "statement, severity, because",
    [
        (allow("iam:PassRole", sid="Pass"), "critical", "critical: it allows iam:PassRole"),
        (allow("*", sid="Everything"), "critical", "critical: it allows"),
        (allow("ec2:*", sid="Ec2"), "high", "high: it allows ec2:"),
        (allow("s3:GetObject", "arn:aws:s3:::some-bucket/*", sid="Read"), "medium", "medium: it allows s3:GetObject"),
        (allow("ec2:DescribeVolumes", sid="Look"), "low", "low: it allows ec2:DescribeVolumes"),
    ],
    ids=["passrole", "star-on-star", "ec2-star", "s3-read", "describe"],
)
def test_an_inline_grant_beyond_the_guide_fails_master_with_a_severity_for_what_it_allows(
    account, statement, severity, because
):
    _inline(account, "ValohaiMaster", "quick-fix", statement)
    result = account.check()
    f = result.one(MASTER)
    assert f.status == "fail"
    assert f.severity == severity
    assert (
        f"ValohaiMaster is allowed more than the guide asks by statement '{statement['Sid']}' of inline policy quick-fix"
        in f.message
    )
    assert because in f.message
    assert "Remove statement" in f.fix and "inline policy quick-fix of ValohaiMaster" in f.fix
    # the form of the grant is said once more, at low severity
    form = result.one("master-role-no-inline")
    assert form.status == "fail" and form.severity == "low"
    assert "the guide asks for its grants in the managed policy ValohaiMasterPolicy" in form.message


def test_each_wider_statement_is_its_own_finding_and_a_guide_grant_written_inline_is_not_one(account):
    _inline(
        account,
        "ValohaiMaster",
        "mixed",
        allow("ec2:DescribeInstances", sid="GuideDescribe"),  # the guide's own grant, written again inline
        allow(["iam:PassRole", "iam:GetRole"], WORKER_ARN, sid="GuidePass"),
        allow("ec2:TerminateInstances", sid="Terminate"),
        allow("iam:PassRole", "arn:aws:iam::123456789012:role/*", sid="PassAny"),
    )
    found = {f.message.split(" by ")[1].split(":")[0]: f for f in account.check().of(MASTER)}
    assert set(found) == {"statement 'Terminate' of inline policy mixed", "statement 'PassAny' of inline policy mixed"}
    assert found["statement 'Terminate' of inline policy mixed"].severity == "high"
    assert "ec2:TerminateInstances on * (statement 'Terminate' of inline policy mixed) is not in the guide" in (
        found["statement 'Terminate' of inline policy mixed"].message
    )
    passing = found["statement 'PassAny' of inline policy mixed"]
    assert passing.severity == "critical"
    assert f"the guide allows it only on {WORKER_ARN}" in passing.message


def test_the_worker_role_is_judged_against_its_own_two_actions(account):
    _inline(account, "ValohaiWorkerRole", "data", allow("s3:*", sid="AllS3"))
    f = account.check().one(WORKER)
    assert f.status == "fail"
    # s3:* writes bucket policies: more than a write on data
    assert f.severity == "high"
    assert (
        "ValohaiWorkerRole is allowed more than the guide asks by statement 'AllS3' of inline policy data" in f.message
    )
    assert "s3:* on * (statement 'AllS3' of inline policy data) allows" in f.message


def test_the_guides_own_actions_inline_on_the_worker_pass(account):
    _inline(
        account,
        "ValohaiWorkerRole",
        "same",
        allow(["autoscaling:SetInstanceProtection", "ec2:DescribeInstances"], sid="Same"),
    )
    result = account.check()
    f = result.one(WORKER)
    assert f.status == "pass"
    assert "ValohaiWorkerRole's other policies grant nothing beyond the guide (inline policy same)" in f.message
    assert result.one("worker-role-no-inline").status == "fail"


def test_an_other_managed_policy_is_judged_by_what_it_grants(account):
    _attach(account, "ValohaiWorkerRole", "TeamExtras", allow("iam:CreateUser", sid="Users"))
    result = account.check()
    f = result.one(WORKER)
    assert f.status == "fail" and f.severity == "critical"
    assert "statement 'Users' of TeamExtras (default version v1)" in f.message
    assert "critical: it allows iam:CreateUser" in f.message
    assert result.one("worker-role-attached-only").status == "fail"


def test_not_action_inline_is_critical(account):
    _inline(account, "ValohaiMaster", "broad", {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    f = account.check().one(MASTER)
    assert f.status == "fail"
    assert "uses NotAction: it allows every action except iam:*" in f.message
    # sts:AssumeRole and organizations writes are in what NotAction iam:* allows
    assert f.severity == "critical"


def test_data_store_s3_inline_on_the_master_is_expected_when_the_params_say_so(account):
    bucket = "valohai-data-123456789012"
    _inline(
        account,
        "ValohaiMaster",
        "data",
        allow("s3:*", [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"], sid="Data"),
    )
    with_store = account.check(data_store={"bucket": bucket, "role": "ValohaiMaster"})
    assert with_store.one(MASTER).status == "pass"
    without = account.check()
    assert without.one(MASTER).status == "fail"
    assert f"s3:* on arn:aws:s3:::{bucket}" in without.one(MASTER).message


@pytest.mark.managed_policies
def test_option_twos_aws_policies_are_left_to_their_own_rules(account):
    account.iam.attach_role_policy(RoleName="ValohaiMaster", PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess")
    result = account.check()
    assert result.one(MASTER).status == "pass"
    assert result.one("master-role-no-ec2-full-access").status == "fail"


def test_an_unreadable_inline_document_is_an_error_not_a_pass(account):
    _inline(account, "ValohaiMaster", "odd", allow("ec2:DescribeVolumes"))
    snap = account.check().snapshot
    snap.data["roles"]["ValohaiMaster"]["inline_documents"][0]["document"] = "not json at all"
    prm = params_mod.from_dict(dict(account.params), source="params.yaml")
    again = engine.evaluate(account.pack, prm, snap, only=[MASTER])
    assert [f.status for f in again] == ["error"]
    assert "inline policy odd of ValohaiMaster cannot be read as a policy" in again[0].message


def test_inline_policies_are_linted_inside_check_as_warnings(account):
    _inline(account, "ValohaiMaster", "lintme", {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
    findings = account.check().of("master-role-inline-lint")
    assert findings and all(f.status == "warn" for f in findings)
    text = " ".join(f.message for f in findings)
    assert "inline policy lintme of ValohaiMaster: lint-passrole-star" in text
