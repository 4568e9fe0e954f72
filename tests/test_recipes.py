"""Accounts built with Valohai's own recipes (params built_with: cloudformation | terraform).

The recipes name and shape the guide's setup differently; each difference is data in
rules/catalogue.yaml (`recipes:`) and the rule packs (`built_with:` on a rule, `when: {built_with}`
on the statements a recipe adds). Each account here is the guide's golden account on moto turned
into the recipe's shape with boto3, from the recipe's facts (valohai/aws-private-workers iam.yml,
valohai/aws-hybrid-workers-terraform Module/IAM): the guide's policies written inline in their roles,
with the statements the recipe adds.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.conftest import Account
from validator import engine, guide, kinds
from validator import params as params_mod
from validator.demo import ACCOUNT, DEMO_PARAMS
from validator.errors import VhvError
from validator.fixers import planner

WORKER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ValohaiWorkerRole"
IAM_FAIL_IN_GUIDE_MODE = {
    "worker-policy-exists",
    "master-policy-exists",
    "worker-role-policy-attached",
    "master-role-policy-attached",
    "worker-role-no-inline",
    "master-role-no-inline",
}


def _master_doc(recipe: str) -> dict[str, Any]:
    """ValohaiMasterPolicy as the recipe writes it: the guide's, with the describes, the reboot
    (and for Terraform the terminate and the data bucket) and the Redis secret's statements."""
    doc = guide.master_policy(WORKER_ROLE_ARN)
    sts = doc["Statement"]
    sts[0]["Action"] += ["ec2:DescribeInstanceAttribute", "ec2:DescribeInternetGateways", "ec2:DescribeRouteTables"]
    sts[1]["Action"] += ["ec2:RebootInstances"] + (["ec2:TerminateInstances"] if recipe == "terraform" else [])
    secrets = [
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:GetSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:ListSecretVersionIds",
    ]
    # (CloudFormation's template writes this Sid as the JSON number 0, which moto refuses: a string here)
    sts.append(
        {
            "Sid": "0",
            "Effect": "Allow",
            "Condition": {"StringEquals": {"secretsmanager:ResourceTag/valohai": "1"}},
            "Action": secrets,
            "Resource": "*",
        }
    )
    sts.append({"Action": "secretsmanager:GetRandomPassword", "Resource": "*", "Effect": "Allow", "Sid": "1"})
    if recipe == "terraform":
        bucket = f"arn:aws:s3:::valohai-data-{ACCOUNT}"
        sts.append({"Effect": "Allow", "Action": "s3:*", "Resource": [bucket, f"{bucket}/*"]})
    return doc


RECIPE_PROFILES = {"cloudformation": "ValohaiWorkerInstanceProfile", "terraform": "ValohaiWorkerProfile"}


QUEUE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "0",
            "Effect": "Allow",
            "Action": [
                "secretsmanager:GetResourcePolicy",
                "secretsmanager:GetSecretValue",
                "secretsmanager:DescribeSecret",
                "secretsmanager:ListSecretVersionIds",
            ],
            "Resource": "*",
            "Condition": {"StringEquals": {"secretsmanager:ResourceTag/valohai": "1"}},
        },
        {"Sid": "1", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
    ],
}
VALOHAI_TAG = {"Key": "valohai", "Value": "1"}
SECRET_NAMES = {"cloudformation": "ValohaiRedisSecret", "terraform": "ValohaiRedisSecret-20261208"}


def add_queue_role(acct: Account, recipe: str) -> None:
    """What both recipes add for the queue: ValohaiQueueRole with its inline ValohaiQueuePolicy and
    instance profile (attached to the queue by CloudFormation only), and the Redis secret, tagged."""
    iam = acct.iam
    iam.create_role(
        RoleName="ValohaiQueueRole", AssumeRolePolicyDocument=json.dumps(guide.ec2_trust()), Tags=[VALOHAI_TAG]
    )
    iam.put_role_policy(
        RoleName="ValohaiQueueRole", PolicyName="ValohaiQueuePolicy", PolicyDocument=json.dumps(QUEUE_POLICY)
    )
    iam.create_instance_profile(InstanceProfileName="ValohaiQueueInstanceProfile")
    iam.add_role_to_instance_profile(InstanceProfileName="ValohaiQueueInstanceProfile", RoleName="ValohaiQueueRole")
    if recipe == "cloudformation":
        acct.ec2.associate_iam_instance_profile(
            IamInstanceProfile={"Name": "ValohaiQueueInstanceProfile"}, InstanceId=acct.ids["instance"]
        )
    acct.session.client("secretsmanager", region_name="eu-west-1").create_secret(
        Name=SECRET_NAMES[recipe], SecretString="not-a-real-password", Tags=[VALOHAI_TAG]
    )


def as_recipe(acct: Account, recipe: str) -> None:
    """The golden account's IAM as the recipe makes it: each guide policy inline in its role (the
    managed one gone), the master's trust with its empty Condition, and for CloudFormation the
    separate inline S3 policy on the data bucket; for Terraform the queue instance's name; the worker
    role in the recipe's instance profile."""
    iam = acct.iam
    for role, name, doc in (
        ("ValohaiWorkerRole", "ValohaiWorkerPolicy", copy.deepcopy(guide.WORKER_POLICY)),
        ("ValohaiMaster", "ValohaiMasterPolicy", _master_doc(recipe)),
    ):
        arn = f"arn:aws:iam::{ACCOUNT}:policy/{name}"
        iam.detach_role_policy(RoleName=role, PolicyArn=arn)
        iam.delete_policy(PolicyArn=arn)
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(doc))
    trust = json.loads(json.dumps(iam.get_role(RoleName="ValohaiMaster")["Role"]["AssumeRolePolicyDocument"]))
    for st in trust["Statement"]:
        st["Condition"] = {}
    iam.update_assume_role_policy(RoleName="ValohaiMaster", PolicyDocument=json.dumps(trust))
    if recipe == "cloudformation":
        bucket = "arn:aws:s3:::valohai-data-acme"
        iam.put_role_policy(
            RoleName="ValohaiMaster",
            PolicyName="ValohaiMasterPolicy-acme-S3Bucket-1A2B3C",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": [bucket, f"{bucket}/*"]}],
                }
            ),
        )
    if recipe == "terraform":
        acct.ec2.create_tags(Resources=[acct.ids["instance"]], Tags=[{"Key": "Name", "Value": "valohai-queue"}])
    add_queue_role(acct, recipe)
    # the recipe's instance profile, by its name (the workers are launched with it)
    iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    iam.delete_instance_profile(InstanceProfileName="ValohaiWorkerRole")
    profile = RECIPE_PROFILES[recipe]
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName="ValohaiWorkerRole")


def _iam_failures(result: Any) -> set[str]:
    return {f.rule_id for f in result.findings if f.status in ("fail", "error") and f.rule_id in IAM_RULES}


IAM_RULES: set[str] = set()


@pytest.fixture(autouse=True)
def _iam_rules(pack) -> None:
    IAM_RULES.update(r.id for r in pack.rules if r.source == "2-iam.yaml")


# ------------------------------------------------------------------ params and the kinds


def test_built_with_defaults_to_the_guide_and_refuses_an_unknown_recipe_in_one_line():
    prm = params_mod.from_dict(dict(DEMO_PARAMS))
    assert prm.get("built_with") == "guide"
    with pytest.raises(VhvError) as exc:
        params_mod.from_dict({**DEMO_PARAMS, "built_with": "cdk"}, source="p.yaml")
    assert str(exc.value) == (
        "p.yaml: built_with: 'cdk' is not one of guide|cloudformation|terraform (which of Valohai's recipes "
        "built the account; leave it out for the guide's own steps)"
    )


def test_a_recipe_gives_the_guides_kinds_its_own_names_only_while_it_is_in_use():
    assert kinds.KINDS["instance"].name == "valohai-i-queue"
    with kinds.built_with("terraform"):
        assert kinds.KINDS["instance"].name == "valohai-queue"
        assert kinds.KINDS["worker_policy"].inline_in == "worker_role"
        # a reader thread sees the recipe of the run that started it
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(kinds.carried(lambda: kinds.KINDS["instance"].name)).result() == "valohai-queue"
    assert kinds.KINDS["instance"].name == "valohai-i-queue"


def test_vhv_init_explains_built_with(tmp_path):
    from validator.init_template import TEMPLATE

    assert "# built_with: guide" in TEMPLATE
    assert "#   cloudformation: Valohai's CloudFormation templates" in TEMPLATE
    assert "#   terraform: Valohai's Terraform module (github.com/valohai/aws-hybrid-workers-terraform)" in TEMPLATE


# ------------------------------------------------------------------ IAM in the recipe's shape


@pytest.mark.parametrize("recipe", ["cloudformation", "terraform"])
def test_a_recipe_account_fails_no_iam_rule_with_its_built_with(account, recipe):
    as_recipe(account, recipe)
    result = account.check(built_with=recipe)
    assert _iam_failures(result) == set(), [
        (f.rule_id, f.message) for f in result.findings if f.rule_id in IAM_RULES and f.status in ("fail", "error")
    ]
    exists = result.one("master-policy-exists")
    assert exists.status == "pass"
    within = result.one("master-policy-within-guide")
    assert within.status == "pass"
    assert "inline policy ValohaiMasterPolicy of ValohaiMaster allows nothing beyond the guide" in within.message
    skipped = result.one("worker-policy-tag")
    assert skipped.status == "skip"
    assert f"applies only to accounts built with guide; the params say built_with: {recipe}" in skipped.message
    if recipe == "terraform":
        assert result.one("queue-instance-exists").status == "pass"


def test_without_built_with_the_same_account_fails_in_form_only(account):
    as_recipe(account, "cloudformation")
    result = account.check()
    assert IAM_FAIL_IN_GUIDE_MODE <= _iam_failures(result)
    assert "ValohaiWorkerPolicy not found" in result.one("worker-policy-exists").message


@pytest.mark.parametrize("recipe", ["cloudformation", "terraform"])
def test_a_grant_added_to_the_recipes_inline_master_policy_fails(account, recipe):
    as_recipe(account, recipe)
    doc = _master_doc(recipe)
    doc["Statement"].append({"Sid": "Extra", "Effect": "Allow", "Action": ["ec2:*", "iam:PassRole"], "Resource": "*"})
    account.iam.put_role_policy(
        RoleName="ValohaiMaster", PolicyName="ValohaiMasterPolicy", PolicyDocument=json.dumps(doc)
    )
    result = account.check(built_with=recipe)
    f = result.one("master-policy-within-guide")
    assert f.status == "fail"
    assert "inline policy ValohaiMasterPolicy of ValohaiMaster is wider than the guide" in f.message
    assert "iam:PassRole on * (statement 'Extra')" in f.message
    # what the recipe adds is expected there, not named as wider
    assert "RebootInstances" not in f.message and "secretsmanager" not in f.message


def test_a_grant_added_to_the_recipes_inline_worker_policy_fails(account):
    as_recipe(account, "terraform")
    doc = copy.deepcopy(guide.WORKER_POLICY)
    doc["Statement"].append({"Sid": "S3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    account.iam.put_role_policy(
        RoleName="ValohaiWorkerRole", PolicyName="ValohaiWorkerPolicy", PolicyDocument=json.dumps(doc)
    )
    result = account.check(built_with="terraform")
    f = result.one("worker-policy-within-guide")
    assert f.status == "fail"
    assert "s3:* on * (statement 'S3')" in f.message


def test_the_cloudformation_s3_policy_is_expected_but_another_inline_grant_is_not(account):
    as_recipe(account, "cloudformation")
    account.iam.put_role_policy(
        RoleName="ValohaiMaster",
        PolicyName="later-fix",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Sid": "Ec2", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"}],
            }
        ),
    )
    result = account.check(built_with="cloudformation")
    found = result.of("master-role-grants-within-guide")
    assert [f.status for f in found] == ["fail"]
    assert "statement 'Ec2' of inline policy later-fix" in found[0].message
    assert "ValohaiMasterPolicy-acme-S3Bucket" not in found[0].message


def test_remediate_leaves_a_recipes_policy_to_its_template(account, pack):
    as_recipe(account, "cloudformation")
    doc = _master_doc("cloudformation")
    doc["Statement"].append({"Sid": "Extra", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"})
    account.iam.put_role_policy(
        RoleName="ValohaiMaster", PolicyName="ValohaiMasterPolicy", PolicyDocument=json.dumps(doc)
    )
    result = account.check(for_fix=True, built_with="cloudformation")
    prm = params_mod.from_dict({**account.params, "built_with": "cloudformation"})
    plan = planner.build(pack, prm, result.snapshot, result.findings)
    steps = [s for s in plan.steps if s.rule == "master-policy-within-guide"]
    assert [s.call for s in steps] == [""]
    assert "ValohaiMasterPolicy is made by Valohai's CloudFormation templates" in steps[0].summary
    assert "change it in your copy of the template and update the stack, not in the account" in steps[0].summary
    assert not [s for s in plan.steps if s.call.startswith("iam.")]


# ------------------------------------------------------------------ the whole account, as the recipe builds it


def _recipe_account(moto_env, pack, recipe: str) -> Account:
    from validator.demo_recipes import build_recipe, recipe_params

    params = {**DEMO_PARAMS, **recipe_params(recipe)}
    return Account(moto_env, build_recipe(moto_env, recipe), pack, params)


@pytest.mark.parametrize("recipe", ["cloudformation", "terraform"])
def test_an_account_the_recipe_built_fails_nothing_with_its_built_with(moto_env, pack, recipe):
    acct = _recipe_account(moto_env, pack, recipe)
    result = acct.check()
    bad = [(f.rule_id, f.message) for f in result.findings if f.status in ("fail", "error")]
    assert bad == []
    assert result.one("queue-instance-exists").status == "pass"
    eip = result.one("eip-exists")
    assert eip.status == "pass"


def test_cloudformations_unnamed_address_is_found_by_its_association_and_its_disk_warns(moto_env, pack):
    acct = _recipe_account(moto_env, pack, "cloudformation")
    result = acct.check()
    assert result.one("eip-associated").status == "pass"
    assert result.one("path-valohai-to-queue").status == "pass"
    disk = result.one("queue-instance-disk-template")
    assert disk.status == "warn"
    assert result.one("queue-instance-disk").status == "skip"
    for rule_id in ("rt-name", "rt-tag", "rt-default-route"):
        assert result.one(rule_id).status == "skip", rule_id
    assert {f.status for f in result.of("rt-subnet-routes")} == {"pass"}  # one per subnet, each its own table


def test_the_recipe_account_checked_as_the_guide_shows_the_wall_in_form(moto_env, pack):
    acct = _recipe_account(moto_env, pack, "cloudformation")
    result = acct.check(built_with="guide")
    failing = result.failing()
    assert {"worker-policy-exists", "master-policy-exists", "eip-exists", "rt-name", "rt-default-route"} <= failing


def test_cloudformations_queue_with_a_16_gib_disk_passes_the_disk_advisory(moto_env, pack):
    acct = _recipe_account(moto_env, pack, "cloudformation")
    volume = acct.ec2.describe_instances(InstanceIds=[acct.ids["instance"]])["Reservations"][0]["Instances"][0]
    vol_id = volume["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    acct.ec2.modify_volume(VolumeId=vol_id, Size=16)
    f = acct.check().one("queue-instance-disk-template")
    assert f.status == "pass", f.message


def test_vhv_demo_built_with_a_recipe_finds_the_recipes_drifts(capsys):
    from validator import demo

    code = demo.run(built_with="terraform")
    out = capsys.readouterr().out
    assert code == 0
    assert "vhv demo: the account as the terraform recipe builds it, in moto, with these drifts:" in out
    assert "master-policy-within-guide" in out and "statement 'QuickFix'" in out
    assert "sg-queue-ingress-only-guide" in out
    assert "is made by Valohai's Terraform module" in out  # the inline policy is the module's to change


def test_vhv_demo_refuses_an_unknown_recipe_in_one_line():
    from validator import demo

    with pytest.raises(VhvError, match=r"^--built-with: 'cdk' is not one of guide, cloudformation, terraform$"):
        demo.run(built_with="cdk")


# ------------------------------------------------------------------ which recipe the account looks built with


def test_the_guides_account_looks_built_by_no_recipe(account):
    f = account.check().one("params-built-with")
    assert f.status == "pass"
    assert f.message == "nothing in the account looks built by one of Valohai's recipes"


def test_a_cloudformation_account_checked_as_the_guide_is_told_which_recipe_it_looks_like(moto_env, pack):
    acct = _recipe_account(moto_env, pack, "cloudformation")
    f = acct.check(built_with="guide").one("params-built-with")
    assert f.status == "warn"
    assert f.message.startswith(
        "the account looks built with Valohai's CloudFormation templates (iam.yml, then main.yml) "
        "(built_with: cloudformation): route table valohai-rt1; route table valohai-rt2"
    )
    assert "ValohaiMasterPolicy is an inline policy of ValohaiMaster, and no managed policy has its name" in f.message
    assert f.message.endswith("set built_with: cloudformation in the params to judge it as the recipe builds it")
    assert acct.check().one("params-built-with").status == "pass"  # its own built_with: nothing to say


def test_inline_guide_policies_alone_name_both_recipes(account):
    # the guide's network (its main table named), the recipes' inline policies
    as_recipe(account, "cloudformation")
    f = account.check().one("params-built-with")
    assert f.status == "warn"
    assert "(built_with: cloudformation) or Valohai's Terraform module (built_with: terraform)" in f.message
    assert "set built_with: cloudformation or terraform in the params" in f.message


def test_cloudformations_stack_tags_are_a_telltale(account, pack):
    # AWS (and moto) refuse user tags with the aws: prefix: CloudFormation's own are put in the snapshot
    snap = account.check().snapshot
    snap.data["vpcs"][0]["tags"]["aws:cloudformation:stack-name"] = "valohai-workers"
    prm = params_mod.from_dict(dict(account.params), source="params.yaml")
    [f] = engine.evaluate(pack, prm, snap, only=["params-built-with"])
    assert f.status == "warn"
    assert "aws:cloudformation:stack-name=valohai-workers on valohai-vpc" in f.message


@pytest.mark.parametrize("recipe", ["cloudformation", "terraform"])
def test_vhv_record_finds_the_queues_public_ip_through_its_elastic_ip_in_every_recipe(moto_env, pack, recipe):
    from validator import record

    acct = _recipe_account(moto_env, pack, recipe)
    result = acct.check()
    prm = params_mod.from_dict(dict(acct.params), source="params.yaml")
    rec = record.build(result.snapshot, prm)
    [ip] = [v for v in rec.values if v.key == "queue_public_ip"]
    eip = acct.ec2.describe_addresses(AllocationIds=[acct.ids["eip"]])["Addresses"][0]["PublicIp"]
    assert (ip.value, ip.missing, ip.note) == (eip, None, None)


# ------------------------------------------------------------------ where a recipe is weaker than the guide


def test_the_guides_policy_reboots_and_terminates_nothing_untagged(account):
    assert account.check().one("master-policy-untagged-instances").status == "pass"


def test_terraforms_terminate_under_forallvalues_warns(moto_env, pack):
    acct = _recipe_account(moto_env, pack, "terraform")
    f = acct.check().one("master-policy-untagged-instances")
    assert f.status == "warn"
    assert (
        "allows ec2:TerminateInstances, ec2:RebootInstances under ForAllValues:StringEquals on "
        "aws:ResourceTag/Valohai (statement 'AllowUpdatingSpotLaunchTemplates')" in f.message
    )
    assert "terminate (Terraform) any instance of the account that has no Valohai tag" in f.message


def test_the_same_actions_under_string_equals_pass(moto_env, pack):
    from validator.demo_recipes import master_policy

    acct = _recipe_account(moto_env, pack, "terraform")
    doc = master_policy("terraform", WORKER_ROLE_ARN)
    doc["Statement"][1]["Action"] = [
        a for a in doc["Statement"][1]["Action"] if "Terminate" not in a and "Reboot" not in a
    ]
    doc["Statement"].append(
        {
            "Sid": "Tagged",
            "Effect": "Allow",
            "Action": ["ec2:TerminateInstances", "ec2:RebootInstances"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/Valohai": "1"}},
        }
    )
    acct.iam.put_role_policy(RoleName="ValohaiMaster", PolicyName="ValohaiMasterPolicy", PolicyDocument=json.dumps(doc))
    result = acct.check()
    assert result.one("master-policy-untagged-instances").status == "pass"
    assert result.one("master-policy-within-guide").status == "pass"


def test_terraforms_public_ip_subnets_and_unattached_queue_profile_warn(moto_env, pack):
    acct = _recipe_account(moto_env, pack, "terraform")
    result = acct.check()
    subnets = result.of("subnets-no-public-ip-on-launch")
    assert {f.status for f in subnets} == {"warn"}
    assert "auto-assign public IPv4 is True; AWS's guidance (the guide does not ask for it) asks for False" in (
        subnets[0].message
    )
    profile = result.one("queue-instance-profile-template")
    assert profile.status == "warn"
    assert "runs with no instance profile: Valohai's Terraform module creates ValohaiQueueInstanceProfile" in (
        profile.message
    )
    acct.ec2.associate_iam_instance_profile(
        IamInstanceProfile={"Name": "ValohaiQueueInstanceProfile"}, InstanceId=acct.ids["instance"]
    )
    assert acct.check().one("queue-instance-profile-template").status == "pass"


def test_the_guides_subnets_give_no_public_ip_on_launch(account):
    assert {f.status for f in account.check().of("subnets-no-public-ip-on-launch")} == {"pass"}


# ------------------------------------------------------------------ a stack or a module manages the resources


def _open_ssh(acct: Account) -> None:
    acct.ec2.authorize_security_group_ingress(
        GroupId=acct.ids["sg_queue"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )


def _plan(acct: Account, pack: Any, force: bool = False, tags: dict[str, str] | None = None, **params: Any) -> Any:
    result = acct.check(for_fix=True, **params)
    for group in result.snapshot.data["security_groups"]:
        group["tags"].update(tags or {})  # AWS refuses user tags with the aws: prefix: CloudFormation's own
    prm = params_mod.from_dict({**acct.params, **params}, source="params.yaml")
    return planner.build(pack, prm, result.snapshot, result.findings, force=force)


def test_remediate_leaves_a_stack_managed_resource_to_its_stack_unless_forced(account, pack):
    _open_ssh(account)
    tags = {"aws:cloudformation:stack-name": "valohai-workers"}
    [step] = [s for s in _plan(account, pack, tags=tags).steps if s.rule == "sg-queue-ingress-only-guide"]
    assert (step.risk, step.call) == ("manual", "")
    assert step.summary.startswith(
        "CloudFormation stack valohai-workers manages valohai-sg-queue: change it in the stack's template and update "
        "the stack, not here (vhv would revoke ingress TCP 22 0.0.0.0/0 from valohai-sg-queue"
    )
    assert "--force does it here, and the stack then drifts" in step.summary
    [forced] = [s for s in _plan(account, pack, force=True, tags=tags).steps if s.rule == "sg-queue-ingress-only-guide"]
    assert (forced.risk, forced.call) == ("needs-decision", "ec2.revoke_security_group_ingress")
    assert "(CloudFormation stack valohai-workers manages it: --force changes it here" in forced.summary
    # without the stack's tag the step is vhv's, as before
    [plain] = [s for s in _plan(account, pack).steps if s.rule == "sg-queue-ingress-only-guide"]
    assert plain.call == "ec2.revoke_security_group_ingress"


def test_managed_by_terraform_leaves_every_guide_resource_to_the_module(account, pack):
    _open_ssh(account)
    plan = _plan(account, pack, managed_by="terraform")
    changing = [s for s in plan.steps if s.call]
    assert changing == []
    [step] = [s for s in plan.steps if s.rule == "sg-queue-ingress-only-guide"]
    assert step.summary.startswith(
        "Terraform (the params say managed_by: terraform) manages valohai-sg-queue: change it in the module and run "
        "terraform apply, not here"
    )
    assert step.summary.endswith(
        "--force does it here, and the module's state then differs until terraform apply puts it back)"
    )


def test_managed_by_is_validated_in_one_line():
    with pytest.raises(VhvError) as exc:
        params_mod.from_dict({**DEMO_PARAMS, "managed_by": "pulumi"}, source="p.yaml")
    assert str(exc.value).startswith("p.yaml: managed_by: 'pulumi' is not one of terraform")


@pytest.mark.parametrize("recipe", ["cloudformation", "terraform"])
def test_a_recipes_ssh_opened_to_the_world_and_its_bucket_made_public_fail(moto_env, pack, recipe):
    acct = _recipe_account(moto_env, pack, recipe)
    _open_ssh(acct)
    acct.session.client("s3", region_name="eu-west-1").delete_public_access_block(
        Bucket=acct.params["data_store"]["bucket"]
    )
    result = acct.check()
    assert {"sg-queue-ingress-only-guide", "data-bucket-block-public-access"} <= result.failing()
    assert "TCP 22 0.0.0.0/0" in result.one("sg-queue-ingress-only-guide").message


def test_cloudformations_disassociated_address_is_left_to_the_stack_never_replaced(moto_env, pack):
    # a new address would change the queue's public IP and orphan the stack's (an independent tester's R4)
    acct = _recipe_account(moto_env, pack, "cloudformation")
    assoc = acct.ec2.describe_addresses(AllocationIds=[acct.ids["eip"]])["Addresses"][0]["AssociationId"]
    acct.ec2.disassociate_address(AssociationId=assoc)
    result = acct.check(for_fix=True)
    f = result.one("eip-exists")
    assert f.status == "fail"
    assert "the stack's own address may be there, unassociated" in f.message
    prm = params_mod.from_dict(dict(acct.params), source="params.yaml")
    plan = planner.build(pack, prm, result.snapshot, result.findings)
    assert not [s for s in plan.steps if s.call.startswith("ec2.allocate_address") or s.call == "ec2.associate_address"]
    [step] = [s for s in plan.steps if s.rule == "eip-exists"]
    assert "change it in your copy of the template and update the stack" in step.summary


def test_terraforms_ssh_to_the_world_is_revoked_without_adding_an_ssh_rule_it_never_has(moto_env, pack):
    # (an independent tester's R7)
    acct = _recipe_account(moto_env, pack, "terraform")
    _open_ssh(acct)
    result = acct.check(for_fix=True)
    prm = params_mod.from_dict(dict(acct.params), source="params.yaml")
    plan = planner.build(pack, prm, result.snapshot, result.findings)
    assert [s.call for s in plan.steps if s.call.startswith("ec2.")] == ["ec2.revoke_security_group_ingress"]


def test_cloudformations_ssh_from_valohai_is_expected_whoever_installs_the_queue(moto_env, pack):
    acct = _recipe_account(moto_env, pack, "cloudformation")
    result = acct.check(queue_installer="self", admin_cidr="203.0.113.7/32")
    assert {"sg-queue-ingress-ssh", "sg-queue-ingress-only-guide", "path-ssh-to-queue"} & result.failing() == set()


def test_if_exists_on_the_tag_reaches_untagged_instances_too(moto_env, pack):
    # what vhv lint advises for the create actions is no guard for terminate (an independent tester's F2)
    from validator.demo_recipes import master_policy

    acct = _recipe_account(moto_env, pack, "terraform")
    doc = master_policy("terraform", WORKER_ROLE_ARN)
    doc["Statement"][1]["Condition"] = {"StringEqualsIfExists": {"aws:ResourceTag/Valohai": "1"}}
    acct.iam.put_role_policy(RoleName="ValohaiMaster", PolicyName="ValohaiMasterPolicy", PolicyDocument=json.dumps(doc))
    f = acct.check().one("master-policy-untagged-instances")
    assert f.status == "warn"
    assert "under StringEqualsIfExists on aws:ResourceTag/Valohai" in f.message
    assert "that condition is true when the single-valued key is absent" in f.message


def test_an_unnamed_main_table_beside_inline_policies_tells_terraform(moto_env, pack):
    acct = _recipe_account(moto_env, pack, "terraform")
    f = acct.check(built_with="guide").one("params-built-with")
    assert f.status == "warn"
    assert f.message.startswith("the account looks built with Valohai's Terraform module (built_with: terraform):")
    assert "the main route table rtb-" in f.message and "is unnamed" in f.message


def test_a_recipes_multipart_role_the_params_do_not_name_is_said_unchecked(moto_env, pack):
    # as `vhv init` leaves it: the recipe's multipart role unnamed, its rules skip (an independent tester's E24)
    acct = _recipe_account(moto_env, pack, "cloudformation")
    store = {k: v for k, v in acct.params["data_store"].items() if k != "multipart_role_arn"}
    f = acct.check(data_store=store).one("params-recipe-data-store")
    assert f.status == "warn"
    assert f.message.startswith(
        "Valohai's CloudFormation templates (iam.yml, then main.yml) makes the multipart role "
        "ValohaiS3MultipartRole-<Suffix> (s3bucket.yml) (data store key data_store.multipart_role_arn), which the "
        "params do not name: vhv does not check it"
    )
    assert acct.check().one("params-recipe-data-store").status == "pass"


def test_the_guides_params_need_name_no_recipe_part(account):
    f = account.check().one("params-recipe-data-store")
    assert f.status == "pass"


def test_titles_and_fixes_name_the_recipes_resources(account):
    """A report of a Terraform-built account says valohai-queue, not the guide's valohai-i-queue; the
    guide's account keeps the guide's names."""
    assert "valohai-i-queue exists" in account.check().one("queue-instance-exists").title
    as_recipe(account, "terraform")
    f = account.check(built_with="terraform").one("queue-instance-exists")
    assert f.title == "valohai-queue exists and is not terminated"
    sg = account.check(built_with="terraform").one("queue-instance-sg")
    assert sg.title == "valohai-sg-queue is attached to valohai-queue"
    assert "valohai-i-queue" not in sg.fix
    eip = account.check(built_with="cloudformation").one("eip-associated")
    assert eip.title == "the Elastic IP of the queue is associated with valohai-i-queue"
