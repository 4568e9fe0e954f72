"""How fast is `vhv check`, and how many AWS calls does it make? A benchmark, not a test.

    /work/venv/bin/python bench/check_bench.py [--reps 5] [--latency-ms 100] [--no-crowd]

Starts a moto server process and, in front of it, bench/aws_proxy.py (a loopback proxy
of ours that counts every request by service:Action and can add latency), builds the
guide's account (validator.demo.build_golden), and reports, as a Markdown table on
stdout and in bench/results-check.md:

- the calls one `vhv check` makes, counted at the proxy, beside vhv's own list (read())
  and beside bench/min_reads.py, the fewest calls the rules need, made all at once;
- wall time (median of --reps) of the installed `vhv check` and of min_reads.py as
  processes, and of read() and read_minimum() in this process (no start-up);
- the same with --latency-ms added to every call: read() one call at a time
  (workers=1) against its thread pool;
- the same account crowded by bench/crowd.py: calls and time against the uncrowded one;
- start-up: `vhv --version` and `vhv lint one.json`, and whether they import boto3/moto.
Nothing here asserts a time: the targets are printed beside the measured ratios.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import yaml

from validator.demo import DEMO_PARAMS, build_golden, moto_environment

HERE = Path(__file__).resolve().parent
REGION = DEMO_PARAMS["region"]
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
                raise SystemExit(f"{what} did not start")
            time.sleep(0.1)


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "VHV_"))}
    env.update({k: v for k, v in moto_environment().items() if k.startswith("AWS_")}, NO_COLOR="1", **extra)
    return env


class Servers:
    """A moto server process and the counting proxy process in front of it."""

    def __init__(self) -> None:
        port = _free_port()
        env = {**os.environ, **moto_environment(), "MOTO_IAM_LOAD_MANAGED_POLICIES": "false"}
        self.moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                     env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.moto_url = f"http://127.0.0.1:{port}"
        _wait_up(f"{self.moto_url}/moto-api/data.json", self.moto, "moto server")
        self.proxy = subprocess.Popen([sys.executable, str(HERE / "aws_proxy.py"), "--upstream", self.moto_url],
                                      stdout=subprocess.PIPE, text=True)
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
            p.terminate()
            p.wait(timeout=30)


def median_s(fn: Callable[[], Any], reps: int) -> float:
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(cmd: list[str], env: dict[str, str], ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


class Bench:
    def __init__(self, servers: Servers, params_file: Path, reps: int):
        from validator import params as params_mod

        self.s, self.params_file, self.reps = servers, params_file, reps
        self.prm = params_mod.from_dict(dict(DEMO_PARAMS), source=str(params_file))

    def cli(self, url: str, **env: str) -> None:
        run([VHV, "check", "--params", str(self.params_file), "--format", "json"], base_env(AWS_ENDPOINT_URL=url, **env))

    def baseline_process(self, url: str) -> None:
        run([sys.executable, str(HERE / "min_reads.py"), "--endpoint-url", url, "--region", REGION], base_env())

    def read(self, url: str, workers: int | None = None) -> list[str]:
        from validator.aws.account import read
        from validator.aws.session import Target

        snap, calls = read(self.prm, Target(region=REGION, endpoint_url=url), workers=workers)
        if snap.errors:
            raise SystemExit(f"read() could not read: {snap.errors}")
        return calls

    def baseline(self, url: str) -> list[str]:
        from min_reads import read_minimum

        return read_minimum(url, REGION)

    def calls(self) -> dict[str, Counter[str]]:
        self.s.latency(0)
        own: list[str] = []
        out = {"vhv check (proxy)": self.s.counted(lambda: self.cli(self.s.proxy_url)),
               "read() (proxy)": self.s.counted(lambda: own.extend(self.read(self.s.proxy_url))),
               "read() (its own list)": Counter(own),
               "minimum (proxy)": self.s.counted(lambda: self.baseline(self.s.proxy_url))}
        return out

    def times(self, url: str, processes: bool = True) -> dict[str, float]:
        out = {}
        if processes:
            out["vhv check (process)"] = median_s(lambda: self.cli(url), self.reps)
            out["minimum (process)"] = median_s(lambda: self.baseline_process(url), self.reps)
        out["read() (in-process)"] = median_s(lambda: self.read(url), self.reps)
        out["minimum (in-process)"] = median_s(lambda: self.baseline(url), self.reps)
        return out

    def latency_times(self, ms: float, reps: int) -> dict[str, float]:
        self.s.latency(ms)
        url = self.s.proxy_url
        try:
            return {"read() sequential (workers=1)": median_s(lambda: self.read(url, workers=1), reps),
                    "read() parallel (default)": median_s(lambda: self.read(url), reps),
                    "minimum (in-process)": median_s(lambda: self.baseline(url), reps),
                    "vhv check (process)": median_s(lambda: self.cli(url), reps),
                    "minimum (process)": median_s(lambda: self.baseline_process(url), reps)}
        finally:
            self.s.latency(0)


def startup(reps: int, tmp: Path) -> dict[str, tuple[float, list[str]]]:
    one = tmp / "one.json"
    one.write_text(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}]}))
    probe = ("import sys\nfrom validator.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
             f"print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules], file=sys.stderr)\n")
    out = {}
    env = base_env()
    for label, argv in (("vhv --version", ["--version"]), ("vhv lint one.json", ["lint", str(one)])):
        took = median_s(lambda argv=argv: run([VHV, *argv], env, ok=(0, 1)), reps)
        err = run([sys.executable, "-c", probe, *argv], env, ok=(0, 1)).stderr
        heavy = json.loads(err.split("HEAVY", 1)[1].strip().replace("'", '"'))
        out[label] = (took, heavy)
    return out


# ------------------------------------------------------------------ the table

def ms(s: float) -> str:
    return f"{s * 1000:,.0f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def render(meta: dict[str, Any], calls: dict[str, Counter[str]], times: dict[str, float], lat: dict[str, float],
           lat_ms: float, scale: dict[str, Any] | None, start: dict[str, tuple[float, list[str]]]) -> str:
    lines = ["# vhv check benchmark", "",
             f"Reproduce: `{meta['command']}`  ",
             f"Machine: {meta['cpus']} CPUs, load average {meta['load']} at the start; Python {meta['python']}, "
             f"boto3 {meta['boto3']}, moto {meta['moto']} (server process, loopback). {meta['date']}", ""]
    lines += ["## AWS API calls of one check (counted at the proxy in front of moto)", "",
              "| service:Action | " + " | ".join(calls) + " |", "|---|" + "---:|" * len(calls)]
    for action in sorted(set().union(*calls.values())):
        lines.append(f"| {action} | " + " | ".join(str(c.get(action, 0)) for c in calls.values()) + " |")
    lines.append("| **total** | " + " | ".join(f"**{sum(c.values())}**" for c in calls.values()) + " |")
    vhv_c, own, floor = calls["vhv check (proxy)"], calls["read() (its own list)"], calls["minimum (proxy)"]
    lines += ["", f"vhv's own list {'matches' if own == calls['read() (proxy)'] else 'DOES NOT match'} the proxy's "
              f"count of the same read(); calls above the minimum: "
              f"{', '.join(f'{a} x{n}' for a, n in sorted((vhv_c - floor).items())) or 'none'}; "
              f"any action twice for one resource: see the table (x2 = one per policy/role).", ""]
    lines += ["## Wall time, no added latency (median of %d)" % meta["reps"], "",
              "| measurement | time | vs minimum |", "|---|---:|---:|",
              f"| `vhv --version` (process start-up) | {ms(start['vhv --version'][0])} | |",
              f"| `vhv check` (process: start-up, read, rules, report) | {ms(times['vhv check (process)'])} | "
              f"{ratio(times['vhv check (process)'], times['minimum (process)'])} |",
              f"| minimum reads (process: start-up, boto3, reads) | {ms(times['minimum (process)'])} | 1.00x |",
              f"| read() in-process (session, clients, reads) | {ms(times['read() (in-process)'])} | "
              f"{ratio(times['read() (in-process)'], times['minimum (in-process)'])} |",
              f"| minimum reads in-process | {ms(times['minimum (in-process)'])} | 1.00x |", "",
              "Target: `vhv check` within 1.5x of the minimum.", ""]
    lines += [f"## With {lat_ms:g} ms added to every call (median of {meta['lat_reps']})", "",
              "| measurement | time | vs minimum |", "|---|---:|---:|"]
    for k, v in lat.items():
        base = lat["minimum (process)"] if "(process)" in k else lat["minimum (in-process)"]
        lines.append(f"| {k} | {ms(v)} | {ratio(v, base)} |")
    lines += ["", f"Sequential / parallel: {ratio(lat['read() sequential (workers=1)'], lat['read() parallel (default)'])}.",
              ""]
    if scale:
        made = scale["made"]
        lines += ["## Crowded account", "",
                  f"Added {made['roles']} roles, {made['security_groups']} security groups, {made['vpcs']} VPCs, "
                  f"{made['instances']} instances in {made['seconds']:.0f} s"
                  + ("" if made["complete"] else f" (stopped at the {made['budget_s']:.0f} s budget: not all asked for)")
                  + ".", "", "| measurement | guide's account | crowded | ratio (target <= 1.2x) |",
                  "|---|---:|---:|---:|"]
        for k, (a, b) in scale["rows"].items():
            fmt = (lambda v: str(v)) if k.startswith("calls") else ms
            lines.append(f"| {k} | {fmt(a)} | {fmt(b)} | {ratio(b, a)} |")
        lines.append("")
    lines += ["## Start-up", "", "| command | time | boto3 / botocore / moto imported |", "|---|---:|---|"]
    for k, (t, heavy) in start.items():
        lines.append(f"| `{k}` | {ms(t)} | {', '.join(heavy) or 'none'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--latency-ms", type=float, default=100)
    ap.add_argument("--latency-reps", type=int, default=3)
    ap.add_argument("--no-crowd", action="store_true")
    ap.add_argument("--crowd-budget", type=float, default=600, help="seconds to spend crowding the account")
    ap.add_argument("--out", default=str(HERE / "results-check.md"))
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    for k, v in moto_environment().items():  # this process's boto3 talks to moto with fake credentials
        if k.startswith("AWS_"):
            os.environ[k] = v
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("VHV_READ_WORKERS", None)
    import boto3
    import moto

    meta = {"command": "python bench/check_bench.py " + " ".join(sys.argv[1:]), "cpus": os.cpu_count(),
            "load": " ".join(f"{x:.1f}" for x in os.getloadavg()), "python": platform.python_version(),
            "boto3": boto3.__version__, "moto": moto.__version__, "reps": args.reps, "lat_reps": args.latency_reps,
            "date": time.strftime("%Y-%m-%d %H:%M")}
    servers = Servers()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            params_file = Path(tmp) / "params.yaml"
            params_file.write_text(yaml.safe_dump(DEMO_PARAMS, sort_keys=False))
            session = boto3.Session(region_name=REGION)
            build_golden(session, endpoint_url=servers.moto_url)
            b = Bench(servers, params_file, args.reps)
            say = lambda msg: print(f"... {msg}", file=sys.stderr, flush=True)
            say("calls"); calls = b.calls()
            say("times"); times = b.times(servers.moto_url)
            say("latency"); lat = b.latency_times(args.latency_ms, args.latency_reps)
            scale = None
            say("start-up"); start = startup(args.reps, Path(tmp))
            sys.stdout.write(render(meta, calls, times, lat, args.latency_ms, None, start))
            sys.stdout.flush()  # the uncrowded part first: crowding takes minutes
            if not args.no_crowd:
                from crowd import crowd

                say("crowding the account")
                made = crowd(session, servers.moto_url, REGION, budget_s=args.crowd_budget)
                say("crowded: calls and times")
                calls2 = b.calls()["vhv check (proxy)"]
                times2 = b.times(servers.moto_url, processes=True)
                lat2 = b.latency_times(args.latency_ms, args.latency_reps)
                scale = {"made": made, "rows": {
                    "calls of `vhv check`": (sum(calls["vhv check (proxy)"].values()), sum(calls2.values())),
                    "`vhv check` (process)": (times["vhv check (process)"], times2["vhv check (process)"]),
                    "read() in-process": (times["read() (in-process)"], times2["read() (in-process)"]),
                    "minimum reads in-process (moto's own cost of filtering)": (
                        times["minimum (in-process)"], times2["minimum (in-process)"]),
                    f"read() at {args.latency_ms:g} ms per call": (
                        lat["read() parallel (default)"], lat2["read() parallel (default)"])}}
    finally:
        servers.close()
    text = render(meta, calls, times, lat, args.latency_ms, scale, start)
    if scale:
        sys.stdout.write("\n" + text[text.index("## Crowded account"):text.index("## Start-up")])
    Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
