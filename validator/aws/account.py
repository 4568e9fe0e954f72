"""Read everything the rule pack needs, concurrently, into one Snapshot."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from validator.aws import ec2 as ec2_reader
from validator.aws import iam as iam_reader
from validator.aws.recorder import Recorder
from validator.aws.session import Target, client, error_code, fatal, session, unparsable_retried
from validator.errors import VhvError
from validator.snapshot import Snapshot

# What `check` calls (the reads the rules need), and what read(for_fix=True) adds for the fixers:
# `vhv permissions` prints the first, `vhv permissions --fix` both (validator/permissions.py).
PERMISSIONS = ("sts:GetCallerIdentity",) + iam_reader.PERMISSIONS + ec2_reader.PERMISSIONS
FIX_PERMISSIONS = tuple(a for a in iam_reader.FIX_PERMISSIONS + ec2_reader.FIX_PERMISSIONS if a not in PERMISSIONS)
# Enough threads for every read that can be in flight at once (about 20): the time of a
# check is then the longest chain of dependent calls, not their number.
READ_WORKERS = 24


def workers_from_env() -> int:
    """VHV_READ_WORKERS (1 reads one call at a time: the benchmark's sequential variant)."""
    raw = os.environ.get("VHV_READ_WORKERS", "")
    if not raw:
        return READ_WORKERS
    if not raw.isdigit() or int(raw) < 1:
        raise VhvError(f"VHV_READ_WORKERS must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def identify(sts: Any, endpoint: str | None) -> tuple[str, str, str]:
    import botocore.exceptions as bex
    from botocore.parsers import ResponseParserError

    try:
        ident = unparsable_retried(sts.get_caller_identity)
    except (bex.ClientError, bex.BotoCoreError, ResponseParserError) as exc:  # a 500 page in HTML: not AWS's XML
        stop = fatal(exc, endpoint)
        if stop:
            raise stop from None
        raise VhvError(f"cannot identify the AWS account (sts:GetCallerIdentity): {error_code(exc) or exc}") from None
    arn = ident["Arn"]
    return ident["Account"], arn, arn.split(":")[1] if arn.startswith("arn:") else "aws"


def read(
    params: Any,
    target: Target,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    for_fix: bool = False,
) -> tuple[Snapshot, list[str]]:
    """The snapshot of the account, and the list of API actions it took (sts:GetCallerIdentity first).
    `workers` threads read at once (default VHV_READ_WORKERS, else READ_WORKERS). The rules need
    only what is read by default; `for_fix` also reads what only the fixers use (FIX_PERMISSIONS:
    policy versions, the instance profile by name, every subnet of the VPC, the zones, and the
    guide's network resources that lost their Name, by what points at them: read_unnamed)."""
    workers = workers or workers_from_env()
    region = target.region or params.region
    target = Target(target.profile, region, target.endpoint_url)
    sess = session(target)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vhv-sts") as one:
        # who we are is asked while the other clients are built (the EC2 one is slow to build)
        who = one.submit(identify, client(sess, "sts", target), target.endpoint_url)
        iam = client(sess, "iam", target)
        ec2 = client(sess, "ec2", target) if params.provisioning == "self" else None
        # A client loads its paginator model on first use, after listing every service botocore
        # knows (a scan of its data directory). Done here, once per client, while STS answers:
        # left to the readers, every thread that lists something first would scan at once.
        for c in (iam, ec2):
            if c is not None:
                c.can_paginate("describe_vpcs" if c is ec2 else "list_role_policies")
        account, arn, partition = who.result()
    snap = Snapshot(account_id=account, region=region, partition=partition, caller_arn=arn)
    rec = Recorder(snap, progress)
    rec.calls.append("sts:GetCallerIdentity")

    def network() -> None:
        vpcs = ec2_reader.read_vpcs(ec2, rec)
        if vpcs is not None:
            ids = [v["id"] for v in vpcs]
            if for_fix:
                rec.together(
                    lambda: ec2_reader.read_route_tables(ec2, rec, ids),
                    lambda: ec2_reader.read_vpc_subnets(ec2, rec, ids),
                )
            else:
                ec2_reader.read_route_tables(ec2, rec, ids)

    def queue() -> None:
        instances = ec2_reader.read_instances(ec2, rec)
        if instances is None:
            return
        rec.together(
            lambda: ec2_reader.read_images(ec2, rec, sorted({i["image_id"] for i in instances if i.get("image_id")})),
            lambda: ec2_reader.read_volumes(
                ec2, rec, sorted({i["root_volume_id"] for i in instances if i.get("root_volume_id")})
            ),
            lambda: ec2_reader.read_key_pairs(
                ec2, rec, sorted({i["key_name"] for i in instances if i.get("key_name")})
            ),
        )

    tasks: list[Callable[[], None]] = [
        *(lambda n=n: iam_reader.read_policy(iam, rec, n, for_fix) for n in iam_reader.POLICIES),
        *(lambda n=n: iam_reader.read_role(iam, rec, n) for n in iam_reader.ROLES),
    ]
    if for_fix:
        tasks += [lambda n=n: iam_reader.read_instance_profile(iam, rec, n) for n in iam_reader.PROFILES]
    if params.provisioning == "self":
        tasks += [
            network,
            queue,
            lambda: ec2_reader.read_subnets(ec2, rec),
            lambda: ec2_reader.read_igws(ec2, rec),
            lambda: ec2_reader.read_security_groups(ec2, rec),
            lambda: ec2_reader.read_addresses(ec2, rec),
        ]
        if for_fix:
            tasks.append(lambda: ec2_reader.read_zones(ec2, rec))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vhv-read") as pool:
        rec.pool = pool  # readers' dependent reads (Recorder.together) run here too
        done, _ = wait([pool.submit(t) for t in tasks], return_when=FIRST_EXCEPTION)
        failed = [f.exception() for f in done if f.exception()]
        if failed:  # a fatal VhvError (credentials gone, endpoint down): stop reading
            pool.shutdown(wait=False, cancel_futures=True)
            raise failed[0]
        if for_fix and ec2 is not None:  # follows what the reads above found: after them
            ec2_reader.read_unnamed(ec2, rec)
    return snap, rec.calls
