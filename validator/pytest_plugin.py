"""pytest plugin (pytest11 entry point `vhv`): the account's compliance as test items.

Inactive until asked: ``pytest --vhv-params params.yaml`` (or ``vhv_params`` in the
ini file / ``[tool.pytest.ini_options]``). Only pytest, the standard library and
`validator.pytest_state` (the session's account, standard library only) are imported
here at module level, so a pytest run that does not use vhv imports neither boto3,
moto, jsonschema nor the rule pack.

When active, every rule and resource it judges is one item,
``vhv::test_vhv[<resource>::<rule id>]``, marked ``vhv``, with its severity
(``critical`` ... ``info``) and its resource type (``security_group``, ``role``,
``managed_policy``, ``subnet``, ...). A rule about one resource of the guide is one item
named as the guide names it (the catalogue's name of its kind, such as the queue's security
group), whatever the account holds; a rule that judges each of several resources (the
guide's subnets, kind ``subnets``) is one item per resource it found, named by the
resource's Name tag (the second subnet's name; its id, e.g. ``subnet-0abc``, is a ``-k``
keyword too). When the account cannot be read, such a rule is one item named as the guide
names the kind (the subnets' name pattern), which errors.

When the account is read: once per session, at collection (the subnets decide the
items). Under xdist the controller reads it once and ships the snapshot to the workers,
so every worker collects the same items. ``--vhv-snapshot`` reads nothing.

Waivers (``--vhv-waivers FILE`` / ``vhv_waivers`` and the params' ``waivers:``) are
`validator.waivers`, applied as ``vhv check --waivers`` applies them: checked at
collection, a waived item is a skip whose reason has the justification and the expiry;
an expired waiver is ignored (the item fails) and warned; an ``error`` is never waived.

Outcomes: ``pass`` passes; ``fail`` fails with expected, actual and the fix (no
traceback); ``error`` (could not be decided) is a pytest error; ``skip`` skips with the
reason; ``warn`` passes with a `VhvWarning`. Bad params or waivers are a collection
error; an account that cannot be read makes every item that needs it an error.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from validator.errors import VhvError
from validator.findings import SEVERITIES
from validator.pytest_state import Key, Settings, State

SETTINGS = ("params", "snapshot", "waivers", "profile", "region", "endpoint_url")
PATH_SETTINGS = ("params", "snapshot", "waivers")
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
    group.addoption(
        "--vhv-params",
        metavar="FILE",
        help="the params YAML file (`vhv init`); turns the vhv plugin on: one test item per rule",
    )
    group.addoption(
        "--vhv-snapshot",
        metavar="FILE",
        help="check a saved snapshot (`vhv snapshot`) offline instead of reading the account",
    )
    group.addoption(
        "--vhv-waivers",
        metavar="FILE",
        help="accepted failures, each with a justification and an "
        "expiry date (as `vhv check --waivers`); adds to the params' `waivers:`",
    )
    group.addoption("--vhv-profile", metavar="NAME", help="AWS profile (default: AWS_PROFILE or the credential chain)")
    group.addoption("--vhv-region", metavar="REGION", help="AWS region (default: the params' region)")
    group.addoption("--vhv-endpoint-url", metavar="URL", help="AWS endpoint (default: AWS_ENDPOINT_URL)")
    helps = {
        "params": "vhv params file (relative to the ini file); turns the vhv plugin on",
        "snapshot": "vhv snapshot file to check offline (relative to the ini file)",
        "waivers": "vhv waiver file (relative to the ini file), as `vhv check --waivers`",
        "profile": "AWS profile for vhv",
        "region": "AWS region for vhv",
        "endpoint_url": "AWS endpoint for vhv",
    }
    for name in SETTINGS:
        parser.addini(f"vhv_{name}", helps[name], default="")


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


STATE = pytest.StashKey[State]()


def pytest_configure(config: pytest.Config) -> None:
    settings = _settings(config)
    if settings.params is None:
        given = [f"--vhv-{n.replace('_', '-')}" for n in SETTINGS[1:] if config.getoption(f"vhv_{n}")]
        if given:
            raise pytest.UsageError(f"vhv: {', '.join(given)} needs --vhv-params FILE (or vhv_params in the ini file)")
        return
    from validator.kinds import KINDS  # deferred: loads yaml

    state = State(settings, getattr(config, "workerinput", {}).get("vhv"))
    config.stash[STATE] = state
    config.addinivalue_line("markers", "vhv: a rule of vhv (the AWS account for Valohai private workers)")
    for sev in SEVERITIES:
        config.addinivalue_line("markers", f"{sev}: a vhv rule of severity {sev}")
    for kind in sorted({k.aws_type for k in KINDS.values()}):
        config.addinivalue_line("markers", f"{marker_of(kind)}: vhv rules about {kind}")
    is_controller = not hasattr(config, "workerinput")
    if is_controller and settings.snapshot is None and config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistController(state), "vhv-xdist-controller")


class _XdistController:
    """Under xdist the account is read once, by the controller, and shipped to each worker
    (in workerinput, as the snapshot's JSON), instead of once per worker."""

    def __init__(self, state: State):
        self.state = state
        self.shipment: dict[str, str] | None = None

    def pytest_configure_node(self, node: Any) -> None:
        if self.shipment is None:
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
    waived = f", waivers {s.waivers}" if s.waivers else ""
    return [f"vhv: params {s.params}{waived}, checking {where}"]


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
    """The rule pack as a collector: one RuleItem per rule and resource. Fails collection on bad
    params or waivers."""

    def collect(self) -> list[pytest.Item]:

        state = self.config.stash[STATE]
        try:
            pack, prm = state.prepare()
            keys = {rule.id: state.keys_of(rule) for rule in pack.rules}
        except VhvError as exc:
            raise self.CollectError(f"vhv: {exc}") from None
        except Exception as exc:  # noqa: BLE001
            raise self.CollectError(f"vhv: internal error: {type(exc).__name__}: {exc}") from None
        from validator.rulepack import default_dir  # deferred: loads yaml

        rules_dir = default_dir()
        return [
            RuleItem.from_parent(
                self, name=f"test_vhv[{label}::{rule.id}]", rule=rule, key=key, rule_file=rules_dir / rule.source
            )
            for rule in pack.rules
            for key, label in zip(keys[rule.id], _labels(rule, keys[rule.id], prm))
        ]

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, COLLECTOR


def _labels(rule: Any, keys: list[Key], params: Any) -> list[str]:
    """How each item names its resource: the guide's name (or the params', for the data store's
    bucket), or the resource's own (Name tag); its id when two resources share a name."""
    from validator.kinds import KINDS  # deferred: loads yaml

    own = KINDS[rule.resource].named(params) or rule.resource_name
    names = [own if k is None else (k[0] or k[1] or own) for k in keys]
    return [k[1] if k is not None and k[1] and names.count(n) > 1 else n for k, n in zip(keys, names)]


def _waiver_at(f: Any) -> str:
    """Where the waiver that turned `f` into a skip is written (` [waivers.yaml:3]`), for a skip reason."""
    if not f.waived:
        return ""
    line = f.waived.get("line")
    return f" [waiver at {f.waived['source']}{f':{line}' if line else ''}]"


class RuleItem(pytest.Item):
    """One rule on one resource (key; None: the rule as a whole), evaluated against the session's snapshot."""

    def __init__(self, *, rule: Any, rule_file: Path, key: Key = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.rule = rule
        self.rule_file = rule_file
        self.key = key
        for name in ("vhv", rule.severity, marker_of(rule.resource_type)):
            self.add_marker(name)
        if key is not None and key[1]:
            self.extra_keyword_matches.add(key[1])  # -k subnet-0abc...
        self.findings: list[Any] = []
        self.notes: list[Any] = []

    def setup(self) -> None:
        """Evaluate the rule; `error` and `skip` (also a waived failure) are decided here, so an
        error is a pytest error."""

        state = self.config.stash[STATE]
        problem = None
        try:
            found = state.findings_of(self.rule)
        except VhvError as exc:
            problem = f"vhv: {self.rule.id} could not be checked: {exc}"
        if problem is not None:
            raise pytest.fail.Exception(problem, pytrace=False)
        self.findings = [f for f in found if self.key is None or (f.resource_name, f.resource_id) == self.key]
        self.notes = state.notes_for(self.rule, self.key)
        statuses = {f.status for f in self.findings}
        if "error" in statuses:
            bad = [f for f in self.findings if f.status == "error"]
            raise pytest.fail.Exception(self._describe("could not be decided", bad, fix=False), pytrace=False)
        for note in self.notes:  # an expired waiver, or one that matches no failure: at the waiver's line
            warnings.warn_explicit(
                VhvWarning(f"{note.message} -- fix: {note.fix}"), VhvWarning, str(note.file), note.line or 1
            )
        waived = [f for f in self.findings if f.waived]
        if "fail" not in statuses and (waived or statuses == {"skip"}):
            self._warn_findings()
            reasons = list(dict.fromkeys(f.message + _waiver_at(f) for f in (waived or self.findings)))
            raise pytest.skip.Exception(f"vhv: {self.rule.id}: " + "; ".join(reasons), _use_item_location=True)

    def runtest(self) -> None:
        failed = [f for f in self.findings if f.status == "fail"]
        if failed:
            raise RuleFailed(self._describe("failed", failed, fix=True))
        self._warn_findings()

    def _warn_findings(self) -> None:
        for f in self.findings:
            if f.status == "warn":
                warnings.warn_explicit(
                    VhvWarning(
                        f"{self.rule.id} ({self._where(f)}): {f.message}" + (f" -- fix: {f.fix}" if f.fix else "")
                    ),
                    VhvWarning,
                    str(self.rule_file),
                    self._line() + 1,
                )

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
        lines += [f"  {note.message}" for note in self.notes]
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
        return (
            f"vhv: internal error in {self.rule.id}: {type(excinfo.value).__name__}: {excinfo.value} "
            "(run with --fulltrace for details)"
        )

    def _line(self) -> int:
        return self.config.stash[STATE].line_of(self.rule_file, self.rule.id)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.rule_file, self._line(), self.name


# ------------------------------------------------------------------ fixtures for your own assertions


@pytest.fixture(scope="session")
def vhv_snapshot(pytestconfig: pytest.Config) -> Any:
    """The account as read once for this session (`validator.snapshot.Snapshot`): `.account_id`,
    `.region`, `.data`, `.errors`, `.get("security_groups")`."""

    state = _state(pytestconfig)
    try:
        return state.snapshot()
    except VhvError as exc:
        msg = f"vhv: {exc}"
    pytest.fail(msg, pytrace=False)


@pytest.fixture(scope="session")
def vhv_findings(pytestconfig: pytest.Config) -> list[Any]:
    """Every rule's findings (`validator.findings.Finding`: rule_id, status, severity, resource_name,
    resource_id, message, expected, actual, fix, waived) on the session's snapshot, with the waivers
    applied, as `vhv check --format json` lists them (a waived one is `skip` with `.waived`; an
    expired or unmatched waiver adds a `warn` finding)."""

    state = _state(pytestconfig)
    try:
        state.snapshot()
        return state.all_findings()
    except VhvError as exc:
        msg = f"vhv: {exc}"
    pytest.fail(msg, pytrace=False)
