"""The demo account as Valohai's own recipes build it (params built_with), with boto3 on moto.

Each builder makes what the recipe's template or module makes, from its facts (Valohai's
CloudFormation templates valohai/aws-private-workers@4a8b39a, its Terraform module
valohai/aws-hybrid-workers-terraform@87b988c): the guide's policies inline in their roles with the
statements the recipe adds, the master's trust with an empty Condition, the recipe's network
(CloudFormation: a route table per subnet; Terraform: the main table, subnets that give every
instance a public IP), its security groups (CloudFormation: SSH to the queue from Valohai only;
Terraform: none), its queue instance and address, and the queue's own role, profile and secret.
The names come from the catalogue under the recipe (validator.kinds.built_with).
"""

from __future__ import annotations

import json
from typing import Any

from validator import guide
from validator.demo import (
    ACCOUNT,
    DEMO_PARAMS,
    MULTIPART_ACTIONS,
    TUTORIAL_CORS,
    make_subnets,
    private_bucket,
)
from validator.demo import build_queue as demo_build_queue
from validator.kinds import KINDS, VALUES, built_with, name

# both recipes install the queue themselves, from user data; both make a data bucket that the master
# role reaches, and a multipart role it may assume
BUCKETS = {"cloudformation": "valohai-data-demo", "terraform": f"valohai-data-{ACCOUNT}"}
MULTIPART_ROLES = {"cloudformation": "ValohaiS3MultipartRole-demo", "terraform": "ValohaiS3MultipartRole"}


def recipe_params(recipe: str) -> dict[str, Any]:
    """The params of an account `recipe` built: its data store is its bucket, reached as the master role."""
    return {
        "built_with": recipe,
        "queue_installer": "valohai",
        "data_store": {
            "bucket": BUCKETS[recipe],
            "role": name("master_role"),
            "multipart_role_arn": f"arn:aws:iam::{ACCOUNT}:role/{MULTIPART_ROLES[recipe]}",
            "web_uploads": True,
        },
    }


SECRETS = [
    "secretsmanager:GetResourcePolicy",
    "secretsmanager:GetSecretValue",
    "secretsmanager:DescribeSecret",
    "secretsmanager:ListSecretVersionIds",
]
TAG = [{"Key": VALUES.tag_key, "Value": VALUES.tag_value}]


def master_policy(recipe: str, worker_role_arn: str, account: str = ACCOUNT) -> dict[str, Any]:
    """The master policy as the recipe writes it: the guide's, with the describes and reboot both
    add (Terraform also terminate and its data bucket), and the queue secret's statements."""
    doc = guide.master_policy(worker_role_arn)
    sts = doc["Statement"]
    sts[0]["Action"] += ["ec2:DescribeInstanceAttribute", "ec2:DescribeInternetGateways", "ec2:DescribeRouteTables"]
    sts[1]["Action"] += ["ec2:RebootInstances"] + (["ec2:TerminateInstances"] if recipe == "terraform" else [])
    secret_tag = {"StringEquals": {f"secretsmanager:ResourceTag/{VALUES.tag_key}": VALUES.tag_value}}
    # CloudFormation writes this Sid as the JSON number 0, which moto refuses: a string here
    sts.append({"Sid": "0", "Effect": "Allow", "Condition": secret_tag, "Action": SECRETS, "Resource": "*"})
    sts.append({"Sid": "1", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"})
    if recipe == "terraform":
        bucket = f"arn:aws:s3:::valohai-data-{account}"
        sts.append({"Effect": "Allow", "Action": "s3:*", "Resource": [bucket, f"{bucket}/*"]})
    return doc


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def build_iam(iam: Any, params: dict[str, Any], recipe: str) -> dict[str, str]:
    worker_role, master_role = name("worker_role"), name("master_role")
    ids = {}
    ids["worker_role"] = iam.create_role(
        RoleName=worker_role, AssumeRolePolicyDocument=json.dumps(guide.ec2_trust()), Tags=TAG
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=worker_role, PolicyName=name("worker_policy"), PolicyDocument=json.dumps(guide.WORKER_POLICY)
    )
    iam.create_instance_profile(InstanceProfileName=name("worker_profile"))
    iam.add_role_to_instance_profile(InstanceProfileName=name("worker_profile"), RoleName=worker_role)
    trust = guide.master_trust(params["assume_role_arn"])
    for st in trust["Statement"]:
        st["Condition"] = {}  # both recipes write an empty Condition
    ids["master_role"] = iam.create_role(RoleName=master_role, AssumeRolePolicyDocument=json.dumps(trust), Tags=TAG)[
        "Role"
    ]["Arn"]
    iam.put_role_policy(
        RoleName=master_role,
        PolicyName=name("master_policy"),
        PolicyDocument=json.dumps(master_policy(recipe, ids["worker_role"])),
    )
    if recipe == "cloudformation":  # s3bucket.yml: the master role's S3 as its own inline policy
        bucket = f"arn:aws:s3:::{BUCKETS[recipe]}"
        iam.put_role_policy(
            RoleName=master_role,
            PolicyName=f"{name('master_policy')}-demo-S3Bucket-1A2B3C4D",
            PolicyDocument=_doc({"Effect": "Allow", "Action": "s3:*", "Resource": [bucket, f"{bucket}/*"]}),
        )
    # the queue's own role and profile (the guide has none): it reads the Redis secret
    queue_role, queue_profile = name("queue_role"), name("queue_profile")
    iam.create_role(RoleName=queue_role, AssumeRolePolicyDocument=json.dumps(guide.ec2_trust()), Tags=TAG)
    iam.put_role_policy(
        RoleName=queue_role,
        PolicyName=name("queue_policy"),
        PolicyDocument=_doc(
            {
                "Sid": "0",
                "Effect": "Allow",
                "Action": SECRETS,
                "Resource": "*",
                "Condition": {"StringEquals": {f"secretsmanager:ResourceTag/{VALUES.tag_key}": VALUES.tag_value}},
            },
            {"Sid": "1", "Effect": "Allow", "Action": "secretsmanager:GetRandomPassword", "Resource": "*"},
        ),
    )
    iam.create_instance_profile(InstanceProfileName=queue_profile)
    iam.add_role_to_instance_profile(InstanceProfileName=queue_profile, RoleName=queue_role)
    # the multipart role: the master role may assume it, for the eight multipart actions on the bucket
    bucket = f"arn:aws:s3:::{BUCKETS[recipe]}"
    multipart = MULTIPART_ROLES[recipe]
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": ids["master_role"]}, "Action": "sts:AssumeRole"})
    ids["multipart_role"] = iam.create_role(RoleName=multipart, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=multipart,
        PolicyName="ValohaiS3MultipartPolicy",
        PolicyDocument=_doc(
            {
                "Sid": "MultipartAccess",
                "Effect": "Allow",
                "Action": MULTIPART_ACTIONS,
                "Resource": [bucket, f"{bucket}/*"],
            }
        ),
    )
    return ids


def build_bucket(s3: Any, params: dict[str, Any], recipe: str) -> str:
    """The recipe's data bucket: Block Public Access on, CORS GET from any origin and POST from
    Valohai's app; no bucket policy, versioning or lifecycle (S3's default encryption)."""
    bucket = BUCKETS[recipe]
    private_bucket(s3, bucket, params["region"])
    # the templates' two CORS rules are the tutorial's: GET from any origin, POST from Valohai's app
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": TUTORIAL_CORS})
    if recipe == "cloudformation":  # the stack's tag; Terraform's bucket has none
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": list(TAG)})
    return bucket


def _named(kind: str, n: int = 0) -> list[dict[str, Any]]:
    k = KINDS[kind]
    return [{"ResourceType": k.tag_type, "Tags": [{"Key": "Name", "Value": k.nth(n) if n else k.name}, *TAG]}]


def build_network(ec2: Any, params: dict[str, Any], recipe: str, subnets: int = 3) -> dict[str, Any]:
    """The recipe's VPC, subnets, gateway, routes and security groups (every resource tagged
    valohai=1: Terraform writes it, CloudFormation's stack tags carry it)."""
    ids: dict[str, Any] = {}
    vpc = ids["vpc"] = ec2.create_vpc(CidrBlock=params["vpc_cidr"], TagSpecifications=_named("vpc"))["Vpc"]["VpcId"]
    igw = ids["igw"] = ec2.create_internet_gateway(TagSpecifications=_named("igw"))["InternetGateway"][
        "InternetGatewayId"
    ]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ids["subnets"] = make_subnets(ec2, vpc, subnets)
    for i, subnet in enumerate(ids["subnets"]):
        if recipe == "terraform":  # map_public_ip_on_launch = true
            ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
        if recipe == "cloudformation":  # subnet.yml: a table per subnet, numbered, 0.0.0.0/0 to the gateway
            table = ec2.create_route_table(
                VpcId=vpc,
                TagSpecifications=[
                    {
                        "ResourceType": "route-table",
                        "Tags": [{"Key": "Name", "Value": f"{name('route_table')}{i + 1}"}, *TAG],
                    }
                ],
            )["RouteTable"]["RouteTableId"]
            ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
            ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    if recipe == "terraform":  # the main table, unnamed, gets the default route
        main = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"][0]["RouteTableId"]
        ec2.create_route(RouteTableId=main, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    for group in ("sg_workers", "sg_queue"):
        ids[group] = ec2.create_security_group(
            GroupName=name(group), Description=KINDS[group].description, VpcId=vpc, TagSpecifications=_named(group)
        )["GroupId"]
    rules = [
        {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
        {
            "IpProtocol": "tcp",
            "FromPort": 63790,
            "ToPort": 63790,
            "IpRanges": [{"CidrIp": VALUES.valohai_app_cidr}],
            "UserIdGroupPairs": [{"GroupId": ids["sg_workers"]}],
        },
    ]
    if recipe == "cloudformation":  # "SSH connection for Valohai maintenance"
        rules.append(
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": VALUES.valohai_ssh_cidr}]}
        )
    ec2.authorize_security_group_ingress(GroupId=ids["sg_queue"], IpPermissions=rules)
    return ids


def build_queue(ec2: Any, iam: Any, ids: dict[str, Any], recipe: str) -> dict[str, Any]:
    """The queue instance (CloudFormation: the image's default disk, the queue's profile attached;
    Terraform: 16 GiB, no profile, the Redis password in its user data) and its Elastic IP
    (CloudFormation: unnamed; Terraform: the guide's name)."""
    launch: dict[str, Any] = {}
    if recipe == "terraform":
        launch["BlockDeviceMappings"] = [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 16, "VolumeType": "gp2"}}]
        launch["UserData"] = (
            "#!/bin/bash\ncurl -s https://example.invalid/setup.sh | sudo REDIS_PASSWORD=demo-not-a-secret bash\n"
        )
    else:  # worker-queue.yml: the password is read from the secret at boot, with the queue's role
        launch["IamInstanceProfile"] = {"Name": name("queue_profile")}
        launch["UserData"] = (
            "#!/bin/bash\nexport SECRET=`aws secretsmanager get-secret-value --secret-id "
            f"{name('redis_secret').rstrip('*')} --query SecretString --output text`\n"
            "curl -s https://example.invalid/setup.sh | sudo REDIS_PASSWORD=$SECRET bash\n"
        )
    # CloudFormation's address carries the stack's tag and no Name
    eip = None if recipe == "terraform" else [{"ResourceType": "elastic-ip", "Tags": list(TAG)}]
    return demo_build_queue(ec2, ids, key_pair="valohai-demo-eu-west-1", launch=launch, eip_tags=eip)


def build_recipe(
    session: Any, recipe: str, params: dict[str, Any] | None = None, endpoint_url: str | None = None
) -> dict[str, Any]:
    """The demo account as `recipe` builds it. Returns the ids of what it made."""
    params = {**DEMO_PARAMS, **recipe_params(recipe), **(params or {})}
    kw = {"region_name": params["region"], **({"endpoint_url": endpoint_url} if endpoint_url else {})}
    iam, ec2 = session.client("iam", **kw), session.client("ec2", **kw)
    with built_with(recipe):
        ids = build_iam(iam, params, recipe)
        ids.update(build_queue(ec2, iam, build_network(ec2, params, recipe), recipe))
        ids["data_bucket"] = build_bucket(session.client("s3", **kw), params, recipe)
        # CloudFormation names it; Terraform's name_prefix adds a suffix
        secret = {"Name": name("redis_secret").rstrip("*") + ("-20261207" if recipe == "terraform" else "")}
        session.client("secretsmanager", **kw).create_secret(**secret, SecretString="demo-not-a-secret", Tags=TAG)
    return ids
