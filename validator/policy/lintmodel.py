"""What the lint checks share: an Issue (check id + JSON pointer + words), the
policy's statements with the pointer of every value, and the check docs."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from validator.policy.sourcemap import escape

LEVELS = ("info", "warn", "error", "security")
DOCS_FILE = Path(__file__).resolve().parent.parent / "data" / "lint-checks.yaml"
DOC_FIELDS = ("level", "category", "title", "what", "why", "example", "instead")
TRUST_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity",
                 "sts:TagSession", "sts:SetSourceIdentity", "sts:SetContext")


@dataclass(frozen=True)
class Issue:
    rule: str
    pointer: str
    message: str          # what was found
    expected: str = ""    # what to write instead
    actual: str = ""
    at_key: bool = False  # point at the member's key rather than its value


@dataclass
class Stmt:
    index: int
    ptr: str
    raw: dict[str, Any]
    trust: bool = False
    expanded: dict[str, list[Any]] = field(default_factory=dict)   # action pattern -> catalogue Actions
    unknown_actions: bool = False                                   # some pattern did not resolve

    @property
    def effect(self) -> Any:
        return self.raw.get("Effect")

    @property
    def allow(self) -> bool:
        return self.raw.get("Effect") == "Allow"

    @property
    def sid(self) -> str | None:
        sid = self.raw.get("Sid")
        return sid if isinstance(sid, str) else None

    def at(self, *tokens: Any) -> str:
        return self.ptr + "".join("/" + escape(str(t)) for t in tokens)

    def strings(self, key: str) -> list[tuple[str, str]]:
        """(value, pointer) of each string of an element that is a string or a list."""
        value = self.raw.get(key)
        if isinstance(value, str):
            return [(value, self.at(key))]
        if isinstance(value, list):
            return [(v, self.at(key, i)) for i, v in enumerate(value) if isinstance(v, str)]
        return []

    def conditions(self) -> Iterator[tuple[str, str, Any, str]]:
        """(operator, key, values, pointer of the key) of a well-formed Condition."""
        cond = self.raw.get("Condition")
        if not isinstance(cond, dict):
            return
        for op, block in cond.items():
            if isinstance(block, dict):
                for key, values in block.items():
                    yield op, key, values, self.at("Condition", op, key)


@lru_cache(maxsize=1)
def docs() -> dict[str, dict[str, str]]:
    """The lint checks' docs, validated at load: every field present, a known level."""
    import yaml

    data = yaml.safe_load(DOCS_FILE.read_text(encoding="utf-8"))
    for rid, doc in data.items():
        missing = [f for f in DOC_FIELDS if not doc.get(f)]
        if missing or doc["level"] not in LEVELS or not rid.startswith("lint-"):
            raise ValueError(f"{DOCS_FILE.name}: check {rid}: bad doc (missing {missing}, level {doc.get('level')})")
    return data
