"""Thin: parse arguments, call the layers below, choose the exit code.

Exit codes: 0 no rule failed; 1 at least one rule failed; 2 vhv could not do its
job (bad input, no credentials, a rule that could not be decided), which wins.

Each command imports its own modules when it runs (`# deferred: start-up`): `vhv --version` and
`vhv lint` start without the rule engine, the readers or the reports of the others.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from validator import __version__
from validator.errors import VhvError
from validator.formats import FORMATS


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="vhv", description="Check an AWS account prepared for Valohai private workers against the setup guide."
    )
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

    check = sub.add_parser("check", help="inspect the account (or a saved snapshot) and report")
    aws_opts(check)
    check.add_argument("--snapshot", help="check a saved snapshot offline instead of the account")
    check.add_argument("--format", default="console", choices=FORMATS)
    check.add_argument("--output", help="write the report to this file instead of stdout")
    check.add_argument(
        "-q", "--quiet", action="store_true", help="console: show only failures, warnings and errors, then the summary"
    )
    check.add_argument(
        "--diff",
        metavar="OLD.json",
        help="report what changed since this previous JSON report "
        "(new failures, fixed, still failing); --format console, json or markdown",
    )
    check.add_argument(
        "--waivers",
        metavar="FILE",
        help="accepted failures, each with a justification and an expiry "
        "date (YAML or JSON; `vhv schema waivers`); adds to the params' `waivers:`",
    )

    snap = sub.add_parser("snapshot", help="save what was read, for offline checks")
    aws_opts(snap)
    snap.add_argument("-o", "--output", required=True)

    rem = sub.add_parser("remediate", help="plan the fixes for what is missing (changes nothing); --fix applies them")
    aws_opts(rem)
    rem.add_argument(
        "--format",
        default="console",
        choices=("console", "json", "cli"),
        help="the plan as text, as JSON (a list of steps), or as the equivalent `aws` commands",
    )
    rem.add_argument("--fix", action="store_true", help="apply the plan (asks first; --yes in CI), then re-check")
    rem.add_argument("--yes", action="store_true", help="with --fix: do not ask")
    rem.add_argument(
        "--plan-checksum", metavar="C", help="with --fix: apply only if the plan computed now has this checksum"
    )
    rem.add_argument(
        "--tighten",
        action="store_true",
        help="also apply the steps that take away what is wider than the guide (needs a decision)",
    )
    rem.add_argument(
        "--force", action="store_true", help="apply a plan that changes more than half of the guide's resources"
    )
    rem.add_argument(
        "--waivers",
        metavar="FILE",
        help="accepted failures, as for `vhv check`: not planned, and the plan says so; adds to the params' `waivers:`",
    )

    rules = sub.add_parser("rules", help="list every rule")
    rules.add_argument("--format", default="console", choices=("console", "json", "markdown"))
    rules.add_argument(
        "--lint",
        nargs="?",
        const="",
        metavar="CHECK",
        help="list the checks of `vhv lint` instead (or show one check's doc)",
    )
    rules.add_argument("--kinds", action="store_true", help="list the guide's resources the rules inspect instead")

    lint = sub.add_parser("lint", help="lint IAM policy / trust policy / S3 bucket policy JSON files offline")
    lint.add_argument("files", nargs="+", metavar="FILE", help="policy JSON files; - for standard input")
    lint.add_argument(
        "--trust",
        action="store_true",
        default=None,
        help="treat every file as a role trust policy (default: when a statement has Principal, unless the "
        "file also names a Resource and an action other than sts:AssumeRole: then it is a resource policy, "
        "such as an S3 bucket policy)",
    )
    lint.add_argument("--account", help="your account id: principals of this account are not cross-account")
    lint.add_argument("--format", default="console", choices=FORMATS)
    lint.add_argument("--output", help="write the report to this file instead of stdout")
    lint.add_argument(
        "--fail-on",
        default="error",
        metavar="LEVEL",
        help="the lowest level that makes exit 1: info, warn, error, security or never "
        "(default: error, i.e. error and security; warnings alone exit 0)",
    )
    lint.add_argument("--config", help="suppressions file (default: ./.vhv.yaml when it exists)")

    demo = sub.add_parser(
        "demo", help="build the embedded demo account (moto: pip install 'vhv[demo]'), check it, remediate, re-check"
    )
    demo.add_argument("--format", default="console", choices=FORMATS)
    demo.add_argument("--output")
    demo.add_argument(
        "--write-reports",
        metavar="DIR",
        help="write the demo's report in every format to DIR (how reports/ is regenerated)",
    )
    demo.add_argument(
        "--built-with",
        metavar="RECIPE",
        help="build the demo account as one of Valohai's recipes does (cloudformation, terraform; default: the "
        "guide's steps) and check it with that built_with",
    )

    record = sub.add_parser(
        "record", help="the values the guide asks you to hand over to Valohai, read from the account"
    )
    aws_opts(record)
    record.add_argument("--snapshot", help="read the values from a saved snapshot instead of the account")
    record.add_argument("--format", default="console", choices=("console", "json", "markdown"))
    record.add_argument("--output", help="write to this file instead of stdout")

    perms = sub.add_parser("permissions", help="print the IAM policy vhv needs (for check; with --fix, also remediate)")
    perms.add_argument("--fix", action="store_true", help="add what `remediate --fix` needs")
    perms.add_argument("--format", default="console", choices=("console", "json"))
    perms.add_argument(
        "--params",
        help="the reads an account its built_with recipe made needs; with --fix: scope remediate's IAM and S3 "
        "actions to these params' account (account_id) and bucket",
    )

    schema = sub.add_parser("schema", help="print the JSON Schema of the JSON report (or of the waiver file)")
    schema.add_argument("name", nargs="?", default="report", help="which schema: report (default), waivers or snapshot")
    return p


def _target(args: argparse.Namespace):  # noqa: ANN202
    from validator.aws.session import Target  # deferred: start-up

    if args.region:  # as the params' region is, before any call (botocore would build any host name)
        from validator.params import check_region  # deferred: start-up

        problem = check_region(args.region)
        if problem:
            raise VhvError(f"--region: {problem}")
    return Target(profile=args.profile, region=args.region, endpoint_url=args.endpoint_url)


def _load(args: argparse.Namespace):  # noqa: ANN202
    from validator import engine, kinds, params, rulepack  # deferred: start-up

    pack = rulepack.load(args.rules)
    prm = params.load(args.params)
    kinds.use(kinds.recipe_of(prm))  # the snapshot written or read back is named as the recipe names it
    blocked = engine.blocking_failures(pack, prm)
    if blocked:
        raise VhvError("; ".join(f.message for f in blocked))
    return pack, prm


def _read(args: argparse.Namespace, prm, for_fix: bool = False):  # noqa: ANN001, ANN202
    """The account's snapshot; `for_fix` also reads what only the fixers use (remediate's plan)."""
    from validator.aws.account import read  # deferred: start-up

    if sys.stderr.isatty() and not os.environ.get("NO_COLOR"):
        from rich.console import Console  # deferred: start-up

        with Console(stderr=True).status("reading the account") as status:
            snap, _ = read(
                prm, _target(args), progress=lambda a: status.update(f"reading the account: {a}"), for_fix=for_fix
            )
    else:
        snap, _ = read(prm, _target(args), for_fix=for_fix)
    return snap


def _previous_report(args: argparse.Namespace):  # noqa: ANN202
    if not getattr(args, "diff", None):
        return None
    from validator import diff  # deferred: start-up

    if args.format not in diff.FORMATS:
        raise VhvError(f"--diff writes {', '.join(diff.FORMATS)}, not {args.format}")
    return diff.load(args.diff)


def _emit_diff(args: argparse.Namespace, old, findings) -> int:  # noqa: ANN001
    from validator import diff  # deferred: start-up
    from validator.files import write_atomic  # deferred: start-up
    from validator.findings import exit_code  # deferred: start-up

    text = diff.render(diff.compare(old, findings), args.format)
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return exit_code(findings)


@contextmanager
def _no_gc_passes() -> Iterator[None]:
    """Python's cycle collector off for the block (and back as it was after). A snapshot with a
    policy of 100,000 statements is millions of objects, and the collector walked them all again
    and again while they were made (a third of `vhv check`'s time); `check` makes few cycles."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def cmd_check(args: argparse.Namespace) -> int:
    with _no_gc_passes():
        return _check(args)


def _check(args: argparse.Namespace) -> int:
    from validator import render  # deferred: start-up
    from validator.engine import evaluate  # deferred: start-up
    from validator.snapshot import Snapshot, same_account  # deferred: start-up

    if args.quiet and (args.format != "console" or args.diff):
        other = "--diff" if args.diff else f"--format {args.format}"
        raise VhvError(f"--quiet shortens the console report of the findings; it does not apply to {other}")
    pack, prm = _load(args)
    from validator import waivers  # deferred: start-up

    waived = _waivers(args, pack, prm)
    old = _previous_report(args)
    if not args.snapshot:
        _warn_other_region(args, prm)
    snap = Snapshot.load(args.snapshot) if args.snapshot else _read(args, prm)
    same_account(snap, prm, getattr(args, "snapshot", None), args.region)
    findings = waivers.apply(evaluate(pack, prm, snap), waived)
    if old is not None:
        return _emit_diff(args, old, findings)
    return render.emit(
        findings,
        {"account_id": snap.account_id, "region": snap.region, "params_file": args.params},
        fmt=args.format,
        output=args.output,
        quiet=args.quiet,
    )


def _warn_other_region(args: argparse.Namespace, prm) -> None:  # noqa: ANN001
    """The region read is --region, else the params' region: AWS_REGION and AWS_DEFAULT_REGION
    never choose it (the params name the account's region). When they, or --region, name
    another region than the params, one line on stderr says which region is read."""
    from validator.render.common import visible  # deferred: start-up

    _target(args)  # a --region that is not a region is refused first, in one line
    if args.region:
        if args.region != prm.region:
            print(
                f"vhv: warning: --region {args.region} is not the params' region ({prm.region}): "
                f"reading {args.region} (--region wins over the params)",
                file=sys.stderr,
            )
        return
    other = [
        f"{k}={visible(os.environ[k])}"
        for k in ("AWS_REGION", "AWS_DEFAULT_REGION")
        if os.environ.get(k) and os.environ[k] != prm.region
    ]
    if other:
        print(
            f"vhv: warning: {' and '.join(other)} {'is' if len(other) == 1 else 'are'} not the params' region "
            f"({prm.region}): reading {prm.region} "
            "(the params' region wins over the environment; --region wins over both)",
            file=sys.stderr,
        )


def _waivers(args: argparse.Namespace, pack, prm):  # noqa: ANN001, ANN202
    """The waivers of the params' `waivers:` and of --waivers FILE (read before AWS is)."""
    from validator import waivers  # deferred: start-up

    return waivers.combine(waivers.from_params(prm, pack), waivers.load(args.waivers, pack) if args.waivers else [])


def cmd_remediate(args: argparse.Namespace) -> int:
    from validator import remediate  # deferred: start-up
    from validator.snapshot import same_account  # deferred: start-up

    remediate.check_options(args)
    pack, prm = _load(args)
    remediate.refuse_other_region(args, prm)
    waived = _waivers(args, pack, prm)
    snap = _read(args, prm, for_fix=True)  # the plan needs the fixers' reads; the re-check after apply does not
    same_account(snap, prm, getattr(args, "snapshot", None), args.region)
    target = _target(args)
    if not target.region:
        target = type(target)(target.profile, prm.region, target.endpoint_url)
    return remediate.run(args, pack, prm, snap, target, reread=lambda: _read(args, prm), waived=waived)


def cmd_snapshot(args: argparse.Namespace) -> int:
    _pack, prm = _load(args)
    snap = _read(args, prm)
    snap.save(args.output)
    print(
        f"vhv: snapshot of account {snap.account_id} ({snap.region}) written to {args.output}"
        + (f"; {len(snap.errors)} read(s) failed" if snap.errors else ""),
        file=sys.stderr,
    )
    return 2 if snap.errors else 0


def cmd_init(args: argparse.Namespace) -> int:
    from validator.init_template import TEMPLATE  # deferred: start-up

    out = Path(args.output)
    if out.exists() and not args.force:
        raise VhvError(f"{out} exists; pass --force to overwrite it")
    from validator.files import write_atomic  # deferred: start-up

    write_atomic(out, TEMPLATE.format(path=out))
    print(f"vhv: wrote {out}; fill in your recorded values, then run `vhv check --params {out}`", file=sys.stderr)
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from validator import render  # deferred: start-up
    from validator.policy import suppress  # deferred: start-up
    from validator.policy.lint import FAIL_ON  # deferred: start-up
    from validator.policy.lintfiles import lint_paths  # deferred: start-up

    args.fail_on = str(args.fail_on).strip().lower()
    if args.fail_on not in FAIL_ON:  # one line and exit 2, not argparse's usage block
        raise VhvError(f"--fail-on: {args.fail_on!r} is not a level; use one of: {', '.join(FAIL_ON)}")
    run = lint_paths(
        args.files, suppress.load(args.config), trust=args.trust, account=args.account, fail_on=args.fail_on
    )
    meta = {
        "account_id": None,
        "region": None,
        "sources": run.sources,
        "files": run.files,
        "suppressed": run.suppressed,
        "command": "lint",
        "title": "vhv lint",
    }
    if args.format != "console":
        return render.emit(run.findings, meta, fmt=args.format, output=args.output)
    from validator.files import write_atomic  # deferred: start-up
    from validator.render.lint_console import render as lint_console  # deferred: start-up

    text = lint_console(run.findings, meta)
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    from validator.findings import exit_code  # deferred: start-up

    return exit_code(run.findings)


def cmd_rules(args: argparse.Namespace) -> int:
    if args.lint is not None:
        from validator.render.lint_docs import render_checks  # deferred: start-up

        sys.stdout.write(render_checks(args.format, args.lint or None))
        return 0
    from validator import rulepack  # deferred: start-up
    from validator.kinds import KINDS  # deferred: start-up
    from validator.render.rules import render_docs, render_kinds, render_rules  # deferred: start-up

    if args.kinds:
        sys.stdout.write(render_kinds(list(KINDS.values()), args.format))
    elif args.format == "markdown":
        sys.stdout.write(render_docs(rulepack.load().rules, list(KINDS.values())))
    else:
        sys.stdout.write(render_rules(rulepack.load().rules, args.format))
    return 0


def cmd_record(args: argparse.Namespace) -> int:
    from validator import record  # deferred: start-up
    from validator.files import write_atomic  # deferred: start-up
    from validator.render.record import render_record  # deferred: start-up
    from validator.snapshot import Snapshot  # deferred: start-up

    _pack, prm = _load(args)
    snap = Snapshot.load(args.snapshot) if args.snapshot else _read(args, prm)
    rec = record.build(snap, prm)
    text = render_record(rec, args.format)
    if args.output:
        write_atomic(args.output, text)
    else:
        sys.stdout.write(text)
    return 0 if rec.complete else 1


def cmd_schema(args: argparse.Namespace) -> int:
    from validator.render import schema  # deferred: start-up

    if args.name not in schema.SCHEMAS:
        raise VhvError(f"no schema named {args.name!r} (one of: {', '.join(schema.SCHEMAS)})")
    sys.stdout.write(schema.text(args.name))
    return 0


def cmd_permissions(args: argparse.Namespace) -> int:
    from validator import permissions  # deferred: start-up

    prm = None
    if args.params:
        from validator import params as params_mod  # deferred: start-up

        prm = params_mod.load(args.params)
    sys.stdout.write(permissions.render(permissions.policy(fix=args.fix, params=prm), args.format))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from validator import demo  # deferred: start-up

    if args.write_reports:
        written = demo.write_reports(args.write_reports)
        print(
            f"vhv: wrote {len(written)} reports of the demo account to {args.write_reports}: "
            + ", ".join(p.name for p in written),
            file=sys.stderr,
        )
        return 0
    # the demo account is drifted on purpose: finding the drifts and fixing them is success (0)
    return demo.run(fmt=args.format, output=args.output, built_with=args.built_with)


COMMANDS = {
    "check": cmd_check,
    "remediate": cmd_remediate,
    "snapshot": cmd_snapshot,
    "init": cmd_init,
    "rules": cmd_rules,
    "demo": cmd_demo,
    "schema": cmd_schema,
    "record": cmd_record,
    "lint": cmd_lint,
    "permissions": cmd_permissions,
}


def _refuse_writing_over_inputs(args: argparse.Namespace) -> None:
    """`--output` onto a file the command reads (the params, the snapshot, a linted policy) would
    replace the input with the report: refused before anything is read."""
    import os  # deferred: start-up

    out = getattr(args, "output", None)
    if not out or args.command == "init" or not os.path.exists(out):
        return
    inputs = [getattr(args, k, None) for k in ("params", "snapshot", "waivers", "diff", "config")]
    for given in [*inputs, *(getattr(args, "files", None) or [])]:
        if given and given != "-" and os.path.exists(given) and os.path.samefile(given, out):
            raise VhvError(f"{out}: is the input {given}; write the report to another file")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 2
    try:
        _refuse_writing_over_inputs(args)
        return COMMANDS[args.command](args)
    except VhvError as exc:
        from validator.render.common import visible  # deferred: start-up

        print(f"vhv: {visible(str(exc))}", file=sys.stderr)  # one line, whatever a file name holds
        return exc.exit_code
    except KeyboardInterrupt:
        print("vhv: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # never a traceback for the user unless asked
        if args.debug:
            raise
        print(f"vhv: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 2
