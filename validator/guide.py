"""The guide's own documents and values, as the reader is told to paste them.

Used to build the demo account and by the fixers; the rules in rules/ say how a live
account is compared with them. The values the guide writes down once (the tag, Valohai's
addresses, Canonical's account) and the resources' names are the catalogue's
(rules/catalogue.yaml, validator.kinds).
"""

from __future__ import annotations

import copy
from typing import Any

from validator.kinds import VALUES, name

TAG = VALUES.tag
VALOHAI_SSH_CIDR = VALUES.valohai_ssh_cidr
VALOHAI_APP_CIDR = VALUES.valohai_app_cidr
CANONICAL = VALUES.canonical_owner
# the guide's placeholders, word for word (the workers' role is named in it)
PLACEHOLDER_WORKER_ROLE = f"RECORDED {name('worker_role')} ARN HERE"
PLACEHOLDER_ASSUME_ROLE = "RECORDED AssumeRole ARN HERE"

WORKER_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "1", "Effect": "Allow", "Action": "autoscaling:SetInstanceProtection", "Resource": "*"},
        {"Sid": "2", "Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"},
    ],
}

_MASTER_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "2",
            "Effect": "Allow",
            "Action": [
                "ec2:DescribeInstances",
                "ec2:DescribeVpcs",
                "ec2:DescribeKeyPairs",
                "ec2:DescribeImages",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:CreateTags",
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeScalingActivities",
            ],
            "Resource": "*",
        },
        {
            "Sid": "AllowUpdatingSpotLaunchTemplates",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateLaunchTemplate",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:ModifyLaunchTemplate",
                "ec2:RunInstances",
                "autoscaling:UpdateAutoScalingGroup",
                "autoscaling:CreateOrUpdateTags",
                "autoscaling:SetDesiredCapacity",
                "autoscaling:CreateAutoScalingGroup",
            ],
            "Resource": "*",
            "Condition": {"ForAllValues:StringEquals": {"aws:ResourceTag/Valohai": "1"}},
        },
        {
            "Sid": "ServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": "arn:aws:iam::*:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
        },
        {"Sid": "4", "Effect": "Allow", "Action": ["iam:PassRole", "iam:GetRole"], "Resource": PLACEHOLDER_WORKER_ROLE},
    ],
}


def master_policy(worker_role_arn: str = PLACEHOLDER_WORKER_ROLE) -> dict[str, Any]:
    doc = copy.deepcopy(_MASTER_POLICY)
    doc["Statement"][-1]["Resource"] = worker_role_arn
    return doc


def ec2_trust() -> dict[str, Any]:
    """What the console writes for 'Choose EC2 as the use case'."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }


def master_trust(assume_role_arn: str = PLACEHOLDER_ASSUME_ROLE) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": assume_role_arn}, "Action": "sts:AssumeRole", "Condition": {}}
        ],
    }


SUBNET_CIDRS = ("10.0.0.0/20", "10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20")
QUEUE = {"type": "t3.medium", "disk_gib": 16}
