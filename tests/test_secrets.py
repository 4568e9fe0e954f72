"""Nothing secret is printed or written: the caller's keys and session token never appear
in any report format, snapshot, record, message, or `--debug` output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from tests.conftest import threaded_moto
from validator.cli import main
from validator.demo import DEMO_PARAMS, build_golden
from validator.render import FORMATS

KEY_ID = "AKIAVHVMARKERKEYID01"
SECRET = "vhvSecretMarker/Do+Not+Print/0123456789abcdef"
TOKEN = "vhvSessionTokenMarker" + "Zx9" * 30
MARKERS = (KEY_ID, SECRET, TOKEN, SECRET[:16], TOKEN[:24])
DEAD = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def moto_url():
    with threaded_moto() as url:
        build_golden(
            boto3.Session(
                region_name=DEMO_PARAMS["region"], aws_access_key_id="testing", aws_secret_access_key="testing"
            ),
            endpoint_url=url,
        )
        yield url


@pytest.fixture
def marked(monkeypatch, moto_url, tmp_path) -> Path:
    """The environment holds the marker credentials; returns the working directory."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", TOKEN)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(DEMO_PARAMS))
    return tmp_path


def assert_clean(where: str, text: str) -> None:
    for m in MARKERS:
        assert m not in text, f"{where} contains a credential ({m[:8]}...)"


def assert_files_clean(d: Path) -> int:
    n = 0
    for p in d.rglob("*"):
        if p.is_file():
            assert_clean(str(p), p.read_bytes().decode("utf-8", "replace"))
            n += 1
    return n


def test_every_report_format_snapshot_and_record_are_free_of_credentials(capsys, marked):
    runs = [["check", "--params", "params.yaml"]]
    runs += [["check", "--params", "params.yaml", "--format", fmt, "--output", f"report.{fmt}"] for fmt in FORMATS]
    runs += [
        ["snapshot", "--params", "params.yaml", "-o", "snap.json"],
        ["check", "--params", "params.yaml", "--snapshot", "snap.json", "--format", "sarif"],
        ["record", "--params", "params.yaml", "--format", "json"],
        ["record", "--params", "params.yaml", "--snapshot", "snap.json", "--format", "markdown"],
    ]
    runs += [["check", "--params", "params.yaml", "--endpoint-url", DEAD]]  # an error path
    for argv in runs:
        code = main(argv)
        out, err = capsys.readouterr()
        assert code in (0, 1, 2), (argv, err)
        assert out or err or "--output" in argv or argv[0] == "snapshot", argv
        assert_clean(" ".join(argv), out + err)
    assert "vpc-exists" in (marked / "report.json").read_text()  # the reports were really written
    assert assert_files_clean(marked) == len(FORMATS) + 2


@pytest.mark.parametrize("endpoint", ["moto", "dead"])
def test_debug_output_of_the_real_process_is_free_of_credentials(moto_url, tmp_path, endpoint):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(DEMO_PARAMS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET,
        AWS_SESSION_TOKEN=TOKEN,
        NO_COLOR="1",
        AWS_DEFAULT_REGION=DEMO_PARAMS["region"],
        AWS_ENDPOINT_URL=moto_url if endpoint == "moto" else DEAD,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "validator", "--debug", "check", "--params", "params.yaml", "--format", "json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == (0 if endpoint == "moto" else 2), proc.stderr
    assert proc.stdout if endpoint == "moto" else proc.stderr
    assert_clean("--debug stdout", proc.stdout)
    assert_clean("--debug stderr", proc.stderr)
    assert_files_clean(tmp_path)
