"""The accounts bench/same_output.py judges: the guide's, the demo's, and one-drift accounts.

Each scenario is built with boto3 on a moto server (reset before): the guide's account
(validator.demo.build_golden, with the scenario's params), or part of it, then one drift. The
params file the trees read is DEMO_PARAMS with the scenario's `params`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import check_bench as cb

from validator import guide
from validator.demo import (
    AL2023_AMI,
    DEMO_PARAMS,
    apply_demo_drifts,
    build_golden,
    build_iam,
    build_network,
    build_queue,
)

REGION = cb.REGION


class Account:
    """boto3 clients on the moto server, and the ids build_golden returned."""

    def __init__(self, url: str):
        import boto3

        self.session = boto3.Session(region_name=REGION)
        self.url = url
        self.ids: dict[str, Any] = {}
        self.iam = self.session.client("iam", region_name=REGION, endpoint_url=url)
        self.ec2 = self.session.client("ec2", region_name=REGION, endpoint_url=url)

    def golden(self, **params: Any) -> None:
        self.ids = build_golden(self.session, params, endpoint_url=self.url)

    def default_vpc(self) -> str:
        vpcs = self.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
        return vpcs[0]["VpcId"]

    def tags(self, name: str) -> list[dict[str, str]]:
        return [{"Key": "Name", "Value": name}, dict(guide.TAG)]

    def policy_arn(self, name: str) -> str:
        return self.ids["worker_policy" if name == "ValohaiWorkerPolicy" else "master_policy"]

    def new_version(self, name: str, extra: dict[str, Any]) -> None:
        arn = self.policy_arn(name)
        doc = guide.WORKER_POLICY if name == "ValohaiWorkerPolicy" else guide.master_policy(self.ids["worker_role"])
        doc = {**doc, "Statement": [*doc["Statement"], extra]}
        self.iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc), SetAsDefault=True)


def _self_built(acct: Account, image_id: str) -> None:
    acct.ids = build_iam(acct.iam, dict(DEMO_PARAMS))
    acct.ids.update(build_queue(acct.ec2, build_network(acct.ec2, dict(DEMO_PARAMS)), image_id=image_id))


def _demo(a: Account) -> None:
    apply_demo_drifts(a.session, a.ids, REGION)


def _no_worker_policy(a: Account) -> None:
    a.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=a.ids["worker_policy"])
    a.iam.delete_policy(PolicyArn=a.ids["worker_policy"])


def _no_worker_role(a: Account) -> None:
    a.iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    a.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=a.ids["worker_policy"])
    a.iam.delete_role(RoleName="ValohaiWorkerRole")


def _no_master_policy(a: Account) -> None:
    a.iam.detach_role_policy(RoleName="ValohaiMaster", PolicyArn=a.ids["master_policy"])
    a.iam.delete_policy(PolicyArn=a.ids["master_policy"])


def _no_master_role(a: Account) -> None:
    a.iam.detach_role_policy(RoleName="ValohaiMaster", PolicyArn=a.ids["master_policy"])
    a.iam.delete_role(RoleName="ValohaiMaster")


def _no_worker_profile(a: Account) -> None:
    a.iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    a.iam.delete_instance_profile(InstanceProfileName="ValohaiWorkerRole")


def _no_subnets(a: Account) -> None:
    for i, subnet in enumerate(a.ids["subnets"]):
        a.ec2.create_tags(Resources=[subnet], Tags=[{"Key": "Name", "Value": f"my-subnet-{i + 1}"}])


def _no_igw(a: Account) -> None:
    a.ec2.detach_internet_gateway(InternetGatewayId=a.ids["igw"], VpcId=a.ids["vpc"])
    a.ec2.delete_internet_gateway(InternetGatewayId=a.ids["igw"])


def _igw_detached(a: Account) -> None:
    a.ec2.detach_internet_gateway(InternetGatewayId=a.ids["igw"], VpcId=a.ids["vpc"])


def _rt_unnamed(a: Account) -> None:
    a.ec2.delete_tags(Resources=[a.ids["rt"]], Tags=[{"Key": "Name"}])


def _rt_no_default(a: Account) -> None:
    a.ec2.delete_route(RouteTableId=a.ids["rt"], DestinationCidrBlock="0.0.0.0/0")


def _no_sg_workers(a: Account) -> None:
    rules = a.ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [a.ids["sg_queue"]]}])
    refs = [
        r["SecurityGroupRuleId"]
        for r in rules["SecurityGroupRules"]
        if r.get("ReferencedGroupInfo", {}).get("GroupId") == a.ids["sg_workers"]
    ]
    a.ec2.revoke_security_group_ingress(GroupId=a.ids["sg_queue"], SecurityGroupRuleIds=refs)
    a.ec2.delete_security_group(GroupId=a.ids["sg_workers"])


def _no_sg_queue(a: Account) -> None:
    default = a.ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [a.ids["vpc"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]
    a.ec2.modify_instance_attribute(InstanceId=a.ids["instance"], Groups=[default])
    a.ec2.delete_security_group(GroupId=a.ids["sg_queue"])


def _no_key_pair(a: Account) -> None:
    a.ec2.delete_key_pair(KeyName=a.ids["key_pair"])


def _eip_unassociated(a: Account) -> None:
    assoc = a.ec2.describe_addresses(AllocationIds=[a.ids["eip"]])["Addresses"][0]["AssociationId"]
    a.ec2.disassociate_address(AssociationId=assoc)


def _no_eip(a: Account) -> None:
    _eip_unassociated(a)
    a.ec2.release_address(AllocationId=a.ids["eip"])


def _queue_terminated(a: Account) -> None:
    a.ec2.terminate_instances(InstanceIds=[a.ids["instance"]])


def _vpc_untagged(a: Account) -> None:
    a.ec2.delete_tags(Resources=[a.ids["vpc"]], Tags=[dict(guide.TAG)])


def _master_role_tag(a: Account) -> None:
    a.iam.tag_role(RoleName="ValohaiMaster", Tags=[{"Key": guide.TAG["Key"], "Value": "0"}])


def _sg_workers_ssh_world(a: Account) -> None:
    a.ec2.authorize_security_group_ingress(
        GroupId=a.ids["sg_workers"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )


def _sg_queue_all_world(a: Account) -> None:
    a.ec2.authorize_security_group_ingress(
        GroupId=a.ids["sg_queue"], IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )


def _sg_workers_no_egress(a: Account) -> None:
    a.ec2.revoke_security_group_egress(
        GroupId=a.ids["sg_workers"], IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )


def _worker_extra_statement(a: Account) -> None:
    a.new_version("ValohaiWorkerPolicy", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})


def _master_extra_statement(a: Account) -> None:
    a.new_version("ValohaiMasterPolicy", {"Effect": "Allow", "Action": "ec2:TerminateInstances", "Resource": "*"})


def _master_inline(a: Account) -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
    a.iam.put_role_policy(RoleName="ValohaiMaster", PolicyName="extra", PolicyDocument=json.dumps(doc))


def _worker_extra_attached(a: Account) -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    arn = a.iam.create_policy(PolicyName="Extra", PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
    a.iam.attach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=arn)


def _master_trust_other(a: Account) -> None:
    doc = guide.master_trust("arn:aws:iam::444455556666:role/someone-else")
    a.iam.update_assume_role_policy(RoleName="ValohaiMaster", PolicyDocument=json.dumps(doc))


def _worker_trust_lambda(a: Account) -> None:
    doc = guide.ec2_trust()
    doc["Statement"][0]["Principal"] = {"Service": "lambda.amazonaws.com"}
    a.iam.update_assume_role_policy(RoleName="ValohaiWorkerRole", PolicyDocument=json.dumps(doc))


def _second_vpc(a: Account) -> None:
    a.ec2.create_vpc(
        CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": a.tags("valohai-vpc")}]
    )


def _subnet_other_vpc(a: Account) -> None:
    other = a.ec2.create_vpc(
        CidrBlock="10.1.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": a.tags("other-vpc")}]
    )["Vpc"]["VpcId"]
    zone = a.ec2.describe_subnets(SubnetIds=[a.ids["subnets"][2]])["Subnets"][0]["AvailabilityZone"]
    a.ec2.delete_subnet(SubnetId=a.ids["subnets"][2])
    a.ec2.create_subnet(
        VpcId=other,
        CidrBlock="10.1.32.0/20",
        AvailabilityZone=zone,
        TagSpecifications=[{"ResourceType": "subnet", "Tags": a.tags("valohai-subnet-3")}],
    )


def _sg_namesake(a: Account) -> None:
    a.ec2.create_security_group(
        GroupName="valohai-sg-queue",
        Description="a namesake in the default VPC",
        VpcId=a.default_vpc(),
        TagSpecifications=[{"ResourceType": "security-group", "Tags": a.tags("valohai-sg-queue")}],
    )


def _two_igws(a: Account) -> None:
    a.ec2.create_internet_gateway(
        TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": a.tags("valohai-igw")}]
    )


def _two_queues(a: Account) -> None:
    a.ec2.run_instances(
        ImageId=a.ec2.describe_instances(InstanceIds=[a.ids["instance"]])["Reservations"][0]["Instances"][0]["ImageId"],
        InstanceType=guide.QUEUE["type"],
        MinCount=1,
        MaxCount=1,
        SubnetId=a.ids["subnets"][1],
        SecurityGroupIds=[a.ids["sg_queue"]],
        TagSpecifications=[{"ResourceType": "instance", "Tags": a.tags("valohai-i-queue")}],
    )


def _queue_second_sg(a: Account) -> None:
    a.ec2.modify_instance_attribute(InstanceId=a.ids["instance"], Groups=[a.ids["sg_queue"], a.ids["sg_workers"]])


def _queue_type(a: Account) -> None:
    a.ec2.stop_instances(InstanceIds=[a.ids["instance"]])
    a.ec2.modify_instance_attribute(InstanceId=a.ids["instance"], InstanceType={"Value": "t3.small"})
    a.ec2.start_instances(InstanceIds=[a.ids["instance"]])


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    drift: Callable[[Account], None] | None = None
    params: dict[str, Any] = field(default_factory=dict)  # the params file: DEMO_PARAMS with these
    build: str | dict[str, Any] = "golden"  # "golden" (with these params when a dict), "iam", "none"
    image: str = ""  # the queue instance's image, when not the guide's
    counted: bool = False  # also count the AWS calls of check and remediate (through the proxy)
    managed: bool = False  # moto's IAM holds the AWS managed policies (AmazonEC2FullAccess, ...)


WAIVERS = [
    {"rule": "eip-associated", "resource": "*", "justification": "moving the queue", "expires": "2099-01-01"},
    {
        "rule": "worker-role-instance-profile",
        "resource": "ValohaiWorkerRole",
        "justification": "x",
        "expires": "2001-01-01",
    },
]

SCENARIOS = (
    Scenario("golden", "the guide's account (build_golden)", counted=True),
    Scenario("demo", "the demo's five drifts (validator/demo.py)", _demo, counted=True, managed=True),
    Scenario("empty", "nothing built", build="none"),
    Scenario("iam-only", "the IAM half only: every network resource missing", build="iam"),
    Scenario("no-worker-policy", "ValohaiWorkerPolicy deleted", _no_worker_policy),
    Scenario("no-worker-role", "ValohaiWorkerRole deleted (its instance profile left)", _no_worker_role),
    Scenario("no-master-policy", "ValohaiMasterPolicy deleted", _no_master_policy),
    Scenario("no-master-role", "ValohaiMaster deleted", _no_master_role),
    Scenario("no-worker-profile", "ValohaiWorkerRole without instance profile", _no_worker_profile),
    Scenario("no-subnets", "no subnet named valohai-subnet-* (renamed)", _no_subnets),
    Scenario("no-igw", "valohai-igw detached and deleted", _no_igw),
    Scenario("igw-detached", "valohai-igw detached", _igw_detached),
    Scenario("rt-unnamed", "the route table without its Name tag", _rt_unnamed),
    Scenario("rt-no-default-route", "no 0.0.0.0/0 route", _rt_no_default),
    Scenario("no-sg-workers", "valohai-sg-workers deleted", _no_sg_workers),
    Scenario("no-sg-queue", "valohai-sg-queue deleted (the queue on the default group)", _no_sg_queue),
    Scenario("no-key-pair", "valohai-queue-key deleted", _no_key_pair),
    Scenario("no-eip", "valohai-ip-queue released", _no_eip),
    Scenario("eip-unassociated", "valohai-ip-queue not associated", _eip_unassociated),
    Scenario("queue-terminated", "valohai-i-queue terminated", _queue_terminated),
    Scenario("vpc-untagged", "valohai-vpc without valohai=1", _vpc_untagged),
    Scenario("master-role-tag", "ValohaiMaster tagged valohai=0", _master_role_tag),
    Scenario("sg-workers-ssh-world", "valohai-sg-workers: SSH from 0.0.0.0/0", _sg_workers_ssh_world),
    Scenario("sg-queue-all-world", "valohai-sg-queue: all traffic from 0.0.0.0/0", _sg_queue_all_world),
    Scenario("sg-workers-no-egress", "valohai-sg-workers: no egress", _sg_workers_no_egress),
    Scenario("worker-extra-statement", "ValohaiWorkerPolicy also allows s3:*", _worker_extra_statement),
    Scenario("master-extra-statement", "ValohaiMasterPolicy also allows TerminateInstances", _master_extra_statement),
    Scenario("master-inline", "ValohaiMaster has an inline iam:* policy", _master_inline),
    Scenario("worker-extra-attached", "another policy attached to ValohaiWorkerRole", _worker_extra_attached),
    Scenario("master-trust-other", "ValohaiMaster trusts another principal", _master_trust_other),
    Scenario("worker-trust-lambda", "ValohaiWorkerRole trusts lambda, not ec2", _worker_trust_lambda),
    Scenario("second-vpc", "a second VPC named valohai-vpc", _second_vpc),
    Scenario("subnet-other-vpc", "valohai-subnet-3 in another VPC", _subnet_other_vpc),
    Scenario("sg-namesake", "a second valohai-sg-queue in the default VPC", _sg_namesake),
    Scenario("two-igws", "a second valohai-igw", _two_igws),
    Scenario("two-queues", "a second live valohai-i-queue", _two_queues),
    Scenario("queue-second-sg", "valohai-i-queue also in valohai-sg-workers", _queue_second_sg),
    Scenario("queue-type", "valohai-i-queue is a t3.small", _queue_type),
    Scenario("queue-al2023", "valohai-i-queue runs Amazon Linux 2023", build="image", image=AL2023_AMI),
    Scenario(
        "provisioning-valohai",
        "provisioning: valohai, its account (IAM + the FullAccess policies)",
        params={"provisioning": "valohai"},
        build={"provisioning": "valohai"},
        managed=True,
    ),
    Scenario(
        "provisioning-valohai-self-built",
        "provisioning: valohai params on the self-built account",
        params={"provisioning": "valohai"},
    ),
    Scenario(
        "queue-installer-valohai",
        "queue_installer: valohai, its account (SSH from Valohai)",
        params={"queue_installer": "valohai"},
        build={"queue_installer": "valohai"},
    ),
    Scenario(
        "queue-installer-mismatch",
        "queue_installer: valohai params, SSH from admin_cidr",
        params={"queue_installer": "valohai"},
    ),
    Scenario("vpc-cidr-param", "params vpc_cidr 10.1.0.0/16, the VPC 10.0.0.0/16", params={"vpc_cidr": "10.1.0.0/16"}),
    Scenario("admin-cidr-world", "params admin_cidr 0.0.0.0/0 (refused)", params={"admin_cidr": "0.0.0.0/0"}),
    Scenario(
        "waived",
        "the demo account, params with one live and one expired waiver",
        _demo,
        params={"waivers": WAIVERS},
        managed=True,
    ),
)


def build(scenario: Scenario, url: str) -> None:
    acct = Account(url)
    acct.ec2.describe_key_pairs()  # settles moto's key-pair dict before parallel reads (validator/demo.py)
    if scenario.build == "golden" or isinstance(scenario.build, dict):
        acct.golden(**(scenario.build if isinstance(scenario.build, dict) else {}))
    elif scenario.build == "iam":
        acct.ids = build_iam(acct.iam, dict(DEMO_PARAMS))
    elif scenario.build == "image":
        _self_built(acct, scenario.image)
    if scenario.drift:
        scenario.drift(acct)
