"""Read everything the rule pack needs, concurrently, into one Snapshot."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from validator.aws import ec2 as ec2_reader
from validator.aws import iam as iam_reader
from validator.aws.recorder import Recorder
from validator.aws.session import Target, client, error_code, fatal, session
from validator.errors import VhvError
from validator.snapshot import Snapshot

PERMISSIONS = ("sts:GetCallerIdentity",) + iam_reader.PERMISSIONS + ec2_reader.PERMISSIONS


def identify(sts: Any, endpoint: str | None) -> tuple[str, str, str]:
    import botocore.exceptions as bex

    try:
        ident = sts.get_caller_identity()
    except (bex.ClientError, bex.BotoCoreError) as exc:
        stop = fatal(exc, endpoint)
        if stop:
            raise stop from None
        raise VhvError(f"cannot identify the AWS account (sts:GetCallerIdentity): {error_code(exc) or exc}") from None
    arn = ident["Arn"]
    return ident["Account"], arn, arn.split(":")[1] if arn.startswith("arn:") else "aws"


def read(params: Any, target: Target, progress: Callable[[str], None] | None = None) -> tuple[Snapshot, list[str]]:
    """The snapshot of the account, and the list of API actions it took."""
    region = target.region or params.region
    target = Target(target.profile, region, target.endpoint_url)
    sess = session(target)
    clients = {name: client(sess, name, target) for name in ("sts", "iam", "ec2")}
    account, arn, partition = identify(clients["sts"], target.endpoint_url)
    snap = Snapshot(account_id=account, region=region, partition=partition, caller_arn=arn)
    rec = Recorder(snap, progress)
    iam, ec2 = clients["iam"], clients["ec2"]

    def network() -> None:
        vpcs = ec2_reader.read_vpcs(ec2, rec)
        ec2_reader.read_route_tables(ec2, rec, [v["id"] for v in vpcs or []]) if vpcs is not None else None

    def queue() -> None:
        instances = ec2_reader.read_instances(ec2, rec)
        if instances is None:
            return
        ec2_reader.read_images(ec2, rec, sorted({i["image_id"] for i in instances if i.get("image_id")}))
        ec2_reader.read_volumes(ec2, rec, sorted({i["root_volume_id"] for i in instances if i.get("root_volume_id")}))
        ec2_reader.read_key_pairs(ec2, rec, sorted({i["key_name"] for i in instances if i.get("key_name")}))

    tasks: list[Callable[[], None]] = [
        *(lambda n=n: iam_reader.read_policy(iam, rec, n) for n in iam_reader.POLICIES),
        *(lambda n=n: iam_reader.read_role(iam, rec, n) for n in iam_reader.ROLES),
    ]
    if params.provisioning == "self":
        tasks += [network, queue, lambda: ec2_reader.read_subnets(ec2, rec), lambda: ec2_reader.read_igws(ec2, rec),
                  lambda: ec2_reader.read_security_groups(ec2, rec), lambda: ec2_reader.read_addresses(ec2, rec)]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="vhv-read") as pool:
        for fut in [pool.submit(t) for t in tasks]:
            fut.result()  # re-raises a fatal VhvError from any reader
    return snap, rec.calls
