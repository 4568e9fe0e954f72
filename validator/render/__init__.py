"""[Finding] -> a report in one of the formats people's tools read."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any

from validator.errors import VhvError
from validator.files import write_atomic
from validator.findings import Finding, exit_code
from validator.formats import EXTENSIONS, FORMATS
from validator.render.common import visible_text
from validator.render.console import print_report
from validator.render.console import render as console_text


def renderer(fmt: str) -> Callable[..., str]:
    """The function (findings, meta) -> text for `fmt`; modules are imported only when asked for."""
    if fmt not in FORMATS:
        raise VhvError(f"unknown format {fmt!r} (one of: {', '.join(FORMATS)})")

    render = importlib.import_module(f"validator.render.{fmt}").render
    if fmt not in ("markdown", "html"):
        return render  # json, sarif, junit encode what they hold; console escapes as it prints

    def shown(findings: Sequence[Finding], meta: dict[str, Any]) -> str:

        return visible_text(render(findings, meta))  # often printed to a terminal: no raw control characters

    return shown


def emit(
    findings: Sequence[Finding],
    meta: dict[str, Any],
    fmt: str = "console",
    output: str | None = None,
    console: Any = None,
    intro: tuple[str, Sequence[str]] | None = None,
    quiet: bool = False,
) -> int:
    """Render `findings`, print or write them, and return the exit code they call for. `quiet`
    (the console report only): what is wrong and the summary."""
    if fmt == "console" and output is None:
        print_report(findings, meta, console=console, intro=intro, quiet=quiet)
    else:
        text = console_text(findings, meta, quiet=quiet) if fmt == "console" else renderer(fmt)(findings, meta)
        if output:
            write_atomic(output, text)
        else:
            sys.stdout.write(text)

    return exit_code(findings)


__all__ = ["EXTENSIONS", "FORMATS", "emit", "renderer", "write_atomic"]
