"""What the guide's roles can actually do: their policies, permissions boundary and Deny statements
together (worker-role-effective-permissions, master-role-effective-permissions).

Each case drifts the guide's golden account on moto, the way an account drifts: a boundary set on
the role, a Deny in another policy, a grant moved into an inline policy.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from validator import engine
from validator import params as params_mod
from validator.demo import DEMO_PARAMS

WORKER, MASTER = "worker-role-effective-permissions", "master-role-effective-permissions"


def _policy(acct: Any, name: str, *statements: dict[str, Any]) -> str:
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    return acct.iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))["Policy"]["Arn"]


def _boundary(acct: Any, role: str, arn: str) -> None:
    acct.iam.put_role_permissions_boundary(RoleName=role, PermissionsBoundary=arn)


def _inline(acct: Any, role: str, name: str, *statements: dict[str, Any]) -> None:
    doc = {"Version": "2012-10-17", "Statement": list(statements)}
    acct.iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(doc))


def deny(action: Any, resource: Any = "*", sid: str = "", **extra: Any) -> dict[str, Any]:
    return {**({"Sid": sid} if sid else {}), "Effect": "Deny", "Action": action, "Resource": resource, **extra}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def test_the_guide_account_can_do_what_the_guide_grants(account):
    result = account.check()
    assert result.one(WORKER).status == "pass"
    assert result.one(MASTER).status == "pass"
    assert "ValohaiWorkerRole can do what the guide grants it" in result.one(WORKER).message


@pytest.mark.managed_policies
def test_a_boundary_without_set_instance_protection_fails_the_worker_role(account):
    # false pass 1: AmazonEC2ReadOnlyAccess as the boundary allows no autoscaling:SetInstanceProtection
    _boundary(account, "ValohaiWorkerRole", "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
    result = account.check()
    f = result.one(WORKER)
    assert f.status == "fail"
    assert "autoscaling:SetInstanceProtection on * is outside the permissions boundary AmazonEC2ReadOnlyAccess" in (
        f.message
    )
    assert "ec2:DescribeInstances" not in f.message  # the read-only boundary allows it
    assert "permissions boundary" in f.fix
    assert result.failing() == {WORKER}  # what is written is still the guide's


def test_a_boundary_allowing_only_get_object_fails_the_master_role_naming_each_action(account):
    # false pass 2
    arn = _policy(account, "only-get-object", allow("s3:GetObject"))
    _boundary(account, "ValohaiMaster", arn)
    f = account.check().one(MASTER)
    assert f.status == "fail"
    assert f.severity == "critical"
    for action in ("ec2:RunInstances", "iam:PassRole", "ec2:DescribeSubnets", "iam:CreateServiceLinkedRole"):
        assert action in f.message
    assert "ec2:RunInstances on * is outside the permissions boundary only-get-object" in f.message


def test_a_boundary_that_allows_the_guide_passes_and_is_named(account):
    arn = _policy(account, "ec2-and-autoscaling", allow(["ec2:*", "autoscaling:*"]))
    _boundary(account, "ValohaiWorkerRole", arn)
    f = account.check().one(WORKER)
    assert f.status == "pass"
    assert "within permissions boundary ec2-and-autoscaling" in f.message


def test_a_deny_in_an_inline_policy_is_named_with_its_policy(account):
    _inline(account, "ValohaiWorkerRole", "guardrail", deny("autoscaling:*", sid="NoScaling"))
    f = account.check().one(WORKER)
    assert f.status == "fail"
    assert (
        "autoscaling:SetInstanceProtection on * is denied by statement 'NoScaling' of inline policy guardrail"
        in f.message
    )
    assert "Narrow the Deny" in f.fix


def test_a_deny_in_the_boundary_wins_over_its_allow(account):
    arn = _policy(account, "allow-all-but-run", allow("*"), deny("ec2:RunInstances", sid="NoRun"))
    _boundary(account, "ValohaiMaster", arn)
    f = account.check().one(MASTER)
    assert f.status == "fail"
    assert "ec2:RunInstances on * is denied by statement 'NoRun' of permissions boundary allow-all-but-run" in f.message
    assert "ec2:CreateLaunchTemplate" not in f.message


def test_a_deny_of_every_instance_takes_the_guides_star_away(account):
    _inline(
        account,
        "ValohaiMaster",
        "no-instances",
        deny("ec2:RunInstances", "arn:aws:ec2:*:*:instance/*", sid="NoInstances"),
    )
    f = account.check().one(MASTER)
    assert f.status == "fail"
    assert "ec2:RunInstances on * is denied by statement 'NoInstances' of inline policy no-instances" in f.message
    assert "(on arn:aws:ec2:*:*:instance/*)" in f.message


def test_a_deny_on_another_service_resource_takes_nothing(account):
    _inline(account, "ValohaiMaster", "no-bucket", deny("*", "arn:aws:s3:::secret-bucket/*"))
    assert account.check().one(MASTER).status == "pass"


@pytest.mark.parametrize(
    "condition, denied",
    [
        ({"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}, True),  # the params' region is eu-west-1
        ({"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, False),
        ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, True),  # no MFA on Valohai's session
        ({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, True),  # a role's session: present, false
        ({"Null": {"aws:MultiFactorAuthPresent": "true"}}, False),
        ({"StringEquals": {"aws:ResourceTag/Valohai": "1"}}, True),  # the guide launches tagged resources
        ({"StringNotEquals": {"aws:PrincipalTag/team": "ml"}}, True),  # the role has no such tag
        ({"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}, True),
        ({"DateGreaterThan": {"aws:CurrentTime": "2999-01-01T00:00:00Z"}}, False),
    ],
    ids=[
        "other region only",
        "own region allowed",
        "insecure transport",
        "MFA IfExists",
        "MFA false",
        "MFA null",
        "guide tag",
        "principal tag missing",
        "after a past date",
        "after a future date",
    ],
)
def test_a_deny_under_a_condition_applies_as_valohais_request_meets_it(account, condition, denied):
    _inline(account, "ValohaiMaster", "guardrail", deny("ec2:RunInstances", sid="Guard", Condition=condition))
    f = account.check().one(MASTER)
    assert f.status == ("fail" if denied else "pass"), f.message
    if denied:
        assert "ec2:RunInstances on * is denied by statement 'Guard' of inline policy guardrail" in f.message


def test_a_deny_under_a_condition_vhv_cannot_judge_is_an_error_naming_the_key(account):
    # some of Valohai's possible addresses are in 34.0.0.0/8, others not: vhv cannot know which it calls from
    condition = {"NotIpAddress": {"aws:SourceIp": ["34.0.0.0/8"]}}
    _inline(account, "ValohaiMaster", "guardrail", deny("ec2:RunInstances", sid="Guard", Condition=condition))
    f = account.check().one(MASTER)
    assert f.status == "error"
    assert "aws:sourceip" in f.message
    assert "statement 'Guard' of inline policy guardrail" in f.message


def test_a_boundary_deny_every_source_address_meets_fails_naming_the_deny(account):
    # held-out C11: Valohai calls from some public IPv4 address, and 0.0.0.0/0 holds them all
    arn = _policy(
        account,
        "guard",
        allow("*"),
        deny("ec2:RunInstances", sid="Anywhere", Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}),
    )
    _boundary(account, "ValohaiMaster", arn)
    f = account.check().one(MASTER)
    assert f.status == "fail", f.message
    assert "ec2:RunInstances on * is denied by statement 'Anywhere' of permissions boundary guard" in f.message


def test_a_boundary_allowing_only_where_no_public_address_is_fails_naming_the_boundary(account):
    # held-out C12: NotIpAddress 0.0.0.0/0 is never met by Valohai's request
    arn = _policy(account, "nowhere", allow("*", Condition={"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}))
    _boundary(account, "ValohaiMaster", arn)
    f = account.check().one(MASTER)
    assert f.status == "fail", f.message
    assert (
        "ec2:RunInstances on * is outside the permissions boundary nowhere: it is allowed only under a condition "
        in (f.message)
    )


@pytest.mark.parametrize(
    "condition, status",
    [
        ({"IpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}}, "pass"),
        ({"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}, "pass"),
        ({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}, "fail"),
        ({"IpAddress": {"aws:SourceIp": ["34.248.245.191/32"]}}, "error"),
    ],
    ids=["every public address", "not a private range", "only a private range", "one address"],
)
def test_a_boundary_under_a_source_ip_condition_is_judged_for_every_public_address(account, condition, status):
    arn = _policy(account, "by-address", allow("*", Condition=condition))
    _boundary(account, "ValohaiMaster", arn)
    f = account.check().one(MASTER)
    assert f.status == status, f.message
    if status == "error":
        assert "aws:sourceip" in f.message


def test_the_guide_grants_from_an_inline_policy_count(account):
    account.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    _inline(
        account, "ValohaiWorkerRole", "worker", allow(["autoscaling:SetInstanceProtection", "ec2:DescribeInstances"])
    )
    result = account.check()
    assert result.one(WORKER).status == "pass"
    assert result.one("worker-role-policy-attached").status == "fail"  # what is written still differs


@pytest.mark.managed_policies
def test_the_guide_grants_from_another_managed_policy_count(account):
    account.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    account.iam.attach_role_policy(
        RoleName="ValohaiWorkerRole", PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess"
    )
    f = account.check().one(WORKER)
    # AmazonEC2FullAccess allows autoscaling:* and ec2:*
    assert f.status == "pass", f.message


def test_a_role_with_nothing_attached_is_told_which_policy_to_attach(account):
    account.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    f = account.check().one(WORKER)
    assert f.status == "fail"
    assert "ec2:DescribeInstances on * is not allowed by any policy of ValohaiWorkerRole" in f.message
    assert "Attach ValohaiWorkerPolicy" in f.fix


@pytest.mark.managed_policies
def test_a_missing_grant_and_a_boundary_are_both_said(account):
    account.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    _boundary(account, "ValohaiWorkerRole", "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
    f = account.check().one(WORKER)
    assert (
        "autoscaling:SetInstanceProtection on * is not allowed by any policy of ValohaiWorkerRole and is outside "
        "the permissions boundary AmazonEC2ReadOnlyAccess" in f.message
    )


def _errored(account: Any, path: str, why: str) -> Any:
    snap = account.check().snapshot
    snap.errors[path] = why
    prm = params_mod.from_dict(dict(DEMO_PARAMS), source="params.yaml")
    return {f.rule_id: f for f in engine.evaluate(account.pack, prm, snap)}


@pytest.mark.parametrize(
    "part", ["permissions_boundary", "inline_documents", "attached_documents"], ids=lambda p: p.replace("_", " ")
)
def test_a_part_that_could_not_be_read_is_an_error_not_a_pass(account, part):
    got = _errored(account, f"roles.ValohaiMaster.{part}", "AccessDenied: iam:GetPolicy")
    assert got[MASTER].status == "error"
    assert "AccessDenied: iam:GetPolicy" in got[MASTER].message
    assert got["master-role-trust"].status == "pass"  # the other rules of the role are still judged


@pytest.mark.managed_policies
def test_the_reads_are_made_only_for_what_the_role_has(account):
    before = account.check().calls
    _boundary(account, "ValohaiWorkerRole", "arn:aws:iam::aws:policy/AmazonEC2ReadOnlyAccess")
    _inline(account, "ValohaiMaster", "extra", allow("ec2:DescribeVpcs"))
    after = account.check().calls
    assert after.count("iam:GetRolePolicy") == before.count("iam:GetRolePolicy") + 1
    assert after.count("iam:GetPolicy") == before.count("iam:GetPolicy") + 1
    assert after.count("iam:GetPolicyVersion") == before.count("iam:GetPolicyVersion") + 1


# ------------------------------------------------------------------ what vhv cannot read: an organisation's SCPs

SCP = "account-organization-scp"


def test_an_account_in_no_organisation_passes(account):
    f = account.check().one(SCP)
    assert f.status == "pass"
    assert "is in no organisation" in f.message


def test_the_management_account_passes(account):
    org = account.session.client("organizations", region_name="us-east-1").create_organization(FeatureSet="ALL")
    f = account.check().one(SCP)
    assert f.status == "pass"
    assert f"manages organisation {org['Organization']['Id']}" in f.message


def test_a_member_account_is_warned_once_that_its_scps_cannot_be_read(account):
    # moto makes the caller's account the management account of any organisation it creates: a
    # member account is the snapshot of one, as DescribeOrganization answers there
    snap = account.check().snapshot
    snap.data["organization"] = {
        "id": "o-abc123",
        "arn": "arn:aws:organizations::999999999999:organization/o-abc123",
        "management_account_id": "999999999999",
    }
    prm = params_mod.from_dict(dict(DEMO_PARAMS), source="params.yaml")
    found = [f for f in engine.evaluate(account.pack, prm, snap) if f.status == "warn" and "organisation" in f.message]
    assert [f.rule_id for f in found] == [SCP]
    assert "member of organisation o-abc123 (managed by account 999999999999)" in found[0].message
    assert "service control policies" in found[0].message
    assert "management account" in found[0].fix


def test_an_organisation_that_could_not_be_read_is_an_error(account):
    got = _errored(account, "organization", "AccessDenied: organizations:DescribeOrganization")
    assert got[SCP].status == "error"
    assert "organizations:DescribeOrganization" in got[SCP].message


def test_a_deny_of_what_carries_the_guides_tag_is_decided_for_the_worker_role(account):
    condition = {"StringEquals": {"aws:ResourceTag/Valohai": "1"}}
    _inline(
        account, "ValohaiWorkerRole", "guard", deny("autoscaling:SetInstanceProtection", sid="G", Condition=condition)
    )
    f = account.check().one(WORKER)
    assert f.status == "fail"
    assert "autoscaling:SetInstanceProtection on * is denied by statement 'G' of inline policy guard" in f.message


def test_an_allow_on_every_group_of_the_account_grants_what_the_guides_star_does(account):
    account.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    groups = "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*"
    _inline(
        account,
        "ValohaiWorkerRole",
        "w",
        allow("autoscaling:SetInstanceProtection", groups),
        allow("ec2:DescribeInstances"),
    )
    assert account.check().one(WORKER).status == "pass"


def test_an_allow_on_some_groups_does_not(account):
    account.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    some = "arn:aws:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/valohai-*"
    _inline(
        account,
        "ValohaiWorkerRole",
        "w",
        allow("autoscaling:SetInstanceProtection", some),
        allow("ec2:DescribeInstances"),
    )
    f = account.check().one(WORKER)
    assert f.status == "fail"
    assert "autoscaling:SetInstanceProtection on * is not allowed by any policy of ValohaiWorkerRole" in f.message


# ------------------------------------------------------------------ requests as IAM sees them (an outside tester's cases)


def test_a_region_lock_takes_the_iam_actions_away_as_iam_names_us_east_1(account):
    arn = _policy(
        account,
        "region-lock",
        allow("*"),
        deny("*", sid="OnlyHere", Condition={"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}),
    )
    _boundary(account, "ValohaiMaster", arn)
    f = account.check().one(MASTER)
    assert f.status == "fail"
    assert "iam:PassRole on " in f.message and "is denied by statement 'OnlyHere'" in f.message
    assert "ec2:RunInstances" not in f.message  # EC2 is called in the params' region


def test_a_describe_carries_no_resource_tag(account):
    arn = _policy(account, "tagged-only", allow("*", Condition={"StringEquals": {"aws:ResourceTag/Valohai": "1"}}))
    _boundary(account, "ValohaiWorkerRole", arn)
    f = account.check().one(WORKER)
    assert f.status == "fail"
    assert "ec2:DescribeInstances on * is outside the permissions boundary tagged-only" in f.message
    assert "autoscaling:SetInstanceProtection" not in f.message  # it acts on Valohai's tagged group


def test_string_equals_on_the_guides_tag_takes_the_create_actions_away(account):
    # the guide's ForAllValues:StringEquals holds when a create carries no tag; StringEquals does not
    doc = json.loads(json.dumps(guide_master_doc(account)))
    for st in doc["Statement"]:
        if "Condition" in st:
            st["Condition"] = {"StringEquals": {"aws:ResourceTag/Valohai": "1"}}
    account.iam.create_policy_version(
        PolicyArn=account.ids["master_policy"], PolicyDocument=json.dumps(doc), SetAsDefault=True
    )
    f = account.check().one(MASTER)
    assert f.status == "fail"
    assert (
        "ec2:CreateLaunchTemplate on * is allowed only under a condition Valohai's request does not meet" in f.message
    )
    assert "ec2:ModifyLaunchTemplate" not in f.message


def guide_master_doc(account: Any) -> dict[str, Any]:
    from validator import guide

    return guide.master_policy(account.ids["worker_role"])


def test_a_deny_unless_mfa_applies_to_a_role_session(account):
    condition = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}
    _inline(account, "ValohaiWorkerRole", "mfa", deny("*", sid="ForceMFA", Condition=condition))
    f = account.check().one(WORKER)
    assert f.status == "fail"
    assert "is denied by statement 'ForceMFA'" in f.message


def test_a_json_boolean_in_a_condition_is_the_string_true(account):
    arn = _policy(account, "b", allow("*"), deny("*", sid="Tls", Condition={"Bool": {"aws:SecureTransport": True}}))
    _boundary(account, "ValohaiWorkerRole", arn)
    assert account.check().one(WORKER).status == "fail"


def test_a_policy_variable_in_a_deny_is_resolved_from_the_roles_tags(account):
    account.iam.tag_role(RoleName="ValohaiMaster", Tags=[{"Key": "workers", "Value": "ValohaiWorkerRole"}])
    doc = deny("iam:PassRole", "arn:aws:iam::*:role/${aws:PrincipalTag/workers}", sid="NoPass")
    _inline(account, "ValohaiMaster", "v", doc)
    f = account.check().one(MASTER)
    assert f.status == "fail"
    assert "iam:PassRole on arn:aws:iam::123456789012:role/ValohaiWorkerRole is denied by statement 'NoPass'" in (
        f.message
    )


def test_a_policy_variable_that_cannot_be_resolved_is_an_error(account):
    _inline(account, "ValohaiMaster", "v", deny("iam:PassRole", "arn:aws:iam::*:role/${aws:SourceVpc}"))
    f = account.check().one(MASTER)
    assert f.status == "error"
    assert "cannot resolve the policy variables" in f.message


def test_a_deny_on_one_named_instance_leaves_the_guides_star(account):
    _inline(account, "ValohaiWorkerRole", "other", deny("ec2:*", "arn:aws:ec2:*:*:instance/i-0prod"))
    assert account.check().one(WORKER).status == "pass"


def test_a_certain_deny_is_said_though_another_is_undecidable(account):
    _inline(
        account,
        "ValohaiMaster",
        "two",
        deny("ec2:RunInstances", sid="Ip", Condition={"NotIpAddress": {"aws:SourceIp": ["34.0.0.0/8"]}}),
        deny("ec2:RunInstances", sid="Always"),
    )
    f = account.check().one(MASTER)
    assert f.status == "fail"
    assert "is denied by statement 'Always'" in f.message


def test_pass_role_to_ec2_is_known(account):
    condition = {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}
    _inline(account, "ValohaiMaster", "p", deny("iam:PassRole", sid="NoEc2", Condition=condition))
    f = account.check().one(MASTER)
    assert f.status == "fail"
    assert "iam:PassRole on " in f.message


def test_the_data_store_users_own_deny_unless_mfa_takes_its_access_away(account):
    user = DEMO_PARAMS["data_store"]["user"]
    condition = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    doc = {"Version": "2012-10-17", "Statement": [deny("*", sid="ForceMFA", Condition=condition)]}
    account.iam.put_user_policy(UserName=user, PolicyName="force-mfa", PolicyDocument=json.dumps(doc))
    f = account.check().one("data-user-bucket-access")
    assert f.status == "fail"
    assert "is denied by statement 'ForceMFA' of inline policy force-mfa" in f.message


def test_a_certain_failure_of_one_action_is_said_though_another_is_undecidable(account):
    arn = _policy(
        account,
        "mixed",
        allow("ec2:Describe*", Condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}),
    )
    _boundary(account, "ValohaiWorkerRole", arn)
    f = account.check().one(WORKER)
    assert f.status == "fail"
    assert "autoscaling:SetInstanceProtection on * is outside the permissions boundary mixed" in f.message
    assert "vhv cannot tell for 1 more (ec2:DescribeInstances on *" in f.message


def test_an_allow_on_every_ec2_resource_grants_run_instances(account):
    arn = _policy(
        account,
        "ec2-arns",
        allow(["ec2:*", "autoscaling:*"], "arn:aws:ec2:*:*:*"),
        allow(["ec2:Describe*", "ec2:CreateTags", "autoscaling:*", "iam:*"]),
    )
    _boundary(account, "ValohaiMaster", arn)
    f = account.check().one(MASTER)
    assert "ec2:RunInstances" not in f.message, f.message
