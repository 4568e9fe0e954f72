"""`remediate --fix` changes only the guide's resources in the params' region and valohai-vpc
(issue 8), and refuses to run on an account other than the params' `account_id`.

In-process (`vhv` through `validator.cli.main`, moto's `mock_aws`): the guide's drifted
account, plus look-alikes of its resources (the same names) in another VPC and another region,
drifted the same way. After `--fix --yes --tighten` the guide's are fixed and every look-alike
reads back exactly as before.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.conftest import REGION, Account
from validator import params as params_mod
from validator.cli import main
from validator.demo import ACCOUNT, DEMO_PARAMS
from validator.fixers import planner
from validator.fixers.plan import MANUAL

OTHER_REGION = "us-east-1"
WORLD_SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def tags(name: str) -> list[dict[str, Any]]:
    return [{"Key": "Name", "Value": name}]


def spec(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": tags(name)}]


def lookalikes(ec2: Any, cidr: str, vpc_name: str, igw: bool = False) -> dict[str, str]:
    """A VPC with resources named as the guide's, each drifted as a rule would flag it:
    untagged (no valohai=1), SSH open to the world, no HTTP, no default route, and with `igw`
    a detached gateway (in the guide's region a second valohai-igw would make the name ambiguous)."""
    vpc = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=spec("vpc", vpc_name))["Vpc"]["VpcId"]
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    subnet = ec2.create_subnet(
        VpcId=vpc,
        CidrBlock=cidr.replace("0.0/16", "9.0/24"),
        AvailabilityZone=zone,
        TagSpecifications=spec("subnet", "valohai-subnet-9"),
    )["Subnet"]["SubnetId"]
    sg = ec2.create_security_group(
        GroupName="valohai-sg-queue",
        Description="look-alike",
        VpcId=vpc,
        TagSpecifications=spec("security-group", "valohai-sg-queue"),
    )["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[WORLD_SSH])
    rt = ec2.create_route_table(VpcId=vpc, TagSpecifications=spec("route-table", "valohai-rt"))["RouteTable"]
    ids = {"vpc": vpc, "subnet": subnet, "sg": sg, "rt": rt["RouteTableId"]}
    if igw:
        made = ec2.create_internet_gateway(TagSpecifications=spec("internet-gateway", "valohai-igw"))
        ids["igw"] = made["InternetGateway"]["InternetGatewayId"]
    return ids


def state(ec2: Any, ids: dict[str, str]) -> dict[str, Any]:
    """How the look-alikes read, straight from EC2 (not through vhv's readers)."""

    def clean(doc: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in doc.items() if k != "ResponseMetadata"}

    return {
        "vpc": clean(ec2.describe_vpcs(VpcIds=[ids["vpc"]])),
        "subnet": clean(ec2.describe_subnets(SubnetIds=[ids["subnet"]])),
        "sg": clean(ec2.describe_security_groups(GroupIds=[ids["sg"]])),
        "rt": clean(ec2.describe_route_tables(RouteTableIds=[ids["rt"]])),
        "igws": clean(ec2.describe_internet_gateways(InternetGatewayIds=[ids["igw"]])) if "igw" in ids else None,
        "eips": clean(ec2.describe_addresses()),
    }


def write_params(tmp_path, **extra: Any):
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({**DEMO_PARAMS, **extra}, sort_keys=False))
    return str(p)


def guide_drifts(acct: Account) -> None:
    """The guide's own resources drifted: SSH to the queue open to the world, HTTP gone,
    valohai-subnet-2 untagged."""
    acct.ec2.authorize_security_group_ingress(GroupId=acct.ids["sg_queue"], IpPermissions=[WORLD_SSH])
    acct.ec2.revoke_security_group_ingress(
        GroupId=acct.ids["sg_queue"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    acct.ec2.delete_tags(Resources=[acct.ids["subnets"][1]], Tags=[{"Key": "valohai"}])


def test_lookalikes_in_another_vpc_and_region_are_left_alone_while_the_guides_are_fixed(account, tmp_path, capsys):
    guide_drifts(account)
    here = lookalikes(account.ec2, "10.9.0.0/16", "not-valohai")
    there_ec2 = account.session.client("ec2", region_name=OTHER_REGION)
    there = lookalikes(there_ec2, "10.0.0.0/16", "valohai-vpc", igw=True)  # in another region even the VPC has the name
    there_ec2.allocate_address(Domain="vpc", TagSpecifications=spec("elastic-ip", "valohai-ip-queue"))
    before_here, before_there = state(account.ec2, here), state(there_ec2, there)

    params = write_params(tmp_path)
    assert main(["remediate", "--params", params, "--format", "json"]) == 1
    steps = json.loads(capsys.readouterr().out)
    planned = json.dumps([s["arguments"] for s in steps if s["risk"] != MANUAL])
    for rid in (*here.values(), *there.values()):
        assert rid not in planned, rid
    # the look-alike subnet and group are not the guide's (those are in valohai-vpc): only reported, as
    # warnings; the plan neither tags, recreates nor mentions them
    assert here["subnet"] not in json.dumps(steps)
    assert here["sg"] not in json.dumps(steps)

    assert main(["remediate", "--params", params, "--fix", "--yes", "--tighten"]) == 0  # only warnings left
    out = capsys.readouterr().out
    assert "0 failed, 0 not tried" in out
    assert state(account.ec2, here) == before_here
    assert state(there_ec2, there) == before_there

    res = account.check()
    # the guide's resources are fixed; the look-alikes are left, and only reported
    assert res.failing() == set()
    lookalike = {here["subnet"], here["sg"]}
    assert sorted((f.rule_id, f.resource_id) for f in res.findings if f.resource_id in lookalike) == [
        ("sg-queue-no-namesake", here["sg"]),
        ("subnets-in-vpc", here["subnet"]),
    ]
    assert {f.status for f in res.findings if f.resource_id in lookalike} == {"warn"}


def test_a_group_named_as_the_guides_but_outside_valohai_vpc_is_never_changed(account, tmp_path, capsys):
    """The only valohai-sg-workers is in another VPC: the rules judge it (and fail it), the plan
    refers to it nowhere and changes nothing on it."""
    acct = account
    rules = acct.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [acct.ids["sg_queue"]]}])[
        "SecurityGroupRules"
    ]
    acct.ec2.revoke_security_group_ingress(
        GroupId=acct.ids["sg_queue"],
        SecurityGroupRuleIds=[
            r["SecurityGroupRuleId"]
            for r in rules
            if r.get("ReferencedGroupInfo", {}).get("GroupId") == acct.ids["sg_workers"]
        ],
    )
    acct.ec2.delete_security_group(GroupId=acct.ids["sg_workers"])
    other = acct.ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    stray = acct.ec2.create_security_group(GroupName="valohai-sg-workers", Description="stray", VpcId=other)["GroupId"]
    acct.ec2.authorize_security_group_ingress(GroupId=stray, IpPermissions=[WORLD_SSH])
    before = acct.ec2.describe_security_groups(GroupIds=[stray])["SecurityGroups"]

    res = acct.check(for_fix=True)
    assert {"sg-workers-in-vpc", "sg-workers-tag", "sg-workers-ingress-only-valohai-ssh"} <= res.failing()
    plan = planner.build(acct.pack, params_mod.from_dict(dict(acct.params)), res.snapshot, res.findings)
    assert stray not in json.dumps([s.arguments for s in plan.steps if s.risk != MANUAL])
    manual = {s.rule: s.summary for s in plan.steps if s.risk == MANUAL}
    assert f"it is in {other}, not in valohai-vpc ({acct.ids['vpc']})" in manual["sg-workers-tag"]
    assert "not in valohai-vpc" in manual["sg-workers-ingress-only-valohai-ssh"]
    assert "once that group is in valohai-vpc" in manual["sg-queue-ingress-redis-workers"]

    params = write_params(tmp_path)
    main(["remediate", "--params", params, "--fix", "--yes", "--tighten", "--force"])
    capsys.readouterr()
    assert acct.ec2.describe_security_groups(GroupIds=[stray])["SecurityGroups"] == before


@pytest.mark.parametrize("fix", [True, False], ids=["fix", "plan"])
def test_another_account_than_the_params_account_id_is_refused_with_one_line(account, tmp_path, capsys, fix):
    account.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    params = write_params(tmp_path, account_id="999999999999")
    code = main(["remediate", "--params", params, *(["--fix", "--yes"] if fix else [])])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err == (f"vhv: the credentials are for account {ACCOUNT}, the params' account_id is 999999999999\n")
    assert account.check().failing() == {
        "worker-role-policy-attached",
        "worker-role-effective-permissions",
    }  # nothing changed
    # the params' own account: planned and fixed
    assert main(["remediate", "--params", write_params(tmp_path, account_id=ACCOUNT), "--fix", "--yes"]) == 0
    assert account.check().failing() == set()


def test_fix_in_another_region_than_the_params_is_refused_with_one_line(account, tmp_path, capsys):
    account.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    code = main(["remediate", "--params", write_params(tmp_path), "--region", OTHER_REGION, "--fix", "--yes"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err == (
        f"vhv: --fix changes only the params' region ({REGION}), not --region {OTHER_REGION}: set region "
        "in the params to fix another region. Nothing was changed\n"
    )
    assert account.check().failing() == {"worker-role-policy-attached", "worker-role-effective-permissions"}
