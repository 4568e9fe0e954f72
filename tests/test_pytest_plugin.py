"""The pytest plugin (validator/pytest_plugin.py): the account's compliance as test items.

Most runs are pytester runs against snapshot files written from an in-process moto
account (offline and fast); the engine's own findings on the same snapshot are the
oracle for which item must pass, fail, error or skip. The live path (reading the
account, once per session, also under xdist) runs pytest in a subprocess against a
moto server process.
"""
from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import requests
import yaml
from junitparser import Error, Failure, JUnitXml, Skipped
from moto import mock_aws

from tests.conftest import Account
from tests.test_e2e import DEAD_ENDPOINT, DRIFT_FAILS, drift, moto_server_process
from validator import engine, params as params_mod
from validator.demo import DEMO_PARAMS, build_golden
from validator.snapshot import Snapshot

pytest_plugins = ["pytester"]

REGION = DEMO_PARAMS["region"]
DENIED_SG = ("ec2:DescribeSecurityGroups was denied (UnauthorizedOperation): allow ec2:DescribeSecurityGroups "
             "for the identity vhv runs as")
GOLDEN_SKIPS = {"master-role-ec2-full-access", "master-role-vpc-full-access"}  # Option 2 rules
GOLDEN_WARNS = {"queue-instance-os-support"}  # Ubuntu 20.04's end of standard support


def nodeid(rule: Any) -> str:
    return f"vhv::test_vhv[{rule.resource_name}::{rule.id}]"


def rule_of(node: str) -> str:
    return node.rsplit("::", 1)[1].rstrip("]")


@dataclass
class Snaps:
    dir: Path
    golden: Path
    drifted: Path
    denied: Path
    findings: dict[str, list[engine.Finding]]  # file name -> the engine's findings on it (the oracle)


@pytest.fixture(scope="module")
def snaps(tmp_path_factory, pack) -> Snaps:
    """The guide's account and a drifted copy, built in-process with moto and saved as
    snapshots; plus the golden one as if ec2:DescribeSecurityGroups had been denied."""
    out = tmp_path_factory.mktemp("vhv-snapshots")
    mp = pytest.MonkeyPatch()
    mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    try:
        with mock_aws():
            session = boto3.Session(region_name=REGION)
            acct = Account(session, build_golden(session), pack)
            golden = acct.check()
            drift(SimpleNamespace(ids=acct.ids, client=lambda name: session.client(name, region_name=REGION)))
            drifted = acct.check()
    finally:
        mp.undo()
    golden.snapshot.save(out / "golden.json")
    drifted.snapshot.save(out / "drifted.json")
    denied = Snapshot.load(out / "golden.json")
    denied.errors["security_groups"] = DENIED_SG
    denied.save(out / "denied.json")
    prm = params_mod.from_dict(dict(DEMO_PARAMS), source="params.yaml")
    findings = {name: engine.evaluate(pack, prm, Snapshot.load(out / name))
                for name in ("golden.json", "drifted.json", "denied.json")}
    return Snaps(out, out / "golden.json", out / "drifted.json", out / "denied.json", findings)


@pytest.fixture
def project(pytester) -> pytest.Pytester:
    """A fresh project: only a params file, no test file."""
    pytester.makefile(".yaml", params=yaml.safe_dump(DEMO_PARAMS, sort_keys=False))
    return pytester


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """nodeid -> passed / failed / error / skipped, as the terminal counts them."""
    out: dict[str, str] = {}
    for rep in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        if rep.when == "call" or (rep.when == "setup" and not rep.passed):
            out[rep.nodeid] = "error" if rep.when == "setup" and rep.failed else rep.outcome
    return out


def expected(findings: list[engine.Finding]) -> dict[str, str]:
    """The item outcome each rule must have, from the engine's findings: error wins, then fail;
    all-skip skips; anything else (pass, warn) passes."""
    by_rule: dict[str, set[str]] = {}
    for f in findings:
        by_rule.setdefault(f.rule_id, set()).add(f.status)
    out = {}
    for rule_id, st in by_rule.items():
        out[rule_id] = ("error" if "error" in st else "failed" if "fail" in st
                        else "skipped" if st == {"skip"} else "passed")
    return out


def no_vhv_traceback(text: str) -> None:
    assert "Traceback" not in text, text
    assert "validator/" not in text and "pytest_plugin.py" not in text, text


def run(project: pytest.Pytester, snap: Path | None, *args: str) -> pytest.RunResult:
    """pytest --vhv-params params.yaml [--vhv-snapshot SNAP] ARGS, in the project. The snapshot is
    copied into the project: pytest takes the rootdir from the paths on its command line."""
    more: tuple[str, ...] = ()
    if snap:
        (project.path / snap.name).write_bytes(snap.read_bytes())
        more = ("--vhv-snapshot", snap.name)
    return project.runpytest("-p", "no:cacheprovider", "--vhv-params", "params.yaml", *more, *args)


# ------------------------------------------------------------------ the account's outcomes as items

def test_golden_account_passes_every_item(project, snaps, pack):
    result = run(project, snaps.golden, "-rA")
    got = outcomes(result)
    assert set(got) == {nodeid(r) for r in pack.rules}
    assert {rule_of(n): o for n, o in got.items() if o != "passed"} == {r: "skipped" for r in GOLDEN_SKIPS}
    assert {rule_of(n): o for n, o in got.items()} == expected(snaps.findings["golden.json"])
    assert result.ret == pytest.ExitCode.OK
    # a skip says why, at the rule's line in its rule file
    skip_line = next(line for line in result.outlines if "master-role-ec2-full-access" in line and "SKIPPED" in line)
    assert "applies only when provisioning: valohai" in skip_line and "2-iam.yaml:" in skip_line
    # a warn passes, with a pytest warning naming the rule and its message
    warned = [str(w.warning_message.message) for w in result.reprec.getcalls("pytest_warning_recorded")  # type: ignore[attr-defined]
              if type(w.warning_message.message).__name__ == "VhvWarning"]
    assert len(warned) == 1 and warned[0].startswith("queue-instance-os-support (valohai-i-queue"), warned
    assert "Ubuntu 20.04" in warned[0]
    no_vhv_traceback(result.stdout.str())


def test_drift_fails_exactly_the_drifted_items_with_expected_actual_and_fix(project, snaps, pack):
    assert engine.exit_code(snaps.findings["drifted.json"]) == 1  # the oracle agrees the drift is there
    result = run(project, snaps.drifted)
    got = outcomes(result)
    failed = {rule_of(n) for n, o in got.items() if o == "failed"}
    assert failed == set(DRIFT_FAILS)
    assert {rule_of(n): o for n, o in got.items()} == expected(snaps.findings["drifted.json"])
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    no_vhv_traceback(text)
    for rule_id, name in DRIFT_FAILS.items():
        finding = next(f for f in snaps.findings["drifted.json"] if f.rule_id == rule_id and f.status == "fail")
        report = next(rep for rep in result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
                      if rep.when == "call" and rep.failed and rule_of(rep.nodeid) == rule_id)
        shown = str(report.longrepr)
        assert shown.startswith(f"vhv: {rule_id} [{pack.by_id(rule_id).severity}] failed: ")
        assert name in shown and finding.message in shown
        assert f"expected: {finding.expected}" in shown
        assert f"actual:   {finding.actual}" in shown
        assert f"fix:      {finding.fix}" in shown and finding.fix
        assert f"FAILED vhv::test_vhv[{name}::{rule_id}]" in text
    world_ssh = next(rep for rep in result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
                     if rep.failed and rule_of(rep.nodeid) == "sg-queue-ingress-only-guide")
    assert "0.0.0.0/0" in str(world_ssh.longrepr)


def test_a_rule_that_cannot_be_decided_is_an_error_not_a_pass(project, snaps):
    want = expected(snaps.findings["denied.json"])
    undecided = {r for r, o in want.items() if o == "error"}
    assert "sg-queue-ingress-redis-workers" in undecided and "vpc-exists" not in undecided
    result = run(project, snaps.denied)
    got = {rule_of(n): o for n, o in outcomes(result).items()}
    assert got == want
    assert {r for r, o in got.items() if o == "error"} == undecided
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert "ERROR at setup of test_vhv[valohai-sg-queue::sg-queue-ingress-redis-workers]" in text
    assert "vhv: sg-queue-ingress-redis-workers [critical] could not be decided" in text
    assert "ec2:DescribeSecurityGroups was denied (UnauthorizedOperation)" in text
    no_vhv_traceback(text)


def test_an_unreachable_account_errors_every_item_that_needs_it(project, pack):
    result = project.runpytest("-p", "no:cacheprovider", "--vhv-params", "params.yaml",
                               "--vhv-endpoint-url", DEAD_ENDPOINT)
    got = outcomes(result)
    params_rules = {nodeid(r) for r in pack.rules if r.resource == "params"}
    assert {n for n, o in got.items() if o == "passed"} == params_rules
    assert {n for n, o in got.items() if o == "error"} == {nodeid(r) for r in pack.rules} - params_rules
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert "vhv: worker-policy-exists could not be checked: cannot reach the AWS endpoint http://127.0.0.1:9" in text
    no_vhv_traceback(text)


@pytest.mark.parametrize("change, fragment", [
    ({"provisioning": "maybe"}, "provisioning"),
    (None, "params file not found"),
])
def test_bad_params_are_one_collection_error(project, snaps, change, fragment):
    if change is None:
        (project.path / "params.yaml").unlink()
    else:
        project.makefile(".yaml", params=yaml.safe_dump({**DEMO_PARAMS, **change}))
    result = run(project, snaps.golden)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert outcomes(result) == {}
    text = result.stdout.str()
    assert "ERROR collecting vhv" in text
    errors = [str(rep.longrepr) for rep in result.reprec.getreports("pytest_collectreport")  # type: ignore[attr-defined]
              if rep.failed]
    assert len(errors) == 1
    assert errors[0].startswith("vhv: ") and "\n" not in errors[0]
    assert fragment in errors[0] and "params.yaml" in errors[0]
    no_vhv_traceback(text)


def test_a_snapshot_of_another_region_is_refused(project, snaps):
    doc = json.loads(snaps.golden.read_text())
    doc["region"] = "us-east-1"
    other = project.path / "other.json"
    other.write_text(json.dumps(doc))
    result = run(project, other)
    got = outcomes(result)
    assert "error" in got.values() and "failed" not in got.values()
    assert all(o == "error" for n, o in got.items() if not rule_of(n).startswith("params-"))
    assert "is of region us-east-1, the params say eu-west-1" in result.stdout.str()


def test_snapshot_option_without_params_is_a_usage_error(pytester, snaps):
    result = pytester.runpytest("-p", "no:cacheprovider", "--vhv-snapshot", str(snaps.golden))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--vhv-snapshot needs --vhv-params" in result.stderr.str()


# ------------------------------------------------------------------ selection and pytest's own options

def test_select_with_k(project, snaps, pack):
    result = run(project, snaps.drifted, "-k", "sg-queue-ingress and not ssh")
    got = outcomes(result)
    assert set(got) == {nodeid(r) for r in pack.rules if r.id.startswith("sg-queue-ingress") and "ssh" not in r.id}
    assert {rule_of(n) for n, o in got.items() if o == "failed"} == {
        "sg-queue-ingress-redis-workers", "sg-queue-ingress-only-guide"}
    result = run(project, snaps.drifted, "-k", "ValohaiWorkerRole")
    assert set(outcomes(result)) == {nodeid(r) for r in pack.rules if r.resource_name == "ValohaiWorkerRole"}


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("vhv::")]


@pytest.mark.parametrize("expr, pick", [
    ("critical", lambda r: r.severity == "critical"),
    ("security_group", lambda r: r.resource_type == "AWS::EC2::SecurityGroup"),
    ("critical and security_group", lambda r: r.severity == "critical" and r.resource_type == "AWS::EC2::SecurityGroup"),
    ("role and not critical", lambda r: r.resource_type == "AWS::IAM::Role" and r.severity != "critical"),
])
def test_select_with_m_under_strict_markers(project, snaps, pack, expr, pick):
    result = run(project, snaps.golden, "--strict-markers", "-m", expr, "--collect-only", "-q")
    want = [nodeid(r) for r in pack.rules if pick(r)]
    assert want and collected(result) == want
    assert result.ret == pytest.ExitCode.OK


def test_selected_items_run_under_strict_markers(project, snaps):
    result = run(project, snaps.drifted, "--strict-markers", "-m", "critical and security_group")
    got = outcomes(result)
    assert {rule_of(n) for n, o in got.items() if o == "failed"} == {
        "sg-queue-ingress-redis-workers", "sg-queue-ingress-only-guide"}
    assert all(rule_of(n).startswith(("sg-queue-", "sg-workers-")) for n in got)


def test_markers_are_listed(project, snaps):
    result = run(project, snaps.golden, "--markers")
    text = result.stdout.str()
    for marker in ("@pytest.mark.critical:", "@pytest.mark.security_group:", "@pytest.mark.vhv:",
                   "@pytest.mark.managed_policy:", "@pytest.mark.eip:"):
        assert marker in text, marker


def test_x_stops_at_the_first_failure(project, snaps):
    result = run(project, snaps.drifted, "-x")
    got = outcomes(result)
    assert list(got.values()).count("failed") == 1
    assert len(got) < len(snaps.findings["drifted.json"])


def test_collect_only_lists_the_rules_without_reading(project, pack):
    # the endpoint is dead: collecting must not need the account
    result = project.runpytest("-p", "no:cacheprovider", "--vhv-params", "params.yaml", "--vhv-endpoint-url",
                               DEAD_ENDPOINT, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    listed = collected(result)
    assert listed == [nodeid(r) for r in pack.rules]
    assert "vhv::test_vhv[valohai-sg-queue::sg-queue-ingress-redis-workers]" in listed


def test_ini_options_activate_the_plugin_relative_to_the_ini_file(project, snaps, pack):
    sub = project.mkdir("sub")
    (project.path / "golden.json").write_text(snaps.golden.read_text())
    project.makeini("[pytest]\nvhv_params = params.yaml\nvhv_snapshot = golden.json\n")
    os.chdir(sub)  # pytester restores the working directory
    result = project.runpytest("-p", "no:cacheprovider", str(project.path))
    got = outcomes(result)
    assert set(got) == {nodeid(r) for r in pack.rules}
    assert result.ret == pytest.ExitCode.OK


def test_junitxml_and_xdist(project, snaps, pack):
    (project.path / "drifted.json").write_bytes(snaps.drifted.read_bytes())
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--vhv-params", "params.yaml", "--vhv-snapshot",
                                          "drifted.json", "-n", "2", "--junitxml=vhv.xml", "-q", timeout=300)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    no_vhv_traceback(result.stdout.str() + result.stderr.str())
    cases = {c.name: c for suite in JUnitXml.fromfile(str(project.path / "vhv.xml")) for c in suite}
    assert set(cases) == {nodeid(r).split("::", 1)[1] for r in pack.rules}
    failed = {rule_of(name): c for name, c in cases.items() if any(isinstance(x, Failure) for x in c.result)}
    assert set(failed) == set(DRIFT_FAILS)
    redis = next(x for x in failed["sg-queue-ingress-redis-workers"].result if isinstance(x, Failure))
    assert "expected:" in redis.text and "fix:" in redis.text
    skipped = {rule_of(name) for name, c in cases.items() if any(isinstance(x, Skipped) for x in c.result)}
    assert skipped == GOLDEN_SKIPS
    assert not any(isinstance(x, Error) for c in cases.values() for x in c.result)


# ------------------------------------------------------------------ fixtures for your own assertions

USER_TESTS = """
def test_the_account(vhv_snapshot):
    assert vhv_snapshot.account_id == "123456789012"

def test_queue_ssh_is_not_open_to_the_world(vhv_findings):
    bad = [f.rule_id for f in vhv_findings if f.status == "fail" and f.resource_name == "valohai-sg-queue"]
    assert bad == []
"""


def test_fixtures_for_own_assertions(project, snaps):
    project.makepyfile(test_mine=USER_TESTS)
    golden = run(project, snaps.golden, "-m", "not vhv")
    assert golden.ret == pytest.ExitCode.OK
    assert set(outcomes(golden)) == {"test_mine.py::test_the_account",
                                     "test_mine.py::test_queue_ssh_is_not_open_to_the_world"}
    drifted = run(project, snaps.drifted, "-m", "not vhv")
    assert outcomes(drifted) == {"test_mine.py::test_the_account": "passed",
                                 "test_mine.py::test_queue_ssh_is_not_open_to_the_world": "failed"}
    assert "sg-queue-ingress-redis-workers" in drifted.stdout.str()


def test_fixtures_without_the_plugin_are_an_error_that_says_so(pytester):
    pytester.makepyfile(test_mine=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert set(outcomes(result).values()) == {"error"}
    assert "vhv is not active: pass --vhv-params FILE" in result.stdout.str()
    no_vhv_traceback(result.stdout.str())


# ------------------------------------------------------------------ inactive: nothing of vhv

def test_an_inactive_run_collects_nothing_of_vhv_and_imports_nothing_heavy(pytester):
    pytester.makepyfile(test_plain="""
        import sys

        def test_plain():
            heavy = [m for m in ("boto3", "botocore", "moto", "jsonschema", "validator.rulepack",
                                 "validator.engine", "validator.checks") if m in sys.modules]
            assert heavy == []
            assert "validator.pytest_plugin" in sys.modules  # the plugin is loaded, just inactive
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", timeout=120)
    result.assert_outcomes(passed=1)
    assert "vhv" not in "".join(line for line in result.outlines if "::" in line)
    assert "vhv:" not in result.stdout.str()


# ------------------------------------------------------------------ live: a moto server process

@pytest.fixture(scope="module")
def moto_server(tmp_path_factory):
    """A moto server process that records the requests it serves (moto's recorder)."""
    recording = tmp_path_factory.mktemp("moto") / "requests.jsonl"
    with moto_server_process(MOTO_IAM_LOAD_MANAGED_POLICIES="false", MOTO_RECORDER_FILEPATH=str(recording)) as base:
        yield base


def served(base: str, action: str) -> int:
    """How many requests for `action` the server got since the recording started."""
    text = requests.get(f"{base}/moto-api/recorder/download-recording", timeout=10).text
    count = 0
    for line in filter(None, text.splitlines()):
        entry = json.loads(line)
        body = base64.b64decode(entry["body"]).decode() if entry.get("body_encoded") else (entry.get("body") or "")
        fields = dict(pair.partition("=")[::2] for pair in body.split("&"))
        count += fields.get("Action") == action
    return count


def record(base: str) -> None:
    requests.post(f"{base}/moto-api/recorder/reset-recording", timeout=10).raise_for_status()
    requests.post(f"{base}/moto-api/recorder/start-recording", timeout=10).raise_for_status()


@pytest.mark.e2e
def test_live_account_read_once_per_session_also_under_xdist(project, moto_server, monkeypatch, pack):
    requests.post(f"{moto_server}/moto-api/reset", timeout=30).raise_for_status()
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    ids = build_golden(session, endpoint_url=moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    args = ("-p", "no:cacheprovider", "--vhv-params", "params.yaml", "-q")

    record(moto_server)
    golden = project.runpytest_subprocess(*args, "-rs", timeout=300)
    assert golden.ret == pytest.ExitCode.OK, golden.stdout.str()
    golden.assert_outcomes(passed=len(pack.rules) - len(GOLDEN_SKIPS), skipped=len(GOLDEN_SKIPS), warnings=1)
    assert served(moto_server, "GetCallerIdentity") == 1
    assert served(moto_server, "DescribeSecurityGroups") == 1

    drift(SimpleNamespace(ids=ids, client=lambda name: session.client(name, region_name=REGION,
                                                                           endpoint_url=moto_server)))
    record(moto_server)
    drifted = project.runpytest_subprocess(*args, "-n", "2", timeout=300)
    assert drifted.ret == pytest.ExitCode.TESTS_FAILED
    failed = {line.split(" ")[1] for line in drifted.outlines if line.startswith("FAILED vhv::")}
    assert failed == {f"vhv::test_vhv[{name}::{rule_id}]" for rule_id, name in DRIFT_FAILS.items()}
    assert f"{len(DRIFT_FAILS)} failed" in drifted.outlines[-1]
    # two workers, one read: the controller read the account and shipped the snapshot
    assert served(moto_server, "GetCallerIdentity") == 1
    assert served(moto_server, "DescribeSecurityGroups") == 1
    no_vhv_traceback(drifted.stdout.str() + drifted.stderr.str())
