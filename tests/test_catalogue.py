"""rules/catalogue.yaml: the guide's resources, declared once, checked when vhv starts."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from validator import kinds, rulepack
from validator.errors import VhvError

SHIPPED = kinds.directory() / kinds.CATALOGUE


def _copy(tmp_path: Path, change) -> Path:  # noqa: ANN001
    doc = yaml.safe_load(SHIPPED.read_text())
    change(doc)
    (tmp_path / kinds.CATALOGUE).write_text(yaml.safe_dump(doc, sort_keys=False))
    shutil.copy(kinds.directory() / kinds.SCHEMA, tmp_path / kinds.SCHEMA)
    return tmp_path / kinds.CATALOGUE


def test_the_shipped_catalogue_loads_and_every_rule_names_one_of_its_kinds():
    loaded, values = kinds.load()
    assert loaded["vpc"].name == "valohai-vpc" and loaded["vpc"].path == "vpcs"
    assert loaded["master_role"].path == "roles.ValohaiMaster"
    assert loaded["subnets"].nth(3) == "valohai-subnet-3"
    assert values.tag == {"Key": "valohai", "Value": "1"}
    pack = rulepack.load()
    assert {r.resource for r in pack.rules} <= set(loaded)


def test_each_kind_names_a_missing_rule_that_exists_and_inspects_it():
    pack = rulepack.load()
    ids = {r.id: r for r in pack.rules}
    for k in kinds.KINDS.values():
        if k.pick == "none":
            continue
        assert k.missing_rule in ids, f"{k.key}: missing_rule {k.missing_rule} is no rule"


@pytest.mark.parametrize(
    ("change", "wanted"),
    [
        (lambda d: d["kinds"]["vpc"].pop("name"), 'kinds.vpc: missing the key "name"'),
        (lambda d: d["kinds"]["vpc"].update(match="name"), "kinds.vpc.match"),
        (lambda d: d["kinds"]["vpc"].update(colour="blue"), 'unexpected key "colour"'),
        (lambda d: d["kinds"]["vpc"].update(pick="by-name"), "kinds.vpc: pick 'by-name' does not go with match"),
        (lambda d: d["kinds"]["vpc"].update(read_actions=[]), "kinds.vpc: reader 'ec2.vpcs' without the read_actions"),
        (lambda d: d["kinds"]["igw"].pop("missing_rule"), "kinds.igw: which rule fails when it is missing?"),
        (lambda d: d["values"].update(valohai_ssh_cidr="anywhere"), "values.valohai_ssh_cidr"),
        (lambda d: d["kinds"].pop("params"), "the params kind is missing"),
        (lambda d: d["kinds"]["vpc"].update(name_from="arn"), "kinds.vpc: name_from is for a name the params give"),
        (lambda d: d["kinds"]["multipart_role"].update(name_from="tag"), "kinds.multipart_role.name_from"),
        (
            lambda d: d["kinds"]["data_user"].update(pick="by-name"),
            "kinds.data_user: a kind the params name is kept in a list (pick: all)",
        ),
        # two kinds of one name in one list would be one group, judged and fixed as both
        (
            lambda d: d["kinds"]["sg_queue"].update(name=d["kinds"]["sg_workers"]["name"]),
            "kinds.sg_queue: name 'valohai-sg-workers' is also kinds.sg_workers's, in the same snapshot list",
        ),
        (lambda d: d["kinds"]["vpc"].update(reader="vpcs"), "kinds.vpc.reader"),
    ],
)
def test_a_broken_catalogue_is_one_line_naming_the_place(tmp_path, change, wanted):
    path = _copy(tmp_path, change)
    with pytest.raises(VhvError) as got:
        kinds.load(path)
    message = str(got.value)
    assert message.startswith(str(path)) and wanted in message, message
    assert "\n" not in message


def test_a_catalogue_schema_that_is_no_json_is_one_line_naming_it(tmp_path):
    path = _copy(tmp_path, lambda d: None)
    (tmp_path / kinds.SCHEMA).write_text('{"type": "object",')
    with pytest.raises(VhvError) as got:
        kinds.load(path)
    assert str(got.value).startswith(f"{tmp_path / kinds.SCHEMA}: the catalogue's schema cannot be read")


def test_a_reader_or_fixer_the_catalogue_names_but_no_module_declares_is_one_line(monkeypatch):
    from validator.aws import readers
    from validator.fixers import registry

    vpc = kinds.KINDS["vpc"]
    for reader, wanted in (
        ("ec2.vpcz", "kinds.vpc: reader 'ec2.vpcz' is not a reader of validator/aws/ec2.py (its READERS: ec2.vpcs"),
        ("ecz.vpcs", "kinds.vpc: reader 'ecz.vpcs': there is no reader module validator/aws/ecz.py"),
    ):
        bad_kind = kinds.Kind(**{**vpc.__dict__, "reader": reader})
        monkeypatch.setattr(readers, "of_every_recipe", lambda bad_kind=bad_kind: [bad_kind])
        with pytest.raises(VhvError, match=re.escape(wanted)):
            readers.load()
    monkeypatch.setattr(registry, "KINDS", {"vpc": kinds.Kind(**{**vpc.__dict__, "fixer": "netwrk"})})
    with pytest.raises(
        VhvError, match=re.escape("kinds.vpc: fixer 'netwrk': there is no fixer module validator/fixers/netwrk.py")
    ):
        registry.load()


def test_a_catalogue_that_is_no_yaml_is_one_line(tmp_path):
    (tmp_path / kinds.CATALOGUE).write_text("kinds: [\n")
    shutil.copy(kinds.directory() / kinds.SCHEMA, tmp_path / kinds.SCHEMA)
    with pytest.raises(VhvError, match="not valid YAML"):
        kinds.load(tmp_path / kinds.CATALOGUE)


def _vhv(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "validator", *args], capture_output=True, text=True, check=False)


def test_vhv_rules_kinds_lists_the_guide_resources():
    done = _vhv("rules", "--kinds")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    row = next(line for line in lines if line.split()[:1] == ["sg_queue"])
    assert row.split() == ["sg_queue", "valohai-sg-queue", "AWS::EC2::SecurityGroup", "sg-queue-exists", "sg"]
    assert not any(line.split()[:1] == ["params"] for line in lines)


def test_vhv_rules_kinds_as_json_carries_the_actions():
    done = _vhv("rules", "--kinds", "--format", "json")
    assert done.returncode == 0, done.stderr
    listed = {k["kind"]: k for k in json.loads(done.stdout)}
    assert listed["instance"]["name"] == "valohai-i-queue"
    assert "ec2:DescribeInstances" in listed["instance"]["read_actions"]
    assert listed["worker_profile"]["read_for"] == "fix"
    assert "params" not in listed


def test_the_rules_docs_list_the_kinds():
    text = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text()
    assert "## The guide's resources" in text
    assert "| `route_table` | valohai-rt | AWS::EC2::RouteTable | main route table | main-of-vpc |" in text
