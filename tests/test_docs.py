"""The generated docs match the rule pack they document."""

from pathlib import Path

from validator import kinds, rulepack
from validator.render.rules import render_docs

ROOT = Path(__file__).resolve().parent.parent


def test_rules_doc_is_current():
    current = render_docs(rulepack.load().rules, list(kinds.KINDS.values()))
    assert (ROOT / "docs" / "rules.md").read_text() == current, (
        "docs/rules.md is stale: run `vhv rules --format markdown > docs/rules.md`"
    )
