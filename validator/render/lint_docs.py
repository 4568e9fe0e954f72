"""`vhv rules --lint [CHECK]`: the lint checks and their docs (What it does, Why is
this bad, Example, Use instead), as a table, JSON or Markdown."""

from __future__ import annotations

import json
import re

from validator.errors import VhvError
from validator.kinds import KINDS
from validator.policy.lintmodel import docs

KIND = re.compile(r"\{(\w+)\}")


def _named(text: str) -> str:
    """A doc's text with each {kind} (a catalogue key, as lint-checks.yaml writes it) as the guide names it."""
    return KIND.sub(lambda m: KINDS[m.group(1)].name if m.group(1) in KINDS else m.group(0), text)


def render_checks(fmt: str, only: str | None = None) -> str:
    checks = {rid: {k: _named(v) if isinstance(v, str) else v for k, v in d.items()} for rid, d in docs().items()}
    if only is not None:
        if only not in checks:
            raise VhvError(f"no lint check {only!r} (see `vhv rules --lint`)")
        checks = {only: checks[only]}
    if fmt == "json":
        return json.dumps([{"id": k, **v} for k, v in checks.items()], indent=2) + "\n"
    if fmt == "markdown" or only is not None:
        out = ["# vhv lint checks", ""] if only is None else []
        for rid, d in checks.items():
            out += [
                f"## `{rid}` — {d['title']}",
                "",
                f"Level: {d['level']}. Category: {d['category']}.",
                "",
                "**What it does.** " + d["what"],
                "",
                "**Why is this bad?** " + d["why"],
                "",
                "**Example.**",
                "",
                "```json",
                d["example"],
                "```",
                "",
                "**Use instead.**",
                "",
                "```json",
                d["instead"],
                "```",
                "",
            ]
        return "\n".join(out)
    width = max(len(k) for k in checks)
    lines = [f"{'id':<{width}}  {'level':<8}  {'category':<10}  title"]
    lines += [f"{k:<{width}}  {v['level']:<8}  {v['category']:<10}  {v['title']}" for k, v in checks.items()]
    return "\n".join(lines) + "\n"
