"""rules/5-data-store.yaml on who reaches the data store's bucket: the params' IAM user (or role),
its access keys, and the multipart upload role (data_store.multipart_role_arn), in moto.

The golden account has the tutorial's user (inline policy s3:* on the bucket and its objects, one
access key) and multipart role (trusted by that user, the eight multipart actions). Each drift is
made through boto3 and must fail (or warn) exactly its rule, on the right principal, with a message
naming what was found; nothing else of the whole pack fails.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Account
from validator import engine, kinds
from validator import params as params_mod
from validator.aws import recorder
from validator.checks import data_access
from validator.demo import ACCOUNT, DEMO_PARAMS, MULTIPART_ACTIONS
from validator.kinds import KINDS
from validator.policy.document import statements

STORE = DEMO_PARAMS["data_store"]
BUCKET = STORE["bucket"]
USER = STORE["user"]
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/{USER}"
MULTIPART = STORE["multipart_role_arn"].rsplit("/", 1)[-1]
MULTIPART_ARN = STORE["multipart_role_arn"]
MASTER = kinds.name("master_role")
MASTER_ARN = f"arn:aws:iam::{ACCOUNT}:role/{MASTER}"
B = f"arn:aws:s3:::{BUCKET}"
KINDS_HERE = ("data_user", "data_role", "multipart_role")
# the params that reach the store through the guide's master role (Valohai's templates), not a user
BY_ROLE = {"bucket": BUCKET, "role": MASTER, "multipart_role_arn": MULTIPART_ARN, "web_uploads": True}


def rules_of(a: Account) -> set[str]:
    return {r.id for r in a.pack.rules if r.resource in KINDS_HERE}


def doc(*statement: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statement)})


def allow(action: Any, resource: Any, sid: str = "") -> dict[str, Any]:
    return {**({"Sid": sid} if sid else {}), "Effect": "Allow", "Action": action, "Resource": resource}


def bad_of(result: Any) -> dict[str, tuple[str, str]]:
    """Every finding of the whole pack that is not a pass or a skip (the golden account has two
    advisories of its own: the queue's OS support and the master policy's lint)."""
    known = {"queue-instance-os-support", "master-policy-lint"}
    return {
        f.rule_id: (f.status, f.message)
        for f in result.findings
        if f.status in ("fail", "error", "warn") and f.rule_id not in known
    }


# ------------------------------------------------------------------ golden


GOLDEN_PASS = {
    "data-user-exists": (USER, f"{USER} exists ({USER_ARN})"),
    "data-user-bucket-access": (
        USER,
        f"{USER} may s3:GetBucketLocation, s3:ListBucket on {B}; s3:GetObject, s3:PutObject, s3:DeleteObject, "
        f"s3:AbortMultipartUpload, s3:ListMultipartUploadParts on {B}/*",
    ),
    "data-user-bucket-only": (USER, f"{USER} may do nothing beyond s3:* on {B}, {B}/*; s3:ListAllMyBuckets on *"),
    "data-user-one-active-key": (USER, f"{USER} has 1 active access key(s)"),
    "data-user-key-age": (USER, f"{USER}: no active access key is older than 90 days"),
    "data-multipart-role-exists": (MULTIPART, f"{MULTIPART} exists ({MULTIPART_ARN})"),
    "data-multipart-role-trust": (MULTIPART, f"{MULTIPART} trusts only AWS {USER_ARN}"),
    "data-multipart-role-access": (MULTIPART, f"{MULTIPART} may s3:GetBucketLocation, s3:ListBucket,"),
    "data-multipart-role-only": (MULTIPART, f"{MULTIPART} may do nothing beyond {', '.join(MULTIPART_ACTIONS)}"),
}


def test_the_golden_user_and_multipart_role_pass_and_the_role_rules_skip_saying_why(account):
    result = account.check()
    assert rules_of(account) == set(GOLDEN_PASS) | {
        "data-role-exists",
        "data-role-bucket-access",
        "data-role-bucket-only",
    }
    wrong = {}
    for rule_id, (name, fragment) in GOLDEN_PASS.items():
        f = result.one(rule_id)
        if f.status != "pass" or fragment not in f.message or f.resource_name != name:
            wrong[rule_id] = (f.status, f.message, f.resource_name)
    assert wrong == {}
    assert result.one("data-user-exists").resource_id == USER_ARN
    assert result.one("data-multipart-role-trust").resource_id == MULTIPART_ARN
    for rule_id in ("data-role-exists", "data-role-bucket-access", "data-role-bucket-only"):
        f = result.one(rule_id)
        assert (f.status, f.message) == (
            "skip",
            "applies only when the params name it (data_store.role); they have no data_store.role",
        )
    assert bad_of(result) == {}


def test_the_user_and_multipart_role_are_read_with_their_declared_actions_and_no_secret(account):
    result = account.check()
    declared = {a for k in ("data_user", "multipart_role") for a in KINDS[k].read_actions}
    asked = {c for c in result.calls if c in declared}
    # the tutorial's user is in no group: its groups are listed, no group's policy is read
    per_group = {"iam:ListGroupPolicies", "iam:GetGroupPolicy", "iam:ListAttachedGroupPolicies"}
    assert asked == declared - per_group
    assert "iam:ListGroupsForUser" in asked
    [user] = result.snapshot.data["users"]
    assert [k["status"] for k in user["access_keys"]] == ["Active"]
    assert account.ids["data_user_key"] == user["access_keys"][0]["id"]
    assert "Secret" not in json.dumps(result.snapshot.data["users"])


def test_without_a_multipart_role_its_rules_skip_and_it_is_not_read(account):
    account.params = {**account.params, "data_store": {k: v for k, v in STORE.items() if k != "multipart_role_arn"}}
    result = account.check()
    for rule_id in ("data-multipart-role-exists", "data-multipart-role-trust", "data-multipart-role-only"):
        f = result.one(rule_id)
        assert (f.status, f.message) == (
            "skip",
            "applies only when the params name it (data_store.multipart_role_arn); they have no "
            "data_store.multipart_role_arn",
        )
    assert "iam:GetRolePolicy" not in result.calls
    assert "multipart_roles" not in result.snapshot.data


# ------------------------------------------------------------------ one drift at a time


def _wide_inline(a: Account) -> None:
    a.iam.put_user_policy(UserName=USER, PolicyName="wide", PolicyDocument=doc(allow("s3:*", "*", "AllBuckets")))


def _wide_managed(a: Account) -> None:
    arn = a.iam.create_policy(PolicyName="open-everything", PolicyDocument=doc(allow("*", "*")))["Policy"]["Arn"]
    a.iam.attach_user_policy(UserName=USER, PolicyArn=arn)


def _other_bucket(a: Account) -> None:
    a.iam.put_user_policy(
        UserName=USER,
        PolicyName="valohai-data-store",
        PolicyDocument=doc(allow("s3:*", [B, f"{B}/*", "arn:aws:s3:::payroll-archive/*"], "Store")),
    )


def _second_key(a: Account) -> None:
    a.iam.create_access_key(UserName=USER)


def _no_active_key(a: Account) -> None:
    for key in a.iam.list_access_keys(UserName=USER)["AccessKeyMetadata"]:
        a.iam.update_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"], Status="Inactive")


def _no_policy(a: Account) -> None:
    a.iam.delete_user_policy(UserName=USER, PolicyName="valohai-data-store")


def _deny_delete(a: Account) -> None:
    deny = {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": f"{B}/*"}
    a.iam.put_user_policy(UserName=USER, PolicyName="no-delete", PolicyDocument=doc(deny))


def _trust_other(a: Account) -> None:
    trust = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole"}
    a.iam.update_assume_role_policy(RoleName=MULTIPART, PolicyDocument=doc(trust))


def _trust_also_other(a: Account) -> None:
    trust = {
        "Effect": "Allow",
        "Principal": {"AWS": [USER_ARN, "arn:aws:iam::111122223333:root"]},
        "Action": "sts:AssumeRole",
    }
    a.iam.update_assume_role_policy(RoleName=MULTIPART, PolicyDocument=doc(trust))


def _multipart_star(a: Account) -> None:
    a.iam.put_role_policy(
        RoleName=MULTIPART, PolicyName="valohai-multipart", PolicyDocument=doc(allow("s3:*", "*", "MultipartAccess"))
    )


def _multipart_short(a: Account) -> None:
    a.iam.put_role_policy(
        RoleName=MULTIPART,
        PolicyName="valohai-multipart",
        PolicyDocument=doc(allow(["s3:PutObject", "s3:GetObject"], f"{B}/*", "MultipartAccess")),
    )


WIDE_S3 = f"the guide allows it only on {B}, {B}/*"
DRIFTS: dict[str, tuple[Callable[[Account], None], dict[str, tuple[str, str]]]] = {
    "user-s3-star-on-star": (
        _wide_inline,
        {
            "data-user-bucket-only": (
                "fail",
                f"{USER} may do more than the data store needs: s3:* on * (statement 'AllBuckets' of inline "
                f"policy wide): {WIDE_S3}",
            )
        },
    ),
    "user-managed-star": (
        _wide_managed,
        {
            "data-user-bucket-only": (
                "fail",
                f"{USER} may do more than the data store needs: * on * (statement #1 of open-everything "
                "(default version v1)) allows",
            )
        },
    ),
    "user-another-bucket": (
        _other_bucket,
        {
            "data-user-bucket-only": (
                "fail",
                f"s3:* on arn:aws:s3:::payroll-archive/* (statement 'Store' of inline policy valohai-data-store): "
                f"{WIDE_S3}",
            )
        },
    ),
    "user-without-policy": (
        _no_policy,
        {
            "data-user-bucket-access": (
                "fail",
                f"{USER}: s3:GetBucketLocation on {B} is not allowed by any policy of {USER}; s3:ListBucket on {B} "
                f"is not allowed by any policy of {USER}; s3:GetObject on {B}/* is not allowed by any policy of {USER};",
            )
        },
    ),
    "user-denied-delete": (
        _deny_delete,
        {
            "data-user-bucket-access": (
                "fail",
                f"{USER}: s3:DeleteObject on {B}/* is denied by statement 'NoDelete' of inline policy no-delete",
            )
        },
    ),
    "two-active-keys": (
        _second_key,
        {"data-user-one-active-key": ("fail", f"{USER} has 2 active access keys (...")},
    ),
    "no-active-key": (
        _no_active_key,
        {
            "data-user-one-active-key": (
                "fail",
                f"{USER} has no active access key; Valohai needs one active key to sign in: create one",
            )
        },
    ),
    "multipart-trusts-someone-else": (
        _trust_other,
        {
            "data-multipart-role-trust": (
                "fail",
                f"trust policy of {MULTIPART}: AWS {USER_ARN} is not trusted for sts:AssumeRole; statement #1 also "
                "trusts AWS arn:aws:iam::111122223333:root",
            )
        },
    ),
    "multipart-trusts-another-too": (
        _trust_also_other,
        {
            "data-multipart-role-trust": (
                "fail",
                f"trust policy of {MULTIPART}: statement #1 also trusts AWS arn:aws:iam::111122223333:root",
            )
        },
    ),
    "multipart-s3-star-on-star": (
        _multipart_star,
        {
            "data-multipart-role-only": (
                "fail",
                f"{MULTIPART} may do more than the data store needs: s3:* on * (statement 'MultipartAccess' of "
                "inline policy valohai-multipart) allows",
            )
        },
    ),
    "multipart-too-few-actions": (
        _multipart_short,
        {
            "data-multipart-role-access": (
                "fail",
                "; ".join(
                    f"{a} on {r} is not allowed by any policy of {MULTIPART}"
                    for a, r in [
                        ("s3:GetBucketLocation", B),
                        ("s3:ListBucket", B),
                        ("s3:ListBucketMultipartUploads", B),
                        ("s3:ListBucketVersions", B),
                        ("s3:AbortMultipartUpload", f"{B}/*"),
                        ("s3:ListMultipartUploadParts", f"{B}/*"),
                    ]
                ),
            )
        },
    ),
}


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_each_drift_fails_exactly_its_rule_on_the_principal(account, drift):
    make, expected = DRIFTS[drift]
    make(account)
    result = account.check()
    got = bad_of(result)
    assert set(got) == set(expected), got
    for rule_id, (status, fragment) in expected.items():
        f = result.one(rule_id)
        assert f.status == status, (rule_id, f.status, f.message)
        assert fragment in f.message, (rule_id, f.message)
        principal = USER if rule_id.startswith("data-user-") else MULTIPART
        assert f.resource_name == principal
        assert f.resource_id == (USER_ARN if principal == USER else MULTIPART_ARN)


def test_an_inactive_second_key_is_not_counted(account):
    key = account.iam.create_access_key(UserName=USER)["AccessKey"]["AccessKeyId"]
    account.iam.update_access_key(UserName=USER, AccessKeyId=key, Status="Inactive")
    f = account.check().one("data-user-one-active-key")
    assert (f.status, f.message) == ("pass", f"{USER} has 1 active access key(s)")


def test_a_key_older_than_90_days_is_a_warning_naming_it_by_its_end(account):
    """moto keeps a key's creation time on its model (as the real one, it cannot be set through the
    API): the key is backdated there, and read back through ListAccessKeys."""
    from moto.iam.models import iam_backends

    [key] = iam_backends[ACCOUNT]["global"].users[USER].access_keys
    key.create_date = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=200)
    result = account.check()
    assert set(bad_of(result)) == {"data-user-key-age"}
    f = result.one("data-user-key-age")
    created = key.create_date.date().isoformat()
    assert f.status == "warn"
    assert f.message == (
        f"{USER}: access key ...{key.access_key_id[-4:]} (created {created}) is 200 days old; rotate it (a new key "
        "for Valohai, then deactivate the old one) at least every 90 days"
    )
    assert key.access_key_id not in f.message and key.access_key_id not in f.actual


def test_a_missing_user_fails_exists_and_its_other_rules_skip(account):
    account.params = {**account.params, "data_store": {**STORE, "user": "valohai-no-such-user"}}
    result = account.check()
    f = result.one("data-user-exists")
    assert (f.status, f.resource_name) == ("fail", "valohai-no-such-user")
    assert f.message == (
        f"valohai-no-such-user not found in account {ACCOUNT} (looked for "
        f"arn:aws:iam::{ACCOUNT}:user/valohai-no-such-user)"
    )
    key = result.one("data-user-one-active-key")
    assert (key.status, key.message) == (
        "skip",
        "valohai-no-such-user does not exist (rule data-user-exists); nothing to inspect",
    )
    # the multipart role trusts the tutorial's user, not the one the params now name
    trust = result.one("data-multipart-role-trust")
    assert trust.status == "fail"
    assert f"AWS arn:aws:iam::{ACCOUNT}:user/valohai-no-such-user is not trusted for sts:AssumeRole" in trust.message


# ------------------------------------------------------------------ the multipart role's ARN


def test_the_multipart_role_is_named_by_the_last_segment_of_its_arn():
    k = KINDS["multipart_role"]
    assert k.params_key == "data_store.multipart_role_arn" and k.name_from == "arn"
    for arn, name in (
        (f"arn:aws:iam::{ACCOUNT}:role/valohai-data-multipart", "valohai-data-multipart"),
        (f"arn:aws:iam::{ACCOUNT}:role/team/ml/uploads", "uploads"),
    ):
        assert k.named({"data_store": {"multipart_role_arn": arn}}) == name
    assert k.named({"data_store": {"bucket": BUCKET}}) is None


def test_a_missing_multipart_role_fails_exists_and_its_other_rules_skip(account):
    arn = f"arn:aws:iam::{ACCOUNT}:role/team/valohai-nope"
    account.params = {**account.params, "data_store": {**STORE, "multipart_role_arn": arn}}
    result = account.check()
    f = result.one("data-multipart-role-exists")
    assert (f.status, f.resource_name) == ("fail", "valohai-nope")
    assert f.message == f"valohai-nope not found in account {ACCOUNT} (looked for {arn}, its path included)"
    assert "Create the role of data_store.multipart_role_arn" in f.fix and arn in f.fix
    for rule_id in ("data-multipart-role-trust", "data-multipart-role-access", "data-multipart-role-only"):
        g = result.one(rule_id)
        assert (g.status, g.message) == (
            "skip",
            "valohai-nope does not exist (rule data-multipart-role-exists); nothing to inspect",
        )


def test_a_multipart_role_of_another_account_is_not_asked_for_and_its_rules_err_saying_so(account):
    arn = "arn:aws:iam::111122223333:role/valohai-data-multipart"
    account.params = {**account.params, "data_store": {**STORE, "multipart_role_arn": arn}}
    result = account.check()
    for rule_id in ("data-multipart-role-exists", "data-multipart-role-trust"):
        f = result.one(rule_id)
        assert f.status == "error"
        assert f.message == (
            f"could not decide: {arn} is a role of account 111122223333; vhv reads account {ACCOUNT}, where it is not"
        )
    assert result.calls.count("iam:GetRole") == 2  # the guide's two roles, not this one


# ------------------------------------------------------------------ the store reached through a role


def test_a_role_without_s3_access_fails_access_and_the_multipart_role_must_trust_it(account):
    account.params = {**account.params, "data_store": BY_ROLE}
    result = account.check()
    assert result.one("data-role-exists").status == "pass"
    f = result.one("data-role-bucket-access")
    assert (f.status, f.resource_name, f.resource_id) == ("fail", MASTER, MASTER_ARN)
    assert f.message.startswith(f"{MASTER}: s3:GetBucketLocation on {B} is not allowed by any policy of {MASTER};")
    # ValohaiMasterPolicy's EC2 and IAM work is not the data store's rules' business
    only = result.one("data-role-bucket-only")
    assert (only.status, only.message) == (
        "pass",
        f"{MASTER} may do nothing in s3 beyond s3:* on {B}, {B}/*; s3:ListAllMyBuckets on *",
    )
    trust = result.one("data-multipart-role-trust")
    assert trust.status == "fail"
    assert trust.message == (
        f"trust policy of {MULTIPART}: AWS {MASTER_ARN} is not trusted for sts:AssumeRole; statement #1 also "
        f"trusts AWS {USER_ARN}"
    )
    for rule_id in ("data-user-exists", "data-user-one-active-key"):
        assert result.one(rule_id).status == "skip"


def test_a_role_with_the_templates_s3_access_passes_and_s3_on_every_bucket_fails(account):
    account.params = {**account.params, "data_store": BY_ROLE}
    store = allow("s3:*", [B, f"{B}/*"], "DataStore")
    account.iam.put_role_policy(RoleName=MASTER, PolicyName="data-store", PolicyDocument=doc(store))
    result = account.check()
    assert result.one("data-role-bucket-access").status == "pass"
    assert result.one("data-role-bucket-only").status == "pass"
    account.iam.put_role_policy(
        RoleName=MASTER, PolicyName="data-store", PolicyDocument=doc(store, allow("*", "*", "Everything"))
    )
    f = account.check().one("data-role-bucket-only")
    assert f.status == "fail"
    assert f.message == (
        f"{MASTER} may do more in s3 than the data store needs: s3:* on * (statement 'Everything' of inline "
        f"policy data-store): {WIDE_S3}"
    )


# ------------------------------------------------------------------ reads that fail


REAL_CALL = recorder.Recorder.call


def _denying(action: str) -> Callable[..., Any]:
    def call(self: recorder.Recorder, path: str, act: str, fn: Callable[[], Any]) -> Any:
        if act != action:
            return REAL_CALL(self, path, act, fn)
        self.calls.append(act)
        self.fail(path, f"{act} was denied (AccessDenied)")
        return recorder.FAILED

    return call


@pytest.mark.parametrize(
    ("action", "errs", "decided"),
    [
        ("iam:GetUserPolicy", {"data-user-bucket-access", "data-user-bucket-only"}, {"data-user-one-active-key"}),
        ("iam:ListAccessKeys", {"data-user-one-active-key", "data-user-key-age"}, {"data-user-bucket-access"}),
        ("iam:ListGroupsForUser", {"data-user-bucket-access", "data-user-bucket-only"}, {"data-user-one-active-key"}),
        (
            "iam:GetRolePolicy",
            {"data-multipart-role-access", "data-multipart-role-only"},
            {"data-multipart-role-trust"},
        ),
        (
            "iam:GetUser",
            {"data-user-exists", "data-user-bucket-access", "data-user-key-age", "data-multipart-role-trust"},
            set(),
        ),
    ],
)
def test_a_read_that_fails_makes_the_rules_that_need_it_error_never_pass(account, monkeypatch, action, errs, decided):
    monkeypatch.setattr(recorder.Recorder, "call", _denying(action))
    result = account.check()
    for rule_id in errs:
        f = result.one(rule_id)
        assert f.status == "error", (rule_id, f.status, f.message)
        assert f"{action} was denied" in f.message, f.message
    for rule_id in decided:
        assert result.one(rule_id).status == "pass", rule_id


# ------------------------------------------------------------------ the S3 part of a statement


@pytest.mark.parametrize(
    ("written", "s3_part"),
    [
        ({"Action": "*", "Resource": "*"}, ("s3:*",)),
        ({"Action": ["ec2:*", "s3:Get*"], "Resource": "*"}, ("s3:Get*",)),
        ({"Action": "ec2:RunInstances", "Resource": "*"}, None),
        ({"Action": "s?:Put*", "Resource": "*"}, ("s3:Put*",)),
        ({"NotAction": "iam:*", "Resource": "*"}, "whole"),
        ({"NotAction": ["s3:*", "iam:*"], "Resource": "*"}, None),
    ],
)
def test_only_the_s3_part_of_a_statement_is_judged_for_a_role(written, s3_part):
    [st] = statements({"Statement": [{"Effect": "Allow", **written}]})
    got = data_access._of_services(st, ["s3"])
    if s3_part is None:
        assert got is None
    elif s3_part == "whole":
        assert got == st
    else:
        assert got is not None and got.actions == s3_part


def test_a_missing_role_fails_exists_and_its_other_rules_skip(account):
    account.params = {**account.params, "data_store": {**BY_ROLE, "role": "valohai-no-such-role"}}
    result = account.check()
    f = result.one("data-role-exists")
    assert (f.status, f.resource_name) == ("fail", "valohai-no-such-role")
    assert f.message == (
        f"valohai-no-such-role not found in account {ACCOUNT} (looked for "
        f"arn:aws:iam::{ACCOUNT}:role/valohai-no-such-role)"
    )
    for rule_id in ("data-role-bucket-access", "data-role-bucket-only"):
        g = result.one(rule_id)
        assert (g.status, g.message) == (
            "skip",
            "valohai-no-such-role does not exist (rule data-role-exists); nothing to inspect",
        )


# ------------------------------------------------------------------ what the user's groups grant


def _in_group(a: Account, group: str, inline: dict[str, Any] | None = None, managed: dict[str, Any] | None = None):
    a.iam.create_group(GroupName=group)
    a.iam.add_user_to_group(GroupName=group, UserName=USER)
    if inline:
        a.iam.put_group_policy(GroupName=group, PolicyName=f"{group}-inline", PolicyDocument=doc(inline))
    if managed:
        arn = a.iam.create_policy(PolicyName=f"{group}-managed", PolicyDocument=doc(managed))["Policy"]["Arn"]
        a.iam.attach_group_policy(GroupName=group, PolicyArn=arn)


@pytest.mark.parametrize("how", ["inline", "managed"])
def test_what_a_group_of_the_user_allows_counts_as_the_users(account, how):
    _in_group(account, "data-team", **{how: allow("s3:*", "*", "AllBuckets")})
    result = account.check()
    f = result.one("data-user-bucket-only")
    where = "inline policy data-team-inline" if how == "inline" else "data-team-managed (default version v1)"
    assert f.status == "fail"
    assert f"s3:* on * (statement 'AllBuckets' of {where} of group data-team)" in f.message
    assert set(bad_of(result)) == {"data-user-bucket-only"}


def test_a_user_granted_the_bucket_only_through_its_group_passes(account):
    account.iam.delete_user_policy(UserName=USER, PolicyName="valohai-data-store")
    _in_group(account, "data-store", managed=allow("s3:*", [B, f"{B}/*"]))
    result = account.check()
    assert result.one("data-user-bucket-access").status == "pass"
    assert result.one("data-user-bucket-only").status == "pass"
    assert bad_of(result) == {}


# ------------------------------------------------------------------ the multipart role's ARN, its path included


def test_a_multipart_role_at_another_path_than_the_params_arn_is_not_it(account):
    """The role valohai-data-multipart exists at /, the params name /team/valohai-data-multipart:
    Valohai would be given an ARN nobody can assume."""
    from validator import params as params_mod
    from validator import record

    arn = f"arn:aws:iam::{ACCOUNT}:role/team/{MULTIPART}"
    account.params = {**account.params, "data_store": {**STORE, "multipart_role_arn": arn}}
    result = account.check()
    f = result.one("data-multipart-role-exists")
    assert f.status == "fail"
    assert f.message == f"{MULTIPART} not found in account {ACCOUNT} (looked for {arn}, its path included)"
    assert result.one("data-multipart-role-trust").status == "skip"
    rec = record.build(result.snapshot, params_mod.from_dict(dict(account.params)))
    [v] = [v for v in rec.values if v.key == "data_store_multipart_role_arn"]
    assert v.value is None
    assert v.missing == f"{MULTIPART} does not exist (rule data-multipart-role-exists)"
    assert not rec.complete


def test_the_record_hands_over_only_the_principals_it_read(account):
    from validator import params as params_mod
    from validator import record

    arn = "arn:aws:iam::111122223333:role/valohai-data-multipart"
    account.params = {**account.params, "data_store": {**STORE, "multipart_role_arn": arn, "user": "nobody-here"}}
    result = account.check()
    rec = record.build(result.snapshot, params_mod.from_dict(dict(account.params)))
    got = {v.key: v for v in rec.values}
    assert got["data_store_user"].value is None
    assert got["data_store_user"].missing == "nobody-here does not exist (rule data-user-exists)"
    assert got["data_store_multipart_role_arn"].value is None
    assert "is a role of account 111122223333" in got["data_store_multipart_role_arn"].missing
    assert got["data_store_bucket"].value == BUCKET


# ------------------------------------------------------------------ a Deny of the bucket policy


def _deny_in_bucket_policy(a: Account, deny: dict[str, Any]) -> None:
    c = a.session.client("s3", region_name="eu-west-1")
    policy = json.loads(c.get_bucket_policy(Bucket=BUCKET)["Policy"])
    policy["Statement"].append(deny)
    c.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))


def test_a_deny_of_the_bucket_policy_takes_the_access_away(account):
    _deny_in_bucket_policy(
        account,
        {
            "Sid": "NoStoreUser",
            "Effect": "Deny",
            "Principal": {"AWS": USER_ARN},
            "Action": "s3:*",
            "Resource": [B, f"{B}/*"],
        },
    )
    result = account.check()
    f = result.one("data-user-bucket-access")
    assert f.status == "fail"
    assert f"s3:GetObject on {B}/* is denied by statement 'NoStoreUser' of the bucket policy" in f.message
    assert result.one("data-multipart-role-access").status == "pass"  # it names the user only
    assert set(bad_of(result)) == {"data-user-bucket-access"}


def test_a_deny_to_everyone_takes_it_from_the_user_and_the_multipart_role(account):
    _deny_in_bucket_policy(
        account, {"Sid": "NoWrites", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"{B}/*"}
    )
    result = account.check()
    for rule_id in ("data-user-bucket-access", "data-multipart-role-access"):
        f = result.one(rule_id)
        assert f.status == "fail", (rule_id, f.message)
        assert "s3:PutObject" in f.message and "statement 'NoWrites' of the bucket policy" in f.message


def test_a_deny_when_the_request_is_over_tls_denies_every_request_of_valohai(account):
    _deny_in_bucket_policy(
        account,
        {
            "Sid": "Backwards",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [B, f"{B}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "true"}},
        },
    )
    f = account.check().one("data-user-bucket-access")
    assert f.status == "fail"
    assert "is denied by statement 'Backwards' of the bucket policy" in f.message


def test_a_deny_under_a_condition_vhv_cannot_judge_is_error_never_pass(account):
    _deny_in_bucket_policy(
        account,
        {
            "Sid": "EncryptedUploadsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{B}/*",
            "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}},
        },
    )
    f = account.check().one("data-user-bucket-access")
    assert f.status == "error"
    assert "is denied by statement 'EncryptedUploadsOnly' of the bucket policy under a condition vhv cannot judge" in (
        f.message
    )


def test_a_deny_of_tls_older_than_1_2_does_not_touch_valohai(account):
    _deny_in_bucket_policy(
        account,
        {
            "Sid": "ModernTlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [B, f"{B}/*"],
            "Condition": {"NumericLessThan": {"s3:TlsVersion": "1.2"}},
        },
    )
    result = account.check()
    assert result.one("data-user-bucket-access").status == "pass"
    assert bad_of(result) == {}


def test_a_permissions_boundary_of_the_user_takes_the_access_away(account):
    # moto has no PutUserPermissionsBoundary: the user's boundary is put in the snapshot, as GetUser
    # and GetPolicyVersion would give it
    snap = account.check().snapshot
    snap.data["users"][0]["permissions_boundary"] = {
        "name": "only-ec2",
        "arn": f"arn:aws:iam::{ACCOUNT}:policy/only-ec2",
        "default_version_id": "v1",
        "document": json.loads(doc(allow("ec2:*", "*"))),
    }
    prm = params_mod.from_dict(dict(DEMO_PARAMS), source="params.yaml")
    found = {f.rule_id: f for f in engine.evaluate(account.pack, prm, snap)}
    f = found["data-user-bucket-access"]
    assert f.status == "fail"
    assert f"s3:GetObject on {B}/* is outside the permissions boundary only-ec2" in f.message
    assert {r for r, x in found.items() if x.status in ("fail", "error")} == {"data-user-bucket-access"}


def test_a_permissions_boundary_of_the_multipart_role_that_allows_s3_passes(account):
    arn = account.iam.create_policy(PolicyName="s3-only", PolicyDocument=doc(allow("s3:*", "*")))["Policy"]["Arn"]
    account.iam.put_role_permissions_boundary(RoleName=MULTIPART, PermissionsBoundary=arn)
    assert account.check().one("data-multipart-role-access").status == "pass"
