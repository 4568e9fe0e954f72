"""The pre-commit hook `vhv-lint` (.pre-commit-hooks.yaml), run as a user runs it:
`pre-commit try-repo <this repository> vhv-lint` in a git repository of policies. pre-commit
installs this repository into a virtualenv of its own (pip, from PyPI, pinned by constraints.txt
through PIP_CONSTRAINT) and runs the hook's `vhv lint` on the files its `files:` pattern selects.

try-repo uses the repository's HEAD plus its uncommitted changes to tracked files; each run
installs the hook afresh (about half a minute with pip's cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PASSROLE_STAR = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}],
}
CLEAN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
}
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
GIT_ID = {
    "GIT_AUTHOR_NAME": "vhv tests",
    "GIT_AUTHOR_EMAIL": "tests@vhv.invalid",
    "GIT_COMMITTER_NAME": "vhv tests",
    "GIT_COMMITTER_EMAIL": "tests@vhv.invalid",
}


def pre_commit() -> str:
    exe = Path(sys.executable).with_name("pre-commit")
    assert exe.exists(), f"no pre-commit beside {sys.executable}: it is in the test extra (pip install -e '.[test]')"
    return str(exe)


@pytest.fixture
def policies_repo(tmp_path) -> tuple[Path, dict[str, str]]:
    """A git repository of a user's: policies, and JSON files that are not policies."""
    repo = tmp_path / "infra"
    (repo / "policies").mkdir(parents=True)
    (repo / "policies" / "ValohaiMasterPolicy.json").write_text(json.dumps(PASSROLE_STAR, indent=2) + "\n")
    (repo / "reader-policy.json").write_text(json.dumps(CLEAN, indent=2) + "\n")
    (repo / "worker-trust.json").write_text(json.dumps(EC2_TRUST, indent=2) + "\n")
    (repo / "package.json").write_text('{"name": "infra", "version": "1.0.0"}\n')  # not a policy: not linted
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "GIT_"))}
    env.update(GIT_ID, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PIP_CONSTRAINT=str(ROOT / "constraints.txt"))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=env)
    return repo, env


def try_repo(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [pre_commit(), "try-repo", str(ROOT), "vhv-lint", "--verbose", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_the_hook_is_declared_as_linters_ship_theirs():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    assert hook["id"] == "vhv-lint" and hook["entry"] == "vhv lint" and hook["language"] == "python"
    assert hook["types"] == ["json"]


def test_a_broken_policy_fails_the_hook_naming_the_finding(policies_repo):
    repo, env = policies_repo
    got = try_repo(repo, env, "--all-files")
    out = got.stdout + got.stderr
    assert got.returncode == 1, out[-4000:]
    assert "vhv lint (IAM policies)" in out and "Failed" in out
    assert "policies/ValohaiMasterPolicy.json:6:17: security[lint-passrole-star]" in out
    # the three policies are linted, package.json is not
    assert "vhv lint: 3 file(s), 1 finding(s) (1 security): exit 1" in out
    assert "package.json" not in out.split("Failed", 1)[1]


def test_clean_policies_pass_the_hook(policies_repo):
    repo, env = policies_repo
    got = try_repo(repo, env, "--files", "reader-policy.json", "worker-trust.json", "package.json")
    out = got.stdout + got.stderr
    assert got.returncode == 0, out[-4000:]
    assert "Passed" in out
    assert "vhv lint: 2 file(s), 0 finding(s): exit 0" in out
