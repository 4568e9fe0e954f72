"""Files (or standard input) -> lint Findings, with suppressions applied."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from validator.bounded import read_at_most
from validator.findings import Finding
from validator.policy.lint import lint_text, unreadable
from validator.policy.sourcemap import JsonSyntaxError
from validator.policy.suppress import Suppressions

STDIN = "-"


@dataclass
class LintRun:
    findings: list[Finding] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    suppressed: int = 0
    files: int = 0


MAX_BYTES = 20_000_000


def read(path: str) -> str:
    """The file's text; JsonSyntaxError with a position for bytes that are not UTF-8,
    OSError when it cannot be read."""
    data = sys.stdin.buffer.read(MAX_BYTES + 1) if path == STDIN else read_at_most(Path(path), MAX_BYTES)
    if len(data) > MAX_BYTES:  # IAM's own limit is a few KB; /dev/zero must not eat the memory
        raise JsonSyntaxError(f"more than {MAX_BYTES // 1_000_000} MB: not a policy (IAM allows a few KB)", 1, 1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        head = data[: exc.start]
        line = head.count(b"\n") + 1
        col = exc.start - (head.rfind(b"\n") + 1) + 1
        raise JsonSyntaxError(f"byte 0x{data[exc.start]:02x} is not UTF-8", line, col) from None


def lint_paths(
    paths: Sequence[str],
    suppressions: Suppressions,
    trust: bool | None = None,
    account: str | None = None,
    fail_on: str = "error",
) -> LintRun:
    run = LintRun()
    for path in paths:
        name = "<stdin>" if path == STDIN else path
        run.files += 1
        try:
            text = read(path)
        except IsADirectoryError:
            run.findings.append(unreadable(name, "it is a directory", fail_on))
            continue
        except OSError as exc:
            run.findings.append(unreadable(name, exc.strerror or str(exc), fail_on))
            continue
        except JsonSyntaxError as exc:
            found = unreadable(name, exc.reason, fail_on)
            found.line, found.column = exc.line, exc.column
            run.findings.append(found)
            continue
        run.sources[name] = text
        ignore = suppressions.for_file(path)
        for f in lint_text(text, name, trust, account, fail_on):
            if f.rule_id in ignore:
                run.suppressed += 1
            else:
                run.findings.append(f)
    return run
