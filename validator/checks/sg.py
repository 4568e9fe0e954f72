"""Security-group rules: what must be open, and nothing wider."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from validator.checks import STR, WHEN, Missing, Outcome, bad, evaluator, ok
from validator.checks.context import Context
from validator.kinds import KINDS

RULE = {
    "type": "object",
    "properties": {
        "protocol": {"enum": ["tcp", "udp", "icmp", "-1"]},
        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
        "source": STR,
        "when": WHEN,
    },
    "required": ["protocol", "source"],
    "additionalProperties": False,
}
RULES = {"type": "array", "items": RULE, "minItems": 1}
DIRECTION = {"enum": ["ingress", "egress"]}


def describe(r: dict[str, Any], groups: dict[str, str] | None = None) -> str:
    proto = "all traffic" if r.get("protocol") == "-1" else str(r.get("protocol")).upper()
    if r.get("protocol") == "-1":
        ports = ""
    elif r.get("from_port") == r.get("to_port"):
        ports = f" {r.get('from_port')}"
    else:
        ports = f" {r.get('from_port')}-{r.get('to_port')}"
    peer = r.get("cidr") or r.get("cidr_ipv6") or r.get("prefix_list_id") or r.get("group_id")
    if r.get("group_id") and groups and r["group_id"] in groups:
        peer = f"{groups[r['group_id']]} ({r['group_id']})"
    return f"{proto}{ports} {peer}"


@lru_cache(maxsize=4096)
def _net(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A rule's CIDR, parsed once: a group with 100,000 rules repeats a few CIDRs."""
    return ipaddress.ip_network(cidr)


class Want:
    """A rule of the guide, resolved against the account (sg names -> ids)."""

    def __init__(self, ctx: Context, spec: dict[str, Any]):
        self.protocol = spec["protocol"]
        self.port = spec.get("port")
        src = spec["source"]
        self.group_id = self.cidr = None
        self.vpc_cidr = None
        if src.startswith("sg:"):
            kind = src[3:]
            self.group_name = KINDS[kind].name
            self.group_id = ctx.resource(kind)["id"]
            self.text = self.group_name
            vpc = ctx.maybe("vpc")
            self.vpc_cidr = ipaddress.ip_network(vpc["cidr"]) if vpc and vpc.get("cidr") else None
        else:
            self.cidr = ipaddress.ip_network(ctx.expand(src))
            self.text = str(self.cidr)

    def label(self) -> str:
        proto = "all traffic" if self.protocol == "-1" else self.protocol.upper()
        port = f" {self.port}" if self.port is not None and self.protocol != "-1" else ""
        return f"{proto}{port} {self.text}"

    def covered_by(self, r: dict[str, Any]) -> bool:
        """The actual rule `r` allows at least this."""
        if r.get("protocol") != "-1" and r.get("protocol") != self.protocol:
            return False
        if r.get("protocol") != "-1" and self.port is not None:
            if not (r.get("from_port", 0) <= self.port <= r.get("to_port", 65535)):
                return False
        if self.group_id:
            if r.get("group_id") == self.group_id:
                return True
            # a CIDR rule of 0.0.0.0/0, or one holding all of the guide's VPC, reaches every member too
            if not r.get("cidr"):
                return False
            net = _net(r["cidr"])
            return net.prefixlen == 0 or bool(self.vpc_cidr and self.vpc_cidr.subnet_of(net))
        if r.get("cidr"):
            return self.cidr.subnet_of(_net(r["cidr"]))
        return False

    def covered_by_all(self, rules: list[dict[str, Any]]) -> bool:
        """The rules together allow at least this: one covers it, or the CIDRs of those that allow
        its protocol and port add up to its destination (0.0.0.0/1 and 128.0.0.0/1 are 0.0.0.0/0;
        for a group, all of IPv4 or all of the guide's VPC)."""
        if any(self.covered_by(r) for r in rules):
            return True
        target = self.cidr if self.cidr is not None else self.vpc_cidr or ipaddress.ip_network("0.0.0.0/0")
        nets = [
            _net(r["cidr"])
            for r in rules
            if r.get("cidr") and self._carries(r) and _net(r["cidr"]).version == target.version
        ]
        return any(target.subnet_of(n) for n in ipaddress.collapse_addresses(nets))  # type: ignore[arg-type]

    def _carries(self, r: dict[str, Any]) -> bool:
        """The rule `r` allows this protocol and port (to some peer)."""
        if r.get("protocol") == "-1":
            return True
        if r.get("protocol") != self.protocol:
            return False
        return self.port is None or r.get("from_port", 0) <= self.port <= r.get("to_port", 65535)

    def contains(self, r: dict[str, Any]) -> bool:
        """The actual rule `r` allows nothing beyond this."""
        if r.get("protocol") != self.protocol:
            return False
        if self.protocol != "-1" and self.port is not None:
            if not (self.port == r.get("from_port") == r.get("to_port")):
                return False
        if self.group_id:
            return r.get("group_id") == self.group_id
        if r.get("cidr"):
            return _net(r["cidr"]).subnet_of(self.cidr)
        return False


def wanted_rules(ctx: Context, rules: list[dict[str, Any]], allow_missing: bool = False) -> list[Want]:
    """The guide's rules that apply. With `allow_missing`, a rule naming a group that does not
    exist is dropped (nothing can reference it) instead of skipping the whole check."""
    out = []
    for r in rules:
        if not ctx.applies(r.get("when")):
            continue
        try:
            out.append(Want(ctx, r))
        except Missing:
            if not allow_missing:
                raise
    return out


def _groups(ctx: Context) -> dict[str, str]:
    return {g["id"]: g["name"] for g in ctx.data("security_groups")}


@evaluator("sg_allows", direction=DIRECTION, rules=RULES)
def sg_allows(ctx: Context, direction: str, rules: list[dict[str, Any]]) -> list[Outcome]:
    """Each of the guide's `rules` is allowed by some rule of the group (a wider rule counts)."""
    sg = ctx.resource()
    wants = wanted_rules(ctx, rules)
    actual = sg.get(direction, [])
    missing = [w for w in wants if not w.covered_by_all(actual)]
    word = "inbound" if direction == "ingress" else "outbound"
    expected = "; ".join(w.label() for w in wants)
    groups = _groups(ctx)  # once, not once a rule: 100,000 rules x every group was minutes
    have = "; ".join(describe(r, groups) for r in actual) or "(no rules)"
    kw = {"resource_id": sg["id"]}
    if missing:
        return [
            bad(f"{ctx.name} ({sg['id']}) lacks {word} " + "; ".join(w.label() for w in missing), expected, have, **kw)
        ]
    return [ok(f"{ctx.name} allows {word} {expected}", expected, have, **kw)]


@evaluator("sg_only", direction=DIRECTION, rules={"type": "array", "items": RULE})
def sg_only(ctx: Context, direction: str, rules: list[dict[str, Any]]) -> list[Outcome]:
    """Every rule of the group is one of the guide's `rules` (or narrower); any other port,
    protocol or wider source fails and is named."""
    sg = ctx.resource()
    # a missing workers' group (sg_workers) must not hide 63790 open to the world on the queue's group
    wants = wanted_rules(ctx, rules, allow_missing=True)
    groups = _groups(ctx)
    extra = [r for r in sg.get(direction, []) if not any(w.contains(r) for w in wants)]
    word = "inbound" if direction == "ingress" else "outbound"
    expected = "; ".join(w.label() for w in wants) or "no rules"
    kw = {"resource_id": sg["id"]}
    if not extra:
        return [
            ok(
                f"{ctx.name} has no {word} rule beyond the guide",
                expected,
                "; ".join(describe(r, groups) for r in sg.get(direction, [])) or "(no rules)",
                **kw,
            )
        ]
    notes = []
    for r in extra:
        twin = next((w for w in wants if w.covered_by(r)), None)
        notes.append(describe(r, groups) + (f" (wider than the guide's {twin.label()})" if twin else ""))
    return [
        bad(
            f"{ctx.name} ({sg['id']}) has {word} rules the guide does not ask for: " + "; ".join(notes),
            expected,
            "; ".join(notes),
            **kw,
        )
    ]
