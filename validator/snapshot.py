"""The account as plain data: what the readers read, nothing judged.

A snapshot is a JSON-friendly dict. `errors` maps a dotted path (``vpcs``,
``roles.ValohaiMaster.attached_policies``) to why it could not be read; asking
for that path, or anything under it, raises `Undecidable`, which the engine
reports as status ``error``: a rule that could not look never passes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator import __version__
from validator.errors import VhvError

FORMAT = "vhv-snapshot"
VERSION = 1


MAX_SNAPSHOT_BYTES = 200_000_000  # a crowded account's snapshot is a few MB


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

    def get(self, path: str) -> Any:
        for key, why in self.errors.items():
            if path == key or path.startswith(key + "."):
                raise Undecidable(why)
        node: Any = self.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                raise Undecidable(f"{path} was not read (no reader filled it)")
            node = node[part]
        return node

    def has_error(self, path: str) -> bool:
        try:
            self.get(path)
        except Undecidable:
            return True
        return False

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "vhv_version": __version__,
            "account_id": self.account_id,
            "region": self.region,
            "partition": self.partition,
            "caller_arn": self.caller_arn,
            "data": self.data,
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, d: Any, source: str = "snapshot") -> "Snapshot":
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise VhvError(f"{source}: not a vhv snapshot (no \"format\": \"{FORMAT}\")")
        if d.get("version") != VERSION:
            raise VhvError(
                f"{source}: snapshot format version {d.get('version')!r} (written by vhv "
                f"{d.get('vhv_version', '?')}); this vhv {__version__} reads version {VERSION}: "
                "take a new snapshot with this vhv"
            )
        try:
            return cls(
                account_id=str(d["account_id"]),
                region=str(d["region"]),
                partition=str(d.get("partition", "aws")),
                caller_arn=str(d.get("caller_arn", "")),
                data=dict(d["data"]),
                errors={str(k): str(v) for k, v in dict(d.get("errors", {})).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise VhvError(f"{source}: snapshot is missing or has a malformed field: {exc}") from None

    def save(self, path: str | Path) -> None:
        tmp = Path(str(path) + ".tmp")
        try:
            tmp.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str) + "\n")
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise VhvError(f"{path}: cannot write snapshot: {exc.strerror}") from None

    @classmethod
    def load(cls, path: str | Path) -> "Snapshot":
        from validator.bounded import read_at_most

        try:
            raw = read_at_most(path, MAX_SNAPSHOT_BYTES)
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VhvError(f"{path}: cannot read snapshot: {exc}") from None
        if len(raw) > MAX_SNAPSHOT_BYTES:
            raise VhvError(f"{path}: more than {MAX_SNAPSHOT_BYTES // 1_000_000} MB: not a snapshot of vhv's")
        try:
            d = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            where = f":{exc.lineno}:{exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise VhvError(f"{path}{where}: snapshot is not valid JSON: {exc}") from None
        return cls.from_dict(d, source=str(path))
