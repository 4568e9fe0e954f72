"""Shared fixtures: moto as our AWS, the guide's golden account, and a check runner.

moto's environment (our Ubuntu 20.04 AMI through MOTO_AMIS_PATH, AWS managed
policies, fake credentials) is set here, before anything imports moto.
"""

from __future__ import annotations

from validator.demo import prepare_moto_env

prepare_moto_env()

from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import boto3  # noqa: E402
import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

from validator import engine, rulepack  # noqa: E402
from validator import findings as findings_mod  # noqa: E402
from validator import params as params_mod  # noqa: E402
from validator.aws.account import read  # noqa: E402
from validator.aws.session import Target  # noqa: E402
from validator.demo import DEMO_PARAMS, build_golden  # noqa: E402
from validator.snapshot import sealed  # noqa: E402

REGION = DEMO_PARAMS["region"]


@pytest.fixture(scope="session", autouse=True)
def _moto_key_pairs_settled() -> None:
    """moto's first DescribeKeyPairs in a process adds a key to a class-level dict of its EC2
    responses that every other EC2 response iterates; with the readers' concurrent calls that
    can raise "dictionary changed size during iteration" inside moto. One call up front settles it."""
    with mock_aws():
        boto3.client("ec2", region_name=REGION).describe_key_pairs()


@pytest.fixture(scope="session")
def pack() -> rulepack.RulePack:
    return rulepack.load()


@dataclass
class Account:
    """A moto account built from the guide; drift it with .iam / .ec2, then .check()."""

    session: Any
    ids: dict[str, Any]
    pack: rulepack.RulePack
    params: dict[str, Any] = field(default_factory=lambda: dict(DEMO_PARAMS))

    @property
    def iam(self) -> Any:
        return self.session.client("iam", region_name=REGION)

    @property
    def ec2(self) -> Any:
        return self.session.client("ec2", region_name=REGION)

    def check(self, for_fix: bool = False, **overrides: Any) -> Result:
        """Read (as `vhv check` does; `for_fix` as `vhv remediate` does) and evaluate."""
        prm = params_mod.from_dict({**self.params, **overrides}, source="params.yaml")
        snap, calls = read(prm, Target(region=prm.region), for_fix=for_fix)
        return Result(engine.evaluate(self.pack, prm, snap), snap, calls)


@dataclass
class Result:
    findings: list[findings_mod.Finding]
    snapshot: Any
    calls: list[str]

    def of(self, rule_id: str) -> list[findings_mod.Finding]:
        found = [f for f in self.findings if f.rule_id == rule_id]
        assert found, f"no finding for {rule_id}"
        return found

    def one(self, rule_id: str) -> findings_mod.Finding:
        found = self.of(rule_id)
        assert len(found) == 1, f"{rule_id}: {len(found)} findings"
        return found[0]

    def status(self, rule_id: str) -> str:
        statuses = {f.status for f in self.of(rule_id)}
        for s in ("error", "fail", "warn", "skip", "pass"):
            if s in statuses:
                return s
        raise AssertionError(statuses)

    def failing(self) -> set[str]:
        return {f.rule_id for f in self.findings if f.status in ("fail", "error")}


@pytest.fixture
def moto_env(request, monkeypatch):
    """An empty moto account. AWS managed policies (slow to load) only for tests
    marked `managed_policies` (those that attach AmazonEC2FullAccess and the like)."""
    wanted = request.node.get_closest_marker("managed_policies") is not None
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true" if wanted else "false")
    with mock_aws():
        yield boto3.Session(region_name=REGION)


@pytest.fixture
def account(moto_env, pack) -> Account:
    """The golden account: exactly what the guide asks for (provisioning: self)."""
    return Account(moto_env, build_golden(moto_env), pack)


def make_account(session: Any, pack: rulepack.RulePack, **param_overrides: Any) -> Account:
    params = {**DEMO_PARAMS, **param_overrides}
    return Account(session, build_golden(session, params), pack, params)


def ids_of(acct: Account, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The account's ids by name for message templates: `{vpc}`, `{subnet_1}`, `{sg_queue}`, ...,
    plus whatever ids a drift made (`extra`)."""
    out = {k: v for k, v in acct.ids.items() if isinstance(v, str)}
    out.update({f"subnet_{i}": s for i, s in enumerate(acct.ids.get("subnets", []), 1)})
    out.update(extra or {})
    return out


def assert_fails_exactly(
    result: Result, expected: dict[str, tuple[str | None, list[str]]], ids: dict[str, str]
) -> None:
    """Exactly the rules of `expected` fail (or error), and nothing else. Each maps to the resource
    id its failing findings name (a template over `ids`; None when the rule judges a group of
    resources as a whole) and fragments (templates) that must appear in its message."""
    failing = {f.rule_id: f.message for f in result.findings if f.status in ("fail", "error")}
    assert set(failing) == set(expected), failing
    for rule_id, (on, fragments) in expected.items():
        bad = [f for f in result.of(rule_id) if f.status in ("fail", "error")]
        text = " | ".join(f.message for f in bad)
        if on is not None:
            assert {f.resource_id for f in bad} == {on.format(**ids)}, (rule_id, text)
        for fragment in fragments:
            assert fragment.format(**ids) in text, (rule_id, fragment.format(**ids), text)


@contextmanager
def threaded_moto() -> Iterator[str]:
    """An in-process moto server on a free loopback port, freshly reset and without AWS's
    managed policies (quick to start); yields its URL, stops it afterwards."""
    import logging

    import requests
    from moto.server import ThreadedMotoServer

    mp = pytest.MonkeyPatch()
    mp.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
    mp.delenv("AWS_ENDPOINT_URL", raising=False)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        requests.post(f"{url}/moto-api/reset", timeout=30).raise_for_status()
        yield url
    finally:
        server.stop()
        mp.undo()


@pytest.fixture
def no_backoff_sleep(monkeypatch):
    """botocore's standard retries as they are (which errors, how many attempts), minus the
    sleeping between attempts: the tests are about outcomes, not waiting."""
    from botocore.retries import standard

    from validator.aws import session

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(session, "UNPARSABLE_BACKOFF", 0)  # vhv's own retry of an unparsable answer


def write_snapshot(path: Any, doc: dict[str, Any]) -> Any:
    """A doctored snapshot document written as vhv writes one, resealed: the check then judges
    (or the shape check refuses) what it holds, as it would for a snapshot vhv wrote. That an
    edit without a new seal is refused is tested in tests/test_snapshot_schema.py."""
    import json

    path.write_text(json.dumps(sealed(doc)))
    return path


# moto's IAM enforcement checks GetPublicAccessBlock and GetBucketEncryption as s3:ListBucket (its
# map of S3 query strings misses them), where AWS checks s3:GetBucketPublicAccessBlock and
# s3:GetEncryptionConfiguration, which `vhv permissions` prints. A policy a test builds from
# `vhv permissions` for a moto server that enforces IAM gets this statement too.
MOTO_S3_SPELLING = {"Sid": "MotoS3Spelling", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "*"}


def for_moto(policy: dict[str, Any]) -> dict[str, Any]:
    """`policy` as moto's IAM enforcement reads it (MOTO_S3_SPELLING added)."""
    return {**policy, "Statement": [*policy["Statement"], MOTO_S3_SPELLING]}


# the rules on the queue's role, policy and secret, which only Valohai's recipes make
QUEUE_RULES = (
    "queue-role-exists",
    "queue-role-trust",
    "queue-role-tag",
    "queue-role-grants-within-recipe",
    "queue-role-inline-lint",
    "queue-role-instance-profile",
    "queue-role-effective-permissions",
    "queue-policy-exists",
    "queue-policy-grants",
    "queue-policy-within-recipe",
    "queue-policy-lint",
    "queue-secret-exists",
    "queue-secret-tag",
    "queue-secret-resource-policy",
)

# the rules only an account Valohai's recipes built is judged by (tests/test_recipe_queue.py): in a
# guide-built account they skip
RECIPE_ONLY_RULES = frozenset(
    {
        *QUEUE_RULES,
        "queue-instance-profile-recipe",
        "queue-instance-user-data-secret",
        "data-bucket-cors-read-any-origin",
    }
)
