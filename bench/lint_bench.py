"""Benchmark: `vhv lint` against parliament on the same generated corpus, in one run.

    /work/venv/bin/python bench/lint_bench.py [--files 1000] [--community] [--keep DIR]

Writes N policy files (clean variants of the guide's policies and broken ones, each
broken file labelled with the one problem it has), lints them all with vhv (every check
on) and with parliament (default auditors; --community adds its community auditors,
which are much slower), and prints files/s and the labelled problems each tool misses.
A benchmark, not a test: nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import copy
import json
import random
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from validator import guide
from validator.policy.lintfiles import lint_paths
from validator.policy.suppress import Suppressions

ROLE = "arn:aws:iam::123456789012:role/ValohaiWorkerRole"
ASSUMER = "arn:aws:iam::111122223333:role/valohai-assumer"
EC2 = ["ec2:DescribeInstances", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeImages",
       "ec2:DescribeSecurityGroups", "ec2:DescribeKeyPairs", "ec2:DescribeLaunchTemplates", "ec2:CreateTags",
       "autoscaling:DescribeAutoScalingGroups", "autoscaling:DescribeScalingActivities"]


def master_clean() -> dict:
    doc = guide.master_policy(ROLE)
    doc["Statement"][1]["Condition"] = {"StringEquals": {"aws:ResourceTag/Valohai": "1"}}
    return doc


def trust_clean() -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ASSUMER},
            "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "valohai-123"}}}]}


def reader(rng: random.Random) -> dict:
    return {"Version": "2012-10-17", "Statement": [{"Sid": "Read", "Effect": "Allow",
            "Action": rng.sample(EC2, rng.randint(1, len(EC2))), "Resource": "*"}]}


CLEAN: list[Callable[[random.Random], Any]] = [
    lambda r: guide.WORKER_POLICY, lambda r: master_clean(), lambda r: guide.ec2_trust(), lambda r: trust_clean(),
    reader]


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
    "lint-unknown-operator": (_set(["Statement", 1, "Condition"], {"StringEqual": {"aws:ResourceTag/Valohai": "1"}}),
                              {"UNKNOWN_OPERATOR"}),
    "lint-missing-version": (_set(["Version"], _DELETE), {"NO_VERSION"}),
    "lint-old-version": (_set(["Version"], "2008-10-17"), {"OLD_VERSION"}),
    "lint-effect": (_set(["Statement", 0, "Effect"], "allow"), {"MALFORMED"}),
    "lint-duplicate-sid": (_set(["Statement", 1, "Sid"], "2"), {"DUPLICATE_SID"}),
    "lint-forallvalues-single-valued": (_set(["Statement", 1, "Condition"], {"ForAllValues:StringEquals": {
        "aws:ResourceTag/Valohai": "1"}}), {"SINGLE_VALUE_CONDITION_TOO_PERMISSIVE"}),
    "lint-passrole-star": (_set(["Statement", 3, "Resource"], "*"), {"PRIVILEGE_ESCALATION"}),
    "lint-guide-placeholder": (_set(["Statement", 3, "Resource"], "RECORDED ValohaiWorkerRole ARN HERE"),
                               {"INVALID_ARN", "RESOURCE_MISMATCH"}),
    "lint-arn-field": (_set(["Statement", 3, "Resource"], "arn:aws:iam:eu-west-1:123456789012:role/ValohaiWorkerRole"),
                       {"INVALID_ARN", "RESOURCE_MISMATCH"}),
    "lint-star-on-star": (_set(["Statement", 0, "Action"], "ec2:*"), {"RESOURCE_STAR", "PERMISSIONS_MANAGEMENT_ACTIONS"}),
    "lint-unknown-condition-key": (_set(["Statement", 1, "Condition"], {"StringEquals": {"aws:ResourceTags/Valohai": "1"}}),
                                   {"UNKNOWN_CONDITION_FOR_ACTION"}),
    "lint-trust-principal-star": (_set(["Statement", 0, "Principal"], {"AWS": "*"}, trust_clean), {"UNKNOWN_PRINCIPAL"}),
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
    t = time.perf_counter()
    for f in files:
        try:
            policy = analyze_policy_string(Path(f).read_text(), f, include_community_auditors=community)
            found[f] = {x.issue for x in policy.findings}
        except Exception as exc:  # parliament raises on some inputs; count as "nothing found"
            found[f] = {f"EXCEPTION:{type(exc).__name__}"}
    return time.perf_counter() - t, found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--community", action="store_true", help="parliament with include_community_auditors")
    ap.add_argument("--keep", help="write the corpus here instead of a temporary directory")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        root.mkdir(parents=True, exist_ok=True)
        labels = corpus(root, args.files)
        files = list(labels)
        lint_paths(files[:1], Suppressions(Path(".")))   # load the catalogue once, as a long run would
        v_time, v_found = run_vhv(files)
        p_time, p_found = run_parliament(files, args.community)
    broken = {f: lab for f, lab in labels.items() if lab}
    clean = [f for f, lab in labels.items() if not lab]
    v_miss = sorted({lab for f, lab in broken.items() if lab not in v_found[f]})
    p_miss = sorted({lab for f, lab in broken.items() if not (BROKEN[lab][1] & p_found[f])})
    v_noise = sum(1 for f in clean if v_found[f])
    p_noise = sum(1 for f in clean if p_found[f])
    mode = "community auditors" if args.community else "default auditors"
    print(f"corpus: {len(files)} files, {len(broken)} broken ({len(BROKEN)} labelled kinds), {len(clean)} clean")
    print(f"vhv lint (every check): {len(files) / v_time:8.0f} files/s  ({v_time:.2f} s); "
          f"labelled kinds missed: {len(v_miss)} {v_miss}; clean files with a finding: {v_noise}")
    print(f"parliament ({mode}): {len(files) / p_time:8.0f} files/s  ({p_time:.2f} s); "
          f"labelled kinds missed: {len(p_miss)} {p_miss}; clean files with a finding: {p_noise}")


if __name__ == "__main__":
    main()
