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
from validator import guide, kinds
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
    assert "change it there and update the stack" in steps[0].summary
    assert not [s for s in plan.steps if s.call.startswith("iam.")]
