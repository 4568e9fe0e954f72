"""`vhv lint` on a terminal, like a compiler: file:line:col, the check, the message,
the offending line with a caret under the column, and what to write instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from validator.findings import Finding, exit_code
from validator.render.common import visible

LABEL = {"critical": "security", "high": "error", "medium": "warning", "low": "info"}


WIDTH = 120  # of the source line shown; a longer line (minified JSON) is cut around the column
MARK = "…"


def excerpt(line: str, column: int, width: int = WIDTH) -> tuple[str, int]:
    """At most `width` characters of `line` around the 1-based `column` (… where cut), and
    the caret's offset in what is shown."""
    at = max(column - 1, 0)
    if len(line) <= width:
        return line, at
    start = max(0, min(at - width // 3, len(line) - width))
    end = start + width
    shown = line[start:end]
    if start:
        shown = MARK + shown
    if end < len(line):
        shown += MARK
    return shown, at - start + (1 if start else 0)


def render(findings: Sequence[Finding], meta: dict[str, Any]) -> str:
    sources: dict[str, str] = meta.get("sources", {})
    out: list[str] = []
    split: dict[str, list[str]] = {}  # each file's lines, split once (100,000 findings in one file)
    for f in findings:
        where = f"{f.file}:{f.line}:{f.column}" if f.line else f"{f.file}"
        label = "error" if f.status == "error" else LABEL.get(f.severity, f.severity)
        out.append(visible(f"{where}: {label}[{f.rule_id}]: {f.message}"))
        text = sources.get(f.file or "")
        if text is not None and f.line:
            lines = split.get(f.file or "")
            if lines is None:
                lines = split[f.file or ""] = text.splitlines()
            if 0 < f.line <= len(lines):
                src, caret = excerpt(lines[f.line - 1].replace("\t", " "), f.column or 1)
                src, caret = visible(src), len(visible(src[:caret]))  # escapes widen the line: move the caret
                gutter = str(f.line)
                out.append(f"  {gutter} | {src}")
                out.append(f"  {' ' * len(gutter)} | {' ' * caret}^")
        if f.expected:
            out.append(visible(f"  = write instead: {f.expected}"))
    files = meta.get("files", len({f.file for f in findings}))
    code = exit_code(findings)
    counts: dict[str, int] = {}
    for f in findings:
        key = "unreadable" if f.status == "error" else LABEL.get(f.severity, f.severity)
        counts[key] = counts.get(key, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in counts.items())
    suppressed = meta.get("suppressed", 0)
    tail = f", {suppressed} suppressed" if suppressed else ""
    if out:
        out.append("")
    by_file: dict[str, set[str]] = {}
    for f in findings:
        by_file.setdefault(f.file or "", set()).add(f.status)
    for name, statuses in by_file.items():
        if statuses == {"warn"}:
            n = sum(1 for f in findings if f.file == name)
            out.append(
                f"{visible(name)}: only warnings ({n}); they do not change the exit code "
                "(--fail-on warn makes them fail)"
            )
    out.append(
        f"vhv lint: {files} file(s), {len(findings)} finding(s){' (' + parts + ')' if parts else ''}{tail}: exit {code}"
    )
    return "\n".join(out) + "\n"
