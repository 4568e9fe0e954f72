"""The `vhv check` half of the benchmark (bench/run.py runs it; this module only measures).

A moto server process and, in front of it, bench/aws_proxy.py (a loopback proxy of ours
that counts every request by service:Action and can add latency). Against the guide's
account (validator.demo.build_golden) it measures:

- the calls one `vhv check` makes, counted at the proxy, beside vhv's own list (read()),
  what `vhv remediate` reads (read(for_fix=True)) and bench/min_reads.py, the fewest calls
  the rules need, made all at once;
- wall time (median of reps, after a warm-up) of the installed `vhv check` and of
  min_reads.py as processes, and of read() and read_minimum() in this process;
- the same with latency added to every call: one call at a time (VHV_READ_WORKERS=1 /
  workers=1) against the thread pool;
- start-up: `vhv --version` and `vhv lint one.json`, whether they import boto3/moto, and
  where `vhv check`'s imports spend their time (python -X importtime).

Child processes get a byte-code cache of their own (PYTHONPYCACHEPREFIX in the run's
temporary directory, PYTHONDONTWRITEBYTECODE removed), so they run compiled code, as any
installed vhv does, and the clone is not written to. Nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from validator.demo import DEMO_PARAMS, moto_environment

HERE = Path(__file__).resolve().parent
REGION = DEMO_PARAMS["region"]
# the baseline reads the data store too: its bucket, its user (or role) and its multipart role
STORE = DEMO_PARAMS["data_store"]
BUCKET = STORE["bucket"]
STORE_ROLES = tuple(r for r in (STORE.get("role"), (STORE.get("multipart_role_arn") or "").rsplit("/", 1)[-1]) if r)
STORE_ARGS = [
    "--bucket",
    BUCKET,
    *(["--user", STORE["user"]] if STORE.get("user") else []),
    *(a for r in STORE_ROLES for a in ("--role", r)),
]
VHV = str(Path(sys.executable).with_name("vhv"))
HEAVY = ("boto3", "botocore", "moto")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_up(url: str, proc: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start") from None
            time.sleep(0.1)


class Env:
    """The environment of every child process: moto's fake credentials, no colour, no
    AWS_/VHV_ settings of the caller, and a byte-code cache in `pycache`."""

    def __init__(self, pycache: Path):
        self.pycache = pycache

    def __call__(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AWS_", "VHV_")) and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")
        }
        env.update({k: v for k, v in moto_environment().items() if k.startswith("AWS_")})
        env.update(NO_COLOR="1", PYTHONPYCACHEPREFIX=str(self.pycache), **extra)
        return env


class Servers:
    """A moto server process and the counting proxy process in front of it."""

    def __init__(self, managed_policies: bool = False) -> None:
        """`managed_policies`: moto's IAM holds AWS's managed policies (AmazonEC2FullAccess, ...).
        Off by default: loading them after every reset is slow, and only accounts that attach
        one need them (the demo's drift, provisioning: valohai)."""
        port = _free_port()
        managed = "true" if managed_policies else "false"
        env = {**os.environ, **moto_environment(), "MOTO_IAM_LOAD_MANAGED_POLICIES": managed}
        self.moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.moto_url = f"http://127.0.0.1:{port}"
        self.proxy: subprocess.Popen | None = None
        _wait_up(f"{self.moto_url}/moto-api/data.json", self.moto, "moto server")
        self.proxy = subprocess.Popen(
            [sys.executable, str(HERE / "aws_proxy.py"), "--upstream", self.moto_url], stdout=subprocess.PIPE, text=True
        )
        self.proxy_url = f"http://127.0.0.1:{self.proxy.stdout.readline().split()[1]}"
        _wait_up(f"{self.proxy_url}/__bench/counts", self.proxy, "proxy")

    def control(self, what: str) -> Any:
        req = urllib.request.Request(f"{self.proxy_url}/__bench/{what}", method="GET" if what == "counts" else "POST")
        return json.loads(urllib.request.urlopen(req, timeout=10).read())

    def counted(self, fn: Callable[[], Any]) -> Counter[str]:
        self.control("reset")
        fn()
        return Counter(self.control("counts"))

    def latency(self, ms: float) -> None:
        self.control(f"latency?ms={ms:g}")

    def close(self) -> None:
        for p in (self.proxy, self.moto):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(timeout=30)


def median_s(fn: Callable[[], Any], reps: int, warm: bool = True) -> float:
    """Median wall time of `reps` runs of fn, after one run that is not timed (warm-up)."""
    if warm:
        fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


class Bench:
    def __init__(self, servers: Servers, params_file: Path, env: Env, reps: int):
        from validator import params as params_mod

        self.s, self.params_file, self.env, self.reps = servers, params_file, env, reps
        self.prm = params_mod.from_dict(dict(DEMO_PARAMS), source=str(params_file))

    # ---------------------------------------------------------------- what is run
    def cli(self, url: str, **env: str) -> None:
        """`vhv check` as a user runs it: a process, the JSON report; exit 0 (the golden account)."""
        proc = run(
            [VHV, "check", "--params", str(self.params_file), "--format", "json"],
            self.env(AWS_ENDPOINT_URL=url, **env),
            ok=(0, 1),
        )
        summary = json.loads(proc.stdout)["summary"]
        if summary["error"]:
            raise SystemExit(f"vhv check could not decide {summary['error']} rule(s): {proc.stdout[-2000:]}")

    def baseline_process(self, url: str) -> None:
        run(
            [sys.executable, str(HERE / "min_reads.py"), "--endpoint-url", url, "--region", REGION, *STORE_ARGS],
            self.env(),
        )

    def read(self, url: str, workers: int | None = None, for_fix: bool = False) -> list[str]:
        from validator.aws.account import read
        from validator.aws.session import Target

        snap, calls = read(self.prm, Target(region=REGION, endpoint_url=url), workers=workers, for_fix=for_fix)
        if snap.errors:
            raise SystemExit(f"read() could not read: {snap.errors}")
        return calls

    def baseline(self, url: str) -> list[str]:
        from min_reads import read_minimum

        return read_minimum(url, REGION, bucket=BUCKET, user=STORE.get("user"), roles=STORE_ROLES)

    # ---------------------------------------------------------------- measurements
    def calls(self) -> dict[str, Counter[str]]:
        self.s.latency(0)
        own: list[str] = []
        return {
            "vhv check (proxy)": self.s.counted(lambda: self.cli(self.s.proxy_url)),
            "read() (proxy)": self.s.counted(lambda: own.extend(self.read(self.s.proxy_url))),
            "read() (vhv's own list)": Counter(own),
            "minimum (proxy)": self.s.counted(lambda: self.baseline(self.s.proxy_url)),
            "remediate's read (proxy)": self.s.counted(lambda: self.read(self.s.proxy_url, for_fix=True)),
        }

    def times(self, url: str, reps: int | None = None) -> dict[str, float]:
        reps = reps or self.reps
        return {
            "vhv check (process)": median_s(lambda: self.cli(url), reps),
            "minimum (process)": median_s(lambda: self.baseline_process(url), reps),
            "read() (in-process)": median_s(lambda: self.read(url), reps),
            "minimum (in-process)": median_s(lambda: self.baseline(url), reps),
        }

    def latency_times(self, ms: float, reps: int) -> dict[str, float]:
        self.s.latency(ms)
        url = self.s.proxy_url
        try:
            return {
                "vhv check, sequential (VHV_READ_WORKERS=1, process)": median_s(
                    lambda: self.cli(url, VHV_READ_WORKERS="1"), reps
                ),
                "vhv check, parallel (default, process)": median_s(lambda: self.cli(url), reps),
                "minimum (process)": median_s(lambda: self.baseline_process(url), reps),
                "read(), sequential (workers=1, in-process)": median_s(lambda: self.read(url, workers=1), reps),
                "read(), parallel (default, in-process)": median_s(lambda: self.read(url), reps),
                "minimum (in-process)": median_s(lambda: self.baseline(url), reps),
            }
        finally:
            self.s.latency(0)

    def import_profile(self) -> list[tuple[str, float]]:
        """Where one `vhv check` process spends its import time, by top-level package (self time, ms)."""
        proc = run(
            [
                sys.executable,
                "-X",
                "importtime",
                "-m",
                "validator",
                "check",
                "--params",
                str(self.params_file),
                "--format",
                "json",
            ],
            self.env(AWS_ENDPOINT_URL=self.s.moto_url),
            ok=(0, 1),
        )
        return import_totals(proc.stderr)


def import_totals(importtime: str) -> list[tuple[str, float]]:
    by: dict[str, float] = defaultdict(float)
    for m in re.finditer(r"^import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)", importtime, re.M):
        top = m.group(3).split(".")[0]
        by["python (stdlib)" if top in sys.stdlib_module_names or top.startswith("_") else top] += (
            int(m.group(1)) / 1000
        )
    return sorted(by.items(), key=lambda kv: -kv[1])


def startup(env: Env, reps: int, tmp: Path) -> dict[str, tuple[float, list[str]]]:
    one = tmp / "one.json"
    one.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
            }
        )
    )
    probe = (
        "import sys\nfrom validator.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n"
    )
    out = {}
    for label, argv in (("vhv --version", ["--version"]), ("vhv lint one.json", ["lint", str(one)])):
        took = median_s(lambda argv=argv: run([VHV, *argv], env(), ok=(0, 1)), reps)
        err = run([sys.executable, "-c", probe, *argv], env(), ok=(0, 1)).stderr
        heavy = json.loads(err.split("HEAVY", 1)[1].strip().replace("'", '"'))
        out[label] = (took, heavy)
    return out
