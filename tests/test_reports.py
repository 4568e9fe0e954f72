"""Every report format, from a real (moto) account with drifts, read by the tools that consume it.

- JSON: valid against the schema vhv ships (`vhv schema`).
- SARIF: valid against the official SARIF 2.1.0 schema (tests/data/sarif-schema-2.1.0.json).
- JUnit: read by junitparser, counts equal to the JSON summary.
- Markdown: the summary table and every failure with expected/actual/fix.
- HTML: self-contained; opened in headless Chromium (skipped, with the reason, on a machine
  without it; a failure under CI=true, where .ci/run installs it).
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import boto3
import jsonschema
import pytest
import yaml
from junitparser import Error, Failure, JUnitXml, Skipped
from moto import mock_aws

from validator import engine
from validator import findings as findings_mod
from validator import params as params_mod
from validator.aws.account import read
from validator.aws.session import Target
from validator.cli import main
from validator.demo import DEMO_PARAMS, apply_demo_drifts, build_golden
from validator.findings import Finding
from validator.render import EXTENSIONS, FORMATS, renderer
from validator.render import schema as report_schema
from validator.render.console import render as console_render

REGION = DEMO_PARAMS["region"]
SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
# the demo's six drifts, by the rule each one breaks, and the three paths to the queue's address
# that the unassociated address cuts (rules/6-paths.yaml)
DRIFTED = {
    "master-policy-within-guide",
    "worker-role-instance-profile",
    "sg-queue-ingress-only-guide",
    "master-role-no-ec2-full-access",
    "eip-associated",
    "data-bucket-block-public-access",
    "path-valohai-to-queue",
    "path-internet-to-queue-http",
    "path-ssh-to-queue",
}
UNDECIDED = "queue-instance-disk"  # the volume read is made to fail: this rule is `error`


@pytest.fixture(scope="module")
def drifted(pack, tmp_path_factory):
    """(findings, meta) of the guide's account with the demo's drifts, plus one read that failed
    (DescribeVolumes denied, recorded in the snapshot as a real denied call would be), so every
    status occurs: pass, fail, warn, error, skip."""
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # AmazonEC2FullAccess is attached by a drift
    params_file = tmp_path_factory.mktemp("params") / "params.yaml"
    params_file.write_text(yaml.safe_dump(DEMO_PARAMS, sort_keys=False))
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        ids = build_golden(session)
        apply_demo_drifts(session, ids, REGION)
        prm = params_mod.from_dict(dict(DEMO_PARAMS), source=str(params_file))
        snap, _ = read(prm, Target(region=REGION))
    snap.errors["volumes"] = "ec2:DescribeVolumes: AccessDenied"
    findings = engine.evaluate(pack, prm, snap)
    meta = {"account_id": snap.account_id, "region": snap.region, "params_file": str(params_file)}
    return findings, meta


def summary_of(findings) -> dict[str, int]:
    return findings_mod.summary(findings)


def test_the_account_under_test_has_every_status(drifted):
    findings, _ = drifted
    assert {f.rule_id for f in findings if f.status == "fail"} == DRIFTED
    assert {f.rule_id for f in findings if f.status == "error"} == {UNDECIDED}
    assert all(summary_of(findings)[s] > 0 for s in ("pass", "fail", "warn", "error", "skip"))


# ------------------------------------------------------------------ json


def test_json_report_is_valid_against_the_shipped_schema(drifted):
    findings, meta = drifted
    doc = json.loads(renderer("json")(findings, meta))
    jsonschema.Draft202012Validator.check_schema(report_schema.load())
    assert report_schema.errors(doc) == []
    assert doc["summary"] == summary_of(findings)
    assert sum(doc["summary"].values()) == len(doc["findings"])


def test_json_schema_rejects_what_breaks_the_contract(drifted):
    findings, meta = drifted
    doc = json.loads(renderer("json")(findings, meta))
    bad = json.loads(json.dumps(doc))
    bad["findings"][0]["status"] = "ok"
    del bad["findings"][1]["expected"]
    bad["summary"]["fail"] = -1
    errs = report_schema.errors(bad)
    assert any(e.startswith("findings/0/status") for e in errs), errs
    assert any(e.startswith("findings/1") and "'expected' is a required property" in e for e in errs), errs
    assert any(e.startswith("summary/fail") for e in errs), errs


ODD_VALUES = (
    None,
    "",
    " ",
    "x",
    "pass",
    "Fail",
    "AWS::EC2::VPC",
    "a-b",
    "123456789012",
    "2099-01-31",
    "31.01.2099",
    0,
    -1,
    1,
    1.0,
    1.5,
    True,
    False,
    [],
    ["x"],
    {},
    {"status": "fail"},
)


def _mutants(doc: dict):
    """`doc` with one value replaced (by each of ODD_VALUES), removed, or one key added, anywhere."""

    def walk(node, path):
        if isinstance(node, dict):
            yield path + ["x-extra"], "add"
            yield path + ["extra"], "add"
            for k in node:
                yield path + [k], "del"
                yield from walk(node[k], path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, path + [i])
        if path:
            yield path, "set"

    for path, how in walk(doc, []):
        for value in ODD_VALUES if how != "del" else (None,):
            out = copy.deepcopy(doc)
            parent = out
            for p in path[:-1]:
                parent = parent[p]
            if how == "del":
                del parent[path[-1]]
            else:
                parent[path[-1]] = copy.deepcopy(value)
            yield out


def test_the_quick_schema_check_says_valid_exactly_when_jsonschema_does():
    # `--diff` checks a large previous report with a compiled check (validator/shape.py) (jsonschema took 5 s for
    # 27 MB); a document it calls valid must be one jsonschema finds no error in, anywhere
    located = json.loads(renderer("json")([lint_finding()], {}))["findings"][0]
    plain = {k: v for k, v in located.items() if k not in ("file", "line", "column", "pointer")}
    waived = {
        **plain,
        "status": "skip",
        "waived": {
            "status": "fail",
            "justification": "j",
            "expires": "2099-01-31",
            "owner": None,
            "source": "w.yaml",
            "line": 3,
        },
    }
    doc = {
        "tool": "vhv",
        "version": "0.1.0",
        "account_id": "123456789012",
        "region": "eu-west-1",
        "summary": {"pass": 0, "fail": 1, "warn": 0, "error": 0, "skip": 1},
        "findings": [plain, located, waived],
    }
    quick = report_schema._quick("report")
    slow = jsonschema.Draft202012Validator(report_schema.load())
    assert quick is not None and quick(doc) and slow.is_valid(doc)
    seen = {True: 0, False: 0}
    for mutant in _mutants(doc):
        valid = slow.is_valid(mutant)
        # the quick check is stricter only where JSON Schema calls 1.0 an integer; either way a
        # "no" goes to jsonschema, which answers (and words the message)
        assert quick(mutant) == valid or (valid and "1.0" in json.dumps(mutant)), (
            mutant,
            list(slow.iter_errors(mutant))[:1],
        )
        assert report_schema.errors(mutant) == [] if valid else report_schema.errors(mutant)
        seen[valid] += 1
    assert seen[True] > 50 and seen[False] > 500, seen  # both sides were exercised


def test_json_schema_accepts_lint_findings_with_a_location():
    f = lint_finding()
    doc = json.loads(renderer("json")([f], {}))
    assert report_schema.errors(doc) == []
    assert doc["findings"][0]["line"] == 4 and doc["findings"][0]["pointer"] == "/Statement/0/Resource"


def test_vhv_schema_prints_the_shipped_schema(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == report_schema.load()
    assert main(["schema", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no schema named 'nope'" in err and "Traceback" not in err


# ------------------------------------------------------------------ sarif


def sarif_of(findings, meta) -> dict:
    doc = json.loads(renderer("sarif")(findings, meta))
    errors = [
        f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft4Validator(SARIF_SCHEMA).iter_errors(doc)
    ]
    assert errors == [], errors[:5]
    return doc


def test_sarif_is_valid_and_holds_every_finding_that_needs_attention(drifted):
    findings, meta = drifted
    run = sarif_of(findings, meta)["runs"][0]
    assert run["properties"]["summary"] == summary_of(findings)
    got = {(r["ruleId"], r["properties"]["status"]) for r in run["results"]}
    want = {(f.rule_id, f.status) for f in findings if f.status in ("fail", "warn", "error")}
    assert got == want
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules) == len({f.rule_id for f in findings})
    for res in run["results"]:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]


def test_sarif_rules_carry_help_and_severity(drifted):
    findings, meta = drifted
    rules = {r["id"]: r for r in sarif_of(findings, meta)["runs"][0]["tool"]["driver"]["rules"]}
    sg = next(f for f in findings if f.rule_id == "sg-queue-ingress-only-guide")
    rule = rules[sg.rule_id]
    assert sg.severity == "critical"
    assert rule["defaultConfiguration"]["level"] == "error"
    assert rule["properties"]["security-severity"] == "9.5"
    assert "security" in rule["properties"]["tags"]
    assert sg.fix in rule["help"]["text"] and sg.section in rule["help"]["text"]
    by_severity = {f.severity: rules[f.rule_id] for f in findings}
    levels = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
    for severity, r in by_severity.items():
        assert r["defaultConfiguration"]["level"] == levels[severity]
        score = r["properties"].get("security-severity")
        if severity == "info":
            assert score is None
        else:
            lo, hi = {"critical": (9.0, 10.0), "high": (7.0, 8.9), "medium": (4.0, 6.9), "low": (0.1, 3.9)}[severity]
            assert lo <= float(score) <= hi


def test_sarif_check_results_point_at_the_aws_resource(drifted):
    findings, meta = drifted
    run = sarif_of(findings, meta)["runs"][0]
    sg = next(f for f in findings if f.rule_id == "sg-queue-ingress-only-guide")
    res = next(r for r in run["results"] if r["ruleId"] == sg.rule_id)
    loc = res["locations"][0]
    assert sg.resource_id.startswith("sg-")
    assert (
        loc["physicalLocation"]["artifactLocation"]["uri"] == f"aws://{REGION}/AWS::EC2::SecurityGroup/{sg.resource_id}"
    )
    assert loc["logicalLocations"][0]["name"] == "valohai-sg-queue"
    assert res["level"] == "error" and res["kind"] == "fail"
    role = next(r for r in run["results"] if r["ruleId"] == "master-role-no-ec2-full-access")
    assert (
        role["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "aws://global/AWS::IAM::Role/ValohaiMaster"
    )
    assert role["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].endswith(":role/ValohaiMaster")


def test_sarif_undecided_rule_is_an_open_result_and_a_notification(drifted):
    findings, meta = drifted
    run = sarif_of(findings, meta)["runs"][0]
    res = next(r for r in run["results"] if r["ruleId"] == UNDECIDED)
    assert res["kind"] == "open" and res["level"] == "none"
    inv = run["invocations"][0]
    assert inv["executionSuccessful"] is False and inv["exitCode"] == 2
    assert [n["descriptor"]["id"] for n in inv["toolExecutionNotifications"]] == [UNDECIDED]


def test_sarif_params_results_point_at_the_params_file_line(tmp_path, pack):
    params_file = tmp_path / "params.yaml"
    params_file.write_text("# recorded values\nregion: eu-west-1\nvpc_cidr: 10.0.0.0/33\n")
    bad = next(
        f
        for f in engine.evaluate(
            pack, params_mod.from_dict({**DEMO_PARAMS, "vpc_cidr": "10.0.0.0/33"}, source=str(params_file)), None
        )
        if f.status == "fail"
    )
    assert bad.resource_type == "Params" and bad.resource_id == "vpc_cidr"
    run = sarif_of([bad], {"params_file": str(params_file)})["runs"][0]
    phys = run["results"][0]["locations"][0]["physicalLocation"]
    assert phys["artifactLocation"]["uri"] == params_file.as_uri()
    assert phys["region"] == {"startLine": 3}


def lint_finding() -> Finding:
    return Finding(
        rule_id="policy-passrole-star",
        title="iam:PassRole is not allowed on *",
        severity="high",
        status="fail",
        resource_type="AWS::IAM::Policy",
        resource_id=None,
        resource_name="master.json",
        message="Statement 0 allows iam:PassRole on *",
        expected="a role ARN",
        actual="*",
        fixable=False,
        fix="Name the role in Resource.",
        file="policies/master.json",
        line=4,
        column=19,
        pointer="/Statement/0/Resource",
    )


def test_sarif_lint_results_carry_file_and_region():
    run = sarif_of([lint_finding()], {})["runs"][0]
    loc = run["results"][0]["locations"][0]
    assert loc["physicalLocation"] == {
        "artifactLocation": {"uri": "policies/master.json"},
        "region": {"startLine": 4, "startColumn": 19},
    }
    assert loc["logicalLocations"][0]["fullyQualifiedName"] == "/Statement/0/Resource"


# ------------------------------------------------------------------ junit


def test_junit_is_read_by_a_junit_parser_with_the_json_counts(drifted, tmp_path):
    findings, meta = drifted
    path = tmp_path / "report.xml"
    path.write_text(renderer("junit")(findings, meta))
    xml = JUnitXml.fromfile(str(path))
    s = summary_of(findings)
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (len(findings), s["fail"], s["error"], s["skip"])
    cases = [c for suite in xml for c in suite]
    assert len(cases) == len(findings)
    assert len({(c.classname, c.name) for c in cases}) == len(cases)
    kinds = {"fail": Failure, "error": Error, "skip": Skipped}
    for suite in xml:
        assert suite.tests == len(list(suite))
    results = {}
    for c in cases:
        results.setdefault(c.name.split(" #")[0], set()).update(type(r) for r in c.result)
    for f in findings:
        if f.status in kinds:
            assert kinds[f.status] in results[f.rule_id], f.rule_id
    sg = next(f for f in findings if f.rule_id == "sg-queue-ingress-only-guide")
    case = next(c for c in cases if c.name == sg.rule_id)
    failure = case.result[0]
    assert isinstance(failure, Failure) and failure.message == sg.message and failure.type == "critical"
    for part in (f"expected: {sg.expected}", f"actual:   {sg.actual}", f"fix:      {sg.fix}"):
        assert part in failure.text


def test_junit_survives_text_that_xml_cannot_hold():
    f = lint_finding()
    f.message = "bad <tag> & \x01 control"
    xml = renderer("junit")([f], {})
    assert "&lt;tag&gt; &amp;" in xml and "\x01" not in xml


# ------------------------------------------------------------------ markdown


def test_markdown_has_the_summary_table_and_every_failure(drifted):
    findings, meta = drifted
    md = renderer("markdown")(findings, meta)
    s = summary_of(findings)
    for status in ("pass", "fail", "warn", "error", "skip"):
        assert re.search(rf"^\| \S+ {status} \| {s[status]} \|$", md, re.M), status
    assert "the account does not match" not in md  # an undecided rule wins: exit 2
    assert "**some rules could not be decided** (exit 2)" in md
    failures = md.split("### Failures (9)")[1].split("### ")[0]
    for f in findings:
        if f.status == "fail":
            assert f"<code>{f.rule_id}</code>" in failures
            assert f.expected in failures and f.actual in failures and f.fix in failures
    assert failures.count("<details>") == 9  # more than five need attention: each one folds


def test_markdown_does_not_fold_a_short_report_and_keeps_tables_intact():
    f = lint_finding()
    f.message = "a | b\nnext"
    md = renderer("markdown")([f, Finding(**{**f.to_dict(), "status": "pass", "rule_id": "other"})], {})
    assert "#### ❌ **FAIL** `policy-passrole-star`" in md
    assert md.count("<details>") == 1  # only the passed table
    assert "| a \\| b<br>next |" in md


# ------------------------------------------------------------------ html


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, str | None]] = []
        self.ids: dict[str, str] = {}
        self._id: str | None = None
        self.refs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "data-status" in a:
            self.rows.append(a)
        if tag == "body":
            self.ids["body-ready"] = a.get("data-ready") or ""
        self._id = a.get("id")
        for k in ("src", "href"):
            if a.get(k):
                self.refs.append(a[k])

    def handle_data(self, data):
        if self._id and data.strip():
            self.ids.setdefault(self._id, data.strip())


def parse_html(text: str) -> _Rows:
    p = _Rows()
    p.feed(text)
    return p


def test_html_is_self_contained_with_a_row_per_finding(drifted):
    findings, meta = drifted
    text = renderer("html")(findings, meta)
    page = parse_html(text)
    s = summary_of(findings)
    assert page.refs == []  # no stylesheet, script or image from anywhere
    assert "default-src 'none'" in text
    for status in s:
        assert page.ids[f"count-{status}"] == str(s[status])
        assert sum(r["data-status"] == status for r in page.rows) == s[status]
    sg = next(f for f in findings if f.rule_id == "sg-queue-ingress-only-guide")
    from html import escape

    for part in (sg.expected, sg.actual, sg.fix):
        assert escape(part) in text


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def browse(html_file: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


NO_CHROMIUM = "headless HTML check needs Chromium (Debian: apt-get install -y chromium); not installed on this machine"


def require_chromium() -> str:
    """Chromium's path. Without it the browser test is skipped, with the reason; under CI=true
    (as .ci/run sets it, and as CI services do) it fails: CI must not pass without running it."""
    found = chromium()
    if found is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true: {NO_CHROMIUM} (.ci/run installs it as root)", pytrace=False)
        pytest.skip(NO_CHROMIUM)
    return found


@pytest.fixture
def chromium_path() -> str:
    return require_chromium()


needs_chromium = pytest.mark.usefixtures("chromium_path")


@needs_chromium
def test_html_in_a_browser_filters_sorts_and_counts_like_the_json(drifted, tmp_path):
    findings, meta = drifted
    s = summary_of(findings)
    page_file = tmp_path / "report.html"
    page_file.write_text(renderer("html")(findings, meta))
    url = page_file.as_uri()

    dom = browse(page_file, tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    page = parse_html(dom.stdout)
    assert page.ids["body-ready"] == "1"  # the script ran
    assert page.ids["shown-n"] == str(len(findings))
    for status in s:
        assert page.ids[f"count-{status}"] == str(s[status])

    dom = browse(page_file, tmp_path, "--dump-dom", url + "#status=fail,error&sort=severity")
    page = parse_html(dom.stdout)
    visible = [r for r in page.rows if "hidden" not in r]
    assert page.ids["shown-n"] == str(s["fail"] + s["error"]) == str(len(visible))
    assert {r["data-status"] for r in visible} == {"fail", "error"}
    order = ["critical", "high", "medium", "low", "info"]
    ranks = [order.index(r["data-severity"]) for r in page.rows]
    assert ranks == sorted(ranks)

    shot = tmp_path / "report.png"
    got = browse(page_file, tmp_path, f"--screenshot={shot}", "--window-size=1280,2000", url)
    assert got.returncode == 0, got.stderr[-2000:]
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# What a user's clicks on the summary cards show, recorded by a script appended to the report (the
# report's own script has run by then; the clicks are real click events on its buttons).
CLICKS = """<script>
(function(){
  function card(s){return document.querySelector('.card[data-status="'+s+'"]');}
  function seen(){
    var shown=[].filter.call(document.querySelectorAll('#findings tbody tr'),function(r){return !r.hidden;});
    var statuses={};shown.forEach(function(r){statuses[r.dataset.status]=1;});
    var pressed=[].filter.call(document.querySelectorAll('.card'),function(c){
      return c.getAttribute('aria-pressed')==='true';}).map(function(c){return c.dataset.status;});
    return Object.keys(statuses).sort().join(',')+'|'+shown.length+'|'+pressed.sort().join(',');}
  var steps=[seen()];
  ['fail','error','fail','error'].forEach(function(s){card(s).click();steps.push(seen());});
  document.body.setAttribute('data-clicks',steps.join(';'));
})();
</script>
</body>"""


@needs_chromium
def test_html_clicking_a_card_shows_only_that_status_and_clicking_again_shows_all(drifted, tmp_path):
    findings, meta = drifted
    s = summary_of(findings)
    assert s["fail"] and s["error"] and s["pass"]
    page_file = tmp_path / "report.html"
    page_file.write_text(renderer("html")(findings, meta).replace("</body>", CLICKS))
    dom = browse(page_file, tmp_path, "--dump-dom", page_file.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    steps = re.search(r'data-clicks="([^"]*)"', dom.stdout).group(1).split(";")
    every = ",".join(sorted(st for st in s if s[st]))
    assert steps == [
        f"{every}|{len(findings)}|",  # nothing pressed: every finding shown
        f"fail|{s['fail']}|fail",  # the fail card: only the failures
        f"error,fail|{s['fail'] + s['error']}|error,fail",  # and the errors
        f"error|{s['error']}|error",  # the fail card again: the failures go
        f"{every}|{len(findings)}|",  # the last one off: every finding again
    ]


# ------------------------------------------------------------------ the command line


@pytest.mark.managed_policies
@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "console"])
def test_vhv_check_writes_each_format(fmt, moto_env, tmp_path, capsys):
    ids = build_golden(moto_env)
    apply_demo_drifts(moto_env, ids, REGION)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(DEMO_PARAMS))
    out = tmp_path / f"report.{EXTENSIONS[fmt]}"
    assert main(["check", "--params", str(params_file), "--format", fmt, "--output", str(out)]) == 1
    assert capsys.readouterr().out == ""
    text = out.read_text()
    if fmt == "json":
        assert report_schema.errors(json.loads(text)) == []
    elif fmt == "sarif":
        assert {r["ruleId"] for r in sarif_of_text(text)["runs"][0]["results"]} >= DRIFTED
    elif fmt == "junit":
        assert JUnitXml.fromstring(text).failures == len(DRIFTED)
    else:
        assert all(rule in text for rule in DRIFTED)
    assert not list(tmp_path.glob(".*vhv-tmp"))


def sarif_of_text(text: str) -> dict:
    doc = json.loads(text)
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(doc)
    return doc


# ------------------------------------------------------------------ console --quiet


def _marks(text: str) -> list[str]:
    """The status of each finding line of a console report."""
    return re.findall(r"^  (PASS|FAIL|WARN|ERROR|SKIP) ", text, re.M)


def test_console_quiet_shows_only_what_is_wrong_and_the_summary(drifted):
    findings, meta = drifted
    full = console_render(findings, meta)
    quiet = console_render(findings, meta, quiet=True)
    assert set(_marks(full)) == {"PASS", "FAIL", "WARN", "ERROR", "SKIP"}
    assert sorted(_marks(quiet)) == sorted(m for m in _marks(full) if m in ("FAIL", "WARN", "ERROR"))
    for rule in DRIFTED | {UNDECIDED}:
        assert rule in quiet
    # the same summary line as without --quiet (it counts every finding), and the fixes still shown
    assert quiet.strip().splitlines()[-1] == full.strip().splitlines()[-1]
    assert quiet.count("fix:") == full.count("fix:") > 0


@pytest.mark.managed_policies
def test_vhv_check_quiet_prints_the_short_console_report_and_refuses_other_formats(moto_env, tmp_path, capsys):
    apply_demo_drifts(moto_env, build_golden(moto_env), REGION)
    params_file = tmp_path / "params.yaml"
    params_file.write_text(yaml.safe_dump(DEMO_PARAMS))
    assert main(["check", "--params", str(params_file), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert set(_marks(out)) == {"FAIL", "WARN"} and all(rule in out for rule in DRIFTED), out
    assert out.rstrip().endswith("the account does not match the guide (exit 1)")
    for argv in (["--format", "json"], ["--diff", str(tmp_path / "old.json")]):
        assert main(["check", "--params", str(params_file), "--quiet", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("vhv: --quiet shortens the console report of the findings; it does not apply to --")
