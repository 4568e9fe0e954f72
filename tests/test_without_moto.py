"""moto is the extra `vhv[demo]`: `vhv check`, `vhv lint` and the pytest plugin work without it,
and `vhv demo` says in one line how to get it (exit 2, no traceback).

The commands run as real processes (the venv's `vhv` and `python -m pytest`) in which moto cannot
be imported: a `sitecustomize` on PYTHONPATH puts a finder first on `sys.meta_path` that answers
every `moto` import as Python does for a package that is not installed (ModuleNotFoundError).
tests/test_packaging.py does the same in a fresh venv where moto was never installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from validator.demo import DEMO_PARAMS, INSTALL_DEMO, drifted_account

NO_MOTO = '''
import sys


class NoMoto:
    """moto as if it were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name == "moto" or name.startswith("moto."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoMoto())
'''

CLEAN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
}
PASSROLE_STAR = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}],
}


@pytest.fixture
def no_moto(tmp_path) -> dict[str, str]:
    """The environment of a process in which moto cannot be imported."""
    site = tmp_path / "no-moto"
    site.mkdir()
    (site / "sitecustomize.py").write_text(NO_MOTO)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def vhv() -> str:
    """The `vhv` the venv installed (sys.executable's sibling)."""
    script = Path(sys.executable).with_name("vhv")
    assert script.exists(), f"no vhv console script beside {sys.executable}: pip install -e '.[test]'"
    return str(script)


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_the_trick_makes_moto_unimportable(no_moto, tmp_path):
    got = run([sys.executable, "-c", "import moto"], no_moto, tmp_path)
    assert got.returncode == 1
    assert "ModuleNotFoundError: No module named 'moto'" in got.stderr
    got = run([sys.executable, "-c", "import boto3, yaml, jsonschema"], no_moto, tmp_path)
    assert got.returncode == 0, got.stderr


@pytest.mark.parametrize("argv", [["demo"], ["demo", "--format", "json"], ["demo", "--write-reports", "out"]])
def test_demo_without_moto_says_how_to_get_it(argv, no_moto, tmp_path):
    got = run([vhv(), *argv], no_moto, tmp_path)
    assert got.returncode == 2
    assert got.stdout == ""
    assert got.stderr == (
        "vhv: vhv demo builds its account in moto, which is not installed (moto cannot be imported): "
        "pip install 'vhv[demo]'\n"
    )
    assert INSTALL_DEMO == "pip install 'vhv[demo]'"
    assert not (tmp_path / "out").exists()


def test_lint_without_moto(no_moto, tmp_path):
    (tmp_path / "clean.json").write_text(json.dumps(CLEAN_POLICY, indent=2))
    (tmp_path / "broken.json").write_text(json.dumps(PASSROLE_STAR, indent=2))
    clean = run([vhv(), "lint", "clean.json"], no_moto, tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    broken = run([vhv(), "lint", "broken.json"], no_moto, tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "broken.json:" in broken.stdout and "security[lint-passrole-star]" in broken.stdout


@pytest.mark.managed_policies
def test_check_and_the_pytest_plugin_without_moto(no_moto, tmp_path):
    """A snapshot of the demo account (written here, where moto is) checked offline where it is not."""
    from validator.aws.account import read

    with drifted_account(seed=1) as (params, _pack, target):
        snap, _calls = read(params, target)
    snap.save(tmp_path / "account.json")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**DEMO_PARAMS, "account_id": snap.account_id}))

    assert run([vhv(), "check", "--help"], no_moto, tmp_path).returncode == 0
    check = run([vhv(), "check", "--params", "params.yaml", "--snapshot", "account.json"], no_moto, tmp_path)
    assert check.returncode == 1, check.stderr
    assert "FAIL  sg-queue-ingress-only-guide" in check.stdout
    assert "Traceback" not in check.stderr

    plugin = run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--vhv-params", "params.yaml"]
        + ["--vhv-snapshot", "account.json", "-k", "sg-queue-ingress"],
        no_moto,
        tmp_path,
    )
    assert plugin.returncode == 1, plugin.stdout[-3000:] + plugin.stderr[-3000:]
    assert "FAILED vhv::test_vhv[valohai-sg-queue::sg-queue-ingress-only-guide]" in plugin.stdout
    assert " passed" in plugin.stdout and "moto" not in plugin.stderr
