"""This tree against an earlier commit, in one run: the calls and wall time of `vhv check`, and start-up.

    python bench/against.py --ref 62556ce          # before the catalogue (issue 15)
    python bench/against.py --ref 62556ce --reps 9 --latency-ms 100

A benchmark, not a test. Both trees run in the same venv (this one's dependencies) against the
same moto server and counting proxy (bench/aws_proxy.py), on the guide's account built once; the
earlier commit is checked out into a temporary git worktree and run as `python -m validator` from
there, this tree the same way from the repository, and the two alternate run by run so that the
machine's load falls on both alike. Reported: the AWS calls of one `vhv check` per service:Action
(must be equal), median wall time of `vhv check` (with --latency-ms added to every call too),
and of `vhv --version` and `vhv lint one.json`, each as a ratio this/earlier.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import check_bench as cb  # noqa: E402
import yaml  # noqa: E402


def _ms(s: float) -> str:
    return f"{s * 1000:,.0f} ms"


def _worktree(ref: str, where: Path) -> Path:
    path = where / "earlier"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), ref], check=True)
    return path


def _drop(path: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)], check=False)


def _vhv(tree: Path, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "validator", *argv], cwd=tree, env=env, capture_output=True, text=True, timeout=600
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{tree}: vhv {' '.join(argv)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def _which(tree: Path, env: dict[str, str]) -> str:
    """The validator package a process started in `tree` imports (it must be that tree's)."""
    code = "import validator, os; print(os.path.dirname(validator.__file__))"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def _alternating(sides: dict[str, Path], run: object, reps: int) -> dict[str, float]:
    """Median wall time of run(tree) for each side, the sides taking turns, after one warm-up each."""
    took: dict[str, list[float]] = {k: [] for k in sides}
    for tree in sides.values():
        run(tree)  # type: ignore[operator]
    for _ in range(reps):
        for label, tree in sides.items():
            t = time.perf_counter()
            run(tree)  # type: ignore[operator]
            took[label].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in took.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", default="62556ce", help="the earlier commit (default: the one before the catalogue)")
    ap.add_argument("--reps", type=int, default=7, help="timed runs of each side (default 7)")
    ap.add_argument("--latency-ms", type=float, default=100, help="added to every call in a second round (0: skip)")
    ap.add_argument("--latency-reps", type=int, default=3)
    ap.add_argument("--out", help="also write the Markdown here")
    args = ap.parse_args()

    from validator.demo import DEMO_PARAMS, build_golden, moto_environment

    for k, v in moto_environment().items():  # this process's boto3 talks to moto with fake credentials
        if k.startswith("AWS_"):
            os.environ[k] = v
    os.environ.pop("AWS_PROFILE", None)

    with tempfile.TemporaryDirectory(prefix="vhv-against-") as t:
        tmp = Path(t)
        earlier = _worktree(args.ref, tmp)
        servers = cb.Servers()
        try:
            env = cb.Env(tmp / "pycache")
            sides = {args.ref: earlier, "this tree": ROOT}
            for label, tree in sides.items():
                got = _which(tree, env())
                if Path(got).resolve() != (tree / "validator").resolve():
                    raise SystemExit(f"{label}: a process in {tree} imports {got}, not its own validator/")
            params_file = tmp / "params.yaml"
            params_file.write_text(yaml.safe_dump(DEMO_PARAMS, sort_keys=False))
            import boto3

            session = boto3.Session(region_name=cb.REGION)
            build_golden(session, endpoint_url=servers.moto_url)
            # the installed vhv maps validator.rules to this tree's rules/: each side names its own
            check = ["check", "--params", str(params_file), "--format", "json"]

            def checked(url: str):  # noqa: ANN202
                def once(tree: Path) -> None:
                    argv = [*check, "--rules", str(tree / "rules")]
                    out = json.loads(_vhv(tree, argv, env(AWS_ENDPOINT_URL=url)).stdout)
                    if out["summary"]["error"]:
                        raise SystemExit(f"{tree}: {out['summary']['error']} rule(s) could not be decided")

                return once

            calls = {
                label: servers.counted(lambda tree=tree: checked(servers.proxy_url)(tree))
                for label, tree in sides.items()
            }
            times = _alternating(sides, checked(servers.moto_url), args.reps)
            slow = None
            if args.latency_ms:
                servers.latency(args.latency_ms)
                slow = _alternating(sides, checked(servers.proxy_url), args.latency_reps)
                servers.latency(0)
            one = tmp / "one.json"
            one.write_text(
                json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}],
                    }
                )
            )
            version = _alternating(sides, lambda tree: _vhv(tree, ["--version"], env()), args.reps)
            lint = _alternating(sides, lambda tree: _vhv(tree, ["lint", str(one)], env()), args.reps)
        finally:
            servers.close()
            _drop(earlier)

    a, b = args.ref, "this tree"
    n_a, n_b = sum(calls[a].values()), sum(calls[b].values())
    lines = [
        f"# This tree against {a}",
        "",
        f"One run of `python bench/against.py --ref {a} --reps {args.reps}` on {os.cpu_count()} cores "
        f"(load average at the end {' / '.join(f'{x:.2f}' for x in os.getloadavg())}); median of {args.reps} "
        "alternating runs each, after a warm-up.",
        "",
        f"| measure | {a} | this tree | this / {a} |",
        "|---|---:|---:|---:|",
        f"| AWS calls of `vhv check` | {n_a} | {n_b} | {'same calls' if calls[a] == calls[b] else 'DIFFERENT'} |",
        f"| `vhv check` (process) | {_ms(times[a])} | {_ms(times[b])} | {times[b] / times[a]:.2f} |",
    ]
    if slow:
        lines.append(
            f"| `vhv check`, +{args.latency_ms:g} ms a call | {_ms(slow[a])} | {_ms(slow[b])} "
            f"| {slow[b] / slow[a]:.2f} |"
        )
    lines += [
        f"| `vhv --version` | {_ms(version[a])} | {_ms(version[b])} | {version[b] / version[a]:.2f} |",
        f"| `vhv lint one.json` | {_ms(lint[a])} | {_ms(lint[b])} | {lint[b] / lint[a]:.2f} |",
        "",
    ]
    if calls[a] != calls[b]:
        diff = (Counter(calls[b]) - Counter(calls[a])) + (Counter(calls[a]) - Counter(calls[b]))
        lines += [f"Calls that differ: {dict(diff)}", ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
