"""[Finding] x Snapshot x Params -> Plan. No AWS calls: what the plan needs, the readers read."""

from __future__ import annotations

from typing import Any

from validator.fixers import iam, network, queue, sg
from validator.fixers.builder import UNKNOWN, Builder
from validator.fixers.plan import WAIVED, Plan
from validator.kinds import KINDS
from validator.rulepack import RulePack
from validator.snapshot import Snapshot

# in dependency order: a policy before the role it is attached to, a VPC before its subnets, ...
HANDLERS = (*iam.HANDLERS, *network.HANDLERS, *sg.HANDLERS, *queue.HANDLERS)


def build(pack: RulePack, params: Any, snap: Snapshot, findings: list[Any]) -> Plan:
    b = Builder(pack, params, snap, findings)
    for handler in HANDLERS:
        handler(b)
    # what no fixer changes (instance type, AMI, disk, key pair, a CIDR): said as a manual step
    for rule_id, found in b.failing.items():
        if rule_id in b.covered:
            continue
        f = found[0]
        kind = b.rules[rule_id].resource if rule_id in b.rules else "params"
        where = f" ({f.resource_id})" if f.resource_id and f.resource_id not in f.message else ""
        why = b.scope_of_id(kind, f.resource_id) if f.resource_id and kind in KINDS and kind != "params" else None
        if why and why != UNKNOWN:
            b.leave(rule_id, kind, f, why)
            continue
        b.manual(rule_id, kind, f"{f.message}{where}. By hand: {f.fix}".strip(), resource=f.resource_name)
    _say_waived(b, findings)
    return b.plan


def _say_waived(b: Builder, findings: list[Any]) -> None:
    """A waived failure (validator.waivers made it a skip) is not planned; the plan says so, with the
    waiver (not the file it came from: the checksum must not depend on where the waivers are kept)."""
    for f in findings:
        w = getattr(f, "waived", None)
        if not w or w.get("status") != "fail":
            continue
        by = f" by {w['owner']}" if w.get("owner") else ""
        b.add(
            f.rule_id,
            b.rules[f.rule_id].resource if f.rule_id in b.rules else "params",
            "",
            {"waived": {k: w.get(k) for k in ("justification", "expires", "owner")}},
            f"not planned: waived until {w['expires']}{by}: {w['justification']}",
            risk=WAIVED,
            resource=f.resource_name,
        )
