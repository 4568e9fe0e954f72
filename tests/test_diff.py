"""`vhv check --diff OLD.json`: new failures, fixed, still failing, against a moto account."""

from __future__ import annotations

import copy
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
    ec2.authorize_security_group_ingress(
        GroupId=account.ids["sg_queue"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 63790, "ToPort": 63790, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
        ],
    )
    capsys.readouterr()
    assert main(["check", "--params", str(params_file), "--diff", str(old), "--format", "json"]) == 1
    diff = json.loads(capsys.readouterr().out)
    assert [(e["rule_id"], e["was"]) for e in diff["new_failures"]] == [("sg-queue-ingress-only-guide", "pass")]
    # the three paths to the queue's address, cut while it was not associated, work again
    assert [(e["rule_id"], e["status"]) for e in diff["fixed"]] == [
        ("eip-associated", "pass"),
        ("path-valohai-to-queue", "pass"),
        ("path-internet-to-queue-http", "pass"),
        ("path-ssh-to-queue", "pass"),
    ]
    assert [e["rule_id"] for e in diff["still_failing"]] == ["worker-role-instance-profile"]
    assert diff["previous"]["summary"]["fail"] == 5

    assert main(["check", "--params", str(params_file), "--diff", str(old)]) == 1
    text = capsys.readouterr().out
    assert "New failures: 1" in text and "Fixed: 4" in text and "Still failing: 1" in text
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


def _many(doc: dict, copies: int) -> dict:
    """`doc` with each finding `copies` times, each copy on its own resource id, every third failing."""
    out = []
    for i in range(copies):
        for f in doc["findings"]:
            out.append(
                {
                    **f,
                    "resource_id": f"{f['resource_id'] or 'r'}-{i}",
                    "status": "fail" if len(out) % 3 == 0 else f["status"],
                }
            )
    statuses = [f["status"] for f in out]
    return {**doc, "findings": out, "summary": {s: statuses.count(s) for s in doc["summary"]}}


def test_a_large_previous_report_gives_the_diff_and_the_errors_jsonschema_gives(
    account, params_file, tmp_path, capsys, monkeypatch
):
    # an independent tester: --diff took 11 s on a 27 MB report, nearly all in jsonschema; a valid
    # report is now checked by a compiled check (render.schema._quick), and nothing the user sees may change
    from validator.render import schema

    old = tmp_path / "old.json"
    assert main(["check", "--params", str(params_file), "--format", "json", "--output", str(old)]) == 0
    big = _many(json.loads(old.read_text()), 30)
    broken = copy.deepcopy(big)
    broken["findings"][-1]["waived"] = {"status": "fail"}
    outputs = []
    for quick in (True, False):
        if not quick:
            monkeypatch.setattr(schema, "_quick", lambda name: None)  # jsonschema alone, as before
        runs = []
        for doc, fmt in ((big, "json"), (big, "console"), (big, "markdown"), (broken, "json")):
            old.write_text(json.dumps(doc))
            code = main(["check", "--params", str(params_file), "--diff", str(old), "--format", fmt])
            runs.append((code, *capsys.readouterr()))
        outputs.append(runs)
    assert outputs[0] == outputs[1]
    diff = json.loads(outputs[0][0][1])
    assert len(diff["fixed"]) == big["summary"]["fail"] and not diff["new_failures"] and not diff["still_failing"]
    code, out, err = outputs[0][-1]
    assert (
        (code, out) == (2, "")
        and f"vhv: {old}: not a vhv JSON report" in err
        and f"findings/{len(big['findings']) - 1}/" in err
    )


def test_an_invalid_previous_report_is_named_by_its_first_problem_and_read_no_further(
    account, params_file, tmp_path, capsys, monkeypatch
):
    # an independent tester: a 40 MB report whose every finding broke the schema took 23 s and 2.1 GB
    # (every jsonschema error collected and sorted, one printed); the line printed stays the same
    from validator.render import schema

    old = tmp_path / "old.json"
    assert main(["check", "--params", str(params_file), "--format", "json", "--output", str(old)]) == 0
    broken = _many(json.loads(old.read_text()), 30)
    for f in broken["findings"][40:]:
        f["title"] = f["message"] = ""  # two errors in each finding from the 41st on
    old.write_text(json.dumps(broken))
    assert main(["check", "--params", str(params_file), "--diff", str(old)]) == 2
    assert capsys.readouterr() == (
        "",
        f"vhv: {old}: not a vhv JSON report (`vhv check --format json`): findings/40/message: '' should be non-empty\n",
    )
    first = schema.errors(broken)
    assert len(first) == 20  # schema.FIRST_ERRORS, not two for each broken finding
    assert first[:2] == ["findings/40/message: '' should be non-empty", "findings/40/title: '' should be non-empty"]
    monkeypatch.setattr(schema, "_quick", lambda name: None)  # jsonschema alone, every item walked
    assert schema.errors(broken) == first


def test_a_previous_report_is_at_most_100_mb(params_file, capsys):
    # at the snapshots' 200 MB, a previous report whose every finding failed took 1.35 GB to diff
    assert main(["check", "--params", str(params_file), "--diff", "/dev/zero"]) == 2
    assert capsys.readouterr().err == (
        "vhv: /dev/zero: previous report is more than 100,000,000 bytes; vhv's JSON "
        "reports are a few MB (100,000 findings: about 65 MB)\n"
    )


@pytest.mark.parametrize("fmt", ["console", "markdown"])
def test_control_characters_of_the_previous_report_are_escaped(account, params_file, tmp_path, capsys, fmt):
    # an independent tester: a previous report's message holding ESC ]0;title BEL and ESC[2J reached
    # the terminal raw through --diff (the check's own report escapes the same text)
    old = tmp_path / "old.json"
    assert main(["check", "--params", str(params_file), "--format", "json", "--output", str(old)]) == 0
    doc = json.loads(old.read_text())
    f = next(f for f in doc["findings"] if f["rule_id"] == "eip-associated")
    f["status"], f["message"] = "fail", "\x1b]0;PWNED\x07\x1b[2J\x1b[31mhello\x9b"
    doc["summary"] = {**doc["summary"], "pass": doc["summary"]["pass"] - 1, "fail": 1}
    old.write_text(json.dumps(doc))
    assert main(["check", "--params", str(params_file), "--diff", str(old), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert not any(c in out for c in "\x1b\x07\x9b"), repr(out)
    assert r"\x1b]0;PWNED\x07\x1b[2J\x1b[31mhello\x9b" in out


def test_an_integer_too_long_for_python_is_one_line_naming_the_file_and_place(account, params_file, tmp_path, capsys):
    # an independent tester: 5,000 digits in the previous report's summary were
    # "internal error: ValueError: Exceeds the limit (4300 digits) for integer string conversion"
    old = tmp_path / "old.json"
    assert main(["check", "--params", str(params_file), "--format", "json", "--output", str(old)]) == 0
    doc = json.loads(old.read_text())
    old.write_text(json.dumps(doc).replace(f'"pass": {doc["summary"]["pass"]}', '"pass": ' + "9" * 5000, 1))
    assert main(["check", "--params", str(params_file), "--diff", str(old)]) == 2
    assert capsys.readouterr() == (
        "",
        f"vhv: {old}: not a vhv JSON report (`vhv check --format json`): summary/pass: "
        "999999999999...(5000 digits) is not a number vhv writes (too many digits)\n",
    )
