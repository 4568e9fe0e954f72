"""The guide's resources, declared once: rules/catalogue.yaml, read and checked here.

A kind is one resource of the guide (the VPC, ValohaiMaster, the queue's security group): its
name, how the name is matched and the one the rules judge is picked, where the readers put it
in the snapshot, which reader fills it and which fixer writes it, with the IAM actions of each.
The catalogue is data (YAML, beside the rule packs) so that a new kind, or another recipe's
names for the same kinds, is a few lines there, checked against rules/catalogue.schema.json
when vhv starts. This module holds no names of its own; everything that needs one asks here.

The catalogue is always the one installed with vhv: `--rules DIR` swaps the rule packs, not the
resources they are about.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, copy_context
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from validator import bounded, shape
from validator.errors import VhvError

CATALOGUE = "catalogue.yaml"
SCHEMA = "catalogue.schema.json"
# an IAM kind the guide names is kept in the snapshot in a map by its name, and picked by it (one the
# params name, in a list: pick all)
IAM_MATCHES = ("role-name", "policy-name", "instance-profile-name", "user-name")
# a name the customer chooses and records in the params: {data_store.bucket}
PARAMS_NAME = re.compile(r"\{([a-z_]+(?:\.[a-z_]+)*)\}")


@dataclass(frozen=True)
class Kind:
    key: str
    title: str
    aws_type: str
    name: str  # the name the guide gives it (a glob for the subnets), or {params.key}
    match: str  # how that name is matched (catalogue.schema.json: match)
    pick: str  # how the one the rules judge is picked among those found
    section: str = ""
    description: str = ""
    snapshot: str = ""  # the data key the readers put it under
    many: bool = False
    missing_rule: str = ""  # the rule that fails when it does not exist
    reader: str = ""
    read_for: str = "check"
    read_actions: tuple[str, ...] = ()
    fix_read_actions: tuple[str, ...] = ()
    conditional_reads: tuple[str, ...] = ()  # of read_actions: made only when there is what they read
    fixer: str = ""
    fix_actions: tuple[str, ...] = ()
    tag_type: str = ""
    in_vpc: bool = False
    in_vpc_rule: str = ""  # the rule that fails when one of it is outside the guide's VPC
    one_of: bool = False
    numbered: str = ""
    profile: str = ""
    policy: str = ""  # the kind of the guide's managed policy for this role (read by that kind)
    inline_in: str = ""  # a policy kind that is an inline policy of this role kind (a recipe's form)
    provisioning: str = ""  # the params' provisioning it exists under ("" always)
    built_with: tuple[str, ...] = ()  # the recipes that make it where the guide does not (() every one)
    user_data: bool = False  # an instance kind: its user data is read for secrets written into it
    looked_for: str = "in account {account_id}"  # where the missing rule says it looked
    name_from: str = ""  # "arn": the params' value is an ARN, the name its last path segment

    @property
    def path(self) -> str:
        """Where the one of this name is in the snapshot: `roles.ValohaiMaster` for a kind kept in a
        map by name, the list's key (`vpcs`) otherwise."""
        return f"{self.snapshot}.{self.name}" if self.pick == "by-name" else self.snapshot

    @property
    def params_key(self) -> str:
        """The dotted params key whose value names it (data_store.bucket), or "" when the guide
        names it."""
        m = PARAMS_NAME.fullmatch(self.name)
        return m.group(1) if m else ""

    def named(self, params: Any) -> str | None:
        """Its name under `params`: the guide's, or the params' value at `params_key` (with
        `name_from: arn`, the last segment of that ARN: role/team/x is x); None when the params give
        none (the kind is then not read, and its rules skip)."""
        if not self.params_key:
            return self.name
        value = params_value(params, self.params_key)
        if value and self.name_from == "arn":
            return value.split(":", 5)[-1].rsplit("/", 1)[-1] or None
        return value

    @property
    def asked_by(self) -> str:
        """Whose statements it is held to in messages: the guide's, or the recipe's that makes it."""
        return "the recipe" if self.built_with else "the guide"

    def made_by(self, recipe: str) -> bool:
        """Whether an account `recipe` built has it (ValohaiQueueRole: Valohai's recipes, not the guide)."""
        return not self.built_with or recipe in self.built_with

    def nth(self, n: int) -> str:
        """The name of the n-th of this kind vhv creates (valohai-subnet-3)."""
        return self.numbered.replace("{n}", str(n)) if self.numbered else self.name


@dataclass(frozen=True)
class Values:
    tag_key: str
    tag_value: str
    valohai_ssh_cidr: str
    valohai_app_cidr: str
    canonical_owner: str
    live_states: tuple[str, ...]
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def tag(self) -> dict[str, str]:
        """The guide's tag as AWS writes one: {"Key": "valohai", "Value": "1"}."""
        return {"Key": self.tag_key, "Value": self.tag_value}


@dataclass(frozen=True)
class Recipe:
    """One of Valohai's own ways of building the guide's setup (its CloudFormation template, its
    Terraform module): what it names or shapes differently, as fields of the guide's kinds."""

    key: str
    title: str
    source: str
    change: str  # how a resource it owns is changed: in its template or module, not in the account
    kinds: dict[str, dict[str, Any]] = field(default_factory=dict)
    telltales: dict[str, Any] = field(default_factory=dict)  # what an account it built shows
    makes: dict[str, str] = field(default_factory=dict)  # params key -> what it makes that the params name


GUIDE = "guide"  # the setup guide itself: the catalogue's kinds as declared


def directory() -> Path:
    return Path(str(resources.files("validator.rules")))


def _problems(doc: dict[str, Any]) -> list[str]:
    """What the schema cannot say: the parts of the catalogue that must agree with each other."""
    out = []
    for key, k in doc["kinds"].items():
        where = f"kinds.{key}"
        if k["pick"] != "none" and not k.get("snapshot"):
            out.append(f"{where}: a kind that is picked from the snapshot needs `snapshot`")
        params_named = PARAMS_NAME.fullmatch(k["name"])
        if not params_named and (k["pick"] == "by-name") != (k["match"] in IAM_MATCHES):
            out.append(f"{where}: pick {k['pick']!r} does not go with match {k['match']!r}")
        if k.get("reader") and not k.get("read_actions"):
            out.append(f"{where}: reader {k['reader']!r} without the read_actions it calls")
        stray = [a for a in k.get("conditional_reads", []) if a not in k.get("read_actions", [])]
        if stray:
            out.append(f"{where}: conditional_reads {stray[0]!r} is not one of its read_actions")
        if k.get("fixer") and not k.get("fix_actions"):
            out.append(f"{where}: fixer {k['fixer']!r} without the fix_actions it calls")
        if k.get("in_vpc_rule") and not k.get("in_vpc"):
            out.append(f"{where}: in_vpc_rule for a kind that is not in the VPC (in_vpc)")
        if k.get("profile") and k["profile"] not in doc["kinds"]:
            out.append(f"{where}: profile {k['profile']!r} is not a kind")
        if k.get("policy") and k["policy"] not in doc["kinds"]:
            out.append(f"{where}: policy {k['policy']!r} is not a kind")
        inline_in = k.get("inline_in")
        if inline_in and doc["kinds"].get(inline_in, {}).get("match") != "role-name":
            out.append(f"{where}: inline_in {inline_in!r} is not a role kind")
        if params_named and k["pick"] != "all":
            out.append(f"{where}: a kind the params name is kept in a list (pick: all), not a map by name")
        if k.get("name_from") and not params_named:
            out.append(f"{where}: name_from is for a name the params give ({{section.key}})")
        if k["pick"] != "none" and not k.get("missing_rule"):
            out.append(f"{where}: which rule fails when it is missing? (missing_rule)")
        if k.get("user_data") and "ec2:DescribeInstanceAttribute" not in k.get("read_actions", []):
            out.append(f"{where}: user_data is read with ec2:DescribeInstanceAttribute: add it to read_actions")
        stray = [b for b in k.get("built_with", []) if b not in {*doc.get("recipes", {}), *doc.get("recipe_keys", ())}]
        if stray:
            out.append(f"{where}: built_with {stray[0]!r} is not a recipe (the guide makes every kind without one)")
    seen: dict[tuple[str, str], str] = {}
    for key, k in doc["kinds"].items():
        if k.get("snapshot") and k["match"] != "none":
            other = seen.setdefault((k["snapshot"], k["name"]), key)
            if other != key:  # the two would be one resource, judged and fixed as both
                out.append(f"kinds.{key}: name {k['name']!r} is also kinds.{other}'s, in the same snapshot list")
    if "params" not in doc["kinds"]:
        out.append("kinds: the params kind is missing (the rules about the params file name it)")
    for key, recipe in doc.get("recipes", {}).items():
        if key == GUIDE:
            out.append(f"recipes.{key}: the guide is the catalogue's kinds themselves, not a recipe")
        for kind_key, fields in recipe.get("kinds", {}).items():
            stray = sorted(set(fields) - set(Kind.__dataclass_fields__) | {"key"} & set(fields))
            if stray:
                out.append(f"recipes.{key}.kinds.{kind_key}: {stray[0]!r} is not a field of a kind")
                continue
            if kind_key not in doc["kinds"]:
                out.append(f"recipes.{key}.kinds: {kind_key!r} is not a kind")
                continue
            merged = {**doc["kinds"][kind_key], **fields}
            inner = _problems({"kinds": {**doc["kinds"], kind_key: merged}, "recipe_keys": list(doc["recipes"])})
            if inner:
                out.append(f"recipes.{key}: {inner[0]}")
    return out


def load(path: Path | None = None) -> tuple[dict[str, Kind], Values]:
    kinds, values, _ = load_all(path)
    return kinds, values


def load_all(path: Path | None = None) -> tuple[dict[str, Kind], Values, dict[str, Recipe]]:
    """The catalogue at `path` (the installed one by default), checked; VhvError naming the place."""
    path = path or directory() / CATALOGUE
    text = bounded.read_text(path, "catalogue", 1_000_000)
    try:
        doc = bounded.check(bounded.load_yaml(text), str(path))
    except Exception as exc:  # noqa: BLE001 -- a YAML error of any kind: one line naming the place
        where, why = bounded.yaml_problem(exc)
        raise VhvError(f"{path}{where}: not valid YAML: {why}") from None
    try:
        schema = json.loads((path.parent / SCHEMA).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise VhvError(f"{path.parent / SCHEMA}: the catalogue's schema cannot be read: {exc}") from None
    flat = shape.inline(schema, schema.get("$defs", {}))
    if not shape.compile_schema(flat)(doc):
        import jsonschema  # deferred: loads jsonschema; only to word what is wrong

        err = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(flat).iter_errors(doc))
        raise VhvError(f"{path}: {shape.describe(err) if err else 'not a catalogue'}")
    problems = _problems(doc)
    if problems:
        raise VhvError(f"{path}: {problems[0]}")
    kind_ok = shape.compile_schema(flat["properties"]["kinds"]["additionalProperties"])
    for key, recipe in doc.get("recipes", {}).items():  # a recipe's kind is a kind: the same schema
        for kind_key, fields in recipe.get("kinds", {}).items():
            if not kind_ok({**doc["kinds"][kind_key], **fields}):
                raise VhvError(f"{path}: recipes.{key}.kinds.{kind_key}: not a kind's fields ({', '.join(fields)})")
    kinds = {
        key: Kind(
            key=key,
            **{f: tuple(v) if isinstance(v, list) else v for f, v in k.items()},
        )
        for key, k in doc["kinds"].items()
    }
    v = doc["values"]
    values = Values(
        tag_key=v["tag"]["key"],
        tag_value=v["tag"]["value"],
        valohai_ssh_cidr=v["valohai_ssh_cidr"],
        valohai_app_cidr=v["valohai_app_cidr"],
        canonical_owner=v["canonical_owner"],
        live_states=tuple(v["live_states"]),
        raw=v,
    )
    recipes = {
        key: Recipe(
            key=key,
            title=r["title"],
            source=r["source"],
            change=r["change"],
            kinds=r.get("kinds", {}),
            telltales=r.get("telltales", {}),
            makes=r.get("makes", {}),
        )
        for key, r in doc.get("recipes", {}).items()
    }
    return kinds, values, recipes


_GUIDE_KINDS, VALUES, RECIPES = load_all()
LIVE_STATES = VALUES.live_states
BUILT_WITH = (GUIDE, *RECIPES)  # what the params' built_with may say


def _recipe_kinds(recipe: str) -> dict[str, Kind]:
    overlay = RECIPES[recipe].kinds if recipe != GUIDE else {}
    return {
        key: replace(k, **{f: tuple(v) if isinstance(v, list) else v for f, v in overlay.get(key, {}).items()})
        for key, k in _GUIDE_KINDS.items()
    }


_BY_RECIPE = {r: _recipe_kinds(r) for r in BUILT_WITH}
_ACTIVE: ContextVar[str] = ContextVar("vhv_recipe", default=GUIDE)


class _Kinds(Mapping[str, Kind]):
    """The kinds of the recipe the account was built with (`built_with`, default the guide's):
    every layer names a resource through here, so that a recipe is data, not branches."""

    def __getitem__(self, key: str) -> Kind:
        return _BY_RECIPE[_ACTIVE.get()][key]

    def __iter__(self) -> Iterator[str]:
        return iter(_BY_RECIPE[_ACTIVE.get()])

    def __len__(self) -> int:
        return len(_BY_RECIPE[_ACTIVE.get()])


KINDS: Mapping[str, Kind] = _Kinds()


def recipe_of(params: Any) -> str:
    """The recipe the params say built the account (GUIDE when they do not say)."""
    value = params.get("built_with") if params is not None else None
    return value if isinstance(value, str) and value in _BY_RECIPE else GUIDE


@contextmanager
def built_with(recipe: str) -> Iterator[None]:
    """Within it, KINDS are `recipe`'s (in this thread and what it runs through `carried`)."""
    token = _ACTIVE.set(recipe)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


def use(recipe: str) -> None:
    """From here on in this thread (a command of the CLI), KINDS are `recipe`'s: what it reads,
    judges, writes to a snapshot and reads back is named as the recipe names it."""
    _ACTIVE.set(recipe)


def of_every_recipe() -> list[Kind]:
    """Every kind as each recipe gives it (the readers and fixers any of them names)."""
    return [k for r in BUILT_WITH for k in _BY_RECIPE[r].values()]


def active() -> str:
    """The recipe whose kinds KINDS are now."""
    return _ACTIVE.get()


def for_params(params: Any) -> Any:
    """`built_with(recipe_of(params))`: the kinds of the recipe the params name."""
    return built_with(recipe_of(params))


def carried(fn: Callable[[], Any]) -> Callable[[], Any]:
    """`fn` run in a copy of the caller's context: a reader thread sees the caller's recipe."""
    ctx = copy_context()
    return lambda: ctx.run(fn)


def _renames(recipe: str) -> tuple[tuple[re.Pattern[str], str], ...]:
    """The guide's names `recipe` gives another name, each unique among the guide's kinds (the
    console's worker profile shares its role's name: not renamed in text), as word patterns."""
    if recipe == GUIDE:
        return ()
    names = [k.name for k in _GUIDE_KINDS.values()]
    return tuple(
        (re.compile(rf"(?<![\w-]){re.escape(k.name)}(?![\w-])"), _BY_RECIPE[recipe][key].name)
        for key, k in _GUIDE_KINDS.items()
        if _BY_RECIPE[recipe][key].name != k.name and names.count(k.name) == 1 and not k.params_key
    )


_RENAMES = {r: _renames(r) for r in BUILT_WITH}


def renamed(text: str, fix: bool = False) -> str:
    """`text` (a rule's title, or with `fix` its fix, written with the guide's names) with the names
    of the recipe in use: valohai-i-queue is valohai-queue in an account Terraform built. A fix
    keeps the guide's name of what the recipe leaves unnamed (CloudFormation's Elastic IP): it
    says what to create or tag, not what the account has."""
    for pattern, new in _RENAMES[_ACTIVE.get()]:
        if fix and " " in new:  # a description, not a name
            continue
        text = pattern.sub(new.replace("\\", "\\\\"), text)
    return text


def inline_guide_policy(role_kind: str) -> str:
    """The name of the guide's policy for `role_kind` where the recipe in use writes it inline in
    that role ("" where it is a managed policy): judged by its own rules, not among the role's others."""
    policy = KINDS[role_kind].policy
    return KINDS[policy].name if policy and KINDS[policy].inline_in == role_kind else ""


def params_value(params: Any, dotted: str) -> str | None:
    """The params' non-empty string at a dotted key (data_store.bucket), or None."""
    first, *rest = dotted.split(".")
    value = params.get(first) if params is not None else None
    for part in rest:
        value = value.get(part) if isinstance(value, dict) else None
    return value if isinstance(value, str) and value else None


def kind(key: str) -> Kind:
    return KINDS[key]


def name(key: str) -> str:
    """The guide's name of kind `key`: name("vpc") is valohai-vpc."""
    return KINDS[key].name


def fill(text: str) -> str:
    """`text` with each `{name:KEY}` replaced by the guide's name of kind KEY: how a schema that
    vhv ships (validator/data/) names the guide's resources without spelling them."""
    return re.sub(r"\{name:([a-z][a-z0-9_]*)\}", lambda m: json.dumps(name(m.group(1)))[1:-1], text)


# the catalogue's values a rule's text may name as {key}
TEXT_VALUES = ("valohai_ssh_cidr", "valohai_app_cidr", "canonical_owner")


def fill_values(text: str) -> str:
    """`text` with the catalogue's values it names ({canonical_owner}) written out; other {...} kept."""
    for key in TEXT_VALUES:
        text = text.replace("{" + key + "}", str(VALUES.raw[key]))
    return text


def of_snapshot(data_key: str) -> list[Kind]:
    """The kinds the readers put under `data_key` of the snapshot (two security groups share one)."""
    return [k for k in KINDS.values() if k.snapshot == data_key]


def resource_id(item: dict[str, Any] | None) -> str | None:
    """How a report names one resource: its ARN, id or allocation id."""
    if not item:
        return None
    return item.get("arn") or item.get("id") or item.get("allocation_id")
