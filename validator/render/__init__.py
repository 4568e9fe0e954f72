"""[Finding] -> a report in one of the formats people's tools read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from validator.errors import VhvError
from validator.files import write_atomic

if TYPE_CHECKING:  # the engine (rule pack, jsonschema) is not needed to parse arguments: `vhv --version`
    from validator.findings import Finding

FORMATS = ("console", "json", "junit", "sarif", "markdown", "html")
# the file name each format is written to by `vhv demo --write-reports DIR`
EXTENSIONS = {
    "console": "txt",
    "json": "json",
    "junit": "junit.xml",
    "sarif": "sarif",
    "markdown": "md",
    "html": "html",
}


def renderer(fmt: str) -> Callable[..., str]:
    """The function (findings, meta) -> text for `fmt`; modules are imported only when asked for."""
    if fmt not in FORMATS:
        raise VhvError(f"unknown format {fmt!r} (one of: {', '.join(FORMATS)})")
    import importlib

    render = importlib.import_module(f"validator.render.{fmt}").render
    if fmt not in ("markdown", "html"):
        return render  # json, sarif, junit encode what they hold; console escapes as it prints

    def shown(findings: Sequence[Finding], meta: dict[str, Any]) -> str:
        from validator.render.common import visible_text

        return visible_text(render(findings, meta))  # often printed to a terminal: no raw control characters

    return shown


def emit(
    findings: Sequence[Finding],
    meta: dict[str, Any],
    fmt: str = "console",
    output: str | None = None,
    console: Any = None,
    intro: tuple[str, Sequence[str]] | None = None,
) -> int:
    """Render `findings`, print or write them, and return the exit code they call for."""
    if fmt == "console" and output is None:
        from validator.render.console import print_report

        print_report(findings, meta, console=console, intro=intro)
    else:
        text = renderer(fmt)(findings, meta)
        if output:
            write_atomic(output, text)
        else:
            import sys

            sys.stdout.write(text)
    from validator.findings import exit_code

    return exit_code(findings)
