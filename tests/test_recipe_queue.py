"""What Valohai's recipes add for the queue and the guide has not: ValohaiQueueRole with its inline
ValohaiQueuePolicy and instance profile, the Secrets Manager secret holding the queue's Redis
password, and the queue's user data (rules/2-iam.yaml, rules/4-queue.yaml; the kinds with
built_with in rules/catalogue.yaml). Each rule: the recipe's account passes it, one drift fails it
with its message; in a guide-built account the rules skip and nothing of them is read."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.conftest import QUEUE_RULES, Account
from tests.test_recipes import QUEUE_POLICY, SECRET_NAMES, as_recipe
from validator import guide


def _secrets(acct: Account) -> Any:
    return acct.session.client("secretsmanager", region_name="eu-west-1")


def _check(acct: Account, recipe: str) -> Any:
    return acct.check(built_with=recipe)


@pytest.mark.parametrize("recipe", ["cloudformation", "terraform"])
def test_the_recipes_queue_role_policy_and_secret_pass(account, recipe):
    as_recipe(account, recipe)
    result = _check(account, recipe)
    wrong = {r: (result.one(r).status, result.one(r).message) for r in QUEUE_RULES if result.one(r).status != "pass"}
    assert wrong == {}
    assert result.one("queue-policy-exists").message == "ValohaiQueuePolicy exists (inline in ValohaiQueueRole)"
    assert result.one("queue-policy-within-recipe").message == (
        "inline policy ValohaiQueuePolicy of ValohaiQueueRole allows nothing beyond the recipe"
    )
    assert result.one("queue-secret-tag").message == f"{SECRET_NAMES[recipe]} has tag valohai=1"
    assert result.one("queue-secret-resource-policy").message == f"{SECRET_NAMES[recipe]} has no resource policy"
    # what the secret holds is never asked for
    assert "secretsmanager:GetSecretValue" not in result.calls
    assert {"secretsmanager:ListSecrets", "secretsmanager:GetResourcePolicy"} <= set(result.calls)


def test_in_a_guide_account_the_recipes_queue_rules_skip_and_nothing_of_them_is_read(account):
    result = account.check()
    for rule_id in (*QUEUE_RULES, "queue-instance-profile-recipe", "queue-instance-user-data-secret"):
        f = result.one(rule_id)
        assert f.status == "skip", rule_id
        assert "applies only to accounts built with" in f.message and "built_with: guide" in f.message
    assert not [c for c in result.calls if c.startswith("secretsmanager:")]
    assert "ec2:DescribeInstanceAttribute" not in result.calls
    assert result.calls.count("iam:ListInstanceProfilesForRole") == 1  # the worker role's; not the queue's


def test_a_grant_added_to_valohai_queue_policy_fails(account):
    """The held-out round's E20: iam:PassRole and s3:* added to the queue's policy passed."""
    as_recipe(account, "terraform")
    doc = copy.deepcopy(QUEUE_POLICY)
    doc["Statement"].append({"Sid": "More", "Effect": "Allow", "Action": ["s3:*", "iam:PassRole"], "Resource": "*"})
    account.iam.put_role_policy(
        RoleName="ValohaiQueueRole", PolicyName="ValohaiQueuePolicy", PolicyDocument=json.dumps(doc)
    )
    f = _check(account, "terraform").one("queue-policy-within-recipe")
    assert f.status == "fail"
    assert f.message.startswith("inline policy ValohaiQueuePolicy of ValohaiQueueRole is wider than the recipe: ")
    assert "iam:PassRole on * (statement 'More')" in f.message


def test_the_secret_statement_without_its_tag_condition_fails_both_ways(account):
    as_recipe(account, "cloudformation")
    doc = copy.deepcopy(QUEUE_POLICY)
    del doc["Statement"][0]["Condition"]  # every secret of the account, not the tagged one
    account.iam.put_role_policy(
        RoleName="ValohaiQueueRole", PolicyName="ValohaiQueuePolicy", PolicyDocument=json.dumps(doc)
    )
    result = _check(account, "cloudformation")
    assert result.one("queue-policy-within-recipe").status == "fail"
    assert "secretsmanager:GetSecretValue" in result.one("queue-policy-within-recipe").message
    assert result.one("queue-policy-grants").status == "pass"  # it still allows what the queue needs


def test_the_queue_policy_without_the_secret_read_fails_grants(account):
    as_recipe(account, "cloudformation")
    doc = copy.deepcopy(QUEUE_POLICY)
    del doc["Statement"][0]
    account.iam.put_role_policy(
        RoleName="ValohaiQueueRole", PolicyName="ValohaiQueuePolicy", PolicyDocument=json.dumps(doc)
    )
    f = _check(account, "cloudformation").one("queue-policy-grants")
    assert f.status == "fail"
    assert "secretsmanager:GetSecretValue" in f.message


def test_another_policy_on_the_queue_role_fails_with_its_severity(account):
    """The held-out round's E25: a managed policy attached beside the inline one passed."""
    as_recipe(account, "terraform")
    arn = account.iam.create_policy(
        PolicyName="queue-extra",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    account.iam.attach_role_policy(RoleName="ValohaiQueueRole", PolicyArn=arn)
    f = _check(account, "terraform").one("queue-role-grants-within-recipe")
    assert f.status == "fail"
    assert f.message.startswith("ValohaiQueueRole is allowed more than the recipe asks by statement #1 of queue-extra")
    assert "is not in the recipe (high: it allows ec2:TerminateInstances)" in f.message
    assert f.severity == "high"


def test_the_queue_role_missing_fails_and_its_policy_with_it(account):
    as_recipe(account, "cloudformation")
    iam = account.iam
    iam.delete_role_policy(RoleName="ValohaiQueueRole", PolicyName="ValohaiQueuePolicy")
    iam.remove_role_from_instance_profile(
        InstanceProfileName="ValohaiQueueInstanceProfile", RoleName="ValohaiQueueRole"
    )
    iam.delete_role(RoleName="ValohaiQueueRole")
    result = _check(account, "cloudformation")
    assert result.one("queue-role-exists").message == (
        "ValohaiQueueRole not found in account 123456789012 (looked for arn:aws:iam::123456789012:role/ValohaiQueueRole)"
    )
    assert result.one("queue-policy-exists").status == "fail"
    assert result.one("queue-role-trust").status == "skip"


def test_the_queue_role_trusting_more_than_ec2_fails(account):
    as_recipe(account, "terraform")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::210987654321:root"}, "Action": "sts:AssumeRole"},
        ],
    }
    account.iam.update_assume_role_policy(RoleName="ValohaiQueueRole", PolicyDocument=json.dumps(trust))
    f = _check(account, "terraform").one("queue-role-trust")
    assert f.status == "fail"
    assert "arn:aws:iam::210987654321:root" in f.message


def test_the_queue_role_untagged_and_out_of_its_profile_fail(account):
    as_recipe(account, "terraform")
    account.iam.untag_role(RoleName="ValohaiQueueRole", TagKeys=["valohai"])
    account.iam.remove_role_from_instance_profile(
        InstanceProfileName="ValohaiQueueInstanceProfile", RoleName="ValohaiQueueRole"
    )
    result = _check(account, "terraform")
    assert result.one("queue-role-tag").message == "tag valohai=1 missing on ValohaiQueueRole: found no valohai tag"
    assert result.one("queue-role-instance-profile").message == (
        "no instance profile contains ValohaiQueueRole; the recipe means the queue instance to run with the "
        "instance profile ValohaiQueueInstanceProfile"
    )


def test_cloudformations_queue_without_its_profile_fails(account):
    as_recipe(account, "cloudformation")
    ec2 = account.ec2
    [assoc] = ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
    ec2.disassociate_iam_instance_profile(AssociationId=assoc["AssociationId"])
    f = _check(account, "cloudformation").one("queue-instance-profile-recipe")
    assert f.status == "fail"
    assert f.message.startswith(
        f"valohai-i-queue ({account.ids['instance']}) runs with no instance profile, not ValohaiQueueInstanceProfile: "
        "the template's queue reads its Redis password"
    )


def test_the_secret_missing_or_untagged_fails(account):
    as_recipe(account, "terraform")
    sm = _secrets(account)
    sm.untag_resource(SecretId=SECRET_NAMES["terraform"], TagKeys=["valohai"])
    f = _check(account, "terraform").one("queue-secret-tag")
    assert (f.status, f.message) == (
        "fail",
        f"tag valohai=1 missing on {SECRET_NAMES['terraform']}: found no valohai tag",
    )
    sm.delete_secret(SecretId=SECRET_NAMES["terraform"], ForceDeleteWithoutRecovery=True)
    f = _check(account, "terraform").one("queue-secret-exists")
    assert f.status == "fail"
    assert f.message.startswith("ValohaiRedisSecret* not found in account 123456789012, region eu-west-1")


def _resource_policy(
    principal: Any,
    condition: dict[str, Any] | None = None,
    effect: str = "Allow",
    sid: str = "Open",
    action: str = "secretsmanager:GetSecretValue",
) -> str:
    """A secret's resource policy of one statement."""
    st: dict[str, Any] = {"Sid": sid, "Effect": effect, "Principal": principal, "Action": action, "Resource": "*"}
    if condition:
        st["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [st]})


@pytest.mark.parametrize(
    ("principal", "condition", "status"),
    [
        ("*", None, "fail"),
        ({"AWS": "arn:aws:iam::210987654321:root"}, None, "fail"),
        ({"AWS": "arn:aws:iam::123456789012:role/ValohaiQueueRole"}, None, "pass"),
        ({"AWS": "*"}, {"StringEquals": {"aws:PrincipalAccount": "123456789012"}}, "pass"),
    ],
    ids=["anyone", "another-account", "own-role", "anyone-held-to-the-account"],
)
def test_the_secrets_resource_policy_opened_outside_the_account_fails(account, principal, condition, status):
    as_recipe(account, "cloudformation")
    _secrets(account).put_resource_policy(
        SecretId="ValohaiRedisSecret", ResourcePolicy=_resource_policy(principal, condition)
    )
    f = _check(account, "cloudformation").one("queue-secret-resource-policy")
    assert f.status == status, f.message
    if status == "fail":
        assert f.message.startswith(
            "the resource policy of ValohaiRedisSecret opens the secret outside account 123456789012 or shuts out "
            "its readers: statement Open allows "
        )


def _terraform_queue_with(account: Account, user_data: str) -> str:
    """A queue instance named as Terraform names it, launched with `user_data`."""
    as_recipe(account, "terraform")
    ec2 = account.ec2
    ec2.terminate_instances(InstanceIds=[account.ids["instance"]])
    inst = ec2.describe_instances(InstanceIds=[account.ids["instance"]])["Reservations"][0]["Instances"][0]
    new = ec2.run_instances(
        ImageId=inst["ImageId"],
        InstanceType=inst["InstanceType"],
        MinCount=1,
        MaxCount=1,
        SubnetId=inst["SubnetId"],
        SecurityGroupIds=[g["GroupId"] for g in inst["SecurityGroups"]],
        UserData=user_data,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "valohai-queue"}]}],
    )["Instances"][0]["InstanceId"]
    return new


def test_a_password_in_the_terraform_queues_user_data_warns_without_showing_it(account):
    secret = "Zq8rT2pLm4Nx7vBw"
    new = _terraform_queue_with(
        account,
        f"#!/bin/bash\ncurl -s https://x.invalid/setup.sh | sudo QUEUE_ADDRESS=q REDIS_PASSWORD={secret} bash\n",
    )
    result = _check(account, "terraform")
    f = result.one("queue-instance-user-data-secret")
    assert f.status == "warn"
    assert f.message.startswith(
        f"the user data of valohai-queue ({new}) gives REDIS_PASSWORD a literal value (not shown here)"
    )
    assert secret not in json.dumps(result.snapshot.to_dict())
    assert secret not in f.message + f.actual + f.expected


@pytest.mark.parametrize(
    "user_data",
    [
        "#!/bin/bash\nexport SECRET=$(aws secretsmanager get-secret-value --secret-id ValohaiRedisSecret)\n"
        "curl -s https://x.invalid/setup.sh | sudo REDIS_PASSWORD=$SECRET bash\n",
        "#!/bin/bash\necho hello\n",
        # worker-queue.yml's own, with backticks (held-out U5b: a false warning on every CloudFormation account)
        "#!/bin/bash\nexport SECRET=`aws secretsmanager get-secret-value --secret-id ValohaiRedisSecret`\n"
        "curl -s https://x.invalid/setup.sh | sudo QUEUE_ADDRESS=q REDIS_PASSWORD=$SECRET bash\nunset $SECRET\n",
    ],
    ids=["fetched-at-boot", "no-secret", "cloudformations-backticks"],
)
def test_user_data_that_fetches_the_password_at_boot_passes(account, user_data):
    _terraform_queue_with(account, user_data)
    f = _check(account, "terraform").one("queue-instance-user-data-secret")
    assert f.status == "pass", f.message


def test_cors_get_from_any_origin_warns_in_a_recipe_account_only(account):
    """Both recipes write the tutorial's GET rule with AllowedOrigins *: an advisory there; in a
    guide-built account it is the tutorial's own rule and skips."""
    assert account.check().one("data-bucket-cors-read-any-origin").status == "skip"
    as_recipe(account, "terraform")
    bucket = account.params["data_store"]["bucket"]
    f = _check(account, "terraform").one("data-bucket-cors-read-any-origin")
    assert f.status == "warn"
    assert f.message.startswith(f"{bucket}: CORS rule 1 allows GET from any origin (*): Valohai's CloudFormation")
    s3 = account.session.client("s3", region_name="eu-west-1")
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    cors[0]["AllowedOrigins"] = ["https://app.valohai.com"]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": cors})
    assert _check(account, "terraform").one("data-bucket-cors-read-any-origin").status == "pass"


def test_vhv_permissions_with_a_recipes_params_adds_what_only_its_accounts_need(tmp_path, capsys):
    """A reader role made from `vhv permissions --params` of a recipe account can read the queue's
    secret and user data; the guide's policy stays without them."""
    from validator import params as params_mod
    from validator import permissions
    from validator.cli import main
    from validator.demo import DEMO_PARAMS

    only_recipes = {"secretsmanager:ListSecrets", "secretsmanager:GetResourcePolicy", "ec2:DescribeInstanceAttribute"}
    assert not only_recipes & set(permissions.check_actions())
    tf = params_mod.from_dict({**DEMO_PARAMS, "built_with": "terraform"})
    assert only_recipes <= set(permissions.check_actions(tf))
    assert "secretsmanager:GetSecretValue" not in permissions.check_actions(tf)
    path = tmp_path / "params.yaml"
    path.write_text(json.dumps({**DEMO_PARAMS, "built_with": "cloudformation"}))
    assert main(["permissions", "--params", str(path)]) == 0
    [statement] = json.loads(capsys.readouterr().out)["Statement"]
    assert only_recipes <= set(statement["Action"])


@pytest.mark.parametrize("recipe", ["cloudformation", "terraform"])
def test_a_recipe_accounts_snapshot_is_written_and_checked_with_its_built_with(account, tmp_path, capsys, recipe):
    """`vhv snapshot` refused every recipe account (the Terraform queue's name, CloudFormation's
    unnamed address checked against the guide's names); now it is written, checked offline with
    the same built_with, and refused in one line with another."""
    import yaml

    from validator.cli import main

    as_recipe(account, recipe)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({**account.params, "built_with": recipe}))
    snap = tmp_path / "snap.json"
    assert main(["snapshot", "--params", str(params), "--output", str(snap)]) == 0
    assert json.loads(snap.read_text())["built_with"] == recipe
    capsys.readouterr()
    assert main(["check", "--params", str(params), "--snapshot", str(snap), "--format", "json"]) in (0, 1)
    report = json.loads(capsys.readouterr().out)
    live = _check(account, recipe)  # offline, the same findings as read live
    assert sorted((f["rule_id"], f["status"]) for f in report["findings"]) == sorted(
        (f.rule_id, f.status) for f in live.findings
    )
    assert not [f for f in report["findings"] if f["status"] == "error"]
    guide_params = tmp_path / "guide.yaml"
    guide_params.write_text(yaml.safe_dump(account.params))
    assert main(["check", "--params", str(guide_params), "--snapshot", str(snap)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"vhv: {snap}: the account was read as built with {recipe}, the params say built_with: guide; take the "
        f"snapshot with these params, or check it with built_with: {recipe}"
    ]


def _deny_secrets(acct: Account, role: str) -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "secretsmanager:*", "Resource": "*"}]}
    acct.iam.put_role_policy(RoleName=role, PolicyName="Extra", PolicyDocument=json.dumps(doc))


@pytest.mark.parametrize("recipe", ["cloudformation", "terraform"])
def test_a_deny_or_a_boundary_taking_the_secret_away_fails(account, recipe):
    """The held-out round's Q25, Q26, M1b: a Deny on secretsmanager:* beside ValohaiQueuePolicy, a
    boundary allowing only s3:GetObject, a Deny on the master role: the secret cannot be read."""
    as_recipe(account, recipe)
    assert _check(account, recipe).one("queue-role-effective-permissions").status == "pass"
    _deny_secrets(account, "ValohaiQueueRole")
    f = _check(account, recipe).one("queue-role-effective-permissions")
    assert f.status == "fail"
    assert f.message.startswith("ValohaiQueueRole cannot do what the recipe grants it: ")
    assert "secretsmanager:GetSecretValue" in f.message and "Extra" in f.message
    account.iam.delete_role_policy(RoleName="ValohaiQueueRole", PolicyName="Extra")
    arn = account.iam.create_policy(
        PolicyName="Boundary",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
        ),
    )["Policy"]["Arn"]
    account.iam.put_role_permissions_boundary(RoleName="ValohaiQueueRole", PermissionsBoundary=arn)
    f = _check(account, recipe).one("queue-role-effective-permissions")
    assert f.status == "fail" and "Boundary" in f.message
    _deny_secrets(account, "ValohaiMaster")
    f = _check(account, recipe).one("master-role-effective-permissions")
    assert f.status == "fail"
    assert "secretsmanager:GetSecretValue" in f.message


@pytest.mark.parametrize(
    ("principal", "condition", "status", "who"),
    [
        ("*", None, "fail", "ValohaiMaster, ValohaiQueueRole"),
        ({"AWS": "arn:aws:iam::123456789012:role/ValohaiMaster"}, None, "fail", "ValohaiMaster"),
        ({"AWS": "arn:aws:iam::210987654321:root"}, None, "pass", ""),
        ("*", {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}}, "warn", "ValohaiMaster, ValohaiQueueRole"),
    ],
    ids=["everyone", "valohai-master", "another-account", "under-a-condition"],
)
def test_a_deny_in_the_secrets_resource_policy_that_shuts_out_its_readers_fails(
    account, principal, condition, status, who
):
    """The held-out round's S14/S15: a Deny of GetSecretValue to everyone, or to ValohaiMaster, passed."""
    as_recipe(account, "cloudformation")
    policy = _resource_policy(principal, condition, effect="Deny", sid="Shut", action="secretsmanager:*")
    _secrets(account).put_resource_policy(SecretId="ValohaiRedisSecret", ResourcePolicy=policy)
    found = _check(account, "cloudformation").of("queue-secret-resource-policy")
    assert status in {f.status for f in found}, [(f.status, f.message) for f in found]
    if status == "fail":
        [f] = found
        assert f.message.endswith(
            f"statement Shut denies secretsmanager:GetSecretValue to {who}: they cannot read the Redis password "
            "(the secret is the queue's Redis password)"
        )
    if status == "warn":
        assert f"statement Shut denies secretsmanager:GetSecretValue to {who} under a condition" in found[0].message


def test_terraforms_queue_with_another_profile_fails(account):
    """The held-out round's tf-Q18b: the Terraform queue given an admin's profile passed
    queue-instance-profile-template ("runs with instance profile Admin")."""
    as_recipe(account, "terraform")
    iam = account.iam
    iam.create_role(RoleName="Admin", AssumeRolePolicyDocument=json.dumps(guide.ec2_trust()))
    iam.create_instance_profile(InstanceProfileName="Admin")
    iam.add_role_to_instance_profile(InstanceProfileName="Admin", RoleName="Admin")
    account.ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": "Admin"}, InstanceId=account.ids["instance"])
    f = _check(account, "terraform").one("queue-instance-profile-template")
    assert f.status == "fail"
    assert f.message == (
        f"valohai-queue ({account.ids['instance']}) runs with instance profile Admin, not ValohaiQueueInstanceProfile: "
        "it acts with that profile's role, not the one the recipe gives it (ValohaiQueueInstanceProfile, which may "
        "read only the queue's Redis secret)"
    )


@pytest.mark.parametrize(
    ("user_data", "named"),
    [
        ("#!/bin/bash\nREDIS_PASS=Zq8rT2pLm4Nx7vBw redis-server\n", "REDIS_PASS"),
        ("#!/bin/bash\nredis-server --requirepass Zq8rT2pLm4Nx7vBw\n", "requirepass"),
        (
            "#cloud-config\nwrite_files:\n  - path: /etc/redis.conf\n    content: |\n      requirepass Zq8rT2pLm4Nx7vBw\n",
            "requirepass",
        ),
    ],
    ids=["redis-pass", "requirepass-flag", "cloud-config-requirepass"],
)
def test_other_spellings_of_a_literal_redis_password_warn(account, user_data, named):
    """The held-out round's U2c, U2e, U2f: these passed."""
    _terraform_queue_with(account, user_data)
    f = _check(account, "terraform").one("queue-instance-user-data-secret")
    assert f.status == "warn"
    assert f"gives {named} a literal value (not shown here)" in f.message
    assert "Zq8rT2pLm4Nx7vBw" not in f.message


def test_the_console_prints_a_secrets_arn_as_it_is(account, capsys):
    """The held-out tester: rich turned ':secret:' in every secret ARN into an emoji."""
    from validator.render.console import print_report, render

    as_recipe(account, "terraform")
    found = [f for f in _check(account, "terraform").findings if f.rule_id == "queue-secret-exists"]
    meta = {"account_id": "123456789012", "region": "eu-west-1"}
    print_report(found, meta)
    for out in (capsys.readouterr().out, render(found, meta)):
        assert ":secret:ValohaiRedisSecret-" in out
        assert "\u3299" not in out


@pytest.mark.managed_policies
def test_an_aws_managed_policy_beside_the_recipes_is_to_be_detached_not_edited(moto_env, pack):
    """The held-out round's plan said 'Remove statement #1 from AdministratorAccess': AWS managed
    policies cannot be edited."""
    from tests.conftest import make_account

    account = make_account(moto_env, pack)
    as_recipe(account, "terraform")
    account.iam.attach_role_policy(
        RoleName="ValohaiQueueRole", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    )
    f = _check(account, "terraform").one("queue-role-grants-within-recipe")
    assert f.status == "fail"
    assert f.fix.startswith("Detach AmazonS3ReadOnlyAccess from ValohaiQueueRole (AWS manages it: it cannot be edited)")


def test_every_secret_of_the_name_is_judged(account):
    """The held-out round's S6c: with two ValohaiRedisSecret* secrets only the first was judged, and
    a Principal * policy on the other went unreported."""
    as_recipe(account, "terraform")
    sm = _secrets(account)
    other = sm.create_secret(Name="ValohaiRedisSecret-2", SecretString="x", Tags=[{"Key": "valohai", "Value": "1"}])
    sm.put_resource_policy(SecretId=other["ARN"], ResourcePolicy=_resource_policy("*"))
    result = _check(account, "terraform")
    assert result.one("queue-secret-exists").status == "fail"
    policies = {f.resource_name: f.status for f in result.of("queue-secret-resource-policy")}
    assert policies == {SECRET_NAMES["terraform"]: "pass", "ValohaiRedisSecret-2": "fail"}


def test_cloudformations_address_disassociated_is_associated_again_not_allocated(account):
    """The held-out round's D12: the fix said to allocate an Elastic IP named valohai-ip-queue; the
    template's own address is there, unassociated."""
    as_recipe(account, "cloudformation")
    ec2 = account.ec2
    for a in ec2.describe_addresses()["Addresses"]:
        ec2.delete_tags(Resources=[a["AllocationId"]], Tags=[{"Key": "Name"}])
        ec2.disassociate_address(AssociationId=a["AssociationId"])
    f = _check(account, "cloudformation").one("eip-exists")
    assert f.status == "fail"
    assert f.fix.startswith("Associate the Elastic IP the stack made with valohai-i-queue")
    assert "Allocate" not in f.fix
