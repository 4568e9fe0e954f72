"""`vhv rules`: the rule pack as a table, JSON, or the Markdown docs table."""
from __future__ import annotations

import io
import json
from typing import Sequence

from validator.rulepack import Rule

COLUMNS = ("id", "severity", "title", "section", "fixable")


def render_rules(rules: Sequence[Rule], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([{**{c: getattr(r, c) for c in COLUMNS}, "resource": r.resource_name,
                            "when": r.when, "fix": r.fix} for r in rules], indent=2) + "\n"
    if fmt == "markdown":
        lines = ["| id | severity | title | guide section | fixable |", "|---|---|---|---|---|"]
        for r in rules:
            cond = f" (when {', '.join(f'{k}: {v}' for k, v in r.when.items())})" if r.when else ""
            lines.append(f"| `{r.id}` | {r.severity} | {r.title}{cond} | {r.section} | {'yes' if r.fixable else 'no'} |")
        return "\n".join(lines) + "\n"
    from rich.console import Console
    from rich.table import Table

    table = Table("id", "severity", "title", "fixable", box=None, show_edge=False)
    for r in rules:
        table.add_row(r.id, r.severity, r.title, "yes" if r.fixable else "no")
    buf = io.StringIO()
    Console(file=buf, width=160, no_color=True).print(table)
    return buf.getvalue()
