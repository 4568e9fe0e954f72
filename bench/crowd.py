"""Crowd an account with things vhv must not read: roles, security groups, VPCs, instances.

Used by bench/check_bench.py against a moto server: many threads, instances in batches
(one RunInstances per `batch`), and a time budget, after which it stops and says how
far it got. Nothing it makes is named like the guide's resources.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from validator.demo import UBUNTU_2204_AMI

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _spec(kind: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}, {"Key": "team", "Value": "crowd"}]}]


def crowd(
    session: Any,
    endpoint_url: str,
    region: str,
    roles: int = 2000,
    security_groups: int = 500,
    vpcs: int = 200,
    instances: int = 1000,
    batch: int = 50,
    budget_s: float = 600,
    threads: int = 8,
) -> dict[str, Any]:
    """Make them; return the counts actually made and the seconds it took."""
    kw = {"region_name": region, "endpoint_url": endpoint_url}
    iam, ec2 = session.client("iam", **kw), session.client("ec2", **kw)
    start = time.monotonic()
    made = {"roles": 0, "security_groups": 0, "vpcs": 0, "instances": 0}

    def run(what: str, jobs: list[Callable[[], int]], workers: int = threads) -> None:
        def attempt(job: Callable[[], int]) -> int:
            for _ in range(3):  # moto answers 500 now and then under load: try again, then give up on it
                if time.monotonic() - start > budget_s:
                    return 0
                try:
                    return job()
                except Exception:  # noqa: BLE001
                    time.sleep(0.2)
            return 0

        with ThreadPoolExecutor(max_workers=workers) as pool:
            for n in pool.map(attempt, jobs):
                made[what] += n

    def vpc(i: int) -> Callable[[], int]:
        def make() -> int:
            ec2.create_vpc(CidrBlock=f"10.{i % 256}.0.0/16", TagSpecifications=_spec("vpc", f"crowd-vpc-{i}"))
            return 1

        return make

    run("vpcs", [vpc(i) for i in range(1, vpcs + 1)])
    crowd_vpcs = [
        v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:team", "Values": ["crowd"]}])["Vpcs"]
    ] or [None]

    def group(i: int) -> Callable[[], int]:
        def make() -> int:
            ec2.create_security_group(
                GroupName=f"crowd-sg-{i}",
                Description="crowd",
                VpcId=crowd_vpcs[i % len(crowd_vpcs)],
                TagSpecifications=_spec("security-group", f"crowd-sg-{i}"),
            )
            return 1

        return make

    def role(i: int) -> Callable[[], int]:
        def make() -> int:
            iam.create_role(RoleName=f"crowd-role-{i:04d}", AssumeRolePolicyDocument=TRUST)
            return 1

        return make

    run("security_groups", [group(i) for i in range(security_groups)])
    run("roles", [role(i) for i in range(roles)], workers=1)  # moto's IAM answers 500 to concurrent CreateRole
    vpc_id = crowd_vpcs[0]
    subnet = (
        ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlock"],
            TagSpecifications=_spec("subnet", "crowd-subnet"),
        )["Subnet"]["SubnetId"]
        if vpc_id
        else None
    )

    def fleet(n: int, i: int) -> Callable[[], int]:
        def make() -> int:
            got = ec2.run_instances(
                ImageId=UBUNTU_2204_AMI,
                InstanceType="t3.micro",
                MinCount=n,
                MaxCount=n,
                **({"SubnetId": subnet} if subnet else {}),
                TagSpecifications=_spec("instance", f"crowd-i-{i}"),
            )
            return len(got["Instances"])

        return make

    sizes = [min(batch, instances - k) for k in range(0, instances, batch)]
    run("instances", [fleet(n, i) for i, n in enumerate(sizes)], workers=1)  # moto: 500s on concurrent RunInstances
    return {
        **made,
        "seconds": time.monotonic() - start,
        "budget_s": budget_s,
        "complete": made == {"roles": roles, "security_groups": security_groups, "vpcs": vpcs, "instances": instances},
    }
