"""reports/ holds the demo account's report in every format; this fails when they are stale.

Regenerate with `vhv demo --write-reports reports/`.

The demo seeds moto's random generator, so ids (vpc-..., sg-..., eipalloc-...) and the
Elastic IP are the same on every run: the committed files must equal what the command
writes now, byte for byte. Nothing is masked: ids change when the order of the demo's
calls changes or when moto draws them differently, and both are changes to reports/. moto's
version is pinned by constraints.txt, so a moto release changes them only when the lock is
refreshed, in the commit that regenerates reports/.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from validator.demo import REPORT_STEM, report_texts
from validator.render import EXTENSIONS, FORMATS

REPORTS = Path(__file__).resolve().parent.parent / "reports"
REGENERATE = "vhv demo --write-reports reports/"


def staleness(name: str, committed: str, now: str) -> str | None:
    """None when `committed` is `now`; else why reports/`name` is stale, with the first lines that differ."""
    if committed == now:
        return None
    diff = difflib.unified_diff(committed.splitlines(True), now.splitlines(True), f"reports/{name}", "regenerated", n=1)
    return f"reports/{name} is stale: run `{REGENERATE}`\n" + "".join(list(diff)[:40])


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    return report_texts()


def test_reports_directory_has_every_format_and_nothing_else():
    assert sorted(p.name for p in REPORTS.iterdir() if p.name != "README.md") == sorted(
        f"{REPORT_STEM}.{EXTENSIONS[f]}" for f in FORMATS
    )


@pytest.mark.managed_policies
@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_report_is_current(fmt, fresh):
    name = f"{REPORT_STEM}.{EXTENSIONS[fmt]}"
    problem = staleness(name, (REPORTS / name).read_text(encoding="utf-8"), fresh[name])
    if problem:
        pytest.fail(problem)


def test_a_report_that_differs_only_in_an_id_is_stale():
    committed = (REPORTS / f"{REPORT_STEM}.txt").read_text(encoding="utf-8")
    assert staleness("vhv-demo.txt", committed, committed) is None
    # what a change in the order of the demo's moto calls does: the same findings under other ids
    sg = next(w for w in committed.split() if w.startswith("(sg-")).strip("()")
    problem = staleness("vhv-demo.txt", committed, committed.replace(sg, "sg-0123456789abcdef0"))
    assert problem is not None
    assert problem.startswith("reports/vhv-demo.txt is stale: run `vhv demo --write-reports reports/`")
    assert f"-valohai-sg-workers ({sg})" in problem and "+valohai-sg-workers (sg-0123456789abcdef0)" in problem
