"""Which region `vhv check` reads: --region, else the params' region; AWS_REGION and
AWS_DEFAULT_REGION never choose it. When --region or the environment names another region
than the params, one line on stderr says so and which region is read."""

from __future__ import annotations

import pytest
import yaml

from validator.cli import main
from validator.demo import DEMO_PARAMS

REGION = DEMO_PARAMS["region"]  # the params' region, where the golden account is built
OTHER = "us-east-1"


@pytest.fixture
def params_file(account, tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(account.params))
    return str(path)


def check(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_same_region_everywhere_says_nothing(params_file, capsys, monkeypatch):
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    code, out, err = check(capsys, "--params", params_file, "--region", REGION)
    assert (code, err) == (0, "")
    assert f"region {REGION}" in out


@pytest.mark.parametrize("var", ["AWS_REGION", "AWS_DEFAULT_REGION"])
def test_the_environment_naming_another_region_is_a_warning_and_the_params_win(var, params_file, capsys, monkeypatch):
    monkeypatch.setenv(var, OTHER)
    code, out, err = check(capsys, "--params", params_file)
    assert err == (
        f"vhv: warning: {var}={OTHER} is not the params' region ({REGION}): reading {REGION} "
        "(the params' region wins over the environment; --region wins over both)\n"
    )
    assert code == 0  # the golden account, read in the params' region
    assert f"region {REGION}" in out


def test_both_variables_in_one_line(params_file, capsys, monkeypatch):
    monkeypatch.setenv("AWS_REGION", OTHER)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    _code, _out, err = check(capsys, "--params", params_file)
    assert err.count("\n") == 1
    assert err.startswith("vhv: warning: AWS_REGION=us-east-1 and AWS_DEFAULT_REGION=us-west-2 are not the params'")


def test_another_region_given_with_region_is_a_warning_and_region_wins(params_file, capsys, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-west-2")  # --region decides: the environment is not named
    code, out, err = check(capsys, "--params", params_file, "--region", OTHER)
    assert err == (
        f"vhv: warning: --region {OTHER} is not the params' region ({REGION}): reading {OTHER} "
        "(--region wins over the params)\n"
    )
    assert code == 1  # nothing of the guide's account is in us-east-1
    assert f"region {OTHER}" in out


def test_a_region_that_is_not_one_is_refused_without_a_warning(params_file, capsys):
    code, _out, err = check(capsys, "--params", params_file, "--region", "eu-wset-1")
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("vhv: --region: 'eu-wset-1' is not an AWS region")


def test_a_snapshot_reads_no_region_so_no_warning(params_file, account, capsys, monkeypatch, tmp_path):
    snap = tmp_path / "account.json"
    assert main(["snapshot", "--params", params_file, "-o", str(snap)]) == 0
    capsys.readouterr()
    monkeypatch.setenv("AWS_REGION", OTHER)
    code, _out, err = check(capsys, "--params", params_file, "--snapshot", str(snap))
    assert (code, err) == (0, "")


def test_an_environment_value_is_shown_escaped(params_file, capsys, monkeypatch):
    monkeypatch.setenv("AWS_REGION", "us-east-1\x1b[2J")
    _code, _out, err = check(capsys, "--params", params_file)
    assert "AWS_REGION=us-east-1\\x1b[2J is not" in err and "\x1b" not in err
