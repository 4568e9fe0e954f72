"""rules/1-params.yaml: the recorded values, judged without AWS.

Each rule passes on the demo params and fails on a realistic mistake with a
message that names the key and says what to write instead.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from validator import engine
from validator import findings as findings_mod
from validator import params as params_mod
from validator.demo import ASSUME_ROLE_ARN, DEMO_PARAMS
from validator.errors import VhvError

SOURCE = "params.yaml"


def run(pack, rule_id: str, **overrides: Any) -> findings_mod.Finding:
    """The one finding of `rule_id` for the demo params with `overrides`."""
    prm = params_mod.from_dict({**DEMO_PARAMS, **overrides}, source=SOURCE)
    findings = engine.evaluate_rule(pack.by_id(rule_id), prm, None)
    assert len(findings) == 1, findings
    return findings[0]


def test_every_params_rule_is_tested_here(pack):
    tested = {case[0] for case in PASSING} | {case[0] for case in FAILING} | {"params-region-recommended"}
    tested |= {"params-assume-role-not-master", "params-assume-role-other-account"}  # tests of their own below
    tested |= {"params-built-with", "params-recipe-data-store"}  # tests/test_recipes.py
    assert {r.id for r in pack.rules if r.source == "1-params.yaml"} == tested


PASSING = [
    ("params-region", {}, "region eu-west-1 is a valid AWS region"),
    ("params-region", {"region": "ap-northeast-1"}, "region ap-northeast-1 is a valid AWS region"),
    ("params-assume-role-arn", {}, f"assume_role_arn {ASSUME_ROLE_ARN} is a valid IAM ARN"),
    (
        "params-assume-role-arn",
        {"assume_role_arn": "arn:aws:iam::111122223333:root"},
        "assume_role_arn arn:aws:iam::111122223333:root is a valid IAM ARN",
    ),
    (
        "params-assume-role-arn",
        {"assume_role_arn": "arn:aws:iam::111122223333:role/path/valohai-assumer"},
        "assume_role_arn arn:aws:iam::111122223333:role/path/valohai-assumer is a valid IAM ARN",
    ),
    ("params-assume-role-partition", {}, "assume_role_arn is of partition aws, the partition of eu-west-1"),
    (
        "params-assume-role-partition",
        {"region": "cn-north-1", "assume_role_arn": "arn:aws-cn:iam::111122223333:role/valohai-assumer"},
        "assume_role_arn is of partition aws-cn, the partition of cn-north-1",
    ),
    (
        "params-assume-role-partition",
        {"region": "us-gov-west-1", "assume_role_arn": "arn:aws-us-gov:iam::111122223333:role/valohai-assumer"},
        "assume_role_arn is of partition aws-us-gov, the partition of us-gov-west-1",
    ),
    ("params-vpc-cidr", {}, "vpc_cidr 10.0.0.0/16 is a valid VPC CIDR"),
    ("params-admin-cidr", {}, "admin_cidr 203.0.113.7/32 is a valid admin CIDR (/16 or narrower)"),
    (
        "params-admin-cidr",
        {"admin_cidr": "198.51.0.0/16"},
        "admin_cidr 198.51.0.0/16 is a valid admin CIDR (/16 or narrower)",
    ),
    (
        "params-admin-cidr",
        {"provisioning": "valohai", "queue_installer": "valohai", "admin_cidr": None},
        "admin_cidr is not set and not needed here",
    ),
    ("params-provisioning", {}, "provisioning self is a valid choice"),
    ("params-provisioning", {"provisioning": "valohai"}, "provisioning valohai is a valid choice"),
    ("params-queue-installer", {}, "queue_installer self is a valid choice"),
    ("params-queue-installer", {"queue_installer": "valohai"}, "queue_installer valohai is a valid choice"),
]


@pytest.mark.parametrize(
    "rule_id, overrides, message",
    PASSING,
    ids=[f"{c[0]}-{'-'.join(map(str, c[1].values())) or 'demo'}" for c in PASSING],
)
def test_params_rule_passes(pack, rule_id, overrides, message):
    f = run(pack, rule_id, **overrides)
    assert f.status == "pass"
    assert f.message == message


FAILING = [
    (
        "params-assume-role-partition",
        {"assume_role_arn": "arn:aws-cn:iam::111122223333:role/valohai-assumer"},
        [
            "params.yaml: assume_role_arn: arn:aws-cn:iam::111122223333:role/valohai-assumer is of partition "
            "aws-cn, but eu-west-1 is in partition aws",
            "a principal of aws-cn cannot assume a role in aws",
            "(arn:aws:iam::...)",
        ],
    ),
    ("params-vpc-cidr", {"vpc_cidr": "10.0.0.0/8"}, ["params.yaml: vpc_cidr:", "/16 to /28", "this is /8"]),
    (
        "params-admin-cidr",
        {"admin_cidr": "203.0.113.7"},
        ["params.yaml: admin_cidr:", "no prefix length", "203.0.113.7/32"],
    ),
    (
        "params-region",
        {"region": "eu-west-l"},
        ["params.yaml: region:", "'eu-west-l' is not an AWS region", "did you mean 'eu-west-1'?"],
    ),
    ("params-region", {"region": "us-west-3"}, ["params.yaml: region:", "'us-west-3' is not an AWS region"]),
    (
        "params-region",
        {"region": "EU-WEST-1"},
        ["params.yaml: region:", "'EU-WEST-1' is not an AWS region", "did you mean 'eu-west-1'?"],
    ),
    ("params-region", {"region": "us_west_2"}, ["params.yaml: region:", "did you mean 'us-west-2'?"]),
    ("params-region", {"region": "eu-westt-2"}, ["params.yaml: region:", "did you mean 'eu-west-2'?"]),
    (
        "params-assume-role-arn",
        {"assume_role_arn": "arn:aws:iam::11112222333:role/valohai-assumer"},
        ["params.yaml: assume_role_arn:", "account '11112222333' is not 12 digits"],
    ),
    (
        "params-assume-role-arn",
        {"assume_role_arn": "valohai-assumer"},
        [
            "params.yaml: assume_role_arn:",
            "'valohai-assumer' is not an ARN",
            "expected arn:aws:iam::<12-digit account>:role/<name>",
        ],
    ),
    (
        "params-assume-role-arn",
        {"assume_role_arn": "arn:aws:sts::111122223333:assumed-role/valohai-assumer/s"},
        ["params.yaml: assume_role_arn:", "service 'sts' should be 'iam'"],
    ),
    (
        "params-assume-role-arn",
        {"assume_role_arn": "arn:aws:iam:eu-west-1:111122223333:role/valohai-assumer"},
        ["params.yaml: assume_role_arn:", "IAM ARNs have an empty region field, found 'eu-west-1'"],
    ),
    (
        "params-assume-role-arn",
        {"assume_role_arn": "arn:aws:iam::111122223333:policy/valohai"},
        ["params.yaml: assume_role_arn:", "resource 'policy/valohai' should be role/<name>, user/<name> or root"],
    ),
    (
        "params-assume-role-arn",
        {"assume_role_arn": "arn:aws:iam::111122223333"},
        ["params.yaml: assume_role_arn:", "has 5 ':'-separated fields, an IAM ARN has 6"],
    ),
    (
        "params-vpc-cidr",
        {"vpc_cidr": "10.0.0.1/16"},
        ["params.yaml: vpc_cidr:", "'10.0.0.1/16' has host bits set", "did you mean '10.0.0.0/16'?"],
    ),
    (
        "params-vpc-cidr",
        {"vpc_cidr": "10.0.0.0/33"},
        ["params.yaml: vpc_cidr:", "'10.0.0.0/33' is not a CIDR", "write it as 10.0.0.0/16"],
    ),
    ("params-vpc-cidr", {"vpc_cidr": "fd00::/56"}, ["params.yaml: vpc_cidr:", "'fd00::/56' is IPv6", "IPv4"]),
    (
        "params-admin-cidr",
        {"admin_cidr": "203.0.113.7/24"},
        ["params.yaml: admin_cidr:", "has host bits set", "did you mean '203.0.113.0/24'?"],
    ),
    ("params-admin-cidr", {"admin_cidr": "my-ip"}, ["params.yaml: admin_cidr:", "'my-ip' is not a CIDR"]),
    # an independent tester: 0.0.0.0/0 passed, so SSH to the queue from the whole internet passed too
    (
        "params-admin-cidr",
        {"admin_cidr": "0.0.0.0/0"},
        ["params.yaml: admin_cidr:", "'0.0.0.0/0' lets the whole internet SSH to the queue", "write it as a /32"],
    ),
    (
        "params-admin-cidr",
        {"admin_cidr": "0.0.0.0/1"},
        ["params.yaml: admin_cidr:", "'0.0.0.0/1' lets 2,147,483,648 addresses SSH to the queue"],
    ),
    (
        "params-provisioning",
        {"provisioning": "Self"},
        ["params.yaml: provisioning:", "'Self' is not one of: self, valohai"],
    ),
    (
        "params-provisioning",
        {"provisioning": "option 1"},
        ["params.yaml: provisioning:", "'option 1' is not one of: self, valohai"],
    ),
    (
        "params-queue-installer",
        {"queue_installer": "me"},
        ["params.yaml: queue_installer:", "'me' is not one of: self, valohai"],
    ),
]


@pytest.mark.parametrize(
    "rule_id, overrides, fragments", FAILING, ids=[f"{c[0]}-{'-'.join(map(str, c[1].values()))}" for c in FAILING]
)
def test_params_rule_fails_naming_the_key_and_the_fix(pack, rule_id, overrides, fragments):
    f = run(pack, rule_id, **overrides)
    assert f.status == "fail"
    for part in fragments:
        assert part in f.message, (part, f.message)
    ((key, value),) = overrides.items()
    assert f.actual == value
    assert f.resource_id == key
    assert f.fix == pack.by_id(rule_id).fix  # the rule's own fix is carried to the report


def test_only_the_wrong_params_rule_fails(pack):
    prm = params_mod.from_dict({**DEMO_PARAMS, "region": "eu-west-l"}, source=SOURCE)
    findings = engine.evaluate(pack, prm, None)
    assert {f.rule_id for f in findings} == {r.id for r in pack.rules if r.resource == "params"}
    assert {f.rule_id for f in findings if f.status == "fail"} == {"params-region"}
    # the advisory on the same key only warns, whatever the region
    assert next(f for f in findings if f.rule_id == "params-region-recommended").status == "warn"


def test_the_guides_placeholder_blocks_the_account_check(pack):
    """A placeholder is a value not filled in: loading refuses it as it refuses a missing key, and
    the rule judges it so too when params reach it otherwise."""
    with pytest.raises(VhvError) as exc:
        params_mod.from_dict({**DEMO_PARAMS, "assume_role_arn": "RECORDED AssumeRole ARN HERE"}, source=SOURCE)
    assert str(exc.value) == (
        "params.yaml: assume_role_arn: 'RECORDED AssumeRole ARN HERE' is a placeholder; "
        "ask your Valohai contact for the AssumeRole ARN"
    )
    prm = dataclasses.replace(
        params_mod.from_dict(dict(DEMO_PARAMS), source=SOURCE), assume_role_arn="RECORDED ARN HERE"
    )
    blocking = engine.blocking_failures(pack, prm)
    assert [f.rule_id for f in blocking] == ["params-assume-role-arn"]
    assert "'RECORDED ARN HERE' is the guide's placeholder; ask your Valohai contact" in blocking[0].message


# ------------------------------------------------------------------ advisory


@pytest.mark.parametrize("region", ["us-west-2", "eu-west-1"])
def test_region_recommended_passes_for_the_guides_gpu_regions(pack, region):
    f = run(pack, "params-region-recommended", region=region)
    assert f.status == "pass"
    assert f.message == f"region {region} is one the guide recommends"


@pytest.mark.parametrize("region", ["eu-central-1", "us-east-1"])
def test_region_recommended_warns_but_does_not_fail_elsewhere(pack, region):
    f = run(pack, "params-region-recommended", region=region)
    assert f.status == "warn"
    assert f"region {region} is not one the guide recommends (us-west-2, eu-west-1)" in f.message
    assert "widest choice of GPU instance types" in f.message
    assert "us-west-2" in f.fix and "eu-west-1" in f.fix


def test_a_typo_d_params_key_is_refused_with_the_key_it_meant(tmp_path):
    # found by an independent tester: `acount_id` was ignored, and with it remediate's account guard
    from validator import params as params_mod
    from validator.errors import VhvError

    with pytest.raises(VhvError, match=r"unknown key 'acount_id'; did you mean 'account_id'\?"):
        params_mod.from_dict({**DEMO_PARAMS, "acount_id": "123456789012"}, source="p.yaml")
    assert params_mod.from_dict({**DEMO_PARAMS, "x-team": "ml"}, source="p.yaml").get("x-team") == "ml"


@pytest.mark.parametrize("value", ["", False, 0, "12345678901", "1234567890123", "12345678901x", True, 1.5])
def test_an_account_id_that_is_not_12_digits_is_refused(value):
    # an independent tester: account_id "" / false / 0 switched remediate's account guard off, silently
    from validator import params as params_mod
    from validator.errors import VhvError

    with pytest.raises(
        VhvError,
        match=r"^p\.yaml: account_id: .* is not a 12-digit AWS account id; write the "
        r"account vhv may change, quoted",
    ):
        params_mod.from_dict({**DEMO_PARAMS, "account_id": value}, source="p.yaml")
    for good in ("123456789012", 123456789012):
        assert params_mod.from_dict({**DEMO_PARAMS, "account_id": good}, source="p.yaml").get("account_id") == good


# ------------------------------------------------------------------ the AssumeRole ARN against the region and the account

ACCOUNT_ID = "123456789012"  # the demo's account (validator.demo.ACCOUNT), as the params' account_id
MASTER_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/ValohaiMaster"


def test_a_region_of_another_partition_than_the_arn_fails_on_the_arn(pack):
    f = run(pack, "params-assume-role-partition", region="cn-northwest-1")
    assert f.status == "fail"
    assert f.message.startswith(
        f"params.yaml: assume_role_arn: {ASSUME_ROLE_ARN} is of partition aws, but cn-northwest-1 is in partition aws-cn"
    )
    assert (f.resource_id, f.actual, f.expected) == ("assume_role_arn", ASSUME_ROLE_ARN, "arn:aws-cn:iam::...")


@pytest.mark.parametrize(
    "arn",
    [
        MASTER_ARN,
        f"arn:aws:iam::{ACCOUNT_ID}:role/team/ValohaiMaster",
        f"arn:aws:iam::{ACCOUNT_ID}:role/valohaimaster",  # IAM role names are case-insensitive
    ],
)
def test_the_master_role_itself_as_assume_role_arn_fails(pack, arn):
    f = run(pack, "params-assume-role-not-master", account_id=ACCOUNT_ID, assume_role_arn=arn)
    assert f.status == "fail"
    assert f.severity == "critical"
    assert f.message.startswith(
        f"params.yaml: assume_role_arn: {arn} is ValohaiMaster itself, in the account being checked "
        f"({ACCOUNT_ID}): the role would trust only itself, so Valohai cannot assume it"
    )
    # a principal of this account, too
    assert run(pack, "params-assume-role-other-account", account_id=ACCOUNT_ID, assume_role_arn=arn).status == "warn"


def test_another_principal_of_the_checked_account_warns(pack):
    arn = f"arn:aws:iam::{ACCOUNT_ID}:role/valohai-assumer"
    f = run(pack, "params-assume-role-other-account", account_id=ACCOUNT_ID, assume_role_arn=arn)
    assert f.status == "warn"
    assert f.message == (
        f"params.yaml: assume_role_arn: {arn} is a principal of the account being checked ({ACCOUNT_ID}); "
        "Valohai's principal lives in Valohai's account: was the right ARN recorded?"
    )
    assert run(pack, "params-assume-role-not-master", account_id=ACCOUNT_ID, assume_role_arn=arn).status == "pass"


def test_valohais_principal_in_another_account_passes(pack):
    f = run(pack, "params-assume-role-other-account", account_id=ACCOUNT_ID)
    assert (f.status, f.message) == (
        "pass",
        f"assume_role_arn {ASSUME_ROLE_ARN} is of account 111122223333, not the one checked ({ACCOUNT_ID})",
    )
    f = run(pack, "params-assume-role-not-master", account_id=ACCOUNT_ID)
    assert (f.status, f.message) == (
        "pass",
        f"assume_role_arn {ASSUME_ROLE_ARN} is not ValohaiMaster of account {ACCOUNT_ID}",
    )


@pytest.mark.parametrize("rule_id", ["params-assume-role-not-master", "params-assume-role-other-account"])
def test_without_the_account_the_account_rules_skip_saying_why(pack, rule_id):
    f = run(pack, rule_id)
    assert f.status == "skip"
    assert f.message == "the account being checked is not known here (not read; the params give no account_id)"


def test_the_account_read_is_the_one_compared(account):
    """On moto: the account read (not the params' account_id, absent here) is the one compared."""
    result = account.check(assume_role_arn=MASTER_ARN)
    assert result.status("params-assume-role-not-master") == "fail"
    assert result.status("params-assume-role-other-account") == "warn"
    assert (
        "ValohaiMaster itself, in the account being checked (123456789012)"
        in result.one("params-assume-role-not-master").message
    )
    assert "params-assume-role-not-master" in result.failing()
    golden = account.check()
    for rule_id in (
        "params-assume-role-partition",
        "params-assume-role-not-master",
        "params-assume-role-other-account",
    ):
        assert golden.status(rule_id) == "pass"
