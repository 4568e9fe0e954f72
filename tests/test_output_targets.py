"""`--output FILE`: a report is written whole or not at all, and only where the user meant.

A read-only file is not replaced, a symlink's target is written (the link stays), a device
or a pipe is written to and never replaced by a regular file, a directory is refused. The
writer is one function (validator.files.write_atomic) behind every --output; `vhv lint` drives it
here because it needs no account.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading

import pytest

from validator import pipes
from validator.cli import main

POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
}


@pytest.fixture
def policy(tmp_path):
    p = tmp_path / "policy.json"
    p.write_text(json.dumps(POLICY))
    return p


def lint_to(policy, target) -> int:
    return main(["lint", str(policy), "--format", "json", "--output", str(target)])


def report_in(path) -> dict:
    return json.loads(path.read_text())


def test_a_new_file_gets_the_whole_report(policy, tmp_path):
    out = tmp_path / "report.json"
    assert lint_to(policy, out) == 0
    assert report_in(out)["tool"] == "vhv"
    assert [p.name for p in tmp_path.iterdir() if "vhv-tmp" in p.name] == []


def test_a_read_only_file_is_not_replaced(policy, tmp_path, capsys):
    out = tmp_path / "report.json"
    out.write_text("keep me\n")
    out.chmod(0o444)
    assert lint_to(policy, out) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"vhv: {out}: is read-only; vhv does not replace it (make it writable or choose another file)"
    assert out.read_text() == "keep me\n" and stat.S_IMODE(out.stat().st_mode) == 0o444


def test_a_replaced_file_keeps_its_permissions(policy, tmp_path):
    out = tmp_path / "report.json"
    out.write_text("old\n")
    out.chmod(0o640)
    assert lint_to(policy, out) == 0
    assert report_in(out)["tool"] == "vhv" and stat.S_IMODE(out.stat().st_mode) == 0o640


def test_a_symlink_is_followed_and_stays_a_symlink(policy, tmp_path):
    real = tmp_path / "reports" / "lint.json"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    assert lint_to(policy, link) == 0
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert report_in(real)["tool"] == "vhv"


def test_a_pipe_is_written_to_not_replaced(policy, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    try:
        assert lint_to(policy, fifo) == 0
    finally:
        reader.join(timeout=30)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert json.loads(got[0])["tool"] == "vhv"


def test_a_pipe_no_one_reads_is_one_line_not_a_hang(policy, tmp_path, capsys, monkeypatch):
    # an independent tester: `--output p` onto a fifo with no reader waited forever
    monkeypatch.setattr(pipes, "WAIT_S", 0.2)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    fired: list[bool] = []

    def unblock() -> None:  # without the bound, a reader after 20 s: the test fails, not hangs
        try:
            fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return
        fired.append(True)
        os.close(fd)

    timer = threading.Timer(20, unblock)
    timer.start()
    try:
        code = lint_to(policy, fifo)
    finally:
        timer.cancel()
    assert not fired, "vhv waited for a reader"
    assert (code, capsys.readouterr().err) == (2, f"vhv: {fifo}: no one opened this pipe for reading in 0.2 s\n")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_dev_null_stays_a_device(policy):
    before = os.stat(os.devnull)
    assert lint_to(policy, os.devnull) == 0
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_a_directory_is_refused(policy, tmp_path, capsys):
    assert lint_to(policy, tmp_path) == 2
    assert capsys.readouterr().err.strip() == f"vhv: {tmp_path}: is a directory; give a file name"


def test_a_missing_directory_is_one_line(policy, tmp_path, capsys):
    out = tmp_path / "nowhere" / "r.json"
    assert lint_to(policy, out) == 2
    assert capsys.readouterr().err.strip() == f"vhv: {out}: cannot write: No such file or directory"


def test_the_input_is_never_the_output(policy, capsys):
    # an independent tester: `vhv lint p.json --output p.json` replaced the policy with its report
    before = policy.read_text()
    assert lint_to(policy, policy) == 2
    assert capsys.readouterr().err.strip() == f"vhv: {policy}: is the input {policy}; write the report to another file"
    assert policy.read_text() == before


def test_a_params_file_is_not_overwritten_by_the_report(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text("region: eu-west-1\n")
    link = tmp_path / "report.json"
    link.symlink_to(params)
    assert main(["check", "--params", str(params), "--format", "json", "--output", str(link)]) == 2
    assert "is the input" in capsys.readouterr().err
    assert params.read_text() == "region: eu-west-1\n"


def test_a_name_ending_in_a_slash_is_not_made_a_file(policy, tmp_path, capsys):
    out = f"{tmp_path}/reports/"
    assert lint_to(policy, out) == 2
    assert capsys.readouterr().err.strip() == f"vhv: {out}: is a directory name; give a file name"
    assert not (tmp_path / "reports").exists()


# ------------------------------------------------------------------ descriptors the shell opened
# an independent tester: `--output /dev/stdout | wc -c` and `--output >(wc -c)` failed ("No such
# file or directory": the realpath of a pipe is /proc/<pid>/fd/pipe:[N]), and `--output /dev/stdout
# >> log.txt` renamed a new file over log.txt, losing its earlier lines. Such a path names a
# descriptor vhv already has: the report goes into it, as the shell opened it.


def lint_in_a_process(policy, output: str, **popen) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "validator", "lint", str(policy), "--format", "json", "--output", output],
        env=env,
        timeout=120,
        **popen,
    )


def test_dev_stdout_appended_to_a_log_keeps_its_lines(policy, tmp_path):
    log = tmp_path / "log.txt"
    log.write_text("EARLIER LINE 1\nEARLIER LINE 2\n")
    inode = log.stat().st_ino
    with open(log, "a") as out:  # the shell's `>> log.txt`
        proc = lint_in_a_process(policy, "/dev/stdout", stdout=out, stderr=subprocess.PIPE, text=True)
    assert (proc.returncode, proc.stderr) == (0, "")
    text = log.read_text()
    assert text.startswith("EARLIER LINE 1\nEARLIER LINE 2\n{")
    assert json.loads(text.split("\n", 2)[2])["tool"] == "vhv"
    assert log.stat().st_ino == inode  # the same file, written to, not replaced


def test_dev_stdout_into_a_pipe_gives_the_whole_report(policy, tmp_path):
    whole = tmp_path / "whole.json"
    assert lint_to(policy, whole) == 0
    proc = subprocess.run(
        [
            "bash",
            "-c",
            '"$@" | wc -c',
            "_",
            sys.executable,
            "-m",
            "validator",
            "lint",
            str(policy),
            "--format",
            "json",
            "--output",
            "/dev/stdout",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
    assert int(proc.stdout) == len(whole.read_bytes())


def test_dev_stderr_gets_the_report(policy):
    proc = lint_in_a_process(policy, "/dev/stderr", capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, "")
    assert json.loads(proc.stderr)["tool"] == "vhv"


@pytest.mark.parametrize("name", ["/dev/fd/{fd}", "/proc/self/fd/{fd}"])
def test_a_pipe_by_its_descriptor_number(policy, name):
    # bash's `--output >(wc -c)` is /dev/fd/63: a pipe vhv inherits
    read_end, write_end = os.pipe()
    got: list[bytes] = []

    def drain() -> None:
        with os.fdopen(read_end, "rb") as f:
            got.append(f.read())

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        proc = lint_in_a_process(
            policy, name.format(fd=write_end), pass_fds=(write_end,), capture_output=True, text=True
        )
    finally:
        os.close(write_end)
        reader.join(timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert json.loads(got[0])["tool"] == "vhv"


def test_a_descriptor_that_is_not_open_is_one_line(policy, capsys):
    fd = next(n for n in range(1000, 2000) if not _is_open(n))
    assert lint_to(policy, f"/dev/fd/{fd}") == 2
    assert capsys.readouterr().err == f"vhv: /dev/fd/{fd}: cannot write: file descriptor {fd} is not open for writing\n"


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
