"""`remediate --fix` when a call fails midway, for real: a write denied by moto's IAM
authorization, and the endpoint gone between two steps. The report says what was applied,
what failed and why, and what was not tried; exit 2; only the applied steps changed the
account; a re-run (with the permission, with the endpoint back) converges.
"""

from __future__ import annotations

import functools
import json
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
import yaml

from tests.conftest import for_moto, threaded_moto
from tests.test_e2e import base_env, moto_server_process, vhv
from tests.test_faults import FaultProxy, _Handler
from validator import remediate
from validator.cli import main
from validator.demo import ACCOUNT, DEMO_PARAMS, build_golden

REGION = DEMO_PARAMS["region"]
DENIED = "ec2:AuthorizeSecurityGroupIngress"


def drift(iam: Any, ec2: Any, ids: dict[str, Any]) -> None:
    """Three fixable drifts, planned in this order: the worker role lost its policy (IAM), the
    queue lost HTTP (a security-group rule), the Elastic IP was disassociated."""
    iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=ids["worker_policy"])
    ec2.revoke_security_group_ingress(
        GroupId=ids["sg_queue"],
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    assoc = ec2.describe_addresses(AllocationIds=[ids["eip"]])["Addresses"][0]["AssociationId"]
    ec2.disassociate_address(AssociationId=assoc)


def what_changed(iam: Any, ec2: Any, ids: dict[str, Any]) -> dict[str, bool]:
    """Which of the three drifts is fixed, read straight from moto."""
    attached = [
        p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="ValohaiWorkerRole")["AttachedPolicies"]
    ]
    group = ec2.describe_security_groups(GroupIds=[ids["sg_queue"]])["SecurityGroups"][0]
    address = ec2.describe_addresses(AllocationIds=[ids["eip"]])["Addresses"][0]
    return {
        "policy attached": ids["worker_policy"] in attached,
        "http allowed": any(p.get("FromPort") == 80 for p in group["IpPermissions"]),
        "eip associated": address.get("InstanceId") == ids["instance"],
    }


def report_lines(out: str) -> list[str]:
    start = out.index("vhv remediate: applied")
    return [line.split("  (")[0].strip() for line in out[start:].splitlines()[:4]]


# ------------------------------------------------------------------ a denied write


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """A moto server process with the drifted account and two users: vhv-fixer holds exactly the
    policy `vhv permissions --fix --params` prints (IAM and S3 writes scoped to the guide's
    resources in the account); vhv-fixer-no-sg the same without one write action. Then IAM
    authorization is switched on (/moto-api/reset-auth), as in test_e2e.auth_server."""
    params = tmp_path_factory.mktemp("perms") / "params.yaml"
    params.write_text(yaml.safe_dump({**DEMO_PARAMS, "account_id": ACCOUNT}))
    with moto_server_process(MOTO_IAM_LOAD_MANAGED_POLICIES="false") as base:
        session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        ids = build_golden(session, endpoint_url=base)
        iam = session.client("iam", endpoint_url=base)
        drift(iam, session.client("ec2", endpoint_url=base), ids)
        printed = json.loads(
            vhv(
                "permissions", "--fix", "--params", str(params), "--format", "json", env=base_env(), cwd=Path.cwd()
            ).stdout
        )
        assert f"arn:aws:iam::{ACCOUNT}:role/ValohaiWorkerRole" in json.dumps(printed["policy"])
        policy = printed["policy"]
        assert DENIED in printed["actions"]
        less = {
            **policy,
            "Statement": [{**s, "Action": [a for a in s["Action"] if a != DENIED]} for s in policy["Statement"]],
        }
        keys = {}
        for user, doc in {"vhv-fixer": for_moto(policy), "vhv-fixer-no-sg": for_moto(less)}.items():
            iam.create_user(UserName=user)
            iam.put_user_policy(UserName=user, PolicyName="vhv", PolicyDocument=json.dumps(doc))
            keys[user] = iam.create_access_key(UserName=user)["AccessKey"]
        requests.post(f"{base}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
        yield base, keys, ids


def test_a_denied_write_is_reported_stops_the_run_and_a_rerun_with_the_permission_converges(auth_server, tmp_path):
    base, keys, ids = auth_server
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(DEMO_PARAMS))

    def env(user: str) -> dict[str, str]:
        return base_env(
            AWS_ENDPOINT_URL=base,
            AWS_ACCESS_KEY_ID=keys[user]["AccessKeyId"],
            AWS_SECRET_ACCESS_KEY=keys[user]["SecretAccessKey"],
        )

    reader = boto3.Session(
        region_name=REGION,
        aws_access_key_id=keys["vhv-fixer"]["AccessKeyId"],
        aws_secret_access_key=keys["vhv-fixer"]["SecretAccessKey"],
    )
    iam, ec2 = reader.client("iam", endpoint_url=base), reader.client("ec2", endpoint_url=base)
    assert what_changed(iam, ec2, ids) == {"policy attached": False, "http allowed": False, "eip associated": False}

    proc = vhv(
        "remediate", "--params", str(params), "--fix", "--yes", env=env("vhv-fixer-no-sg"), cwd=tmp_path, script=True
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = report_lines(proc.stdout)
    assert lines[0] == "vhv remediate: applied 1 step(s), 1 failed, 1 not tried"
    assert lines[1] == "applied       1. iam.attach_role_policy (ValohaiWorkerRole)"
    assert lines[2].startswith(
        f"FAILED        2. ec2.authorize_security_group_ingress (valohai-sg-queue): {DENIED} was denied ("
    )
    assert f"add it to the policy of arn:aws:iam::{ACCOUNT}:user/vhv-fixer-no-sg" in lines[2]
    assert lines[3] == "not tried     3. ec2.associate_address (valohai-ip-queue)"
    assert "Run `vhv remediate --fix` again once the cause is fixed" in proc.stdout
    # the re-check still runs (reading is allowed) and shows what is left
    assert "FAIL  sg-queue-ingress-http" in proc.stdout and "FAIL  eip-associated" in proc.stdout
    assert what_changed(iam, ec2, ids) == {"policy attached": True, "http allowed": False, "eip associated": False}

    again = vhv("remediate", "--params", str(params), "--fix", "--yes", env=env("vhv-fixer"), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "applied 2 step(s), 0 failed, 0 not tried" in again.stdout
    assert what_changed(iam, ec2, ids) == {"policy attached": True, "http allowed": True, "eip associated": True}
    assert vhv("check", "--params", str(params), env=env("vhv-fixer"), cwd=tmp_path).returncode == 0


# ------------------------------------------------------------------ the endpoint gone between two steps


class _Gone(_Handler):
    def _handle(self) -> None:
        if self.server.gone:  # keep-alive connections opened before the outage go too
            self.close_connection = True
            return
        super()._handle()

    do_GET = do_POST = _handle


class Endpoint(FaultProxy):
    """A loopback proxy in front of moto that forwards everything until `go_down()`: then the port
    refuses connections and open ones are dropped. moto behind it keeps the account's state."""

    def __init__(self, upstream: str):
        super().__init__(upstream, share=0.0, seed=0)
        self.RequestHandlerClass = _Gone
        self.gone = False
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def go_down(self) -> None:
        self.gone = True
        self.shutdown()
        self.server_close()


@pytest.fixture
def moto_url():
    with threaded_moto() as url:
        yield url


def test_the_endpoint_gone_between_two_steps_is_reported_and_a_rerun_converges(
    moto_url, no_backoff_sleep, monkeypatch, tmp_path, capsys
):
    session = boto3.Session(region_name=REGION)
    ids = build_golden(session, endpoint_url=moto_url)
    iam, ec2 = session.client("iam", endpoint_url=moto_url), session.client("ec2", endpoint_url=moto_url)
    drift(iam, ec2, ids)
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(DEMO_PARAMS))

    endpoint = Endpoint(moto_url)
    seen: list[int] = []

    def before_step(step: Any) -> None:
        seen.append(step.id)
        if step.id == 2:
            endpoint.go_down()

    real_apply = remediate.apply
    monkeypatch.setattr(remediate, "apply", functools.partial(real_apply, before_step=before_step))
    code = main(["remediate", "--params", str(params), "--fix", "--yes", "--endpoint-url", endpoint.url])
    out, err = capsys.readouterr()
    assert code == 2, out + err
    assert seen == [1, 2]
    lines = report_lines(out)
    assert lines[0] == "vhv remediate: applied 1 step(s), 1 failed, 1 not tried"
    assert lines[1] == "applied       1. iam.attach_role_policy (ValohaiWorkerRole)"
    assert lines[2] == (
        f"FAILED        2. ec2.authorize_security_group_ingress (valohai-sg-queue): cannot reach the "
        f"AWS endpoint {endpoint.url}/: check the network, --region and --endpoint-url"
    )
    assert lines[3] == "not tried     3. ec2.associate_address (valohai-ip-queue)"
    assert f"vhv remediate: could not re-check the account: cannot reach the AWS endpoint {endpoint.url}" in out
    assert err == ""
    assert what_changed(iam, ec2, ids) == {"policy attached": True, "http allowed": False, "eip associated": False}

    monkeypatch.setattr(remediate, "apply", real_apply)
    back = Endpoint(moto_url)  # the endpoint is back (moto kept the account all along)
    try:
        assert main(["remediate", "--params", str(params), "--fix", "--yes", "--endpoint-url", back.url]) == 0
        out = capsys.readouterr().out
        assert "applied 2 step(s), 0 failed, 0 not tried" in out
        assert main(["check", "--params", str(params), "--endpoint-url", back.url]) == 0
    finally:
        back.go_down()
    assert what_changed(iam, ec2, ids) == {"policy attached": True, "http allowed": True, "eip associated": True}
