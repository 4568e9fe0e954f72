"""Which of Valohai's recipes the account looks built with, when the params do not say.

Each recipe's telltales are data (rules/catalogue.yaml `recipes.*.telltales`): tags whose key
starts so on any resource read (CloudFormation's aws:cloudformation:stack-name), route tables of
the guide's VPC named so (its numbered route tables), the guide's policies written inline in their roles
with no managed policy of that name. Nothing is guessed silently: what was seen is said, with the
params line that tells vhv; the check itself goes on as the params say.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from validator.checks import SKIP, Outcome, evaluator, ok, warn
from validator.checks.context import Context
from validator.kinds import GUIDE, KINDS, RECIPES, inline_guide_policy, params_value
from validator.snapshot import Undecidable


def _items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [v for v in value.values() if isinstance(v, dict)]
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _stack_tags(ctx: Context, prefixes: list[str]) -> list[str]:
    """'KEY=VALUE on NAME' for each tag of a resource read whose key starts with one of `prefixes`."""
    seen = []
    for key, value in sorted(ctx.snap.data.items()):
        for item in _items(value):
            for tag, val in (item.get("tags") or {}).items():
                if any(tag.startswith(p) for p in prefixes):
                    seen.append(f"{tag}={val} on {item.get('name') or item.get('id') or key}")
    return seen


def _inline_policies(ctx: Context) -> list[str]:
    """The guide's policies that are inline in their roles while no managed policy has their name."""
    out = []
    for role_kind in ("worker_role", "master_role"):
        kind = KINDS[role_kind]
        policy = KINDS[kind.policy] if kind.policy else None
        if policy is None or inline_guide_policy(role_kind):
            continue
        try:
            role = ctx.data(kind.path)
            managed = ctx.data(policy.path)
        except Undecidable:
            continue
        if role and managed is None and policy.name in (role.get("inline_policies") or []):
            out.append(f"{policy.name} is an inline policy of {kind.name}, and no managed policy has its name")
    return out


def _route_tables(ctx: Context) -> list[dict[str, Any]]:
    try:
        return ctx.data(KINDS["route_table"].snapshot) or []
    except Undecidable:
        return []


def _tables(tables: list[dict[str, Any]], globs: list[str]) -> list[str]:
    return sorted({t["name"] for t in tables if t.get("name") and any(fnmatchcase(t["name"], g) for g in globs)})


def _unnamed_main(tables: list[dict[str, Any]]) -> list[str]:
    return [f"the main route table {t['id']} is unnamed" for t in tables if t.get("main") and not t.get("name")]


@evaluator("recipe_parts_named")
def recipe_parts_named(ctx: Context) -> list[Outcome]:
    """What the params' recipe makes that vhv checks only when the params name it (its data bucket, its
    multipart role) is named: otherwise its rules skip, and a grant widened there goes unseen."""
    recipe = RECIPES.get(ctx.params.get("built_with"))
    if recipe is None:
        return [ok("the guide's own steps: the data store is named in the params when there is one", "", "")]
    lacking = [
        f"{what} (data store key {key})" for key, what in recipe.makes.items() if not params_value(ctx.params, key)
    ]
    if not lacking:
        return [ok(f"the params name what {recipe.title} makes for the data store", "named", "named")]
    return [
        warn(
            f"{recipe.title} makes {'; '.join(lacking)}, which the params do not name: vhv does not check "
            "it (its rules skip); name it in the params' data_store section",
            "named in the params",
            "; ".join(lacking),
        )
    ]


@evaluator("built_with_telltales")
def built_with_telltales(ctx: Context) -> list[Outcome]:
    """Where the params say the guide built the account: nothing in it looks built by one of
    Valohai's recipes (the recipes' telltales in the catalogue). Where it does, a warning names what
    was seen and the params line that judges the account as that recipe builds it."""
    if ctx.snap is None:  # the params alone (their blocking rules): nothing to compare yet
        return [Outcome(SKIP, "the account was not read: nothing to tell the recipe by")]
    said = ctx.params.get("built_with")
    if said != GUIDE:
        return [ok(f"the params say built_with: {said}", f"built_with: {said}", f"built_with: {said}")]
    inline = _inline_policies(ctx)
    tables = _route_tables(ctx)
    found = []
    for recipe in RECIPES.values():
        t = recipe.telltales
        seen = _stack_tags(ctx, t.get("tag_key_prefixes", []))[:3]
        seen += [f"route table {n}" for n in _tables(tables, t.get("route_table_names", []))]
        if t.get("inline_guide_policies"):
            seen += inline
        if t.get("unnamed_main_route_table") and seen:  # alone it says nothing: a guide account may not name it
            seen += _unnamed_main(tables)
        if seen:
            found.append((len(seen), recipe, seen))
    if not found:
        return [ok("nothing in the account looks built by one of Valohai's recipes", "built_with: guide", "guide")]
    found.sort(key=lambda x: -x[0])
    best = found[0][0]
    likely = [(r, seen) for n, r, seen in found if n == best]
    names = " or ".join(f"{r.title} (built_with: {r.key})" for r, _ in likely)
    why = "; ".join(dict.fromkeys(s for _, seen in likely for s in seen))
    return [
        warn(
            f"the account looks built with {names}: {why}. The params say the guide's own steps (no built_with), "
            f"so what the recipe makes differently fails here in form; set built_with: "
            f"{' or '.join(r.key for r, _ in likely)} in the params to judge it as the recipe builds it",
            "built_with: guide, and an account the guide's steps built",
            f"looks like {', '.join(r.key for r, _ in likely)}",
        )
    ]
