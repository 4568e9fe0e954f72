"""pytest plugin (pytest11 entry point `vhv`): the account's compliance as test items.

Inactive until asked: ``pytest --vhv-params params.yaml`` (or ``vhv_params`` in the
ini file / ``[tool.pytest.ini_options]``). Only pytest and the standard library are
imported here at module level, so a pytest run that does not use vhv imports neither
boto3, moto, jsonschema nor the rule pack.

When active, every rule of the pack is one item,
``vhv::test_vhv[<the guide's resource name>::<rule id>]``, marked ``vhv``, with its
severity (``critical`` ... ``info``) and its resource type (``security_group``,
``role``, ``managed_policy``, ``vpc``, ...). A rule judges one resource of the guide;
a rule over several objects (the subnets) is one item that fails when any of them fails.

When the account is read: once per session, lazily, in the setup of the first item that
needs it (params rules do not). Item ids come from the rule pack, not from the account,
so collection is offline and cheap (``--collect-only``, or ``-k``/``-m`` selecting only
params rules, read nothing), identical in every xdist worker, and a test id does not
come and go with the account's contents (CI test history stays comparable). Under xdist
the controller reads the account once and ships the snapshot to the workers.

Outcomes: ``pass`` passes; ``fail`` fails with expected, actual and the fix (no
traceback); ``error`` (could not be decided) is a pytest error; ``skip`` skips with the
reason; ``warn`` passes with a `VhvWarning`. Bad params are a collection error; an
account that cannot be read makes every item that needs it an error.
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SEVERITIES = ("critical", "high", "medium", "low", "info")
SETTINGS = ("params", "snapshot", "profile", "region", "endpoint_url")
PATH_SETTINGS = ("params", "snapshot")
COLLECTOR = "vhv"
INACTIVE = "vhv is not active: pass --vhv-params FILE (or set vhv_params in the ini file)"


class VhvWarning(UserWarning):
    """A rule whose status is `warn` (an advisory): its item passes with this warning."""


class RuleFailed(Exception):
    """A rule failed on the account; repr_failure shows it without a traceback."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


def marker_of(resource_type: str) -> str:
    """`AWS::EC2::SecurityGroup` -> `security_group`, `AWS::EC2::VPC` -> `vpc`, `Params` -> `params`."""
    last = resource_type.split("::")[-1]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", last).lower()


# ------------------------------------------------------------------ options

def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vhv", "vhv: the AWS account prepared for Valohai private workers, as test items")
    group.addoption("--vhv-params", metavar="FILE",
                    help="the params YAML file (`vhv init`); turns the vhv plugin on: one test item per rule")
    group.addoption("--vhv-snapshot", metavar="FILE",
                    help="check a saved snapshot (`vhv snapshot`) offline instead of reading the account")
    group.addoption("--vhv-profile", metavar="NAME", help="AWS profile (default: AWS_PROFILE or the credential chain)")
    group.addoption("--vhv-region", metavar="REGION", help="AWS region (default: the params' region)")
    group.addoption("--vhv-endpoint-url", metavar="URL", help="AWS endpoint (default: AWS_ENDPOINT_URL)")
    helps = {"params": "vhv params file (relative to the ini file); turns the vhv plugin on",
             "snapshot": "vhv snapshot file to check offline (relative to the ini file)",
             "profile": "AWS profile for vhv", "region": "AWS region for vhv", "endpoint_url": "AWS endpoint for vhv"}
    for name in SETTINGS:
        parser.addini(f"vhv_{name}", helps[name], default="")


@dataclass(frozen=True)
class Settings:
    params: Path | None
    snapshot: Path | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


def _settings(config: pytest.Config) -> Settings:
    """Command-line options win over ini values; paths are relative to where they were written."""
    ini_dir = config.inipath.parent if config.inipath else config.rootpath
    values: dict[str, Any] = {}
    for name in SETTINGS:
        value, base = config.getoption(f"vhv_{name}"), config.invocation_params.dir
        if not value:
            value, base = (str(config.getini(f"vhv_{name}") or "").strip() or None), ini_dir
        if value and name in PATH_SETTINGS:
            value = base / Path(value).expanduser()
        values[name] = value
    return Settings(**values)


STATE = pytest.StashKey["State"]()


def pytest_configure(config: pytest.Config) -> None:
    settings = _settings(config)
    if settings.params is None:
        given = [f"--vhv-{n.replace('_', '-')}" for n in SETTINGS[1:] if config.getoption(f"vhv_{n}")]
        if given:
            raise pytest.UsageError(f"vhv: {', '.join(given)} needs --vhv-params FILE (or vhv_params in the ini file)")
        return
    from validator.checks.resources import KINDS

    state = State(settings, getattr(config, "workerinput", {}).get("vhv"))
    config.stash[STATE] = state
    config.addinivalue_line("markers", "vhv: a rule of vhv (the AWS account for Valohai private workers)")
    for sev in SEVERITIES:
        config.addinivalue_line("markers", f"{sev}: a vhv rule of severity {sev}")
    for kind in sorted({k.resource_type for k in KINDS.values()}):
        config.addinivalue_line("markers", f"{marker_of(kind)}: vhv rules about {kind}")
    is_controller = not hasattr(config, "workerinput")
    if is_controller and settings.snapshot is None and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistController(state), "vhv-xdist-controller")


class _XdistController:
    """Under xdist the account is read once, by the controller, and shipped to each worker
    (in workerinput, as the snapshot's JSON), instead of once per worker."""

    def __init__(self, state: "State"):
        self.state = state
        self.shipment: dict[str, str] | None = None

    def pytest_configure_node(self, node: Any) -> None:
        if self.shipment is None:
            from validator.errors import VhvError

            try:
                snap = self.state.snapshot()
                self.shipment = {"snapshot": json.dumps(snap.to_dict(), default=str)}
            except VhvError as exc:
                self.shipment = {"error": str(exc)}
        node.workerinput["vhv"] = self.shipment


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    state = config.stash.get(STATE, None)
    if state is None:
        return None
    s = state.settings
    if s.snapshot:
        where = f"the snapshot {s.snapshot} (offline)"
    else:
        how = [f"{k} {v}" for k, v in (("profile", s.profile), ("region", s.region), ("endpoint", s.endpoint_url)) if v]
        where = "the account" + (f" ({', '.join(how)})" if how else "")
    return [f"vhv: params {s.params}, checking {where}"]


# ------------------------------------------------------------------ the session's account

class State:
    """The params, rule pack and snapshot of one pytest session, each obtained once."""

    def __init__(self, settings: Settings, shipped: dict[str, str] | None = None):
        self.settings = settings
        self.shipped = shipped
        self._prepared: tuple[Any, Any] | None = None
        self._snap: Any = None
        self._read_error: str | None = None
        self._findings: dict[str, list[Any]] = {}
        self._lines: dict[str, dict[str, int]] = {}

    def prepare(self) -> tuple[Any, Any]:
        """(rule pack, params); VhvError when the params cannot be checked against at all."""
        if self._prepared is None:
            from validator import engine, params, rulepack
            from validator.errors import VhvError

            pack = rulepack.load()
            prm = params.load(self.settings.params)
            blocked = engine.blocking_failures(pack, prm)
            if blocked:
                raise VhvError(f"{self.settings.params}: " + "; ".join(f.message for f in blocked))
            self._prepared = pack, prm
        return self._prepared

    def snapshot(self) -> Any:
        """The account, read (or loaded) once; the same VhvError on every call when that failed."""
        from validator.errors import VhvError

        if self._snap is None and self._read_error is None:
            try:
                self._snap = self._obtain()
            except VhvError as exc:
                self._read_error = str(exc)
            except Exception as exc:  # noqa: BLE001 -- a reader bug must read as an error, never a traceback
                self._read_error = f"internal error while reading the account: {type(exc).__name__}: {exc}"
        if self._read_error is not None:
            raise VhvError(self._read_error)
        return self._snap

    def _obtain(self) -> Any:
        from types import SimpleNamespace

        from validator.cli import _same_account
        from validator.errors import VhvError
        from validator.snapshot import Snapshot

        _pack, prm = self.prepare()
        s = self.settings
        if self.shipped is not None:
            if "error" in self.shipped:
                raise VhvError(self.shipped["error"])
            snap = Snapshot.from_dict(json.loads(self.shipped["snapshot"]), source="the snapshot read by the controller")
        elif s.snapshot is not None:
            snap = Snapshot.load(s.snapshot)
        else:
            from validator.aws.account import read
            from validator.aws.session import Target

            snap, _calls = read(prm, Target(profile=s.profile, region=s.region, endpoint_url=s.endpoint_url))
        _same_account(SimpleNamespace(snapshot=str(s.snapshot) if s.snapshot else None, region=s.region), prm, snap)
        return snap

    def findings_of(self, rule: Any) -> list[Any]:
        if rule.id not in self._findings:
            from validator.engine import evaluate_rule

            _pack, prm = self.prepare()
            snap = None if rule.resource == "params" else self.snapshot()
            self._findings[rule.id] = evaluate_rule(rule, prm, snap)
        return self._findings[rule.id]

    def all_findings(self) -> list[Any]:
        pack, _prm = self.prepare()
        return [f for rule in pack.rules for f in self.findings_of(rule)]

    def line_of(self, path: Path, rule_id: str) -> int:
        """0-based line of `- id: <rule_id>` in its rule file (0 when not found)."""
        key = str(path)
        if key not in self._lines:
            lines: dict[str, int] = {}
            try:
                for n, text in enumerate(path.read_text(encoding="utf-8").splitlines()):
                    m = re.match(r"\s*-?\s*id:\s*['\"]?([\w.-]+)", text)
                    if m:
                        lines.setdefault(m.group(1), n)
            except OSError:
                pass
            self._lines[key] = lines
        return self._lines[key].get(rule_id, 0)


def _state(config: pytest.Config) -> State:
    state = config.stash.get(STATE, None)
    if state is None:
        pytest.fail(INACTIVE, pytrace=False)
    return state


# ------------------------------------------------------------------ collection

@pytest.hookimpl(tryfirst=True)  # before -k / -m deselect, so they select among the rules
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.stash.get(STATE, None) is None:
        return
    items.extend(session.genitems(RulePack.from_parent(session, name=COLLECTOR, nodeid=COLLECTOR)))


class RulePack(pytest.Collector):
    """The rule pack as a collector: one RuleItem per rule. Fails collection on bad params."""

    def collect(self) -> list[pytest.Item]:
        from validator.errors import VhvError

        state = self.config.stash[STATE]
        try:
            pack, _prm = state.prepare()
        except VhvError as exc:
            raise self.CollectError(f"vhv: {exc}") from None
        except Exception as exc:  # noqa: BLE001
            raise self.CollectError(f"vhv: internal error: {type(exc).__name__}: {exc}") from None
        from validator.rulepack import default_dir

        rules_dir = default_dir()
        return [RuleItem.from_parent(self, name=f"test_vhv[{rule.resource_name}::{rule.id}]", rule=rule,
                                     rule_file=rules_dir / rule.source) for rule in pack.rules]

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, COLLECTOR


class RuleItem(pytest.Item):
    """One rule of the pack, evaluated against the session's snapshot."""

    def __init__(self, *, rule: Any, rule_file: Path, **kwargs: Any):
        super().__init__(**kwargs)
        self.rule = rule
        self.rule_file = rule_file
        for name in ("vhv", rule.severity, marker_of(rule.resource_type)):
            self.add_marker(name)
        self.findings: list[Any] = []

    def setup(self) -> None:
        """Evaluate the rule; `error` and `skip` are decided here, so an error is a pytest error."""
        from validator.errors import VhvError

        state = self.config.stash[STATE]
        problem = None
        try:
            self.findings = state.findings_of(self.rule)
        except VhvError as exc:
            problem = f"vhv: {self.rule.id} could not be checked: {exc}"
        if problem is not None:
            raise pytest.fail.Exception(problem, pytrace=False)
        statuses = {f.status for f in self.findings}
        if "error" in statuses:
            bad = [f for f in self.findings if f.status == "error"]
            raise pytest.fail.Exception(self._describe("could not be decided", bad, fix=False), pytrace=False)
        if statuses == {"skip"}:
            reasons = list(dict.fromkeys(f.message for f in self.findings))
            raise pytest.skip.Exception(f"vhv: {self.rule.id}: " + "; ".join(reasons), _use_item_location=True)

    def runtest(self) -> None:
        failed = [f for f in self.findings if f.status == "fail"]
        if failed:
            raise RuleFailed(self._describe("failed", failed, fix=True))
        for f in self.findings:
            if f.status == "warn":
                warnings.warn_explicit(VhvWarning(f"{self.rule.id} ({self._where(f)}): {f.message}"
                                                  + (f" -- fix: {f.fix}" if f.fix else "")),
                                       VhvWarning, str(self.rule_file), self._line() + 1)

    def _where(self, f: Any) -> str:
        rid = f" ({f.resource_id})" if f.resource_id and f.resource_id != f.resource_name else ""
        return f"{f.resource_name}{rid}"

    def _describe(self, what: str, findings: list[Any], fix: bool) -> str:
        r = self.rule
        lines = [f"vhv: {r.id} [{r.severity}] {what}: {r.title}"]
        for f in findings:
            lines.append(f"  {self._where(f)}: {f.message}")
            if f.expected:
                lines.append(f"    expected: {f.expected}")
            if f.actual:
                lines.append(f"    actual:   {f.actual}")
            if fix and f.fix:
                lines.append(f"    fix:      {f.fix}")
        if r.section:
            lines.append(f"  guide section: {r.section}")
        return "\n".join(lines)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if self.config.getoption("fulltrace", False):
            return super().repr_failure(excinfo, style)
        if isinstance(excinfo.value, RuleFailed):
            return excinfo.value.text
        if isinstance(excinfo.value, VhvWarning):  # -W error::validator.pytest_plugin.VhvWarning
            return f"vhv: {excinfo.value}"
        if isinstance(excinfo.value, pytest.fail.Exception):
            return super().repr_failure(excinfo, style)
        return (f"vhv: internal error in {self.rule.id}: {type(excinfo.value).__name__}: {excinfo.value} "
                "(run with --fulltrace for details)")

    def _line(self) -> int:
        return self.config.stash[STATE].line_of(self.rule_file, self.rule.id)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.rule_file, self._line(), self.name


# ------------------------------------------------------------------ fixtures for your own assertions

@pytest.fixture(scope="session")
def vhv_snapshot(pytestconfig: pytest.Config) -> Any:
    """The account as read once for this session (`validator.snapshot.Snapshot`): `.account_id`,
    `.region`, `.data`, `.errors`, `.get("security_groups")`."""
    from validator.errors import VhvError

    state = _state(pytestconfig)
    try:
        return state.snapshot()
    except VhvError as exc:
        msg = f"vhv: {exc}"
    pytest.fail(msg, pytrace=False)


@pytest.fixture(scope="session")
def vhv_findings(pytestconfig: pytest.Config) -> list[Any]:
    """Every rule's findings (`validator.engine.Finding`: rule_id, status, severity, resource_name,
    resource_id, message, expected, actual, fix) on the session's snapshot."""
    from validator.errors import VhvError

    state = _state(pytestconfig)
    try:
        state.snapshot()
        return state.all_findings()
    except VhvError as exc:
        msg = f"vhv: {exc}"
    pytest.fail(msg, pytrace=False)
