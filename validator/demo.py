"""The embedded demo account: the guide's account built in moto, with a few drifts.

`build_golden` creates exactly what the guide asks for, through boto3, so it
works in-process (moto's `mock_aws`) and against a moto server alike; tests
build on it and then drift one thing at a time.

moto's AMI catalogue has no Ubuntu 20.04 image: we ship one owned by Canonical
(the catalogue's canonical_owner) in validator/data/moto-amis.json and point
MOTO_AMIS_PATH at it before moto is imported.

Every name it gives a resource is the catalogue's (validator.kinds).

moto is the extra `vhv[demo]`: only this module imports it, when the demo runs, and without it
`vhv demo` says how to install it (check, lint, remediate and the pytest plugin never need it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from validator import guide
from validator.aws.session import Target
from validator.errors import VhvError
from validator.files import write_atomic
from validator.kinds import KINDS, name
from validator.render import EXTENSIONS, FORMATS, renderer

AMIS_PATH = str(resources.files("validator") / "data" / "moto-amis.json")
UBUNTU_2004_AMI = "ami-0f0c0a1b2c3d42004"
UBUNTU_2204_AMI = "ami-0a1b2c3d4e5f62204"
FAKE_UBUNTU_AMI = "ami-0b2c3d4e5f6a72004"
AL2023_AMI = "ami-0c3d4e5f6a7b82023"
ACCOUNT = "123456789012"
ASSUME_ROLE_ARN = "arn:aws:iam::111122223333:role/valohai-assumer"
DEMO_PARAMS = {
    "region": "eu-west-1",
    "assume_role_arn": ASSUME_ROLE_ARN,
    "provisioning": "self",
    "queue_installer": "self",
    "admin_cidr": "203.0.113.7/32",
    "vpc_cidr": "10.0.0.0/16",
    # the data store as Valohai's tutorial sets it up: a bucket, an IAM user's keys, the role it
    # assumes for uploads over 5 GB, web uploads
    "data_store": {
        "bucket": f"valohai-data-{ACCOUNT}",
        "user": "valohai-data-store",
        "multipart_role_arn": f"arn:aws:iam::{ACCOUNT}:role/valohai-data-multipart",
        "web_uploads": True,
    },
}
# the tutorial's multipart role's actions (rules/5-data-store.yaml checks them)
MULTIPART_ACTIONS = [
    "s3:AbortMultipartUpload",
    "s3:GetBucketLocation",
    "s3:GetObject",
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:ListBucketVersions",
    "s3:ListMultipartUploadParts",
    "s3:PutObject",
]
# the tutorial's CORS rules (rules/5-data-store.yaml checks them)
TUTORIAL_CORS = [
    {"AllowedHeaders": ["Authorization"], "AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAgeSeconds": 3000},
    {
        "AllowedHeaders": ["Authorization"],
        "AllowedMethods": ["POST"],
        "AllowedOrigins": ["https://app.valohai.com"],
        "MaxAgeSeconds": 3000,
    },
]


def moto_environment() -> dict[str, str]:
    """What moto needs to hold the guide's account: our AMIs, AWS managed policies, fake credentials."""
    return {
        "MOTO_AMIS_PATH": AMIS_PATH,
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }


def prepare_moto_env() -> None:
    """Set moto's environment; call before moto is imported (the AMI list is read at import)."""
    for k, v in moto_environment().items():
        os.environ[k] = v
    # the demo's account is moto in this process: an endpoint or profile of the shell is not it
    for k in [k for k in os.environ if k == "AWS_PROFILE" or k.startswith("AWS_ENDPOINT_URL")]:
        os.environ.pop(k)


def _tags(name: str | None = None) -> list[dict[str, str]]:
    return ([{"Key": "Name", "Value": name}] if name else []) + [dict(guide.TAG)]


def _spec(kind: str, n: int = 0) -> list[dict[str, Any]]:
    """The TagSpecifications of the guide's `kind` (its n-th, for the numbered subnets)."""
    k = KINDS[kind]
    return [{"ResourceType": k.tag_type, "Tags": _tags(k.nth(n) if n else k.name)}]


def build_iam(iam: Any, params: dict[str, Any]) -> dict[str, str]:
    tags = [dict(guide.TAG)]
    worker_role, master_role = name("worker_role"), name("master_role")
    policy = iam.create_policy(
        PolicyName=name("worker_policy"), PolicyDocument=json.dumps(guide.WORKER_POLICY), Tags=tags
    )
    wp = policy["Policy"]["Arn"]
    role = iam.create_role(RoleName=worker_role, AssumeRolePolicyDocument=json.dumps(guide.ec2_trust()), Tags=tags)
    wr = role["Role"]["Arn"]
    iam.attach_role_policy(RoleName=worker_role, PolicyArn=wp)
    iam.create_instance_profile(InstanceProfileName=name("worker_profile"), Tags=tags)
    iam.add_role_to_instance_profile(InstanceProfileName=name("worker_profile"), RoleName=worker_role)
    mp = iam.create_policy(
        PolicyName=name("master_policy"), PolicyDocument=json.dumps(guide.master_policy(wr)), Tags=tags
    )["Policy"]["Arn"]
    mr = iam.create_role(
        RoleName=master_role,
        AssumeRolePolicyDocument=json.dumps(guide.master_trust(params["assume_role_arn"])),
        Tags=tags,
    )["Role"]["Arn"]
    iam.attach_role_policy(RoleName=master_role, PolicyArn=mp)
    if params.get("provisioning") == "valohai":
        for aws_policy in ("AmazonEC2FullAccess", "AmazonVPCFullAccess"):
            iam.attach_role_policy(RoleName=master_role, PolicyArn=f"arn:aws:iam::aws:policy/{aws_policy}")
    return {"worker_policy": wp, "worker_role": wr, "master_policy": mp, "master_role": mr}


def make_subnets(ec2: Any, vpc: str, subnets: int) -> list[str]:
    """The guide's subnets, one per zone (round the zones when there are fewer), named and tagged."""
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    return [
        ec2.create_subnet(
            VpcId=vpc,
            CidrBlock=cidr,
            AvailabilityZone=zones[i % len(zones)],
            TagSpecifications=_spec("subnets", i + 1),
        )["Subnet"]["SubnetId"]
        for i, cidr in enumerate(guide.SUBNET_CIDRS[:subnets])
    ]


def build_network(ec2: Any, params: dict[str, Any], subnets: int = 3) -> dict[str, Any]:
    ids: dict[str, Any] = {}
    vpc = ec2.create_vpc(CidrBlock=params["vpc_cidr"], TagSpecifications=_spec("vpc"))["Vpc"]["VpcId"]
    ids["vpc"] = vpc
    ids["subnets"] = make_subnets(ec2, vpc, subnets)
    igw = ec2.create_internet_gateway(TagSpecifications=_spec("igw"))
    ids["igw"] = igw["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=vpc)
    rt = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]
    ids["rt"] = rt["RouteTableId"]
    ec2.create_tags(Resources=[ids["rt"]], Tags=_tags(name("route_table")))
    ec2.create_route(RouteTableId=ids["rt"], DestinationCidrBlock="0.0.0.0/0", GatewayId=ids["igw"])
    for group in ("sg_workers", "sg_queue"):
        ids[group] = ec2.create_security_group(
            GroupName=name(group),
            Description=KINDS[group].description,
            VpcId=vpc,
            TagSpecifications=_spec(group),
        )["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=ids["sg_workers"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": guide.VALOHAI_SSH_CIDR, "Description": "SSH management from Valohai"}],
            }
        ],
    )
    ssh = params["admin_cidr"] if params.get("queue_installer") == "self" else guide.VALOHAI_SSH_CIDR
    ec2.authorize_security_group_ingress(
        GroupId=ids["sg_queue"],
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 80,
                "ToPort": 80,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "acme tooling"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 63790,
                "ToPort": 63790,
                "IpRanges": [{"CidrIp": guide.VALOHAI_APP_CIDR, "Description": "Redis over TLS from app.valohai.com"}],
                "UserIdGroupPairs": [{"GroupId": ids["sg_workers"], "Description": "Redis over TLS from workers"}],
            },
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": ssh, "Description": "SSH"}]},
        ],
    )
    return ids


GUIDE_DISK = {"BlockDeviceMappings": [{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": guide.QUEUE["disk_gib"]}}]}


def build_queue(
    ec2: Any,
    ids: dict[str, Any],
    image_id: str = UBUNTU_2004_AMI,
    key_pair: str = "valohai-queue-key",
    launch: dict[str, Any] | None = None,
    eip_tags: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The queue instance (the guide's disk unless `launch` says how else to launch it) and its Elastic IP
    (the guide's Name and tag unless `eip_tags`), associated."""
    ids["key_pair"] = key_pair
    ec2.create_key_pair(KeyName=ids["key_pair"])  # the private key is discarded, never stored
    # moto's first DescribeKeyPairs in a process adds a key to a dict that every EC2 answer being
    # serialized at that moment iterates: under vhv's parallel reads that was, once in ~50 demos,
    # "RuntimeError: dictionary changed size during iteration" (in-process) or an HTML 500 (server).
    # Asked once here, before any parallel read, it only replaces that key's value afterwards.
    ec2.describe_key_pairs(KeyNames=[ids["key_pair"]])
    inst = ec2.run_instances(
        ImageId=image_id,
        InstanceType=guide.QUEUE["type"],
        MinCount=1,
        MaxCount=1,
        KeyName=ids["key_pair"],
        SubnetId=ids["subnets"][0],
        SecurityGroupIds=[ids["sg_queue"]],
        TagSpecifications=_spec("instance"),
        **(GUIDE_DISK if launch is None else launch),
    )["Instances"][0]
    ids["instance"] = inst["InstanceId"]
    eip = ec2.allocate_address(Domain="vpc", TagSpecifications=eip_tags or _spec("eip"))
    ids["eip"] = eip["AllocationId"]
    ec2.associate_address(AllocationId=ids["eip"], InstanceId=ids["instance"])
    return ids


def build_golden(session: Any, params: dict[str, Any] | None = None, endpoint_url: str | None = None) -> dict[str, Any]:
    """The guide's account, exactly as written. Returns the ids of what it made."""
    params = {**DEMO_PARAMS, **(params or {})}
    kw = {"region_name": params["region"]}
    if endpoint_url:
        kw["endpoint_url"] = endpoint_url
    iam = session.client("iam", **kw)
    ec2 = session.client("ec2", **kw)
    ids = build_iam(iam, params)
    if params.get("provisioning") == "self":
        ids.update(build_queue(ec2, build_network(ec2, params)))
    if params.get("data_store"):
        ids["data_bucket"] = build_data_store(session.client("s3", **kw), params)
        ids.update(build_data_access(iam, params))
    return ids


def build_data_access(iam: Any, params: dict[str, Any]) -> dict[str, str]:
    """How Valohai reaches the data store, as the tutorial sets it up: the IAM user (when the params
    name one) with its inline policy (s3:* on the bucket and its objects) and one access key (its
    secret is dropped here), and the role of data_store.multipart_role_arn (when given), trusted by
    that user (or the params' role) with the eight multipart actions on the bucket."""
    store = params["data_store"]
    arn = f"arn:aws:s3:::{store['bucket']}"
    ids: dict[str, str] = {}
    principal = None
    if store.get("user"):
        principal = ids["data_user"] = iam.create_user(UserName=store["user"])["User"]["Arn"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": [arn, f"{arn}/*"]}],
        }
        iam.put_user_policy(UserName=store["user"], PolicyName="valohai-data-store", PolicyDocument=json.dumps(policy))
        ids["data_user_key"] = iam.create_access_key(UserName=store["user"])["AccessKey"]["AccessKeyId"]
    elif store.get("role"):
        principal = iam.get_role(RoleName=store["role"])["Role"]["Arn"]
    if store.get("multipart_role_arn") and principal:
        name = store["multipart_role_arn"].rsplit("/", 1)[-1]
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}],
        }
        ids["multipart_role"] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"][
            "Arn"
        ]
        access = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "MultipartAccess",
                    "Effect": "Allow",
                    "Action": MULTIPART_ACTIONS,
                    "Resource": [arn, f"{arn}/*"],
                }
            ],
        }
        iam.put_role_policy(RoleName=name, PolicyName="valohai-multipart", PolicyDocument=json.dumps(access))
    return ids


def private_bucket(s3: Any, bucket: str, region: str) -> None:
    """A new bucket in `region` with Block Public Access on and S3's default encryption (SSE-S3, which
    AWS gives every new bucket since 2023 and moto does not)."""
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **where)
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def build_data_store(s3: Any, params: dict[str, Any]) -> str:
    """The data store's bucket as Valohai's tutorial and good practice ask: in the params' region,
    Block Public Access on, default encryption, a TLS-only policy, versioning, a lifecycle rule that
    aborts incomplete uploads, the tutorial's CORS when files are uploaded from the web UI, the tag."""
    bucket, region = params["data_store"]["bucket"], params["region"]
    arn = f"arn:aws:s3:::{bucket}"
    private_bucket(s3, bucket, region)
    tls = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [tls]}))
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "abort-incomplete-uploads",
                    "Status": "Enabled",
                    "Filter": {},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                }
            ]
        },
    )
    if params["data_store"].get("web_uploads"):
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": TUTORIAL_CORS})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": _tags()})
    return bucket


# ------------------------------------------------------------------ the demo

DEMO_DRIFTS = (
    f"{name('master_policy')} passes any role (iam:PassRole on *), not only {name('worker_role')}",
    f"{name('worker_role')} was created with the CLI: no instance profile",
    f"{name('sg_queue')} opens Redis (63790) to the world",
    f"AmazonEC2FullAccess left attached to {name('master_role')} after the setup",
    f"{name('eip')} allocated but never associated",
    "the data store's bucket has Block Public Access turned off",
)


def apply_demo_drifts(session: Any, ids: dict[str, Any], region: str) -> None:
    iam = session.client("iam", region_name=region)
    ec2 = session.client("ec2", region_name=region)
    iam.create_policy_version(
        PolicyArn=ids["master_policy"], PolicyDocument=json.dumps(guide.master_policy("*")), SetAsDefault=True
    )
    profile = name("worker_profile")
    iam.remove_role_from_instance_profile(InstanceProfileName=profile, RoleName=name("worker_role"))
    iam.delete_instance_profile(InstanceProfileName=profile)
    ec2.authorize_security_group_ingress(
        GroupId=ids["sg_queue"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 63790, "ToPort": 63790, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    iam.attach_role_policy(RoleName=name("master_role"), PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess")
    assoc = ec2.describe_addresses(AllocationIds=[ids["eip"]])["Addresses"][0]["AssociationId"]
    ec2.disassociate_address(AssociationId=assoc)
    if ids.get("data_bucket"):
        session.client("s3", region_name=region).delete_public_access_block(Bucket=ids["data_bucket"])


# moto is an extra: the one way to get it, as `vhv demo` says when it is missing
INSTALL_DEMO = "pip install 'vhv[demo]'"
DEMO_SEED = 20200  # moto's ids (vpc-..., sg-..., eipalloc-...) and addresses from a fixed seed: stable sample reports
META_TITLE = "vhv demo"


def recipe_drifts(recipe: str) -> tuple[str, ...]:
    return (
        f"{name('master_policy')}, inline as {recipe} writes it, also allows ec2:* and iam:PassRole on *",
        f"{name('sg_queue')} opens SSH (22) to the world",
        "the data bucket has Block Public Access turned off",
    )


def apply_recipe_drifts(session: Any, ids: dict[str, Any], params: dict[str, Any]) -> None:
    """A recipe account's drifts, in its own shape: a grant added to its inline master policy, SSH
    to the queue opened to the world, its data bucket made public."""
    from validator.demo_recipes import master_policy  # deferred: the recipes' builders

    region, recipe = params["region"], params["built_with"]
    iam = session.client("iam", region_name=region)
    doc = master_policy(recipe, ids["worker_role"])
    doc["Statement"].append(
        {"Sid": "QuickFix", "Effect": "Allow", "Action": ["ec2:*", "iam:PassRole"], "Resource": "*"}
    )
    iam.put_role_policy(RoleName=name("master_role"), PolicyName=name("master_policy"), PolicyDocument=json.dumps(doc))
    session.client("ec2", region_name=region).authorize_security_group_ingress(
        GroupId=ids["sg_queue"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    session.client("s3", region_name=region).delete_public_access_block(Bucket=ids["data_bucket"])


@contextlib.contextmanager
def drifted_account(seed: int | None = None, built_with: str | None = None) -> Iterator[tuple[Any, Any, Any]]:
    """The demo account, built in-process (moto) with its drifts: yields (params, rule pack, target).
    With `built_with` a recipe, the account as that recipe builds it, with drifts in its shape.

    With `seed`, moto's random ids are the same on every run, so reports written from
    them only change when vhv's output does."""
    from validator.kinds import BUILT_WITH, GUIDE  # deferred: loads the catalogue

    if built_with not in (None, GUIDE, *BUILT_WITH):
        raise VhvError(f"--built-with: {built_with!r} is not one of {', '.join(BUILT_WITH)}")
    prepare_moto_env()
    import boto3  # deferred: loads boto3, botocore

    try:
        from moto import mock_aws  # deferred: loads boto3, botocore, moto, yaml
    except ImportError as exc:  # moto is the demo extra, not a dependency of check, lint or the plugin
        raise VhvError(
            f"vhv demo builds its account in moto, which is not installed ({exc.name or 'moto'} cannot be "
            f"imported): {INSTALL_DEMO}"
        ) from None

    from validator import params as params_mod  # deferred: loads yaml
    from validator import rulepack  # deferred: loads yaml

    if seed is not None:
        from moto.moto_api._internal import mock_random  # deferred: loads boto3, botocore, moto, yaml

        mock_random.seed(seed)
    with mock_aws():
        session = boto3.Session(region_name=DEMO_PARAMS["region"])
        raw = dict(DEMO_PARAMS)
        if built_with in (None, GUIDE):
            apply_demo_drifts(session, build_golden(session), DEMO_PARAMS["region"])
        else:
            from validator.demo_recipes import build_recipe, recipe_params  # deferred: the recipes' builders

            raw.update(recipe_params(built_with))
            apply_recipe_drifts(session, build_recipe(session, built_with), raw)
        params = params_mod.from_dict(raw, source="demo params")
        yield params, rulepack.load(), Target(region=params.region)


def findings(seed: int | None = None) -> tuple[list[Any], dict[str, Any]]:
    """Build the demo account in-process (moto) and check it: (findings, report meta)."""
    from validator.aws.account import read  # deferred: loads yaml
    from validator.engine import evaluate  # deferred: loads yaml

    with drifted_account(seed) as (params, pack, target):
        snap, _calls = read(params, target)
        found = evaluate(pack, params, snap)
    return found, {"account_id": snap.account_id, "region": snap.region}


# `vhv remediate --fix --yes` as the demo runs it: the fixes, not the decisions (no --tighten)
REMEDIATE = argparse.Namespace(format="console", fix=True, yes=True, tighten=False, force=False, plan_checksum=None)


def run(fmt: str = "console", output: str | None = None, console: Any = None, built_with: str | None = None) -> int:
    """Build the demo account in-process, check it and report; then `vhv remediate --fix --yes` on
    it (the plan, what was applied, the re-check). 0 when the check found the drifts and the
    fixes were applied; 2 otherwise. The report is in `fmt` (to `output`); the remediation is
    text, on stdout after a console report, else on stderr."""
    from validator import remediate, render  # deferred: loads jsonschema, yaml
    from validator.aws.account import read  # deferred: loads yaml
    from validator.engine import evaluate  # deferred: loads yaml

    with drifted_account(built_with=built_with) as (params, pack, target):
        snap, _calls = read(params, target, for_fix=True)
        found = evaluate(pack, params, snap)
        recipe = params.get("built_with")
        intro = (
            ("vhv demo: the guide's account built in moto, with these drifts:", DEMO_DRIFTS)
            if recipe == "guide"
            else (
                f"vhv demo: the account as the {recipe} recipe builds it, in moto, with these drifts:",
                recipe_drifts(recipe),
            )
        )
        code = render.emit(
            found,
            {"account_id": snap.account_id, "region": snap.region},
            fmt=fmt,
            output=output,
            console=console,
            intro=intro,
        )
        out = sys.stdout if fmt == "console" and output is None else sys.stderr
        with contextlib.redirect_stdout(out):
            print(
                "\nvhv demo: now `vhv remediate --fix --yes` on the same account: the plan, what it applied, "
                "the re-check\n"
            )
            fixed = remediate.run(REMEDIATE, pack, params, snap, target, reread=lambda: read(params, target)[0])
            print(
                "\nvhv demo: what is left is wider than the guide and needs a decision: "
                "`vhv remediate --fix --tighten` takes it away."
                if fixed == 1
                else ""
            )
    return 0 if code == 1 and fixed in (0, 1) else 2


REPORT_STEM = "vhv-demo"


def report_texts(seed: int = DEMO_SEED) -> dict[str, str]:
    """File name -> content of the demo's report in every format (what reports/ holds)."""

    found, meta = findings(seed=seed)
    meta = {**meta, "title": META_TITLE}
    return {f"{REPORT_STEM}.{EXTENSIONS[fmt]}": renderer(fmt)(found, meta) for fmt in FORMATS}


def write_reports(directory: str | Path, seed: int = DEMO_SEED) -> list[Path]:
    """Regenerate reports/: the demo account's report in every format (`vhv demo --write-reports reports/`)."""

    texts = report_texts(seed)  # first: without moto, or when the demo fails, no directory is made
    out = Path(directory)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise VhvError(f"{out}: cannot create the reports directory: {exc.strerror}") from None
    written = []
    for file_name, text in texts.items():
        write_atomic(out / file_name, text)
        written.append(out / file_name)
    return written
