"""Markdown for a pull-request or merge-request comment.

A heading with the verdict, the summary table, then what needs attention (fail,
error, warn) with expected/actual/fix. When that is long each finding folds into
a <details> section; the passing and skipped rules are one folded table at the
end. GitHub's comment limit (65,536 characters) is respected by dropping that
table first.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from validator.findings import Finding
from validator.render.common import STATUS_ORDER, counts, explanation, is_lint, resource_label, title, verdict

ICON = {"pass": "✅", "fail": "❌", "warn": "⚠️", "error": "⛔", "skip": "⏭️"}
HEADING = {"fail": "Failures", "error": "Could not be decided", "warn": "Warnings"}
LIMIT = 65_000
FOLD_AFTER = 5  # more findings needing attention than this: each one folds


def cell(text: Any) -> str:
    """Text safe inside a table cell."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", "").replace("\n", "<br>")


def inline(text: str) -> str:
    """A value shown as code: a fence long enough that the value's own backticks cannot close it."""
    if "\n" in text:
        fence = "```"
        while fence in text:
            fence += "`"
        return f"\n\n{fence}\n{text}\n{fence}\n"
    ticks = "`"
    while ticks in text:
        ticks += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _finding(f: Finding, fold: bool) -> list[str]:
    head = f"{ICON[f.status]} **{f.status.upper()}** `{f.rule_id}` ({f.severity}): {f.title}"
    body = [f"**Resource:** {resource_label(f)} · {f.resource_type}", "", f.message, ""]
    for label, text in explanation(f):
        shown = inline(text) if label in ("expected", "actual") else text
        body.append(f"- **{label.capitalize()}:** {shown}")
    if fold:
        return [
            "<details>",
            f"<summary>{ICON[f.status]} {f.status.upper()} <code>{f.rule_id}</code>: "
            f"{_html(resource_label(f))}</summary>",
            "",
            head,
            "",
            *body,
            "</details>",
            "",
        ]
    return [f"#### {head}", "", *body, ""]


def _html(text: str) -> str:

    return html.escape(text, quote=False)


def render(findings: Sequence[Finding], meta: dict[str, Any]) -> str:
    c = counts(findings)
    code, why = verdict(findings, meta)
    out = [
        f"## {title(meta)}",
        "",
        f"{ICON['pass'] if code == 0 else ICON['fail' if code == 1 else 'error']} **{why}** (exit {code})",
        "",
        f"| status | {'findings' if is_lint(meta) else 'rules'} |",
        "|---|---:|",
    ]
    out += [f"| {ICON[s]} {s} | {c[s]} |" for s in ("pass", "fail", "warn", "error", "skip")]
    out.append("")
    attention = [f for s in ("fail", "error", "warn") for f in findings if f.status == s]
    fold = len(attention) > FOLD_AFTER
    for status in ("fail", "error", "warn"):
        items = [f for f in findings if f.status == status]
        if not items:
            continue
        out += [f"### {HEADING[status]} ({len(items)})", ""]
        for f in items:
            out += _finding(f, fold)
    waived = [f for f in findings if f.waived]
    if waived:  # accepted failures stay in sight of the reviewer, with who accepted them and until when
        out += [
            f"### Waived ({len(waived)})",
            "",
            "| was | rule | resource | until | owner | justification |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {ICON[f.waived['status']]} {f.waived['status']} | `{f.rule_id}` | {cell(resource_label(f))} | "
            f"{f.waived['expires']} | {cell(f.waived['owner'] or '')} | {cell(f.waived['justification'])} |"
            for f in waived
        ]
        out.append("")
    rest = sorted((f for f in findings if f.status in ("pass", "skip")), key=lambda f: STATUS_ORDER.index(f.status))
    tail: list[str] = []
    if rest:
        tail = [
            "<details>",
            f"<summary>Passed and skipped ({len(rest)})</summary>",
            "",
            "| status | rule | resource | message |",
            "|---|---|---|---|",
        ]
        tail += [
            f"| {ICON[f.status]} {f.status} | `{f.rule_id}` | {cell(resource_label(f))} | {cell(f.message)} |"
            for f in rest
        ]
        tail += ["", "</details>", ""]
    text = "\n".join(out + tail)
    if len(text) > LIMIT:
        text = "\n".join(
            out + ["_The passed and skipped rules are left out to fit a comment; see the JSON or HTML report._", ""]
        )
    if len(text) > LIMIT:
        text = text[: LIMIT - 80].rsplit("\n", 1)[0] + "\n\n_Cut to fit a comment; see the JSON or HTML report._\n"
    return text
