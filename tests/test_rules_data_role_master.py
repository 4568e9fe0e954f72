"""The data store reached through the guide's master role (data_store.role: ValohaiMaster, as
Valohai's templates do): S3 on the data store's bucket and its objects, written in
ValohaiMasterPolicy, passes every rule of the pack; S3 anywhere wider still fails the master
policy's rule, and so does the same statement when the params do not name the master role."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import REGION, Account
from validator import kinds
from validator import params as params_mod
from validator.aws.session import Target
from validator.demo import ACCOUNT, DEMO_PARAMS
from validator.fixers import planner
from validator.fixers.apply import apply

BUCKET = DEMO_PARAMS["data_store"]["bucket"]
B = f"arn:aws:s3:::{BUCKET}"
MASTER = kinds.name("master_role")
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/{kinds.name('master_policy')}"
BY_ROLE = {"bucket": BUCKET, "role": MASTER, "web_uploads": True}
DATA = {"Sid": "ValohaiData", "Effect": "Allow", "Action": "s3:*", "Resource": [B, f"{B}/*"]}


def _add_to_master_policy(a: Account, statement: dict[str, Any]) -> None:
    """`statement` added to ValohaiMasterPolicy as its new default version."""
    version = a.iam.get_policy(PolicyArn=POLICY_ARN)["Policy"]["DefaultVersionId"]
    doc = a.iam.get_policy_version(PolicyArn=POLICY_ARN, VersionId=version)["PolicyVersion"]["Document"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    doc["Statement"].append(statement)
    a.iam.create_policy_version(PolicyArn=POLICY_ARN, PolicyDocument=json.dumps(doc), SetAsDefault=True)


def test_s3_on_the_bucket_in_the_master_policy_passes_every_rule_when_the_store_uses_the_master_role(account):
    account.params = {**account.params, "data_store": BY_ROLE}
    _add_to_master_policy(account, DATA)
    result = account.check()
    assert result.failing() == set()
    assert result.one("master-policy-within-guide").status == "pass"
    assert result.one("data-role-bucket-access").status == "pass"
    assert result.one("data-role-bucket-only").status == "pass"


def test_s3_on_every_bucket_in_the_master_policy_still_fails_within_guide(account):
    account.params = {**account.params, "data_store": BY_ROLE}
    _add_to_master_policy(account, {**DATA, "Resource": "*"})
    result = account.check()
    f = result.one("master-policy-within-guide")
    assert f.status == "fail"
    assert f"s3:* on * (statement 'ValohaiData'): the guide allows it only on {B}, {B}/*" in f.message, f.message
    assert result.one("data-role-bucket-only").status == "fail"


def test_the_same_statement_fails_within_guide_when_the_store_uses_a_user(account):
    _add_to_master_policy(account, DATA)
    f = account.check().one("master-policy-within-guide")
    assert f.status == "fail"
    assert f"s3:* on {B} (statement 'ValohaiData')" in f.message, f.message


def test_tightening_the_master_policy_keeps_the_data_store_statement_and_then_every_rule_passes(account):
    account.params = {**account.params, "data_store": BY_ROLE}
    _add_to_master_policy(account, DATA)
    _add_to_master_policy(account, {"Sid": "More", "Effect": "Allow", "Action": "ec2:*", "Resource": "*"})
    result = account.check(for_fix=True)
    assert result.failing() == {"master-policy-within-guide"}
    plan = planner.build(account.pack, params_mod.from_dict(dict(account.params)), result.snapshot, result.findings)
    (step,) = [s for s in plan.steps if s.call == "iam.create_policy_version"]
    written = json.loads(step.arguments["PolicyDocument"])["Statement"]
    assert {"Sid": "ValohaiDataStore", "Effect": "Allow", "Action": ["s3:*"], "Resource": [B, f"{B}/*"]} in written
    assert "More" not in [s.get("Sid") for s in written]
    report = apply(plan, Target(region=REGION), tighten=True)
    assert report.ok
    assert account.check().failing() == set()
