"""Nothing changes for users: two trees side by side, every difference in what a user sees.

    python bench/same_output.py --ref 62556ce                  # that commit against this tree
    python bench/same_output.py --ref 62556ce --against main   # ... against another commit or branch
    python bench/same_output.py --only once golden demo --diff-lines 80 --keep /tmp/out
    python bench/same_output.py --list                         # the scenarios

A benchmark-style tool, not a test. The earlier tree (and --against, when given) is checked out
into a temporary git worktree (bench/against.py's helpers); both trees run in this venv, each
from its own tree (bench/tree_runner.py: its own validator/ and rules/; the commands that take
--rules also get `<tree>/rules`).

Scenarios (bench/same_accounts.py): accounts on a moto server (bench/check_bench.py's Servers,
reset through moto's API before each), the same account state judged by both trees: the guide's
account, the demo's drifted one, and one-drift accounts built with boto3 from the guide. On each:
`vhv check` in every format (--output files), `vhv remediate` (the plan, console and json; also
as `aws` commands on a few), `vhv record` (console, json), `vhv snapshot -o` then `vhv check
--snapshot`; on golden and demo also each tree's check of the other tree's snapshot and the AWS
calls of `vhv check` and of the plan (counted at the proxy, one at a time). Once: `vhv rules`
(console, json, markdown, --kinds, --lint), `permissions` (and --fix; console, json), `init`,
`lint` on a few policies in every format, `schema`, `demo --write-reports`, the help texts, and
a few error paths.

Compared for each command: exit code, stdout, stderr and every file it wrote, after normalizing
only what can differ run to run: this run's temporary paths, timestamps and durations (vhv
writes none today; a new one shows as <TIME>), and the tool's version. The snapshot files are
compared apart, as a format ("snapshot format" in the report): their shape may change on
purpose, what the trees say about them may not. EXPECTED lists the differences that are meant.

Printed: a per-scenario table (OK, DIFF, OK* when only expected differences), the call counts,
and a unified diff (truncated to --diff-lines) of each difference. Exit 0 when nothing differs
but what EXPECTED lists (with --strict, those too), 1 when anything else differs, 2 when an
account could not be built, 130 when interrupted (the table so far is printed).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import difflib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import against  # noqa: E402
import check_bench as cb  # noqa: E402
import yaml  # noqa: E402
from same_accounts import SCENARIOS, Scenario, build  # noqa: E402
from tree_runner import Ran, Runner, Side, Step  # noqa: E402

from validator import guide  # noqa: E402
from validator.demo import DEMO_PARAMS  # noqa: E402

FORMATS = {"console": "txt", "json": "json", "junit": "junit.xml", "sarif": "sarif", "markdown": "md", "html": "html"}

# Differences that are meant (not a failure unless --strict): (scenario, command) -> why
EXPECTED = {
    ("once", "rules markdown"): "the generated rules doc now lists the guide's resource kinds (issue 15)",
    ("once", "rules --kinds console"): "new option: the guide's resource kinds (issue 15)",
    ("once", "rules --kinds json"): "new option: the guide's resource kinds (issue 15)",
    ("once", "vhv rules --help"): "new option --kinds (issue 15)",
    ("once", "schema waivers"): "a description names no guide resource; the names come from the catalogue (issue 15)",
    (
        "once",
        "schema snapshot",
    ): "descriptions name the catalogue's readers and kinds, not removed Python tables (issue 15)",
}


# ---------------------------------------------------------------------------- normalizing

_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?")
_DURATION_ATTR = re.compile(r'\b(time|duration)="[0-9.]+"')


def normalize(text: str, side: Side, tmp: Path, version: str) -> str:
    # <OUT>: where a side writes in a scenario (tmp/out/<side>/<scenario>), this side's or the other's
    for path, mark in ((side.out.parent, "<OUT>"), (side.tree, "<TREE>"), (tmp, "<TMP>")):
        for p in {str(path), os.path.realpath(path)}:
            text = re.sub(re.escape(p) + (r"/[\w.-]+/[\w.-]+" if mark == "<OUT>" else ""), mark, text)
    text = _TIME.sub("<TIME>", text)
    text = _DURATION_ATTR.sub(r'\1="<DURATION>"', text)
    if version:
        text = re.sub(r"(?<![\w.])" + re.escape(version) + r"(?![\w.])", "<VERSION>", text)
    return text


def transcript(ran: Ran, norm: Callable[[str], str]) -> str:
    parts = [f"exit {ran.code}", "--- stdout", norm(ran.stdout), "--- stderr", norm(ran.stderr)]
    for name, text in ran.files.items():
        parts += [f"--- file {name}", "(not written)" if text is None else norm(text)]
    return "\n".join(parts)


# ---------------------------------------------------------------------------- the commands

AWS = ["--params", "{params}", "--rules", "{rules}"]


CROSS = Step(
    "check --snapshot (the other tree's)",
    ["check", *AWS, "--snapshot", "{other}/snapshot.json", "--format", "json", "--output", "{out}/crossed.json"],
    ("crossed.json",),
)
PLAN_AS_CLI = {"golden", "demo", "empty", "iam-only", "no-sg-workers", "two-igws"}  # also `--format cli`


def scenario_jobs(scenario: Scenario) -> list[list[Step]]:
    """Each job is run in order by one process slot; jobs run side by side."""
    jobs: list[list[Step]] = [
        [Step(f"check {fmt}", ["check", *AWS, "--format", fmt, "--output", f"{{out}}/check.{ext}"], (f"check.{ext}",))]
        for fmt, ext in FORMATS.items()
    ]
    plans = ("console", "json", "cli") if scenario.name in PLAN_AS_CLI else ("console", "json")
    jobs += [[Step(f"remediate {fmt}", ["remediate", *AWS, "--format", fmt])] for fmt in plans]
    jobs += [
        [
            Step(
                f"record {fmt}",
                ["record", *AWS, "--format", fmt, "--output", f"{{out}}/record.{ext}"],
                (f"record.{ext}",),
            )
        ]
        for fmt, ext in (("console", "txt"), ("json", "json"))
    ]
    jobs.append(
        [
            Step("snapshot", ["snapshot", *AWS, "-o", "{out}/snapshot.json"], ("snapshot.json",)),
            Step(
                "check --snapshot",
                [
                    "check",
                    *AWS,
                    "--snapshot",
                    "{out}/snapshot.json",
                    "--format",
                    "json",
                    "--output",
                    "{out}/offline.json",
                ],
                ("offline.json",),
            ),
        ]
    )
    return jobs


def once_jobs() -> list[list[Step]]:
    lint = "{shared}/lint"
    jobs = [[Step(f"rules {fmt}", ["rules", "--format", fmt])] for fmt in ("console", "json", "markdown")]
    jobs += [[Step(f"rules --kinds {fmt}", ["rules", "--kinds", "--format", fmt])] for fmt in ("console", "json")]
    jobs += [[Step(f"rules --lint {fmt}", ["rules", "--lint", "--format", fmt])] for fmt in ("console", "json")]
    jobs += [
        [Step(f"permissions{fix} {fmt}", ["permissions", *([fix.strip()] if fix else []), "--format", fmt])]
        for fix in ("", " --fix")
        for fmt in ("console", "json")
    ]
    jobs += [[Step(f"schema {name}", ["schema", name])] for name in ("report", "waivers", "snapshot", "nope")]
    jobs.append(
        [
            Step("init", ["init", "-o", "{out}/params.yaml"], ("params.yaml",)),
            Step("init again", ["init", "-o", "{out}/params.yaml"], ("params.yaml",)),
            Step("init --force", ["init", "-o", "{out}/params.yaml", "--force"], ("params.yaml",)),
        ]
    )
    jobs += [[Step(f"{cmd} --help", [*cmd.split()[1:], "--help"])] for cmd in HELPS]
    jobs += [[Step("vhv --version", ["--version"])], [Step("vhv (no command)", [])]]
    reports = tuple(f"reports/vhv-demo.{ext}" for ext in FORMATS.values())  # seeded: the same ids each run
    # the demo builds its account in-process (moto's mock), not on the server
    demo = Step(
        "demo --write-reports", ["demo", "--write-reports", "{out}/reports"], reports, {"AWS_ENDPOINT_URL": None}
    )
    jobs.append([demo])
    files = [f"{lint}/{n}" for n in ("worker.json", "master.json", "wide.json")]
    for fmt in FORMATS:
        jobs.append([Step(f"lint 3 policies {fmt}", ["lint", *files, "--format", fmt])])
    jobs += [
        [Step("lint --trust console", ["lint", "--trust", f"{lint}/trust.json", f"{lint}/wide-trust.json"])],
        [Step("lint --fail-on warn json", ["lint", f"{lint}/worker.json", "--fail-on", "warn", "--format", "json"])],
        [
            Step(
                "lint --account json",
                ["lint", f"{lint}/wide-trust.json", "--account", "123456789012", "--format", "json"],
            )
        ],
        [Step("lint broken.json", ["lint", f"{lint}/broken.json"])],
        [Step("lint --fail-on nope", ["lint", f"{lint}/worker.json", "--fail-on", "nope"])],
        [Step("check missing params", ["check", "--params", "{shared}/missing.yaml"])],
        [Step("check bad params", ["check", "--params", "{shared}/bad-params.yaml", "--rules", "{rules}"])],
        [Step("check edited snapshot", ["check", *AWS, "--snapshot", "{shared}/edited-snapshot.json"])],
        [
            Step(
                "check --diff sarif",
                ["check", *AWS, "--snapshot", "{shared}/none.json", "--diff", "x", "--format", "sarif"],
            )
        ],
    ]
    return jobs


HELPS = ["vhv", "vhv check", "vhv remediate", "vhv snapshot", "vhv record", "vhv rules", "vhv lint", "vhv init"]


def write_shared(shared: Path) -> Path:
    """Inputs of the once-only commands, one copy for both trees (so their paths are the same)."""
    lint = shared / "lint"
    lint.mkdir(parents=True)
    worker_arn = "arn:aws:iam::123456789012:role/ValohaiWorkerRole"
    wide = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
            {"Effect": "Allow", "Action": ["ec2:DescribeInstancez", "s3:GetObject"], "Resource": "arn:aws:s3:::b"},
            {"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*", "Condition": {"StringLike": {"x": "y"}}},
        ],
    }
    wide_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"},
        ],
    }
    docs = {
        "worker.json": guide.WORKER_POLICY,
        "master.json": guide.master_policy(worker_arn),
        "trust.json": guide.master_trust(DEMO_PARAMS["assume_role_arn"]),
        "wide.json": wide,
        "wide-trust.json": wide_trust,
    }
    for name, doc in docs.items():
        (lint / name).write_text(json.dumps(doc, indent=2))
    (lint / "broken.json").write_text('{"Version": "2012-10-17", "Statement": [')
    (shared / "bad-params.yaml").write_text(yaml.safe_dump({**DEMO_PARAMS, "region": "mars-1", "vpc_cidr": "x"}))
    (shared / "params.yaml").write_text(yaml.safe_dump(DEMO_PARAMS, sort_keys=False))
    (shared / "edited-snapshot.json").write_text(json.dumps({"format": "vhv-snapshot", "version": 2, "seal": "x"}))
    return shared


# ---------------------------------------------------------------------------- comparing


@dataclass
class Difference:
    scenario: str
    command: str
    diff: list[str]
    expected: str = ""
    kind: str = "output"  # or "snapshot format"


@dataclass
class Report:
    rows: list[tuple[str, int, list[str]]] = field(default_factory=list)  # scenario, compared, differing
    diffs: list[Difference] = field(default_factory=list)
    unbuilt: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # the commands' CPU seconds per side
    trees: dict[str, str] = field(default_factory=dict)  # side -> the commit it runs
    interrupted: bool = False


def udiff(a: str, b: str, labels: tuple[str, str], limit: int, width: int = 240) -> list[str]:
    lines = list(difflib.unified_diff(a.splitlines(), b.splitlines(), *labels, lineterm="", n=2))
    cut = [ln if len(ln) <= width else ln[:width] + f" ... ({len(ln)} chars)" for ln in lines[:limit]]
    if len(lines) > limit:
        cut.append(f"... ({len(lines) - limit} more diff lines)")
    return cut


class Compare:
    def __init__(self, sides: tuple[Side, Side], tmp: Path, versions: dict[str, str], limit: int):
        self.sides, self.tmp, self.versions, self.limit = sides, tmp, versions, limit
        self.report = Report()

    def norm(self, side: Side) -> Callable[[str], str]:
        return lambda text: normalize(text, side, self.tmp, self.versions[side.label])

    def scenario(self, name: str, results: dict[str, tuple[Ran, Ran]]) -> None:
        self.last = results
        differing = []
        a, b = self.sides
        for command, (ra, rb) in results.items():
            if "snapshot.json" in ra.files:  # the file is a format of its own: compared apart
                sa, sb = (self.norm(s)(_canonical(r.files.pop("snapshot.json"))) for s, r in ((a, ra), (b, rb)))
                if sa != sb:
                    differing.append("snapshot file (format)")
                    diff = udiff(sa, sb, (a.label, b.label), self.limit)
                    self.report.diffs.append(Difference(name, "snapshot file", diff, kind="snapshot format"))
            ta, tb = transcript(ra, self.norm(a)), transcript(rb, self.norm(b))
            if ta != tb:
                why = EXPECTED.get((name, command), "")
                differing.append(command + (" (expected)" if why else ""))
                self.report.diffs.append(Difference(name, command, udiff(ta, tb, (a.label, b.label), self.limit), why))
        self.report.rows.append((name, len(results), differing))


def _canonical(text: str | None) -> str:
    if text is None:
        return "(not written)"
    try:
        return json.dumps(json.loads(text), indent=1, sort_keys=True)
    except ValueError:
        return text


# ---------------------------------------------------------------------------- the run


def _describe(tree: Path) -> str:
    """The commit a tree is at, and whether its files differ from it."""
    git = ["git", "-C", str(tree)]
    head = subprocess.run([*git, "log", "-1", "--format=%h %s"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True)
    return head[:100] + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


def _reset(url: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=60).read()


def _run_jobs(
    pool: concurrent.futures.Executor,
    runner: Runner,
    sides: tuple[Side, Side],
    jobs: list[list[Step]],
    scenario: str,
    params: Path,
    shared: Path,
) -> dict[str, tuple[Ran, Ran]]:
    def job(side: Side, steps: list[Step]) -> list[tuple[str, Ran]]:
        return [(s.label, runner.run(side, s, scenario, params, shared)) for s in steps]

    futures = {(i, side.label): pool.submit(job, side, steps) for i, steps in enumerate(jobs) for side in sides}
    out: dict[str, tuple[Ran, Ran]] = {}
    for i in range(len(jobs)):
        got = [dict(futures[(i, side.label)].result()) for side in sides]
        for label in got[0]:
            out[label] = (got[0][label], got[1][label])
    return out


def _calls(
    servers: cb.Servers, runner: Runner, sides: tuple[Side, Side], scenario: str, params: Path, shared: Path
) -> dict[str, Any]:
    """The AWS calls of `vhv check` and of the plan, per side, counted at the proxy (one at a time)."""
    got: dict[str, Any] = {}
    for cmd in ("check", "remediate"):
        for side in sides:
            step = Step(cmd, [cmd, *AWS, "--format", "json"])
            got[(cmd, side.label)] = servers.counted(
                lambda s=side, st=step: runner.run(s, st, scenario + "-counted", params, shared, servers.proxy_url)
            )
    return got


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ref", default="62556ce", help="the earlier commit (default: the one before the catalogue)")
    ap.add_argument("--against", help="a commit or branch to compare with (default: this tree, as it is on disk)")
    ap.add_argument(
        "--only", nargs="+", metavar="SCENARIO", help="only these scenarios ('once': the once-only commands)"
    )
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="commands at a time (default: the cores)")
    ap.add_argument("--diff-lines", type=int, default=40, help="lines of each unified diff shown (default 40)")
    ap.add_argument("--strict", action="store_true", help="the EXPECTED differences fail too")
    ap.add_argument(
        "--fresh",
        action="store_true",
        help="every command in a fresh `python -m validator` process (slower; default: forked from a preloaded one)",
    )
    ap.add_argument("--keep", metavar="DIR", help="copy what each side wrote (files, stdout, stderr) to DIR")
    ap.add_argument("--list", action="store_true", help="list the scenarios and exit")
    args = ap.parse_args()
    if args.list:
        for s in SCENARIOS:
            print(f"{s.name:32} {s.what}")
        return 0
    known = {s.name for s in SCENARIOS} | {"once"}
    if args.only and set(args.only) - known:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(set(args.only) - known))} (see --list)")

    started = time.perf_counter()
    for k, v in cb.moto_environment().items():  # this process's boto3 builds the accounts on moto
        if k.startswith("AWS_"):
            os.environ[k] = v
    os.environ.pop("AWS_PROFILE", None)

    with tempfile.TemporaryDirectory(prefix="vhv-same-") as t:
        tmp = Path(t)
        trees = [against._worktree(args.ref, tmp / "ref")]
        servers: dict[bool, cb.Servers] = {}
        runner = None
        try:
            if args.against:
                trees.append(against._worktree(args.against, tmp / "against"))
            sides = (
                Side(args.ref, trees[0], tmp / "out" / "a"),
                Side(args.against or "this tree", trees[-1] if args.against else ROOT, tmp / "out" / "b"),
            )
            env = cb.Env(tmp / "pycache")
            for side in sides:
                got = against._which(side.tree, env())
                if Path(got).resolve() != (side.tree / "validator").resolve():
                    raise SystemExit(f"{side.label}: a process in {side.tree} imports {got}, not its own validator/")
            # loading AWS's managed policies on every reset is slow: a second server for the few that attach them
            servers = {False: cb.Servers(), True: cb.Servers(managed_policies=True)}
            runner = Runner(env, servers[False].moto_url, args.fresh, args.jobs, sides)
            shared = write_shared(tmp / "shared")
            versions = {}
            for side in sides:
                ran = runner.run(side, Step("version", ["--version"]), "version", shared, shared)
                versions[side.label] = ran.stdout.split()[-1] if ran.code == 0 else ""
            cmp = Compare(sides, tmp, versions, args.diff_lines)
            cmp.report.trees = {side.label: _describe(side.tree) for side in sides}
            calls: dict[str, dict[Any, Any]] = {}
            try:
                with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
                    run = functools.partial(_run_jobs, pool, runner, sides, shared=shared)
                    if not args.only or "once" in args.only:
                        t0 = time.perf_counter()
                        cmp.scenario("once", run(once_jobs(), "once", shared / "params.yaml"))
                        print(f"  once: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
                    for sc in SCENARIOS:
                        if not args.only or sc.name in args.only:
                            _scenario(sc, servers[sc.managed], runner, run, cmp, calls, tmp / "params")
            except KeyboardInterrupt:
                cmp.report.interrupted = True
        finally:
            if runner:
                cmp.report.cpu = runner.cpu()
                runner.close()
            if args.keep:
                shutil.copytree(tmp / "out", args.keep, dirs_exist_ok=True)
            for srv in servers.values():
                srv.close()
            for tree in trees:
                against._drop(tree)
    return _print(cmp.report, sides, calls, time.perf_counter() - started, args.strict)


def _scenario(
    sc: Scenario,
    srv: cb.Servers,
    runner: Runner,
    run: Callable[..., dict[str, tuple[Ran, Ran]]],
    cmp: Compare,
    calls: dict[str, dict[Any, Any]],
    params_dir: Path,
) -> None:
    """Reset moto, build the scenario's account, run both trees on it and compare."""
    t0 = time.perf_counter()
    _reset(srv.moto_url)
    os.environ["AWS_ENDPOINT_URL"] = runner.url = srv.moto_url
    try:
        build(sc, srv.moto_url)
    except Exception as exc:  # noqa: BLE001 (an account moto cannot build is said, and the others still run)
        cmp.report.rows.append((sc.name, 0, [f"NOT BUILT: {type(exc).__name__}: {exc}"]))
        cmp.report.unbuilt += 1
        return
    params = params_dir / f"{sc.name}.yaml"
    params.parent.mkdir(exist_ok=True)
    params.write_text(yaml.safe_dump({**DEMO_PARAMS, **sc.params}, sort_keys=False))
    results = run(scenario_jobs(sc), sc.name, params)
    if sc.counted:  # a snapshot the other tree wrote: one a user saved before upgrading
        results.update(run([[CROSS]], sc.name, params))
    cmp.scenario(sc.name, results)
    if sc.counted:
        calls[sc.name] = _calls(srv, runner, cmp.sides, sc.name, params, run.keywords["shared"])
    print(f"  {sc.name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)


def _print(report: Report, sides: tuple[Side, Side], calls: dict[str, Any], total: float, strict: bool) -> int:
    a, b = (s.label for s in sides)
    print(f"# What a user sees: {a} against {b}\n")
    print("\n".join(f"{label}: {what}" for label, what in report.trees.items()) + "\n")
    width = max((len(r[0]) for r in report.rows), default=10)
    for name, n, differing in report.rows:
        expected_only = all(d.endswith("(expected)") for d in differing)
        status = "OK" if not differing else "ERROR" if n == 0 else "OK*" if expected_only and not strict else "DIFF"
        print(f"{name:{width}}  {n:3} compared  {status:5}  {', '.join(differing)}")
    odd_calls = 0
    for name, got in calls.items():
        for cmd in ("check", "remediate"):
            ca, cb_ = got[(cmd, a)], got[(cmd, b)]
            odd_calls += ca != cb_
            same = "same calls" if ca == cb_ else f"DIFFERENT: {dict(ca)} vs {dict(cb_)}"
            print(f"AWS calls of `vhv {cmd}` on {name}: {sum(ca.values())} / {sum(cb_.values())} ({same})")
    failing = [d for d in report.diffs if strict or not d.expected]
    for d in report.diffs:
        tag = f"expected: {d.expected}" if d.expected else d.kind
        print(f"\n## {d.scenario}: {d.command} ({tag})\n")
        print("\n".join(d.diff))
    print(
        f"\n{len(report.rows)} scenario(s), {sum(r[1] for r in report.rows)} comparisons, "
        f"{len(report.diffs)} difference(s) ({len(report.diffs) - len(failing)} expected"
        + (", OK*: only those" if any(d.expected for d in report.diffs) else "")
        + f"), {report.unbuilt} account(s) not built; {total:.0f} s"
        + ("; INTERRUPTED" if report.interrupted else "")
    )
    if report.cpu:
        print("CPU time of the vhv commands: " + ", ".join(f"{k} {v:.0f} s" for k, v in report.cpu.items()))
    if report.interrupted:
        return 130
    return 1 if failing or odd_calls else 2 if report.unbuilt else 0


if __name__ == "__main__":
    raise SystemExit(main())
