"""Every list call pages: the item on the last page is seen (moto, in-process).

moto pages ListAttachedRolePolicies at 100 items, as AWS does by default; security group
rules are not paged at all (DescribeSecurityGroups returns each group whole, in AWS and in
moto), so many rules prove the flattening sees the last one, not paging; moto, like AWS,
refuses more than 60 rules per group and direction, so "100 rules" is 55 others plus the guide's.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from validator.aws import account as account_mod


@pytest.fixture
def sent(monkeypatch) -> Counter:
    """How many times the readers' clients send each operation."""
    counts: Counter = Counter()
    make = account_mod.client

    def client(sess, service, target):  # noqa: ANN001, ANN202
        c = make(sess, service, target)
        c.meta.events.register("before-call", lambda model, **_: counts.update([model.name]))
        return c

    monkeypatch.setattr(account_mod, "client", client)
    return counts


def test_the_guide_policy_on_the_last_page_of_attachments_is_seen(account, sent):
    iam = account.iam
    iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    doc = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    )
    # named to come first whether moto lists by name or by attachment order
    for i in range(130):
        arn = iam.create_policy(PolicyName=f"Filler-{i:03}", PolicyDocument=doc)["Policy"]["Arn"]
        iam.attach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=arn)
    iam.attach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=account.ids["worker_policy"])
    first = iam.list_attached_role_policies(RoleName="ValohaiWorkerRole")
    assert first["IsTruncated"] and "ValohaiWorkerPolicy" not in {p["PolicyName"] for p in first["AttachedPolicies"]}

    result = account.check()
    attached = result.snapshot.get("roles.ValohaiWorkerRole.attached_policies")
    assert len(attached) == 131 and attached[-1]["name"] == "ValohaiWorkerPolicy"
    assert result.status("worker-role-policy-attached") == "pass"
    # two pages for the worker role, one for ValohaiMaster, one for the data store's multipart role
    assert sent["ListAttachedRolePolicies"] == 4


def test_the_guide_rule_after_55_others_is_seen(account):
    ec2, sg = account.ec2, account.ids["sg_queue"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg]}])["SecurityGroupRules"]
    redis = [
        r
        for r in rules
        if not r["IsEgress"]
        and r.get("FromPort") == 63790
        and r.get("ReferencedGroupInfo", {}).get("GroupId") == account.ids["sg_workers"]
    ]
    ec2.revoke_security_group_ingress(GroupId=sg, SecurityGroupRuleIds=[r["SecurityGroupRuleId"] for r in redis])
    assert account.check().status("sg-queue-ingress-redis-workers") == "fail"  # the control
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 10000 + i, "ToPort": 10000 + i, "IpRanges": [{"CidrIp": "192.0.2.1/32"}]}
            for i in range(55)
        ],
    )
    ec2.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 63790,
                "ToPort": 63790,
                "UserIdGroupPairs": [
                    {"GroupId": account.ids["sg_workers"], "Description": "Redis over TLS from workers"}
                ],
            }
        ],
    )

    result = account.check()
    ingress = result.snapshot.get("security_groups")
    queue = next(g for g in ingress if g["id"] == sg)
    assert len(queue["ingress"]) >= 56
    assert result.status("sg-queue-ingress-redis-workers") == "pass"
    assert result.status("sg-queue-ingress-only-guide") == "fail"  # the 55 others are not the guide's


def test_a_thousand_unrelated_roles_cost_no_extra_calls(account, sent):
    account.check()
    before = Counter(sent)
    sent.clear()
    iam = account.iam
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    for i in range(1000):
        iam.create_role(RoleName=f"unrelated-{i:04}", AssumeRolePolicyDocument=trust)
    result = account.check()
    assert sent == before
    assert result.status("worker-role-policy-attached") == "pass"
