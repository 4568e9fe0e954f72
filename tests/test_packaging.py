"""The distribution as a user gets it: `python -m build` makes the sdist and, from it, the wheel;
`twine check` accepts both; both carry the rule pack (rules/*.yaml, *.json) and the data files
(validator/data/*). The wheel, installed in a fresh venv without extras, runs `vhv rules`, `vhv lint`
and `vhv check` on a snapshot, and `vhv demo` says how to get moto; with the `demo` extra,
`vhv demo` runs the demo account.

One test, in order, so that xdist never builds twice: it takes about two minutes (the build and
the venv install from PyPI, pinned by constraints.txt). Marked `packaging` to leave it out of a
quick local run (`-m "not packaging"`); CI runs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import yaml

from validator.demo import DEMO_PARAMS, drifted_account

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINTS = ROOT / "constraints.txt"
RULES = sorted(p.name for p in (ROOT / "rules").iterdir() if p.suffix in (".yaml", ".json"))
DATA = sorted(p.name for p in (ROOT / "validator" / "data").iterdir() if p.suffix in (".yaml", ".json"))
CLEAN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def run(argv: list[str], cwd: Path, env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def ok(got: subprocess.CompletedProcess) -> str:
    assert got.returncode == 0, f"{got.args}: exit {got.returncode}\n{got.stdout[-3000:]}\n{got.stderr[-3000:]}"
    return got.stdout


def clean_env() -> dict[str, str]:
    """The machine's environment, less this test run's venv, Python path and AWS settings."""
    drop = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_", "AWS_", "MOTO_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)}


def test_sdist_and_wheel_build_carry_the_rules_and_data_and_install_without_and_with_the_demo_extra(tmp_path):
    env = clean_env()
    dist = tmp_path / "dist"

    # the sdist, then the wheel built from it (what pip does with an sdist)
    ok(run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], tmp_path, env))
    (sdist,) = dist.glob("vhv-*.tar.gz")
    (wheel,) = dist.glob("vhv-*-py3-none-any.whl")
    assert "PASSED" in ok(
        run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)], tmp_path, env)
    )

    with tarfile.open(sdist) as tar:
        in_sdist = {Path(*Path(n).parts[1:]).as_posix() for n in tar.getnames()}
    assert {f"rules/{n}" for n in RULES} <= in_sdist, sorted(in_sdist)
    assert {f"validator/data/{n}" for n in DATA} <= in_sdist, sorted(in_sdist)
    with zipfile.ZipFile(wheel) as whl:
        in_wheel = set(whl.namelist())
        entry_points = next(whl.read(n).decode() for n in in_wheel if n.endswith(".dist-info/entry_points.txt"))
        metadata = next(whl.read(n).decode() for n in in_wheel if n.endswith(".dist-info/METADATA"))
    assert {f"validator/rules/{n}" for n in RULES} <= in_wheel, sorted(in_wheel)
    assert {f"validator/data/{n}" for n in DATA} <= in_wheel, sorted(in_wheel)
    assert "vhv = validator.cli:main" in entry_points and "vhv = validator.pytest_plugin" in entry_points
    assert "Provides-Extra: demo" in metadata
    assert not any(line.startswith("Requires-Dist: moto") and "extra ==" not in line for line in metadata.splitlines())

    # a fresh venv, the wheel without extras: no moto
    venv = tmp_path / "venv"
    ok(run([sys.executable, "-m", "venv", str(venv)], tmp_path, env))
    pip, vhv, python = (str(venv / "bin" / n) for n in ("pip", "vhv", "python"))
    ok(run([pip, "install", "--quiet", "-c", str(CONSTRAINTS), str(wheel)], tmp_path, env))
    assert run([python, "-c", "import moto"], tmp_path, env).returncode == 1
    rules = ok(run([vhv, "rules", "--format", "json"], tmp_path, env))
    assert len(json.loads(rules)) > 50  # the rule pack, read from the installed package
    (tmp_path / "reader-policy.json").write_text(json.dumps(CLEAN))
    assert "1 file(s), 0 finding(s)" in ok(run([vhv, "lint", "reader-policy.json"], tmp_path, env))
    assert "--params" in ok(run([vhv, "check", "--help"], tmp_path, env))

    # check a snapshot of the demo account (written here, in the test run, where moto is)
    from validator.aws.account import read

    with drifted_account(seed=1) as (params, _pack, target):
        snap, _calls = read(params, target)
    snap.save(tmp_path / "account.json")
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({**DEMO_PARAMS, "account_id": snap.account_id}))
    check = run([vhv, "check", "--params", "params.yaml", "--snapshot", "account.json"], tmp_path, env)
    assert check.returncode == 1, check.stderr
    assert "FAIL  worker-role-instance-profile" in check.stdout

    demo = run([vhv, "demo"], tmp_path, env)
    assert (demo.returncode, demo.stdout) == (2, "")
    assert demo.stderr == (
        "vhv: vhv demo builds its account in moto, which is not installed (moto cannot be imported): "
        "pip install 'vhv[demo]'\n"
    )

    # the demo extra: vhv demo builds, checks, fixes and re-checks the demo account
    ok(run([pip, "install", "--quiet", "-c", str(CONSTRAINTS), f"vhv[demo] @ {wheel.as_uri()}"], tmp_path, env))
    out = ok(run([vhv, "demo"], tmp_path, env))
    assert out.startswith("vhv demo: the guide's account built in moto, with these drifts:")
    assert "vhv demo: now `vhv remediate --fix --yes` on the same account" in out
