"""The benchmark: one command, one run, one results file. A benchmark, not a test.

    python bench/run.py            # the full run (10 to 20 minutes on 2 cores, most of it building the crowd)
    python bench/run.py --quick    # a few minutes: 1 repetition, a small crowd, 200 lint files

From a clean clone with the README's venv (`pip install -e '.[test]'`); parliament, the
lint comparison, comes with `pip install -e '.[bench]'` and is skipped with a note without it.

It starts a moto server process and our counting proxy (bench/aws_proxy.py) in front of
it, builds the guide's account and reports:

1. the AWS API calls of one `vhv check`, per service:Action, counted at the proxy and by
   vhv itself, beside the minimum the rules need (bench/min_reads.py) and what
   `vhv remediate` reads;
2. `vhv check` wall time against that minimum, as processes and in-process;
3. the same with --latency-ms added to every call, one call at a time
   (VHV_READ_WORKERS=1) against vhv's parallel reads;
4. the account crowded by bench/crowd.py (2,000 roles, 500 security groups, 200 VPCs,
   1,000 instances; --crowd-scale): calls and time against the uncrowded account;
5. `vhv lint` on --lint-files generated policies against parliament's default and
   community auditors (bench/lint_bench.py): files/s, labelled kinds missed, findings on
   clean files;
6. start-up: `vhv --version`, `vhv lint one.json` (neither may import boto3 or moto) and
   where `vhv check`'s import time goes.

The machine's load average is printed at the start and the end: numbers taken on a busy
machine are not worth quoting. Results: Markdown on stdout and in --out (bench/results.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

CROWD = {"roles": 2000, "security_groups": 500, "vpcs": 200, "instances": 1000}


def load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def say(msg: str) -> None:
    print(f"... {msg}", file=sys.stderr, flush=True)


def ms(s: float) -> str:
    return f"{s * 1000:,.0f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "**NOT met**")


# ------------------------------------------------------------------------ the report


def render(r: dict[str, Any]) -> str:
    m = r["meta"]
    out = [
        "# vhv benchmark",
        "",
        f"Reproduce: `{m['command']}`{' (QUICK run: a proof that the benchmark works, not numbers to quote)' if m['quick'] else ''}  ",
        f"Machine: {m['cpus']} CPUs, {m['platform']}; load average (1 / 5 / 15 min) **{m['load_start']}** at the "
        f"start, **{m['load_end']}** at the end; Python {m['python']}, boto3 {m['boto3']}, moto {m['moto']} "
        f"(a server process on loopback), parliament {r['lint'].get('parliament') or 'not installed'}. {m['date']}. "
        f"Times are medians of {m['reps']} runs after a warm-up run.",
        "",
    ]
    out += verdicts(r)
    out += calls_section(r)
    out += time_section(r)
    out += latency_section(r)
    out += crowd_section(r)
    out += lint_section(r)
    out += startup_section(r)
    return "\n".join(out) + "\n"


def verdicts(r: dict[str, Any]) -> list[str]:
    c, t, lat = r["calls"], r["times"], r["latency"]
    vhv_c, floor = c["vhv check (proxy)"], c["minimum (proxy)"]
    rows = [
        (
            "`vhv check` makes exactly the calls the rules need",
            f"{sum(vhv_c.values())} calls; minimum {sum(floor.values())}",
            vhv_c == floor,
        ),
        (
            "`vhv check` within 1.5x of the minimum-calls baseline (processes)",
            ratio(t["vhv check (process)"], t["minimum (process)"]),
            t["vhv check (process)"] <= 1.5 * t["minimum (process)"],
        ),
    ]
    if lat:
        seq = lat["vhv check, sequential (VHV_READ_WORKERS=1, process)"]
        par = lat["vhv check, parallel (default, process)"]
        rows.append(
            (
                f"with {r['meta']['latency_ms']:g} ms per call: parallel reads beat one call at a time",
                f"sequential {ratio(seq, par)} of parallel; `vhv check` {ratio(par, lat['minimum (process)'])} "
                "of the minimum",
                seq > par,
            )
        )
    s = r.get("crowd")
    if s:
        calls_a, calls_b = s["rows"]["calls of `vhv check`"]
        time_a, time_b = s["rows"]["`vhv check` (process)"]
        scaled = "" if s["scale"] == 1 and s["made"]["complete"] else " (a smaller crowd: see below)"
        rows.append((f"crowded account: calls within 1.2x{scaled}", ratio(calls_b, calls_a), calls_b <= 1.2 * calls_a))
        rows.append(
            (f"crowded account: `vhv check` time within 1.2x{scaled}", ratio(time_b, time_a), time_b <= 1.2 * time_a)
        )
    lint = r["lint"]
    v = lint.get("vhv lint (in-process, every check)")
    if v:
        rows.append(
            (
                "`vhv lint` finds every labelled problem, nothing on clean files",
                f"{len(v['missed'])} of {v['kinds']} kinds missed; {v['noisy']} of {v['clean']} clean files "
                "with a finding",
                not v["missed"] and not v["noisy"],
            )
        )
        p = lint.get("parliament (default auditors)")
        if p:
            rows.append(
                (
                    "`vhv lint` faster than parliament's default auditors",
                    f"{v['files'] / v['seconds']:,.0f} vs {p['files'] / p['seconds']:,.0f} files/s",
                    v["files"] / v["seconds"] > p["files"] / p["seconds"],
                )
            )
    heavy = sorted({h for _t, hs in r["startup"].values() for h in hs})
    rows.append(
        ("`vhv --version` and `vhv lint` import neither boto3 nor moto", ", ".join(heavy) or "neither", not heavy)
    )
    return [
        "## Targets",
        "",
        "| target | measured | |",
        "|---|---|---|",
        *(f"| {a} | {b} | {verdict(ok)} |" for a, b, ok in rows),
        "",
    ]


def calls_section(r: dict[str, Any]) -> list[str]:
    calls = r["calls"]
    lines = [
        "## AWS API calls of one check",
        "",
        "Counted at our proxy in front of moto (independently of vhv), and by vhv's own list of the "
        "calls it made (`read()`, in this process).",
        "",
        "| service:Action | " + " | ".join(calls) + " |",
        "|---|" + "---:|" * len(calls),
    ]
    for action in sorted(set().union(*calls.values())):
        lines.append(f"| {action} | " + " | ".join(str(c.get(action, 0)) for c in calls.values()) + " |")
    lines.append("| **total** | " + " | ".join(f"**{sum(c.values())}**" for c in calls.values()) + " |")
    vhv_c, floor = calls["vhv check (proxy)"], calls["minimum (proxy)"]
    own_ok = calls["read() (vhv's own list)"] == calls["read() (proxy)"]
    extra = vhv_c - floor
    fixers = calls["remediate's read (proxy)"] - vhv_c
    lines += [
        "",
        f"vhv's own list {'matches' if own_ok else '**does not match**'} the proxy's count of the same "
        f"read(). `vhv check` against the minimum: "
        + (", ".join(f"{a} +{n}" for a, n in sorted(extra.items())) if extra else "no call above it")
        + (f"; missing: {', '.join(f'{a} -{n}' for a, n in sorted((floor - vhv_c).items()))}" if floor - vhv_c else "")
        + ". Actions made twice are one per policy or role. `vhv remediate` adds only the reads its fixers "
        f"use: {', '.join(f'{a} +{n}' for a, n in sorted(fixers.items())) or 'none'}.",
        "",
    ]
    return lines


def time_section(r: dict[str, Any]) -> list[str]:
    t = r["times"]
    return [
        "## Wall time, no added latency",
        "",
        "| measurement | time | vs minimum |",
        "|---|---:|---:|",
        f"| `vhv check` (process: start-up, read, rules, JSON report) | {ms(t['vhv check (process)'])} | "
        f"{ratio(t['vhv check (process)'], t['minimum (process)'])} |",
        f"| minimum-calls baseline (process: start-up, boto3, reads) | {ms(t['minimum (process)'])} | 1.00x |",
        f"| read() in-process (session, clients, reads) | {ms(t['read() (in-process)'])} | "
        f"{ratio(t['read() (in-process)'], t['minimum (in-process)'])} |",
        f"| minimum reads in-process | {ms(t['minimum (in-process)'])} | 1.00x |",
        "",
        "Target: `vhv check` within 1.5x of the minimum.",
        "",
    ]


def latency_section(r: dict[str, Any]) -> list[str]:
    lat = r["latency"]
    if not lat:
        return []
    lines = [
        f"## With {r['meta']['latency_ms']:g} ms added to every call (at the proxy)",
        "",
        "| measurement | time | vs minimum |",
        "|---|---:|---:|",
    ]
    for k, v in lat.items():
        base = lat["minimum (process)"] if "process)" in k and "in-process" not in k else lat["minimum (in-process)"]
        lines.append(f"| {k} | {ms(v)} | {ratio(v, base)} |")
    seq = lat["vhv check, sequential (VHV_READ_WORKERS=1, process)"]
    par = lat["vhv check, parallel (default, process)"]
    lines += [
        "",
        f"Sequential / parallel (`vhv check`): {ratio(seq, par)}; (read()): "
        f"{ratio(lat['read(), sequential (workers=1, in-process)'], lat['read(), parallel (default, in-process)'])}.",
        "",
    ]
    return lines


def crowd_section(r: dict[str, Any]) -> list[str]:
    s = r.get("crowd")
    if not s:
        return ["## Crowded account", "", "Not measured in this run (--no-crowd).", ""]
    made, want = s["made"], s["wanted"]
    lines = [
        "## Crowded account",
        "",
        f"Added {made['roles']:,} roles, {made['security_groups']:,} security groups, {made['vpcs']:,} VPCs and "
        f"{made['instances']:,} instances (asked for {want['roles']:,} / {want['security_groups']:,} / "
        f"{want['vpcs']:,} / {want['instances']:,}"
        + (f", --crowd-scale {s['scale']:g}" if s["scale"] != 1 else "")
        + f") in {made['seconds']:.0f} s"
        + ("" if made["complete"] else f" (stopped at the {made['budget_s']:.0f} s budget)")
        + ".",
        "",
        "| measurement | guide's account | crowded | ratio (target <= 1.2x) |",
        "|---|---:|---:|---:|",
    ]
    for k, (a, b) in s["rows"].items():
        fmt = str if k.startswith("calls") else ms
        lines.append(f"| {k} | {fmt(a)} | {fmt(b)} | {ratio(b, a)} |")
    lines += [
        "",
        "The minimum-calls baseline's own growth is moto's cost of filtering a bigger account; "
        "vhv asks by name and filter, never lists everything.",
        "",
    ]
    return lines


def lint_section(r: dict[str, Any]) -> list[str]:
    lint = r["lint"]
    if not lint:
        return ["## `vhv lint` vs parliament", "", "Not measured in this run (--no-lint).", ""]
    lines = [
        "## `vhv lint` vs parliament",
        "",
        f"A generated corpus of {lint['files']:,} policy files, {lint['broken']:,} of them broken, each with one "
        f"labelled problem ({lint['kinds']} kinds). A kind is missed when a file of it gets no finding naming it.",
        "",
        "| tool | files | files/s | labelled kinds missed | clean files with a finding |",
        "|---|---:|---:|---|---:|",
    ]
    for k, v in lint.items():
        if isinstance(v, dict):
            missed = f"{len(v['missed'])} of {v['kinds']}" + (f": {', '.join(v['missed'])}" if v["missed"] else "")
            said = f" ({', '.join(f'{i} x{n}' for i, n in v['said_on_clean'])})" if v["said_on_clean"] else ""
            lines.append(
                f"| {k} | {v['files']:,} | {v['files'] / v['seconds']:,.0f} | {missed} | "
                f"{v['noisy']} of {v['clean']}{said} |"
            )
    if not lint.get("parliament"):
        lines += ["", "parliament is not installed: `pip install -e '.[bench]'` adds it; its rows are skipped."]
    lines += [
        "",
        "parliament's community auditors run on the first files of the corpus only (they are slow); "
        "that prefix holds every labelled kind. parliament reads every file as an identity policy (it has no "
        "trust-policy mode), so a clean trust policy, which has no Resource, is MALFORMED to it; RESOURCE_STAR "
        'is its advice on the guide\'s own `"Resource": "*"` statements.',
        "",
    ]
    return lines


def startup_section(r: dict[str, Any]) -> list[str]:
    lines = ["## Start-up", "", "| command | time | boto3 / botocore / moto imported |", "|---|---:|---|"]
    for k, (t, heavy) in r["startup"].items():
        lines.append(f"| `{k}` | {ms(t)} | {', '.join(heavy) or 'none'} |")
    imports = r.get("imports")
    if imports:
        total = sum(v for _k, v in imports)
        lines += [
            "",
            f"Where one `vhv check` process spends its import time (`python -X importtime`, self time by "
            f"top-level package; {total:,.0f} ms in all, one run; an import made in a reader thread also counts "
            "the time it waited for the other threads):",
            "",
            "| package | ms |",
            "|---|---:|",
        ]
        lines += [f"| {k} | {v:,.0f} |" for k, v in imports[:12]]
    return lines + [""]


# ------------------------------------------------------------------------ the run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="1 repetition, a crowd at --crowd-scale 0.05, 200 lint files (60 for the community auditors)",
    )
    ap.add_argument("--reps", type=int, help="timed repetitions of each measurement (default 5; --quick 1)")
    ap.add_argument("--latency-ms", type=float, default=100, help="added to every call (0: skip that part)")
    ap.add_argument("--latency-reps", type=int, help="repetitions with latency (default 3; --quick 1)")
    ap.add_argument("--no-crowd", action="store_true", help="skip the crowded account")
    ap.add_argument("--crowd-scale", type=float, help="fraction of the crowd to build (default 1; --quick 0.05)")
    ap.add_argument("--crowd-budget", type=float, default=900, help="seconds to spend crowding the account")
    ap.add_argument("--no-lint", action="store_true", help="skip vhv lint vs parliament")
    ap.add_argument("--lint-files", type=int, help="size of the lint corpus (default 1000; --quick 200)")
    ap.add_argument(
        "--community-files", type=int, help="files for parliament's slow community auditors (default all; --quick 60)"
    )
    ap.add_argument("--out", default=str(HERE / "results.md"))
    args = ap.parse_args()
    q = args.quick
    reps = args.reps or (1 if q else 5)
    lat_reps = args.latency_reps or (1 if q else 3)
    scale = args.crowd_scale if args.crowd_scale is not None else (0.05 if q else 1.0)
    lint_files = args.lint_files or (200 if q else 1000)
    community_files = args.community_files or (60 if q else lint_files)

    load_start = load()
    print(f"load average at the start: {load_start} ({os.cpu_count()} CPUs)", flush=True)

    from validator.demo import DEMO_PARAMS, build_golden, moto_environment

    for k, v in moto_environment().items():  # this process's boto3 talks to moto with fake credentials
        if k.startswith("AWS_"):
            os.environ[k] = v
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("VHV_READ_WORKERS", None)
    import boto3
    import check_bench as cb
    import moto
    import yaml

    meta = {
        "command": "python bench/run.py " + " ".join(sys.argv[1:]),
        "quick": q,
        "cpus": os.cpu_count(),
        "platform": platform.platform(terse=True),
        "python": platform.python_version(),
        "boto3": boto3.__version__,
        "moto": moto.__version__,
        "reps": reps,
        "latency_ms": args.latency_ms,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_start": load_start,
    }
    r: dict[str, Any] = {"meta": meta, "latency": {}, "crowd": None, "lint": {}}
    with tempfile.TemporaryDirectory(prefix="vhv-bench-") as tmp_s:
        tmp = Path(tmp_s)
        env = cb.Env(tmp / "pycache")
        params_file = tmp / "params.yaml"
        params_file.write_text(yaml.safe_dump(DEMO_PARAMS, sort_keys=False))
        say("starting moto and the proxy")
        servers = cb.Servers()
        try:
            session = boto3.Session(region_name=cb.REGION)
            build_golden(session, endpoint_url=servers.moto_url)
            b = cb.Bench(servers, params_file, env, reps)
            say("calls")
            r["calls"] = b.calls()
            say("times")
            r["times"] = b.times(servers.moto_url)
            if args.latency_ms:
                say(f"times with {args.latency_ms:g} ms per call")
                r["latency"] = b.latency_times(args.latency_ms, lat_reps)
            say("imports of vhv check")
            r["imports"] = b.import_profile()
            if not args.no_crowd:
                from crowd import crowd

                wanted = {k: max(1, round(n * scale)) for k, n in CROWD.items()}
                say(f"crowding the account: {wanted}")
                made = crowd(session, servers.moto_url, cb.REGION, budget_s=args.crowd_budget, **wanted)
                say("crowded: calls and times")
                calls2 = b.calls()["vhv check (proxy)"]
                times2 = b.times(servers.moto_url)
                base = r["times"]
                rows = {
                    "calls of `vhv check`": (sum(r["calls"]["vhv check (proxy)"].values()), sum(calls2.values())),
                    "`vhv check` (process)": (base["vhv check (process)"], times2["vhv check (process)"]),
                    "read() in-process": (base["read() (in-process)"], times2["read() (in-process)"]),
                    "minimum-calls baseline in-process": (base["minimum (in-process)"], times2["minimum (in-process)"]),
                }
                if args.latency_ms:
                    lat2 = b.latency_times(args.latency_ms, lat_reps)
                    rows[f"`vhv check` at {args.latency_ms:g} ms per call (process)"] = (
                        r["latency"]["vhv check, parallel (default, process)"],
                        lat2["vhv check, parallel (default, process)"],
                    )
                r["crowd"] = {"made": made, "wanted": wanted, "scale": scale, "rows": rows}
        finally:
            servers.close()
        say("start-up")
        r["startup"] = cb.startup(env, max(reps, 3), tmp)
        if not args.no_lint:
            corpus = tmp / "lint-corpus"
            corpus.mkdir()
            # in a process of its own: a clean interpreter, not this one, which holds moto and boto3
            # (its garbage collector walks them all, and halves the files/s of whatever runs here)
            proc = subprocess.run(
                [
                    sys.executable,
                    str(HERE / "lint_bench.py"),
                    "--dir",
                    str(corpus),
                    "--files",
                    str(lint_files),
                    "--community-files",
                    str(community_files),
                    "--vhv",
                    cb.VHV,
                ],
                env=env(),
                stdout=subprocess.PIPE,
                text=True,
                timeout=7200,
            )
            if proc.returncode:
                raise SystemExit(f"bench/lint_bench.py exited {proc.returncode}")
            r["lint"] = json.loads(proc.stdout)
    meta["load_end"] = load()
    text = render(r)
    Path(args.out).write_text(text)
    sys.stdout.write(text)
    print(f"load average at the end: {meta['load_end']}; written to {args.out}", flush=True)


if __name__ == "__main__":
    main()
