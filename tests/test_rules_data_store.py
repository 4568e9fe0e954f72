"""rules/5-data-store.yaml against the data store's bucket in moto (the params' data_store.bucket).

Each drift is made through boto3 on the golden account (which has the bucket the tutorial and good
practice ask for) and must fail, or warn, exactly the right rule, on the bucket, with a message
saying what was found; a fixable drift is fixed by one plan, and a second plan is empty.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import RECIPE_ONLY_RULES, REGION, Account
from validator import engine
from validator import params as params_mod
from validator.aws.session import Target
from validator.demo import ACCOUNT, DEMO_PARAMS
from validator.fixers import planner
from validator.fixers.apply import apply
from validator.fixers.plan import DECIDE, FIX
from validator.kinds import KINDS
from validator.render import plan as show

BUCKET = DEMO_PARAMS["data_store"]["bucket"]
ARN = f"arn:aws:s3:::{BUCKET}"
BPA_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def s3(a: Account) -> Any:
    return a.session.client("s3", region_name=REGION)


def rules_of(a: Account) -> set[str]:
    """The bucket's rules (the principal's and the multipart role's: tests/test_rules_data_access.py;
    the KMS key's: tests/test_rules_data_kms.py; those of an account Valohai's recipes built:
    tests/test_recipe_queue.py)."""
    return {
        r.id
        for r in a.pack.rules
        if r.source == "5-data-store.yaml"
        and r.resource == "data_bucket"
        and r.id != "data-bucket-kms-key-usable"
        and r.id not in RECIPE_ONLY_RULES
    }


def not_passing(result: Any, rules: set[str]) -> dict[str, tuple[str, str]]:
    return {f.rule_id: (f.status, f.message) for f in result.findings if f.rule_id in rules and f.status != "pass"}


def _while_bpa_off(a: Account, change: Callable[[Any], None]) -> None:
    """`change` made with Block Public Access off (S3 refuses a public policy or ACL otherwise),
    then Block Public Access back on: only what `change` made is left to find."""
    s3(a).delete_public_access_block(Bucket=BUCKET)
    change(s3(a))
    s3(a).put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=BPA_ON)


# ------------------------------------------------------------------ golden and absent


GOLDEN_PASS = {
    "data-bucket-exists": f"{BUCKET} exists ({ARN})",
    "data-bucket-region": f"{BUCKET} region is {REGION}",
    "data-bucket-block-public-access": f"{BUCKET}: Block Public Access is on for the bucket",
    "data-bucket-policy-not-public": "the bucket policy is not public",
    "data-bucket-policy-lint": "the bucket policy of valohai-data-123456789012: vhv lint finds nothing to report",
    "data-bucket-acl-not-public": "the ACL grants nothing to the public",
    "data-bucket-encryption": "default encryption AES256",
    "data-bucket-tls-only": "statement 1 (DenyInsecureTransport) denies requests without TLS",
    "data-bucket-versioning": "versioning is enabled",
    "data-bucket-abort-multipart": "aborts incomplete uploads after 7 days",
    "data-bucket-cors-uploads": "CORS allows the web UI's uploads",
    "data-bucket-cors-narrow": "no CORS rule allows writes from other origins",
    "data-bucket-tag": "has tag valohai=1",
}


def test_golden_bucket_passes_every_data_store_rule_with_its_reason(account):
    result = account.check()
    assert rules_of(account) == set(GOLDEN_PASS) | {"data-bucket-cors-unused"}
    wrong = {}
    for rule_id, fragment in GOLDEN_PASS.items():
        f = result.one(rule_id)
        if f.status != "pass" or fragment not in f.message or f.resource_name != BUCKET:
            wrong[rule_id] = (f.status, f.message, f.resource_name)
    assert wrong == {}
    # uploads from the web UI are on: the "no CORS needed" rule does not apply
    unused = result.one("data-bucket-cors-unused")
    assert (unused.status, unused.message) == ("skip", "data_store.web_uploads is true: the web UI needs CORS")
    assert result.one("data-bucket-exists").resource_id == ARN


def test_without_the_section_every_data_store_rule_skips_and_s3_is_not_read(account):
    params = {k: v for k, v in account.params.items() if k != "data_store"}
    account.params = params
    result = account.check()
    every = {r.id: r.resource for r in account.pack.rules if r.source == "5-data-store.yaml"}
    assert set(every.values()) == {"data_bucket", "data_user", "data_role", "multipart_role"}
    for rule_id, kind in every.items():
        f = result.one(rule_id)
        assert f.status == "skip", (rule_id, f.status, f.message)
        assert f.message == f"applies only when the params name it ({KINDS[kind].params_key}); they have no data_store"
    assert not [c for c in result.calls if c.startswith("s3:")]
    assert not {"iam:GetUser", "iam:ListAccessKeys", "iam:GetRolePolicy"} & set(result.calls)


def test_the_bucket_is_read_with_exactly_its_declared_actions_at_once(account):
    result = account.check()
    s3_calls = sorted(c for c in result.calls if c.startswith("s3:"))
    assert s3_calls == sorted(
        [
            "s3:GetBucketLocation",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetAccountPublicAccessBlock",
            "s3:GetBucketPolicyStatus",
            "s3:GetBucketPolicy",
            "s3:GetBucketAcl",
            "s3:GetEncryptionConfiguration",
            "s3:GetBucketVersioning",
            "s3:GetLifecycleConfiguration",
            "s3:GetBucketCORS",
            "s3:GetBucketTagging",
        ]
    )


def test_a_missing_bucket_fails_exists_naming_it_and_the_other_rules_skip(account):
    account.params = {**account.params, "data_store": {**DEMO_PARAMS["data_store"], "bucket": "acme-no-such-bucket"}}
    result = account.check()
    f = result.one("data-bucket-exists")
    assert f.status == "fail"
    assert f.resource_name == "acme-no-such-bucket"
    assert (
        f.message
        == f"acme-no-such-bucket not found in account {ACCOUNT} (looked for bucket acme-no-such-bucket, in any region)"
    )
    assert "Create the bucket acme-no-such-bucket in eu-west-1" in f.fix
    tag = result.one("data-bucket-tag")
    assert (tag.status, tag.message) == (
        "skip",
        "acme-no-such-bucket does not exist (rule data-bucket-exists); nothing to inspect",
    )


# ------------------------------------------------------------------ one drift at a time


def _public_policy(c: Any) -> None:
    doc = json.loads(c.get_bucket_policy(Bucket=BUCKET)["Policy"])
    doc["Statement"].append(
        {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{ARN}/*"}
    )
    c.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(doc))


def _tls_statement(a: Account, **changes: Any) -> None:
    """The golden policy's TLS statement with `changes` (its only statement)."""
    c = s3(a)
    doc = json.loads(c.get_bucket_policy(Bucket=BUCKET)["Policy"])
    [st] = doc["Statement"]
    c.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({**doc, "Statement": [{**st, **changes}]}))


def _wide_cors(c: Any) -> None:
    rules = c.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    rules.append({"ID": "anyone-writes", "AllowedMethods": ["PUT", "GET"], "AllowedOrigins": ["*"]})
    c.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": rules})


def _post_from_anywhere(c: Any) -> None:
    """The tutorial's POST rule with its origin widened to *: uploads from the web UI still work
    (* covers https://app.valohai.com); every other site may post too."""
    rules = c.get_bucket_cors(Bucket=BUCKET)["CORSRules"]
    for r in rules:
        if "POST" in r["AllowedMethods"]:
            r["AllowedOrigins"] = ["*"]
    c.put_bucket_cors(Bucket=BUCKET, CORSConfiguration={"CORSRules": rules})


DRIFTS: dict[str, tuple[Callable[[Account], None], dict[str, tuple[str, str]]]] = {
    "bpa-off": (
        lambda a: s3(a).delete_public_access_block(Bucket=BUCKET),
        {
            "data-bucket-block-public-access": (
                "fail",
                f"{BUCKET}: Block Public Access is not fully on for the bucket or the account (the bucket: all four "
                "(not configured) off; the account: all four (not configured) off)",
            )
        },
    ),
    "bpa-half": (
        lambda a: s3(a).put_public_access_block(
            Bucket=BUCKET, PublicAccessBlockConfiguration={**BPA_ON, "BlockPublicPolicy": False}
        ),
        {"data-bucket-block-public-access": ("fail", "the bucket: BlockPublicPolicy off")},
    ),
    "policy-principal-star": (
        lambda a: _while_bpa_off(a, _public_policy),
        {
            "data-bucket-policy-not-public": (
                "fail",
                f"{BUCKET}: S3 judges the bucket policy public (statement 2 (Open) allows Principal *); Block Public "
                "Access's RestrictPublicBuckets (on for the bucket) blocks that access for now, and the policy makes "
                "the data store public the day it is turned off",
            ),
            # vhv lint inside check: advisory, with the place of the statement
            "data-bucket-policy-lint": ("warn", "lint-public-principal (security) at /Statement/1/Principal"),
        },
    ),
    "public-acl": (
        lambda a: _while_bpa_off(a, lambda c: c.put_bucket_acl(Bucket=BUCKET, ACL="public-read")),
        {"data-bucket-acl-not-public": ("fail", f"{BUCKET}: the ACL grants AllUsers (everyone) READ")},
    ),
    "no-encryption": (
        lambda a: s3(a).delete_bucket_encryption(Bucket=BUCKET),
        {"data-bucket-encryption": ("fail", f"{BUCKET}: no default encryption")},
    ),
    "no-policy": (
        lambda a: s3(a).delete_bucket_policy(Bucket=BUCKET),
        {"data-bucket-tls-only": ("warn", f"{BUCKET}: no bucket policy: requests over plain HTTP are allowed")},
    ),
    "tls-on-objects-only": (
        lambda a: _tls_statement(a, Resource=f"{ARN}/*"),
        {
            "data-bucket-tls-only": (
                "warn",
                f"{BUCKET}: the bucket policy has no statement that denies every request without TLS (statement 1 "
                f"(DenyInsecureTransport) lacks the resource(s) {ARN}): requests over plain HTTP are allowed",
            )
        },
    ),
    "versioning-suspended": (
        lambda a: s3(a).put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"}),
        {"data-bucket-versioning": ("warn", f"{BUCKET}: versioning is Suspended")},
    ),
    "no-lifecycle": (
        lambda a: s3(a).delete_bucket_lifecycle(Bucket=BUCKET),
        {"data-bucket-abort-multipart": ("warn", "no enabled lifecycle rule for the whole bucket aborts")},
    ),
    "cors-star-put": (
        lambda a: _wide_cors(s3(a)),
        {"data-bucket-cors-narrow": ("fail", f"{BUCKET}: CORS rule 3 (anyone-writes) allows PUT from *")},
    ),
    "cors-post-from-anywhere": (
        lambda a: _post_from_anywhere(s3(a)),
        {"data-bucket-cors-narrow": ("fail", f"{BUCKET}: CORS rule 2 allows POST from *")},
    ),
    "no-cors": (
        lambda a: s3(a).delete_bucket_cors(Bucket=BUCKET),
        {
            "data-bucket-cors-uploads": (
                "fail",
                f"{BUCKET}: CORS does not allow GET from *; POST from https://app.valohai.com: uploads from the web UI fail",
            )
        },
    ),
    "no-tag": (
        lambda a: s3(a).delete_bucket_tagging(Bucket=BUCKET),
        {"data-bucket-tag": ("fail", "valohai")},
    ),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_each_drift_fails_exactly_its_rule_on_the_bucket(account, drift):
    make, expected = DRIFTS[drift]
    make(account)
    result = account.check()
    got = not_passing(result, rules_of(account) - {"data-bucket-cors-unused"})
    assert set(got) == set(expected), got
    for rule_id, (status, fragment) in expected.items():
        f = result.one(rule_id)
        assert f.status == status, (rule_id, f.status, f.message)
        assert fragment in f.message, (rule_id, f.message)
        assert (f.resource_name, f.resource_id) == (BUCKET, ARN)
    assert not [f for f in result.findings if f.status in ("fail", "error") and f.rule_id not in rules_of(account)]


def test_a_public_policy_without_restrict_public_buckets_says_anyone_can_reach_the_store(account):
    c = s3(account)
    c.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={**BPA_ON, "RestrictPublicBuckets": False})
    _while_bpa_off(account, _public_policy)
    c.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={**BPA_ON, "RestrictPublicBuckets": False})
    f = account.check().one("data-bucket-policy-not-public")
    assert (f.status, f.message) == (
        "fail",
        f"{BUCKET}: S3 judges the bucket policy public (statement 2 (Open) allows Principal *); anyone can reach "
        "the data store",
    )


def test_a_bucket_policy_lint_finding_says_where_to_edit_it_and_why_it_only_warns(account):
    _while_bpa_off(account, _public_policy)
    [f] = account.check().of("data-bucket-policy-lint")
    assert f.status == "warn" and "(fails `vhv lint`; only a warning here: lint inside check is advisory" in f.message
    assert f.fix.startswith("At /Statement/1/Principal")
    assert f.fix.endswith("; edit it in the bucket's policy (`vhv lint` on its JSON shows the line).")


def test_bucket_in_another_region_fails_the_region_rule(moto_env, pack):
    c = moto_env.client("s3", region_name="us-west-2")
    c.create_bucket(Bucket="acme-far-away", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    a = Account(
        moto_env,
        {},
        pack,
        {**DEMO_PARAMS, "provisioning": "valohai", "data_store": {"bucket": "acme-far-away", "user": "u"}},
    )
    result = a.check()
    f = result.one("data-bucket-region")
    assert f.status == "fail"
    assert f.message.startswith("acme-far-away region is us-west-2; the guide asks for eu-west-1.")


def test_account_wide_block_public_access_is_enough(account):
    s3(account).delete_public_access_block(Bucket=BUCKET)
    account.session.client("s3control", region_name=REGION).put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration=BPA_ON
    )
    f = account.check().one("data-bucket-block-public-access")
    assert (f.status, f.message) == ("pass", f"{BUCKET}: Block Public Access is on for the account")


def test_cors_when_uploads_are_off_is_a_warning(account):
    account.params = {**account.params, "data_store": {**DEMO_PARAMS["data_store"], "web_uploads": False}}
    result = account.check()
    f = result.one("data-bucket-cors-unused")
    assert (f.status, f.message) == ("warn", f"{BUCKET}: 2 CORS rule(s) although data_store.web_uploads is not true")
    assert result.one("data-bucket-cors-uploads").status == "skip"


def test_a_part_that_could_not_be_read_is_error_never_pass(account):
    result = account.check()
    snap = result.snapshot
    snap.errors["buckets.policy"] = "s3:GetBucketPolicy was denied (AccessDenied)"
    prm = params_mod.from_dict(dict(account.params))
    again = {f.rule_id: f for f in engine.evaluate(account.pack, prm, snap)}
    assert again["data-bucket-tls-only"].status == "error"
    assert "s3:GetBucketPolicy was denied" in again["data-bucket-tls-only"].message
    assert again["data-bucket-policy-lint"].status == "error"
    assert "s3:GetBucketPolicy was denied" in again["data-bucket-policy-lint"].message
    assert again["data-bucket-encryption"].status == "pass"


# ------------------------------------------------------------------ remediate


def plan_of(a: Account) -> tuple[Any, Any]:
    res = a.check(for_fix=True)
    prm = params_mod.from_dict(dict(a.params))
    return res, planner.build(a.pack, prm, res.snapshot, res.findings)


def test_one_plan_fixes_every_fixable_drift_keeping_what_the_bucket_had_and_a_second_plans_nothing(account):
    c = s3(account)
    c.delete_public_access_block(Bucket=BUCKET)
    c.delete_bucket_encryption(Bucket=BUCKET)
    other = {
        "Sid": "ReadForAuditors",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "s3:GetObject",
        "Resource": f"{ARN}/*",
    }
    c.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [other]}))
    c.delete_bucket_lifecycle(Bucket=BUCKET)
    c.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    c.put_bucket_cors(
        Bucket=BUCKET,
        CORSConfiguration={"CORSRules": [{"AllowedMethods": ["PUT"], "AllowedOrigins": ["https://evil.example"]}]},
    )
    c.put_bucket_tagging(Bucket=BUCKET, Tagging={"TagSet": [{"Key": "team", "Value": "ml"}]})
    _res, plan = plan_of(account)
    by_call = {s.call: s for s in plan.steps}
    assert [s.risk for s in plan.steps if s.call == "s3.put_bucket_versioning"] == [DECIDE]
    assert by_call["s3.put_public_access_block"].risk == FIX
    policy = json.loads(by_call["s3.put_bucket_policy"].arguments["Policy"])
    assert [s.get("Sid") for s in policy["Statement"]] == ["ReadForAuditors", "DenyInsecureTransport"]
    cors_steps = [s for s in plan.steps if s.call == "s3.put_bucket_cors"]
    assert [s.risk for s in cors_steps] == [FIX, DECIDE]  # the tutorial's rules added before the wide one goes
    assert len(cors_steps[0].arguments["CORSConfiguration"]["CORSRules"]) == 3
    assert cors_steps[1].arguments["CORSConfiguration"]["CORSRules"][0]["AllowedOrigins"] == ["*"]
    tags = by_call["s3.put_bucket_tagging"].arguments["Tagging"]["TagSet"]
    assert {"Key": "team", "Value": "ml"} in tags and {"Key": "valohai", "Value": "1"} in tags
    assert {s.resource for s in plan.steps if s.call.startswith("s3.")} == {BUCKET}
    report = apply(plan, Target(region=REGION), tighten=True)
    assert report.ok, show.applied(report)
    result, again = plan_of(account)
    assert not_passing(result, rules_of(account) - {"data-bucket-cors-unused"}) == {}
    assert [s for s in again.steps if s.call.startswith("s3.")] == []
    assert json.loads(c.get_bucket_policy(Bucket=BUCKET)["Policy"])["Statement"][0]["Sid"] == "ReadForAuditors"


def test_a_missing_bucket_is_created_with_every_setting_and_then_passes(account):
    account.params = {**account.params, "data_store": {**DEMO_PARAMS["data_store"], "bucket": "acme-new-store"}}
    _res, plan = plan_of(account)
    s3_steps = [s.call for s in plan.steps if s.call.startswith("s3.")]
    assert s3_steps[0] == "s3.create_bucket"
    create = plan.steps[[s.call for s in plan.steps].index("s3.create_bucket")]
    assert create.arguments == {"Bucket": "acme-new-store", "CreateBucketConfiguration": {"LocationConstraint": REGION}}
    report = apply(plan, Target(region=REGION))
    assert report.ok, show.applied(report)
    result, again = plan_of(account)
    assert not_passing(result, rules_of(account) - {"data-bucket-cors-unused"}) == {}
    assert [s for s in again.steps if s.call.startswith("s3.")] == []


def test_a_tls_statement_with_the_condition_backwards_is_named_and_denies_valohai_too(account):
    """Deny when aws:SecureTransport is "true": plain HTTP is not refused, and every request over
    TLS (all of Valohai's) is."""
    _tls_statement(account, Condition={"Bool": {"aws:SecureTransport": "true"}})
    result = account.check()
    f = result.one("data-bucket-tls-only")
    assert f.status == "warn"
    assert '(statement 1 (DenyInsecureTransport) lacks the condition Bool aws:SecureTransport "false")' in f.message
    access = result.one("data-user-bucket-access")
    assert access.status == "fail"
    assert "is denied by statement 'DenyInsecureTransport' of the bucket policy" in access.message
