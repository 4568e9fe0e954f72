"""The plan: plain data, a list of named boto3 calls with their arguments, and its checksum.

A step may use what an earlier step returned (the id of the VPC it created): its
arguments then hold a reference, the string ``$step:<id>:<path>`` (``$step:3:Vpc.VpcId``),
resolved when the plan is applied. The checksum is the sha256 of the canonical JSON of
the steps and of the account and region they are for, so `--plan-checksum` ties an apply to
the plan that was reviewed, in the account it was reviewed for (IAM steps name a role by its
name alone: the same steps in another account would otherwise have the same checksum).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

FIX, DECIDE, MANUAL, WAIVED = "fix", "needs-decision", "manual", "waived"
RISKS = (FIX, DECIDE, MANUAL, WAIVED)  # waived: an accepted failure (a waiver), never applied
REF = re.compile(r"^\$step:(\d+):([\w.]+)$")
READ_PREFIXES = ("describe_", "get_", "list_")


@dataclass
class Step:
    id: int
    rule: str
    resource: str  # the name the guide gives it (the catalogue's name of its kind)
    call: str  # "service.operation" (boto3 names), "" for a manual step
    arguments: dict[str, Any]
    risk: str  # fix | needs-decision | manual | waived
    summary: str  # what it does, in words
    kind: str = ""  # the guide resource kind (vpc, sg_queue, ...): what the safety limit counts

    @property
    def service(self) -> str:
        return self.call.split(".", 1)[0]

    @property
    def operation(self) -> str:
        return self.call.split(".", 1)[1]

    @property
    def is_read(self) -> bool:
        return bool(self.call) and self.operation.startswith(READ_PREFIXES)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    # rules that could not be decided (status error): nothing can be planned for them
    undecided: list[str] = field(default_factory=list)
    account_id: str = ""  # where the steps are to run: part of the checksum
    region: str = ""

    @property
    def checksum(self) -> str:
        return checksum(
            {"account_id": self.account_id, "region": self.region, "steps": [s.to_dict() for s in self.steps]}
        )

    def to_apply(self, tighten: bool = False) -> list[Step]:
        """The steps `--fix` runs: the fixes, and with `--tighten` the decisions too."""
        wanted = (FIX, DECIDE) if tighten else (FIX,)
        return [s for s in self.steps if s.risk in wanted]

    def of(self, risk: str) -> list[Step]:
        return [s for s in self.steps if s.risk == risk]

    def changed_kinds(self, tighten: bool = False) -> set[str]:
        return {s.kind for s in self.to_apply(tighten) if not s.is_read}

    def to_dict(self) -> dict[str, Any]:
        return {"checksum": self.checksum, "steps": [s.to_dict() for s in self.steps], "undecided": self.undecided}


def checksum(plan: dict[str, Any]) -> str:
    text = json.dumps(plan, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def ref(step_id: int, path: str) -> str:
    return f"$step:{step_id}:{path}"


def refs_in(value: Any) -> list[tuple[int, str]]:
    """Every (step id, path) `value` refers to."""
    if isinstance(value, str):
        m = REF.match(value)
        return [(int(m.group(1)), m.group(2))] if m else []
    if isinstance(value, list):
        return [r for v in value for r in refs_in(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in refs_in(v)]
    return []


class Unresolved(Exception):
    """A reference to a step that did not run, or to something its answer does not hold."""


def lookup(result: Any, path: str) -> Any:
    node = result
    for part in path.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            raise Unresolved(f"the answer has no {path}")
    return node


def resolve(value: Any, results: dict[int, Any]) -> Any:
    """`value` with every reference replaced by what the earlier step returned."""
    if isinstance(value, str):
        m = REF.match(value)
        if not m:
            return value
        sid = int(m.group(1))
        if sid not in results:
            raise Unresolved(f"step {sid} has not run")
        return lookup(results[sid], m.group(2))
    if isinstance(value, list):
        return [resolve(v, results) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, results) for k, v in value.items()}
    return value
