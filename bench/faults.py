"""Tally of issue 8's fault run: faults injected, rules decided, rules errored, false
passes, tracebacks. A count for the closing note and the README, not a test (the test
is tests/test_faults.py, whose fault-injecting proxy this reuses).

    python bench/faults.py [--seeds 5] [--shares 0.1,0.3,0.5,0.85]

Starts an in-process moto server with the guide's account plus one drift (SSH open to
the world on the queue group), checks it once fault-free, then once per share and seed
through the proxy, which answers that share of requests with Throttling /
RequestLimitExceeded, 503 or 500. botocore's standard retries run as they are, minus
the sleeping between attempts. A false pass: a finding that is `pass` under faults but
not `pass` (with the same message) fault-free. A traceback: any output of vhv's with
"Traceback" or "internal error".
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import boto3  # noqa: E402
import yaml  # noqa: E402
from botocore.retries import standard  # noqa: E402

from tests.conftest import threaded_moto  # noqa: E402  (also prepares moto's AMIs)
from tests.test_faults import FaultProxy  # noqa: E402
from validator.cli import main as vhv  # noqa: E402
from validator.demo import DEMO_PARAMS, build_golden  # noqa: E402


def check(url: str, params: Path) -> tuple[int, dict, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = vhv(["check", "--params", str(params), "--endpoint-url", url, "--format", "json"])
    findings = {}
    if out.getvalue().strip():
        findings = {
            (f["rule_id"], f["resource_id"]): (f["status"], f["message"])
            for f in json.loads(out.getvalue())["findings"]
        }
    return code, findings, out.getvalue() + err.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--shares", default="0.1,0.3,0.5,0.85")
    args = ap.parse_args()
    standard.ExponentialBackoff.delay_amount = lambda self, context: 0
    params = Path(tempfile.mkdtemp(prefix="vhv-faults-")) / "params.yaml"
    params.write_text(yaml.safe_dump(dict(DEMO_PARAMS)))
    rows, total = (
        [],
        {
            "runs": 0,
            "injected": 0,
            "forwarded": 0,
            "decided": 0,
            "errored": 0,
            "stopped": 0,
            "false_pass": 0,
            "changed": 0,
            "tracebacks": 0,
        },
    )
    with threaded_moto() as url:
        ids = build_golden(boto3.Session(region_name=DEMO_PARAMS["region"]), endpoint_url=url)
        boto3.client("ec2", region_name=DEMO_PARAMS["region"], endpoint_url=url).authorize_security_group_ingress(
            GroupId=ids["sg_queue"],
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        _code, clean, _ = check(url, params)
        for share in (float(s) for s in args.shares.split(",")):
            row = dict.fromkeys(total, 0)
            for seed in range(1, args.seeds + 1):
                proxy = FaultProxy(url, share, seed)
                threading.Thread(target=proxy.serve_forever, daemon=True).start()
                try:
                    code, faulty, text = check(proxy.url, params)
                finally:
                    proxy.shutdown()
                    proxy.server_close()
                row["runs"] += 1
                row["injected"] += proxy.injected
                row["forwarded"] += proxy.forwarded
                row["tracebacks"] += "Traceback" in text or "internal error" in text
                if not faulty:  # one line, exit 2: sts:GetCallerIdentity never got through
                    row["stopped"] += code == 2
                    continue
                for key, (status, message) in faulty.items():
                    if status == "error":
                        row["errored"] += 1
                        continue
                    row["decided"] += 1
                    if (status, message) != clean.get(key):
                        row["changed"] += 1
                        row["false_pass"] += status == "pass"
            rows.append((share, row))
            for k in total:
                total[k] += row[k]
    head = [
        "share of requests failed",
        "runs",
        "faults injected",
        "requests forwarded",
        "findings decided",
        "findings error",
        "runs stopped (exit 2, one line)",
        "decided but different",
        "false passes",
        "tracebacks",
    ]
    keys = ["runs", "injected", "forwarded", "decided", "errored", "stopped", "changed", "false_pass", "tracebacks"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for share, row in rows + [("all", total)]:
        label = f"{share:.0%}" if isinstance(share, float) else share
        print("| " + " | ".join([label] + [f"{row[k]:,}" for k in keys]) + " |")
    print(f"\nfault-free: {len(clean)} findings; false passes {total['false_pass']}, tracebacks {total['tracebacks']}")
    sys.exit(1 if total["false_pass"] or total["tracebacks"] or total["changed"] else 0)


if __name__ == "__main__":
    main()
