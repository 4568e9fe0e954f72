"""The guide's account, built exactly as written, has no failure, and each rule decides."""
import pytest

from tests.conftest import make_account


def test_golden_account_has_no_fail_or_error(account):
    result = account.check()
    bad = [(f.rule_id, f.message) for f in result.findings if f.status in ("fail", "error")]
    assert bad == []
    statuses = {f.rule_id: f.status for f in result.findings}
    # every rule is decided; only Option 2 rules skip, and only the EOL advisory warns
    assert {r for r, s in statuses.items() if s == "skip"} == {"master-role-ec2-full-access", "master-role-vpc-full-access"}
    assert {r for r, s in statuses.items() if s == "warn"} == {"queue-instance-os-support"}


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
