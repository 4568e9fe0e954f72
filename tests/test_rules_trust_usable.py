"""master-role-trust judges whether Valohai's assumer can actually use the trust: the conditions
of the statements that trust it, a Deny that may apply to it, a "*" narrowed to it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.test_remediate import plan_of, step
from tests.test_rules_iam import policy, set_trust, trusts
from validator.demo import ASSUME_ROLE_ARN

RULE = "master-role-trust"
CANNOT = f"statement #1 cannot be used by AWS {ASSUME_ROLE_ARN}: "


def _trust(account, *stmts: dict[str, Any]):
    set_trust(account, "ValohaiMaster", policy(*stmts))
    return account.check()


def _assumer(**condition: Any) -> dict[str, Any]:
    return trusts({"AWS": ASSUME_ROLE_ARN}, Condition=condition)


@pytest.mark.parametrize(
    "condition, words",
    [
        (
            {"IpAddress": {"aws:SourceIp": "0.0.0.0/32"}},
            "IpAddress aws:SourceIp 0.0.0.0/32: Valohai calls STS from its own addresses",
        ),
        (
            {"IpAddress": {"aws:SourceIp": ["34.248.245.191/32"]}},
            "IpAddress aws:SourceIp 34.248.245.191/32: Valohai calls",
        ),
        ({"NotIpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, "NotIpAddress aws:SourceIp 0.0.0.0/0: Valohai calls"),
        (
            {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            "Bool aws:MultiFactorAuthPresent true: Valohai's assumer is a service: its requests never carry MFA",
        ),
        ({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, "BoolIfExists aws:MultiFactorAuthPresent true: "),
        (
            {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}},
            "NumericLessThan aws:MultiFactorAuthAge 3600: Valohai's assumer is a service",
        ),
        (
            {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}},
            "StringEquals aws:SourceVpce vpce-0a1b2c3d: Valohai calls STS over the internet",
        ),
        (
            {"StringEquals": {"aws:SourceVpc": "vpc-0a1b2c3d"}},
            "StringEquals aws:SourceVpc vpc-0a1b2c3d: Valohai calls STS over the internet",
        ),
        (
            {"IpAddress": {"aws:VpcSourceIp": "10.0.0.0/16"}},
            "IpAddress aws:VpcSourceIp 10.0.0.0/16: Valohai calls STS over the internet",
        ),
        (
            {"StringEquals": {"aws:PrincipalTag/team": "ml"}},
            "StringEquals aws:PrincipalTag/team ml: Valohai sets no principal tag",
        ),
        (
            {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
            "DateLessThan aws:CurrentTime 2020-01-01T00:00:00Z: the statement does not apply now",
        ),
        (
            {"DateLessThan": {"aws:EpochTime": "1577836800"}},
            "DateLessThan aws:EpochTime 1577836800: the statement does not apply now",
        ),
        ({"Bool": {"aws:SecureTransport": "false"}}, "Bool aws:SecureTransport false: Valohai calls STS over HTTPS"),
        (
            {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::444455556666:role/other"}},
            f"ArnEquals aws:PrincipalArn arn:aws:iam::444455556666:role/other: it names something other than the assumer {ASSUME_ROLE_ARN}",
        ),
        (
            {"StringEquals": {"aws:PrincipalAccount": "444455556666"}},
            "StringEquals aws:PrincipalAccount 444455556666: it names another account than the assumer's (111122223333)",
        ),
        (
            {"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}},
            "StringNotEquals aws:PrincipalAccount 111122223333: it names another account",
        ),
    ],
    ids=[
        "source ip none",
        "source ip valohai",
        "not ip everything",
        "mfa",
        "mfa if exists",
        "mfa age",
        "vpce",
        "vpc",
        "vpc source ip",
        "principal tag",
        "date past",
        "epoch past",
        "insecure transport",
        "another principal arn",
        "another account",
        "not the assumer's account",
    ],
)
def test_a_condition_the_assumer_cannot_meet_fails_with_the_reason(account, condition, words):
    result = _trust(account, _assumer(**condition))
    assert result.failing() == {RULE}
    f = result.one(RULE)
    assert f.status == "fail"
    assert CANNOT + words in f.message
    assert "is not trusted" not in f.message  # trusted, but unusable: the reason is the message


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"sts:ExternalId": "valohai-xyz"}},
        {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}},
        {"StringEqualsIfExists": {"aws:SourceVpc": "vpc-0a1b2c3d"}},
        {"Null": {"aws:PrincipalTag/team": "true"}},
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"ArnEquals": {"aws:PrincipalArn": ASSUME_ROLE_ARN}},
        {"StringEquals": {"aws:PrincipalAccount": "111122223333"}},
        {"Bool": {"aws:MultiFactorAuthPresent": "false"}},
    ],
    ids=[
        "external id",
        "not vpce",
        "vpc if exists",
        "no tag",
        "date since",
        "tls",
        "the assumer",
        "its account",
        "no mfa",
    ],
)
def test_a_condition_the_assumer_meets_passes(account, condition):
    result = _trust(account, _assumer(**condition))
    assert result.failing() == set()
    f = result.one(RULE)
    assert f.status == "pass"
    assert f.message == f"ValohaiMaster trusts only AWS {ASSUME_ROLE_ARN}"


def test_a_condition_vhv_cannot_judge_is_a_warning_naming_operator_and_key(account):
    result = _trust(account, _assumer(StringLike={"aws:UserAgent": "valohai*"}))
    assert result.failing() == set()
    f = result.one(RULE)
    assert f.status == "warn"
    assert "statement #1: StringLike aws:UserAgent is a key vhv cannot judge for Valohai" in f.message


def test_a_date_in_the_future_that_ends_the_trust_is_a_warning(account):
    result = _trust(account, _assumer(DateLessThan={"aws:CurrentTime": "2099-01-01T00:00:00Z"}))
    assert result.failing() == set()
    f = result.one(RULE)
    assert f.status == "warn"
    assert "DateLessThan aws:CurrentTime 2099-01-01T00:00:00Z: the statement stops applying then" in f.message


def test_an_unusable_statement_beside_a_usable_one_is_a_warning(account):
    result = _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), _assumer(IpAddress={"aws:SourceIp": "10.0.0.0/8"}))
    assert result.failing() == set()
    f = result.one(RULE)
    assert f.status == "warn"
    assert f"statement #2 cannot be used by AWS {ASSUME_ROLE_ARN}: IpAddress aws:SourceIp 10.0.0.0/8" in f.message


def _deny(**condition: Any) -> dict[str, Any]:
    st = {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}
    return {**st, "Condition": condition} if condition else st


def test_a_deny_that_may_apply_to_the_assumer_fails(account):
    result = _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), _deny(StringNotEquals={"aws:SourceVpc": "vpc-1"}))
    assert result.failing() == {RULE}
    assert (
        f"statement #2 denies sts:AssumeRole under a condition (StringNotEquals aws:SourceVpc vpc-1) to AWS "
        f"{ASSUME_ROLE_ARN}" in result.one(RULE).message
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"Bool": {"aws:SecureTransport": "false"}},
        {"StringNotEquals": {"sts:ExternalId": "valohai-xyz"}},
        {"ArnNotEquals": {"aws:PrincipalArn": ASSUME_ROLE_ARN}},
    ],
    ids=["plain http", "another external id", "anyone but the assumer"],
)
def test_a_deny_that_never_applies_to_the_assumer_passes(account, condition):
    allow = _assumer(StringEquals={"sts:ExternalId": "valohai-xyz"})
    result = _trust(account, allow, _deny(**condition))
    assert result.failing() == set()
    assert result.status(RULE) == "pass"


@pytest.mark.parametrize("op", ["StringEquals", "ArnEquals", "ArnLike"])
def test_a_star_narrowed_to_the_assumer_is_judged_as_the_assumer(account, op):
    st = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "sts:AssumeRole",
        "Condition": {op: {"aws:PrincipalArn": ASSUME_ROLE_ARN}},
    }
    result = _trust(account, st)
    assert result.failing() == set()
    f = result.one(RULE)
    assert f.status == "pass"
    assert f"Principal * narrowed by aws:PrincipalArn to {ASSUME_ROLE_ARN}" in f.message
    assert "anyone" not in f.message
    lint = result.one("master-role-trust-lint")
    assert "lint-trust-principal-star" not in lint.message


def test_a_star_narrowed_to_a_pattern_wider_than_the_assumer_fails(account):
    wide = "arn:aws:iam::*:role/valohai-assumer"
    st = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "sts:AssumeRole",
        "Condition": {"ArnLike": {"aws:PrincipalArn": wide}},
    }
    result = _trust(account, st)
    assert result.failing() == {RULE}
    msg = result.one(RULE).message
    assert f"statement #1 trusts Principal * narrowed by aws:PrincipalArn to {wide}: more than {ASSUME_ROLE_ARN}" in msg
    assert "is not trusted" not in msg


def test_a_star_narrowed_only_if_the_key_exists_is_still_anyone(account):
    cond = {"ArnEqualsIfExists": {"aws:PrincipalArn": ASSUME_ROLE_ARN}}
    result = _trust(account, {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": cond})
    assert result.failing() == {RULE}
    assert 'trusts every principal ("*"): anyone can assume this role' in result.one(RULE).message


def test_the_worker_roles_trust_is_not_judged_as_valohais(account):
    doc = policy(
        trusts({"Service": "ec2.amazonaws.com"}, Condition={"StringEquals": {"aws:SourceAccount": "123456789012"}})
    )
    set_trust(account, "ValohaiWorkerRole", doc)
    assert account.check().status("worker-role-trust") == "pass"


# ------------------------------------------------------------------ remediate keeps the external id


def test_remediate_replaces_an_unusable_trust_keeping_its_external_id(account):
    _trust(account, _assumer(StringEquals={"sts:ExternalId": "valohai-xyz"}, IpAddress={"aws:SourceIp": "10.0.0.0/8"}))
    _res, plan = plan_of(account)
    doc = json.loads(step(plan, "iam.update_assume_role_policy").arguments["PolicyDocument"])
    assert doc["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": ASSUME_ROLE_ARN},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": "valohai-xyz"}},
        }
    ]


def test_remediate_writes_the_guides_trust_when_there_was_no_external_id(account):
    _trust(account, _assumer(Bool={"aws:MultiFactorAuthPresent": "true"}))
    _res, plan = plan_of(account)
    doc = json.loads(step(plan, "iam.update_assume_role_policy").arguments["PolicyDocument"])
    assert doc["Statement"][0]["Condition"] == {}


# ------------------------------------------------------------------ the assumer's account as a principal

ASSUMERS_ACCOUNT = "111122223333"


@pytest.mark.parametrize("whom", [f"arn:aws:iam::{ASSUMERS_ACCOUNT}:root", ASSUMERS_ACCOUNT], ids=["root", "id"])
def test_a_deny_of_the_assumers_account_denies_the_assumer(account, whom):
    deny = {"Effect": "Deny", "Principal": {"AWS": whom}, "Action": "sts:AssumeRole"}
    result = _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), deny)
    assert result.failing() == {RULE}
    msg = result.one(RULE).message
    assert f"statement #2 denies sts:AssumeRole to AWS {ASSUME_ROLE_ARN}" in msg
    assert f"account {ASSUMERS_ACCOUNT}, which covers every principal of it" in msg


def test_a_deny_of_the_assumers_account_is_judged_by_its_condition(account):
    other = f"arn:aws:iam::{ASSUMERS_ACCOUNT}:role/other"
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": ASSUMERS_ACCOUNT},
        "Action": "sts:AssumeRole",
        "Condition": {"StringNotEquals": {"aws:PrincipalArn": other}},
    }
    result = _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), deny)
    assert result.failing() == {RULE}
    assert f"statement #2 denies sts:AssumeRole under a condition (StringNotEquals aws:PrincipalArn {other})" in (
        result.one(RULE).message
    )
    # unless the assumer is the one principal it spares
    spared = {**deny, "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ASSUME_ROLE_ARN}}}
    assert _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), spared).status(RULE) == "pass"


def test_the_assumers_account_narrowed_to_the_assumer_is_the_assumer(account):
    root = f"arn:aws:iam::{ASSUMERS_ACCOUNT}:root"
    st = trusts({"AWS": root}, Condition={"ArnEquals": {"aws:PrincipalArn": ASSUME_ROLE_ARN}})
    result = _trust(account, st)
    assert result.failing() == set()
    f = result.one(RULE)
    assert f.status == "pass"
    assert f"Principal {root} narrowed by aws:PrincipalArn to {ASSUME_ROLE_ARN} in statement #1" in f.message


def test_a_star_narrowed_case_insensitively_to_the_assumer_is_the_assumer(account):
    cond = {"StringEqualsIgnoreCase": {"aws:PrincipalArn": ASSUME_ROLE_ARN.upper()}}
    result = _trust(account, {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": cond})
    assert result.failing() == set()
    f = result.one(RULE)
    assert f.status == "pass"
    assert f"Principal * narrowed by aws:PrincipalArn to {ASSUME_ROLE_ARN.upper()} in statement #1" in f.message


def test_a_star_narrowed_to_the_assumers_account_is_named_as_that_account(account):
    cond = {"StringEquals": {"aws:PrincipalAccount": ASSUMERS_ACCOUNT}}
    result = _trust(account, {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Condition": cond})
    assert result.failing() == {RULE}
    msg = result.one(RULE).message
    assert (
        f"statement #1 trusts Principal * narrowed by aws:PrincipalAccount to account {ASSUMERS_ACCOUNT}: any "
        f"principal of that account can assume this role, not only {ASSUME_ROLE_ARN}" in msg
    )
    assert "anyone" not in msg and "is not trusted" not in msg


# ------------------------------------------------------------------ NotPrincipal: IAM refuses it in a trust policy


@pytest.mark.parametrize("effect", ["Deny", "Allow"])
def test_not_principal_in_a_trust_policy_fails_naming_it(account, effect):
    st = {"Effect": effect, "NotPrincipal": {"AWS": ASSUME_ROLE_ARN}, "Action": "sts:AssumeRole"}
    result = _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), st)
    assert result.failing() == {RULE}
    assert "statement #2 uses NotPrincipal, which IAM does not accept in a role's trust policy" in (
        result.one(RULE).message
    )


# ------------------------------------------------------------------ keys whose value for Valohai's call is known


@pytest.mark.parametrize(
    "condition, words",
    [
        (
            {"Bool": {"aws:ViaAWSService": "true"}},
            "Bool aws:ViaAWSService true: Valohai calls STS itself, not through an AWS service",
        ),
        (
            {"StringEquals": {"aws:PrincipalType": "User"}},
            "StringEquals aws:PrincipalType User: Valohai's principal is a role, so its session calls "
            "(aws:PrincipalType is AssumedRole)",
        ),
        (
            {"StringEquals": {"aws:SourceAccount": ASSUMERS_ACCOUNT}},
            f"StringEquals aws:SourceAccount {ASSUMERS_ACCOUNT}: Valohai calls STS itself, not through an AWS "
            "service: its request carries no aws:SourceAccount",
        ),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:*"}},
            "ArnLike aws:SourceArn arn:aws:*: Valohai calls STS itself",
        ),
        (
            {"NotIpAddress": {"aws:SourceIp": "34.0.0.0/8"}},
            "NotIpAddress aws:SourceIp 34.0.0.0/8: Valohai calls STS from its own addresses",
        ),
    ],
    ids=["via service", "principal type", "source account", "source arn", "not a public range"],
)
def test_a_known_key_the_assumer_does_not_meet_fails(account, condition, words):
    result = _trust(account, _assumer(**condition))
    assert result.failing() == {RULE}
    assert CANNOT + words in result.one(RULE).message


@pytest.mark.parametrize(
    "condition",
    [
        {"Bool": {"aws:ViaAWSService": "false"}},
        {"StringEquals": {"aws:PrincipalType": "AssumedRole"}},
        {"StringEqualsIfExists": {"aws:SourceAccount": ASSUMERS_ACCOUNT}},
        {"ArnNotLike": {"aws:SourceArn": "arn:aws:*"}},
        {"Null": {"aws:SourceAccount": "true"}},
        {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"NotIpAddress": {"aws:SourceIp": ["172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8"]}},
    ],
    ids=[
        "not via service",
        "assumed role",
        "source account if exists",
        "not source arn",
        "no source",
        "not 10/8",
        "not private",
    ],
)
def test_a_known_key_the_assumer_meets_passes(account, condition):
    result = _trust(account, _assumer(**condition))
    assert result.failing() == set()
    assert result.one(RULE).message == f"ValohaiMaster trusts only AWS {ASSUME_ROLE_ARN}"


@pytest.mark.parametrize(
    "values",
    [
        "0.0.0.0/0",
        ["203.0.113.0/24", "0.0.0.0/0"],
        ["0.0.0.0/1", "128.0.0.0/1"],
        ["0.0.0.0/0", "::/0"],
        ["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2", "10.0.0.0/8"],
    ],
    ids=["everything", "a range and everything", "two halves", "both families", "quarters"],
)
def test_a_source_ip_condition_every_public_address_meets_does_not_narrow_the_trust(account, values):
    # held-out T41, T57: IpAddress aws:SourceIp 0.0.0.0/0 (alone or beside a narrower range) is always met
    result = _trust(account, _assumer(IpAddress={"aws:SourceIp": values}))
    assert result.failing() == set()
    assert result.one(RULE).status == "pass"
    assert result.one(RULE).message == f"ValohaiMaster trusts only AWS {ASSUME_ROLE_ARN}"


@pytest.mark.parametrize(
    "condition, words",
    [
        (
            {"NotIpAddress": {"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]}},
            "NotIpAddress aws:SourceIp 0.0.0.0/1, 128.0.0.0/1: Valohai calls STS from public IPv4 addresses, and none "
            "of them meets it",
        ),
        (
            {"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}},
            "IpAddress aws:SourceIp 0.0.0.0/1: Valohai calls STS from its own addresses",
        ),
    ],
    ids=["not everything", "half"],
)
def test_a_source_ip_condition_not_every_public_address_meets_fails(account, condition, words):
    result = _trust(account, _assumer(**condition))
    assert result.failing() == {RULE}
    assert CANNOT + words in result.one(RULE).message


def test_a_source_ip_condition_only_ipv6_callers_meet_warns(account):
    # every IPv6 address meets ::/0, but Valohai's addresses are IPv4: not a silent pass, nor a certain lockout
    result = _trust(account, _assumer(IpAddress={"aws:SourceIp": "::/0"}))
    assert result.failing() == set()
    f = result.one(RULE)
    assert f.status == "warn"
    assert "IpAddress aws:SourceIp ::/0: it is met only by IPv6 addresses, and Valohai's addresses are IPv4" in (
        f.message
    )


def test_a_deny_on_every_source_address_denies_the_assumer(account):
    everything = _deny(IpAddress={"aws:SourceIp": ["0.0.0.0/1", "128.0.0.0/1"]})
    assert _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), everything).status(RULE) == "fail"
    nowhere = _deny(NotIpAddress={"aws:SourceIp": "0.0.0.0/0"})
    assert _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), nowhere).status(RULE) == "pass"


def test_a_deny_on_a_known_key_is_decided(account):
    via = _deny(Bool={"aws:ViaAWSService": "true"})  # never applies to Valohai's direct call
    assert _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), via).status(RULE) == "pass"
    direct = _deny(Null={"aws:SourceArn": "true"})  # always applies to it
    assert _trust(account, trusts({"AWS": ASSUME_ROLE_ARN}), direct).status(RULE) == "fail"


# ------------------------------------------------------------------ the worker role: EC2's AssumeRole

WORKER_RULE = "worker-role-trust"
EC2 = "ec2.amazonaws.com"
EC2_CANNOT = f"statement #1 cannot be used by Service {EC2}: "


def _worker_trust(account, *stmts: dict[str, Any]):
    set_trust(account, "ValohaiWorkerRole", policy(*stmts))
    return account.check()


def _ec2(**condition: Any) -> dict[str, Any]:
    return trusts({"Service": EC2}, Condition=condition)


@pytest.mark.parametrize(
    "condition, words",
    [
        (
            {"DateLessThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}},
            "DateLessThan aws:CurrentTime 2024-01-01T00:00:00Z: the statement does not apply now",
        ),
        (
            {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            f"Bool aws:MultiFactorAuthPresent true: {EC2} assumes the role for the instance: its request never "
            "carries MFA",
        ),
        (
            {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
            f"IpAddress aws:SourceIp 203.0.113.0/24: {EC2} calls STS itself, not from an address, VPC or VPC "
            "endpoint: its request carries no aws:SourceIp",
        ),
        (
            {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}},
            f"StringEquals aws:SourceVpce vpce-0a1b2c3d: {EC2} calls STS itself",
        ),
        (
            {"StringEquals": {"aws:PrincipalTag/x": "y"}},
            f"StringEquals aws:PrincipalTag/x y: {EC2} is a service, no IAM principal: its request carries no "
            "principal tag",
        ),
        (
            {"StringEquals": {"aws:SourceAccount": "999999999999"}},
            f"StringEquals aws:SourceAccount 999999999999: {EC2} assumes the role for an instance of account "
            "123456789012, not of another account",
        ),
        (
            {"ArnLike": {"aws:SourceArn": "arn:aws:ec2:*:999999999999:instance/*"}},
            "ArnLike aws:SourceArn arn:aws:ec2:*:999999999999:instance/*: ",
        ),
        (
            {"StringEquals": {"aws:PrincipalServiceName": "lambda.amazonaws.com"}},
            f"StringEquals aws:PrincipalServiceName lambda.amazonaws.com: the request names the service {EC2}",
        ),
        (
            {"StringEquals": {"sts:ExternalId": "abc"}},
            f"StringEquals sts:ExternalId abc: {EC2} sends no external id",
        ),
    ],
    ids=[
        "date past",
        "mfa",
        "source ip",
        "vpce",
        "principal tag",
        "another source account",
        "another account's instances",
        "another service",
        "external id",
    ],
)
def test_a_condition_ec2_cannot_meet_fails_the_worker_trust_with_the_reason(account, condition, words):
    """The tester's false pass: ValohaiWorkerRole trusted EC2 under a condition EC2's request never
    meets, and the rule said it trusts only EC2."""
    result = _worker_trust(account, _ec2(**condition))
    f = result.one(WORKER_RULE)
    assert f.status == "fail", f.message
    assert EC2_CANNOT + words in f.message
    assert "is not trusted" not in f.message
    assert WORKER_RULE in result.failing()


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceAccount": "123456789012"}},
        {"ArnLike": {"aws:SourceArn": "arn:aws:ec2:*:123456789012:instance/*"}},
        {"StringEquals": {"aws:PrincipalServiceName": EC2}},
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
        {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}, "Null": {"aws:MultiFactorAuthPresent": "true"}},
        {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"Null": {"aws:PrincipalTag/x": "true"}},
    ],
    ids=["own account", "own instances", "ec2 itself", "date since", "no mfa", "not an address", "no tag"],
)
def test_a_condition_ec2_meets_passes_the_worker_trust(account, condition):
    f = _worker_trust(account, _ec2(**condition)).one(WORKER_RULE)
    assert (f.status, f.message) == ("pass", f"ValohaiWorkerRole trusts only Service {EC2}")


@pytest.mark.parametrize(
    "condition, key",
    [
        ({"StringEquals": {"aws:SourceOrgID": "o-abc123"}}, "aws:SourceOrgID"),
        ({"StringEquals": {"aws:SourceArn": "arn:aws:ec2:eu-west-1:123456789012:instance/i-0abc"}}, "aws:SourceArn"),
        ({"Bool": {"aws:SecureTransport": "true"}}, "aws:SecureTransport"),
    ],
    ids=["org", "one instance", "transport"],
)
def test_a_condition_vhv_cannot_judge_for_ec2_warns_naming_its_key(account, condition, key):
    f = _worker_trust(account, _ec2(**condition)).one(WORKER_RULE)
    assert f.status == "warn"
    assert f"{key} is a key vhv cannot judge for {EC2}: make sure the request of {EC2} meets it" in f.message


def test_the_guides_worker_trust_still_passes_with_the_same_message(account):
    f = account.check().one(WORKER_RULE)
    assert (f.status, f.message) == ("pass", f"ValohaiWorkerRole trusts only Service {EC2}")


def test_a_deny_that_spares_ec2_leaves_the_worker_trust_usable(account):
    deny_people = {
        "Effect": "Deny",
        "Principal": {"Service": EC2},
        "Action": "sts:AssumeRole",
        "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    }
    f = _worker_trust(account, trusts({"Service": EC2}), deny_people).one(WORKER_RULE)
    assert f.status == "pass", f.message
    deny_ec2 = {**deny_people, "Condition": {"StringEquals": {"aws:SourceAccount": "123456789012"}}}
    f = _worker_trust(account, trusts({"Service": EC2}), deny_ec2).one(WORKER_RULE)
    assert f.status == "fail" and "denies sts:AssumeRole" in f.message


def test_an_unusable_worker_trust_is_replaced_by_the_guides(account):
    set_trust(account, "ValohaiWorkerRole", policy(_ec2(DateLessThan={"aws:CurrentTime": "2024-01-01T00:00:00Z"})))
    _res, plan = plan_of(account)
    doc = json.loads(step(plan, "iam.update_assume_role_policy").arguments["PolicyDocument"])
    assert doc["Statement"][0]["Principal"] == {"Service": EC2} and "Condition" not in doc["Statement"][0]


def test_a_session_token_issued_before_a_past_date_cannot_be_valohais(account):
    # Valohai's role session gets fresh credentials: a token issued before 2020 is never its
    result = _trust(account, _assumer(DateLessThan={"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}))
    f = result.one(RULE)
    assert f.status == "fail"
    assert "DateLessThan aws:TokenIssueTime 2020-01-01T00:00:00Z: Valohai's session credentials are recent" in f.message
    ok = _trust(account, _assumer(DateGreaterThan={"aws:TokenIssueTime": "2020-01-01T00:00:00Z"}))
    assert ok.one(RULE).status == "pass"
