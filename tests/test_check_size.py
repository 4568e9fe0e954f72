"""`vhv check --snapshot` on a live ValohaiMasterPolicy of 100,000 statements (the guide's
four, again and again under new Sids): the drifts deep inside are still found and named
exactly as before; a speed-up that skipped or merged statements would lose them. How long
it takes is bench/hostile.py's business, not asserted here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from validator import guide
from validator.cli import main
from validator.demo import DEMO_PARAMS
from validator.snapshot import VERSION, sealed

ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ValohaiWorkerRole"
ONLY_ON_ROLE = f"the guide allows it only on {ROLE}"


def big_master_snapshot(n: int = 100_000) -> dict:
    """A snapshot of the guide's master policy written n/4 times over, each statement with its
    own Sid (and the worker role it passes), with drifts at statements #9,999 (PassRole on *), #99,997 and #100,000 (Deny
    RunInstances) and #99,999 (PassRole on *); nothing else was read."""
    four = guide.master_policy(ROLE)["Statement"]
    sts = [dict(four[i % 4], Sid=f"S{i}") for i in range(n)]
    sts[9_998] = {"Sid": "Near", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
    sts[n - 4] = {"Sid": "NoRun", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*"}
    sts[n - 2] = {"Sid": "Deep", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}
    sts[n - 1] = {"Sid": "NoRunAgain", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*"}
    policy = {
        "arn": f"arn:aws:iam::{ACCOUNT}:policy/ValohaiMasterPolicy",
        "name": "ValohaiMasterPolicy",
        "tags": {"valohai": "1"},
        "default_version_id": "v1",
        "attachment_count": 1,
        "document": {"Version": "2012-10-17", "Statement": sts},
    }
    return sealed(
        {
            "format": "vhv-snapshot",
            "version": VERSION,
            "vhv_version": "test",
            "account_id": ACCOUNT,
            "region": DEMO_PARAMS["region"],
            "partition": "aws",
            "caller_arn": "",
            "errors": {},
            "data": {
                "policies": {"ValohaiMasterPolicy": policy},
                "roles": {
                    "ValohaiWorkerRole": {  # the PassRole rules judge against its ARN
                        "arn": ROLE,
                        "name": "ValohaiWorkerRole",
                        "tags": {"valohai": "1"},
                        "trust_policy": guide.ec2_trust(),
                    }
                },
            },
        }
    )


@pytest.fixture
def checked(tmp_path: Path, monkeypatch, capsys) -> dict[str, list[dict]]:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # --snapshot reads no AWS
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(dict(DEMO_PARAMS)))
    (tmp_path / "snap.json").write_text(json.dumps(big_master_snapshot()))
    main(
        [
            "check",
            "--params",
            str(tmp_path / "params.yaml"),
            "--snapshot",
            str(tmp_path / "snap.json"),
            "--format",
            "json",
        ]
    )
    by_rule: dict[str, list[dict]] = {}
    for f in json.loads(capsys.readouterr().out)["findings"]:
        by_rule.setdefault(f["rule_id"], []).append(f)
    return by_rule


def test_drifts_deep_in_a_master_policy_of_100000_statements_are_found_and_named(checked) -> None:
    where = "ValohaiMasterPolicy (default version v1)"
    [within] = checked["master-policy-within-guide"]
    assert (within["status"], within["message"]) == (
        "fail",
        (
            f"{where} is wider than the guide: iam:PassRole on * (statement 'Near'): {ONLY_ON_ROLE}; "
            f"iam:PassRole on * (statement 'Deep'): {ONLY_ON_ROLE}"
        ),
    )
    [launch] = checked["master-policy-launch-templates"]  # the first of the two Denies is named
    assert (launch["status"], launch["message"]) == (
        "fail",
        f"{where}: ec2:RunInstances on * is denied by statement 'NoRun'",
    )
    for rule in ("master-policy-describe", "master-policy-service-linked-role", "master-policy-pass-worker-role"):
        assert [f["status"] for f in checked[rule]] == ["pass"], rule


def test_the_lint_rule_on_it_names_the_drift_in_the_statements_it_checks_and_says_what_it_skipped(checked) -> None:
    where = "ValohaiMasterPolicy (default version v1)"
    lint = [f["message"] for f in checked["master-policy-lint"]]
    assert {f["status"] for f in checked["master-policy-lint"]} == {"warn"}
    assert (
        f"{where}: lint-passrole-star (security) at /Statement/9998/Action: 'iam:PassRole' allows iam:PassRole on "
        "'*': any role can be passed to a service (privilege escalation); write instead: \"Resource\": "
        '"arn:aws:iam::ACCOUNT:role/THE-ROLE-TO-PASS" (for Valohai: the ValohaiWorkerRole ARN) (fails `vhv lint`; '
        "only a warning here: lint inside check is advisory, the guide's rules judge what the document grants)"
    ) in lint
    assert sum("lint-forallvalues-single-valued (warn) at /Statement/" in m for m in lint) == 1000
    assert (
        f"{where}: lint-check-skipped (info) at /Statement/4001/Condition/ForAllValues:StringEquals: 1,500 more "
        "lint-forallvalues-single-valued finding(s) from here on are not listed (the first 1,000 are): the policy "
        "is far larger than IAM accepts (see lint-policy-size); write instead: a policy IAM accepts, then lint it "
        "again: every finding is listed" in lint
    )
    assert (
        f"{where}: lint-check-skipped (info) at /Statement/10000: 90,000 statement(s) from statement #10001 on "
        "were not checked (the first 10,000 were): the policy is far larger than IAM accepts (see "
        "lint-policy-size); write instead: a policy IAM accepts, then lint it again: every statement is "
        "checked" in lint
    )
    assert not any("lint-duplicate-sid" in m for m in lint)


@pytest.mark.parametrize("enabled", [True, False])
def test_check_runs_without_cycle_collections_and_leaves_the_collector_as_it_found_it(monkeypatch, enabled) -> None:
    import gc

    from validator import cli

    seen = []
    monkeypatch.setattr(cli, "_check", lambda args: seen.append(gc.isenabled()) or 0)
    (gc.enable if enabled else gc.disable)()
    try:
        assert cli.main(["check", "--params", "p.yaml"]) == 0
        assert seen == [False] and gc.isenabled() == enabled
        monkeypatch.setattr(cli, "_check", lambda args: 1 / 0)  # and after an error too
        cli.main(["check", "--params", "p.yaml"])
        assert gc.isenabled() == enabled
    finally:
        gc.enable()
