"""The planner and apply, in-process on moto: each drift -> the expected steps, applied ->
the rule passes, planned again -> nothing left (idempotent)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import REGION, Account
from tests.test_rules_iam import _delete_master_policy as no_master_policy
from tests.test_rules_iam import _delete_master_role as no_master_role
from validator import engine, guide
from validator import params as params_mod
from validator.aws.session import Target
from validator.demo import ACCOUNT, ASSUME_ROLE_ARN, DEMO_PARAMS, build_data_access, build_iam
from validator.fixers import planner
from validator.fixers.apply import apply
from validator.fixers.plan import DECIDE, FIX, MANUAL, Plan
from validator.render import plan as show

WORKER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ValohaiWorkerRole"
MASTER_POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/ValohaiMasterPolicy"
WORKER_POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/ValohaiWorkerPolicy"


def plan_of(acct: Account) -> tuple[Any, Plan]:
    res = acct.check(for_fix=True)  # as `vhv remediate` reads
    prm = params_mod.from_dict(dict(acct.params))
    return res, planner.build(acct.pack, prm, res.snapshot, res.findings)


def calls(plan: Plan, risk: str | None = None) -> list[str]:
    return [s.call for s in plan.steps if risk is None or s.risk == risk]


def step(plan: Plan, call: str) -> Any:
    found = [s for s in plan.steps if s.call == call]
    assert len(found) == 1, (call, [s.call for s in plan.steps])
    return found[0]


def fix_and_replan(acct: Account, plan: Plan, tighten: bool = False) -> tuple[Any, Plan]:
    report = apply(plan, Target(region=REGION), tighten=tighten)
    assert report.ok, show.applied(report)
    return plan_of(acct)


# ------------------------------------------------------------------ drifts


def _master_version(acct: Account, doc: dict[str, Any]) -> None:
    acct.iam.create_policy_version(
        PolicyArn=acct.ids["master_policy"], PolicyDocument=json.dumps(doc), SetAsDefault=True
    )


def drop_describe_images(acct: Account) -> None:
    doc = guide.master_policy(WORKER_ROLE_ARN)
    doc["Statement"][0]["Action"].remove("ec2:DescribeImages")
    _master_version(acct, doc)


def pass_role_on_another_role(acct: Account) -> None:
    # the guide's template line cannot be saved as is (IAM wants an ARN): someone pasted the wrong role
    _master_version(acct, guide.master_policy(f"arn:aws:iam::{ACCOUNT}:role/SomeOtherRole"))


def no_instance_profile(acct: Account) -> None:
    acct.iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    acct.iam.delete_instance_profile(InstanceProfileName="ValohaiWorkerRole")


def empty_instance_profile(acct: Account) -> None:
    acct.iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")


def no_worker_role(acct: Account) -> None:
    empty_instance_profile(acct)
    acct.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=acct.ids["worker_policy"])
    acct.iam.delete_role(RoleName="ValohaiWorkerRole")


def no_worker_policy_tag(acct: Account) -> None:
    acct.iam.untag_policy(PolicyArn=acct.ids["worker_policy"], TagKeys=["valohai"])


def no_master_role_tag(acct: Account) -> None:
    acct.iam.untag_role(RoleName="ValohaiMaster", TagKeys=["valohai"])


def worker_policy_detached(acct: Account) -> None:
    acct.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=acct.ids["worker_policy"])


def no_vpc_tag(acct: Account) -> None:
    acct.ec2.delete_tags(Resources=[acct.ids["vpc"]], Tags=[{"Key": "valohai"}])


def no_subnet_tag(acct: Account) -> None:
    acct.ec2.delete_tags(Resources=[acct.ids["subnets"][1]], Tags=[{"Key": "valohai"}])


def no_rt_name(acct: Account) -> None:
    acct.ec2.delete_tags(Resources=[acct.ids["rt"]], Tags=[{"Key": "Name"}])


def no_default_route(acct: Account) -> None:
    acct.ec2.delete_route(RouteTableId=acct.ids["rt"], DestinationCidrBlock="0.0.0.0/0")


def igw_detached(acct: Account) -> None:
    no_default_route(acct)
    acct.ec2.detach_internet_gateway(InternetGatewayId=acct.ids["igw"], VpcId=acct.ids["vpc"])


def no_http_on_queue(acct: Account) -> None:
    acct.ec2.revoke_security_group_ingress(
        GroupId=acct.ids["sg_queue"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )


def no_redis_from_workers(acct: Account) -> None:
    rules = acct.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [acct.ids["sg_queue"]]}])[
        "SecurityGroupRules"
    ]
    ids = [
        r["SecurityGroupRuleId"]
        for r in rules
        if not r["IsEgress"] and r.get("ReferencedGroupInfo", {}).get("GroupId") == acct.ids["sg_workers"]
    ]
    acct.ec2.revoke_security_group_ingress(GroupId=acct.ids["sg_queue"], SecurityGroupRuleIds=ids)


def no_sg_workers(acct: Account) -> None:
    no_redis_from_workers(acct)
    acct.ec2.delete_security_group(GroupId=acct.ids["sg_workers"])


def eip_not_associated(acct: Account) -> None:
    assoc = acct.ec2.describe_addresses(AllocationIds=[acct.ids["eip"]])["Addresses"][0]["AssociationId"]
    acct.ec2.disassociate_address(AssociationId=assoc)


def queue_without_its_group(acct: Account) -> None:
    acct.ec2.modify_instance_attribute(InstanceId=acct.ids["instance"], Groups=[acct.ids["sg_workers"]])


# the guide's network paths (rules/6-paths.yaml) a drift cuts: they fail beside the rule whose fix opens them
QUEUE_PATHS = {"path-valohai-to-queue", "path-internet-to-queue-http", "path-ssh-to-queue"}
INTERNET_PATHS = QUEUE_PATHS | {"path-workers-to-internet"}

# drift -> (the rules it breaks, the calls the plan makes, in order)
FIXABLE: dict[str, tuple[Callable[[Account], None], set[str], list[str]]] = {
    "worker policy untagged": (no_worker_policy_tag, {"worker-policy-tag"}, ["iam.tag_policy"]),
    "master role untagged": (no_master_role_tag, {"master-role-tag"}, ["iam.tag_role"]),
    "master policy lacks an action": (
        drop_describe_images,
        {"master-policy-describe", "master-role-effective-permissions"},
        ["iam.create_policy_version"],
    ),
    "PassRole on another role": (
        pass_role_on_another_role,
        {"master-policy-pass-worker-role", "master-policy-within-guide", "master-role-effective-permissions"},
        ["iam.create_policy_version"],
    ),
    "no instance profile": (
        no_instance_profile,
        {"worker-role-instance-profile"},
        ["iam.create_instance_profile", "iam.add_role_to_instance_profile"],
    ),
    "empty instance profile": (
        empty_instance_profile,
        {"worker-role-instance-profile"},
        ["iam.add_role_to_instance_profile"],
    ),
    "worker policy detached": (
        worker_policy_detached,
        {"worker-role-policy-attached", "worker-role-effective-permissions"},
        ["iam.attach_role_policy"],
    ),
    "no worker role": (
        no_worker_role,
        {"worker-role-exists"},
        ["iam.create_role", "iam.attach_role_policy", "iam.add_role_to_instance_profile"],
    ),
    "no master role": (no_master_role, {"master-role-exists"}, ["iam.create_role", "iam.attach_role_policy"]),
    "no master policy": (
        no_master_policy,
        {"master-policy-exists", "master-role-policy-attached", "master-role-effective-permissions"},
        ["iam.create_policy", "iam.attach_role_policy"],
    ),
    "vpc untagged": (no_vpc_tag, {"vpc-tag"}, ["ec2.create_tags"]),
    "subnet untagged": (no_subnet_tag, {"subnets-tag"}, ["ec2.create_tags"]),
    "route table unnamed": (no_rt_name, {"rt-name"}, ["ec2.create_tags"]),
    "no default route": (no_default_route, {"rt-default-route"} | INTERNET_PATHS, ["ec2.create_route"]),
    "igw detached": (
        igw_detached,
        {"igw-attached", "rt-default-route"} | INTERNET_PATHS,
        ["ec2.attach_internet_gateway", "ec2.create_route"],
    ),
    "queue lacks HTTP": (
        no_http_on_queue,
        {"sg-queue-ingress-http", "path-internet-to-queue-http"},
        ["ec2.authorize_security_group_ingress"],
    ),
    "queue lacks Redis from workers": (
        no_redis_from_workers,
        {"sg-queue-ingress-redis-workers", "path-workers-to-queue"},
        ["ec2.authorize_security_group_ingress"],
    ),
    "no workers group": (
        no_sg_workers,
        {"sg-workers-exists"},
        ["ec2.create_security_group", "ec2.authorize_security_group_ingress", "ec2.authorize_security_group_ingress"],
    ),
    "eip not associated": (eip_not_associated, {"eip-associated"} | QUEUE_PATHS, ["ec2.associate_address"]),
}


def test_golden_account_plans_nothing(account):
    _res, plan = plan_of(account)
    assert plan.steps == []
    assert show.console(plan, {}).startswith("vhv remediate: nothing to change")


@pytest.mark.parametrize("name", FIXABLE)
def test_each_fixable_drift_is_planned_applied_and_converges(account, name):
    drift, rules, expected = FIXABLE[name]
    drift(account)
    before, plan = plan_of(account)
    assert before.failing() == rules
    assert calls(plan) == expected
    assert {s.risk for s in plan.steps} == {FIX}
    assert {s.rule for s in plan.steps} <= rules
    after, again = fix_and_replan(account, plan)
    assert after.failing() == set(), [(f.rule_id, f.message) for f in after.findings if f.status == "fail"]
    assert again.steps == []


def test_a_missing_action_is_added_in_a_new_version_keeping_the_rest(account):
    drop_describe_images(account)
    _res, plan = plan_of(account)
    s = step(plan, "iam.create_policy_version")
    assert s.arguments["PolicyArn"] == MASTER_POLICY_ARN and s.arguments["SetAsDefault"] is True
    doc = json.loads(s.arguments["PolicyDocument"])
    # statement "2" granted a part of the guide's: it is restored in place, the others are kept as they are
    assert doc == guide.master_policy(WORKER_ROLE_ARN)


def test_the_wrong_role_on_the_pass_role_line_is_replaced_by_the_real_arn(account):
    pass_role_on_another_role(account)
    _res, plan = plan_of(account)
    doc = json.loads(step(plan, "iam.create_policy_version").arguments["PolicyDocument"])
    assert doc["Statement"][-1] == {
        "Sid": "4",
        "Effect": "Allow",
        "Action": ["iam:PassRole", "iam:GetRole"],
        "Resource": WORKER_ROLE_ARN,
    }
    assert len(doc["Statement"]) == 4


def test_five_versions_the_oldest_non_default_is_deleted_first_and_said_so(account):
    for _ in range(3):
        _master_version(account, guide.master_policy(WORKER_ROLE_ARN))
    drop_describe_images(account)  # v5, default
    _res, plan = plan_of(account)
    assert calls(plan) == ["iam.delete_policy_version", "iam.create_policy_version"]
    delete = plan.steps[0]
    assert delete.arguments == {"PolicyArn": MASTER_POLICY_ARN, "VersionId": "v1"}
    assert "5 versions" in delete.summary and delete.risk == FIX
    after, again = fix_and_replan(account, plan)
    assert after.failing() == set() and again.steps == []
    versions = account.iam.list_policy_versions(PolicyArn=MASTER_POLICY_ARN)["Versions"]
    assert sorted(v["VersionId"] for v in versions) == ["v2", "v3", "v4", "v5", "v6"]


def test_created_policy_passes_the_real_worker_role_and_role_trusts_the_assume_role_arn(account):
    no_master_policy(account)
    _res, plan = plan_of(account)
    create = step(plan, "iam.create_policy")
    doc = json.loads(create.arguments["PolicyDocument"])
    assert doc["Statement"][-1]["Resource"] == WORKER_ROLE_ARN
    assert create.arguments["Tags"] == [{"Key": "valohai", "Value": "1"}]


def test_created_master_role_trusts_the_assume_role_arn_and_is_tagged(account):
    no_master_role(account)
    _res, plan = plan_of(account)
    create = step(plan, "iam.create_role")
    trust = json.loads(create.arguments["AssumeRolePolicyDocument"])
    assert trust["Statement"][0]["Principal"] == {"AWS": ASSUME_ROLE_ARN}
    assert create.arguments["RoleName"] == "ValohaiMaster"
    assert {"Key": "valohai", "Value": "1"} in create.arguments["Tags"]


def test_created_security_group_is_named_tagged_and_referenced_by_the_queue(account):
    no_sg_workers(account)
    _res, plan = plan_of(account)
    create, own, queue = plan.steps
    assert create.arguments["GroupName"] == "valohai-sg-workers" and create.arguments["VpcId"] == account.ids["vpc"]
    assert create.arguments["TagSpecifications"][0]["Tags"] == [
        {"Key": "Name", "Value": "valohai-sg-workers"},
        {"Key": "valohai", "Value": "1"},
    ]
    assert own.arguments["GroupId"] == f"$step:{create.id}:GroupId"
    assert queue.arguments["GroupId"] == account.ids["sg_queue"]
    assert queue.arguments["IpPermissions"][0]["UserIdGroupPairs"][0]["GroupId"] == f"$step:{create.id}:GroupId"


@pytest.mark.parametrize(
    "drift, rule, call",
    [
        (
            lambda a: a.ec2.authorize_security_group_ingress(
                GroupId=a.ids["sg_queue"],
                IpPermissions=[
                    {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
                ],
            ),
            "sg-queue-ingress-only-guide",
            "ec2.revoke_security_group_ingress",
        ),
        (
            lambda a: a.iam.update_assume_role_policy(
                RoleName="ValohaiWorkerRole",
                PolicyDocument=json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
                    }
                ),
            ),
            "worker-role-trust",
            "iam.update_assume_role_policy",
        ),
        (
            lambda a: a.iam.put_role_policy(
                RoleName="ValohaiMaster",
                PolicyName="extra",
                PolicyDocument=json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
                ),
            ),
            # what the inline policy grants fails too; deleting it (the form's fix) is the fix of both
            {"master-role-no-inline", "master-role-grants-within-guide"},
            "iam.delete_role_policy",
        ),
        (
            lambda a: _master_version(a, guide.master_policy("*")),
            "master-policy-within-guide",
            "iam.create_policy_version",
        ),
    ],
    ids=["ssh-open-to-the-world", "trust-anyone", "inline-policy", "passrole-star"],
)
def test_wider_than_the_guide_needs_a_decision_and_only_tighten_applies_it(account, drift, rule, call):
    rules = {rule} if isinstance(rule, str) else rule
    drift(account)
    before, plan = plan_of(account)
    assert before.failing() == rules
    assert calls(plan) == [call] and plan.steps[0].risk == DECIDE
    assert plan.to_apply() == []
    report = apply(plan, Target(region=REGION))  # without --tighten: nothing is done
    assert report.applied == [] and report.ok
    assert plan_of(account)[0].failing() == rules
    after, again = fix_and_replan(account, plan, tighten=True)
    assert after.failing() == set() and again.steps == []


def test_instance_level_drift_is_a_manual_step_only(account):
    account.ec2.stop_instances(InstanceIds=[account.ids["instance"]])
    account.ec2.modify_instance_attribute(InstanceId=account.ids["instance"], InstanceType={"Value": "t3.large"})
    _res, plan = plan_of(account)
    assert [(s.rule, s.risk, s.call) for s in plan.steps] == [
        ("queue-instance-running", MANUAL, ""),
        ("queue-instance-type", MANUAL, ""),
    ]
    assert "Start valohai-i-queue" in plan.steps[0].summary
    assert "t3.medium" in plan.steps[1].summary
    assert plan.to_apply(tighten=True) == []


def test_missing_network_is_created_with_the_guide_names(moto_env, pack):
    iam = moto_env.client("iam", region_name=REGION)
    build_iam(iam, dict(DEMO_PARAMS))
    build_data_access(iam, dict(DEMO_PARAMS))  # the data store's user and multipart role: vhv does not create them
    acct = Account(moto_env, {}, pack)
    _res, plan = plan_of(acct)
    names = [
        s.arguments["TagSpecifications"][0]["Tags"][0]["Value"]
        for s in plan.steps
        if "TagSpecifications" in s.arguments
    ]
    assert names == [
        "valohai-vpc",
        "valohai-subnet-1",
        "valohai-subnet-2",
        "valohai-subnet-3",
        "valohai-igw",
        "valohai-sg-workers",
        "valohai-sg-queue",
        "valohai-ip-queue",
    ]
    assert [s.rule for s in plan.of(MANUAL)] == ["queue-instance-exists"]
    after, again = fix_and_replan(acct, plan)
    # everything but the queue instance, which the guide leaves to the user (and the rules about it)
    assert after.failing() == {"queue-instance-exists"}
    assert calls(again) == [""] and again.steps[0].rule == "queue-instance-exists"


def test_checksum_is_stable_and_changes_with_the_plan(account):
    no_http_on_queue(account)
    _res, first = plan_of(account)
    _res, second = plan_of(account)
    assert first.checksum == second.checksum and len(first.checksum) == 64
    no_vpc_tag(account)
    _res, third = plan_of(account)
    assert third.checksum != first.checksum


def test_cli_format_chains_a_created_id_into_later_commands(account):
    no_sg_workers(account)
    _res, plan = plan_of(account)
    text = show.as_cli(plan)
    assert "STEP_1=$(aws ec2 create-security-group --group-name valohai-sg-workers" in text
    assert "--query GroupId --output text)" in text
    assert '"GroupId":"\'"$STEP_1"\'"' in text
    assert "aws ec2 authorize-security-group-ingress --group-id " + account.ids["sg_queue"] in text


def test_cli_format_runs_each_command_in_the_params_region_not_the_users_default(account):
    """Without --region the aws CLI uses the user's default region, not the one the plan is for."""
    no_sg_workers(account)
    no_master_role_tag(account)
    _res, plan = plan_of(account)
    text = show.as_cli(plan)
    commands = [line for line in text.splitlines() if line.startswith(("aws ", "STEP_"))]
    assert len(commands) == len(plan.steps) and {c.split("aws ")[1].split()[0] for c in commands} == {"ec2", "iam"}
    assert all(" --region eu-west-1" in c for c in commands), commands
    assert "--region eu-west-1 --query GroupId --output text)" in text
    other = show.as_cli(Plan(steps=plan.steps, account_id=plan.account_id, region="eu-north-1"))
    assert other.count(" --region eu-north-1") == len(commands) and "eu-west-1" not in other


def test_a_failed_step_stops_the_run_and_a_rerun_converges(account):
    no_instance_profile(account)
    no_http_on_queue(account)
    _res, plan = plan_of(account)
    assert calls(plan) == [
        "iam.create_instance_profile",
        "iam.add_role_to_instance_profile",
        "ec2.authorize_security_group_ingress",
    ]
    # someone else puts another role in the profile between plan and apply: step 2 fails for real
    account.iam.create_instance_profile(InstanceProfileName="ValohaiWorkerRole")
    report = apply(plan, Target(region=REGION))
    assert report.applied == [] and [s.id for s, _ in report.failed] == [1]
    assert "EntityAlreadyExists" in report.failed[0][1]
    assert [s.id for s in report.not_tried] == [2, 3]
    text = show.applied(report)
    assert "FAILED" in text and "not tried" in text
    _res, again = plan_of(account)
    assert calls(again) == ["iam.add_role_to_instance_profile", "ec2.authorize_security_group_ingress"]
    after, last = fix_and_replan(account, again)
    assert after.failing() == set() and last.steps == []


def test_a_master_policy_fix_that_needs_an_unread_worker_role_is_left_by_hand(account):
    # the master policy's PassRole names the worker role's ARN; when the role could not be read the
    # ARN is not known (an independent tester: it was guessed), so no new version is planned from a guess
    drop_describe_images(account)
    res = account.check(for_fix=True)
    snap = res.snapshot
    del snap.data["roles"]["ValohaiWorkerRole"]
    snap.errors["roles.ValohaiWorkerRole"] = "iam:GetRole was denied"
    findings = engine.evaluate(account.pack, params_mod.from_dict(dict(account.params)), snap)
    assert {f.rule_id: f.status for f in findings}["master-policy-describe"] == "fail"
    plan = planner.build(account.pack, params_mod.from_dict(dict(account.params)), snap, findings)
    assert "iam.create_policy_version" not in calls(plan)
    [by_hand] = [s for s in plan.steps if s.rule == "master-policy-describe"]
    assert by_hand.risk == MANUAL
    assert "not planned: the ARN of ValohaiWorkerRole is not known: iam:GetRole was denied" in by_hand.summary
    assert "master-policy-pass-worker-role" in plan.undecided


def test_the_checksum_ties_the_plan_to_its_account_and_region(account):
    # an independent tester: IAM steps name a role by name alone, so a plan reviewed for one account
    # had the checksum of the same plan in another, and --plan-checksum applied it there
    drop_describe_images(account)
    _res, plan = plan_of(account)
    assert (plan.account_id, plan.region) == (ACCOUNT, REGION) and plan.steps
    same = Plan(steps=plan.steps, undecided=plan.undecided, account_id=ACCOUNT, region=REGION)
    assert same.checksum == plan.checksum
    assert Plan(steps=plan.steps, account_id="210987654321", region=REGION).checksum != plan.checksum
    assert Plan(steps=plan.steps, account_id=ACCOUNT, region="eu-north-1").checksum != plan.checksum


def test_a_security_group_step_says_the_address_it_opens(account):
    # an independent tester: the summary read "from {admin-cidr}" (the label's _ became - before it was expanded)
    account.ec2.revoke_security_group_ingress(
        GroupId=account.ids["sg_queue"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": DEMO_PARAMS["admin_cidr"]}]}
        ],
    )
    no_redis_from_workers(account)
    _res, plan = plan_of(account)
    summaries = [s.summary for s in plan.steps if s.call == "ec2.authorize_security_group_ingress"]
    assert f"allow ingress TCP 22 from {DEMO_PARAMS['admin_cidr']} on valohai-sg-queue" in summaries, summaries
    assert "allow ingress TCP 63790 from valohai-sg-workers on valohai-sg-queue" in summaries, summaries
    assert not any("{" in s for s in summaries), summaries


def test_a_queue_without_its_group_gets_it_and_the_other_group_goes_only_with_tighten(account):
    queue_without_its_group(account)  # valohai-sg-workers instead of valohai-sg-queue
    before, plan = plan_of(account)
    assert before.failing() == {"queue-instance-sg", "queue-instance-sg-only", "path-workers-to-queue"} | QUEUE_PATHS
    add, detach = plan.steps
    assert (add.rule, add.risk, add.arguments["Groups"]) == (
        "queue-instance-sg",
        FIX,
        [account.ids["sg_workers"], account.ids["sg_queue"]],
    )
    assert (detach.rule, detach.risk, detach.arguments["Groups"]) == (
        "queue-instance-sg-only",
        DECIDE,
        [account.ids["sg_queue"]],
    )
    assert f"detach valohai-sg-workers ({account.ids['sg_workers']}) from valohai-i-queue" in detach.summary
    after, again = fix_and_replan(account, plan)  # without --tighten the other group stays, said as a decision
    assert after.failing() == {"queue-instance-sg-only"} and [s.risk for s in again.steps] == [DECIDE]
    after, again = fix_and_replan(account, again, tighten=True)
    assert after.failing() == set() and again.steps == []


# ------------------------------------------------------------------ tightening keeps what the guide asks for


def _queue_ingress_replaced_by(acct: Account, world: dict[str, Any]) -> None:
    """The queue's group as a newcomer leaves it: the guide's inbound rules `world` covers are
    not there, `world` (open to 0.0.0.0/0) is."""
    sg = acct.ec2.describe_security_groups(GroupIds=[acct.ids["sg_queue"]])["SecurityGroups"][0]
    covered = [p for p in sg["IpPermissions"] if world["IpProtocol"] == "-1" or p.get("FromPort") == world["FromPort"]]
    acct.ec2.revoke_security_group_ingress(GroupId=acct.ids["sg_queue"], IpPermissions=covered)
    acct.ec2.authorize_security_group_ingress(
        GroupId=acct.ids["sg_queue"], IpPermissions=[{**world, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )


@pytest.mark.parametrize(
    "world, added",
    [
        (
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22},
            [f"allow ingress TCP 22 from {DEMO_PARAMS['admin_cidr']} on valohai-sg-queue"],
        ),
        (
            {"IpProtocol": "-1"},
            [
                "allow ingress TCP 80 from 0.0.0.0/0 on valohai-sg-queue",
                "allow ingress TCP 63790 from 34.248.245.191/32 on valohai-sg-queue",
                "allow ingress TCP 63790 from valohai-sg-workers on valohai-sg-queue",
                f"allow ingress TCP 22 from {DEMO_PARAMS['admin_cidr']} on valohai-sg-queue",
            ],
        ),
    ],
    ids=["ssh-from-the-world-only", "all-traffic-from-the-world-only"],
)
def test_tightening_adds_the_guides_narrower_rule_before_revoking_the_wider_one(account, world, added):
    """22 open to the world instead of admin_cidr: only the "no other inbound" rule fails (the wider
    rule covers admin_cidr). The decision adds what the guide asks for, then revokes the wider rule,
    in one plan: the admin keeps SSH throughout, and one --fix --tighten converges."""
    _queue_ingress_replaced_by(account, world)
    before, plan = plan_of(account)
    assert before.failing() == {"sg-queue-ingress-only-guide"}
    assert [s.summary for s in plan.steps if s.call == "ec2.authorize_security_group_ingress"] == added
    assert [(s.call, s.risk) for s in plan.steps] == [("ec2.authorize_security_group_ingress", DECIDE)] * len(added) + [
        ("ec2.revoke_security_group_ingress", DECIDE)
    ]
    assert plan.to_apply() == []  # a decision, both halves: without --tighten nothing changes
    after, again = fix_and_replan(account, plan, tighten=True)
    assert after.failing() == set() and again.steps == []


# ------------------------------------------------------------------ the trust is never replaced by a doubtful ARN


@pytest.mark.parametrize(
    "arn, problem, rule",
    [
        # the params name ValohaiMaster itself (any case, any path): the trust would name only itself
        (f"arn:aws:iam::{ACCOUNT}:role/valohaimaster", "ValohaiMaster itself", "params-assume-role-not-master"),
        (f"arn:aws:iam::{ACCOUNT}:role/x/ValohaiMaster", "ValohaiMaster itself", "params-assume-role-not-master"),
        # a principal of the China partition cannot assume a role in eu-west-1
        (
            "arn:aws-cn:iam::111122223333:role/valohai-assumer",
            "is of partition aws-cn",
            "params-assume-role-partition",
        ),
        # a principal of the very account being checked: not Valohai's
        (
            f"arn:aws:iam::{ACCOUNT}:role/SomeRole",
            "a principal of the account being checked",
            "params-assume-role-other-account",
        ),
    ],
)
def test_the_master_trust_is_not_replaced_while_the_params_doubt_the_assume_role_arn(account, arn, problem, rule):
    """The trust names Valohai's principal; the params record a wrong ARN: replacing the trust with it
    would lock Valohai out. The plan changes nothing of the trust and says, by hand, which params
    rule doubts the ARN and that the params must be corrected first."""
    account.params["assume_role_arn"] = arn
    res, plan = plan_of(account)
    assert res.status("master-role-trust") == "fail"
    assert res.status(rule) in ("fail", "warn")
    assert "iam.update_assume_role_policy" not in calls(plan)
    [manual] = [s for s in plan.steps if s.rule == "master-role-trust"]
    assert manual.risk == MANUAL
    assert problem in manual.summary and f"({rule})" in manual.summary
    assert "Correct the params first" in manual.summary
    # applied with --tighten: the trust still names Valohai's principal
    apply(plan, Target(region=REGION), tighten=True)
    trust = account.iam.get_role(RoleName="ValohaiMaster")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"AWS": ASSUME_ROLE_ARN}


def test_the_master_trust_is_replaced_when_the_params_agree_on_the_assume_role_arn(account):
    """The other side: Valohai gave a new ARN (another account, the region's partition): the trust
    is replaced by the guide's with it."""
    new = "arn:aws:iam::444455556666:role/valohai-assumer"
    account.params["assume_role_arn"] = new
    res, plan = plan_of(account)
    assert res.status("params-assume-role-other-account") == "pass"
    doc = json.loads(step(plan, "iam.update_assume_role_policy").arguments["PolicyDocument"])
    assert doc["Statement"][0]["Principal"] == {"AWS": new}


# ------------------------------------------------------------------ a Deny-only policy is hardening: it stays

SECURE_TRANSPORT = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Deny",
            "Action": "*",
            "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}
GRANTING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


@pytest.mark.parametrize("role", ["ValohaiMaster", "ValohaiWorkerRole"])
def test_a_deny_only_inline_policy_is_not_deleted_and_passes(account, role):
    account.iam.put_role_policy(RoleName=role, PolicyName="deny-insecure", PolicyDocument=json.dumps(SECURE_TRANSPORT))
    res, plan = plan_of(account)
    assert res.failing() == set(), [(f.rule_id, f.message) for f in res.findings if f.status == "fail"]
    assert "iam.delete_role_policy" not in calls(plan)
    assert plan.steps == []


@pytest.mark.parametrize("role", ["ValohaiMaster", "ValohaiWorkerRole"])
def test_only_the_granting_inline_policy_is_deleted_the_deny_only_one_stays(account, role):
    account.iam.put_role_policy(RoleName=role, PolicyName="deny-insecure", PolicyDocument=json.dumps(SECURE_TRANSPORT))
    account.iam.put_role_policy(RoleName=role, PolicyName="quick-fix", PolicyDocument=json.dumps(GRANTING))
    _res, plan = plan_of(account)
    deleted = [s.arguments["PolicyName"] for s in plan.steps if s.call == "iam.delete_role_policy"]
    assert deleted == ["quick-fix"]
    after, again = fix_and_replan(account, plan, tighten=True)
    assert account.iam.list_role_policies(RoleName=role)["PolicyNames"] == ["deny-insecure"]
    assert after.failing() == set() and again.steps == []


@pytest.mark.parametrize("role", ["ValohaiMaster", "ValohaiWorkerRole"])
def test_a_deny_only_managed_policy_is_not_detached_and_passes(account, role):
    deny = account.iam.create_policy(PolicyName="DenyInsecure", PolicyDocument=json.dumps(SECURE_TRANSPORT))
    account.iam.attach_role_policy(RoleName=role, PolicyArn=deny["Policy"]["Arn"])
    res, plan = plan_of(account)
    assert res.failing() == set(), [(f.rule_id, f.message) for f in res.findings if f.status == "fail"]
    assert "iam.detach_role_policy" not in calls(plan)


@pytest.mark.parametrize("role", ["ValohaiMaster", "ValohaiWorkerRole"])
def test_only_the_granting_managed_policy_is_detached_the_deny_only_one_stays(account, role):
    deny = account.iam.create_policy(PolicyName="DenyInsecure", PolicyDocument=json.dumps(SECURE_TRANSPORT))
    extra = account.iam.create_policy(PolicyName="Extra", PolicyDocument=json.dumps(GRANTING))
    for p in (deny, extra):
        account.iam.attach_role_policy(RoleName=role, PolicyArn=p["Policy"]["Arn"])
    _res, plan = plan_of(account)
    detached = [s.arguments["PolicyArn"] for s in plan.steps if s.call == "iam.detach_role_policy"]
    assert detached == [extra["Policy"]["Arn"]]
    after, again = fix_and_replan(account, plan, tighten=True)
    left = {p["PolicyName"] for p in account.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
    assert "DenyInsecure" in left and "Extra" not in left
    assert after.failing() == set() and again.steps == []


# ------------------------------------------------------------------ the instance profile Valohai launches with


def test_the_guides_profile_holding_another_role_is_a_by_hand_step_naming_it(account):
    from tests.test_rules_iam import _role_in_another_profile

    _role_in_another_profile(account, admin_in_the_guides=True)
    _res, plan = plan_of(account)
    assert calls(plan) == [""]
    [manual] = plan.steps
    assert manual.rule == "worker-role-instance-profile" and manual.risk == MANUAL
    assert "the instance profile ValohaiWorkerRole holds AdminRole" in manual.summary
    assert "remove AdminRole from ValohaiWorkerRole" in manual.summary


def test_the_guides_profile_gone_is_created_for_the_role_in_another_profile(account):
    from tests.test_rules_iam import _role_in_another_profile

    _role_in_another_profile(account, admin_in_the_guides=False)
    _res, plan = plan_of(account)
    assert calls(plan) == ["iam.create_instance_profile", "iam.add_role_to_instance_profile"]
    assert step(plan, "iam.add_role_to_instance_profile").arguments == {
        "InstanceProfileName": "ValohaiWorkerRole",
        "RoleName": "ValohaiWorkerRole",
    }
    after, again = fix_and_replan(account, plan)
    assert after.failing() == set() and again.steps == []


def test_tighten_never_deletes_an_inline_policy_that_carries_what_the_params_ask(account):
    # the data store reached as ValohaiMaster, its S3 written inline (an independent tester's G1)
    bucket = "valohai-data-123456789012"
    account.params = {**account.params, "data_store": {"bucket": bucket, "role": "ValohaiMaster"}}
    account.iam.put_role_policy(
        RoleName="ValohaiMaster",
        PolicyName="DataStoreS3",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:*",
                        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    }
                ],
            }
        ),
    )
    before, plan = plan_of(account)
    f = before.one("master-role-no-inline")
    assert f.status == "fail"
    assert (
        "DataStoreS3 grants what the guide or the params ask: move that into ValohaiMasterPolicy before deleting it"
        in (f.message)
    )
    steps = [s for s in plan.steps if s.rule == "master-role-no-inline"]
    assert [(s.risk, s.call) for s in steps] == [("manual", "")]
    assert "move those statements into ValohaiMasterPolicy, then delete DataStoreS3" in steps[0].summary
    assert not [s for s in plan.steps if s.call == "iam.delete_role_policy"]
