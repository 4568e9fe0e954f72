"""What the lint checks share: an Issue (check id + JSON pointer + words), the
policy's statements with the pointer of every value, and the check docs."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from validator.policy.sourcemap import escape

LEVELS = ("info", "warn", "error", "security")
# What a document is, which decides the elements it takes: an identity policy (Resource, no
# Principal), a role's trust policy (Principal, no Resource) or a resource policy such as an
# S3 bucket policy (Principal and Resource).
IDENTITY, TRUST, RESOURCE = "identity", "trust", "resource"
DOCS_FILE = Path(__file__).resolve().parent.parent / "data" / "lint-checks.yaml"
DOC_FIELDS = ("level", "category", "title", "what", "why", "example", "instead")
TRUST_ACTIONS = (
    "sts:AssumeRole",
    "sts:AssumeRoleWithSAML",
    "sts:AssumeRoleWithWebIdentity",
    "sts:TagSession",
    "sts:SetSourceIdentity",
    "sts:SetContext",
)


@dataclass(frozen=True)
class Issue:
    rule: str
    pointer: str
    message: str  # what was found
    expected: str = ""  # what to write instead
    actual: str = ""
    at_key: bool = False  # point at the member's key rather than its value


@dataclass
class Stmt:
    index: int
    ptr: str
    raw: dict[str, Any]
    kind: str = IDENTITY  # of the document: IDENTITY, TRUST or RESOURCE
    expanded: dict[str, Sequence[Any]] = field(default_factory=dict)  # action pattern -> catalogue Actions
    unknown_actions: bool = False  # some pattern did not resolve
    _strings: dict[str, list[tuple[str, str]]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def trust(self) -> bool:
        return self.kind == TRUST

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
        """(value, pointer) of each string of an element that is a string or a list (worked
        out once per statement: a dozen checks ask, and an Action list may be long)."""
        if key not in self._strings:
            value = self.raw.get(key)
            if isinstance(value, str):
                found = [(value, self.at(key))]
            elif isinstance(value, list):
                base = self.at(key)
                found = [(v, f"{base}/{i}") for i, v in enumerate(value) if isinstance(v, str)]
            else:
                found = []
            self._strings[key] = found
        return self._strings[key]

    def conditions(self) -> Iterator[tuple[str, str, Any, str]]:
        """(operator, key, values, pointer of the key) of a well-formed Condition."""
        cond = self.raw.get("Condition")
        if not isinstance(cond, dict):
            return
        for op, block in cond.items():
            if isinstance(block, dict):
                for key, values in block.items():
                    yield op, key, values, self.at("Condition", op, key)


SHOWN = 10_240  # no value of a policy IAM accepts is longer (the largest accepted policy has 10,240 characters)


def shown(text: Any, limit: int = SHOWN) -> str:
    """`repr(text)`, cut short when the text is longer than anything real (a 10 MB action):
    a finding names the value, it need not repeat all of it."""
    if not isinstance(text, str):
        return clip(repr(text), limit)
    if len(text) <= limit:
        return repr(text)
    r = repr(text[:limit])
    return f"{r[:-1]}…{r[-1]} ({len(text):,} characters)"


def clip(text: str, limit: int = SHOWN) -> str:
    """Plain text cut short the same way (a finding's `actual`)."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


@dataclass
class Budget:
    """How much work the checks may still do in one document: comparisons of the pairwise
    checks, and Resources compared with the ARN formats. Only a document far larger than IAM
    accepts (lint-policy-size, an error) gets one; when a part runs out, that check stops and
    says so once (lint-check-skipped), never silently."""

    left: int  # pair comparisons
    size: int  # the document's size, for the note
    resources: int = 20_000  # Resources checked against the ARN formats
    wildcards: int = 500  # wildcard actions resolved against the catalogue (~1 s)
    noted: set[str] = field(default_factory=set)

    def wildcard(self) -> bool:
        self.wildcards -= 1
        return self.wildcards >= 0

    def spend(self, n: int) -> bool:
        self.left -= n
        return self.left >= 0

    def resource(self) -> bool:
        self.resources -= 1
        return self.resources >= 0

    def note(self, st: Stmt, rule: str, ptr: str, work: str = "comparing actions pair by pair") -> list[Issue]:
        """The one note that `rule` stopped (an empty list after the first)."""
        if rule in self.noted:
            return []
        self.noted.add(rule)
        return [
            Issue(
                "lint-check-skipped",
                ptr,
                f"{rule} was not checked from here on (statement #{st.index + 1} and after): the policy has "
                f"{self.size:,} characters, far more than IAM accepts (see lint-policy-size), and vhv stops "
                f"{work} on such a policy when it would take more than a few seconds",
                "a policy IAM accepts (at most 6,144 characters for a managed policy), then lint it again",
                rule,
            )
        ]


@lru_cache(maxsize=1)
def docs() -> dict[str, dict[str, str]]:
    """The lint checks' docs, validated at load: every field present, a known level."""
    import yaml  # deferred: loads yaml

    data = yaml.safe_load(DOCS_FILE.read_text(encoding="utf-8"))
    for rid, doc in data.items():
        missing = [f for f in DOC_FIELDS if not doc.get(f)]
        if missing or doc["level"] not in LEVELS or not rid.startswith("lint-"):
            raise ValueError(f"{DOCS_FILE.name}: check {rid}: bad doc (missing {missing}, level {doc.get('level')})")
    return data
