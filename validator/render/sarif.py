"""SARIF 2.1.0 (GitHub code scanning and other SARIF viewers).

Results are the findings that need attention: fail (kind "fail", level from the
severity), warn (kind "fail", level "warning") and error (kind "open": vhv could
not decide; also a tool execution notification). Passes and not-applicable skips
are not results (a code-scanning alert per pass would be noise); the run's
properties carry the full summary so the counts still add up.

Where a result is:
- a lint finding (file/line/column set): the file, with a region; the JSON pointer
  as a logical location;
- a params rule: the params file (meta["params_file"]), at the key's line when found;
- an AWS resource: an `aws://REGION/TYPE/ID` artifact (IAM under `global`, by
  name) plus a logical location naming the resource and its id or ARN.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from validator import __version__
from validator.findings import Finding
from validator.render.common import aws_uri, counts, explanation, is_lint_finding, verdict

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub: >= 9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "2.5"}
RESULT_STATUSES = ("fail", "warn", "error")


def _rule_name(rule_id: str) -> str:
    return "".join(p.capitalize() for p in re.split(r"[^A-Za-z0-9]+", rule_id) if p)


def _rule(f: Finding) -> dict[str, Any]:
    help_lines = [f.title]
    md = [f"**{f.title}**"]
    where = "Category" if is_lint_finding(f) else "Guide section"
    if f.section:
        help_lines.append(f"{where}: {f.section}")
        md.append(f"{where}: *{f.section}*")
    if f.fix:
        help_lines.append(f"How to fix: {f.fix}")
        md.append(f"How to fix: {f.fix}")
    kind = "aws" if f.file is None else "waiver" if f.resource_type == "Waiver" else "iam-policy"
    props: dict[str, Any] = {"tags": ["security", kind], "severity": f.severity, "fixable": f.fixable}
    if f.severity in SECURITY_SEVERITY:
        props["security-severity"] = SECURITY_SEVERITY[f.severity]
    if f.resource_type:
        props["tags"].append(f.resource_type)
    return {
        "id": f.rule_id,
        "name": _rule_name(f.rule_id),
        "shortDescription": {"text": f.title},
        "fullDescription": {
            "text": f"{f.title}."
            if f.section == ""
            else f"{f.title} ({f.section})."
            if is_lint_finding(f)
            else f"{f.title} (guide: {f.section})."
        },
        "help": {"text": "\n\n".join(help_lines), "markdown": "\n\n".join(md)},
        "defaultConfiguration": {"level": LEVEL.get(f.severity, "warning")},
        "properties": props,
    }


def _key_line(path: str | None, key: str | None) -> int | None:
    """The line of a top-level `key:` in the params file, if it can be read."""
    if not path or not key:
        return None
    from validator.bounded import reread_text  # deferred: loads yaml

    for i, line in enumerate((reread_text(path) or "").splitlines(), 1):
        if re.match(rf"{re.escape(key)}\s*:", line):
            return i
    return None


def _file_uri(path: str) -> str:
    p = Path(path)
    return p.as_uri() if p.is_absolute() else p.as_posix()


def _location(f: Finding, meta: dict[str, Any]) -> dict[str, Any]:
    if f.file is not None:
        phys: dict[str, Any] = {"artifactLocation": {"uri": _file_uri(f.file)}}
        if f.line:
            phys["region"] = {"startLine": int(f.line)}
            if f.column:
                phys["region"]["startColumn"] = int(f.column)
        loc: dict[str, Any] = {"physicalLocation": phys}
        if f.pointer:
            loc["logicalLocations"] = [
                {"name": f.pointer.rsplit("/", 1)[-1] or f.pointer, "fullyQualifiedName": f.pointer, "kind": "property"}
            ]
        return loc
    if f.resource_type == "Params":
        params_file = meta.get("params_file")
        logical = [
            {
                "name": f.resource_id or "params",
                "fullyQualifiedName": f"params.{f.resource_id}" if f.resource_id else "params",
                "kind": "property",
            }
        ]
        if not params_file:
            return {"logicalLocations": logical}
        phys = {"artifactLocation": {"uri": _file_uri(params_file)}}
        line = _key_line(params_file, f.resource_id)
        if line:
            phys["region"] = {"startLine": line}
        return {"physicalLocation": phys, "logicalLocations": logical}
    uri = aws_uri(f, meta.get("region"))
    return {
        "physicalLocation": {"artifactLocation": {"uri": uri}},
        "logicalLocations": [{"name": f.resource_name, "fullyQualifiedName": f.resource_id or uri, "kind": "resource"}],
    }


def _fingerprint(f: Finding) -> str:
    key = "|".join(
        str(x)
        for x in (f.rule_id, f.resource_type, f.resource_name, f.resource_id or "", f.file or "", f.pointer or "")
    )
    return hashlib.sha256(key.encode()).hexdigest()


def _result(f: Finding, index: int, meta: dict[str, Any]) -> dict[str, Any]:
    text = f.message
    extra = "; ".join(f"{label}: {value}" for label, value in explanation(f) if label in ("expected", "actual"))
    if extra:
        text += f" ({extra})"
    status = f.waived["status"] if f.waived else f.status  # a waived result keeps its level
    res: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": index,
        "kind": "open" if status == "error" else "fail",
        "message": {"text": text},
        "locations": [_location(f, meta)],
        "partialFingerprints": {"vhvFinding/v1": _fingerprint(f)},
        "properties": {
            "status": f.status,
            "severity": f.severity,
            "resource_type": f.resource_type,
            "resource_id": f.resource_id,
            "resource_name": f.resource_name,
            "expected": f.expected,
            "actual": f.actual,
            "fix": f.fix,
        },
    }
    if status == "fail":
        res["level"] = LEVEL.get(f.severity, "warning")
    elif status == "warn":
        res["level"] = "warning"
    else:
        res["level"] = "none"  # SARIF: a result whose kind is not "fail" has level "none"
    if f.waived:
        res["properties"]["waived"] = f.waived
        res["suppressions"] = [_suppression(f.waived)]
    return res


def _suppression(waived: dict[str, Any]) -> dict[str, Any]:
    """A waiver as a SARIF suppression: external (a waiver file), accepted, with its justification."""
    out: dict[str, Any] = {
        "kind": "external",
        "status": "accepted",
        "justification": waived["justification"],
        "properties": {"expires": waived["expires"], "owner": waived["owner"], "was": waived["status"]},
    }
    phys: dict[str, Any] = {"artifactLocation": {"uri": _file_uri(waived["source"])}}
    if waived.get("line"):
        phys["region"] = {"startLine": int(waived["line"])}
    out["location"] = {"physicalLocation": phys}
    return out


def document(findings: Sequence[Finding], meta: dict[str, Any]) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    for f in findings:
        if f.rule_id not in index:
            index[f.rule_id] = len(rules)
            rules.append(_rule(f))
    results = [_result(f, index[f.rule_id], meta) for f in findings if f.status in RESULT_STATUSES or f.waived]
    code, why = verdict(findings, meta)
    notifications = [
        {"level": "error", "message": {"text": f"{f.rule_id}: {f.message}"}, "descriptor": {"id": f.rule_id}}
        for f in findings
        if f.status == "error"
    ]
    invocation: dict[str, Any] = {"executionSuccessful": code != 2, "exitCode": code, "exitCodeDescription": why}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    account, region = meta.get("account_id"), meta.get("region")
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "vhv", "version": __version__, "semanticVersion": __version__, "rules": rules}},
        "invocations": [invocation],
        "results": results,
        "properties": {"account_id": account, "region": region, "summary": counts(findings)},
    }
    if account:
        run["automationDetails"] = {"id": f"vhv/{account}/{region or 'global'}/"}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(findings: Sequence[Finding], meta: dict[str, Any]) -> str:
    return json.dumps(document(findings, meta), indent=2) + "\n"
