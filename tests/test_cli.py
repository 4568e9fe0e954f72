"""The command line: init, bad params, broken rule packs, rules, --version.

Everything here fails before any AWS call, so no moto: the environment points
boto3 at a dead endpoint (with fake credentials), and a params or rule-pack error
must still be what is reported, not "cannot reach the AWS endpoint".
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version as dist_version
from pathlib import Path

import pytest
import yaml

from validator import __version__, engine, findings, rulepack
from validator import params as params_mod
from validator.checks import REGISTRY, load_all
from validator.cli import main
from validator.errors import VhvError
from validator.init_template import TEMPLATE

DEAD_ENDPOINT = "http://127.0.0.1:9"
# The params block of DESIGN.md's Contracts section: these keys are fixed.
DESIGN_PARAMS_KEYS = ("region", "assume_role_arn", "provisioning", "queue_installer", "admin_cidr", "vpc_cidr")
GOOD = {
    "region": "eu-west-1",
    "assume_role_arn": "arn:aws:iam::123456789012:role/valohai-assumer",
    "provisioning": "self",
    "queue_installer": "self",
    "admin_cidr": "203.0.113.7/32",
    "vpc_cidr": "10.0.0.0/16",
}


@pytest.fixture(autouse=True)
def dead_aws(monkeypatch):
    """Credentials that would work, an endpoint that never answers: any AWS call shows up as
    'cannot reach the AWS endpoint' instead of the error under test."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", DEAD_ENDPOINT)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    """stderr is one line, vhv's own, not an internal error or a traceback; returns it."""
    assert "Traceback" not in err
    assert "internal error" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("vhv: ")
    assert "cannot reach" not in lines[0], "reached for AWS before rejecting the input"
    return lines[0]


def vhv_subprocess(*argv: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ENDPOINT_URL": DEAD_ENDPOINT, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "validator", *argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def dump(values: dict) -> str:
    return "".join(f"{k}: {v}\n" for k, v in values.items())


# ------------------------------------------------------------------ vhv init


def test_init_writes_the_commented_template_with_every_key(capsys, tmp_path):
    target = tmp_path / "params.yaml"
    code, out, err = run(capsys, "init", "-o", str(target))
    assert code == 0
    assert "Traceback" not in err
    text = target.read_text()
    lines = text.splitlines()
    for key in (*DESIGN_PARAMS_KEYS, "account_id"):
        at = [i for i, line in enumerate(lines) if line.startswith(f"{key}:")]
        assert len(at) == 1, f"{key} should be set once in the template"
        assert lines[at[0] - 1].startswith("#"), f"{key} has no comment explaining it"
    assert f"vhv check --params {target}" in text


# what a user who filled in the template wrote instead of its placeholders
RECORDED = {
    "account_id": '"210987654321"',
    "assume_role_arn": GOOD["assume_role_arn"],
    "admin_cidr": "198.51.100.23/32",
}


def test_the_templates_placeholders_stop_the_check_in_one_line_naming_each_key(capsys, tmp_path, pack):
    """No value of the template passes for one the user recorded: an ARN or an address that
    validates would be judged (and remediated) as if it were Valohai's principal or the admin's IP."""
    target = tmp_path / "params.yaml"
    run(capsys, "init", "-o", str(target))
    code, out, err = run(capsys, "check", "--params", str(target))
    assert code == 2 and out == ""
    line = one_line_error(err)
    assert line.startswith(f"vhv: {target}: account_id: 'RECORDED 12-digit account id HERE' is a placeholder")
    for key, hint in params_mod.PLACEHOLDER_HINTS.items():
        assert f"{key}: 'RECORDED" in line and hint in line, (key, line)

    text = target.read_text()
    for key in RECORDED:  # one left: the line names it alone
        filled = "\n".join(
            f"{k}: {RECORDED[k]}" if k != key and k in RECORDED else raw
            for raw in text.splitlines()
            for k in [raw.split(":", 1)[0]]
        )
        target.write_text(filled)
        code, _, err = run(capsys, "check", "--params", str(target))
        line = one_line_error(err)
        assert code == 2 and f"{key}: 'RECORDED" in line and line.count("is a placeholder") == 1, line

    target.write_text(
        "\n".join(
            f"{k}: {RECORDED[k]}" if (k := raw.split(":", 1)[0]) in RECORDED else raw for raw in text.splitlines()
        )
    )
    prm = params_mod.load(target)
    assert set(DESIGN_PARAMS_KEYS) | {"account_id"} <= set(prm.to_dict())
    findings = engine.evaluate(pack, prm, None)
    assert {f.rule_id for f in findings} == {r.id for r in pack.rules if r.resource == "params"}
    # every params rule passes; the one that needs the account read (which recipe it looks like) waits for it
    assert [(f.rule_id, f.message) for f in findings if f.status != "pass"] == [
        ("params-built-with", "the account was not read: nothing to tell the recipe by")
    ]


def test_init_defaults_to_params_yaml_in_the_working_directory(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, _ = run(capsys, "init")
    assert code == 0
    assert (tmp_path / "params.yaml").read_text() == TEMPLATE.format(path="params.yaml")


def test_init_refuses_to_overwrite_without_force(capsys, tmp_path):
    target = tmp_path / "params.yaml"
    target.write_text("region: us-west-2  # mine, keep it\n")
    code, out, err = run(capsys, "init", "-o", str(target))
    assert code == 2
    line = one_line_error(err)
    assert str(target) in line and "--force" in line
    assert target.read_text() == "region: us-west-2  # mine, keep it\n"


def test_init_force_overwrites(capsys, tmp_path):
    target = tmp_path / "params.yaml"
    target.write_text("old\n")
    code, _, _ = run(capsys, "init", "-o", str(target), "--force")
    assert code == 0
    assert target.read_text() == TEMPLATE.format(path=target)
    assert list(tmp_path.iterdir()) == [target], "left a temporary file behind"


# ------------------------------------------------------------------ bad params


def _with(**changes) -> str:
    return dump({**GOOD, **changes})


def _without(key: str) -> str:
    return dump({k: v for k, v in GOOD.items() if k != key})


BAD_PARAMS = {
    # name: (file content, what the one line must contain besides the file name)
    "list": ("- region\n- vpc_cidr\n", ["expected a mapping", "list"]),
    "empty": ("", ["expected a mapping", "empty"]),
    "comments only": ("# nothing here\n", ["expected a mapping", "empty"]),
    "missing key": (_without("vpc_cidr"), ["missing key 'vpc_cidr'"]),
    "missing admin_cidr when installing the queue yourself": (_without("admin_cidr"), ["'admin_cidr'"]),
    "ARN with an 11-digit account": (
        _with(assume_role_arn="arn:aws:iam::12345678901:role/x"),
        ["assume_role_arn", "'12345678901'", "12 digits"],
    ),
    "ARN with one colon too few": (
        _with(assume_role_arn="arn:aws:iam:123456789012:role/x"),
        ["assume_role_arn", "arn:aws:iam:123456789012:role/x", "6"],
    ),
    "the guide's placeholder": (
        _with(assume_role_arn="RECORDED AssumeRole ARN HERE"),
        ["assume_role_arn", "placeholder"],
    ),
    "CIDR prefix too long": (_with(vpc_cidr="10.0.0.0/33"), ["vpc_cidr", "10.0.0.0/33", "not a CIDR"]),
    "CIDR with host bits": (_with(vpc_cidr="10.0.0.1/16"), ["vpc_cidr", "host bits", "10.0.0.0/16"]),
    "admin CIDR not a CIDR": (_with(admin_cidr="my laptop"), ["admin_cidr", "my laptop"]),
    "unknown provisioning": (_with(provisioning="selff"), ["provisioning", "'selff'", "self, valohai"]),
    "unknown queue_installer": (_with(queue_installer="them"), ["queue_installer", "'them'"]),
    "unknown region": (_with(region="eu-west-9"), ["region", "eu-west-9"]),
    "a number where a string belongs": (_with(vpc_cidr="10"), ["'vpc_cidr'", "must be a string", "int"]),
    "a list where a string belongs": (_with(region="[eu-west-1]"), ["'region'", "must be a string", "list"]),
}


@pytest.mark.parametrize("name", list(BAD_PARAMS))
def test_bad_params_is_one_line_naming_file_and_key_before_any_aws_call(capsys, tmp_path, name):
    content, wanted = BAD_PARAMS[name]
    p = tmp_path / "params.yaml"
    p.write_text(content)
    code, out, err = run(capsys, "check", "--params", str(p))
    assert code == 2
    line = one_line_error(err)
    assert str(p) in line
    for w in wanted:
        assert w in line, f"{w!r} not in {line!r}"
    assert out == ""


def test_params_file_missing(capsys, tmp_path):
    p = tmp_path / "nowhere.yaml"
    code, out, err = run(capsys, "check", "--params", str(p))
    assert code == 2
    line = one_line_error(err)
    assert str(p) in line and "not found" in line and "vhv init" in line


def test_params_not_yaml_shows_line_and_column(capsys, tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text("region: eu-west-1\nprovisioning: self: yes\n")
    code, out, err = run(capsys, "check", "--params", str(p))
    assert code == 2
    line = one_line_error(err)
    assert re.search(rf"{re.escape(str(p))}:2:\d+: not valid YAML", line), line


def test_a_key_written_twice_is_refused_not_the_last_one_taken(capsys, tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text(_with() + "region: us-east-1\n")
    code, out, err = run(capsys, "check", "--params", str(p))
    assert code == 2
    line = one_line_error(err)
    first = _with().splitlines().index(next(x for x in _with().splitlines() if x.startswith("region:"))) + 1
    assert re.search(
        rf"{re.escape(str(p))}:\d+:1: not valid YAML: duplicate key 'region' \(first at line {first}\)", line
    ), line


def test_a_merge_key_may_be_overridden():
    from validator.bounded import load_yaml

    data = load_yaml(
        "base: &base {region: eu-west-1, vpc_cidr: 10.0.0.0/16}\ncopy:\n  <<: *base\n  region: eu-north-1\n"
    )
    assert data["copy"] == {"region": "eu-north-1", "vpc_cidr": "10.0.0.0/16"}


def test_python_object_tag_is_refused_by_the_safe_loader(capsys, tmp_path):
    marker = tmp_path / "pwned"
    p = tmp_path / "params.yaml"
    p.write_text(_with(region=f'!!python/object/apply:os.system ["touch {marker}"]'))
    code, out, err = run(capsys, "check", "--params", str(p))
    assert code == 2
    line = one_line_error(err)
    assert str(p) in line and "python/object" in line
    assert not marker.exists(), "the YAML tag was executed"


@pytest.mark.parametrize(
    "content,wanted",
    [
        ("region: eu-west-1\nprovisioning: self: yes\n", ":2:"),
        ("region: !!python/object:os.system {}\n", "python/object"),
        (_with(assume_role_arn="RECORDED AssumeRole ARN HERE"), "placeholder"),
        (_with(vpc_cidr="10"), "'vpc_cidr'"),
    ],
    ids=["not-yaml", "python-tag", "placeholder", "non-string"],
)
def test_bad_params_never_print_a_traceback_from_the_real_process(tmp_path, content, wanted):
    p = tmp_path / "params.yaml"
    p.write_text(content)
    proc = vhv_subprocess("check", "--params", str(p), cwd=tmp_path)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and str(p) in lines[0] and wanted in lines[0], proc.stderr
    assert "cannot reach" not in proc.stderr
    assert proc.stdout == ""


# ------------------------------------------------------------------ broken rule packs


def _pack_copy(tmp_path: Path) -> Path:
    d = tmp_path / "rules"
    d.mkdir()
    for f in rulepack.pack_files(rulepack.default_dir()):
        shutil.copy(f, d / f.name)
    return d


def _edit(path: Path, change) -> None:  # noqa: ANN001
    doc = yaml.safe_load(path.read_text())
    change(doc)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _files(d: Path) -> list[Path]:
    return rulepack.pack_files(d)


def _first(doc: dict, pred) -> dict:  # noqa: ANN001
    return next(r for r in doc["rules"] if pred(r))


def break_evaluator(d: Path) -> tuple[Path, list[str]]:
    f = _files(d)[-1]
    _edit(f, lambda doc: doc["rules"][0].update(evaluator="no_such_evaluator"))
    rid = yaml.safe_load(f.read_text())["rules"][0]["id"]
    return f, ["rules[0]", rid, "evaluator", "'no_such_evaluator'", "does not exist"]


def break_args_type(d: Path) -> tuple[Path, list[str]]:
    f = _files(d)[0]
    seen = {}

    def change(doc: dict) -> None:
        rule = _first(doc, lambda r: "key" in (r.get("args") or {}))
        rule["args"]["key"] = 5
        seen["id"] = rule["id"]

    _edit(f, change)
    return f, [seen["id"], "args.key", "5 is not of type 'string'"]


def break_duplicate_id(d: Path) -> tuple[Path, list[str]]:
    first, last = _files(d)[0], _files(d)[-1]
    taken = yaml.safe_load(first.read_text())["rules"][0]["id"]
    _edit(last, lambda doc: doc["rules"][0].update(id=taken))
    return last, [f"id {taken!r}", f"already used in {first.name}"]


def break_missing_fix(d: Path) -> tuple[Path, list[str]]:
    f = _files(d)[-1]
    _edit(f, lambda doc: doc["rules"][0].pop("fix"))
    return f, ["rules[0]", "'fix'", "required"]


def break_top_level_key(d: Path) -> tuple[Path, list[str]]:
    f = _files(d)[1]
    _edit(f, lambda doc: doc.update(extras={"anything": 1}))
    return f, ["'extras'"]


def break_yaml(d: Path) -> tuple[Path, list[str]]:
    f = _files(d)[-1]
    text = f.read_text()
    f.write_text(text + "  - id: [unclosed\n    title: x\n")
    return f, ["not valid YAML"]


def break_severity(d: Path) -> tuple[Path, list[str]]:
    f = _files(d)[-1]
    _edit(f, lambda doc: doc["rules"][0].update(severity="urgent"))
    return f, ["severity", "'urgent'"]


def break_resource(d: Path) -> tuple[Path, list[str]]:
    f = _files(d)[-1]
    _edit(f, lambda doc: doc["rules"][0].update(resource="bucket"))
    return f, ["resource", "'bucket'"]


def _when(change_when):  # noqa: ANN001, ANN202
    """A break that sets the `when:` of the first rule that has one (an Option 1 rule)."""

    def brk(d: Path) -> tuple[Path, list[str]]:
        f = _files(d)[1]
        seen = {}

        def change(doc: dict) -> None:
            rule = _first(doc, lambda r: "when" in r)
            rule["when"] = change_when(rule["when"])
            seen["id"] = rule["id"]

        _edit(f, change)
        return f, [f"({seen['id']})"]

    return brk


def break_when_value(d: Path) -> tuple[Path, list[str]]:
    # an independent tester: `provisioning: selff` matched no params value, so the rule was skipped forever
    f, wanted = _when(lambda w: {"provisioning": "selff"})(d)
    return f, wanted + ["when.provisioning: 'selff'", "(allowed: self|valohai)"]


def break_when_key(d: Path) -> tuple[Path, list[str]]:
    f, wanted = _when(lambda w: {"provisionig": "self"})(d)
    return f, wanted + ["when: unknown params key 'provisionig'", "did you mean 'provisioning'?"]


def break_defaults_when(d: Path) -> tuple[Path, list[str]]:
    f = _files(d)[2]
    _edit(f, lambda doc: doc["defaults"].update(when={"queue_installer": "Self"}))
    rid = yaml.safe_load(f.read_text())["rules"][0]["id"]
    return f, [f"rules[0] ({rid})", "when.queue_installer: 'Self'", "self|valohai", "defaults.when"]


def break_sg_rule_when(d: Path) -> tuple[Path, list[str]]:
    # a security group rule's own when: (rules/3-network.yaml) was not checked: the same silent skip
    f = next(p for p in _files(d) if p.name == "3-network.yaml")
    seen = {}

    def change(doc: dict) -> None:
        rule = _first(doc, lambda r: any("when" in x for x in r.get("args", {}).get("rules", [])))
        i = next(i for i, x in enumerate(rule["args"]["rules"]) if "when" in x)
        rule["args"]["rules"][i]["when"] = {"queue_installer": "slef"}
        seen["at"] = f"({rule['id']}): args.rules[{i}].when.queue_installer: 'slef'"

    _edit(f, change)
    return f, [seen["at"], "(allowed: self|valohai)"]


BREAKS = {
    "unknown evaluator": break_evaluator,
    "bad args type": break_args_type,
    "duplicate id": break_duplicate_id,
    "missing fix": break_missing_fix,
    "unknown top-level key": break_top_level_key,
    "invalid YAML": break_yaml,
    "unknown severity": break_severity,
    "unknown resource kind": break_resource,
    "when value no params has": break_when_value,
    "when key not a params key": break_when_key,
    "defaults' when value no params has": break_defaults_when,
    "a security group rule's when value": break_sg_rule_when,
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_broken_rule_pack_is_one_line_naming_file_and_key(capsys, tmp_path, name):
    d = _pack_copy(tmp_path)
    broken, wanted = BREAKS[name](d)
    params = tmp_path / "params.yaml"
    params.write_text(dump(GOOD))

    with pytest.raises(VhvError) as exc:
        rulepack.load(d)
    message = str(exc.value)
    assert message.startswith(str(broken)), message
    for w in wanted:
        assert w in message, f"{w!r} not in {message!r}"
    if name == "invalid YAML":
        assert re.match(rf"{re.escape(str(broken))}:\d+:\d+: ", message), message

    code, out, err = run(capsys, "check", "--params", str(params), "--rules", str(d))
    assert code == 2
    assert one_line_error(err) == f"vhv: {message}"
    assert out == ""


def test_rule_dir_without_rules(capsys, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text(dump(GOOD))
    empty = tmp_path / "none"
    empty.mkdir()
    code, _, err = run(capsys, "check", "--params", str(params), "--rules", str(empty))
    assert code == 2
    assert str(empty) in one_line_error(err)


def test_an_unbroken_copy_of_the_pack_loads_like_the_shipped_one(tmp_path, pack):
    # the control for the tests above: copying alone breaks nothing
    assert [r.id for r in rulepack.load(_pack_copy(tmp_path)).rules] == [r.id for r in pack.rules]


# ------------------------------------------------------------------ the shipped pack


def _raw_rules() -> list[tuple[str, dict]]:
    out = []
    for f in rulepack.pack_files(rulepack.default_dir()):
        doc = yaml.safe_load(f.read_text())
        out += [(f.name, {**doc.get("defaults", {}), **r}) for r in doc["rules"]]
    return out


def test_shipped_rule_ids_are_unique():
    ids = [r["id"] for _, r in _raw_rules()]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    assert dupes == []
    assert len(ids) == len(rulepack.load().rules)


def test_every_evaluator_a_rule_names_exists():
    load_all()
    unknown = [(f, r["id"], r["evaluator"]) for f, r in _raw_rules() if r["evaluator"] not in REGISTRY]
    assert unknown == []


def test_every_rule_has_severity_title_section_and_fix():
    for f, r in _raw_rules():
        for key in ("severity", "title", "section", "fix"):
            assert isinstance(r.get(key), str) and r[key].strip(), f"{f}: {r['id']}: no {key}"
        assert r["severity"] in findings.SEVERITIES, f"{f}: {r['id']}"


def test_every_registered_evaluator_is_used_by_a_rule():
    load_all()
    used = {r["evaluator"] for _, r in _raw_rules()}
    assert sorted(set(REGISTRY) - used) == []


# ------------------------------------------------------------------ vhv rules, --version, no command


def test_rules_json_lists_every_rule_with_its_metadata(capsys, pack):
    code, out, err = run(capsys, "rules", "--format", "json")
    assert code == 0
    entries = json.loads(out)
    assert [e["id"] for e in entries] == [r.id for r in pack.rules]
    for e in entries:
        rule = pack.by_id(e["id"])
        assert {"id", "severity", "title", "section", "fixable"} <= set(e)
        assert (e["severity"], e["title"], e["section"], e["fixable"]) == (
            rule.severity,
            rule.title,
            rule.section,
            rule.fixable,
        )
        assert isinstance(e["fixable"], bool)


@pytest.mark.parametrize("fmt", ["console", "markdown"])
def test_rules_table_lists_every_rule_id(capsys, pack, fmt):
    code, out, err = run(capsys, "rules", "--format", fmt)
    assert code == 0
    for r in pack.rules:
        needle = f"`{r.id}`" if fmt == "markdown" else r.id
        assert re.search(rf"(^|[\s|]){re.escape(needle)}([\s|]|$)", out, re.M), f"{r.id} missing"
    if fmt == "markdown":
        rules_part = out.split("## The guide's resources")[0]  # the kinds' table follows the rules'
        body = [ln for ln in rules_part.splitlines() if ln.startswith("| `")]
        assert len(body) == len(pack.rules)


def test_rules_default_format_is_the_console_table(capsys, pack):
    code, out, _ = run(capsys, "rules")
    assert code == 0
    assert all(r.id in out for r in pack.rules)


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.strip() == f"vhv {__version__}"
    assert __version__ == dist_version("vhv"), "validator.__version__ and the installed package disagree"


def test_no_command_prints_help_and_exits_2(capsys):
    code, out, err = run(capsys)
    assert code == 2
    assert "usage: vhv" in out
    for command in ("init", "check", "snapshot", "rules"):
        assert command in out


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["chekc"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra, wanted",
    [
        (["--plan-checksum", "0" * 64], "vhv: --plan-checksum only applies with --fix; without it nothing is applied"),
        (["--yes"], "vhv: --yes only applies with --fix"),
        (["--yes", "--plan-checksum", "0" * 64], "vhv: --yes and --plan-checksum only apply with --fix"),
        (
            ["--fix", "--plan-checksum", "abc"],
            "vhv: --plan-checksum 'abc': expected the 64 hex digits after 'plan checksum:' in the plan",
        ),
        # an unset variable in CI (--plan-checksum "$PLAN") must not switch the check off
        (["--fix", "--yes", "--plan-checksum", ""], "vhv: --plan-checksum '': expected the 64 hex digits"),
        (["--plan-checksum", ""], "vhv: --plan-checksum only applies with --fix"),
    ],
)
def test_remediate_options_that_would_be_ignored_are_refused_before_any_read(capsys, tmp_path, extra, wanted):
    p = tmp_path / "params.yaml"
    p.write_text(_with())
    code, out, err = run(capsys, "remediate", "--params", str(p), *extra)
    assert code == 2
    assert one_line_error(err).startswith(wanted)
    assert "cannot reach" not in err  # refused before vhv read the (dead) account


def test_a_key_repeated_through_an_alias_is_refused_too(capsys, tmp_path):
    # an independent tester: `&a admin_cidr: ...` then `*a : 0.0.0.0/0` opened SSH to the world silently
    p = tmp_path / "params.yaml"
    p.write_text(_with().replace("admin_cidr:", "&a admin_cidr:") + "*a : 0.0.0.0/0\n")
    code, out, err = run(capsys, "check", "--params", str(p))
    assert code == 2
    assert "not valid YAML: duplicate key 'admin_cidr' (first at line" in one_line_error(err)


# ------------------------------------------------------------------ --endpoint-url
# an independent tester: a mistyped --endpoint-url or AWS_ENDPOINT_URL was
# "vhv: internal error: ValueError: Invalid endpoint: localhost:5000"

BAD_ENDPOINTS = ("localhost:5000", "not a url", "http://[::1", "http://127.0.0.1:99999", "http://%zz", "http://h:port")


@pytest.mark.parametrize("how", ["option", "environment"])
@pytest.mark.parametrize("url", BAD_ENDPOINTS)
def test_a_malformed_endpoint_url_is_one_line_before_any_call(capsys, tmp_path, monkeypatch, url, how):
    p = tmp_path / "params.yaml"
    p.write_text(_with())
    if how == "option":
        code, _out, err = run(capsys, "check", "--params", str(p), "--endpoint-url", url)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", url)
        code, _out, err = run(capsys, "check", "--params", str(p))
    assert code == 2
    assert (
        one_line_error(err)
        == f"vhv: --endpoint-url (or AWS_ENDPOINT_URL) '{url}' is not a URL: write it as http://host:port"
    )


def test_an_endpoint_url_of_another_scheme_is_one_line(capsys, tmp_path):
    p = tmp_path / "params.yaml"
    p.write_text(_with())
    code, _out, err = run(capsys, "check", "--params", str(p), "--endpoint-url", "ftp://127.0.0.1:9")
    assert code == 2
    assert one_line_error(err) == (
        "vhv: --endpoint-url (or AWS_ENDPOINT_URL) 'ftp://127.0.0.1:9' is not an http:// or "
        "https:// URL: write it as http://host:port"
    )


@pytest.mark.parametrize("url", [DEAD_ENDPOINT, "http://[::1]:9", "https://localhost:9/"])
def test_a_well_formed_endpoint_url_is_the_one_called(capsys, tmp_path, url):
    p = tmp_path / "params.yaml"
    p.write_text(_with())
    code, _out, err = run(capsys, "check", "--params", str(p), "--endpoint-url", url)
    assert code == 2
    assert err.startswith(f"vhv: cannot reach the AWS endpoint {url.rstrip('/')}/:"), err


@pytest.mark.parametrize("url", ["not a url", "http://127.0.0.1:99999"])
def test_a_malformed_endpoint_of_one_service_from_the_configuration_is_one_line(capsys, tmp_path, monkeypatch, url):
    # botocore reads AWS_ENDPOINT_URL_<SERVICE> (and endpoint_url in a profile) itself
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
    p = tmp_path / "params.yaml"
    p.write_text(_with())
    code, _out, err = run(capsys, "check", "--params", str(p))
    assert code == 2
    assert one_line_error(err) == (
        "vhv: the AWS configuration gives sts an endpoint that is not a URL: check "
        "AWS_ENDPOINT_URL_STS and endpoint_url in the profile (~/.aws/config)"
    )
