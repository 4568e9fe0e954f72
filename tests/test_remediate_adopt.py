"""Adopt before create: when only the Name of the guide's VPC, IGW, queue instance or EIP is gone,
`remediate` names the resource the guide's other resources point at (ec2.create_tags) and creates
no second one; when several could be it, or it is named otherwise, or vhv could not look, a
by-hand step and nothing created. In-process moto."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import REGION, Account
from tests.test_remediate import calls, fix_and_replan, plan_of
from tests.test_remediate import step as step_of
from validator.demo import DEMO_PARAMS, build_iam
from validator.fixers.plan import DECIDE, FIX, MANUAL, Plan

NAMES = {"vpc": "valohai-vpc", "igw": "valohai-igw", "instance": "valohai-i-queue", "eip": "valohai-ip-queue"}
RULES = {"vpc": "vpc-exists", "igw": "igw-exists", "instance": "queue-instance-exists", "eip": "eip-exists"}
CREATES = (
    "create_vpc",
    "create_internet_gateway",
    "attach_internet_gateway",
    "allocate_address",
    "associate_address",
    "run_instances",
    "create_subnet",
    "create_security_group",
    "create_route",
    "replace_route",
)


def unname(acct: Account, kind: str, also: tuple[str, ...] = ()) -> str:
    rid = acct.ids[kind]
    acct.ec2.delete_tags(Resources=[rid], Tags=[{"Key": "Name"}, *({"Key": k} for k in also)])
    return rid


def state(acct: Account) -> dict[str, Any]:
    """Every VPC, IGW, live instance and address of the region, with its Name."""
    ec2 = acct.ec2

    def name(x: dict[str, Any]) -> str | None:
        return {t["Key"]: t["Value"] for t in x.get("Tags", [])}.get("Name")

    return {
        "vpcs": sorted((v["VpcId"], name(v)) for v in ec2.describe_vpcs()["Vpcs"]),
        "igws": sorted(
            (g["InternetGatewayId"], name(g), tuple(a["VpcId"] for a in g.get("Attachments", [])))
            for g in ec2.describe_internet_gateways()["InternetGateways"]
        ),
        "instances": sorted(
            (i["InstanceId"], name(i))
            for r in ec2.describe_instances()["Reservations"]
            for i in r["Instances"]
            if i["State"]["Name"] != "terminated"
        ),
        "eips": sorted(
            (a["AllocationId"], a["PublicIp"], a.get("InstanceId"), name(a))
            for a in ec2.describe_addresses()["Addresses"]
        ),
        "route_tables": sorted((t["RouteTableId"], name(t)) for t in ec2.describe_route_tables()["RouteTables"]),
    }


def named(before: dict[str, Any], kind: str, rid: str) -> dict[str, Any]:
    """`before` with the resource `rid` named as the guide names `kind`."""
    key = {"vpc": "vpcs", "igw": "igws", "instance": "instances", "eip": "eips"}[kind]
    out = dict(before)
    out[key] = sorted(
        tuple(NAMES[kind] if i == (3 if kind == "eip" else 1) else v for i, v in enumerate(row))
        if row[0] == rid
        else row
        for row in before[key]
    )
    return out


def assert_creates_nothing(plan: Plan) -> None:
    made = [s.call for s in plan.steps if s.call.split(".")[-1] in CREATES]
    assert made == [], made


@pytest.mark.parametrize("kind", list(NAMES))
def test_a_resource_that_lost_only_its_name_is_named_not_duplicated(account, kind):
    rid = unname(account, kind)
    before = state(account)
    found, plan = plan_of(account)
    assert found.failing() == {RULES[kind]}
    assert calls(plan) == ["ec2.create_tags"], [(s.call, s.summary) for s in plan.steps]
    tag = plan.steps[0]
    assert tag.risk == FIX and tag.rule == RULES[kind] and tag.kind == kind
    # the guide's tag is still there: only the Name is added
    assert tag.arguments == {"Resources": [rid], "Tags": [{"Key": "Name", "Value": NAMES[kind]}]}
    assert tag.summary.startswith(rid) and f"naming it {NAMES[kind]}" in tag.summary
    assert_creates_nothing(plan)
    after, again = fix_and_replan(account, plan)
    assert after.failing() == set(), [(f.rule_id, f.message) for f in after.findings if f.status == "fail"]
    assert again.steps == []
    # the same VPC / IGW / instance / address (and public IP), now named; nothing else made or changed
    assert state(account) == named(before, kind, rid)


def test_why_vhv_believes_it_is_the_guides_is_said(account):
    unname(account, "vpc")
    _res, plan = plan_of(account)
    summary = plan.steps[0].summary
    for held in (
        "valohai-subnet-1",
        "valohai-subnet-3",
        "valohai-sg-queue",
        "valohai-sg-workers",
        "valohai-i-queue",
        "10.0.0.0/16",
    ):
        assert held in summary, summary
    account.ec2.create_tags(Resources=[account.ids["vpc"]], Tags=[{"Key": "Name", "Value": "valohai-vpc"}])
    unname(account, "igw")
    _res, plan = plan_of(account)
    assert "attached to valohai-vpc" in plan.steps[0].summary and "default route" in plan.steps[0].summary
    account.ec2.create_tags(Resources=[account.ids["igw"]], Tags=[{"Key": "Name", "Value": "valohai-igw"}])
    unname(account, "eip")
    _res, plan = plan_of(account)
    ip = account.ec2.describe_addresses(AllocationIds=[account.ids["eip"]])["Addresses"][0]["PublicIp"]
    assert ip in plan.steps[0].summary and account.ids["instance"] in plan.steps[0].summary


@pytest.mark.parametrize("kind", ["vpc", "igw", "instance", "eip"])
def test_a_missing_guide_tag_is_added_with_the_name(account, kind):
    rid = unname(account, kind, also=("valohai",))
    _res, plan = plan_of(account)
    tags = [
        s.arguments["Tags"] for s in plan.steps if s.call == "ec2.create_tags" and s.arguments["Resources"] == [rid]
    ]
    assert {"Key": "Name", "Value": NAMES[kind]} in tags[0] and {"Key": "valohai", "Value": "1"} in tags[0]
    assert "tagging it valohai=1" in plan.steps[0].summary
    assert_creates_nothing(plan)
    after, again = fix_and_replan(account, plan)
    assert after.failing() == set() and again.steps == []


def _second_vpc_with_a_guide_group(acct: Account) -> list[str]:
    other = acct.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    acct.ec2.create_security_group(GroupName="valohai-sg-workers", Description="x", VpcId=other)
    return [acct.ids["vpc"], other]


def _second_instance_in_the_queue_group(acct: Account) -> list[str]:
    inst = acct.ec2.describe_instances(InstanceIds=[acct.ids["instance"]])["Reservations"][0]["Instances"][0]
    other = acct.ec2.run_instances(
        ImageId=inst["ImageId"],
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SubnetId=acct.ids["subnets"][1],
        SecurityGroupIds=[acct.ids["sg_queue"]],
    )["Instances"][0]["InstanceId"]
    return [acct.ids["instance"], other]


def _route_to_another_igw(acct: Account) -> list[str]:
    other = acct.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    acct.ec2.replace_route(RouteTableId=acct.ids["rt"], DestinationCidrBlock="0.0.0.0/0", GatewayId=other)
    return [acct.ids["igw"], other]


@pytest.mark.parametrize(
    "kind, second",
    [
        ("vpc", _second_vpc_with_a_guide_group),
        ("instance", _second_instance_in_the_queue_group),
        ("igw", _route_to_another_igw),
    ],
    ids=["two-vpcs", "two-instances", "attached-igw-and-routed-igw"],
)
def test_several_candidates_are_left_by_hand_and_nothing_is_created(account, kind, second):
    unname(account, kind)
    candidates = second(account)
    before = state(account)
    _res, plan = plan_of(account)
    mine = [s for s in plan.steps if s.rule == RULES[kind]]
    assert [(s.risk, s.call) for s in mine] == [(MANUAL, "")], [(s.call, s.summary) for s in plan.steps]
    assert "several resources could be it" in mine[0].summary
    for rid in candidates:
        assert rid in mine[0].summary
    assert_creates_nothing(plan)
    assert not [
        s for s in plan.steps if s.call == "ec2.create_tags" and set(s.arguments["Resources"]) & set(candidates)
    ]
    # applying what there is to apply leaves the candidates as they were
    fix_and_replan(account, plan)
    assert {k: v for k, v in state(account).items() if k != "route_tables"} == {
        k: v for k, v in before.items() if k != "route_tables"
    }


def test_a_candidate_named_otherwise_is_not_renamed(account):
    account.ec2.create_tags(Resources=[account.ids["vpc"]], Tags=[{"Key": "Name", "Value": "prod-vpc"}])
    _res, plan = plan_of(account)
    assert [(s.risk, s.call) for s in plan.steps] == [(MANUAL, "")]
    assert "named 'prod-vpc'" in plan.steps[0].summary and account.ids["vpc"] in plan.steps[0].summary


def test_when_vhv_could_not_look_it_creates_nothing(account):
    from validator import params as params_mod
    from validator.fixers import planner

    unname(account, "eip")
    res = account.check(for_fix=True)
    res.snapshot.errors["unnamed.eips"] = "ec2:DescribeAddresses denied"
    plan = planner.build(account.pack, params_mod.from_dict(dict(account.params)), res.snapshot, res.findings)
    assert [(s.risk, s.call) for s in plan.steps] == [(MANUAL, "")]
    assert "could not look" in plan.steps[0].summary and "denied" in plan.steps[0].summary


def test_the_unnamed_reads_are_remediates_only_and_made_only_when_something_is_missing(account):
    golden = account.check(for_fix=True)
    assert "unnamed" not in golden.snapshot.data
    unname(account, "vpc")
    assert "unnamed" not in account.check().snapshot.data
    fix = account.check(for_fix=True)
    assert [v["id"] for v in fix.snapshot.get("unnamed.vpcs")] == [account.ids["vpc"]]


# ------------------------------------------------------------------ the default VPC (an independent tester)


def _stray_group_in(acct: Account, vpc: str) -> str:
    return acct.ec2.create_security_group(
        GroupName="valohai-sg-queue", Description="made before valohai-vpc", VpcId=vpc
    )["GroupId"]


def _targets(plan: Plan, rid: str) -> list[Any]:
    """The steps that would change (or put something in) `rid`: any argument naming it, the by-hand ones aside."""
    import json

    return [s for s in plan.steps if s.risk != MANUAL and rid in json.dumps(s.arguments)]


@pytest.mark.parametrize("vpc_cidr", [DEMO_PARAMS["vpc_cidr"], "172.31.0.0/16"], ids=["other-cidr", "same-cidr"])
def test_a_guide_group_left_in_the_default_vpc_does_not_make_it_valohai_vpc(moto_env, pack, vpc_cidr):
    # no valohai-vpc; a valohai-sg-queue in the default VPC (the console's "Create security group" puts it there)
    params = {**DEMO_PARAMS, "vpc_cidr": vpc_cidr}
    build_iam(moto_env.client("iam", region_name=REGION), params)
    acct = Account(moto_env, {}, pack, params)
    default = acct.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
    assert default["CidrBlock"] == "172.31.0.0/16"
    _stray_group_in(acct, default["VpcId"])
    before = state(acct)
    _res, plan = plan_of(acct)
    mine = [s for s in plan.steps if s.rule == "vpc-exists"]
    assert [(s.risk, s.call) for s in mine] == [(MANUAL, "")], [(s.call, s.summary) for s in plan.steps]
    why = mine[0].summary
    for said in (default["VpcId"], "valohai-sg-queue", "default VPC", vpc_cidr, "does not adopt"):
        assert said in why, why
    # nothing names, tags, or puts anything in the default VPC; no second valohai-vpc either
    assert _targets(plan, default["VpcId"]) == [], [(s.call, s.arguments) for s in _targets(plan, default["VpcId"])]
    assert "ec2.create_vpc" not in calls(plan)
    fix_and_replan(acct, plan)
    after = state(acct)
    assert after["vpcs"] == before["vpcs"]
    assert not [g for g in after["igws"] if default["VpcId"] in g[2]]


def test_a_vpc_of_another_cidr_holding_a_guide_group_is_not_adopted(moto_env, pack):
    build_iam(moto_env.client("iam", region_name=REGION), dict(DEMO_PARAMS))
    acct = Account(moto_env, {}, pack)
    other = acct.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    _stray_group_in(acct, other)
    _res, plan = plan_of(acct)
    mine = [s for s in plan.steps if s.rule == "vpc-exists"]
    assert [(s.risk, s.call) for s in mine] == [(MANUAL, "")]
    assert "10.9.0.0/16" in mine[0].summary and "default VPC" not in mine[0].summary
    assert _targets(plan, other) == []


def test_a_non_default_vpc_of_the_params_cidr_that_lost_its_name_is_still_adopted(account):
    rid = unname(account, "vpc")
    assert account.ec2.describe_vpcs(VpcIds=[rid])["Vpcs"][0]["IsDefault"] is False
    _res, plan = plan_of(account)
    assert [(s.risk, s.call, s.arguments["Resources"]) for s in plan.steps] == [(FIX, "ec2.create_tags", [rid])]
    assert "has the params' vpc_cidr 10.0.0.0/16" in plan.steps[0].summary


# ------------------------------------------------------------------ several of one name (an independent tester)


def _prod_db_with_an_eip_named_valohai_ip_queue(session: Any) -> tuple[str, str]:
    """An unrelated instance in a VPC of its own, whose Elastic IP someone also named valohai-ip-queue."""
    from validator.demo import UBUNTU_2004_AMI

    ec2 = session.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.0.0/20")["Subnet"]["SubnetId"]
    prod = ec2.run_instances(
        ImageId=UBUNTU_2004_AMI,
        InstanceType="t3.large",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "prod-db"}]}],
    )["Instances"][0]["InstanceId"]
    eip = ec2.allocate_address(
        Domain="vpc",
        TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": [{"Key": "Name", "Value": "valohai-ip-queue"}]}],
    )["AllocationId"]
    ec2.associate_address(AllocationId=eip, InstanceId=prod)
    return prod, eip


@pytest.mark.parametrize("tighten", [False, True], ids=["fix", "tighten"])
@pytest.mark.parametrize("other_first", [True, False], ids=["other-listed-first", "guide-listed-first"])
def test_two_eips_of_the_guide_name_are_left_by_hand(moto_env, pack, other_first, tighten):
    from validator.demo import build_golden

    if other_first:  # allocated first: AWS lists it first, and the rules judge it
        prod, other = _prod_db_with_an_eip_named_valohai_ip_queue(moto_env)
        acct = Account(moto_env, build_golden(moto_env), pack)
    else:
        acct = Account(moto_env, build_golden(moto_env), pack)
        prod, other = _prod_db_with_an_eip_named_valohai_ip_queue(moto_env)
    # the other one lost its valohai tag too (or never had it): the tag rule fails whichever is judged
    acct.ec2.delete_tags(Resources=[acct.ids["eip"]], Tags=[{"Key": "valohai"}])
    eips = [acct.ids["eip"], other]
    assert [a["AllocationId"] for a in acct.ec2.describe_addresses()["Addresses"]] == (
        eips[::-1] if other_first else eips
    )
    before = state(acct)
    res, plan = plan_of(acct)
    assert "eip-exists" in res.failing()
    # no step but a by-hand one names either address (or the instance the other is on)
    for rid in (*eips, prod):
        touching = _targets(plan, rid)
        assert touching == [], [(s.call, s.arguments, s.summary) for s in touching]
    assert plan.to_apply(tighten=tighten) == [], [(s.call, s.arguments) for s in plan.to_apply(tighten=tighten)]
    said = [s for s in plan.steps if s.rule == "eip-exists"]
    assert [(s.risk, s.call) for s in said] == [(MANUAL, "")]
    for rid in eips:
        assert rid in said[0].summary, said[0].summary
    apply_report = fix_and_replan(acct, plan, tighten=tighten)
    assert apply_report  # nothing to apply, nothing changed
    assert state(acct) == before


def test_one_eip_of_the_guide_name_with_drift_is_still_fixed(account):
    inst = account.ec2.describe_instances(InstanceIds=[account.ids["instance"]])["Reservations"][0]["Instances"][0]
    other = account.ec2.run_instances(
        ImageId=inst["ImageId"], InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=account.ids["subnets"][1]
    )["Instances"][0]["InstanceId"]
    account.ec2.associate_address(AllocationId=account.ids["eip"], InstanceId=other, AllowReassociation=True)
    account.ec2.delete_tags(Resources=[account.ids["eip"]], Tags=[{"Key": "valohai"}])
    _res, plan = plan_of(account)
    got = sorted((s.call, s.risk) for s in plan.steps)
    assert got == [("ec2.associate_address", DECIDE), ("ec2.create_tags", FIX)], got
    move = step_of(plan, "ec2.associate_address")
    assert move.arguments == {
        "AllocationId": account.ids["eip"],
        "InstanceId": account.ids["instance"],
        "AllowReassociation": True,
    }
    after, again = fix_and_replan(account, plan, tighten=True)
    assert after.failing() == set() and again.steps == []


def _second_named_igw(acct: Account) -> tuple[list[str], str]:
    """A second valohai-igw, unattached; the guide's lost its valohai tag."""
    other = acct.ec2.create_internet_gateway(
        TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": "valohai-igw"}]}]
    )["InternetGateway"]["InternetGatewayId"]
    acct.ec2.delete_tags(Resources=[acct.ids["igw"]], Tags=[{"Key": "valohai"}])
    return [acct.ids["igw"], other], "igw-exists"


def _second_named_queue(acct: Account) -> tuple[list[str], str]:
    """A second live valohai-i-queue, without valohai-sg-queue; the guide's lost its valohai tag."""
    inst = acct.ec2.describe_instances(InstanceIds=[acct.ids["instance"]])["Reservations"][0]["Instances"][0]
    other = acct.ec2.run_instances(
        ImageId=inst["ImageId"],
        InstanceType="t3.medium",
        MinCount=1,
        MaxCount=1,
        SubnetId=acct.ids["subnets"][1],
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "valohai-i-queue"}]}],
    )["Instances"][0]["InstanceId"]
    acct.ec2.delete_tags(Resources=[acct.ids["instance"]], Tags=[{"Key": "valohai"}])
    return [acct.ids["instance"], other], "queue-instance-exists"


@pytest.mark.parametrize("second", [_second_named_igw, _second_named_queue], ids=["igw", "instance"])
def test_several_of_the_guide_name_are_changed_by_hand_only(account, second):
    rids, rule = second(account)
    before = state(account)
    res, plan = plan_of(account)
    assert rule in res.failing()
    for rid in rids:
        touching = _targets(plan, rid)
        assert touching == [], [(s.call, s.arguments, s.summary) for s in touching]
    said = [s for s in plan.steps if s.rule == rule]
    assert [(s.risk, s.call) for s in said] == [(MANUAL, "")] and all(r in said[0].summary for r in rids)
    fix_and_replan(account, plan, tighten=True)
    assert state(account) == before
