"""The guide's names and Valohai's addresses are written once, in rules/catalogue.yaml.

Every other file of vhv reads them through validator.kinds, so a second recipe's names (or a
renamed resource) is an edit of the catalogue alone. This test greps vhv's code and data for
each kind's name and for the catalogue's CIDRs, and names the file and the line of each.
The rule ids that the record and the evaluators name are found in the rule pack or declared
in the catalogue; the tests below tie those declarations to the pack.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import validator
from validator import record, rulepack
from validator.kinds import KINDS, VALUES

ROOT = Path(validator.__file__).resolve().parent
CATALOGUE_MODULE = "kinds.py"  # it loads the catalogue; its docstrings show what a name looks like
GLOB = re.compile(r"[*?\[]|\{n\}")


def _fixed_part(name: str) -> str:
    """What every name of the pattern starts with (valohai-subnet-* -> valohai-subnet-)."""
    return GLOB.split(name, maxsplit=1)[0]


def needles() -> list[str]:
    """The guide's names (of the kinds that have one in AWS) and Valohai's addresses."""
    names = {_fixed_part(k.name) for k in KINDS.values() if k.match != "none"}
    names |= {_fixed_part(k.numbered) for k in KINDS.values() if k.numbered}
    names |= {VALUES.valohai_ssh_cidr, VALUES.valohai_app_cidr}
    return sorted(n for n in names if n)


def files() -> list[str]:
    found = [p for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts]
    found += [p for p in (ROOT / "data").iterdir() if p.is_file()]
    return sorted(str(p.relative_to(ROOT)) for p in found if str(p.relative_to(ROOT)) != CATALOGUE_MODULE)


def test_the_needles_are_the_catalogues():
    found = needles()
    assert KINDS["vpc"].name in found and VALUES.valohai_ssh_cidr in found
    assert "valohai-subnet-" in found and "params" not in found  # the fixed part of a glob; no non-AWS kind
    assert len(found) >= 12


def test_every_file_is_searched():
    searched = files()
    assert "checks/net.py" in searched and "data/lint-checks.yaml" in searched
    assert CATALOGUE_MODULE not in searched


@pytest.mark.parametrize("rel", [f for f in files()])
def test_no_guide_name_outside_the_catalogue(rel):
    text = (ROOT / rel).read_text(encoding="utf-8", errors="replace")
    hits = [
        f"validator/{rel}:{number}: {needle}"
        for number, line in enumerate(text.splitlines(), 1)
        for needle in needles()
        if needle in line
    ]
    assert not hits, "the catalogue's names spelled outside it (read them from validator.kinds):\n" + "\n".join(hits)


def test_in_vpc_rule_is_the_rule_that_judges_the_kind_in_the_vpc():
    """The evaluators cannot ask the rule pack (it sits above them): the rule that fails when a
    kind is outside the guide's VPC is declared in the catalogue, and must be the pack's."""
    pack = rulepack.load()
    in_pack = {r.resource: r.id for r in pack.rules if r.evaluator == "in_vpc"}
    declared = {k.key: k.in_vpc_rule for k in KINDS.values() if k.in_vpc_rule}
    assert declared == in_pack


@pytest.mark.parametrize("kind,evaluator", [("instance", "key_pair"), ("eip", "eip_associated")])
def test_the_rules_the_record_names_are_in_the_pack(kind, evaluator):
    rule = record.rule_of(kind, evaluator)
    found = rulepack.load().by_id(rule)
    assert (found.resource, found.evaluator) == (kind, evaluator)


def test_every_missing_rule_is_a_rule_of_the_pack():
    ids = {r.id for r in rulepack.load().rules}
    assert {k.missing_rule for k in KINDS.values() if k.missing_rule} <= ids
