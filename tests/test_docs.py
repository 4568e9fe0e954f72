"""The generated docs match the rule pack they document."""

from pathlib import Path

from validator import rulepack
from validator.render.rules import render_rules

ROOT = Path(__file__).resolve().parent.parent


def test_rules_doc_is_current():
    current = render_rules(rulepack.load().rules, "markdown")
    assert (ROOT / "docs" / "rules.md").read_text() == current, (
        "docs/rules.md is stale: run `vhv rules --format markdown > docs/rules.md`"
    )
