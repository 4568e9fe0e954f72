"""The headless-Chromium HTML test (tests/test_reports.py) may be skipped on a developer's
machine without Chromium, never in CI: under CI=true its missing browser is a failure."""

from __future__ import annotations

import shutil

import pytest

from tests.test_reports import NO_CHROMIUM, require_chromium


@pytest.fixture
def no_browser(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)


def test_without_chromium_under_ci_the_browser_test_fails(no_browser, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_chromium()
    assert str(failed.value) == f"CI=true: {NO_CHROMIUM} (.ci/run installs it as root)"


@pytest.mark.parametrize("ci", [None, "false", ""])
def test_without_chromium_outside_ci_the_browser_test_is_skipped_with_the_reason(ci, no_browser, monkeypatch):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_chromium()
    assert str(skipped.value) == NO_CHROMIUM


def test_with_chromium_the_browser_test_runs(monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: f"/usr/bin/{name}" if name == "chromium" else None)
    assert require_chromium() == "/usr/bin/chromium"
