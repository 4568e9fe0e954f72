"""[Finding] x Snapshot x Params -> Plan. No AWS calls: what the plan needs, the readers read."""
from __future__ import annotations

from typing import Any

from validator.fixers import iam, network, queue, sg
from validator.fixers.builder import Builder
from validator.fixers.plan import Plan
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
        b.manual(rule_id, kind, f"{f.message}{where}. By hand: {f.fix}".strip(), resource=f.resource_name)
    return b.plan
