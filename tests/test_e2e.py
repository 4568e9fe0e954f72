"""The installed vhv, run as a process, against a moto server holding the guide's account.

One in-process moto server (ThreadedMotoServer) serves the module; its state is
reset before each test. The denied-call tests need moto's IAM enforcement, which
is process-global in moto (see `auth_server`), so they get a moto server process
of their own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml

from tests.conftest import RECIPE_ONLY_RULES, for_moto
from validator import __version__, rulepack
from validator.aws.account import PERMISSIONS
from validator.demo import ACCOUNT, DEMO_PARAMS, build_golden

pytestmark = pytest.mark.e2e

REGION = DEMO_PARAMS["region"]
DEAD_ENDPOINT = "http://127.0.0.1:9"
TOP_KEYS = {"tool", "version", "account_id", "region", "summary", "findings"}
SUMMARY_KEYS = {"pass", "fail", "warn", "error", "skip"}
FINDING_KEYS = {
    "rule_id",
    "title",
    "severity",
    "status",
    "resource_type",
    "resource_id",
    "resource_name",
    "message",
    "expected",
    "actual",
    "fixable",
}
STATUSES = {"pass", "fail", "warn", "error", "skip"}
SEVERITIES = {"critical", "high", "medium", "low", "info"}
# What the golden account does not pass, by design: Option 2 rules skip, the Ubuntu 20.04 EOL advisory warns,
# and the linter's advice on the guide's own ValohaiMasterPolicy (ForAllValues on a single-valued key) warns;
# of the data store, "no CORS needed" skips (files are uploaded from the web UI), so does its KMS key's
# (it is encrypted with SSE-S3), and so do its role's rules
# (it is reached with the tutorial's IAM user).
GOLDEN_NOT_PASS = {
    "master-role-ec2-full-access": "skip",
    "master-role-vpc-full-access": "skip",
    "data-bucket-cors-unused": "skip",
    "data-bucket-kms-key-usable": "skip",
    "data-role-exists": "skip",
    "data-role-bucket-access": "skip",
    "data-role-bucket-only": "skip",
    "queue-instance-disk-template": "skip",  # only Valohai's recipes make these (built_with)
    "queue-instance-profile-template": "skip",
    **dict.fromkeys(RECIPE_ONLY_RULES, "skip"),
    "queue-instance-os-support": "warn",
    "master-policy-lint": "warn",
}
SG_KINDS = ("sg_workers", "sg_queue")


def console_script() -> str:
    """The `vhv` the venv installed (sys.executable's sibling), else the one on PATH."""
    sibling = Path(sys.executable).with_name("vhv")
    found = str(sibling) if sibling.exists() else shutil.which("vhv")
    assert found, "the vhv console script is not installed (pip install -e .)"
    return found


# ------------------------------------------------------------------ servers


@pytest.fixture(scope="module")
def moto_url():
    """An in-process moto server for this module. AWS managed policies are not needed by
    these accounts (Option 1), and loading them on every reset is slow: off here."""
    from moto.server import ThreadedMotoServer

    mp = pytest.MonkeyPatch()
    mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.ERROR)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug.setLevel(level)
        mp.undo()


@pytest.fixture
def url(moto_url):
    """The module's moto server, emptied before the test."""
    requests.post(f"{moto_url}/moto-api/reset", timeout=30).raise_for_status()
    return moto_url


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "INITIAL_NO_AUTH_ACTION_COUNT"}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION, NO_COLOR="1")
    env.update(extra)
    return env


def vhv(*argv: str, env: dict[str, str], cwd: Path, script: bool = False) -> subprocess.CompletedProcess:
    cmd = [console_script()] if script else [sys.executable, "-m", "validator"]
    proc = subprocess.run([*cmd, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("vhv: ") and "internal error" not in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def params_file(tmp_path) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(DEMO_PARAMS, sort_keys=False))
    return p


class Golden:
    def __init__(self, url: str):
        self.url = url
        self.session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.ids = build_golden(self.session, endpoint_url=url)

    def client(self, name: str) -> Any:
        return self.session.client(name, endpoint_url=self.url)


@pytest.fixture
def golden(url) -> Golden:
    return Golden(url)


def drift(acct: Golden) -> None:
    """Workers can no longer reach Redis, SSH to the queue is open to the world, and the
    workers' role lost its policy."""
    ec2, iam = acct.client("ec2"), acct.client("iam")
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [acct.ids["sg_queue"]]}])[
        "SecurityGroupRules"
    ]
    from_workers = [
        r["SecurityGroupRuleId"]
        for r in rules
        if not r["IsEgress"]
        and r.get("FromPort") == 63790
        and r.get("ReferencedGroupInfo", {}).get("GroupId") == acct.ids["sg_workers"]
    ]
    assert len(from_workers) == 1
    ec2.revoke_security_group_ingress(GroupId=acct.ids["sg_queue"], SecurityGroupRuleIds=from_workers)
    ec2.authorize_security_group_ingress(
        GroupId=acct.ids["sg_queue"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=acct.ids["worker_policy"])


DRIFT_FAILS = {
    "sg-queue-ingress-redis-workers": "valohai-sg-queue",
    "sg-queue-ingress-only-guide": "valohai-sg-queue",
    "worker-role-policy-attached": "ValohaiWorkerRole",
    "worker-role-effective-permissions": "ValohaiWorkerRole",
}
# the guide's path the revoked rule cuts (rules/6-paths.yaml), from a worker in each valohai subnet
DRIFT_PATHS = {("path-workers-to-queue", f"valohai-subnet-{i}") for i in (1, 2, 3)}


def check_json(params: Path, env: dict[str, str], cwd: Path, *more: str, script: bool = False):
    proc = vhv("check", "--params", str(params), "--format", "json", *more, env=env, cwd=cwd, script=script)
    return proc, (json.loads(proc.stdout) if proc.stdout else None)


def assert_contract(doc: dict[str, Any]) -> None:
    assert set(doc) == TOP_KEYS
    assert doc["tool"] == "vhv"
    assert doc["version"] == __version__
    assert set(doc["summary"]) == SUMMARY_KEYS
    assert isinstance(doc["findings"], list) and doc["findings"]
    for f in doc["findings"]:
        assert FINDING_KEYS <= set(f), FINDING_KEYS - set(f)
        assert f["status"] in STATUSES
        assert f["severity"] in SEVERITIES
        assert isinstance(f["fixable"], bool)
        for key in ("rule_id", "title", "resource_type", "resource_name", "message", "expected", "actual"):
            assert isinstance(f[key], str), (f["rule_id"], key)
        assert f["message"], f["rule_id"]
        assert f["resource_id"] is None or isinstance(f["resource_id"], str)
    counts = {s: sum(f["status"] == s for f in doc["findings"]) for s in SUMMARY_KEYS}
    assert doc["summary"] == counts


def statuses(doc: dict[str, Any], *only: str) -> dict[str, str]:
    return {f["rule_id"]: f["status"] for f in doc["findings"] if not only or f["status"] in only}


# ------------------------------------------------------------------ golden and drifted


def test_golden_account_passes_with_the_json_contract(golden, params_file, tmp_path):
    proc, doc = check_json(params_file, base_env(AWS_ENDPOINT_URL=golden.url), tmp_path, script=True)
    assert proc.returncode == 0, proc.stderr
    assert_contract(doc)
    assert doc["account_id"] == ACCOUNT
    assert doc["region"] == REGION
    assert {f["rule_id"] for f in doc["findings"]} == {r.id for r in rulepack.load().rules}
    assert {r: s for r, s in statuses(doc).items() if s != "pass"} == GOLDEN_NOT_PASS
    sg_queue = [f for f in doc["findings"] if f["rule_id"].startswith("sg-queue-")]
    assert sg_queue and {(f["resource_name"], f["resource_id"]) for f in sg_queue} == {
        ("valohai-sg-queue", golden.ids["sg_queue"])
    }
    master = [f for f in doc["findings"] if f["rule_id"] == "master-role-exists"]
    assert [f["resource_name"] for f in master] == ["ValohaiMaster"]


def test_drifted_account_fails_exactly_the_drifted_rules(golden, params_file, tmp_path):
    drift(golden)
    proc, doc = check_json(params_file, base_env(AWS_ENDPOINT_URL=golden.url), tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert_contract(doc)
    assert statuses(doc, "error") == {}
    failing = [f for f in doc["findings"] if f["status"] == "fail"]
    assert {(f["rule_id"], f["resource_name"]) for f in failing} == set(DRIFT_FAILS.items()) | DRIFT_PATHS
    for f in failing:
        if f["resource_name"] == "valohai-sg-queue":
            assert f["resource_id"] == golden.ids["sg_queue"]
    only_guide = next(f for f in failing if f["rule_id"] == "sg-queue-ingress-only-guide")
    assert "0.0.0.0/0" in only_guide["message"] + only_guide["actual"]
    assert "22" in only_guide["message"] + only_guide["actual"]
    # SSH from the admin is still there; only the extra rule is wrong
    assert statuses(doc)["sg-queue-ingress-ssh"] == "pass"


def test_console_report_of_the_drifted_account(golden, params_file, tmp_path):
    drift(golden)
    proc = vhv(
        "check", "--params", str(params_file), env=base_env(AWS_ENDPOINT_URL=golden.url), cwd=tmp_path, script=True
    )
    assert proc.returncode == 1, proc.stderr
    for rule_id in DRIFT_FAILS:
        assert any(line.lstrip().startswith("FAIL") and rule_id in line for line in proc.stdout.splitlines()), rule_id
    assert "valohai-sg-queue" in proc.stdout
    assert "7 fail" in proc.stdout and "(exit 1)" in proc.stdout


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_output_writes_the_report_to_a_file_and_nothing_to_stdout(golden, params_file, tmp_path, fmt):
    drift(golden)
    out = tmp_path / "report.out"
    proc = vhv(
        "check",
        "--params",
        str(params_file),
        "--format",
        fmt,
        "--output",
        str(out),
        env=base_env(AWS_ENDPOINT_URL=golden.url),
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    text = out.read_text()
    if fmt == "json":
        doc = json.loads(text)
        assert_contract(doc)
        assert set(statuses(doc, "fail")) == set(DRIFT_FAILS) | {rule for rule, _ in DRIFT_PATHS}
    else:
        assert "sg-queue-ingress-redis-workers" in text and "(exit 1)" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml", "report.out"]


def test_endpoint_url_flag_wins_over_the_environment(golden, params_file, tmp_path):
    # the environment points at nothing; only the flag leads to the account
    proc, doc = check_json(
        params_file, base_env(AWS_ENDPOINT_URL=DEAD_ENDPOINT), tmp_path, "--endpoint-url", golden.url
    )
    assert proc.returncode == 0, proc.stderr
    assert doc["account_id"] == ACCOUNT
    assert statuses(doc, "fail", "error") == {}


def test_endpoint_url_flag_without_the_environment(golden, params_file, tmp_path):
    proc, doc = check_json(params_file, base_env(), tmp_path, "--endpoint-url", golden.url)
    assert proc.returncode == 0, proc.stderr
    assert statuses(doc)["vpc-exists"] == "pass"


# ------------------------------------------------------------------ snapshots


def test_snapshot_then_offline_check_gives_the_live_findings(golden, params_file, tmp_path):
    drift(golden)
    live_env = base_env(AWS_ENDPOINT_URL=golden.url)
    live, live_doc = check_json(params_file, live_env, tmp_path)
    assert live.returncode == 1

    snap = tmp_path / "snap.json"
    proc = vhv("snapshot", "--params", str(params_file), "-o", str(snap), env=live_env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert str(snap) in one_line(proc.stderr)
    saved = json.loads(snap.read_text())
    assert saved["account_id"] == ACCOUNT and saved["errors"] == {}

    # offline: the endpoint is dead, so anything read must come from the snapshot
    offline, offline_doc = check_json(
        params_file, base_env(AWS_ENDPOINT_URL=DEAD_ENDPOINT), tmp_path, "--snapshot", str(snap)
    )
    assert offline.returncode == 1, offline.stderr

    def key(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [(f["rule_id"], f["status"], f["message"]) for f in doc["findings"]]

    assert key(offline_doc) == key(live_doc)
    assert (offline_doc["account_id"], offline_doc["region"]) == (live_doc["account_id"], live_doc["region"])


def test_snapshot_of_another_format_version_is_one_line(golden, params_file, tmp_path):
    snap = tmp_path / "snap.json"
    proc = vhv(
        "snapshot",
        "--params",
        str(params_file),
        "-o",
        str(snap),
        env=base_env(AWS_ENDPOINT_URL=golden.url),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(snap.read_text())
    doc["version"] = 99
    snap.write_text(json.dumps(doc))
    proc = vhv(
        "check",
        "--params",
        str(params_file),
        "--snapshot",
        str(snap),
        env=base_env(AWS_ENDPOINT_URL=DEAD_ENDPOINT),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert str(snap) in line and "version 99" in line
    assert proc.stdout == ""


def test_snapshot_that_cannot_be_written_is_one_line(golden, params_file, tmp_path):
    snap = tmp_path / "no-such-dir" / "snap.json"
    proc = vhv(
        "snapshot",
        "--params",
        str(params_file),
        "-o",
        str(snap),
        env=base_env(AWS_ENDPOINT_URL=golden.url),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert str(snap) in one_line(proc.stderr)
    assert not (tmp_path / "no-such-dir").exists()


def test_snapshot_that_is_not_json_is_one_line(params_file, tmp_path):
    snap = tmp_path / "snap.json"
    snap.write_text('{"format": "vhv-snapshot",\n')
    proc = vhv(
        "check",
        "--params",
        str(params_file),
        "--snapshot",
        str(snap),
        env=base_env(AWS_ENDPOINT_URL=DEAD_ENDPOINT),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert f"{snap}:2:" in one_line(proc.stderr)


# ------------------------------------------------------------------ cannot do its job


def test_endpoint_down_is_one_line(params_file, tmp_path):
    proc = vhv(
        "check", "--params", str(params_file), env=base_env(AWS_ENDPOINT_URL=DEAD_ENDPOINT), cwd=tmp_path, script=True
    )
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert "cannot reach" in line and "127.0.0.1:9" in line
    assert proc.stdout == ""


def test_no_credentials_is_one_line(url, params_file, tmp_path):
    empty_config, empty_creds = tmp_path / "config", tmp_path / "credentials"
    empty_config.write_text("")
    empty_creds.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=url,
        AWS_CONFIG_FILE=str(empty_config),
        AWS_SHARED_CREDENTIALS_FILE=str(empty_creds),
        AWS_EC2_METADATA_DISABLED="true",
        HOME=str(tmp_path),
    )
    proc = vhv("check", "--params", str(params_file), env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert "no AWS credentials" in one_line(proc.stderr)
    assert proc.stdout == ""


def test_unknown_profile_is_one_line(url, params_file, tmp_path):
    empty_config = tmp_path / "config"
    empty_config.write_text("")
    proc = vhv(
        "check",
        "--params",
        str(params_file),
        "--profile",
        "nosuch",
        env=base_env(
            AWS_ENDPOINT_URL=url, AWS_CONFIG_FILE=str(empty_config), AWS_SHARED_CREDENTIALS_FILE=str(empty_config)
        ),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "'nosuch'" in one_line(proc.stderr)


# ------------------------------------------------------------------ denied reads


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def moto_server_process(**env_extra: str) -> Iterator[str]:
    """A `python -m moto.server` process on a free loopback port; yields its base URL.
    A separate process (not ThreadedMotoServer) when its state or settings must not be
    shared with the in-process moto of other tests."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "INITIAL_NO_AUTH_ACTION_COUNT"}
    env.update(env_extra)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/moto-api/data.json", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, "moto server exited"
                assert time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def auth_server():
    """A moto server *process* that enforces IAM policies once the account is built.

    Not a second ThreadedMotoServer: moto's IAM enforcement switch
    (moto.settings.INITIAL_NO_AUTH_ACTION_COUNT, read from the environment when moto is
    imported, not when a server starts) and its request counter are module globals, and
    so are its backends; a second in-process server would share them with `moto_url` and
    with the `mock_aws` tests of other modules. The switch is flipped with moto's
    /moto-api/reset-auth once the account and the reader users exist.
    """
    with moto_server_process(MOTO_IAM_LOAD_MANAGED_POLICIES="false") as base:
        acct = Golden(base)
        iam = acct.client("iam")
        keys = {}
        # vhv-reader holds exactly what `vhv permissions` prints; vhv-admin may do anything
        printed = json.loads(vhv("permissions", "--format", "json", env=base_env(), cwd=Path.cwd()).stdout)["policy"]
        no_sg = [a for a in PERMISSIONS if a != "ec2:DescribeSecurityGroups"]
        for user, doc in {
            "vhv-reader": for_moto(printed),
            "vhv-admin": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
            "vhv-no-sg": for_moto(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": no_sg, "Resource": "*"}]}
            ),
        }.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="vhv-read", PolicyDocument=json.dumps(doc))
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
        # from here on every request is checked against the caller's IAM policies
        requests.post(f"{base}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        denied = acct.client("ec2")  # the "testing" keys belong to no IAM user: now rejected
        with pytest.raises(Exception, match="InvalidClientTokenId|AuthFailure|not valid|security token"):
            denied.describe_vpcs()
        yield base, keys


def _as(base: str, key: dict[str, str]) -> dict[str, str]:
    return base_env(
        AWS_ENDPOINT_URL=base, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY=key["SecretAccessKey"]
    )


def test_reader_with_the_printed_policy_gets_the_findings_of_full_access(auth_server, params_file, tmp_path):
    # the control for the next test: IAM enforcement on, and `vhv permissions` suffices
    base, keys = auth_server
    proc, doc = check_json(params_file, _as(base, keys["vhv-reader"]), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert {r: s for r, s in statuses(doc).items() if s != "pass"} == GOLDEN_NOT_PASS
    admin, admin_doc = check_json(params_file, _as(base, keys["vhv-admin"]), tmp_path)
    assert admin.returncode == 0, admin.stderr

    def key(d: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
        return [(f["rule_id"], f["status"], f["message"], f["resource_id"]) for f in d["findings"]]

    assert key(doc) == key(admin_doc)


def test_denied_read_is_error_never_pass(auth_server, params_file, tmp_path):
    base, keys = auth_server
    proc, doc = check_json(params_file, _as(base, keys["vhv-no-sg"]), tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert_contract(doc)
    pack = rulepack.load()
    sg_rules = {r.id for r in pack.rules if r.resource in SG_KINDS}
    found = statuses(doc)
    assert sg_rules and {r: found[r] for r in sg_rules} == {r: "error" for r in sg_rules}
    errors = [f for f in doc["findings"] if f["status"] == "error"]
    for f in errors:
        assert "ec2:DescribeSecurityGroups" in f["message"], f
        assert "denied" in f["message"]
    # what could be read is still decided as on the golden account
    assert found["vpc-exists"] == "pass"
    assert found["worker-role-policy-attached"] == "pass"
    assert {r: s for r, s in found.items() if s not in ("pass", "error")} == GOLDEN_NOT_PASS
    assert doc["summary"]["error"] == len(errors) >= len(sg_rules)
