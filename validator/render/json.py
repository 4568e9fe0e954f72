"""The JSON report (the contract in DESIGN.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from validator import __version__
from validator.findings import Finding, summary

FIELDS = (
    "rule_id",
    "title",
    "severity",
    "status",
    "resource_type",
    "resource_id",
    "resource_name",
    "message",
    "expected",
    "actual",
    "fixable",
)


def document(findings: Sequence[Finding], meta: dict[str, Any]) -> dict[str, Any]:
    return {
        "tool": "vhv",
        "version": __version__,
        "account_id": meta.get("account_id"),
        "region": meta.get("region"),
        "summary": summary(findings),
        "findings": [_finding(f) for f in findings],
    }


LOCATION = ("file", "line", "column", "pointer")


def _finding(f: Finding) -> dict[str, Any]:
    out = {k: getattr(f, k) for k in FIELDS}
    out["section"] = f.section
    out["fix"] = f.fix
    if f.file is not None:
        out.update({k: getattr(f, k) for k in LOCATION})
    if f.waived is not None:
        out["waived"] = f.waived
    return out


def render(findings: Sequence[Finding], meta: dict[str, Any]) -> str:
    return json.dumps(document(findings, meta), indent=2) + "\n"
