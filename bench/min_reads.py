"""The baseline of the benchmark (bench/run.py): the fewest calls the guide's rules need, all at once.

    python bench/min_reads.py --endpoint-url URL [--region eu-west-1] [--bucket NAME] [--user NAME] [--role NAME]

Hand-written boto3, no vhv: four clients, sts:GetCallerIdentity (the policies' ARNs
need the account id), then every independent read in one thread pool; a read that
needs another's answer (a policy's default version, the VPC's route tables and network ACLs, the
queue instance's image, volume, key pair and network interfaces) is submitted the moment that answer is
in. Nothing is shaped or judged: this is the floor a checker's reads cannot go under.
With a bucket (the params' data_store.bucket), its eleven reads join the first wave: every
setting the data-store rules judge, and the account's Block Public Access (s3control); with the
data store's user and roles (--user, --role), theirs: the principal, its policies' names then
documents, the user's groups (and theirs), and its access keys.
What only vhv's fixers need (policy versions, the instance profile by name, every subnet
of the VPC, the zones) is not here: `vhv check` does not read it either.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Any

POLICIES = ("ValohaiWorkerPolicy", "ValohaiMasterPolicy")
ROLES = ("ValohaiWorkerRole", "ValohaiMaster")


def _name(*values: str) -> list[dict[str, Any]]:
    return [{"Name": "tag:Name", "Values": list(values)}]


_LOADER: list[Any] = []


def _session(region: str) -> Any:
    """A boto3 session on one botocore data loader per process (as vhv's sessions are), so that
    in one process the service models are parsed once for both, and in-process times compare."""
    import boto3
    import botocore.loaders
    import botocore.session

    core = botocore.session.get_session()
    if not _LOADER:
        _LOADER.append(botocore.loaders.create_loader())
    core.register_component("data_loader", _LOADER[0])
    sess = boto3.Session(botocore_session=core, region_name=region)
    _LOADER[0].search_paths[:] = list(dict.fromkeys(_LOADER[0].search_paths))
    return sess


def _bucket_reads(s3: Any, s3control: Any, account: str, bucket: str) -> list[tuple[str, Callable[[], Any]]]:
    """The data store's bucket: each read, its "not configured" answer taken as an answer."""

    def quiet(fn: Callable[[], Any]) -> Callable[[], Any]:
        def run() -> Any:
            try:
                return fn()
            except s3.exceptions.ClientError:
                return None

        return run

    b = {"Bucket": bucket}
    return [
        (action, quiet(fn))
        for action, fn in (
            ("s3:GetBucketLocation", lambda: s3.get_bucket_location(**b)),
            ("s3:GetBucketPublicAccessBlock", lambda: s3.get_public_access_block(**b)),
            ("s3:GetAccountPublicAccessBlock", lambda: s3control.get_public_access_block(AccountId=account)),
            ("s3:GetBucketPolicyStatus", lambda: s3.get_bucket_policy_status(**b)),
            ("s3:GetBucketPolicy", lambda: s3.get_bucket_policy(**b)),
            ("s3:GetBucketAcl", lambda: s3.get_bucket_acl(**b)),
            ("s3:GetEncryptionConfiguration", lambda: s3.get_bucket_encryption(**b)),
            ("s3:GetBucketVersioning", lambda: s3.get_bucket_versioning(**b)),
            ("s3:GetLifecycleConfiguration", lambda: s3.get_bucket_lifecycle_configuration(**b)),
            ("s3:GetBucketCORS", lambda: s3.get_bucket_cors(**b)),
            ("s3:GetBucketTagging", lambda: s3.get_bucket_tagging(**b)),
        )
    ]


def _principal_reads(iam: Any, account: str, user: str | None, roles: list[str]) -> list[tuple[str, Callable[[], Any]]]:
    """The data store's user (or role) and multipart role: the principal, its inline policies'
    names then each document, its attached policies then each one's default version, and the
    user's access keys. Each listing's answer chains the reads that need it."""

    def attached(listing: Any) -> Next:
        return [("iam:GetPolicy", lambda a=p["PolicyArn"]: version(a)) for p in listing.get("AttachedPolicies") or []]

    def version(arn: str) -> Next:
        v = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        return [("iam:GetPolicyVersion", lambda: iam.get_policy_version(PolicyArn=arn, VersionId=v))]

    def inline(kind: str, name: str) -> Callable[[], Next]:
        def run() -> Next:
            if kind == "user":
                names = iam.list_user_policies(UserName=name)["PolicyNames"]
                return [
                    ("iam:GetUserPolicy", lambda n=n: iam.get_user_policy(UserName=name, PolicyName=n)) for n in names
                ]
            names = iam.list_role_policies(RoleName=name)["PolicyNames"]
            return [("iam:GetRolePolicy", lambda n=n: iam.get_role_policy(RoleName=name, PolicyName=n)) for n in names]

        return run

    def groups(listing: Any) -> Next:  # what each group of the user grants it
        out: Next = []
        for g in listing.get("Groups") or []:
            name = g["GroupName"]
            out += [
                ("iam:ListGroupPolicies", lambda n=name: group_inline(n)),
                (
                    "iam:ListAttachedGroupPolicies",
                    lambda n=name: attached(iam.list_attached_group_policies(GroupName=n)),
                ),
            ]
        return out

    def group_inline(group: str) -> Next:
        names = iam.list_group_policies(GroupName=group)["PolicyNames"]
        return [("iam:GetGroupPolicy", lambda n=n: iam.get_group_policy(GroupName=group, PolicyName=n)) for n in names]

    reads: list[tuple[str, Callable[[], Any]]] = []
    if user:
        reads += [
            ("iam:GetUser", lambda: iam.get_user(UserName=user)),
            ("iam:ListUserPolicies", inline("user", user)),
            ("iam:ListAttachedUserPolicies", lambda: attached(iam.list_attached_user_policies(UserName=user))),
            ("iam:ListAccessKeys", lambda: iam.list_access_keys(UserName=user)),
            ("iam:ListGroupsForUser", lambda: groups(iam.list_groups_for_user(UserName=user))),
        ]
    for role in roles:
        reads += [
            ("iam:GetRole", lambda r=role: iam.get_role(RoleName=r)),
            ("iam:ListRolePolicies", inline("role", role)),
            ("iam:ListAttachedRolePolicies", lambda r=role: attached(iam.list_attached_role_policies(RoleName=r))),
        ]
    return reads


Next = list[tuple[str, Callable[[], Any]]]  # reads that needed a read's answer


def read_minimum(
    endpoint_url: str | None,
    region: str,
    workers: int = 32,
    bucket: str | None = None,
    user: str | None = None,
    roles: tuple[str, ...] = (),
) -> list[str]:
    """Make the minimum reads (and the data store's, when its bucket, user and roles are named:
    the data store's role and multipart role are `roles`); return the actions made."""
    from botocore.config import Config

    sess = _session(region)
    cfg = Config(max_pool_connections=workers)
    sts, iam, ec2, org = (
        sess.client(s, endpoint_url=endpoint_url, config=cfg) for s in ("sts", "iam", "ec2", "organizations")
    )
    calls = ["sts:GetCallerIdentity"]
    account = sts.get_caller_identity()["Account"]
    s3 = s3control = None
    if bucket:
        s3, s3control = (sess.client(s, endpoint_url=endpoint_url, config=cfg) for s in ("s3", "s3control"))
        if endpoint_url:  # s3control puts the account id in front of the host; one's own endpoint has none
            s3control.meta.events.register(
                "before-sign.s3-control",
                lambda request, **_: setattr(request, "url", request.url.replace(f"//{account}.", "//", 1)),
            )

    def policy(name: str) -> Next:
        arn = f"arn:aws:iam::{account}:policy/{name}"
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]  # Tags come with it
        return [("iam:GetPolicyVersion", lambda: iam.get_policy_version(PolicyArn=arn, VersionId=version))]

    def organization() -> Next:  # whether service control policies may apply (none: an error)
        try:
            org.describe_organization()
        except org.exceptions.AWSOrganizationsNotInUseException:
            pass
        return []

    def vpc() -> Next:
        vpcs = ec2.describe_vpcs(Filters=_name("valohai-vpc"))["Vpcs"]
        ids = [v["VpcId"] for v in vpcs]
        dopts = sorted({v["DhcpOptionsId"] for v in vpcs if v.get("DhcpOptionsId", "default") != "default"})
        return (
            [
                (
                    "ec2:DescribeRouteTables",
                    lambda: ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": ids}]),
                ),
                (
                    "ec2:DescribeNetworkAcls",
                    lambda: ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": ids}]),
                ),
                # whether each resolves names, and with which servers (a set of its own only)
                *(
                    (
                        "ec2:DescribeVpcAttribute",
                        lambda i=i: ec2.describe_vpc_attribute(VpcId=i, Attribute="enableDnsSupport"),
                    )
                    for i in ids
                ),
                *(
                    [("ec2:DescribeDhcpOptions", lambda: ec2.describe_dhcp_options(DhcpOptionsIds=dopts))]
                    if dopts
                    else []
                ),
            ]
            if ids
            else []
        )

    def queue() -> Next:
        found = [
            i for r in ec2.describe_instances(Filters=_name("valohai-i-queue"))["Reservations"] for i in r["Instances"]
        ]
        images = sorted({i["ImageId"] for i in found})
        volumes = sorted({b["Ebs"]["VolumeId"] for i in found for b in i.get("BlockDeviceMappings", []) if "Ebs" in b})
        keys = sorted({i["KeyName"] for i in found if i.get("KeyName")})
        queues = sorted({i["InstanceId"] for i in found})
        return [
            (a, f)
            for a, ids, f in (
                ("ec2:DescribeImages", images, lambda: ec2.describe_images(ImageIds=images)),
                ("ec2:DescribeVolumes", volumes, lambda: ec2.describe_volumes(VolumeIds=volumes)),
                ("ec2:DescribeKeyPairs", keys, lambda: ec2.describe_key_pairs(KeyNames=keys)),
                (
                    "ec2:DescribeNetworkInterfaces",
                    queues,
                    lambda: ec2.describe_network_interfaces(
                        Filters=[{"Name": "attachment.instance-id", "Values": queues}]
                    ),
                ),
            )
            if ids
        ]

    first: list[tuple[str, Callable[[], Any]]] = [
        *(("iam:GetPolicy", lambda n=n: policy(n)) for n in POLICIES),
        ("ec2:DescribeVpcs", vpc),
        ("organizations:DescribeOrganization", organization),
        ("ec2:DescribeInstances", queue),
        *(("iam:GetRole", lambda n=n: iam.get_role(RoleName=n)) for n in ROLES),
        *(("iam:ListAttachedRolePolicies", lambda n=n: iam.list_attached_role_policies(RoleName=n)) for n in ROLES),
        *(("iam:ListRolePolicies", lambda n=n: iam.list_role_policies(RoleName=n)) for n in ROLES),
        ("iam:ListInstanceProfilesForRole", lambda: iam.list_instance_profiles_for_role(RoleName=ROLES[0])),
        ("ec2:DescribeSubnets", lambda: ec2.describe_subnets(Filters=_name("valohai-subnet-*"))),
        ("ec2:DescribeInternetGateways", lambda: ec2.describe_internet_gateways(Filters=_name("valohai-igw"))),
        (
            "ec2:DescribeSecurityGroups",
            lambda: ec2.describe_security_groups(
                Filters=[{"Name": "group-name", "Values": ["valohai-sg-workers", "valohai-sg-queue"]}]
            ),
        ),
        ("ec2:DescribeAddresses", lambda: ec2.describe_addresses(Filters=_name("valohai-ip-queue"))),
        # the region's zones: subnets-one-per-zone tells "fewer zones than subnets" from a crowded zone
        ("ec2:DescribeAvailabilityZones", lambda: ec2.describe_availability_zones()),
        *(_bucket_reads(s3, s3control, account, bucket) if bucket else []),
        *_principal_reads(iam, account, user, list(roles)),
    ]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = {pool.submit(fn): action for action, fn in first}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                action = pending.pop(fut)
                calls.append(action)
                more = fut.result()
                for name, fn in more if isinstance(more, list) else ():
                    pending[pool.submit(fn)] = name
    return calls


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint-url")
    ap.add_argument("--region", default="eu-west-1")
    ap.add_argument("--bucket", help="the data store's bucket (the params' data_store.bucket)")
    ap.add_argument("--user", help="the data store's IAM user (data_store.user)")
    ap.add_argument("--role", action="append", default=[], help="the data store's role or multipart role (repeatable)")
    args = ap.parse_args()
    print(len(read_minimum(args.endpoint_url, args.region, bucket=args.bucket, user=args.user, roles=tuple(args.role))))


if __name__ == "__main__":
    main()
