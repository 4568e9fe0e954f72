"""rules/*.yaml -> a validated RulePack.

Validation happens here, at load time: the file structure against
rules/schema.json, each rule (after its file's defaults) for the fields every
rule needs, its `resource` and `evaluator` against what exists, its `when` against
the params' keys and values (validator/params.py), its `fixer` against `fixable`, and
its `args` against the evaluator's own schema. A broken pack is exit 2 naming the file
and the offending key; it never surfaces as a wrong finding later. Whether the fix a
rule names exists is remediate's check (validator.fixers.planner): the fixers sit above.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from validator import bounded, params
from validator.checks import load_all
from validator.errors import VhvError
from validator.kinds import BUILT_WITH, CATALOGUE, KINDS

if TYPE_CHECKING:  # imported by load(): `vhv lint` and never loads a pack
    import jsonschema

REQUIRED_AFTER_DEFAULTS = ("severity", "section", "resource", "fixable")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    title: str
    section: str
    resource: str
    evaluator: str
    fix: str
    fixable: bool
    fixer: str = ""  # the fix remediate takes (validator.fixers), named in the YAML; "" for none
    args: dict[str, Any] = field(default_factory=dict)
    when: dict[str, str] = field(default_factory=dict)
    on_fail: str = "fail"
    wider: bool = False
    fixed_with: tuple[str, ...] = ()
    blocking: bool = False
    description: str = ""
    explained_by: tuple[str, ...] = ()  # rules that say what to change when this one fails (a path's hops)
    fix_after: tuple[str, ...] = ()  # rules that judge what its fix writes: while one fails or warns, no fix
    built_with: tuple[str, ...] = ()  # the recipes it applies to (params built_with); () for every one
    source: str = ""

    @property
    def resource_type(self) -> str:
        return KINDS[self.resource].aws_type

    @property
    def resource_name(self) -> str:
        return KINDS[self.resource].name


@dataclass(frozen=True)
class RulePack:
    rules: tuple[Rule, ...]

    def by_id(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def default_dir() -> Path:
    return Path(str(resources.files("validator.rules")))


@lru_cache(maxsize=1)
def file_schema() -> dict[str, Any]:
    return json.loads((default_dir() / "schema.json").read_text())


def _message(err: jsonschema.ValidationError, doc: Any) -> str:
    """jsonschema's message, made to name the rule and the offending key."""
    path = list(err.absolute_path)
    where = _where(err) or "top level"
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rid = (doc["rules"][path[1]] or {}).get("id") if isinstance(doc["rules"][path[1]], dict) else None
        if rid:
            where = f"rules[{path[1]}] ({rid})" + where[len(f"rules[{path[1]}]") :]
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = set(err.schema.get("properties", {}))
        extra = sorted(k for k in err.instance if k not in allowed and not str(k).startswith("x-"))
        return f"{where}: unknown key {', '.join(map(repr, extra))} (allowed: {', '.join(sorted(allowed))})"
    if err.validator == "required":
        return f"{where}: {err.message.replace(' is a required property', '')} is missing (a required key)"
    return f"{where}: {err.message[:300]}"


def _where(err: jsonschema.ValidationError) -> str:
    return ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err.absolute_path).replace(".[", "[")


def pack_files(d: Path) -> list[Path]:
    """The rule pack files of `d`: its YAML files but the catalogue of resources beside them."""
    return sorted(f for f in d.glob("*.yaml") if f.name != CATALOGUE)


def load(directory: str | Path | None = None) -> RulePack:
    import jsonschema  # deferred: loads jsonschema

    registry = load_all()
    d = Path(directory) if directory else default_dir()
    files = pack_files(d)
    if not files:
        raise VhvError(f"{d}: no rule files (*.yaml)")
    schema = file_schema()
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for f in files:
        try:
            doc = bounded.check(bounded.load_yaml(bounded.read_text(f, "rule file", 1_000_000)), str(f))
        except (yaml.YAMLError, RecursionError) as exc:
            where, why = bounded.yaml_problem(exc)
            raise VhvError(f"{f}{where}: not valid YAML: {why}") from None
        if not isinstance(doc, dict):
            raise VhvError(f"{f}: top level must be a mapping with a `rules:` list, got {type(doc).__name__}")
        errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            raise VhvError(f"{f}: {_message(errors[0], doc)}")
        defaults = doc.get("defaults", {})
        for i, raw in enumerate(doc["rules"]):
            r = {**defaults, **raw}
            where = f"{f}: rules[{i}] ({r['id']})"
            for key in REQUIRED_AFTER_DEFAULTS:
                if key not in r:
                    raise VhvError(f"{where}: missing key {key!r}")
            if r["id"] in seen:
                raise VhvError(f"{where}: id {r['id']!r} is already used in {seen[r['id']]}")
            seen[r["id"]] = str(f.name)
            if r["resource"] not in KINDS:
                raise VhvError(f"{where}: resource {r['resource']!r} is not one of {', '.join(KINDS)}")
            if r.get("fixable") and not r.get("fixer"):  # reports would call it fixable; remediate could not
                raise VhvError(f"{where}: fixable: true needs the fix remediate takes (fixer:), or fixable: false")
            if r.get("fixer") and not r["fixable"]:  # remediate would fix what `vhv rules` calls unfixable
                raise VhvError(f"{where}: fixer {r['fixer']!r} on a rule that is not fixable (fixable: false)")
            problem = params.when_problem(r.get("when") or {})
            if problem:  # `provisioning: selff` would skip the rule forever, silently
                raise VhvError(f"{where}: {problem}" + ("" if "when" in raw else " (the file's defaults.when)"))
            ev = registry.get(r["evaluator"])
            if ev is None:
                raise VhvError(
                    f"{where}: evaluator {r['evaluator']!r} does not exist (known: {', '.join(sorted(registry))})"
                )
            arg_errors = list(jsonschema.Draft202012Validator(ev.schema).iter_errors(r.get("args", {})))
            if arg_errors:
                e = arg_errors[0]
                path = _where(e)
                raise VhvError(f"{where}: args{'.' + path if path else ''}: {e.message}")
            for path, when in _whens(r.get("args", {}), "args"):  # a security group rule's own when:
                problem = params.when_problem(when)
                if problem:
                    raise VhvError(f"{where}: {path}.{problem}")
            stray = [b for b in r.get("built_with") or () if b not in BUILT_WITH]
            if stray:  # a recipe that does not exist would skip the rule forever
                raise VhvError(f"{where}: built_with: {stray[0]!r} is no recipe (known: {', '.join(BUILT_WITH)})")
            r["explained_by"] = tuple(r.get("explained_by") or ())
            r["fix_after"] = tuple(r.get("fix_after") or ())
            made = KINDS[r["resource"]].built_with  # a kind only Valohai's recipes make: so are its rules
            beyond = [b for b in r.get("built_with") or () if made and b not in made]
            if beyond:
                raise VhvError(
                    f"{where}: built_with: {beyond[0]!r} does not make {r['resource']} (only {', '.join(made)})"
                )
            r["built_with"] = tuple(r.get("built_with") or made)
            rules.append(Rule(**{k: tuple(v) if k == "fixed_with" else v for k, v in r.items()}, source=f.name))
    for rule in rules:
        for key, named in (
            ("explained_by", rule.explained_by),
            ("fixed_with", rule.fixed_with),
            ("fix_after", rule.fix_after),
        ):
            unknown = [x for x in named if x not in seen]
            if unknown:
                raise VhvError(
                    f"{d / rule.source}: rule {rule.id}: {key} names no rule of the pack: {', '.join(unknown)}"
                )
    return RulePack(tuple(rules))


def _whens(node: Any, path: str) -> Any:
    """(path, when) for each `when:` inside a rule's args (its schema let only an object through)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "when" and isinstance(v, dict):
                yield path, v
            else:
                yield from _whens(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _whens(v, f"{path}[{i}]")
