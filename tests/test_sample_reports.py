"""reports/ holds the demo account's report in every format; this fails when they are stale.

Regenerate with `vhv demo --write-reports reports/`.

The demo seeds moto's random generator, so ids (vpc-..., sg-..., eipalloc-...) and the
Elastic IP are the same on every run and regenerating changes nothing unless vhv's
output did. The comparison still masks those generated values: a moto release
that draws its random ids differently is not a change in vhv's reports.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from validator.demo import REPORT_STEM, report_texts
from validator.render import EXTENSIONS, FORMATS

REPORTS = Path(__file__).resolve().parent.parent / "reports"
REGENERATE = "vhv demo --write-reports reports/"
# what moto draws at random: resource ids, the Elastic IP (moto allocates them in 127.0.0.0/8),
# and the SARIF fingerprints computed from the ids
GENERATED = (
    (re.compile(r"\b(vpc|subnet|igw|rtb|sg|i|vol|eipalloc|eipassoc|eni|key|acl)-[0-9a-f]{8,17}\b"), r"\1-ID"),
    (re.compile(r"\b127\.\d{1,3}\.\d{1,3}\.\d{1,3}\b"), "127.X.X.X"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "SHA256"),
)


def normalise(text: str) -> str:
    for pattern, repl in GENERATED:
        text = pattern.sub(repl, text)
    return text


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
    committed = normalise((REPORTS / name).read_text(encoding="utf-8"))
    now = normalise(fresh[name])
    if committed != now:
        diff = "".join(
            list(
                difflib.unified_diff(
                    committed.splitlines(True), now.splitlines(True), f"reports/{name}", "regenerated", n=1
                )
            )[:40]
        )
        pytest.fail(f"reports/{name} is stale: run `{REGENERATE}`\n{diff}")


def test_normalising_masks_only_what_moto_draws():
    text = 'sg-0a1b2c3d4e5f67890 eipalloc-d606c33c8145a6a24 127.56.155.51 ami-0f0c0a1b2c3d42004 10.0.0.0/16 "fail": 5'
    assert normalise(text) == 'sg-ID eipalloc-ID 127.X.X.X ami-0f0c0a1b2c3d42004 10.0.0.0/16 "fail": 5'
