"""Tally of issue 8's hostile-input run: inputs thrown, refused with one line, reported,
false passes, tracebacks, hangs, the slowest run and the most memory. A count for the
closing note and the README, not a test (tests/test_hostile_input.py fuzzes the same
surfaces with hypothesis and asserts).

    python bench/hostile.py [--every N] [--timeout S]

1. Snapshots, swept (in-process, `vhv check --snapshot`): the demo account (five drifts,
   so there are failures to hide) read by vhv, then every node of its data replaced, one
   at a time, by a value of each JSON type it is not (null, a bool, a number, a string,
   a list, an object), and every key of an object deleted, each resealed (snapshot.sealed)
   as one who doctors a snapshot on purpose would: unresealed, the seal refuses every one,
   so what is counted is the shape check, the consistency checks and the rules behind it.
   A false pass: a finding that is `pass` where the unmutated snapshot gave `fail`, `warn`
   or `error`.
2. Files, one real `vhv` process each (wall time and peak memory from wait4): params
   files, waiver files, policy files for `vhv lint`, snapshot files and rule packs that
   no user should have: binary, huge, deep, aliases that expand to billions, YAML tags
   that build objects, duplicate keys, every params key of every wrong type, NaN, numbers
   out of range, control characters, 100,000 actions or statements, wildcard bombs.
   Expected: exit 2 with one line (`vhv: FILE...`), or a report (lint: exit 1 or 2 with
   findings); never a traceback, never longer than the timeout.
3. Costs (`--only load`, `--only check`): Snapshot.load of a crowded snapshot, and `vhv check
   --snapshot` on a ValohaiMasterPolicy of 100,000 statements and on 200,000 errors.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEAD = "http://127.0.0.1:9"
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_ENDPOINT_URL=DEAD)
os.environ.pop("AWS_PROFILE", None)

import yaml  # noqa: E402

from validator import rulepack  # noqa: E402
from validator.cli import main as vhv  # noqa: E402
from validator.demo import DEMO_PARAMS  # noqa: E402
from validator.snapshot import sealed  # noqa: E402

CRASH = ("Traceback", "internal error")
OTHER_TYPES = {
    type(None): [True, 7, "x", [], {}],
    bool: [None, 7, "x", [], {}],
    int: [None, True, "x", [], {}],
    float: [None, True, "x", [], {}],
    str: [None, True, 7, [], {}],
    list: [None, True, 7, "x", {}],
    dict: [None, True, 7, "x", []],
}


# ------------------------------------------------------------------ 1. the snapshot sweep


def demo_snapshot() -> dict[str, Any]:
    from validator.aws.account import read
    from validator.demo import drifted_account

    os.environ.pop("AWS_ENDPOINT_URL")  # moto in-process, then no AWS at all again
    try:
        with drifted_account(seed=20200) as (params, _pack, target):
            snap, _calls = read(params, target)
    finally:
        os.environ["AWS_ENDPOINT_URL"] = DEAD
    return snap.to_dict()


def nodes(node: Any, at: tuple = ()) -> Iterator[tuple]:
    yield at
    if isinstance(node, dict):
        for k, v in node.items():
            yield from nodes(v, at + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from nodes(v, at + (i,))


def get(doc: Any, at: tuple) -> Any:
    for part in at:
        doc = doc[part]
    return doc


def mutants(doc: dict[str, Any], every: int) -> Iterator[tuple[str, str]]:
    """(label, snapshot text) for each type swap and each key deletion under `data`."""
    paths = [p for p in nodes(doc["data"], ("data",)) if len(p) > 1][::every]
    for at in paths:
        was = get(doc, at)
        for value in OTHER_TYPES[type(was)]:
            m = copy.deepcopy(doc)
            get(m, at[:-1])[at[-1]] = value
            yield f"{'.'.join(map(str, at))} = {json.dumps(value)}", json.dumps(sealed(m))
        if isinstance(at[-1], str):
            m = copy.deepcopy(doc)
            del get(m, at[:-1])[at[-1]]
            yield f"del {'.'.join(map(str, at))}", json.dumps(sealed(m))
    for special in ("NaN", "Infinity", "-Infinity", "1e999999", "1" + "0" * 5000):  # numbers JSON cannot carry
        for at in [p for p in paths if isinstance(get(doc, p), (int, float)) and not isinstance(get(doc, p), bool)][:3]:
            m = copy.deepcopy(doc)
            get(m, at[:-1])[at[-1]] = "@@SPECIAL@@"
            yield f"{'.'.join(map(str, at))} = {special}", json.dumps(m).replace('"@@SPECIAL@@"', special)


def check_text(snapshot: Path, params: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = vhv(["check", "--params", str(params), "--snapshot", str(snapshot), "--format", "json"])
    return code, out.getvalue(), err.getvalue()


def statuses(out: str) -> dict[tuple, str]:
    return {(f["rule_id"], f["resource_id"]): f["status"] for f in json.loads(out)["findings"]}


def sweep(work: Path, every: int, doc: dict[str, Any]) -> dict[str, Any]:
    params = work / "params.yaml"
    params.write_text(yaml.safe_dump(dict(DEMO_PARAMS)))
    snap = work / "snap.json"
    snap.write_text(json.dumps(doc))
    base_code, out, _ = check_text(snap, params)
    base = statuses(out)
    row = {"inputs": 0, "refused": 0, "reported": 0, "false_pass": 0, "tracebacks": 0, "slowest": 0.0}
    examples: list[str] = []
    for label, text in mutants(doc, every):
        snap.write_text(text)
        t0 = time.perf_counter()
        code, out, err = check_text(snap, params)
        row["slowest"] = max(row["slowest"], time.perf_counter() - t0)
        row["inputs"] += 1
        if any(c in out + err for c in CRASH):
            row["tracebacks"] += 1
            examples.append(f"traceback: {label}: {err.strip()[:200]}")
            continue
        if code == 2 and not out:
            row["refused"] += 1 if len(err.strip().splitlines()) == 1 else 0
            continue
        row["reported"] += 1
        got = statuses(out)
        hidden = [k for k, s in got.items() if s == "pass" and base.get(k, "pass") != "pass"]
        if hidden:
            row["false_pass"] += 1
            examples.append(f"false pass: {label}: {', '.join(r for r, _ in hidden)}")
    row["baseline"] = f"{sum(s != 'pass' for s in base.values())} of {len(base)} findings not pass (exit {base_code})"
    row["examples"] = examples
    return row


# ------------------------------------------------------------------ 2. files, real processes

LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")
)
PARAMS_KEYS = ("region", "assume_role_arn", "provisioning", "queue_installer", "admin_cidr", "vpc_cidr", "account_id")


def good_params() -> str:
    return yaml.safe_dump(dict(DEMO_PARAMS))


def params_files() -> Iterator[tuple[str, str | bytes]]:
    yield "binary", bytes(range(256)) * 8
    yield "2 MB", "region: eu-west-1\n" + "# " + "x" * 2_000_000 + "\n"
    yield "billion laughs", LAUGHS + "region: *i\n"
    yield "deep flow", "region: " + "[" * 50_000 + "]" * 50_000 + "\n"
    yield "deep block", "".join(" " * i + f"k{i}:\n" for i in range(900))
    yield "python tag", "region: !!python/object/apply:os.system ['echo pwned']\n" + good_params()
    yield "duplicate key", good_params() + "region: us-east-1\n"
    yield "utf-16", good_params().encode("utf-16")
    yield "typo'd key", good_params().replace("admin_cidr", "admin_cdir")
    yield "typo'd ARN", good_params().replace("arn:aws:iam::", "arn:aws:iam:")
    yield "typo'd CIDR", good_params().replace("10.0.0.0/16", "10.0.0.0/33")
    yield "100,000 RECORDED", yaml.safe_dump({**DEMO_PARAMS, "assume_role_arn": "RECORDED " * 100_000}, width=10**9)
    for key in PARAMS_KEYS:
        for value in (None, True, 5, 1.5, [], {"a": 1}, ["eu-west-1"]):
            yield f"{key}: {json.dumps(value)}", yaml.safe_dump({**DEMO_PARAMS, key: value})


def waiver_files() -> Iterator[tuple[str, str | bytes]]:
    w = {"rule": "eip-associated", "resource": "valohai-ip-queue", "justification": "j", "expires": "2099-01-31"}
    yield "binary", bytes(range(256)) * 8
    yield "billion laughs", LAUGHS + "waivers: *i\n"
    yield "python tag", "waivers: !!python/object/apply:os.system ['echo pwned']\n"
    yield "duplicate key", "waivers:\n- rule: eip-associated\n  rule: queue-ssh\n"
    yield "2027-02-30", yaml.safe_dump({"waivers": [{**w, "expires": "2027-02-30"}]})
    yield "unknown rule", yaml.safe_dump({"waivers": [{**w, "rule": "no-such-rule"}]})
    yield "wildcard rule", yaml.safe_dump({"waivers": [{**w, "rule": "*"}]})
    for key in w:
        for value in (None, 5, [], {}):
            yield f"{key}: {json.dumps(value)}", yaml.safe_dump({"waivers": [{**w, key: value}]})


def stmt(**over: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*", **over}


def policy(*statements: Any) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def policy_files() -> Iterator[tuple[str, str | bytes]]:
    yield "binary", bytes(range(256)) * 8
    yield "deep array", "[" * 200_000 + "]" * 200_000
    yield "deep object", '{"a":' * 50_000 + "1" + "}" * 50_000
    yield "NaN", '{"Version": "2012-10-17", "Statement": {"Effect": NaN}}'
    yield (
        "1e999999",
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", '
        '"Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": 1e999999}}}]}',
    )
    yield (
        "huge int",
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", '
        '"Resource": "*", "Condition": {"NumericLessThan": {"s3:max-keys": 1' + "0" * 5000 + "}}}]}",
    )
    yield "duplicate keys", '{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": []}'
    yield (
        "control characters",
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:Get'
        '\x1b]0;PWNED\x07\x1b[2J","Resource":"*"}]}',
    )
    yield "100,000 actions", policy(stmt(Action=[f"ec2:Describe{i}" for i in range(100_000)]))
    yield (
        "100,000 resources",
        policy(stmt(Action="s3:GetObject", Resource=[f"arn:aws:s3:::b/{i}" for i in range(100_000)])),
    )
    yield "100,000 statements", policy(*[stmt(Sid=f"S{i}") for i in range(100_000)])
    yield "10 MB action", policy(stmt(Action="s3:" + "A" * 10_000_000))
    yield "wildcard bomb", policy(stmt(Action="s3:" + "Get*" * 2_000_000))
    yield "wrong types", policy(stmt(Effect=7, Action={"a": 1}, Resource=None, Condition=[1]))
    yield "utf-16", policy(stmt()).encode("utf-16")


def snapshot_files(golden: dict[str, Any]) -> Iterator[tuple[str, str | bytes]]:
    yield "binary", bytes(range(256)) * 8
    yield "deep", "[" * 200_000 + "]" * 200_000
    yield "version true", json.dumps({**golden, "version": True})
    yield "account_id null", json.dumps({**golden, "account_id": None})
    yield "partition mars", json.dumps({**golden, "partition": "mars"})
    yield "errors a list", json.dumps({**golden, "errors": ["x"]})
    big = copy.deepcopy(golden)
    pol = next(iter(big["data"]["policies"].values()))
    doc = next((v for v in pol.values() if isinstance(v, dict) and "Statement" in v), None)
    if doc is not None:
        doc["Statement"] = [stmt(Sid=f"S{i}") for i in range(100_000)]
        yield "policy of 100,000 statements", json.dumps(sealed(big))  # resealed: the check is measured
    many = copy.deepcopy(golden)
    sgs = many["data"]["security_groups"]
    if sgs and isinstance(sgs[0].get("ingress"), list) and sgs[0]["ingress"]:
        sgs[0]["ingress"] = sgs[0]["ingress"] * (100_000 // len(sgs[0]["ingress"]))
        yield "100,000 ingress rules", json.dumps(sealed(many))


def rule_packs(work: Path) -> Iterator[tuple[str, Path]]:
    for label, text in (
        ("binary", None),
        ("python tag", "rules: !!python/object/apply:os.system ['echo x']\n"),
        ("billion laughs", LAUGHS + "rules: *i\n"),
        ("duplicate key", "rules: []\nrules: []\n"),
        ("rule of wrong shape", "rules:\n- id: 7\n  evaluator: [x]\n"),
    ):
        d = work / f"rules-{len(list(work.glob('rules-*')))}"
        shutil.copytree(rulepack.default_dir(), d)
        target = d / "9-hostile.yaml"
        target.write_bytes(bytes(range(256)) * 8 if text is None else text.encode())
        yield label, d


# `python -m validator ARGS`, writing its own peak memory (VmHWM: this process's, since its exec;
# ru_maxrss would also count the bench's memory at the fork) to the file $VHV_BENCH_HWM at exit
PEAK = (
    "import atexit, os, re, runpy, sys\n"
    "def peak():\n"
    "    with open('/proc/self/status') as f, open(os.environ['VHV_BENCH_HWM'], 'w') as out:\n"
    "        out.write(re.search(r'VmHWM:\\s+(\\d+)', f.read()).group(1))\n"
    "atexit.register(peak)\n"
    "sys.argv[0] = 'vhv'\n"
    "runpy.run_module('validator', run_name='__main__', alter_sys=True)\n"
)


def run(argv: list[str], timeout: float, cwd: Path) -> dict[str, Any]:
    """One real vhv process: exit code, output, wall time, peak RSS (MB), whether it hung."""
    t0 = time.perf_counter()
    hwm = cwd / "hwm"
    hwm.unlink(missing_ok=True)
    with open(cwd / "out", "w+b") as out, open(cwd / "err", "w+b") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", PEAK, *argv],
            stdout=out,
            stderr=err,
            cwd=cwd,
            env={**os.environ, "NO_COLOR": "1", "VHV_BENCH_HWM": str(hwm)},
        )
        try:
            proc.wait(timeout)
            hung = False
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            hung = True
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    peak = int(hwm.read_text()) / 1024 if hwm.exists() else 0.0
    return {
        "code": proc.returncode,
        "out": stdout,
        "err": stderr,
        "hung": hung,
        "secs": time.perf_counter() - t0,
        "rss_mb": peak,
    }


def files(work: Path, timeout: float, golden: dict[str, Any]) -> dict[str, dict[str, Any]]:
    params = work / "params.yaml"
    params.write_text(good_params())
    snap = work / "golden.json"
    snap.write_text(json.dumps(golden))
    cases: dict[str, list[tuple[str, list[str], bool]]] = {
        k: [] for k in ("params", "waivers", "policies", "snapshots", "rules")
    }
    for group, source, argv in (
        ("params", params_files(), lambda p: ["check", "--params", str(p), "--snapshot", str(snap)]),
        (
            "waivers",
            waiver_files(),
            lambda p: ["check", "--params", str(params), "--snapshot", str(snap), "--waivers", str(p)],
        ),
        ("policies", policy_files(), lambda p: ["lint", str(p)]),
        ("snapshots", snapshot_files(golden), lambda p: ["check", "--params", str(params), "--snapshot", str(p)]),
    ):
        for i, (label, content) in enumerate(source):
            path = work / f"{group}-{i}"
            path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
            cases[group].append((label, argv(path), group == "policies"))
    for label, d in rule_packs(work):
        cases["rules"].append(
            (label, ["check", "--params", str(params), "--snapshot", str(snap), "--rules", str(d)], False)
        )
    rows = {}
    for group, items in cases.items():
        row = {
            "inputs": 0,
            "refused": 0,
            "reported": 0,
            "false_pass": 0,
            "tracebacks": 0,
            "hangs": 0,
            "slowest": 0.0,
            "rss_mb": 0.0,
            "examples": [],
        }
        for label, argv, is_lint in items:
            r = run(argv, timeout, work)
            row["inputs"] += 1
            row["slowest"] = max(row["slowest"], r["secs"])
            row["rss_mb"] = max(row["rss_mb"], r["rss_mb"])
            if r["hung"]:
                row["hangs"] += 1
                row["examples"].append(f"hang: {label}")
            elif any(c in r["out"] + r["err"] for c in CRASH):
                row["tracebacks"] += 1
                row["examples"].append(f"traceback: {label}: {r['err'].strip()[:200]}")
            elif r["code"] == 2 and not r["out"] and len(r["err"].strip().splitlines()) == 1:
                row["refused"] += 1
            elif r["out"] and (r["code"] in (1, 2) if is_lint else group == "snapshots"):
                row["reported"] += 1  # lint findings; a well-formed (if huge) snapshot's report
            else:  # anything else is not what a hostile file should give
                row["false_pass"] += r["code"] == 0 and not is_lint
                row["examples"].append(f"unexpected exit {r['code']}: {label}: {(r['err'] or r['out']).strip()[:160]}")
        rows[group] = row
    return rows


def load_cost(work: Path, demo: dict[str, Any], n: int = 2000) -> str:
    """How long `Snapshot.load` (parse + shape check) takes on a crowded snapshot: n subnets,
    instances and Elastic IPs, n/4 security groups (copies of the demo's own)."""
    from tests.test_snapshot_schema import _crowded
    from validator.snapshot import Snapshot

    path = work / "crowded.json"
    path.write_text(json.dumps(sealed(_crowded(demo, n))))
    Snapshot.load(path)  # the schema is compiled once, on first use
    best = min(_timed(lambda: Snapshot.load(path)) for _ in range(5))
    return (
        f"Snapshot.load of a {path.stat().st_size / 1e6:.1f} MB snapshot ({n:,} subnets, instances, EIPs): "
        f"{best * 1000:.0f} ms (best of 5)"
    )


def check_cost(work: Path, demo: dict[str, Any]) -> list[str]:
    """How long `vhv check --snapshot` takes (a real process, best of 3) on what an independent
    tester found slow: a ValohaiMasterPolicy of 100,000 statements (the demo's four again and
    again, each with its own Sid; or stmt() 100,000 times) and 200,000 keys in `errors`."""
    params = work / "params.yaml"
    params.write_text(good_params())
    four, same, errors = copy.deepcopy(demo), copy.deepcopy(demo), copy.deepcopy(demo)
    sts = four["data"]["policies"]["ValohaiMasterPolicy"]["document"]["Statement"]
    sts[:] = [dict(sts[i % len(sts)], Sid=f"S{i}") for i in range(100_000)]
    same["data"]["policies"]["ValohaiMasterPolicy"]["document"]["Statement"] = [
        stmt(Sid=f"S{i}") for i in range(100_000)
    ]
    errors["errors"] = {f"images.ami-{i:017x}": "AccessDenied: not authorized" for i in range(200_000)}
    out = []
    for label, doc in (
        ("ValohaiMasterPolicy: its 4 statements x 25,000, own Sids", four),
        ("ValohaiMasterPolicy: 100,000 x stmt()", same),
        ("200,000 errors", errors),
    ):
        path = work / "check.json"
        path.write_text(json.dumps(sealed(doc)))
        runs = [run(["check", "--params", str(params), "--snapshot", str(path)], 120, work) for _ in range(3)]
        out.append(
            f"vhv check --snapshot ({label}, {path.stat().st_size / 1e6:.0f} MB): "
            f"{min(r['secs'] for r in runs):.2f} s (best of 3), exit {runs[0]['code']}"
        )
    return out


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--every", type=int, default=1, help="sweep every Nth node of the snapshot (default: all)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a process counts as hung")
    ap.add_argument("--only", choices=("sweep", "files", "load", "check"), help="run one part")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vhv-hostile-"))
    golden = demo_snapshot()
    rows: dict[str, dict[str, Any]] = {}
    if args.only in (None, "load"):
        print(load_cost(work, golden))
        if args.only:
            return
    if args.only in (None, "check"):
        print("\n".join(check_cost(work, golden)))
        if args.only:
            return
    if args.only in (None, "sweep"):
        rows["snapshot sweep (in-process)"] = sweep(work, args.every, golden)
    if args.only in (None, "files"):
        rows.update(files(work, args.timeout, golden))
    head = [
        "what",
        "inputs",
        "refused (exit 2, one line)",
        "reported",
        "unexpected / false passes",
        "tracebacks",
        "hangs",
        "slowest (s)",
        "peak memory (MB)",
    ]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    total = {"inputs": 0, "false_pass": 0, "tracebacks": 0, "hangs": 0, "unexpected": 0}
    for name, row in rows.items():
        unexpected = row["inputs"] - row["refused"] - row["reported"] - row["tracebacks"] - row.get("hangs", 0)
        print(
            f"| {name} | {row['inputs']:,} | {row['refused']:,} | {row['reported']:,} | "
            f"{unexpected} / {row['false_pass']} | {row['tracebacks']} | {row.get('hangs', 0)} | "
            f"{row['slowest']:.1f} | {row['rss_mb']:.0f} |"
            if "rss_mb" in row
            else f"| {name} | {row['inputs']:,} | {row['refused']:,} | {row['reported']:,} | "
            f"{unexpected} / {row['false_pass']} | {row['tracebacks']} | - | {row['slowest']:.1f} | - |"
        )
        total["inputs"] += row["inputs"]
        total["unexpected"] += unexpected
        for k in ("false_pass", "tracebacks", "hangs"):
            total[k] += row.get(k, 0)
    for name, row in rows.items():
        for line in row["examples"][:15]:
            print(f"  {name}: {line}")
        if "baseline" in row:
            print(f"  {name}: baseline: {row['baseline']}")
    print(
        f"\n{total['inputs']:,} hostile inputs: {total['false_pass']} false passes, {total['tracebacks']} tracebacks, "
        f"{total['hangs']} hangs, {total['unexpected']} other unexpected outcomes"
    )
    shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if total["false_pass"] or total["tracebacks"] or total["hangs"] else 0)


if __name__ == "__main__":
    main()
