"""`vhv check --diff OLD.json`: new failures, fixed, still failing, against a moto account."""
from __future__ import annotations

import json

import pytest
import yaml

from validator.cli import main
from validator.demo import DEMO_PARAMS


@pytest.fixture
def params_file(tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(DEMO_PARAMS))
    return p


def test_diff_names_new_fixed_and_still_failing(account, params_file, tmp_path, capsys):
    ec2, iam = account.ec2, account.iam
    # before: the EIP is not associated, the worker role has no instance profile
    assoc = ec2.describe_addresses(AllocationIds=[account.ids["eip"]])["Addresses"][0]["AssociationId"]
    ec2.disassociate_address(AssociationId=assoc)
    iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    old = tmp_path / "old.json"
    assert main(["check", "--params", str(params_file), "--format", "json", "--output", str(old)]) == 1
    # now: the EIP is fixed, Redis is opened to the world, the instance profile is still empty
    ec2.associate_address(AllocationId=account.ids["eip"], InstanceId=account.ids["instance"])
    ec2.authorize_security_group_ingress(GroupId=account.ids["sg_queue"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 63790, "ToPort": 63790, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    capsys.readouterr()
    assert main(["check", "--params", str(params_file), "--diff", str(old), "--format", "json"]) == 1
    diff = json.loads(capsys.readouterr().out)
    assert [(e["rule_id"], e["was"]) for e in diff["new_failures"]] == [("sg-queue-ingress-only-guide", "pass")]
    assert [(e["rule_id"], e["status"]) for e in diff["fixed"]] == [("eip-associated", "pass")]
    assert [e["rule_id"] for e in diff["still_failing"]] == ["worker-role-instance-profile"]
    assert diff["previous"]["summary"]["fail"] == 2

    assert main(["check", "--params", str(params_file), "--diff", str(old)]) == 1
    text = capsys.readouterr().out
    assert "New failures: 1" in text and "Fixed: 1" in text and "Still failing: 1" in text
    assert "FAIL  (was pass) sg-queue-ingress-only-guide [valohai-sg-queue" in text
    assert main(["check", "--params", str(params_file), "--diff", str(old), "--format", "markdown"]) == 1
    assert "| New failures | 1 |" in capsys.readouterr().out


def test_diff_refuses_what_is_not_a_report(params_file, tmp_path, capsys):
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps({"tool": "vhv", "findings": []}))
    assert main(["check", "--params", str(params_file), "--diff", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "not a vhv JSON report" in err and "Traceback" not in err
    assert main(["check", "--params", str(params_file), "--diff", str(bad), "--format", "sarif"]) == 2
    assert "--diff writes console, json, markdown, not sarif" in capsys.readouterr().err
    bad.write_text("{")
    assert main(["check", "--params", str(params_file), "--diff", str(bad)]) == 2
    assert "the previous report is not JSON" in capsys.readouterr().err
