"""data-bucket-kms-key-usable against the golden account in moto: with SSE-KMS, the data store's
user and multipart role must be able to use the bucket's key (by the key policy, or by their own
policies where the key policy leaves it to IAM); otherwise every upload fails although S3 allows it.
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import REGION, Account, make_account
from validator import engine
from validator import params as params_mod
from validator.demo import ACCOUNT, DEMO_PARAMS

RULE = "data-bucket-kms-key-usable"
BUCKET = DEMO_PARAMS["data_store"]["bucket"]
USER = DEMO_PARAMS["data_store"]["user"]
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
MULTIPART_ARN = DEMO_PARAMS["data_store"]["multipart_role_arn"]
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
USE = ["kms:GenerateDataKey", "kms:Decrypt"]


def kms(a: Account) -> Any:
    return a.session.client("kms", region_name=REGION)


def key_policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, actions: Any = "kms:*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, "Resource": "*", **extra}


def encrypt_with(a: Account, key_id: str | None) -> None:
    default: dict[str, Any] = {"SSEAlgorithm": "aws:kms"}
    if key_id:
        default["KMSMasterKeyID"] = key_id
    a.session.client("s3", region_name=REGION).put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": default}]},
    )


def new_key(a: Account, *statements: dict[str, Any]) -> str:
    arn = kms(a).create_key(Policy=key_policy(*statements))["KeyMetadata"]["Arn"]
    encrypt_with(a, arn)
    return arn


def allow_in_iam(a: Account, who: str, key_arn: str, actions: list[str] = USE) -> None:
    doc = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": key_arn}]}
    )
    if who == "user":
        a.iam.put_user_policy(UserName=USER, PolicyName="use-the-key", PolicyDocument=doc)
    else:
        a.iam.put_role_policy(RoleName=MULTIPART_ARN.rsplit("/", 1)[1], PolicyName="use-the-key", PolicyDocument=doc)


def finding(a: Account) -> Any:
    return a.check().one(RULE)


def test_sse_s3_has_no_key_to_use_and_the_rule_skips_saying_so(account):
    f = finding(account)
    assert (f.status, f.message) == ("skip", f"{BUCKET}'s default encryption is not SSE-KMS: there is no key to use")


def test_s3s_own_key_passes_without_reading_a_key_policy(account):
    encrypt_with(account, None)
    result = account.check()
    f = result.one(RULE)
    assert f.status == "pass", f.message
    assert "uses AWS's key alias/aws/s3, which every principal of the account may use through S3" in f.message
    assert "kms:DescribeKey" in result.calls and "kms:GetKeyPolicy" not in result.calls
    assert result.one("data-bucket-encryption").status == "pass"


def test_the_key_is_read_only_when_the_bucket_uses_kms(account):
    assert not [c for c in account.check().calls if c.startswith("kms:")]


def test_a_key_that_leaves_it_to_iam_fails_when_the_principals_policies_do_not_allow_it(account):
    arn = new_key(account, allow(ROOT))
    f = finding(account)
    assert f.status == "fail"
    assert f"the default encryption's KMS key {arn} cannot be used by {USER} ({USER_ARN}): " in f.message
    assert (
        "kms:GenerateDataKey: the key policy leaves it to IAM, and the principal's policies do not allow it "
        "(kms:GenerateDataKey is not allowed)" in f.message
    )
    assert "valohai-data-multipart" in f.message  # the multipart role uploads too
    assert f.resource_name == BUCKET
    assert f.fix.startswith(f"Let each principal use the key: add it to the key policy of {arn}")


def test_a_key_left_to_iam_passes_when_each_principals_policies_allow_it(account):
    arn = new_key(account, allow(ROOT))
    allow_in_iam(account, "user", arn)
    allow_in_iam(account, "role", arn)
    f = finding(account)
    assert f.status == "pass", f.message
    assert f.message == f"{BUCKET}: {USER}, valohai-data-multipart may use the KMS key {arn}"


def test_only_the_multipart_role_lacking_the_key_fails_naming_it(account):
    arn = new_key(account, allow(ROOT))
    allow_in_iam(account, "user", arn)
    allow_in_iam(account, "role", arn, ["kms:GenerateDataKey"])
    f = finding(account)
    assert f.status == "fail"
    assert USER_ARN not in f.message
    assert f"valohai-data-multipart ({MULTIPART_ARN}): kms:Decrypt: the key policy leaves it to IAM" in f.message


def test_a_key_policy_naming_the_principals_themselves_is_enough(account):
    arn = new_key(account, allow(ROOT, "kms:*"), allow([USER_ARN, MULTIPART_ARN], USE))
    f = finding(account)
    assert f.status == "pass", f.message
    assert arn in f.message


def test_a_key_policy_naming_neither_the_principal_nor_its_account_fails(account):
    new_key(account, allow("arn:aws:iam::111122223333:root"))
    f = finding(account)
    assert f.status == "fail"
    assert "kms:GenerateDataKey: the key policy names neither the principal nor its account" in f.message


def test_a_deny_in_the_key_policy_wins_over_every_allow(account):
    arn = new_key(
        account,
        allow([ROOT, USER_ARN, MULTIPART_ARN]),
        {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
    )
    allow_in_iam(account, "user", arn)
    f = finding(account)
    assert f.status == "fail"
    assert "kms:Decrypt: statement 'NoDecrypt' of the key policy denies it" in f.message


def test_the_allow_through_s3_of_the_region_counts_and_another_condition_is_error(account):
    via_s3 = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com", "kms:CallerAccount": ACCOUNT}}
    new_key(account, allow([USER_ARN, MULTIPART_ARN], USE, Condition=via_s3))
    assert finding(account).status == "pass"

    new_key(account, allow([USER_ARN, MULTIPART_ARN], USE, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}))
    f = finding(account)
    assert f.status == "error"
    assert "allows it only under a condition vhv cannot judge" in f.message


def test_a_disabled_key_or_one_pending_deletion_fails_naming_its_state(account):
    arn = new_key(account, allow([ROOT, USER_ARN, MULTIPART_ARN]))
    key_id = arn.rsplit("/", 1)[1]  # moto's DisableKey takes the id, not the ARN
    kms(account).disable_key(KeyId=key_id)
    f = finding(account)
    assert f.status == "fail"
    assert f"KMS key {arn} is Disabled: S3 can neither encrypt nor decrypt with it" in f.message
    kms(account).schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert "is PendingDeletion" in finding(account).message


def test_a_key_that_does_not_exist_fails(account):
    missing = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
    encrypt_with(account, missing)
    f = finding(account)
    assert f.status == "fail"
    assert f"names KMS key {missing}, which does not exist in {REGION}" in f.message


def test_a_key_read_that_failed_is_error_never_pass(account):
    new_key(account, allow([ROOT, USER_ARN, MULTIPART_ARN]))
    result = account.check()
    snap = result.snapshot
    snap.errors["buckets.kms_key"] = "kms:GetKeyPolicy was denied (AccessDeniedException)"
    prm = params_mod.from_dict(dict(account.params))
    [f] = [f for f in engine.evaluate(account.pack, prm, snap) if f.rule_id == RULE]
    assert f.status == "error"
    assert "kms:GetKeyPolicy was denied" in f.message


def test_a_role_principal_is_judged_like_a_user(moto_env, pack):
    a = make_account(moto_env, pack, data_store={"bucket": BUCKET, "role": "ValohaiMaster"})
    arn = new_key(a, allow(ROOT))
    f = finding(a)
    assert f.status == "fail"
    assert f"ValohaiMaster (arn:aws:iam::{ACCOUNT}:role/ValohaiMaster): kms:GenerateDataKey" in f.message
    a.iam.put_role_policy(
        RoleName="ValohaiMaster",
        PolicyName="use-the-key",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": USE, "Resource": arn}]}
        ),
    )
    assert finding(a).status == "pass"
