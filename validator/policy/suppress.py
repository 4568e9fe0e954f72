"""Lint suppressions from `.vhv.yaml`: check ids to ignore per file, each with a reason.

    lint:
      ignore:
        - file: policies/master.json     # path or glob, relative to .vhv.yaml; omit for every file
          rules: [lint-forallvalues-single-valued]
          reason: the guide's own condition; Valohai tags every resource it creates

Ids are validated when the file is read, not when a finding is reported.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from validator.errors import VhvError
from validator.policy.lintmodel import docs

DEFAULT = ".vhv.yaml"


@dataclass(frozen=True)
class Suppression:
    pattern: str | None
    rules: frozenset[str]
    reason: str


@dataclass(frozen=True)
class Suppressions:
    base: Path
    entries: tuple[Suppression, ...] = ()

    def for_file(self, path: str) -> set[str]:
        names = {path}
        if path != "-":
            p = Path(path)
            try:
                names.add(p.resolve().relative_to(self.base.resolve()).as_posix())
            except ValueError:
                pass
            names.add(p.as_posix())
        return {
            r
            for e in self.entries
            if e.pattern is None or any(fnmatch.fnmatch(n, e.pattern) for n in names)
            for r in e.rules
        }


def load(path: str | None) -> Suppressions:
    """`path`, or ./.vhv.yaml when it exists, or nothing."""
    import yaml  # deferred: loads yaml

    from validator import bounded  # deferred: loads yaml

    if path is None:
        if not Path(DEFAULT).is_file():
            return Suppressions(Path("."))
        path = DEFAULT
    p = Path(path)
    try:
        data = bounded.check(bounded.load_yaml(bounded.read_text(p, "lint config", 1_000_000)), str(path)) or {}
    except yaml.YAMLError as exc:
        where, problem = bounded.yaml_problem(exc)
        raise VhvError(f"{path}{where}: not valid YAML: {problem}") from None
    except RecursionError:
        raise VhvError(f"{path}: YAML nested too deeply") from None
    lint = data.get("lint", {}) if isinstance(data, dict) else None
    raw = lint.get("ignore", []) if isinstance(lint, dict) else None
    if not isinstance(raw, list):
        raise VhvError(f"{path}: expected `lint: ignore: [...]`")
    known = docs()
    entries = []
    for i, e in enumerate(raw, 1):
        if not isinstance(e, dict):
            raise VhvError(f"{path}: lint.ignore #{i} must be a mapping with rules and reason")
        rules = e.get("rules")
        rules = [rules] if isinstance(rules, str) else rules
        if not rules or not isinstance(rules, list):
            raise VhvError(f"{path}: lint.ignore #{i} has no `rules`")
        unknown = [r for r in rules if not isinstance(r, str) or r not in known]
        if unknown:
            raise VhvError(
                f"{path}: lint.ignore #{i}: unknown lint check(s) {', '.join(map(str, unknown))} "
                "(see `vhv rules --lint`)"
            )
        reason = e.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            raise VhvError(f"{path}: lint.ignore #{i} needs a `reason` (why this is safe to ignore)")
        entries.append(Suppression(e.get("file"), frozenset(rules), reason.strip()))
    return Suppressions(p.parent, tuple(entries))
