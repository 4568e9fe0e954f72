"""The `vhv lint` half of the benchmark (bench/run.py runs it): vhv against parliament.

Writes N policy files (clean variants of the guide's policies and broken ones, each
broken file labelled with the one problem it has), lints them with vhv (every check on)
and with parliament (PyPI; `pip install -e '.[bench]'`; skipped with a note when absent):
its default auditors on every file, its community auditors (which find ForAllValues
misuse and privilege escalation, and are much slower) on a prefix of the corpus that
holds every labelled kind. Reports files/s, the labelled kinds each misses and the clean
files it reports something on. A benchmark, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import copy
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from validator import guide
from validator.policy.lintfiles import lint_paths
from validator.policy.suppress import Suppressions

ROLE = "arn:aws:iam::123456789012:role/ValohaiWorkerRole"
ASSUMER = "arn:aws:iam::111122223333:role/valohai-assumer"
EC2 = [
    "ec2:DescribeInstances",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeImages",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeKeyPairs",
    "ec2:DescribeLaunchTemplates",
    "ec2:CreateTags",
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeScalingActivities",
]


def master_clean() -> dict:
    doc = guide.master_policy(ROLE)
    doc["Statement"][1]["Condition"] = {"StringEqualsIfExists": {"aws:ResourceTag/Valohai": "1"}}
    return doc


def trust_clean() -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": ASSUMER},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "valohai-123"}},
            }
        ],
    }


def reader(rng: random.Random) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Read", "Effect": "Allow", "Action": rng.sample(EC2, rng.randint(1, len(EC2))), "Resource": "*"}
        ],
    }


CLEAN: list[Callable[[random.Random], Any]] = [
    lambda r: guide.WORKER_POLICY,
    lambda r: master_clean(),
    lambda r: guide.ec2_trust(),
    lambda r: trust_clean(),
    reader,
]


def _set(path: list, value: Any, base: Callable[[], dict] = master_clean) -> Callable[[random.Random], Any]:
    def make(rng: random.Random) -> Any:
        doc = copy.deepcopy(base())
        node = doc
        for p in path[:-1]:
            node = node[p]
        if value is _DELETE:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return doc

    return make


_DELETE = object()

# label (vhv check id) -> (maker, parliament issue keys that name the same problem)
BROKEN: dict[str, tuple[Callable[[random.Random], Any], set[str]]] = {
    "lint-unknown-service": (_set(["Statement", 0, "Action", 0], "ecc2:DescribeInstances"), {"UNKNOWN_PREFIX"}),
    "lint-unknown-action": (_set(["Statement", 0, "Action", 0], "ec2:DescribeInstancez"), {"UNKNOWN_ACTION"}),
    "lint-unknown-operator": (
        _set(["Statement", 1, "Condition"], {"StringEqual": {"aws:ResourceTag/Valohai": "1"}}),
        {"UNKNOWN_OPERATOR"},
    ),
    "lint-missing-version": (_set(["Version"], _DELETE), {"NO_VERSION"}),
    "lint-old-version": (_set(["Version"], "2008-10-17"), {"OLD_VERSION"}),
    "lint-effect": (_set(["Statement", 0, "Effect"], "allow"), {"MALFORMED"}),
    "lint-duplicate-sid": (_set(["Statement", 1, "Sid"], "2"), {"DUPLICATE_SID"}),
    "lint-forallvalues-single-valued": (
        _set(["Statement", 1, "Condition"], {"ForAllValues:StringEquals": {"aws:ResourceTag/Valohai": "1"}}),
        {"SINGLE_VALUE_CONDITION_TOO_PERMISSIVE"},
    ),
    "lint-passrole-star": (_set(["Statement", 3, "Resource"], "*"), {"PRIVILEGE_ESCALATION"}),
    "lint-guide-placeholder": (
        _set(["Statement", 3, "Resource"], "RECORDED ValohaiWorkerRole ARN HERE"),
        {"INVALID_ARN", "RESOURCE_MISMATCH"},
    ),
    "lint-arn-field": (
        _set(["Statement", 3, "Resource"], "arn:aws:iam:eu-west-1:123456789012:role/ValohaiWorkerRole"),
        {"INVALID_ARN", "RESOURCE_MISMATCH"},
    ),
    "lint-star-on-star": (
        _set(["Statement", 0, "Action"], "ec2:*"),
        {"RESOURCE_STAR", "PERMISSIONS_MANAGEMENT_ACTIONS"},
    ),
    "lint-unknown-condition-key": (
        _set(["Statement", 1, "Condition"], {"StringEquals": {"aws:ResourceTags/Valohai": "1"}}),
        {"UNKNOWN_CONDITION_FOR_ACTION"},
    ),
    "lint-trust-principal-star": (
        _set(["Statement", 0, "Principal"], {"AWS": "*"}, trust_clean),
        {"UNKNOWN_PRINCIPAL"},
    ),
    "lint-trust-no-external-id": (_set(["Statement", 0, "Condition"], {}, trust_clean), set()),
    "lint-not-json": (lambda r: '{"Version": "2012-10-17", "Statement": [,]}', {"MALFORMED_JSON"}),
}


def corpus(root: Path, n: int, seed: int = 7) -> dict[str, str | None]:
    """n files; returns file -> label (None for clean). About a third are broken."""
    rng = random.Random(seed)
    labels: dict[str, str | None] = {}
    kinds = list(BROKEN)
    for i in range(n):
        if i % 3 == 0:
            label = kinds[(i // 3) % len(kinds)]
            doc = BROKEN[label][0](rng)
        else:
            label, doc = None, rng.choice(CLEAN)(rng)
        path = root / f"p{i:05d}.json"
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=rng.choice([2, 4])))
        labels[str(path)] = label
    return labels


def run_vhv(files: list[str]) -> tuple[float, dict[str, set[str]]]:
    t = time.perf_counter()
    run = lint_paths(files, Suppressions(Path(".")))
    elapsed = time.perf_counter() - t
    found: dict[str, set[str]] = {f: set() for f in files}
    for f in run.findings:
        found[f.file].add(f.rule_id)
    return elapsed, found


def run_parliament(files: list[str], community: bool) -> tuple[float, dict[str, set[str]]]:
    from parliament import analyze_policy_string

    found: dict[str, set[str]] = {}
    try:  # load its data once, untimed, as vhv's catalogue is
        analyze_policy_string(Path(files[0]).read_text(), files[0], include_community_auditors=community)
    except Exception:  # noqa: BLE001
        pass
    t = time.perf_counter()
    for f in files:
        try:
            policy = analyze_policy_string(Path(f).read_text(), f, include_community_auditors=community)
            found[f] = {x.issue for x in policy.findings}
        except Exception as exc:  # noqa: BLE001 -- parliament raises on some inputs; count as "nothing found"
            found[f] = {f"EXCEPTION:{type(exc).__name__}"}
    return time.perf_counter() - t, found


def parliament_version() -> str | None:
    """parliament's version, or None when it is not installed (pip install -e '.[bench]')."""
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("parliament")
    except PackageNotFoundError:
        return None


def scores(labels: dict[str, str | None], found: dict[str, set[str]], parliament: bool) -> dict[str, Any]:
    """Labelled kinds missed (a kind is missed when any file of it gets no finding naming it) and
    clean files with a finding, over the files in `found`."""
    broken = {f: lab for f, lab in labels.items() if lab and f in found}
    clean = [f for f, lab in labels.items() if not lab and f in found]
    if parliament:
        missed = {lab for f, lab in broken.items() if not (BROKEN[lab][1] & found[f])}
    else:
        missed = {lab for f, lab in broken.items() if lab not in found[f]}
    said: Counter[str] = Counter(k for f in clean for k in found[f])
    return {
        "files": len(found),
        "kinds": len(set(broken.values())),
        "missed": sorted(missed),
        "clean": len(clean),
        "noisy": sum(1 for f in clean if found[f]),
        "said_on_clean": said.most_common(3),
    }


def measure(
    root: Path,
    n: int,
    community_n: int,
    vhv_exe: str | None = None,
    env: dict[str, str] | None = None,
    say: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Write the corpus to `root` and lint it: vhv in this process (every check on) and, when
    `vhv_exe` is given, as one `vhv lint` process over every file; parliament (when installed)
    with its default auditors on every file and with its community auditors on the first
    `community_n` (they are slow). Returns files/s and scores per tool."""
    import subprocess

    labels = corpus(root, n)
    files = list(labels)
    lint_paths(files[:1], Suppressions(Path(".")))  # load the catalogue once, as a long run would
    out: dict[str, Any] = {"files": n, "broken": sum(1 for v in labels.values() if v), "kinds": len(BROKEN)}
    say(f"lint: vhv on {n} files")
    v_time, v_found = run_vhv(files)
    out["vhv lint (in-process, every check)"] = {"seconds": v_time, **scores(labels, v_found, False)}
    if vhv_exe:
        report = root / "vhv-lint.json"
        t = time.perf_counter()
        proc = subprocess.run(
            [vhv_exe, "lint", "--format", "json", "--output", str(report), *files],
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        took = time.perf_counter() - t
        # 2: some files are not JSON at all (lint-not-json), which `vhv lint` reports as an error
        if proc.returncode not in (0, 1, 2) or "Traceback" in proc.stderr or not report.exists():
            raise SystemExit(f"vhv lint exited {proc.returncode}: {proc.stderr[-2000:]}")
        p_found: dict[str, set[str]] = {f: set() for f in files}
        for f in json.loads(report.read_text())["findings"]:
            where = f.get("file") or f.get("resource_name")
            if where in p_found and f.get("status") != "pass":
                p_found[where].add(f["rule_id"])
        out["`vhv lint` (one process, all files)"] = {"seconds": took, **scores(labels, p_found, False)}
    version = parliament_version()
    out["parliament"] = version
    if version:
        say(f"lint: parliament {version}, default auditors, on {n} files")
        t, found = run_parliament(files, community=False)
        out["parliament (default auditors)"] = {"seconds": t, **scores(labels, found, True)}
        subset = files[: max(1, min(community_n, n))]
        say(f"lint: parliament, community auditors, on {len(subset)} files")
        t, found = run_parliament(subset, community=True)
        out["parliament (community auditors)"] = {"seconds": t, **scores(labels, found, True)}
    return out


def main() -> None:
    """bench/run.py runs this in a process of its own (a clean interpreter, as a user's would be:
    not one that holds moto, boto3 and the check's results) and reads the JSON it prints."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", required=True, help="where to write the corpus")
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--community-files", type=int, default=1000)
    ap.add_argument("--vhv", help="the vhv command, to time `vhv lint` over all files as one process too")
    args = ap.parse_args()
    import os
    import sys

    out = measure(
        Path(args.dir),
        args.files,
        args.community_files,
        vhv_exe=args.vhv,
        env=dict(os.environ),
        say=lambda m: print(f"... {m}", file=sys.stderr, flush=True),
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
