"""Run `vhv` commands of a source tree, as `python -m validator` started in that tree would.

bench/same_output.py runs two trees (an earlier commit checked out in a git worktree, and this
one) in this one venv. A process started with a tree as its cwd imports that tree's validator/
(cwd is first on sys.path), but the installed package maps validator.rules to this tree's
rules/: the bootstrap below loads the tree's own rules/ as validator.rules first, and checks
that both are the tree's (exit BAD_EXIT otherwise).

Each command runs either in a fresh process (`python -c BOOT ARGV...`, exact and slow: every
command imports boto3, botocore's models, jsonschema, rich) or, by default, in a child forked
from a preloaded interpreter of the tree: the tree's modules imported once, then per command a
fork that gets the command's environment and its own stdin (/dev/null), stdout and stderr
files, and calls `validator.cli.main()` as the `vhv` script does, exiting with what
`raise SystemExit(main())` would. botocore's data files (service models, endpoints) are parsed
once per preloaded interpreter and shared by the children's sessions, as the clients of one
botocore session share them. Nothing of vhv's own is run or cached before the fork.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import check_bench as cb

BAD_EXIT = 97  # the bootstrap's own exit: the process would not have run its tree's code

# Run as `python -c BOOT ARGV...` with the tree as cwd: that tree's validator/ (cwd first on
# sys.path) and its rules/ as validator.rules, then `python -m validator ARGV...`.
BOOT = r"""
import importlib.util, os, runpy, sys
tree = os.getcwd()
sys.path.insert(0, tree)
import validator
rules = os.path.join(tree, "rules")
spec = importlib.util.spec_from_file_location(
    "validator.rules", os.path.join(rules, "__init__.py"), submodule_search_locations=[rules])
mod = importlib.util.module_from_spec(spec)
sys.modules["validator.rules"] = mod
spec.loader.exec_module(mod)
validator.rules = mod
from importlib import resources
got = (os.path.dirname(validator.__file__), str(resources.files("validator.rules")))
if [os.path.realpath(p) for p in got] != [os.path.realpath(os.path.join(tree, p)) for p in ("validator", "rules")]:
    print("same_output: a process in", tree, "imports", got, file=sys.stderr)
    os._exit(BAD_EXIT)
""".replace("BAD_EXIT", str(BAD_EXIT))
RUN_VHV = """sys.argv = ["vhv", *sys.argv[1:]]
runpy.run_module("validator", run_name="__main__", alter_sys=True)
"""
BOOT += RUN_VHV
TIMEOUT_S = 600  # one command


@dataclass(frozen=True)
class Side:
    label: str
    tree: Path
    out: Path  # where this side's commands write their files


@dataclass
class Step:
    """One command: argv with {params} {rules} {out} {shared} filled in per side; `files`
    are the names under {out} it writes (compared too)."""

    label: str
    argv: list[str]
    files: tuple[str, ...] = ()
    env: dict[str, str | None] = field(default_factory=dict)  # None: unset


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str
    files: dict[str, str | None]
    took: float


# After BOOT (without RUN_VHV): the tree's modules imported once, then a fork per command. In
# the child: the environment, cwd and standard streams of a fresh process, then
# `validator.cli.main()` as the `vhv` script calls it, and the exit code `raise SystemExit(main())`
# would give. Requests and replies (exit code, CPU seconds) are JSON lines on stdin and stdout.
PRELOAD = r"""
import json, pkgutil, signal, traceback
for m in pkgutil.walk_packages(validator.__path__, "validator."):
    if not m.name.startswith(("validator.pytest_", "validator.demo", "validator.__main__")):
        try:
            importlib.import_module(m.name)
        except Exception:
            pass
for name in ("boto3", "botocore.session", "rich.console", "jsonschema", "yaml"):
    importlib.import_module(name)
# botocore's data files (the service models, endpoints) parsed once: one loader for every session,
# as one session's clients share theirs; warmed with the clients vhv makes (no call is made)
import boto3, botocore.loaders, botocore.session
loaders = {}
def shared_loader(search_path_string=None, make=botocore.loaders.create_loader):
    if search_path_string not in loaders:
        loaders[search_path_string] = make(search_path_string)
    return loaders[search_path_string]
botocore.session.create_loader = botocore.loaders.create_loader = shared_loader
for name in ("sts", "iam", "ec2"):
    boto3.Session(region_name="eu-west-1").client(name, endpoint_url="http://127.0.0.1:9")
import gc
gc.freeze()  # the preloaded objects stay out of the children's collections (no copy-on-write of them)
requests, replies = sys.stdin, sys.stdout
for line in requests:
    req = json.loads(line)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        signal.alarm(TIMEOUT_S)  # a command that hangs ends (SIGALRM) instead of the whole run
        try:
            os.environ.clear()
            os.environ.update(req["env"])
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
            os.dup2(os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
            sys.argv = ["vhv", *req["argv"]]
            from validator.cli import main
            try:
                code = main()
            except SystemExit as exc:
                code = exc.code
            if code is None:
                code = 0
            elif not isinstance(code, int):
                print(code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    replies.write(json.dumps({"code": os.waitstatus_to_exitcode(status), "cpu": cpu}) + "\n")
    replies.flush()
""".replace("TIMEOUT_S", str(TIMEOUT_S))


class Preloaded:
    """One preloaded interpreter of a tree, forking a child per command."""

    def __init__(self, tree: Path, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", BOOT.replace(RUN_VHV, "") + PRELOAD],
            cwd=tree,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.cpu = 0.0

    def run(self, argv: list[str], env: dict[str, str], out: Path, err: Path) -> int:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"argv": argv, "env": env, "stdout": str(out), "stderr": str(err)}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the preloaded interpreter in {self.proc.args} ended (exit {self.proc.wait()})")
        reply = json.loads(line)
        self.cpu += reply["cpu"]
        return reply["code"]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Runner:
    """Runs a Step for a side: in a fresh process (`fresh`) or forked from a preloaded one."""

    def __init__(self, env: cb.Env, url: str, fresh: bool, slots: int = 0, sides: tuple[Side, ...] = ()):
        self.env, self.url, self.fresh, self.sides = env, url, fresh, sides
        self.pools: dict[str, queue.Queue[Preloaded]] = {}
        for side in sides if not fresh else ():
            self.pools[side.label] = queue.Queue()
            for _ in range(slots):
                self.pools[side.label].put(Preloaded(side.tree, env()))

    def cpu(self) -> dict[str, float]:
        """CPU seconds of the commands run so far per side (forked ones; fresh ones are not counted)."""
        return {label: sum(p.cpu for p in list(pool.queue)) for label, pool in self.pools.items()}

    def close(self) -> None:
        for pool in self.pools.values():
            while not pool.empty():
                pool.get().close()

    def run(self, side: Side, step: Step, scenario: str, params: Path, shared: Path, url: str | None = None) -> Ran:
        """`step` for `side` in `scenario`: its files, stdout and stderr go to <side.out>/<scenario>/."""
        where = side.out / scenario
        other = next((s for s in self.sides if s is not side), side).out / scenario
        fill = {
            "params": str(params),
            "rules": str(side.tree / "rules"),
            "out": str(where),
            "other": str(other),
            "shared": str(shared),
        }
        argv = [a.format(**fill) for a in step.argv]
        where.mkdir(parents=True, exist_ok=True)
        out, err = (where / (re.sub(r"[^\w.-]+", "_", step.label) + ext) for ext in (".stdout", ".stderr"))
        env = self.env(AWS_ENDPOINT_URL=url or self.url)
        env.update(step.env)
        env = {k: v for k, v in env.items() if v is not None}
        t = time.perf_counter()
        if self.fresh:
            with out.open("w") as o, err.open("w") as e:
                code = subprocess.run(
                    [sys.executable, "-c", BOOT, *argv],
                    cwd=side.tree,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=o,
                    stderr=e,
                    timeout=TIMEOUT_S,
                ).returncode
        else:
            pre = self.pools[side.label].get()
            try:
                code = pre.run(argv, env, out, err)
            finally:
                self.pools[side.label].put(pre)
        took = time.perf_counter() - t
        stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
        if code == BAD_EXIT:
            raise SystemExit(stderr)
        files = {}
        for name in step.files:
            p = where / name
            files[name] = p.read_text(errors="replace") if p.exists() else None
        return Ran(code, stdout, stderr, files, took)
