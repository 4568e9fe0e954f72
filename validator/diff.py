"""`vhv check --diff OLD.json`: what changed since a previous JSON report.

A finding is keyed by rule id and resource (name and id): new failures (fail or
error now, not before), fixed (fail or error before, now passing, skipped or gone),
still failing. The old report must obey the report schema (`vhv schema`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from validator import shape
from validator.errors import VhvError
from validator.findings import Finding
from validator.render import schema
from validator.render.common import visible, visible_text
from validator.render.markdown import cell

FAILING = ("fail", "error")
FORMATS = ("console", "json", "markdown")
# A 100,000-finding report is about 65 MB. At the snapshots' 200 MB, a previous report whose every
# finding failed took 1.35 GB to diff (measured); at 100 MB, about 0.7 GB.
MAX_PREVIOUS_BYTES = 100_000_000


def load(path: str | Path) -> dict[str, Any]:
    from validator.bounded import read_text  # deferred: loads yaml

    text = read_text(
        path,
        "previous report",
        MAX_PREVIOUS_BYTES,  # /dev/zero: "too big", not all the memory
        usual="vhv's JSON reports are a few MB (100,000 findings: about 65 MB)",
    )

    not_ours = f"{path}: not a vhv JSON report (`vhv check --format json`)"
    try:
        doc = shape.loads(text)  # json.loads, but an integer of 5,000 digits is named, not a ValueError
    except (json.JSONDecodeError, RecursionError) as exc:
        raise VhvError(f"{path}: the previous report is not JSON: {exc}") from None
    except shape.BadNumber as bad:
        where = "/".join(str(p) for p in shape.d_path(bad.doc, bad.number) or []) or "(top)"
        raise VhvError(
            f"{not_ours}: {where}: {bad.number.text_brief()} is not a number vhv writes ({bad.number.why})"
        ) from None
    errs = schema.errors(doc)
    if errs:
        raise VhvError(f"{not_ours}: {errs[0]}")
    return doc


def _key(d: dict[str, Any]) -> tuple[str, str, str]:
    return d["rule_id"], d["resource_name"], d.get("resource_id") or ""


def compare(old: dict[str, Any], findings: Sequence[Finding]) -> dict[str, Any]:
    before = {_key(d): d for d in old["findings"]}
    now = {_key(f.to_dict()): f.to_dict() for f in findings}
    pick = ("rule_id", "title", "severity", "status", "resource_name", "resource_id", "message")

    def entry(d: dict[str, Any], was: dict[str, Any] | None) -> dict[str, Any]:
        return {**{k: d.get(k) for k in pick}, "was": was["status"] if was else None}

    new = [
        entry(d, before.get(k))
        for k, d in now.items()
        if d["status"] in FAILING and (k not in before or before[k]["status"] not in FAILING)
    ]
    still = [
        entry(d, before[k])
        for k, d in now.items()
        if d["status"] in FAILING and k in before and before[k]["status"] in FAILING
    ]
    fixed = [
        {**{k2: d.get(k2) for k2 in pick}, "status": now[k]["status"] if k in now else None, "was": d["status"]}
        for k, d in before.items()
        if d["status"] in FAILING and (k not in now or now[k]["status"] not in FAILING)
    ]
    return {
        "previous": {
            "account_id": old.get("account_id"),
            "region": old.get("region"),
            "version": old.get("version"),
            "summary": old.get("summary"),
        },
        "new_failures": new,
        "fixed": fixed,
        "still_failing": still,
    }


def _line(e: dict[str, Any]) -> str:
    res = e["resource_name"] + (
        f" ({e['resource_id']})" if e.get("resource_id") and e["resource_id"] != e["resource_name"] else ""
    )
    return f"{e['rule_id']} [{res}]: {e['message']}"


def render(diff: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(diff, indent=2) + "\n"
    sections = (("New failures", "new_failures"), ("Fixed", "fixed"), ("Still failing", "still_failing"))

    if fmt == "markdown":
        out = ["## vhv: changes since the previous report", "", "| change | rules |", "|---|---:|"]
        out += [f"| {title} | {len(diff[key])} |" for title, key in sections]
        for title, key in sections:
            if diff[key]:
                out += ["", f"### {title} ({len(diff[key])})", ""]
                out += [f"- {e['status'] or 'gone'} (was {e['was'] or 'absent'}): {cell(_line(e))}" for e in diff[key]]
        return visible_text("\n".join(out) + "\n")
    out = ["vhv check --diff: changes since the previous report"]
    for title, key in sections:
        out += ["", f"{title}: {len(diff[key])}"]
        out += [
            f"  {(e['status'] or 'gone').upper():<5} (was {e['was'] or 'absent'}) {visible(_line(e))}"
            for e in diff[key]
        ]
    return "\n".join(out) + "\n"
