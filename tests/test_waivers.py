"""Waivers (`vhv check --waivers FILE`, or `waivers:` in the params), against a moto account.

The account is the guide's, with one drift: the Elastic IP is on a second network interface of the
queue, not its primary one, so `eip-associated` is the only failure (exit 1; the guide's paths still
reach the queue through that interface, in valohai-sg-queue). Dates are relative to today.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.conftest import write_snapshot
from validator import rulepack, waivers
from validator.cli import main
from validator.demo import DEMO_PARAMS
from validator.errors import VhvError
from validator.render import schema as report_schema

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
README = Path(__file__).resolve().parent.parent / "README.md"
JUSTIFICATION = "the queue's address is moved by hand during the migration (CHG-2231)"

# the lines DEMO_PARAMS takes in a params file: its waivers: section starts after them
PARAMS_LINES = yaml.safe_dump(DEMO_PARAMS, sort_keys=False).count("\n")


def day(offset: int) -> str:
    # today when the test runs, not when the module was imported: a run that crosses midnight UTC
    # would otherwise write "tomorrow" as a waiver that has already expired
    return (dt.date.today() + dt.timedelta(days=offset)).isoformat()


def waiver(
    rule: str = "eip-associated", resource: str = "valohai-ip-queue", expires: str | None = None, **more: str
) -> dict:
    return {"rule": rule, "resource": resource, "justification": JUSTIFICATION, "expires": expires or day(30), **more}


def write(path: Path, items: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"waivers": items}, sort_keys=False))
    return path


@pytest.fixture
def params_file(tmp_path) -> Path:
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump(DEMO_PARAMS, sort_keys=False))
    return p


@pytest.fixture
def drifted(account):
    """The guide's account with the Elastic IP on a second interface of the queue: eip-associated
    fails, nothing else (an unassociated address would cut the paths to the queue too)."""
    from tests.test_rules_queue import second_interface

    eni = second_interface(account, account.ids["sg_queue"])
    account.ec2.associate_address(AllocationId=account.ids["eip"], NetworkInterfaceId=eni, AllowReassociation=True)
    return account


def check_json(capsys, params_file: Path, *more: str) -> tuple[int, dict]:
    capsys.readouterr()
    code = main(["check", "--params", str(params_file), "--format", "json", *more])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    doc = json.loads(out)
    assert report_schema.errors(doc) == []
    return code, doc


def of(doc: dict, rule_id: str) -> list[dict]:
    found = [f for f in doc["findings"] if f["rule_id"] == rule_id]
    assert found, rule_id
    return found


def one_line_error(capsys) -> str:
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vhv: "), err
    assert out == ""
    return lines[0]


# ------------------------------------------------------------------ applied


@pytest.mark.parametrize("resource", ["valohai-ip-queue", "{eip}", "*"])
def test_waived_failure_is_skip_with_justification_and_expiry_and_exit_drops_to_0(
    drifted, params_file, tmp_path, capsys, resource
):
    code, doc = check_json(capsys, params_file)
    assert code == 1
    assert [f["rule_id"] for f in doc["findings"] if f["status"] == "fail"] == ["eip-associated"]
    original = of(doc, "eip-associated")[0]["message"]

    # expires tomorrow: still in force today
    w = write(
        tmp_path / "waivers.yaml",
        [waiver(resource=resource.format(**drifted.ids), expires=day(1), owner="network-team")],
    )
    code, doc = check_json(capsys, params_file, "--waivers", str(w))
    assert code == 0
    assert doc["summary"]["fail"] == 0
    [f] = of(doc, "eip-associated")
    assert f["status"] == "skip"
    assert f["message"] == f"waived until {day(1)} by network-team: {JUSTIFICATION} (was: {original})"
    assert f["waived"] == {
        "status": "fail",
        "justification": JUSTIFICATION,
        "expires": day(1),
        "owner": "network-team",
        "source": str(w),
        "line": 2,
    }
    assert not [x for x in doc["findings"] if x["rule_id"].startswith("waiver-")]


def test_a_warning_can_be_waived_and_keeps_its_original_status(account, params_file, tmp_path, capsys):
    code, doc = check_json(capsys, params_file)
    assert code == 0 and of(doc, "queue-instance-os-support")[0]["status"] == "warn"
    warns_before = doc["summary"]["warn"]
    w = write(tmp_path / "waivers.yaml", [waiver("queue-instance-os-support", "valohai-i-queue")])
    code, doc = check_json(capsys, params_file, "--waivers", str(w))
    assert code == 0
    [f] = of(doc, "queue-instance-os-support")
    assert f["status"] == "skip" and f["waived"]["status"] == "warn" and f["waived"]["owner"] is None
    assert f["message"].startswith(f"waived until {day(30)}: {JUSTIFICATION} (was: Ubuntu 20.04")
    assert doc["summary"]["warn"] == warns_before - 1


@pytest.mark.parametrize("offset", [0, -1, -400])
def test_expired_waiver_is_ignored_and_says_so(drifted, params_file, tmp_path, capsys, offset):
    w = write(tmp_path / "waivers.yaml", [waiver(expires=day(offset))])
    code, doc = check_json(capsys, params_file, "--waivers", str(w))
    assert code == 1
    assert of(doc, "eip-associated")[0]["status"] == "fail"
    assert "waived" not in of(doc, "eip-associated")[0]
    [note] = of(doc, "waiver-expired")
    assert note["status"] == "warn"
    assert f"expired on {day(offset)} and is ignored" in note["message"]
    assert "(1 fail)" in note["message"]
    assert note["file"] == str(w) and note["line"] == 2 and note["pointer"] == "/waivers/0"


def test_waiver_that_matches_nothing_is_a_warning_saying_what_the_rule_found(drifted, params_file, tmp_path, capsys):
    w = write(
        tmp_path / "waivers.yaml",
        [
            waiver(),  # used
            waiver("vpc-tag", "valohai-vpc"),  # the rule passes
            waiver("eip-associated", "valohai-ip-other"),  # no such resource for this rule
        ],
    )
    code, doc = check_json(capsys, params_file, "--waivers", str(w))
    assert code == 0
    notes = {n["resource_name"]: n for n in of(doc, "waiver-unmatched")}
    assert set(notes) == {"waiver: vpc-tag on valohai-vpc", "waiver: eip-associated on valohai-ip-other"}
    assert all(n["status"] == "warn" for n in notes.values())
    assert "vpc-tag on valohai-vpc passes" in notes["waiver: vpc-tag on valohai-vpc"]["message"]
    other = notes["waiver: eip-associated on valohai-ip-other"]
    assert "has no finding on 'valohai-ip-other'; its findings are on: valohai-ip-queue" in other["message"]
    assert other["line"] == 10
    assert of(doc, "eip-associated")[0]["status"] == "skip"


def test_an_undecided_rule_is_never_waived(account, params_file, tmp_path, capsys):
    snap = tmp_path / "account.json"
    assert main(["snapshot", "--params", str(params_file), "-o", str(snap)]) == 0
    doc = json.loads(snap.read_text())
    doc["errors"]["volumes"] = "ec2:DescribeVolumes: AccessDenied"  # as a denied read is recorded:
    del doc["data"]["volumes"]  # the error, and nothing read
    write_snapshot(snap, doc)
    w = write(tmp_path / "waivers.yaml", [waiver("queue-instance-disk", "valohai-i-queue")])
    code, doc = check_json(capsys, params_file, "--snapshot", str(snap), "--waivers", str(w))
    assert code == 2
    [f] = of(doc, "queue-instance-disk")
    assert f["status"] == "error" and "waived" not in f
    [note] = of(doc, "waiver-unmatched")
    assert "could not be decided (error), and a waiver never covers an undecided rule" in note["message"]


def test_waivers_in_the_params_file_work_too_and_add_to_the_file(drifted, tmp_path, capsys):
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({**DEMO_PARAMS, "waivers": [waiver()]}, sort_keys=False))
    code, doc = check_json(capsys, p)
    assert code == 0
    [f] = of(doc, "eip-associated")
    assert f["status"] == "skip" and f["waived"]["source"] == str(p)
    assert f["waived"]["line"] == PARAMS_LINES + 2

    other = write(tmp_path / "more.yaml", [waiver("vpc-tag", "valohai-vpc")])
    code, doc = check_json(capsys, p, "--waivers", str(other))
    assert code == 0 and of(doc, "eip-associated")[0]["status"] == "skip"
    assert [n["resource_name"] for n in of(doc, "waiver-unmatched")] == ["waiver: vpc-tag on valohai-vpc"]

    # the same rule and resource in both: which one holds? refused
    same = write(tmp_path / "same.yaml", [waiver()])
    assert main(["check", "--params", str(p), "--waivers", str(same)]) == 2
    line = one_line_error(capsys)
    assert "waives eip-associated on valohai-ip-queue again" in line and str(p) in line


# ------------------------------------------------------------------ reports


def test_sarif_marks_a_waived_result_as_suppressed_and_stays_valid(drifted, params_file, tmp_path, capsys):
    w = write(tmp_path / "waivers.yaml", [waiver(owner="network-team"), waiver("vpc-tag", "valohai-vpc")])
    out = tmp_path / "report.sarif"
    assert (
        main(["check", "--params", str(params_file), "--waivers", str(w), "--format", "sarif", "--output", str(out)])
        == 0
    )
    doc = json.loads(out.read_text())
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft4Validator(SARIF_SCHEMA).iter_errors(doc)
    ]
    assert errors == [], errors[:5]
    results = doc["runs"][0]["results"]
    [res] = [r for r in results if r["ruleId"] == "eip-associated"]
    [sup] = res["suppressions"]
    assert sup["kind"] == "external" and sup["status"] == "accepted" and sup["justification"] == JUSTIFICATION
    assert sup["properties"] == {"expires": day(30), "owner": "network-team", "was": "fail"}
    assert sup["location"]["physicalLocation"]["region"] == {"startLine": 2}
    assert res["level"] == "error"  # eip-associated is critical: the level it had before the waiver
    # the unused waiver is a warning result at the waiver's line; no other result is suppressed
    [note] = [r for r in results if r["ruleId"] == "waiver-unmatched"]
    assert note["level"] == "warning" and "suppressions" not in note
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 7
    assert [r["ruleId"] for r in results if "suppressions" in r] == ["eip-associated"]


def test_markdown_lists_waived_findings_with_owner_and_expiry(drifted, params_file, tmp_path, capsys):
    w = write(tmp_path / "waivers.yaml", [waiver(owner="network-team")])
    assert main(["check", "--params", str(params_file), "--waivers", str(w), "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert "### Waived (1)" in text
    row = next(line for line in text.splitlines() if line.startswith("| ❌ fail | `eip-associated`"))
    assert day(30) in row and "network-team" in row and JUSTIFICATION in row


def test_report_schema_requires_a_waived_finding_to_be_skip(drifted, params_file, tmp_path, capsys):
    w = write(tmp_path / "waivers.yaml", [waiver()])
    _, doc = check_json(capsys, params_file, "--waivers", str(w))
    [f] = of(doc, "eip-associated")
    f["status"] = "fail"
    assert any("'skip' was expected" in e for e in report_schema.errors(doc)), report_schema.errors(doc)
    f["status"], f["waived"]["status"] = "skip", "error"
    assert any("waived/status" in e for e in report_schema.errors(doc))


# ------------------------------------------------------------------ bad waiver files: exit 2, one line, no AWS


@pytest.fixture
def dead_aws(monkeypatch):
    """Any AWS call would show up as 'cannot reach': a bad waiver file must be reported before."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


ENTRY = (
    "  - rule: eip-associated\n    resource: valohai-ip-queue\n    justification: accepted\n    expires: 2099-01-31\n"
)
BAD = {
    "missing justification": (
        ENTRY.replace("    justification: accepted\n", ""),
        ["waivers[0] (eip-associated)", "'justification' is missing"],
    ),
    "blank justification": (
        ENTRY.replace("accepted", "'   '"),
        ["waivers[0] (eip-associated).justification: must not be empty"],
    ),
    # an independent tester: a justification of zero-width spaces was accepted as if it said why
    "invisible justification": (
        ENTRY.replace("accepted", '"\\u200b\\u200c\\u200d\\u2060\\ufeff"'),
        ["waivers[0] (eip-associated).justification: must not be empty (say why this failure is accepted)"],
    ),
    "bidi marks and controls as justification": (
        ENTRY.replace("accepted", '"\\u200e\\u200f\\u202a\\u202e\\u2066\\u2069\\x01\\x7f\\x85\\u3000\\u2028"'),
        ["waivers[0] (eip-associated).justification: must not be empty (say why this failure is accepted)"],
    ),
    "invisible owner": (
        ENTRY + '    owner: "\\u200b \\u2060"\n',
        ["waivers[0] (eip-associated).owner: must not be empty"],
    ),
    "missing expires": (ENTRY.replace("    expires: 2099-01-31\n", ""), ["'expires' is missing"]),
    "date not YYYY-MM-DD": (
        ENTRY.replace("2099-01-31", "31.01.2099"),
        ["waivers[0] (eip-associated).expires: '31.01.2099' is not a date as YYYY-MM-DD"],
    ),
    "date that does not exist": (
        ENTRY.replace("2099-01-31", "2099-02-30"),
        ["waivers[0] (eip-associated).expires: '2099-02-30' is not a date"],
    ),
    "unknown rule id": (
        ENTRY.replace("rule: eip-associated", "rule: eip-asociated"),
        ["waivers[0] (eip-asociated).rule: unknown rule id 'eip-asociated'", "did you mean 'eip-associated'?"],
    ),
    "unknown key": (ENTRY + "    ownr: me\n", ["unknown key 'ownr'"]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_waiver_file_is_one_line_naming_file_and_key(dead_aws, params_file, tmp_path, capsys, name):
    body, fragments = BAD[name]
    w = tmp_path / "waivers.yaml"
    w.write_text("waivers:\n" + body)
    assert main(["check", "--params", str(params_file), "--waivers", str(w)]) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"vhv: {w}:2: "), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    assert "cannot reach" not in line


@pytest.mark.parametrize(
    "char",
    [
        "\u200b",
        "\u200c",
        "\u200d",
        "\u2060",
        "\ufeff",
        "\u200e",
        "\u200f",
        *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A)),
        "\x00",
        "\x1b",
        "\x9b",
        "\t",
        "\u00a0",
        "\u2003",
        "\u3000",
        "\u2029",
        "\u3164",
        "\u115f",
        "\uffa0",
        "\u2800",  # letters that draw nothing
        # an independent tester's: marks on nothing, private use, unassigned
        "\u034f",
        "\ufe0f",
        "\U000e0100",
        "\u17b4",
        "\u180b",
        "\U00016fe4",
        "\ue000",
        "\u0378",
    ],
)
def test_a_justification_of_invisible_characters_is_empty(pack, char):
    entry = {**waiver(), "justification": char * 3}
    with pytest.raises(
        VhvError,
        match=re.escape(
            "waivers[0] (eip-associated).justification: must not be empty (say why this failure is accepted)"
        ),
    ):
        waivers.from_data({"waivers": [entry]}, "w.yaml", pack)
    # real text around such marks still says why
    [w] = waivers.from_data(
        {"waivers": [{**entry, "justification": f"{char}CHG-2231{char}", "owner": f"{char}me"}]}, "w.yaml", pack
    )
    assert "CHG-2231" in w.justification and "me" in w.owner


@pytest.mark.parametrize(
    "text, wanted",
    [
        ("waivers: [\n", r":2:1: not valid YAML or JSON"),
        # a billion laughs: without the bound the schema walked 387 million values (52 s, 2.2 GB)
        (
            "a: &a [x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi"))
            + "waivers: *i\n",
            r": expands to more than 200000 values \(YAML aliases\?\); refusing to read it",
        ),
        (
            "waivers:\n- rule: eip-associated\n  rule: queue-ssh\n",
            r":3:3: not valid YAML or JSON: duplicate key 'rule' "
            r"\(first at line 2\)",
        ),
        ("- rule: eip-associated\n", r": expected a mapping with a `waivers:` list .*got a list"),
        ("", r": expected a mapping with a `waivers:` list .*got an empty file"),
        ('{"waivers": {"rule": "eip-associated"}}', r": waivers: .* is not of type 'array'"),
    ],
)
def test_waiver_file_that_is_not_a_waiver_list_is_one_line(dead_aws, params_file, tmp_path, capsys, text, wanted):
    w = tmp_path / "waivers.yaml"
    w.write_text(text)
    assert main(["check", "--params", str(params_file), "--waivers", str(w)]) == 2
    line = one_line_error(capsys)
    assert re.search(re.escape(f"vhv: {w}") + wanted, line), line


def test_missing_waiver_file_is_one_line(dead_aws, params_file, tmp_path, capsys):
    assert main(["check", "--params", str(params_file), "--waivers", str(tmp_path / "nope.yaml")]) == 2
    assert one_line_error(capsys) == f"vhv: {tmp_path / 'nope.yaml'}: waiver file not found"


@pytest.mark.parametrize(
    "entry, wanted",
    [
        (
            {"rule": "eip-associated", "resource": "valohai-ip-queue", "expires": "2099-01-31"},
            "'justification' is missing",
        ),
        ({**waiver(), "rule": "no-such-rule"}, "unknown rule id 'no-such-rule'"),
    ],
)
def test_bad_waiver_in_the_params_file_is_one_line_naming_the_params_file(dead_aws, tmp_path, capsys, entry, wanted):
    p = tmp_path / "params.yaml"
    p.write_text(yaml.safe_dump({**DEMO_PARAMS, "waivers": [entry]}, sort_keys=False))
    assert main(["check", "--params", str(p)]) == 2
    line = one_line_error(capsys)
    assert line.startswith(f"vhv: {p}:{PARAMS_LINES + 2}: waivers[0]") and wanted in line, line


def test_impossible_date_in_the_params_file_is_one_line(dead_aws, tmp_path, capsys):
    p = tmp_path / "params.yaml"
    p.write_text(
        yaml.safe_dump(DEMO_PARAMS, sort_keys=False) + "waivers:\n" + ENTRY.replace("2099-01-31", "2099-02-30")
    )
    assert main(["check", "--params", str(p)]) == 2
    line = 1 + p.read_text().splitlines().index("    expires: 2099-02-30")
    assert one_line_error(capsys).startswith(
        f"vhv: {p}:{line}:14: not valid YAML: '2099-02-30' is not a date "
        "(day is out of range for month); write one that exists, as YYYY-MM-DD"
    )


# ------------------------------------------------------------------ schema and docs


def test_vhv_schema_waivers_prints_the_waiver_schema(capsys):
    assert main(["schema", "waivers"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == waivers.schema()
    jsonschema.Draft202012Validator.check_schema(printed)
    assert set(printed["$defs"]["waiver"]["required"]) == {"rule", "resource", "justification", "expires"}


def test_the_readme_example_is_a_valid_waiver_file():
    text = README.read_text()
    section = text[text.index("### Waivers") :]
    block = section[section.index("```yaml") + len("```yaml") :]
    block = block[: block.index("```")]
    [w] = waivers.from_data(yaml.safe_load(block), "README.md", rulepack.load())
    assert (w.rule, w.resource, w.owner) == ("sg-queue-ingress-only-guide", "valohai-sg-queue", "platform-team")
