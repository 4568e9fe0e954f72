"""What the file formats share: order, verdict, where a finding is, its explanation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from validator.findings import SEVERITIES, Finding, exit_code, summary

STATUS_ORDER = ("fail", "error", "warn", "skip", "pass")
SEVERITY_ORDER = SEVERITIES
VERDICT = {0: "no rule failed", 1: "the account does not match the guide", 2: "some rules could not be decided"}
# `vhv lint` speaks of policy files, not of an account (meta["command"] == "lint")
VERDICT_LINT = {
    0: "no problem found in the policies",
    1: "the policies have problems",
    2: "some files could not be read as policies",
}
# IAM is global: its resources have no region
GLOBAL_TYPES = ("AWS::IAM::",)


# Terminal control characters (C0, DEL, C1) and the bidirectional overrides of "Trojan Source":
# text from a file or an account is shown escaped, never sent raw to the user's terminal.
_UNSAFE = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_UNSAFE.update({c: f"\\u{c:04x}" for c in (0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))})


_UNSAFE_IN_TEXT = {c: v for c, v in _UNSAFE.items() if c not in (0x09, 0x0A)}  # a document keeps its lines


def visible_text(text: str) -> str:
    """A whole document (markdown, HTML) with control characters escaped but its tabs and lines kept."""
    return text.translate(_UNSAFE_IN_TEXT)


def visible(text: str) -> str:
    """`text` with control characters written as escapes (\\x1b), safe to print on a terminal."""
    return text.translate(_UNSAFE)


def verdict(findings: Sequence[Finding], meta: dict[str, Any] | None = None) -> tuple[int, str]:
    code = exit_code(findings)
    if is_lint(meta):
        if code == 0 and any(f.status == "warn" for f in findings):
            return code, "only warnings: the policies work, but check what the warnings say"
        return code, VERDICT_LINT[code]
    return code, VERDICT[code]


def is_lint(meta: dict[str, Any] | None) -> bool:
    return bool(meta) and meta.get("command") == "lint"  # type: ignore[union-attr]


def is_lint_finding(f: Finding) -> bool:
    return f.rule_id.startswith("lint-")


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    return summary(findings)


def title(meta: dict[str, Any]) -> str:
    """One line naming what was checked."""
    base = str(meta.get("title") or ("vhv check" if meta.get("account_id") else "vhv report"))
    if meta.get("account_id"):
        return f"{base}: account {meta['account_id']}, region {meta.get('region') or '?'}"
    return base


def is_file_finding(f: Finding) -> bool:
    return f.file is not None


def group_key(f: Finding) -> str:
    """The resource (or file) a finding is about, as a person names it."""
    if f.file is not None:
        return f.file
    if f.resource_type == "Params":
        return "params"
    rid = f" ({f.resource_id})" if f.resource_id and f.resource_id != f.resource_name else ""
    return f"{f.resource_name}{rid}"


def aws_uri(f: Finding, region: str | None) -> str:
    """aws://REGION/TYPE/ID: where the resource is (IAM under `global`, by name)."""
    glob = f.resource_type.startswith(GLOBAL_TYPES)
    where = "global" if glob else (region or "unknown-region")
    ident = f.resource_name if glob else (f.resource_id or f.resource_name)
    return f"aws://{where}/{quote(f.resource_type, safe=':')}/{quote(ident, safe=':*@-._~')}"


def resource_label(f: Finding) -> str:
    if f.file is not None:
        where = f.file + (f":{f.line}" if f.line else "") + (f":{f.column}" if f.line and f.column else "")
        return where + (f" {f.pointer}" if f.pointer else "")
    if f.resource_type == "Params":
        return f"params: {f.resource_id}" if f.resource_id else "params"
    if f.resource_id and f.resource_id != f.resource_name:
        return f"{f.resource_name} ({f.resource_id})"
    return f.resource_name


def explanation(f: Finding) -> list[tuple[str, str]]:
    """(label, text) pairs that explain a finding beyond its message."""
    out = []
    if f.expected:
        out.append(("expected", f.expected))
    if f.actual:
        out.append(("actual", f.actual))
    if f.fix and f.status != "pass":
        out.append(("fix", f.fix))
    if f.section:  # a lint check's section is its category (Grammar, Vocabulary, ...), not the guide's
        out.append(("category" if is_lint_finding(f) else "guide section", f.section))
    return out
