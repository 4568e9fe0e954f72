"""The session's account for the pytest plugin (validator/pytest_plugin.py): the params, rule
pack, waivers and snapshot of one pytest session, each obtained once, and the findings of each
rule with the waivers applied. Only the standard library at module level: the plugin imports
this module also in runs that do not use vhv.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from validator import bounded
from validator.aws.session import Target
from validator.errors import VhvError
from validator.snapshot import Snapshot, same_account


@dataclass(frozen=True)
class Settings:
    params: Path | None
    snapshot: Path | None = None
    waivers: Path | None = None
    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None


_CLI_OPTIONS = re.compile(r"(?<![\w-])--(profile|region|endpoint-url)\b")


def as_plugin_options(message: str) -> str:
    """A message from the readers names the CLI's options; under pytest they are --vhv-*."""
    return _CLI_OPTIONS.sub(r"--vhv-\1", message)


Key = tuple[str, str | None] | None  # an item's (resource_name, resource_id); None: all the rule's findings


class State:
    """The params, rule pack, waivers and snapshot of one pytest session, each obtained once."""

    def __init__(self, settings: Settings, shipped: dict[str, str] | None = None):
        self.settings = settings
        self.shipped = shipped
        self._prepared: tuple[Any, Any] | None = None
        self._waivers: list[Any] = []
        self._snap: Any = None
        self._read_error: str | None = None
        self._findings: dict[str, list[Any]] = {}
        self._notes: dict[str, list[tuple[Any, Any]]] = {}  # rule id -> [(waiver, its expired/unmatched note)]
        self.keys: dict[str, list[Key]] = {}  # rule id -> its items' keys, in collection order
        self._lines: dict[str, dict[str, int]] = {}

    def prepare(self) -> tuple[Any, Any]:
        """(rule pack, params), and the waivers; VhvError when the params or waivers cannot be used."""
        if self._prepared is None:
            from validator import engine, params, rulepack, waivers  # deferred: loads jsonschema, yaml

            pack = rulepack.load()
            prm = params.load(self.settings.params)
            blocked = engine.blocking_failures(pack, prm)
            if blocked:
                raise VhvError("; ".join(f.message for f in blocked))  # each names the file already
            w = self.settings.waivers
            self._waivers = waivers.combine(waivers.from_params(prm, pack), waivers.load(w, pack) if w else [])
            self._prepared = pack, prm
        return self._prepared

    def snapshot(self) -> Any:
        """The account, read (or loaded) once; the same VhvError on every call when that failed."""

        if self._snap is None and self._read_error is None:
            try:
                self._snap = self._obtain()
            except VhvError as exc:
                self._read_error = as_plugin_options(str(exc))
            except Exception as exc:  # noqa: BLE001 -- a reader bug must read as an error, never a traceback
                self._read_error = f"internal error while reading the account: {type(exc).__name__}: {exc}"
        if self._read_error is not None:
            raise VhvError(self._read_error)
        return self._snap

    def _obtain(self) -> Any:

        _pack, prm = self.prepare()
        s = self.settings
        if self.shipped is not None:
            if "error" in self.shipped:
                raise VhvError(self.shipped["error"])
            snap = Snapshot.from_dict(
                json.loads(self.shipped["snapshot"]), source="the snapshot read by the controller"
            )
        elif s.snapshot is not None:
            snap = Snapshot.load(s.snapshot)
        else:
            from validator.aws.account import read  # deferred: loads yaml

            snap, _calls = read(prm, Target(profile=s.profile, region=s.region, endpoint_url=s.endpoint_url))
        same_account(snap, prm, str(s.snapshot) if s.snapshot else None, s.region)
        return snap

    def _readable(self) -> Any:
        """The account for the params rules that compare a value with it (the AssumeRole ARN's
        account); None when it cannot be read: they say so, and the other params rules need none."""
        try:
            return self.snapshot()
        except VhvError:
            return None

    def findings_of(self, rule: Any) -> list[Any]:
        """The rule's findings, with the waivers applied by `validator.waivers.apply` as `vhv check`
        applies them (a waiver covers only its own rule: applying a rule's waivers to its own
        findings gives what applying all of them to all findings gives)."""
        if rule.id not in self._findings:
            from validator import waivers  # deferred: loads jsonschema, yaml
            from validator.engine import evaluate_rule  # deferred: loads yaml

            _pack, prm = self.prepare()
            snap = self._readable() if rule.resource == "params" else self.snapshot()
            mine = [w for w in self._waivers if w.rule == rule.id]
            applied = waivers.apply(evaluate_rule(rule, prm, snap), mine)
            by_entry = {(w.source, w.pointer): w for w in mine}
            self._findings[rule.id] = [f for f in applied if f.rule_id == rule.id]
            self._notes[rule.id] = [(by_entry[(f.file, f.pointer)], f) for f in applied if f.rule_id != rule.id]
        return self._findings[rule.id]

    def all_findings(self) -> list[Any]:
        """Every finding and waiver note, as `vhv check --format json` lists them."""
        pack, _prm = self.prepare()
        found = [f for rule in pack.rules for f in self.findings_of(rule)]
        return found + [note for rule in pack.rules for _w, note in self._notes[rule.id]]

    def keys_of(self, rule: Any) -> list[Key]:
        """The rule's items: one (None) for a rule about one resource of the guide; for a rule that
        judges each of several resources (the subnets), one per resource it has findings on, from
        the account read now; one (None, which errors) when the account cannot be read."""
        from validator.kinds import KINDS  # deferred: loads yaml

        keys: list[Key] = [None]
        if KINDS[rule.resource].many:
            try:
                found = list(dict.fromkeys((f.resource_name, f.resource_id) for f in self.findings_of(rule)))
            except VhvError:
                found = []
            if any(rid for _name, rid in found):
                keys = found
        self.keys[rule.id] = keys
        return keys

    def notes_for(self, rule: Any, key: Key) -> list[Any]:
        """The notes (expired, unmatched) of the rule's waivers that concern the item `key`: the
        items whose resource the waiver names (every item for "*"), else the rule's first item."""
        from validator.waivers import ALL  # deferred: loads jsonschema, yaml

        keys = self.keys.get(rule.id) or [key]
        out = []
        for w, note in self._notes.get(rule.id, []):
            named = [k for k in keys if k is None or w.resource == ALL or w.resource in k]
            if key in named or (not named and key == keys[0]):
                out.append(note)
        return out

    def line_of(self, path: Path, rule_id: str) -> int:
        """0-based line of `- id: <rule_id>` in its rule file (0 when not found)."""
        key = str(path)
        if key not in self._lines:
            lines: dict[str, int] = {}
            for n, text in enumerate((bounded.reread_text(path) or "").splitlines()):  # a pipe: read once
                m = re.match(r"\s*-?\s*id:\s*['\"]?([\w.-]+)", text)
                if m:
                    lines.setdefault(m.group(1), n)
            self._lines[key] = lines
        return self._lines[key].get(rule_id, 0)
