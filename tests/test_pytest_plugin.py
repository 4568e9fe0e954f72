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

from tests.conftest import RECIPE_ONLY_RULES, Account, write_snapshot
from tests.test_e2e import DEAD_ENDPOINT, DRIFT_FAILS, DRIFT_PATHS, drift, moto_server_process
from validator import engine
from validator import findings as findings_mod
from validator import params as params_mod
from validator import waivers as waivers_mod
from validator.demo import ACCOUNT, DEMO_PARAMS, build_golden
from validator.kinds import KINDS
from validator.snapshot import Snapshot

pytest_plugins = ["pytester"]

REGION = DEMO_PARAMS["region"]
DENIED_SG = (
    "ec2:DescribeSecurityGroups was denied (UnauthorizedOperation): allow ec2:DescribeSecurityGroups "
    "for the identity vhv runs as"
)
# Option 2 rules, the data store's "no CORS needed" (its files are uploaded from the web UI), its KMS
# key's (it is encrypted with SSE-S3) and its role's rules (it is reached with an IAM user)
GOLDEN_SKIPS = {
    "master-role-ec2-full-access",
    "master-role-vpc-full-access",
    "data-bucket-cors-unused",
    "data-bucket-kms-key-usable",
    "data-role-exists",
    "data-role-bucket-access",
    "data-role-bucket-only",
    # what only Valohai's recipes make (built_with), the guide's account does not
    "queue-instance-disk-template",
    "queue-instance-profile-template",
    *RECIPE_ONLY_RULES,
}
SUBNETS = ("valohai-subnet-1", "valohai-subnet-2", "valohai-subnet-3")  # build_golden's, one per zone
# the rules that judge each subnet on its own: one item per subnet (the others judge one resource,
# or the subnets as a group: one item, named by the guide)
PER_SUBNET = (
    "subnets-in-vpc",
    "subnets-tag",
    "subnets-cidr-in-vpc",
    "subnets-no-public-ip-on-launch",
    "rt-subnet-routes",
    "path-workers-to-queue",
    "path-workers-to-internet",
)
PATHS_CUT = {rule for rule, _ in DRIFT_PATHS}  # the drift's path, cut from each subnet


def nodeid(rule: Any, resource: str | None = None) -> str:
    # the data store's bucket, user and roles are named by the params (DEMO_PARAMS), the other kinds by the guide
    own = KINDS[rule.resource].named(DEMO_PARAMS) or rule.resource_name
    return f"vhv::test_vhv[{resource or own}::{rule.id}]"


def nodeids(pack: Any) -> list[str]:
    """Every item of the guide's account (three subnets), in collection order."""
    return [nodeid(r, name) for r in pack.rules for name in (SUBNETS if r.id in PER_SUBNET else (None,))]


def rule_of(node: str) -> str:
    return node.rsplit("::", 1)[1].rstrip("]")


@dataclass
class Snaps:
    dir: Path
    golden: Path
    drifted: Path
    denied: Path
    subnet: Path  # the golden account with valohai-subnet-2 untagged
    findings: dict[str, list[findings_mod.Finding]]  # file name -> the engine's findings on it (the oracle)
    subnet_2: str  # valohai-subnet-2's id


@pytest.fixture(scope="module")
def snaps(tmp_path_factory, pack) -> Snaps:
    """The guide's account, a drifted copy and one with a drift on one subnet, built in-process
    with moto and saved as snapshots; plus the golden one as if ec2:DescribeSecurityGroups had
    been denied."""
    out = tmp_path_factory.mktemp("vhv-snapshots")
    mp = pytest.MonkeyPatch()
    mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    try:
        with mock_aws():
            session = boto3.Session(region_name=REGION)
            acct = Account(session, build_golden(session), pack)
            golden = acct.check()
            subnet_2 = acct.ids["subnets"][1]
            acct.ec2.delete_tags(Resources=[subnet_2], Tags=[{"Key": "valohai"}])
            subnet = acct.check()
            acct.ec2.create_tags(Resources=[subnet_2], Tags=[{"Key": "valohai", "Value": "1"}])
            drift(SimpleNamespace(ids=acct.ids, client=lambda name: session.client(name, region_name=REGION)))
            drifted = acct.check()
    finally:
        mp.undo()
    golden.snapshot.save(out / "golden.json")
    drifted.snapshot.save(out / "drifted.json")
    subnet.snapshot.save(out / "subnet.json")
    denied = Snapshot.load(out / "golden.json")
    denied.errors["security_groups"] = DENIED_SG
    del denied.data["security_groups"]  # as a denied read leaves it: the error, nothing read
    denied.save(out / "denied.json")
    prm = params_mod.from_dict(dict(DEMO_PARAMS), source="params.yaml")
    findings = {
        name: engine.evaluate(pack, prm, Snapshot.load(out / name))
        for name in ("golden.json", "drifted.json", "denied.json", "subnet.json")
    }
    return Snaps(
        out, out / "golden.json", out / "drifted.json", out / "denied.json", out / "subnet.json", findings, subnet_2
    )


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


def expected(findings: list[findings_mod.Finding], pack: Any) -> dict[str, str]:
    """The outcome each item (rule, and subnet for PER_SUBNET) must have, from the engine's findings
    (with waivers applied, as `vhv check` applies them): error wins, then fail; waived or all-skip
    skips; anything else (pass, warn) passes. Waiver notes are no item of their own."""
    by_item: dict[str, list[findings_mod.Finding]] = {}
    for f in findings:
        if f.rule_id not in (waivers_mod.EXPIRED, waivers_mod.UNMATCHED):
            name = f.resource_name if f.rule_id in PER_SUBNET else None
            by_item.setdefault(nodeid(pack.by_id(f.rule_id), name), []).append(f)
    out = {}
    for node, found in by_item.items():
        st = {f.status for f in found}
        out[node] = (
            "error"
            if "error" in st
            else "failed"
            if "fail" in st
            else "skipped"
            if st == {"skip"} or any(f.waived for f in found)
            else "passed"
        )
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
    assert list(got) == nodeids(pack)
    assert {rule_of(n): o for n, o in got.items() if o != "passed"} == {r: "skipped" for r in GOLDEN_SKIPS}
    assert got == expected(snaps.findings["golden.json"], pack)
    assert result.ret == pytest.ExitCode.OK
    # a skip says why, at the rule's line in its rule file
    skip_line = next(line for line in result.outlines if "master-role-ec2-full-access" in line and "SKIPPED" in line)
    assert "applies only when provisioning: valohai" in skip_line and "2-iam.yaml:" in skip_line
    # a warn passes, with a pytest warning naming the rule and its message
    warned = [
        str(w.warning_message.message)
        for w in result.reprec.getcalls("pytest_warning_recorded")  # type: ignore[attr-defined]
        if type(w.warning_message.message).__name__ == "VhvWarning"
    ]
    warns = [f for f in snaps.findings["golden.json"] if f.status == "warn"]
    assert sorted(w.split(" ", 1)[0] for w in warned) == sorted(f.rule_id for f in warns), warned
    os_support = next(w for w in warned if w.startswith("queue-instance-os-support (valohai-i-queue"))
    assert "Ubuntu 20.04" in os_support  # the advisory says what it is about
    no_vhv_traceback(result.stdout.str())


def test_drift_fails_exactly_the_drifted_items_with_expected_actual_and_fix(project, snaps, pack):
    assert findings_mod.exit_code(snaps.findings["drifted.json"]) == 1  # the oracle agrees the drift is there
    result = run(project, snaps.drifted)
    got = outcomes(result)
    failed = {rule_of(n) for n, o in got.items() if o == "failed"}
    assert failed == set(DRIFT_FAILS) | PATHS_CUT
    assert got == expected(snaps.findings["drifted.json"], pack)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    no_vhv_traceback(text)
    for rule_id, name in DRIFT_FAILS.items():
        finding = next(f for f in snaps.findings["drifted.json"] if f.rule_id == rule_id and f.status == "fail")
        report = next(
            rep
            for rep in result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
            if rep.when == "call" and rep.failed and rule_of(rep.nodeid) == rule_id
        )
        shown = str(report.longrepr)
        assert shown.startswith(f"vhv: {rule_id} [{pack.by_id(rule_id).severity}] failed: ")
        assert name in shown and finding.message in shown
        assert f"expected: {finding.expected}" in shown
        assert f"actual:   {finding.actual}" in shown
        assert f"fix:      {finding.fix}" in shown and finding.fix
        assert f"FAILED vhv::test_vhv[{name}::{rule_id}]" in text
    world_ssh = next(
        rep
        for rep in result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
        if rep.failed and rule_of(rep.nodeid) == "sg-queue-ingress-only-guide"
    )
    assert "0.0.0.0/0" in str(world_ssh.longrepr)


def test_a_drift_on_one_subnet_fails_only_that_subnets_item(project, snaps, pack):
    result = run(project, snaps.subnet)
    got = outcomes(result)
    assert got == expected(snaps.findings["subnet.json"], pack)
    assert {n for n, o in got.items() if o != "passed"} == {"vhv::test_vhv[valohai-subnet-2::subnets-tag]"} | {
        nodeid(pack.by_id(r)) for r in GOLDEN_SKIPS
    }
    assert got["vhv::test_vhv[valohai-subnet-2::subnets-tag]"] == "failed"
    assert (
        got["vhv::test_vhv[valohai-subnet-1::subnets-tag]"]
        == got["vhv::test_vhv[valohai-subnet-3::subnets-tag]"]
        == "passed"
    )
    text = result.stdout.str()
    assert "FAILED vhv::test_vhv[valohai-subnet-2::subnets-tag]" in text
    assert f"valohai-subnet-2 ({snaps.subnet_2}): tag valohai=1 missing" in text
    assert "expected: valohai=1" in text and "fix:      Add the tag valohai=1 to the subnet." in text
    no_vhv_traceback(text)
    # -k selects one subnet's items, by its name or by its id
    for expr in ("valohai-subnet-2", snaps.subnet_2):
        picked = outcomes(run(project, snaps.subnet, "-k", expr))
        assert list(picked) == [n for n in nodeids(pack) if "[valohai-subnet-2::" in n], expr
        assert {n for n, o in picked.items() if o == "failed"} == {"vhv::test_vhv[valohai-subnet-2::subnets-tag]"}


def test_a_rule_that_cannot_be_decided_is_an_error_not_a_pass(project, snaps, pack):
    want = expected(snaps.findings["denied.json"], pack)
    undecided = {rule_of(n) for n, o in want.items() if o == "error"}
    assert "sg-queue-ingress-redis-workers" in undecided and "vpc-exists" not in undecided
    result = run(project, snaps.denied)
    got = outcomes(result)
    assert got == want
    assert {rule_of(n) for n, o in got.items() if o == "error"} == undecided
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert "ERROR at setup of test_vhv[valohai-sg-queue::sg-queue-ingress-redis-workers]" in text
    assert "vhv: sg-queue-ingress-redis-workers [critical] could not be decided" in text
    assert "ec2:DescribeSecurityGroups was denied (UnauthorizedOperation)" in text
    no_vhv_traceback(text)


def test_an_unreachable_account_errors_every_item_that_needs_it(project, pack):
    result = project.runpytest(
        "-p", "no:cacheprovider", "--vhv-params", "params.yaml", "--vhv-endpoint-url", DEAD_ENDPOINT
    )
    got = outcomes(result)
    params_rules = {nodeid(r) for r in pack.rules if r.resource == "params"}
    # the params rules that compare the AssumeRole ARN with the account skip, saying it is not known
    with_account = {
        nodeid(pack.by_id(r))
        for r in ("params-assume-role-not-master", "params-assume-role-other-account", "params-built-with")
    }
    assert {n for n, o in got.items() if o == "passed"} == params_rules - with_account
    assert {n for n, o in got.items() if o == "skipped"} == with_account
    # no subnets to name items after: a rule over each subnet is one item, named by the guide, an error
    assert {n for n, o in got.items() if o == "error"} == {nodeid(r) for r in pack.rules} - params_rules
    assert got["vhv::test_vhv[valohai-subnet-*::subnets-tag]"] == "error"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert "vhv: worker-policy-exists could not be checked: cannot reach the AWS endpoint http://127.0.0.1:9" in text
    assert "check the network, --vhv-region and --vhv-endpoint-url" in text  # the plugin's options, not the CLI's
    no_vhv_traceback(text)


def test_a_malformed_endpoint_url_errors_the_items_in_one_line_naming_the_option(project, pack):
    # an independent tester: `vhv check --endpoint-url localhost:5000` was an internal error
    # (ValueError); --vhv-endpoint-url goes through the same place (validator/aws/session.py)
    result = project.runpytest(
        "-p", "no:cacheprovider", "--vhv-params", "params.yaml", "--vhv-endpoint-url", "localhost:5000"
    )
    got = outcomes(result)
    params_rules = {nodeid(r) for r in pack.rules if r.resource == "params"}
    assert {n for n, o in got.items() if o == "error"} == {nodeid(r) for r in pack.rules} - params_rules
    text = result.stdout.str()
    assert (
        "vhv: worker-policy-exists could not be checked: --vhv-endpoint-url (or AWS_ENDPOINT_URL) "
        "'localhost:5000' is not a URL: write it as http://host:port"
    ) in text
    no_vhv_traceback(text)


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"provisioning": "maybe"}, "provisioning"),
        ({"vpc_cidr": "10.0.0.0/33"}, "vpc_cidr: '10.0.0.0/33' is not a CIDR"),
        (None, "params file not found"),
    ],
)
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
    errors = [
        str(rep.longrepr)
        for rep in result.reprec.getreports("pytest_collectreport")  # type: ignore[attr-defined]
        if rep.failed
    ]
    assert len(errors) == 1
    assert errors[0].startswith("vhv: ") and "\n" not in errors[0]
    where = f"{project.path / 'params.yaml'}: "
    assert fragment in errors[0] and errors[0].startswith(f"vhv: {where}") and errors[0].count(where) == 1
    no_vhv_traceback(text)


def test_a_snapshot_of_another_region_is_refused(project, snaps):
    doc = json.loads(snaps.golden.read_text())
    doc["region"] = "us-east-1"
    other = write_snapshot(project.path / "other.json", doc)
    result = run(project, other)
    got = outcomes(result)
    assert "error" in got.values() and "failed" not in got.values()
    assert all(o == "error" for n, o in got.items() if not rule_of(n).startswith("params-"))
    assert "is of region us-east-1, the params say eu-west-1" in result.stdout.str()


@pytest.mark.parametrize("option", ["--vhv-snapshot", "--vhv-waivers"])
def test_an_option_without_params_is_a_usage_error(pytester, snaps, option):
    result = pytester.runpytest("-p", "no:cacheprovider", option, str(snaps.golden))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{option} needs --vhv-params" in result.stderr.str()


# ------------------------------------------------------------------ waivers, as `vhv check --waivers`

PARAMS_WAIVER = """
waivers:
  - rule: sg-queue-ingress-redis-workers
    resource: valohai-sg-queue
    justification: workers reach Redis through the VPN until the move, NET-12
    expires: 2099-12-31
"""
FILE_WAIVERS = """waivers:
  - rule: worker-role-policy-attached
    resource: "*"
    justification: re-attached by the nightly Terraform run, OPS-7
    expires: 2099-06-30
    owner: platform-team
  - rule: sg-queue-ingress-only-guide
    resource: valohai-sg-queue
    justification: SSH for the migration weekend, SEC-9
    expires: 2020-01-01
"""


def with_waivers(project: pytest.Pytester, in_params: str = "", in_file: str = "") -> None:
    project.makefile(".yaml", params=yaml.safe_dump(DEMO_PARAMS, sort_keys=False) + in_params)
    if in_file:
        project.makefile(".yaml", waivers=in_file)


def waived_as_vhv_check(project: pytest.Pytester, snap: Path, pack: Any) -> list[findings_mod.Finding]:
    """The oracle: the engine's findings with the waivers applied as `vhv check --waivers` applies them."""
    prm = params_mod.load(project.path / "params.yaml")
    file = project.path / "waivers.yaml"
    waived = waivers_mod.combine(
        waivers_mod.from_params(prm, pack), waivers_mod.load(file, pack) if file.exists() else []
    )
    return waivers_mod.apply(engine.evaluate(pack, prm, Snapshot.load(snap)), waived)


def reports(result: pytest.RunResult, outcome: str) -> dict[str, str]:
    """nodeid -> what the report shows (the skip reason, the failure text)."""
    out = {}
    for rep in result.reprec.getreports("pytest_runtest_logreport"):  # type: ignore[attr-defined]
        if getattr(rep, outcome):
            out[rep.nodeid] = (
                rep.longrepr[2].removeprefix("Skipped: ") if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
            )
    return out


def test_waivers_from_params_and_a_file_are_applied_as_vhv_check_applies_them(project, snaps, pack):
    with_waivers(project, PARAMS_WAIVER, FILE_WAIVERS)
    result = run(project, snaps.drifted, "--vhv-waivers", "waivers.yaml")
    got = outcomes(result)
    assert got == expected(waived_as_vhv_check(project, snaps.drifted, pack), pack)
    redis, role, only_guide = (
        nodeid(pack.by_id(r))
        for r in ("sg-queue-ingress-redis-workers", "worker-role-policy-attached", "sg-queue-ingress-only-guide")
    )
    assert (got[redis], got[role], got[only_guide]) == ("skipped", "skipped", "failed")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # the expired waiver is ignored
    skipped = reports(result, "skipped")
    assert skipped[redis].startswith(
        "vhv: sg-queue-ingress-redis-workers: waived until 2099-12-31: workers reach "
        "Redis through the VPN until the move, NET-12 (was: "
    )
    assert skipped[role].startswith(
        "vhv: worker-role-policy-attached: waived until 2099-06-30 by platform-team: "
        "re-attached by the nightly Terraform run, OPS-7 (was: "
    )
    # the expired waiver: the item fails as if there were none, says why, and a warning points at the waiver
    failure = reports(result, "failed")[only_guide]
    assert failure.startswith("vhv: sg-queue-ingress-only-guide [critical] failed: ") and "0.0.0.0/0" in failure
    assert "expired on 2020-01-01 and is ignored" in failure
    warned = [
        w.warning_message
        for w in result.reprec.getcalls("pytest_warning_recorded")  # type: ignore[attr-defined]
        if type(w.warning_message.message).__name__ == "VhvWarning"
    ]
    expiry = [w for w in warned if "expired" in str(w.message)]
    assert len(expiry) == 1
    assert str(expiry[0].message).startswith("the waiver for sg-queue-ingress-only-guide on valohai-sg-queue (")
    assert Path(expiry[0].filename).name == "waivers.yaml" and expiry[0].lineno == 7
    no_vhv_traceback(result.stdout.str())


def test_a_waiver_on_one_subnet_from_the_ini_file_skips_only_that_item(project, snaps, pack):
    with_waivers(
        project,
        in_file="""waivers:
  - rule: subnets-tag
    resource: valohai-subnet-2
    justification: tagged by the network pipeline next sprint, NET-77
    expires: 2099-01-31
""",
    )
    (project.path / "subnet.json").write_bytes(snaps.subnet.read_bytes())
    project.makeini("[pytest]\nvhv_params = params.yaml\nvhv_snapshot = subnet.json\nvhv_waivers = waivers.yaml\n")
    result = project.runpytest("-p", "no:cacheprovider")
    got = outcomes(result)
    assert got == expected(waived_as_vhv_check(project, snaps.subnet, pack), pack)
    assert got["vhv::test_vhv[valohai-subnet-2::subnets-tag]"] == "skipped"
    assert (
        got["vhv::test_vhv[valohai-subnet-1::subnets-tag]"]
        == got["vhv::test_vhv[valohai-subnet-3::subnets-tag]"]
        == "passed"
    )
    assert result.ret == pytest.ExitCode.OK
    reason = reports(result, "skipped")["vhv::test_vhv[valohai-subnet-2::subnets-tag]"]
    assert "waived until 2099-01-31: tagged by the network pipeline next sprint, NET-77" in reason
    assert snaps.subnet_2 in reason
    assert reason.endswith(f"[waiver at {project.path / 'waivers.yaml'}:2]")


def test_an_error_is_never_waived(project, snaps, pack):
    with_waivers(
        project,
        """
waivers:
  - rule: sg-queue-ingress-redis-workers
    resource: "*"
    justification: accepted
    expires: 2099-12-31
""",
    )
    result = run(project, snaps.denied)
    got = outcomes(result)
    assert got == expected(waived_as_vhv_check(project, snaps.denied, pack), pack)
    assert got["vhv::test_vhv[valohai-sg-queue::sg-queue-ingress-redis-workers]"] == "error"
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert "a waiver never covers an undecided rule" in text
    no_vhv_traceback(text)


def test_a_bad_waiver_is_one_collection_error(project, snaps):
    with_waivers(project, in_file=FILE_WAIVERS.replace("worker-role-policy-attached", "worker-role-polcy-attached"))
    result = run(project, snaps.golden, "--vhv-waivers", "waivers.yaml")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert outcomes(result) == {}
    errors = [
        str(rep.longrepr)
        for rep in result.reprec.getreports("pytest_collectreport")  # type: ignore[attr-defined]
        if rep.failed
    ]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert (
        errors[0].startswith("vhv: ")
        and "waivers.yaml:2: waivers[0] (worker-role-polcy-attached).rule: "
        "unknown rule id 'worker-role-polcy-attached'; did you mean 'worker-role-policy-attached'?"
        in errors[0]
    )
    no_vhv_traceback(result.stdout.str())


# ------------------------------------------------------------------ selection and pytest's own options


def test_select_with_k(project, snaps, pack):
    result = run(project, snaps.drifted, "-k", "sg-queue-ingress and not ssh")
    got = outcomes(result)
    assert set(got) == {n for n in nodeids(pack) if rule_of(n).startswith("sg-queue-ingress") and "ssh" not in n}
    assert {rule_of(n) for n, o in got.items() if o == "failed"} == {
        "sg-queue-ingress-redis-workers",
        "sg-queue-ingress-only-guide",
    }
    result = run(project, snaps.drifted, "-k", "ValohaiWorkerRole")
    assert set(outcomes(result)) == {nodeid(r) for r in pack.rules if r.resource_name == "ValohaiWorkerRole"}


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith("vhv::")]


@pytest.mark.parametrize(
    "expr, pick",
    [
        ("critical", lambda r: r.severity == "critical"),
        ("security_group", lambda r: r.resource_type == "AWS::EC2::SecurityGroup"),
        (
            "critical and security_group",
            lambda r: r.severity == "critical" and r.resource_type == "AWS::EC2::SecurityGroup",
        ),
        ("role and not critical", lambda r: r.resource_type == "AWS::IAM::Role" and r.severity != "critical"),
        ("subnet and low", lambda r: r.resource_type == "AWS::EC2::Subnet" and r.severity == "low"),
    ],
)
def test_select_with_m_under_strict_markers(project, snaps, pack, expr, pick):
    result = run(project, snaps.golden, "--strict-markers", "-m", expr, "--collect-only", "-q")
    want = [n for n in nodeids(pack) if pick(pack.by_id(rule_of(n)))]
    assert want and collected(result) == want
    assert result.ret == pytest.ExitCode.OK


def test_selected_items_run_under_strict_markers(project, snaps):
    result = run(project, snaps.drifted, "--strict-markers", "-m", "critical and security_group")
    got = outcomes(result)
    assert {rule_of(n) for n, o in got.items() if o == "failed"} == {
        "sg-queue-ingress-redis-workers",
        "sg-queue-ingress-only-guide",
    }
    assert all(rule_of(n).startswith(("sg-queue-", "sg-workers-")) for n in got)


def test_markers_are_listed(project, snaps):
    result = run(project, snaps.golden, "--markers")
    text = result.stdout.str()
    for marker in (
        "@pytest.mark.critical:",
        "@pytest.mark.security_group:",
        "@pytest.mark.vhv:",
        "@pytest.mark.managed_policy:",
        "@pytest.mark.eip:",
        "@pytest.mark.subnet:",
    ):
        assert marker in text, marker


def test_x_stops_at_the_first_failure(project, snaps):
    result = run(project, snaps.drifted, "-x")
    got = outcomes(result)
    assert list(got.values()).count("failed") == 1
    assert len(got) < len(snaps.findings["drifted.json"])


def test_collect_only_lists_every_rule_also_when_the_account_cannot_be_read(project, snaps, pack):
    # from the snapshot: a rule over each subnet is listed once per subnet
    assert collected(run(project, snaps.golden, "--collect-only", "-q")) == nodeids(pack)
    # the endpoint is dead: every rule is still listed, once, as the guide names its resource
    result = project.runpytest(
        "-p",
        "no:cacheprovider",
        "--vhv-params",
        "params.yaml",
        "--vhv-endpoint-url",
        DEAD_ENDPOINT,
        "--collect-only",
        "-q",
    )
    assert result.ret == pytest.ExitCode.OK
    listed = collected(result)
    assert listed == [nodeid(r) for r in pack.rules]
    assert "vhv::test_vhv[valohai-sg-queue::sg-queue-ingress-redis-workers]" in listed
    assert "vhv::test_vhv[valohai-subnet-*::subnets-tag]" in listed


def test_ini_options_activate_the_plugin_relative_to_the_ini_file(project, snaps, pack):
    sub = project.mkdir("sub")
    (project.path / "golden.json").write_text(snaps.golden.read_text())
    project.makeini("[pytest]\nvhv_params = params.yaml\nvhv_snapshot = golden.json\n")
    os.chdir(sub)  # pytester restores the working directory
    result = project.runpytest("-p", "no:cacheprovider", str(project.path))
    got = outcomes(result)
    assert list(got) == nodeids(pack)
    assert result.ret == pytest.ExitCode.OK


def test_junitxml_and_xdist(project, snaps, pack):
    (project.path / "drifted.json").write_bytes(snaps.drifted.read_bytes())
    result = project.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--vhv-params",
        "params.yaml",
        "--vhv-snapshot",
        "drifted.json",
        "-n",
        "2",
        "--junitxml=vhv.xml",
        "-q",
        timeout=300,
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    no_vhv_traceback(result.stdout.str() + result.stderr.str())
    cases = {c.name: c for suite in JUnitXml.fromfile(str(project.path / "vhv.xml")) for c in suite}
    assert set(cases) == {n.split("::", 1)[1] for n in nodeids(pack)}
    failed = {rule_of(name): c for name, c in cases.items() if any(isinstance(x, Failure) for x in c.result)}
    assert set(failed) == set(DRIFT_FAILS) | PATHS_CUT
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
    assert set(outcomes(golden)) == {
        "test_mine.py::test_the_account",
        "test_mine.py::test_queue_ssh_is_not_open_to_the_world",
    }
    drifted = run(project, snaps.drifted, "-m", "not vhv")
    assert outcomes(drifted) == {
        "test_mine.py::test_the_account": "passed",
        "test_mine.py::test_queue_ssh_is_not_open_to_the_world": "failed",
    }
    assert "sg-queue-ingress-redis-workers" in drifted.stdout.str()


def test_fixtures_without_the_plugin_are_an_error_that_says_so(pytester):
    pytester.makepyfile(test_mine=USER_TESTS)
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert set(outcomes(result).values()) == {"error"}
    assert "vhv is not active: pass --vhv-params FILE" in result.stdout.str()
    no_vhv_traceback(result.stdout.str())


# ------------------------------------------------------------------ inactive: nothing of vhv


def test_an_inactive_run_collects_nothing_of_vhv_and_imports_nothing_heavy(pytester):
    pytester.makepyfile(
        test_plain="""
        import sys

        def test_plain():
            heavy = [m for m in ("boto3", "botocore", "moto", "jsonschema", "validator.rulepack",
                                 "validator.engine", "validator.checks") if m in sys.modules]
            assert heavy == []
            assert "validator.pytest_plugin" in sys.modules  # the plugin is loaded, just inactive
    """
    )
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
def test_live_account_read_once_per_session_also_under_xdist(project, moto_server, monkeypatch, pack, snaps):
    requests.post(f"{moto_server}/moto-api/reset", timeout=30).raise_for_status()
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    ids = build_golden(session, endpoint_url=moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    args = ("-p", "no:cacheprovider", "--vhv-params", "params.yaml", "-q")

    record(moto_server)
    golden = project.runpytest_subprocess(*args, "-rs", timeout=300)
    assert golden.ret == pytest.ExitCode.OK, golden.stdout.str()
    warns = sum(f.status == "warn" for f in snaps.findings["golden.json"])
    golden.assert_outcomes(passed=len(nodeids(pack)) - len(GOLDEN_SKIPS), skipped=len(GOLDEN_SKIPS), warnings=warns)
    assert served(moto_server, "GetCallerIdentity") == 1
    assert served(moto_server, "DescribeSecurityGroups") == 1

    def client(name):
        return session.client(name, region_name=REGION, endpoint_url=moto_server)

    drift(SimpleNamespace(ids=ids, client=client))
    client("ec2").delete_tags(Resources=[ids["subnets"][1]], Tags=[{"Key": "valohai"}])
    record(moto_server)
    drifted = project.runpytest_subprocess(*args, "-n", "2", timeout=300)
    assert drifted.ret == pytest.ExitCode.TESTS_FAILED
    failed = {line.split(" ")[1] for line in drifted.outlines if line.startswith("FAILED vhv::")}
    # every worker collected the same items, one per subnet for PER_SUBNET (xdist refuses a run otherwise)
    assert failed == {f"vhv::test_vhv[{name}::{rule_id}]" for rule_id, name in DRIFT_FAILS.items()} | {
        f"vhv::test_vhv[{name}::{rule_id}]" for rule_id, name in DRIFT_PATHS
    } | {"vhv::test_vhv[valohai-subnet-2::subnets-tag]"}
    bad = len(DRIFT_FAILS) + len(DRIFT_PATHS) + 1
    assert f"{bad} failed, {len(nodeids(pack)) - bad - len(GOLDEN_SKIPS)} passed" in drifted.outlines[-1]
    # two workers, one read: the controller read the account and shipped the snapshot
    assert served(moto_server, "GetCallerIdentity") == 1
    assert served(moto_server, "DescribeSecurityGroups") == 1
    no_vhv_traceback(drifted.stdout.str() + drifted.stderr.str())


def test_params_items_that_compare_the_arn_with_the_account_judge_the_snapshots_account(project, snaps, pack):
    """The params items get the account the session reads (here the snapshot's): the AssumeRole
    ARN that is ValohaiMaster itself fails its params item, and one of another account passes it."""
    master = f"arn:aws:iam::{ACCOUNT}:role/ValohaiMaster"
    project.makefile(".yaml", params=yaml.safe_dump({**DEMO_PARAMS, "assume_role_arn": master}, sort_keys=False))
    got = outcomes(run(project, snaps.golden))
    assert got[nodeid(pack.by_id("params-assume-role-not-master"))] == "failed"
    assert got[nodeid(pack.by_id("params-assume-role-other-account"))] == "passed"  # a warning passes
    assert got[nodeid(pack.by_id("params-assume-role-partition"))] == "passed"
