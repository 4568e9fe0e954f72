"""The account as plain data: what the readers read, nothing judged.

A snapshot is a JSON-friendly dict. `errors` maps a dotted path (``vpcs``,
``roles.ROLE.attached_policies``) to why it could not be read; asking
for that path, or anything under it, raises `Undecidable`, which the engine
reports as status ``error``: a rule that could not look never passes.

Its shape is validator/data/snapshot.schema.json (`vhv schema snapshot`): what the readers in
validator/aws/ write. `load` and `from_dict` refuse anything else with one line naming the JSON
path (a wrong type judged would be a false pass or fail), and `save` writes nothing else.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from validator import __version__, kinds, shape
from validator.errors import VhvError
from validator.files import write_atomic

FORMAT = "vhv-snapshot"
VERSION = 2  # 2: sealed (seal_of); 1 had no seal


MAX_SNAPSHOT_BYTES = 200_000_000  # a crowded account's snapshot is a few MB
NOT_OURS = "not a snapshot vhv wrote; take a new one with vhv snapshot"
SEAL = "seal"  # the key of the seal: "sha256:" and the digest of everything else, canonical
EDITED = "changed after vhv wrote it (its seal does not match what it holds); take a new one with vhv snapshot"
# The partition of a region, by its prefix (botocore's partitions.json regionRegex); others are "aws".
PARTITION_OF_PREFIX = (
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("us-iso-", "aws-iso"),
    ("eu-isoe-", "aws-iso-e"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)


class Undecidable(Exception):
    """The data a rule needs could not be read."""


@dataclass
class Snapshot:
    account_id: str
    region: str
    partition: str = "aws"
    data: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    caller_arn: str = ""
    built_with: str = "guide"  # the recipe whose names the account was read by (params built_with)

    def get(self, path: str) -> Any:
        why = self.error_at(path)
        if why is not None:
            raise Undecidable(why)
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise Undecidable(f"{path} was not read (no reader filled it)")
            node = node[part]
        return node

    def error_at(self, path: str) -> str | None:
        """Why `path` could not be read: the error recorded at it or at a path above it (the
        first such in `errors`' order), else None. Each dotted prefix of `path` is looked up,
        so the cost is its depth, not the number of errors (a snapshot may hold 200,000)."""
        errors = self.errors
        hits = [p for p in _prefixes(path) if p in errors]
        if len(hits) > 1:  # two failed reads above the path: the first recorded is the one said
            return next(why for key, why in errors.items() if key in hits)
        return errors[hits[0]] if hits else None

    def has_error(self, path: str) -> bool:
        try:
            self.get(path)
        except Undecidable:
            return True
        return False

    def to_dict(self) -> dict[str, Any]:
        """What `save` writes and `from_dict` reads: the snapshot, sealed (see `seal_of`)."""
        return sealed(
            {
                "format": FORMAT,
                "version": VERSION,
                "vhv_version": __version__,
                "account_id": self.account_id,
                "region": self.region,
                "partition": self.partition,
                "caller_arn": self.caller_arn,
                **({"built_with": self.built_with} if self.built_with != kinds.GUIDE else {}),
                "data": self.data,
                "errors": self.errors,
            }
        )

    @classmethod
    def from_dict(cls, d: Any, source: str = "snapshot") -> Snapshot:
        """The snapshot in `d`, or VhvError naming the first place where `d` is not what vhv
        writes (validator/data/snapshot.schema.json): a wrong type is refused, never judged."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise VhvError(f'{source}: not a vhv snapshot (no "format": "{FORMAT}")')
        version = d.get("version")
        if type(version) is not int or version != VERSION:  # not `!= 1` alone: Python's true == 1
            raise VhvError(
                f"{source}: snapshot format version {shape.brief(version)} (written by vhv "
                f"{shape.brief(d.get('vhv_version', '?'), quote=False)}); this vhv {__version__} reads version "
                f"{VERSION}: take a new snapshot with this vhv"
            )
        read_as = d.get("built_with", kinds.GUIDE)
        if isinstance(read_as, str) and read_as != kinds.active():  # names of another recipe: not comparable
            raise VhvError(
                f"{source}: the account was read as built with {read_as}, the params say built_with: "
                f"{kinds.active()}; take the snapshot with these params, or check it with built_with: {read_as}"
            )
        problem = shape_problem(d)
        if problem:
            raise VhvError(f"{source}: {problem} — {NOT_OURS}")
        try:
            seal = seal_of(d)
        except UnicodeEncodeError:  # "\ud800" in the JSON: no text AWS or vhv writes, and no terminal prints
            where = shape.at(_first_unencodable(d))
            raise VhvError(
                f"{source}: {where}holds a lone surrogate (a \\ud800-\\udfff escape): not text — {NOT_OURS}"
            ) from None
        if d[SEAL] != seal:
            raise VhvError(f"{source}: {EDITED}")
        return cls(
            account_id=d["account_id"],
            region=d["region"],
            partition=d["partition"],
            caller_arn=d["caller_arn"],
            built_with=d.get("built_with", kinds.GUIDE),
            data=dict(d["data"]),
            errors=dict(d["errors"]),
        )

    def save(self, path: str | Path) -> None:
        """Write the snapshot; only what `load` reads back: a shape vhv does not read is a bug, said here."""
        try:
            text = json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str, allow_nan=False) + "\n"
        except ValueError as exc:  # NaN or Infinity somewhere: JSON has no room for them
            raise VhvError(f"{path}: cannot write snapshot: {exc} (a bug in vhv: please report it)") from None
        problem = shape_problem(json.loads(text))
        if problem:
            raise VhvError(
                f"{path}: cannot write snapshot: what was read does not have the shape vhv reads back: "
                f"{problem} (a bug in vhv: please report it)"
            )

        write_atomic(path, text)  # whole or not at all; never over a read-only file or a device

    @classmethod
    def load(cls, path: str | Path) -> Snapshot:
        from validator.bounded import read_at_most  # deferred: loads yaml

        try:
            raw = read_at_most(path, MAX_SNAPSHOT_BYTES)
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VhvError(f"{path}: cannot read snapshot: {exc}") from None
        if len(raw) > MAX_SNAPSHOT_BYTES:
            raise VhvError(f"{path}: more than {MAX_SNAPSHOT_BYTES // 1_000_000} MB: not a snapshot of vhv's")
        try:
            d = shape.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            where = f":{exc.lineno}:{exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise VhvError(f"{path}{where}: snapshot is not valid JSON: {exc}") from None
        except shape.BadNumber as bad:
            where = shape.at(shape.d_path(bad.doc, bad.number))
            raise VhvError(
                f"{path}: {where}{bad.number.text_brief()} is not a number vhv writes ({bad.number.why}) — {NOT_OURS}"
            ) from None
        except shape.DuplicateKey as dup:
            raise VhvError(
                f"{path}: the key {shape.brief(dup.key)} is written twice in one object (JSON keeps "
                f"only the last; vhv writes each key once) — {NOT_OURS}"
            ) from None
        return cls.from_dict(d, source=str(path))


def _prefixes(path: str) -> list[str]:
    """`path` and each part of it that ends before a dot: a.b.c -> a, a.b, a.b.c."""
    out = []
    dot = path.find(".")
    while dot >= 0:
        out.append(path[:dot])
        dot = path.find(".", dot + 1)
    out.append(path)
    return out


# ------------------------------------------------------------------ the seal


def seal_of(d: dict[str, Any]) -> str:
    """The seal of a snapshot document: sha256 of its canonical JSON (keys sorted, no spaces,
    UTF-8), the seal itself left out. Formatting, key order and escapes do not change it; any
    value that does. Not a signature (anyone can compute it): it tells a snapshot as vhv read
    the account from one edited since, which the shape check cannot when the edit is well typed
    (a VPC renamed, a CIDR changed, a rule removed from a security group)."""

    body = {k: v for k, v in d.items() if k != SEAL}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()  # a lone surrogate: UnicodeEncodeError


def _first_unencodable(d: Any) -> list[Any]:
    """The path of the first key or string in `d` that is not text (a lone surrogate)."""
    stack: list[tuple[Any, list[Any]]] = [(d, [])]
    while stack:
        node, where = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for k, v in reversed(list(items)):
            for text, at in ((k, where + [k]), (v, where + [k])):
                if isinstance(text, str) and not text.isascii():
                    try:
                        text.encode("utf-8")
                    except UnicodeEncodeError:
                        return at
            stack.append((v, where + [k]))
    return []


def sealed(d: dict[str, Any]) -> dict[str, Any]:
    """`d` with its seal (the one `to_dict` writes)."""
    return {**{k: v for k, v in d.items() if k != SEAL}, SEAL: seal_of(d)}


# ------------------------------------------------------------------ the shape


def schema() -> dict[str, Any]:
    """validator/data/snapshot.schema.json: the shape of what the readers write (the names of the
    recipe in use filled in from the catalogue: kinds.fill)."""
    return _schema(kinds.active())


@lru_cache(maxsize=None)
def _schema(recipe: str) -> dict[str, Any]:
    with kinds.built_with(recipe):
        return json.loads(
            kinds.fill((resources.files("validator") / "data" / "snapshot.schema.json").read_text("utf-8"))
        )


def _checkers() -> tuple[Any, Any]:
    return _checkers_of(kinds.active())


@lru_cache(maxsize=None)
def _checkers_of(recipe: str) -> tuple[Any, Any]:
    """(fast yes/no check, jsonschema validator) of the snapshot schema, built once per recipe, when
    first needed."""
    import jsonschema  # deferred: loads jsonschema; here, not at import: `vhv --version` and `vhv lint` never load it

    flat = shape.inline(_schema(recipe), _schema(recipe).get("$defs", {}))
    base = jsonschema.Draft202012Validator
    # "integer" is an int: JSON Schema also counts 16.0 (no reader writes one) and Python true
    types = base.TYPE_CHECKER.redefine("integer", lambda _c, v: isinstance(v, int) and not isinstance(v, bool))
    return shape.compile_schema(flat), jsonschema.validators.extend(base, type_checker=types)(flat)


def shape_problem(d: Any) -> str | None:
    """The first way `d` is not a snapshot's shape, as one line `path: expected ..., found ...`;
    None when it is one (and its partition, region, account and caller agree)."""
    fast, validator = _checkers()
    try:
        if not fast(d):
            from jsonschema.exceptions import best_match  # deferred: loads jsonschema

            # the first error jsonschema meets (a big snapshot is not walked to its end), or
            # the most telling of those under it when it is an anyOf/oneOf
            err = best_match(itertools.islice(validator.iter_errors(d), 1))
            return shape.describe(err) if err is not None else "not the shape of a snapshot"
    except RecursionError:
        return "nested too deep"
    for key in d["errors"]:  # a read that failed left nothing there: data at an error's path is a contradiction
        node: Any = d["data"]
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return (
                f"errors: {shape.brief(key)} says it could not be read, but data.{shape.brief(key, quote=False)} "
                "holds it"
            )
    partition = next((p for prefix, p in PARTITION_OF_PREFIX if d["region"].startswith(prefix)), "aws")
    if d["partition"] != partition:
        return f"partition: {shape.brief(d['partition'])} is not the partition of region {d['region']} ({partition})"
    arn = d["caller_arn"].split(":")  # who read it, in the account and partition read (or "")
    if len(arn) > 4 and arn[1] != d["partition"]:
        return f"caller_arn: {shape.brief(d['caller_arn'])} is in partition {arn[1]}, the partition is {d['partition']}"
    if len(arn) > 4 and arn[4] != d["account_id"]:
        return f"caller_arn: {shape.brief(d['caller_arn'])} is of account {arn[4]}, the account_id is {d['account_id']}"
    from validator import consistency  # deferred: loads yaml

    return consistency.problem(d)


def same_account(snap: Snapshot, prm: Any, saved: str | None, region: str | None) -> None:
    """Refuse to judge one account (or region) against params recorded for another. `saved`: the
    snapshot file judged (None: the account was read with the credentials); `region`: --region."""
    what = f"snapshot {saved}" if saved else "the credentials"
    want_region = region or prm.region
    if snap.region != want_region:
        raise VhvError(
            f"{what} are for region {snap.region}, the params say {want_region}"
            if not saved
            else f"{what} is of region {snap.region}, the params say {want_region}"
        )
    want_account = prm.get("account_id")
    if want_account and str(want_account) != snap.account_id:
        raise VhvError(
            f"{what} {'are' if not saved else 'is'} for account {snap.account_id}, "
            f"the params' account_id is {want_account}"
        )
