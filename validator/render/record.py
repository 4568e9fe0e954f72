"""`vhv record` output: console, json, markdown."""

from __future__ import annotations

import json

from validator.record import Record, Value
from validator.render.common import visible_text
from validator.render.markdown import cell

FORMATS = ("console", "json", "markdown")


def _shown(v: Value) -> str:
    if v.missing is not None:
        return f"MISSING: {v.missing}"
    return ", ".join(v.value) if isinstance(v.value, list) else str(v.value)


def render_record(rec: Record, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(rec.to_dict(), indent=2) + "\n"

    return visible_text(_text(rec, fmt))  # what the account holds, never raw control characters


def _text(rec: Record, fmt: str) -> str:
    head = f"account {rec.account_id}, provisioning: {rec.provisioning}"
    if fmt == "markdown":
        lines = ["## Values to hand over to Valohai", "", head, "", "| value | recorded |", "|---|---|"]
        for v in rec.values:
            text = f"**missing**: {cell(v.missing)}" if v.missing is not None else f"`{cell(_shown(v))}`"
            lines.append(f"| {v.label} | {text}{' (' + cell(v.note) + ')' if v.note else ''} |")
        lines.append("")
        lines += [f"> {n}" for n in rec.notes]
        return "\n".join(lines) + "\n"
    width = max(len(v.label) for v in rec.values)
    lines = [f"vhv record: {head}", ""]
    for v in rec.values:
        lines.append(f"  {v.label:<{width}}  {_shown(v)}" + (f"  ({v.note})" if v.note else ""))
    lines.append("")
    lines += [f"  {n}" for n in rec.notes]
    state = (
        "every value was read"
        if rec.complete
        else f"{sum(v.missing is not None for v in rec.values)} value(s) missing: fix them before handing over"
    )
    lines += ["", f"{state} (exit {0 if rec.complete else 1})"]
    return "\n".join(lines) + "\n"
