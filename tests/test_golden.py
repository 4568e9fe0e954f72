"""The guide's account, built exactly as written, has no failure, and each rule decides."""

import pytest

from tests.conftest import RECIPE_ONLY_RULES, make_account


def test_golden_account_has_no_fail_or_error(account):
    result = account.check()
    bad = [(f.rule_id, f.message) for f in result.findings if f.status in ("fail", "error")]
    assert bad == []
    statuses = {f.rule_id: f.status for f in result.findings}
    # every rule is decided; only Option 2 rules skip (and the data store's "no CORS needed", as its
    # files are uploaded from the web UI, its KMS key's, as it is encrypted with SSE-S3, and its
    # role's rules, as it is reached with the tutorial's IAM user), and only two advisories warn: the queue's
    # Ubuntu 20.04 end of life, and vhv lint on the guide's own ValohaiMasterPolicy (ForAllValues
    # on the single-valued aws:ResourceTag/Valohai), a warn and never a fail
    assert {r for r, s in statuses.items() if s == "skip"} == {
        "master-role-ec2-full-access",
        "master-role-vpc-full-access",
        "data-bucket-cors-unused",
        "data-bucket-kms-key-usable",
        "data-role-exists",
        "data-role-bucket-access",
        "data-role-bucket-only",
        # what only Valohai's recipes make (built_with)
        "queue-instance-disk-template",
        "queue-instance-profile-template",
        *RECIPE_ONLY_RULES,
    }
    role = [f.message for f in result.findings if f.rule_id.startswith("data-role-")]
    assert set(role) == {"applies only when the params name it (data_store.role); they have no data_store.role"}
    assert {r for r, s in statuses.items() if s == "warn"} == {"queue-instance-os-support", "master-policy-lint"}
    [lint] = [f for f in result.findings if f.rule_id == "master-policy-lint"]
    assert "lint-forallvalues-single-valued (warn) at /Statement/1/Condition/ForAllValues:StringEquals" in lint.message
    assert 'write instead: "StringEqualsIfExists": {"aws:ResourceTag/Valohai": ...}' in lint.message
    from validator.findings import exit_code, summary

    assert exit_code(result.findings) == 0
    skips = 9 + len(RECIPE_ONLY_RULES)
    assert summary(result.findings) == {
        "pass": len(result.findings) - 2 - skips,
        "fail": 0,
        "warn": 2,
        "error": 0,
        "skip": skips,
    }


@pytest.mark.managed_policies
def test_golden_option2_account_skips_network_with_reason(moto_env, pack):
    acct = make_account(moto_env, pack, provisioning="valohai", queue_installer="valohai")
    result = acct.check()
    assert result.failing() == set()
    vpc = result.one("vpc-exists")
    assert vpc.status == "skip"
    assert "Option 2" in vpc.message
    assert result.status("master-role-ec2-full-access") == "pass"
    assert result.status("master-role-vpc-full-access") == "pass"
    # no EC2 read at all when Valohai provisions the network
    assert not [c for c in result.calls if c.startswith("ec2:")]


def test_option2_skips_every_rule_of_option1_naming_option2_and_reads_no_ec2(account):
    result = account.check(provisioning="valohai", queue_installer="valohai")
    option1 = [r.id for r in account.pack.rules if r.when.get("provisioning") == "self"]
    assert len(option1) > 40  # the whole network and queue part of the guide
    for rule_id in option1:
        f = result.one(rule_id)
        assert f.status == "skip", (rule_id, f.message)
        assert "Option 2" in f.message and "provisioning: self" in f.message, f.message
    assert [c for c in result.calls if c.startswith("ec2:")] == []
