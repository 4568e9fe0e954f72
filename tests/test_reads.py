"""How the account is read: one call at a time or many at once, the result is the same.

VHV_READ_WORKERS=1 (the benchmark's sequential variant, and a way out for a user whose
endpoint throttles) must give the same snapshot, the same calls and the same findings as
the default thread pool; and `for_fix` (what `vhv remediate` reads) adds only the fixers'
reads, never changes what the rules see. In-process moto.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from validator import engine
from validator import params as params_mod
from validator.aws import account as account_mod
from validator.aws.session import Target
from validator.demo import DEMO_PARAMS, apply_demo_drifts, build_golden
from validator.errors import VhvError

from .conftest import REGION

FIXER_PATHS = (
    "policies.ValohaiWorkerPolicy.versions",
    "policies.ValohaiMasterPolicy.versions",
    "instance_profiles",
    "vpc_subnets",
)


def read(pack, **kw):  # noqa: ANN001, ANN201
    """(snapshot, Counter of calls, findings as comparable tuples, names of the threads that made calls)"""
    prm = params_mod.from_dict(dict(DEMO_PARAMS), source="params.yaml")
    threads: set[str] = set()
    snap, calls = account_mod.read(
        prm, Target(region=REGION), progress=lambda _a: threads.add(threading.current_thread().name), **kw
    )
    found = sorted((f.rule_id, f.status, f.resource_id or "", f.message) for f in engine.evaluate(pack, prm, snap))
    return snap, Counter(calls), found, threads


def golden(session) -> None:  # noqa: ANN001
    build_golden(session)


def drifted(session) -> None:  # noqa: ANN001
    apply_demo_drifts(session, build_golden(session), REGION)


def empty(_session) -> None:  # noqa: ANN001
    """Nothing of the guide's: every read that depends on another has nothing to follow."""


DRIFTED = pytest.param(drifted, id="drifted", marks=pytest.mark.managed_policies)  # attaches AmazonEC2FullAccess


@pytest.mark.parametrize("build", [golden, DRIFTED, empty])
def test_one_worker_reads_what_the_pool_reads(moto_env, pack, monkeypatch, build):
    build(moto_env)
    monkeypatch.delenv("VHV_READ_WORKERS", raising=False)
    par_snap, par_calls, par_found, par_threads = read(pack)
    monkeypatch.setenv("VHV_READ_WORKERS", "1")
    seq_snap, seq_calls, seq_found, seq_threads = read(pack)

    assert seq_snap.to_dict() == par_snap.to_dict()
    assert seq_calls == par_calls
    assert seq_found == par_found
    assert len(seq_threads) == 1 and len(par_threads) > 1, (seq_threads, par_threads)
    assert not seq_snap.errors
    failing = {f[0] for f in seq_found if f[1] in ("fail", "error")}
    assert bool(failing) == (build is not golden), failing  # the control: drifts and absences are seen


def test_read_workers_must_be_a_positive_number(monkeypatch):
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv("VHV_READ_WORKERS", bad)
        with pytest.raises(VhvError, match="VHV_READ_WORKERS"):
            account_mod.workers_from_env()
    monkeypatch.setenv("VHV_READ_WORKERS", "3")
    assert account_mod.workers_from_env() == 3


@pytest.mark.parametrize("build", [golden, DRIFTED])
def test_the_fixers_reads_are_made_only_for_remediate(moto_env, pack, build):
    build(moto_env)
    check_snap, check_calls, check_found, _ = read(pack)
    fix_snap, fix_calls, fix_found, _ = read(pack, for_fix=True)

    # the rules see the same account either way
    assert fix_found == check_found
    # check reads none of what only the fixers use, and calls nothing twice beyond one per resource
    for path in FIXER_PATHS:
        assert check_snap.has_error(path), path
        assert not fix_snap.has_error(path), path
    assert not set(check_calls) & set(account_mod.FIX_PERMISSIONS)
    # remediate adds exactly the fixers' reads: the versions of each policy, the instance profile
    # by name, every subnet of the VPC (the region's zones are read by check: the rules use them)
    assert fix_calls - check_calls == Counter(
        {"iam:ListPolicyVersions": 2, "iam:GetInstanceProfile": 1, "ec2:DescribeSubnets": 1}
    )
    assert check_calls - fix_calls == Counter()


def test_a_profile_that_is_not_there_is_said_in_one_line(tmp_path, monkeypatch):
    config = tmp_path / "config"
    config.write_text("[profile other]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    prm = params_mod.from_dict(dict(DEMO_PARAMS), source="params.yaml")
    with pytest.raises(VhvError, match="AWS profile 'nosuch' not found"):
        account_mod.read(prm, Target(profile="nosuch", region=REGION))


def test_sessions_share_one_data_loader_that_does_not_grow(moto_env):
    """botocore parses endpoints.json and each service model once per loader; vhv keeps one
    per process (the params' region check uses it too), and each boto3 session's own data
    directory is on its search path once, however many sessions a process makes."""
    from validator.aws.session import session
    from validator.botodata import data_loader

    sessions = [session(Target(region=REGION)) for _ in range(5)]
    assert all(s._session.get_component("data_loader") is data_loader() for s in sessions)
    paths = data_loader().search_paths
    assert len(paths) == len(set(paths))
    assert sessions[-1].client("sts", region_name=REGION).get_caller_identity()["Account"]
