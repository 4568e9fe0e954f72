"""What an evaluator sees: the params, the snapshot, and the rule's resource."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from validator import picking
from validator.kinds import KINDS, TEXT_VALUES, VALUES, params_value
from validator.snapshot import Snapshot, Undecidable

VARIABLE = re.compile(r"\{(\w+(?:\.\w+)*)\}")  # {region}, and a key of a section: {section.key}
# Values the guide hard-codes (Valohai's own addresses), as the rules name them: {valohai_ssh_cidr}
CONSTANTS = {key: str(VALUES.raw[key]) for key in TEXT_VALUES}


@dataclass
class Context:
    params: Any
    snap: Snapshot | None
    kind: str = "params"

    # ------------------------------------------------------------- resources
    @property
    def name(self) -> str:
        """The kind's name: the guide's, or the one the params give it (the data store's bucket)."""
        return self.name_of(self.kind)

    def name_of(self, kind: str) -> str:
        k = KINDS[kind]
        return k.named(self.params) or k.name

    def resource(self, kind: str | None = None) -> dict[str, Any]:
        return picking.pick(self._snap(), kind or self.kind)

    def maybe(self, kind: str) -> dict[str, Any] | None:
        return picking.pick(self._snap(), kind, required=False)

    def items(self, kind: str | None = None) -> list[dict[str, Any]]:
        kind = kind or self.kind
        found = picking.judged(self._snap(), kind)
        if not found:
            raise picking.missing(kind)
        return found if KINDS[kind].many else found[:1]

    def data(self, path: str) -> Any:
        return self._snap().get(path)

    def _snap(self) -> Snapshot:
        if self.snap is None:
            raise Undecidable("the account was not read")
        return self.snap

    # ------------------------------------------------------------- values
    def applies(self, when: dict[str, str] | None) -> bool:
        """The params hold each value of `when`; a dotted key (data_store.role) names a section's key."""
        return all(
            (params_value(self.params, k) if "." in k else self.params.get(k)) == v for k, v in (when or {}).items()
        )

    def variables(self) -> dict[str, str]:
        v: dict[str, str] = dict(CONSTANTS)
        for key, val in self.params.to_dict().items():
            if isinstance(val, (str, int)):
                v[key] = str(val)
            elif isinstance(val, dict):  # a section: {section.key}
                v.update({f"{key}.{k}": str(x) for k, x in val.items() if isinstance(x, (str, int))})
        if self.snap is not None:
            v["account_id"] = self.snap.account_id
            v["partition"] = self.snap.partition
        return v  # and worker_role_arn, asked for only where a rule names it (it may be undecidable)

    def worker_role_arn(self) -> str:
        """The real ARN of the workers' role; the one it would have when the role does not exist.
        Undecidable when the role could not be read: its ARN may have a path (role/team/...) that
        a guess would miss, and a policy judged against a guess could pass what grants nothing."""
        snap = self._snap()
        role_kind = KINDS["worker_role"]
        try:
            role = snap.get(role_kind.path)
        except Undecidable as exc:
            raise Undecidable(f"the ARN of {role_kind.name} is not known: {exc}") from None
        if role and role.get("arn"):
            return role["arn"]
        return f"arn:{snap.partition}:iam::{snap.account_id}:role/{role_kind.name}"

    def expand(self, value: Any) -> Any:
        if isinstance(value, str) and "{" in value:
            variables = self.variables()

            def sub(m: re.Match[str]) -> str:
                if m.group(1) == "worker_role_arn" and self.snap is not None:
                    return self.worker_role_arn()
                if m.group(1) not in variables:
                    raise Undecidable(f"rule argument {value!r} names an unknown value {m.group(1)!r}")
                return variables[m.group(1)]

            return VARIABLE.sub(sub, value)
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            return {k: self.expand(v) for k, v in value.items()}
        return value
