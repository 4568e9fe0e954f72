"""Thin: parse arguments, call the layers below, choose the exit code.

Exit codes: 0 no rule failed; 1 at least one rule failed; 2 vhv could not do its
job (bad input, no credentials, a rule that could not be decided), which wins.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Sequence

from validator import __version__
from validator.errors import VhvError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vhv", description="Check an AWS account prepared for Valohai private "
                                "workers against the setup guide.")
    p.add_argument("--version", action="version", version=f"vhv {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    init = sub.add_parser("init", help="write a commented params template")
    init.add_argument("-o", "--output", default="params.yaml")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")

    def aws_opts(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--params", required=True, help="the params YAML file (write one with `vhv init`)")
        sp.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the credential chain)")
        sp.add_argument("--region", help="AWS region (default: the params' region)")
        sp.add_argument("--endpoint-url", help="AWS endpoint (default: AWS_ENDPOINT_URL)")
        sp.add_argument("--rules", help=argparse.SUPPRESS)

    from validator.render import FORMATS

    check = sub.add_parser("check", help="inspect the account (or a saved snapshot) and report")
    aws_opts(check)
    check.add_argument("--snapshot", help="check a saved snapshot offline instead of the account")
    check.add_argument("--format", default="console", choices=FORMATS)
    check.add_argument("--output", help="write the report to this file instead of stdout")

    snap = sub.add_parser("snapshot", help="save what was read, for offline checks")
    aws_opts(snap)
    snap.add_argument("-o", "--output", required=True)

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--format", default="console", choices=("console", "json", "markdown"))

    demo = sub.add_parser("demo", help="build the embedded demo account (moto), check it, report")
    demo.add_argument("--format", default="console", choices=FORMATS)
    demo.add_argument("--output")
    return p


def _target(args: argparse.Namespace):  # noqa: ANN202
    from validator.aws.session import Target

    return Target(profile=args.profile, region=args.region, endpoint_url=args.endpoint_url)


def _load(args: argparse.Namespace):  # noqa: ANN202
    from validator import engine, params, rulepack

    pack = rulepack.load(args.rules)
    prm = params.load(args.params)
    blocked = engine.blocking_failures(pack, prm)
    if blocked:
        raise VhvError("; ".join(f.message for f in blocked))
    return pack, prm


def _read(args: argparse.Namespace, prm):  # noqa: ANN001, ANN202
    from validator.aws.account import read

    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        from rich.console import Console

        with Console(stderr=True).status("reading the account") as status:
            snap, _ = read(prm, _target(args), progress=lambda a: status.update(f"reading the account: {a}"))
    else:
        snap, _ = read(prm, _target(args))
    return snap


def cmd_check(args: argparse.Namespace) -> int:
    from validator import render
    from validator.engine import evaluate
    from validator.snapshot import Snapshot

    pack, prm = _load(args)
    snap = Snapshot.load(args.snapshot) if args.snapshot else _read(args, prm)
    findings = evaluate(pack, prm, snap)
    return render.emit(findings, {"account_id": snap.account_id, "region": snap.region},
                       fmt=args.format, output=args.output)


def cmd_snapshot(args: argparse.Namespace) -> int:
    _pack, prm = _load(args)
    snap = _read(args, prm)
    snap.save(args.output)
    print(f"vhv: snapshot of account {snap.account_id} ({snap.region}) written to {args.output}"
          + (f"; {len(snap.errors)} read(s) failed" if snap.errors else ""), file=sys.stderr)
    return 2 if snap.errors else 0


def cmd_init(args: argparse.Namespace) -> int:
    from validator.init_template import TEMPLATE

    out = Path(args.output)
    if out.exists() and not args.force:
        raise VhvError(f"{out} exists; pass --force to overwrite it")
    from validator.render import write_atomic

    write_atomic(out, TEMPLATE.format(path=out))
    print(f"vhv: wrote {out}; fill in your recorded values, then run `vhv check --params {out}`", file=sys.stderr)
    return 0


def cmd_rules(args: argparse.Namespace) -> int:
    from validator import rulepack
    from validator.render.rules import render_rules

    sys.stdout.write(render_rules(rulepack.load().rules, args.format))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from validator import demo

    code = demo.run(fmt=args.format, output=args.output)
    # the demo account is drifted on purpose: finding the drifts is success
    return 0 if code == 1 else 2


COMMANDS = {"check": cmd_check, "snapshot": cmd_snapshot, "init": cmd_init, "rules": cmd_rules, "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except VhvError as exc:
        print(f"vhv: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("vhv: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user unless asked
        if args.debug:
            raise
        print(f"vhv: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 2
