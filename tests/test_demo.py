"""`vhv demo`: the embedded account is built, checked (the planted drifts), remediated with
`--fix --yes` (the plan, what was applied) and re-checked; what is left needs a decision."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from validator.cli import main
from validator.demo import DEMO_DRIFTS

pytestmark = pytest.mark.managed_policies

# the rule each planted drift breaks, and whether `--fix` (without --tighten) fixes it
DRIFT_RULES = {
    "master-policy-within-guide": False,  # PassRole on *: wider than the guide, a decision
    "worker-role-instance-profile": True,  # no instance profile: missing, fixed
    "sg-queue-ingress-only-guide": False,  # Redis open to the world: a decision
    "master-role-no-ec2-full-access": False,  # AmazonEC2FullAccess left attached: a decision
    "eip-associated": True,  # the Elastic IP not associated: missing, fixed
    "data-bucket-block-public-access": True,  # the data store's Block Public Access off: fixed
}


# the guide's paths the unassociated Elastic IP cuts: the plan has no step of their own (its fix,
# associating the address, opens them: explained_by), and the re-check passes them
PATHS_CUT = {"path-valohai-to-queue", "path-internet-to-queue-http", "path-ssh-to-queue"}


def fails(text: str) -> set[str]:
    return set(re.findall(r"^\s+FAIL\s+([\w-]+)", text, re.M))


def test_demo_checks_fixes_and_rechecks(capsys):
    assert main(["demo"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    check, _, rest = out.partition("vhv demo: now `vhv remediate --fix --yes` on the same account")
    assert rest, out
    for drift in DEMO_DRIFTS:
        assert drift in check
    assert fails(check) == set(DRIFT_RULES) | PATHS_CUT
    assert "9 fail" in check and "(exit 1)" in check

    plan, _, after = rest.partition("vhv remediate: applied")
    assert "7 step(s): 4 to fix, 3 needing a decision (--tighten), 0 to do by hand" in plan
    assert re.search(r"plan checksum: [0-9a-f]{64}", plan)
    planned = {rule for rule in DRIFT_RULES if f"({rule})" in plan}
    assert planned == set(DRIFT_RULES)
    assert after.startswith(" 4 step(s), 0 failed, 0 not tried")
    for call in (
        "iam.create_instance_profile",
        "iam.add_role_to_instance_profile",
        "ec2.associate_address",
        "s3.put_public_access_block",
    ):
        assert re.search(rf"applied\s+\d+\. {re.escape(call)} ", after), call
    recheck = after[after.index("re-checked") :]
    assert fails(recheck) == {rule for rule, fixed in DRIFT_RULES.items() if not fixed}
    assert recheck.rstrip().endswith("`vhv remediate --fix --tighten` takes it away.")


def test_demo_report_in_another_format_keeps_stdout_for_the_report(capsys):
    assert main(["demo", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    doc = json.loads(out)  # the drifted account's report, as before remediation
    assert {f["rule_id"] for f in doc["findings"] if f["status"] == "fail"} == set(DRIFT_RULES) | PATHS_CUT
    assert "vhv remediate: applied 4 step(s), 0 failed, 0 not tried" in err


def test_the_demo_never_reaches_an_endpoint_the_shell_names(tmp_path):
    """The demo's account is moto in its own process: AWS_ENDPOINT_URL (a real account, or a moto
    server left from a test) is neither read nor changed by it."""
    env = {**os.environ, "AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9"}
    done = subprocess.run(
        [sys.executable, "-m", "validator", "demo", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "127.0.0.1:9" not in done.stdout + done.stderr
