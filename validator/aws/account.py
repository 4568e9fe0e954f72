"""Read everything the rule pack needs, concurrently, into one Snapshot."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from validator import kinds as kinds_mod
from validator.aws.readers import LAST_FOR_FIX, READERS, Read
from validator.aws.recorder import Reading, Recorder
from validator.aws.session import Target, client, error_code, fatal, session, unparsable_retried
from validator.errors import VhvError
from validator.kinds import KINDS, Kind
from validator.snapshot import Snapshot

# What `check` calls (who it is, then the reads the rules need: the read_actions of the kinds it
# reads), and what read(for_fix=True) adds for the fixers (the read_actions of the kinds only
# remediate reads, and every kind's fix_read_actions): `vhv permissions` prints the first,
# `vhv permissions --fix` both (validator/permissions.py).
_GUIDE_KINDS = [k for k in KINDS.values() if k.made_by(kinds_mod.GUIDE)]
_CHECK_READS = [a for k in _GUIDE_KINDS if k.read_for == "check" for a in k.read_actions]
_FIX_READS = [a for k in _GUIDE_KINDS for a in (k.read_actions if k.read_for == "fix" else ()) + k.fix_read_actions]
PERMISSIONS = tuple(dict.fromkeys(["sts:GetCallerIdentity", *_CHECK_READS]))
FIX_PERMISSIONS = tuple(a for a in dict.fromkeys(_FIX_READS) if a not in PERMISSIONS)
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
    import botocore.exceptions as bex  # deferred: loads botocore; botocore when AWS is read, not at import
    from botocore.parsers import ResponseParserError  # deferred: loads botocore

    try:
        ident = unparsable_retried(sts.get_caller_identity)
    except (bex.ClientError, bex.BotoCoreError, ResponseParserError) as exc:  # a 500 page in HTML: not AWS's XML
        stop = fatal(exc, endpoint)
        if stop:
            raise stop from None
        raise VhvError(f"cannot identify the AWS account (sts:GetCallerIdentity): {error_code(exc) or exc}") from None
    arn = ident["Arn"]
    return ident["Account"], arn, arn.split(":")[1] if arn.startswith("arn:") else "aws"


def kinds_read(params: Any, for_fix: bool = False) -> list[Kind]:
    """The kinds a read asks AWS for, in the catalogue's order: those with a reader that exist
    under the params' provisioning and in the recipe that built the account, and have a name (one
    the params name only when they do); those read only for remediate (read_for: fix) with `for_fix`."""
    recipe = kinds_mod.active()
    return [
        k
        for k in KINDS.values()
        if k.reader
        and k.made_by(recipe)
        and (for_fix or k.read_for == "check")
        and k.provisioning in ("", params.provisioning)
        and k.named(params)
    ]


def tasks(reading: Reading, kinds: list[Kind]) -> list[Callable[[], None]]:
    """The reads of `kinds`, as tasks that can run at once. A reader is given every kind that names
    it (or one kind per task when it is `each`); a read `after` another reader runs in that
    reader's task once its answer is in (the route tables once the VPCs are found), with the
    other reads that wait for the same answer, at once."""
    groups: dict[str, list[Kind]] = {}
    for k in kinds:
        groups.setdefault(k.reader, []).append(k)
    waiting: dict[str, list[tuple[Read, tuple[Kind, ...]]]] = {}  # reader -> the reads after it
    first: list[tuple[str, Read, tuple[Kind, ...]]] = []
    for name, group in groups.items():
        reader = READERS[name]
        for batch in [(k,) for k in group] if reader.each else [tuple(group)]:
            for read in (reader.read, *reader.more, *(reader.fix if reading.for_fix else ())):
                if read.after:
                    waiting.setdefault(read.after, []).append((read, batch))
                else:
                    first.append((name if read is reader.read else "", read, batch))
    lost = set(waiting) - {name for name, _, _ in first}
    if lost:
        raise VhvError(
            f"rules/catalogue.yaml: a reader reads after {', '.join(sorted(lost))}, which these params do not "
            "read (a kind's reader or provisioning)"
        )

    def task(name: str, read: Read, batch: tuple[Kind, ...]) -> Callable[[], None]:
        def run() -> None:
            found = read.fn(reading, batch, None)
            after = waiting.get(name, [])
            if found is not None and after:
                reading.rec.together(*(lambda r=r, b=b: r.fn(reading, b, found) for r, b in after))

        return run

    return [task(*t) for t in first]


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
    with kinds_mod.for_params(params):  # the names of the recipe that built the account
        return _read(params, target, progress, workers, for_fix)


def _read(
    params: Any,
    target: Target,
    progress: Callable[[str], None] | None,
    workers: int | None,
    for_fix: bool,
) -> tuple[Snapshot, list[str]]:
    workers = workers or workers_from_env()
    region = target.region or params.region
    target = Target(target.profile, region, target.endpoint_url)
    kinds = kinds_read(params, for_fix)
    sess = session(target)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="vhv-sts") as one:
        # who we are is asked while the other clients are built (the EC2 one is slow to build)
        sts = client(sess, "sts", target)
        who = one.submit(kinds_mod.carried(lambda: identify(sts, target.endpoint_url)))
        services = dict.fromkeys(s for k in kinds for s in (READERS[k.reader].service, *READERS[k.reader].also))
        clients = {s: client(sess, s, target) for s in services}
        # A client loads its paginator model on first use, after listing every service botocore
        # knows (a scan of its data directory). Done here, once per client, while STS answers:
        # left to the readers, every thread that lists something first would scan at once.
        # Asking about any one operation loads the model.
        for c in clients.values():
            c.can_paginate(next(iter(c.meta.method_to_api_mapping)))
        account, arn, partition = who.result()
    snap = Snapshot(
        account_id=account, region=region, partition=partition, caller_arn=arn, built_with=kinds_mod.active()
    )
    rec = Recorder(snap, progress)
    rec.calls.append("sts:GetCallerIdentity")
    reading = Reading(clients, rec, for_fix, params)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="vhv-read") as pool:
        rec.pool = pool  # readers' dependent reads (Recorder.together) run here too
        done, _ = wait([pool.submit(kinds_mod.carried(t)) for t in tasks(reading, kinds)], return_when=FIRST_EXCEPTION)
        failed = [f.exception() for f in done if f.exception()]
        if failed:  # a fatal VhvError (credentials gone, endpoint down): stop reading
            pool.shutdown(wait=False, cancel_futures=True)
            raise failed[0]
        if for_fix:  # follows what the reads above found: after them
            for service, last in LAST_FOR_FIX.items():
                if service in clients:
                    last(reading)
    return snap, rec.calls
