"""The terminal report (rich): grouped by resource, failures explained, one summary line.

rich honours NO_COLOR and drops colour when stdout is not a terminal.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from validator.findings import Finding, exit_code, summary
from validator.render.common import visible

STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "error": "bold magenta", "skip": "dim"}
MARK = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "error": "ERROR", "skip": "SKIP"}
WRONG = ("fail", "warn", "error")  # what a finding explains, and all that --quiet shows


def _group_key(f: Finding) -> str:
    if f.resource_type == "Params":
        return "params"
    rid = f" ({f.resource_id})" if f.resource_id and f.resource_id != f.resource_name else ""
    return f"{f.resource_name}{rid}"


def print_report(
    findings: Sequence[Finding],
    meta: dict[str, Any],
    console: Any = None,
    intro: tuple[str, Sequence[str]] | None = None,
    verbose: bool = False,
    quiet: bool = False,
) -> None:
    """`quiet`: only what is wrong (fail, warn, error) under its resource, then the summary."""
    from rich.console import Console  # deferred: loads rich
    from rich.markup import escape as markup_escape  # deferred: loads rich

    def escape(text: str) -> str:  # neither rich markup nor terminal control characters from the data
        return markup_escape(visible(str(text)))

    con = console or Console(highlight=False, soft_wrap=True, emoji=False)
    # the lines (markup, each read on its own) are printed in one call: a call costs rich a few
    # hundred microseconds, and the report on a huge policy has thousands of lines
    lines: list[str] = []
    if intro:
        lines.append(f"[bold]{escape(intro[0])}[/]")
        lines += [f"  - {escape(line)}" for line in intro[1]]
        lines.append("")
    lines.append(
        f"[bold]vhv check[/] account [bold]{escape(meta.get('account_id', '?'))}[/] region "
        f"[bold]{escape(meta.get('region', '?'))}[/]"
    )
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        if not quiet or f.status in WRONG:
            groups.setdefault(_group_key(f), []).append(f)
    for key, items in groups.items():
        lines.append("")
        lines.append(f"[bold underline]{escape(key)}[/]  [dim]{escape(items[0].resource_type)}[/]")
        for f in items:
            st = f.status
            lines.append(
                f"  [{STYLE[st]}]{MARK[st]:<5}[/] [dim]{f.rule_id:<36}[/] "
                f"{escape(f.message if st != 'pass' else f.title)}"
            )
            if st in WRONG:
                if f.expected:
                    lines.append(f"        [dim]expected:[/] {escape(f.expected)}")
                if f.actual and f.actual not in f.message:
                    lines.append(f"        [dim]actual:  [/] {escape(f.actual)}")
                if f.fix and st != "error":
                    lines.append(f"        [dim]fix:     [/] {escape(f.fix)}")
    counts = summary(findings)
    code = exit_code(findings)
    parts = [f"[{STYLE[s]}]{counts[s]} {s}[/]" for s in ("pass", "fail", "warn", "error", "skip")]
    verdict = {
        0: "[green]no rule failed[/]",
        1: "[bold red]the account does not match the guide[/]",
        2: "[bold magenta]some rules could not be decided[/]",
    }[code]
    lines.append("")
    lines.append(f"{', '.join(parts)}: {verdict} (exit {code})")
    con.print(*lines, sep="\n")


def render(findings: Sequence[Finding], meta: dict[str, Any], quiet: bool = False) -> str:
    from rich.console import Console  # deferred: loads rich

    buf = io.StringIO()
    print_report(
        findings, meta, console=Console(file=buf, no_color=True, width=120, highlight=False, emoji=False), quiet=quiet
    )
    return buf.getvalue()
