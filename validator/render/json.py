"""The JSON report (the contract in DESIGN.md)."""
from __future__ import annotations

import json
from typing import Any, Sequence

from validator import __version__
from validator.engine import Finding, summary

FIELDS = ("rule_id", "title", "severity", "status", "resource_type", "resource_id", "resource_name",
          "message", "expected", "actual", "fixable")


def document(findings: Sequence[Finding], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "tool": "vhv",
        "version": __version__,
        "account_id": meta.get("account_id"),
        "region": meta.get("region"),
        "summary": summary(findings),
        "findings": [{**{k: getattr(f, k) for k in FIELDS}, "section": f.section, "fix": f.fix} for f in findings],
    }


def render(findings: Sequence[Finding], meta: dict[str, Any]) -> str:
    return json.dumps(document(findings, meta), indent=2) + "\n"
