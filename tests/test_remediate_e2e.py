"""`vhv remediate`, the installed console script, against a moto server process.

The plan changes nothing; `--fix --yes` applies it and the account then passes `vhv check`;
a second `--fix` plans nothing and changes nothing. The gates before a change (a plan
checksum that is not the reviewed one, the safety limit without `--force`, no terminal
and no `--yes`, an answer other than yes) each leave the account exactly as it was:
"as it was" is read straight from moto (`Account.state`), not through vhv's readers.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml

from tests.test_e2e import base_env, console_script, moto_server_process, one_line
from tests.test_remediate import FIXABLE
from validator.demo import ACCOUNT, DEMO_PARAMS, build_golden

pytestmark = pytest.mark.e2e

REGION = DEMO_PARAMS["region"]
STEP_KEYS = {"id", "rule", "resource", "call", "arguments", "risk", "summary", "kind"}
CHECKSUM = re.compile(r"^plan checksum: ([0-9a-f]{64})$", re.M)


@pytest.fixture(scope="module")
def server():
    with moto_server_process(MOTO_IAM_LOAD_MANAGED_POLICIES="false") as base:
        yield base


class Account:
    """The guide's account on the moto server, and what it holds read back straight from moto."""

    def __init__(self, url: str):
        self.url = url
        self.session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        self.ids = build_golden(self.session, endpoint_url=url)
        self.iam = self.session.client("iam", endpoint_url=url)
        self.ec2 = self.session.client("ec2", endpoint_url=url)

    def state(self) -> dict[str, Any]:
        iam, ec2 = self.iam, self.ec2

        def clean(doc: Any) -> Any:
            if isinstance(doc, dict):
                return {k: clean(v) for k, v in doc.items() if k != "ResponseMetadata"}
            if isinstance(doc, list):
                return [clean(v) for v in doc]
            return doc

        roles = {
            r: {
                "role": iam.get_role(RoleName=r)["Role"],
                "attached": iam.list_attached_role_policies(RoleName=r)["AttachedPolicies"],
                "inline": iam.list_role_policies(RoleName=r)["PolicyNames"],
            }
            for r in (x["RoleName"] for x in iam.list_roles()["Roles"])
        }
        policies = {
            p["Arn"]: {
                "policy": iam.get_policy(PolicyArn=p["Arn"])["Policy"],
                "versions": iam.list_policy_versions(PolicyArn=p["Arn"])["Versions"],
            }
            for p in iam.list_policies(Scope="Local")["Policies"]
        }
        return clean(
            {
                "roles": roles,
                "policies": policies,
                "profiles": iam.list_instance_profiles()["InstanceProfiles"],
                "vpcs": ec2.describe_vpcs()["Vpcs"],
                "subnets": ec2.describe_subnets()["Subnets"],
                "igws": ec2.describe_internet_gateways()["InternetGateways"],
                "route_tables": ec2.describe_route_tables()["RouteTables"],
                "groups": ec2.describe_security_groups()["SecurityGroups"],
                "addresses": ec2.describe_addresses()["Addresses"],
                "instances": ec2.describe_instances()["Reservations"],
            }
        )


@pytest.fixture
def account(server) -> Account:
    requests.post(f"{server}/moto-api/reset", timeout=30).raise_for_status()
    return Account(server)


@pytest.fixture
def params(tmp_path) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(DEMO_PARAMS, sort_keys=False))
    return p


def vhv(acct: Account, *argv: str, cwd: Path, stdin: Any = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [console_script(), *argv],
        env=base_env(AWS_ENDPOINT_URL=acct.url),
        cwd=cwd,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr
    return proc


# ------------------------------------------------------------------ drifts


def detach_worker_policy(a: Account) -> None:
    a.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=a.ids["worker_policy"])


def drop_http(a: Account) -> None:
    a.ec2.revoke_security_group_ingress(
        GroupId=a.ids["sg_queue"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )


def disassociate_eip(a: Account) -> None:
    assoc = a.ec2.describe_addresses(AllocationIds=[a.ids["eip"]])["Addresses"][0]["AssociationId"]
    a.ec2.disassociate_address(AssociationId=assoc)


def drop_instance_profile(a: Account) -> None:
    a.iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    a.iam.delete_instance_profile(InstanceProfileName="ValohaiWorkerRole")


def untag_vpc(a: Account) -> None:
    a.ec2.delete_tags(Resources=[a.ids["vpc"]], Tags=[{"Key": "valohai"}])


def open_ssh_to_the_world(a: Account) -> None:
    a.ec2.authorize_security_group_ingress(
        GroupId=a.ids["sg_queue"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )


def several_drifts(a: Account) -> None:
    for drift in (detach_worker_policy, drop_http, disassociate_eip, drop_instance_profile, untag_vpc):
        drift(a)


# the plan of several_drifts, in order: (rule, call)
SEVERAL_PLAN = [
    ("worker-role-policy-attached", "iam.attach_role_policy"),
    ("worker-role-instance-profile", "iam.create_instance_profile"),
    ("worker-role-instance-profile", "iam.add_role_to_instance_profile"),
    ("vpc-tag", "ec2.create_tags"),
    ("sg-queue-ingress-http", "ec2.authorize_security_group_ingress"),
    ("eip-associated", "ec2.associate_address"),
]


def plan_json(acct: Account, params: Path, cwd: Path, *more: str) -> list[dict[str, Any]]:
    proc = vhv(acct, "remediate", "--params", str(params), "--format", "json", *more, cwd=cwd)
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


def checksum_of(acct: Account, params: Path, cwd: Path) -> str:
    proc = vhv(acct, "remediate", "--params", str(params), cwd=cwd)
    found = CHECKSUM.findall(proc.stdout)
    assert len(found) == 1, proc.stdout
    return found[0]


# ------------------------------------------------------------------ plan, fix, check, fix again


def test_plan_changes_nothing_fix_converges_and_a_second_fix_plans_nothing(account, params, tmp_path):
    several_drifts(account)
    before = account.state()

    plan = vhv(account, "remediate", "--params", str(params), cwd=tmp_path)
    assert plan.returncode == 1, plan.stderr
    assert f"plan for account {ACCOUNT} ({REGION}): 6 step(s): 6 to fix, 0 needing a decision" in plan.stdout
    for rule, call in SEVERAL_PLAN:
        assert any(call in line for line in plan.stdout.splitlines()), call
        assert f"({rule})" in plan.stdout
    assert account.state() == before

    checksum = CHECKSUM.findall(plan.stdout)[0]
    fix = vhv(
        account, "remediate", "--params", str(params), "--fix", "--yes", "--plan-checksum", checksum, cwd=tmp_path
    )
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert "vhv remediate: applied 6 step(s), 0 failed, 0 not tried" in fix.stdout
    assert re.search(r"re-checked: \d+ pass, 0 fail, \d+ warn, 0 error", fix.stdout), fix.stdout

    check = vhv(account, "check", "--params", str(params), cwd=tmp_path)
    assert check.returncode == 0, check.stdout
    after = account.state()
    assert after != before

    again = vhv(account, "remediate", "--params", str(params), "--fix", "--yes", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "nothing to change in account" in again.stdout
    assert "vhv remediate: nothing to apply." in again.stdout
    assert account.state() == after


@pytest.mark.parametrize("name", FIXABLE)
def test_each_fixable_drift_is_fixed_and_a_second_fix_plans_nothing(account, params, tmp_path, name):
    """The held-out check, per drift: `remediate --fix --yes` exits 0 (its re-check has no fail),
    and a second one plans nothing, changes nothing and exits 0."""
    drift, rules, calls = FIXABLE[name]
    drift(account)
    fix = vhv(account, "remediate", "--params", str(params), "--fix", "--yes", cwd=tmp_path)
    assert fix.returncode == 0, fix.stdout + fix.stderr
    assert any(f"({rule})" in fix.stdout for rule in rules)  # one step may fix two rules; it names the first
    assert f"applied {len(calls)} step(s), 0 failed, 0 not tried" in fix.stdout
    assert [line.split()[2] for line in fix.stdout.splitlines() if line.lstrip().startswith("applied ")] == calls
    after = account.state()
    again = vhv(account, "remediate", "--params", str(params), "--fix", "--yes", cwd=tmp_path)
    assert again.returncode == 0 and "vhv remediate: nothing to apply." in again.stdout, again.stdout
    assert account.state() == after


def test_json_plan_is_a_list_of_steps_with_their_calls_and_arguments(account, params, tmp_path):
    several_drifts(account)
    steps = plan_json(account, params, tmp_path)
    assert [(s["rule"], s["call"]) for s in steps] == SEVERAL_PLAN
    assert all(set(s) == STEP_KEYS for s in steps)
    assert [s["id"] for s in steps] == list(range(1, len(steps) + 1))
    assert {s["risk"] for s in steps} == {"fix"}
    by_call = {s["call"]: s for s in steps}
    assert by_call["iam.attach_role_policy"]["arguments"] == {
        "RoleName": "ValohaiWorkerRole",
        "PolicyArn": account.ids["worker_policy"],
    }
    assert by_call["iam.attach_role_policy"]["resource"] == "ValohaiWorkerRole"
    assert by_call["ec2.associate_address"]["arguments"] == {
        "AllocationId": account.ids["eip"],
        "InstanceId": account.ids["instance"],
    }
    assert by_call["ec2.create_tags"]["arguments"] == {
        "Resources": [account.ids["vpc"]],
        "Tags": [{"Key": "valohai", "Value": "1"}],
    }
    http = by_call["ec2.authorize_security_group_ingress"]["arguments"]
    assert http["GroupId"] == account.ids["sg_queue"]
    assert (
        http["IpPermissions"][0]["FromPort"] == 80 and http["IpPermissions"][0]["IpRanges"][0]["CidrIp"] == "0.0.0.0/0"
    )


def test_cli_format_is_the_same_plan_as_aws_commands(account, params, tmp_path):
    several_drifts(account)
    before = account.state()
    proc = vhv(account, "remediate", "--params", str(params), "--format", "cli", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    script = proc.stdout
    assert script.startswith("#!/bin/sh\n# vhv remediate plan ") and "\nset -e\n" in script
    commands = [line for line in script.splitlines() if line.startswith("aws ")]
    assert [" ".join(c.split()[1:3]) for c in commands] == [
        "iam attach-role-policy",
        "iam create-instance-profile",
        "iam add-role-to-instance-profile",
        "ec2 create-tags",
        "ec2 authorize-security-group-ingress",
        "ec2 associate-address",
    ]
    assert shlex.split(commands[0]) == [
        "aws",
        "iam",
        "attach-role-policy",
        "--role-name",
        "ValohaiWorkerRole",
        "--policy-arn",
        account.ids["worker_policy"],
        "--region",
        REGION,
    ]
    assert shlex.split(commands[-1]) == [
        "aws",
        "ec2",
        "associate-address",
        "--allocation-id",
        account.ids["eip"],
        "--instance-id",
        account.ids["instance"],
        "--region",
        REGION,
    ]
    assert json.loads(shlex.split(commands[4])[-3])[0]["FromPort"] == 80
    assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0  # a script sh can read
    assert account.state() == before


def test_a_checksum_that_is_not_the_reviewed_plan_changes_nothing(account, params, tmp_path):
    drop_http(account)
    reviewed = checksum_of(account, params, tmp_path)
    detach_worker_policy(account)  # the account changes after the review
    before = account.state()
    proc = vhv(
        account, "remediate", "--params", str(params), "--fix", "--yes", "--plan-checksum", reviewed, cwd=tmp_path
    )
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert f"is not the reviewed one ({reviewed})" in line and "Nothing was changed" in line
    assert account.state() == before


# ------------------------------------------------------------------ gates: --tighten, --force, the prompt


def test_wider_than_the_guide_needs_a_decision_and_tighten_takes_it(account, params, tmp_path):
    open_ssh_to_the_world(account)
    detach_worker_policy(account)
    groups = account.ec2.describe_security_groups(GroupIds=[account.ids["sg_queue"]])["SecurityGroups"]

    plan = vhv(account, "remediate", "--params", str(params), cwd=tmp_path)
    assert "1 to fix, 1 needing a decision (--tighten)" in plan.stdout
    decide = [line for line in plan.stdout.splitlines() if line.lstrip().startswith("2. [needs a decision]")]
    assert len(decide) == 1 and "revoke ingress TCP 22 0.0.0.0/0 from valohai-sg-queue" in decide[0]
    lines = plan.stdout.splitlines()
    call = lines[lines.index(decide[0]) + 1].split()  # the exact call that would take it away
    assert call[:2] == ["ec2.revoke_security_group_ingress", f"GroupId={account.ids['sg_queue']}"]
    assert json.loads(call[2].split("=", 1)[1]) == [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ]
    assert "`--fix` applies them only with `--tighten`" in plan.stdout

    fix = vhv(account, "remediate", "--params", str(params), "--fix", "--yes", cwd=tmp_path)
    assert fix.returncode == 1, fix.stderr  # the decision is still open
    assert "applied 1 step(s)" in fix.stdout and "FAIL  sg-queue-ingress-only-guide" in fix.stdout
    assert account.ec2.describe_security_groups(GroupIds=[account.ids["sg_queue"]])["SecurityGroups"] == groups
    check = vhv(account, "check", "--params", str(params), "--format", "json", cwd=tmp_path)
    assert check.returncode == 1
    assert {f["rule_id"] for f in json.loads(check.stdout)["findings"] if f["status"] == "fail"} == {
        "sg-queue-ingress-only-guide"
    }

    tight = vhv(account, "remediate", "--params", str(params), "--fix", "--yes", "--tighten", cwd=tmp_path)
    assert tight.returncode == 0, tight.stdout + tight.stderr
    assert "applied 1 step(s), 0 failed" in tight.stdout and "ec2.revoke_security_group_ingress" in tight.stdout
    assert vhv(account, "check", "--params", str(params), cwd=tmp_path).returncode == 0


def untag_seven(a: Account) -> None:
    """Seven of the guide's thirteen resources (with the data store's bucket) lose their valohai=1 tag."""
    for policy in ("worker_policy", "master_policy"):
        a.iam.untag_policy(PolicyArn=a.ids[policy], TagKeys=["valohai"])
    for role in ("ValohaiWorkerRole", "ValohaiMaster"):
        a.iam.untag_role(RoleName=role, TagKeys=["valohai"])
    a.ec2.delete_tags(Resources=[a.ids["vpc"], a.ids["igw"], a.ids["eip"]], Tags=[{"Key": "valohai"}])


def test_a_plan_over_the_safety_limit_needs_force(account, params, tmp_path):
    untag_seven(account)
    before = account.state()
    proc = vhv(account, "remediate", "--params", str(params), "--fix", "--yes", cwd=tmp_path)
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert "the plan changes 7 of the guide's 13 resources" in line
    assert "Pass --force to apply it anyway. Nothing was changed" in line
    assert "7 to fix" in proc.stdout  # the plan was shown first
    assert account.state() == before

    forced = vhv(account, "remediate", "--params", str(params), "--fix", "--yes", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "applied 7 step(s), 0 failed, 0 not tried" in forced.stdout
    assert vhv(account, "check", "--params", str(params), cwd=tmp_path).returncode == 0


def test_no_terminal_and_no_yes_changes_nothing(account, params, tmp_path):
    drop_http(account)
    before = account.state()
    proc = vhv(account, "remediate", "--params", str(params), "--fix", cwd=tmp_path)
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert "no terminal to confirm on and no --yes: nothing was changed" in line
    assert account.state() == before


def answer_on_a_terminal(acct: Account, params: Path, cwd: Path, answer: str) -> subprocess.CompletedProcess:
    """`remediate --fix` with its standard input on a pseudo-terminal that types `answer`."""
    leader, follower = pty.openpty()
    try:
        os.write(leader, answer.encode() + b"\n")
        return vhv(acct, "remediate", "--params", str(params), "--fix", cwd=cwd, stdin=follower)
    finally:
        os.close(follower)
        os.close(leader)


def test_an_answer_other_than_yes_changes_nothing(account, params, tmp_path):
    drop_http(account)
    before = account.state()
    proc = answer_on_a_terminal(account, params, tmp_path, "n")
    assert "Apply these 1 step(s)? [y/N]" in proc.stdout
    assert "vhv remediate: not confirmed; nothing was changed." in proc.stdout
    assert proc.returncode == 2
    assert account.state() == before

    yes = answer_on_a_terminal(account, params, tmp_path, "y")
    assert yes.returncode == 0, yes.stdout + yes.stderr
    assert "applied 1 step(s), 0 failed, 0 not tried" in yes.stdout


# ------------------------------------------------------------------ waivers

JUSTIFICATION = "HTTP reaches the queue through the load balancer (SEC-142)"
WAIVER = {
    "rule": "sg-queue-ingress-http",
    "resource": "valohai-sg-queue",
    "justification": JUSTIFICATION,
    "expires": "2099-01-31",
    "owner": "platform-team",
}
# the guide's path from the internet on TCP 80 is cut by the same drift: the load balancer is the way in
PATH_WAIVER = {**WAIVER, "rule": "path-internet-to-queue-http", "resource": "valohai-i-queue"}


@pytest.mark.parametrize("where", ["file", "params"])
def test_a_waived_failure_is_not_planned_and_the_plan_says_why(account, params, tmp_path, where):
    drop_http(account)
    detach_worker_policy(account)
    more: list[str] = []
    if where == "file":
        waivers = tmp_path / "waivers.yaml"
        waivers.write_text(yaml.safe_dump({"waivers": [WAIVER, PATH_WAIVER]}))
        more = ["--waivers", str(waivers)]
    else:
        params.write_text(yaml.safe_dump({**DEMO_PARAMS, "waivers": [WAIVER, PATH_WAIVER]}, sort_keys=False))
    groups = account.ec2.describe_security_groups(GroupIds=[account.ids["sg_queue"]])["SecurityGroups"]

    steps = plan_json(account, params, tmp_path, *more)
    assert [(s["rule"], s["call"], s["risk"]) for s in steps] == [
        ("worker-role-policy-attached", "iam.attach_role_policy", "fix"),
        ("sg-queue-ingress-http", "", "waived"),
        ("path-internet-to-queue-http", "", "waived"),
    ]
    waived = steps[1]
    assert waived["resource"] == "valohai-sg-queue"
    assert waived["summary"] == f"not planned: waived until 2099-01-31 by platform-team: {JUSTIFICATION}"
    assert waived["arguments"] == {
        "waived": {"justification": JUSTIFICATION, "expires": "2099-01-31", "owner": "platform-team"}
    }

    text = vhv(account, "remediate", "--params", str(params), *more, cwd=tmp_path).stdout
    assert "1 to fix, 0 needing a decision (--tighten), 0 to do by hand, 2 skipped as waived" in text
    assert f"[waived] valohai-sg-queue: not planned: waived until 2099-01-31 by platform-team: {JUSTIFICATION}" in text
    assert "Steps marked [waived] are accepted failures (a waiver): vhv leaves them as they are." in text

    fix = vhv(account, "remediate", "--params", str(params), "--fix", "--yes", *more, cwd=tmp_path)
    assert fix.returncode == 0, fix.stdout + fix.stderr  # the waived failure is a skip, as in `vhv check`
    assert "applied 1 step(s), 0 failed, 0 not tried" in fix.stdout
    assert account.ec2.describe_security_groups(GroupIds=[account.ids["sg_queue"]])["SecurityGroups"] == groups
    assert vhv(account, "check", "--params", str(params), *more, cwd=tmp_path).returncode == 0


def test_a_bad_waiver_file_stops_before_anything_is_read(account, params, tmp_path):
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(yaml.safe_dump({"waivers": [{**WAIVER, "rule": "no-such-rule"}]}))
    proc = vhv(account, "remediate", "--params", str(params), "--fix", "--yes", "--waivers", str(waivers), cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert "unknown rule id 'no-such-rule'" in one_line(proc.stderr)
