"""The guide's network paths, evaluated on the snapshot as AWS evaluates them.

The per-resource rules say what to change on each resource; these say whether the traffic the guide
is for gets through: app.valohai.com to the queue's Elastic IP on 63790, the internet to it on 80,
SSH from whoever installs the queue, and a worker in each valohai subnet to the queue on 63790 and
to the internet on 80 and 443. Each path is followed hop by hop, like VPC Reachability Analyzer:

- the route table that applies to the subnet (its explicit association, else the VPC's main
  table), longest prefix first (validator.checks.routing); traffic for the internet, and the
  replies to it, must reach the guide's internet gateway, attached to the VPC;
- the network ACL of each subnet crossed, both ways (stateless): the rules of a direction in
  rule-number order, the first that matches deciding, the replies on ephemeral ports 1024-65535;
  traffic inside one subnet crosses no ACL;
- the security groups of the network interface (every group on it adds up; stateful, so one way);
- the queue instance's state: only a running instance answers.

A path that is cut fails naming each hop that cuts it; a security group vhv does not read (it
reads the guide's two) could allow what the guide's do not: then the path is a warning.

"The internet" is the internet at large, and a reply's port is one its client picks: a hop that
cuts less than 1/256 of them (a route or network ACL entry for a few addresses, narrower than a
/8; a deny of a few ephemeral ports) leaves the path working for the bulk, and the path is a
warning naming what is cut. A cut of 0.0.0.0/0, of half the internet, of an address the guide
names (app.valohai.com, the admin's CIDR) or of a request's port fails.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from validator import picking
from validator.checks import STR, WHEN, Outcome, bad, evaluator, ok, routing, warn
from validator.checks.context import Context
from validator.checks.instance import interfaces_of
from validator.checks.net import _vpc_subnets
from validator.kinds import name
from validator.snapshot import Undecidable

Span = tuple[int, int]  # addresses [lo, hi)
EPHEMERAL = (1024, 65535)
ALL_PORTS = (0, 65535)
BULK = 256  # a cut of less than 1/256 of a path's internet addresses, or of its reply ports, leaves its bulk
WORKERS = "workers"
INTERNET = "internet"


# ------------------------------------------------------------------ address sets


def _span(cidr: str) -> Span:
    net = ipaddress.ip_network(cidr, strict=False)
    return int(net.network_address), int(net.broadcast_address) + 1


def _norm(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for lo, hi in sorted(s for s in spans if s[0] < s[1]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _minus(a: list[Span], b: list[Span]) -> list[Span]:
    out = []
    cut = _norm(b)
    for lo, hi in _norm(a):
        cur = lo
        for blo, bhi in cut:
            if bhi <= cur or blo >= hi:
                continue
            if blo > cur:
                out.append((cur, blo))
            cur = max(cur, bhi)
            if cur >= hi:
                break
        if cur < hi:
            out.append((cur, hi))
    return out


def _and(a: list[Span], b: list[Span]) -> list[Span]:
    return _minus(a, _minus(a, b))


def _size(spans: list[Span]) -> int:
    return sum(hi - lo for lo, hi in _norm(spans))


def _cidrs(spans: list[Span], most: int = 3) -> str:
    nets = [
        str(n)
        for lo, hi in _norm(spans)
        for n in ipaddress.summarize_address_range(ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi - 1))
    ]
    return ", ".join(nets[:most]) + (f" and {len(nets) - most} more" if len(nets) > most else "")


PUBLIC = _minus([(0, routing.ALL)], [_span(str(n)) for n in routing.NOT_INTERNET])


def _ports(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}-{p[1]}"


# ------------------------------------------------------------------ the two ends


@dataclass
class Peer:
    """One end of a path: what it is called, its addresses, the security groups it is in."""

    label: str
    spans: list[Span]
    groups: set[str] = field(default_factory=set)
    internet: bool = False  # its addresses are the internet's: "from 0.0.0.0/0" and the like
    bulk: bool = False  # the internet at large: a few of its addresses cut leave it working

    def said(self, spans: list[Span]) -> str:
        if self.spans and _norm(spans) == _norm(self.spans):
            return self.label
        return _cidrs(spans)


WORLD = Peer("the internet", PUBLIC, internet=True, bulk=True)


def narrow(peer: Peer, boxes: list[tuple[list[Span], tuple[int, int]]], ports: tuple[int, int]) -> bool:
    """Whether a hop that cuts (addresses x ports) `boxes` of the traffic between `peer` and `ports`
    leaves its bulk: of the internet at large, less than 1/BULK of its addresses x ports; of a named
    peer, each of its addresses on all but less than 1/BULK of the ports (the replies' ports, which
    the client picks; a request's one port cut is cut)."""
    wide = ports[1] - ports[0] + 1
    if peer.bulk:
        cut = sum(_size(spans) * (p[1] - p[0] + 1) for spans, p in boxes)
        return cut * BULK < _size(peer.spans) * wide
    cut = _size([(p[0], p[1] + 1) for _, p in boxes])  # the ports cut for some address
    return cut * BULK < wide


# ------------------------------------------------------------------ the hops


def acl_denies(
    acl: dict[str, Any], egress: bool, peer: list[Span], ports: tuple[int, int]
) -> list[tuple[Any, list[Span], tuple[int, int]]]:
    """What of (`peer` addresses x `ports`, TCP) network ACL `acl` denies in one direction: each deny
    with the rule number that decides it ("*" when no rule matches: the ACL's last, implicit rule)."""
    boxes = [(lo, hi, ports[0], ports[1]) for lo, hi in _norm(peer)]
    denied: list[tuple[Any, list[Span], tuple[int, int]]] = []
    entries = [
        e
        for e in acl.get("entries") or []
        if bool(e.get("egress")) == egress and e.get("cidr") and e.get("protocol") in ("-1", "tcp")
    ]
    entries.sort(key=lambda e: e.get("rule_number") or 0)
    for e in entries:
        elo, ehi = _span(e["cidr"])
        if e.get("protocol") == "-1" or e.get("from_port") is None:
            eplo, ephi = ALL_PORTS
        else:
            eplo = e["from_port"]
            ephi = e["to_port"] if e.get("to_port") is not None else eplo
        rest = []
        for lo, hi, plo, phi in boxes:
            alo, ahi, qlo, qhi = max(lo, elo), min(hi, ehi), max(plo, eplo), min(phi, ephi)
            if alo >= ahi or qlo > qhi:
                rest.append((lo, hi, plo, phi))
                continue
            if e.get("action") != "allow":
                denied.append((e.get("rule_number"), [(alo, ahi)], (qlo, qhi)))
            rest += [b for b in ((lo, alo, plo, phi), (ahi, hi, plo, phi)) if b[0] < b[1]]
            rest += [b for b in ((alo, ahi, plo, qlo - 1), (alo, ahi, qhi + 1, phi)) if b[2] <= b[3]]
        boxes = rest
    denied += [("*", [(lo, hi)], (plo, phi)) for lo, hi, plo, phi in boxes]
    return denied


def sg_misses(groups: list[dict[str, Any]], direction: str, peer: Peer, port: int) -> list[Span]:
    """What of `peer` the `groups` (of one interface: their rules add up) do not allow on TCP
    `port` in `direction`; a rule naming a group the peer is in allows all of it."""
    allowed: list[Span] = []
    for g in groups:
        for r in g.get(direction) or []:
            if r.get("protocol") not in ("-1", "tcp"):
                continue
            if r.get("protocol") == "tcp" and not (r.get("from_port", 0) <= port <= r.get("to_port", 65535)):
                continue
            if r.get("group_id") and r["group_id"] in peer.groups:
                return []
            if r.get("cidr"):
                allowed.append(_span(r["cidr"]))
    return _minus(peer.spans, allowed)


@dataclass
class Path:
    """A path being followed: the hops it passed, and those that cut it."""

    passed: list[str] = field(default_factory=list)
    cuts: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # groups vhv does not read, that could allow a cut
    partial: list[str] = field(default_factory=list)  # cuts that leave the bulk of the path (see narrow)

    def hop(self, said: str, cut: str | None, bulk_left: bool = False) -> None:
        if cut and bulk_left:
            self.partial.append(cut)
        elif cut:
            self.cuts.append(cut)
        else:
            self.passed.append(said)


class Network:
    """The snapshot's network, as the paths need it."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.vpc = ctx.resource("vpc")
        self.igw = ctx.maybe("igw")
        self.tables = ctx.data("route_tables")
        self.acls = ctx.data("network_acls")
        self.groups = {g["id"]: g for g in ctx.data("security_groups")}
        self.subnet_names = {s["id"]: s.get("name") for s in ctx.data("subnets")}

    def subnet(self, sid: str) -> str:
        n = self.subnet_names.get(sid)
        return f"{n} ({sid})" if n else sid

    def table_of(self, subnet_id: str, vpc_id: str) -> dict[str, Any]:
        for t in self.tables:
            if not t.get("main") and subnet_id in (t.get("subnet_ids") or []):
                return t
        for t in self.tables:
            if t.get("main") and t.get("vpc_id") == vpc_id:
                return t
        raise Undecidable(f"no route table was read for {self.subnet(subnet_id)} (nor a main table of {vpc_id})")

    def acl_of(self, subnet_id: str) -> dict[str, Any]:
        for a in self.acls:
            if subnet_id in (a.get("subnet_ids") or []):
                return a
        raise Undecidable(f"no network ACL was read for {self.subnet(subnet_id)}")

    def table_label(self, t: dict[str, Any]) -> str:
        return f"route table {t.get('name') + ' ' if t.get('name') else ''}({t['id']})"

    def gateway(self, path: Path, vpc_id: str) -> str | None:
        """The guide's internet gateway, attached to `vpc_id`: its id, or the path is cut."""
        igw_name = name("igw")
        if not self.igw:  # its missing rule says so; one that lost its Name may still carry the traffic
            raise picking.missing("igw")
        attached = [
            a.get("vpc_id") for a in self.igw.get("attachments") or [] if a.get("state") in ("available", "attached")
        ]
        if vpc_id not in attached:
            path.hop("", f"{igw_name} ({self.igw['id']}) is not attached to {name('vpc')} ({vpc_id})")
            return None
        path.hop(f"{igw_name} attached", None)
        return self.igw["id"]

    def to_gateway(self, path: Path, subnet_id: str, vpc_id: str, peer: Peer, why: str, igw: str | None = None) -> None:
        """Traffic from `subnet_id` to `peer`'s addresses (`why`: the traffic, or its replies) is
        routed, longest prefix first, to the guide's internet gateway attached to the VPC (`igw`
        when that was already found)."""
        igw = igw or self.gateway(path, vpc_id)
        if igw is None:
            return
        table = self.table_of(subnet_id, vpc_id)
        off: dict[int, tuple[dict[str, Any] | None, list[Span]]] = {}
        for s in routing.shares(table):
            part = _and([(s.lo, s.hi)], peer.spans)
            if part and not routing.delivers(s.route, igw):
                off.setdefault(id(s.route), (s.route, []))[1].extend(part)
        if not off:
            path.hop(f"{table.get('name') or table['id']} routes {why} => {name('igw')}", None)
            return
        few = narrow(peer, [(spans, (0, 0)) for _, spans in off.values()], (0, 0))
        named = few or not peer.bulk  # the addresses are said unless they are the internet at large
        said = "; ".join(
            (f"{routing.label(r)} takes {why}" + (f" for {peer.said(spans)}" if named else ""))
            if r
            else f"no route for {why}" + (f" to {peer.said(spans)}" if named else "")
            for r, spans in off.values()
        )
        path.hop("", f"{self.table_label(table)} of {self.subnet(subnet_id)}: {said}", few)

    def edge(self, path: Path, igw: str, address: str) -> None:
        """What enters through the internet gateway `igw` for `address`: a route table associated
        with the gateway itself (an edge association) routes it, longest prefix first; it must stay
        in the VPC (local)."""
        for table in (t for t in self.tables if igw in (t.get("gateway_ids") or [])):
            r = routing.route_for(table, address)
            if r is not None and r.get("target") == "local" and (r.get("state") or "active") == "active":
                path.hop(f"{table.get('name') or table['id']} (on {name('igw')}) routes {address} locally", None)
            else:
                path.hop(
                    "",
                    f"{self.table_label(table)}, associated with {name('igw')}, sends {address} to {routing.label(r)}",
                )

    def local(self, path: Path, subnet_id: str, vpc_id: str, address: str) -> None:
        """Traffic from `subnet_id` to `address` in the VPC is routed locally."""
        table = self.table_of(subnet_id, vpc_id)
        r = routing.route_for(table, address)
        if r is not None and r.get("target") == "local" and (r.get("state") or "active") == "active":
            path.hop(f"{table.get('name') or table['id']} routes {address} locally", None)
        else:
            path.hop("", f"{self.table_label(table)} of {self.subnet(subnet_id)} sends {address} to {routing.label(r)}")

    def acl(self, path: Path, subnet_id: str, egress: bool, peer: Peer, ports: tuple[int, int], what: str) -> None:
        acl = self.acl_of(subnet_id)
        denied = acl_denies(acl, egress, peer.spans, ports)
        word = "outbound" if egress else "inbound"
        if not denied:
            path.hop(f"network ACL {acl['id']} {word}", None)
            return
        by_rule: dict[Any, tuple[list[Span], tuple[int, int]]] = {}
        for rule, spans, p in denied:
            have = by_rule.setdefault(rule, ([], p))
            have[0].extend(spans)
        parts = []
        for rule, (spans, p) in by_rule.items():
            who = "no rule allows it (the last rule, *, denies)" if rule == "*" else f"rule {rule} denies it"
            towards = "to" if egress else "from"
            parts.append(f"{word} TCP {_ports(p)} {towards} {peer.said(spans)}: {who}")
        few = narrow(peer, [(spans, p) for _, spans, p in denied], ports)
        path.hop("", f"network ACL {acl['id']} of {self.subnet(subnet_id)} ({what}): " + "; ".join(parts), few)

    def security_groups(self, path: Path, ids: list[str], direction: str, peer: Peer, port: int, where: str) -> None:
        known = [self.groups[i] for i in ids if i in self.groups]
        unread = [i for i in ids if i not in self.groups]
        missing = sg_misses(known, direction, peer, port)
        names = ", ".join(f"{g.get('name')} ({g['id']})" for g in known) or "no group vhv read"
        if not missing:
            path.hop(", ".join(g.get("name") or g["id"] for g in known), None)
            return
        word = "inbound" if direction == "ingress" else "outbound"
        towards = "from" if direction == "ingress" else "to"
        few = narrow(peer, [(missing, (port, port))], (port, port))
        path.hop(
            "",
            f"the security groups of {where} ({names}) allow no {word} TCP {port} {towards} {peer.said(missing)}",
            few,
        )
        if not few:
            path.unknown += unread


# ------------------------------------------------------------------ the paths


SOURCE = {
    "type": "object",
    "properties": {"source": STR, "when": WHEN},
    "required": ["source"],
    "additionalProperties": False,
}


def _source(ctx: Context, spec: str) -> Peer:
    if spec == INTERNET:
        return WORLD
    cidr = ctx.expand(spec)
    net = ipaddress.ip_network(cidr, strict=False)
    label = str(net.network_address) if net.prefixlen == 32 else str(net)
    return Peer(label, [_span(cidr)], internet=True)


def _queue(ctx: Context) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    inst = ctx.resource("instance")
    # an interface the snapshot does not place is in the instance's own subnet
    nics = [
        {**n, "subnet_id": n.get("subnet_id") or inst.get("subnet_id"), "vpc_id": n.get("vpc_id") or inst.get("vpc_id")}
        for n in interfaces_of(ctx, inst)
    ]
    return inst, nics


def _running(path: Path, inst: dict[str, Any]) -> None:
    state = inst.get("state")
    path.hop(f"{name('instance')} running", None if state == "running" else f"{name('instance')} is {state}")


_FEW = "but not for a few of its addresses or reply ports (less than 1/256 of them: the bulk gets through)"


def _judge(paths: list[tuple[int, Path]], what: Any, **kw: Any) -> Outcome:
    """One outcome for the ports of one path (`what(ports)` says it): a pass names the hops passed,
    a failure each hop that cuts each port."""
    cut = [(port, p) for port, p in paths if p.cuts]
    partial = list(dict.fromkeys(c for _, p in paths for c in p.partial))
    some = "; a few of its addresses or reply ports are also cut: " + "; ".join(partial) if partial else ""
    if not cut:
        hops = list(dict.fromkeys(h for _, p in paths for h in p.passed if h))
        ports = ", ".join(str(port) for port, _ in paths)
        if partial:
            return warn(
                f"{what(ports)} works, {_FEW}: " + "; ".join(partial), "the path works", "; ".join(partial), **kw
            )
        return ok(f"{what(ports)}: " + ", ".join(hops), "the path works", "works", **kw)
    by_cuts: dict[tuple[str, ...], list[int]] = {}
    for port, p in cut:  # ports cut the same way are said once
        by_cuts.setdefault(tuple(p.cuts), []).append(port)
    said = "; ".join(
        f"{what(', '.join(str(x) for x in ports))} is cut: " + "; ".join(cuts) for cuts, ports in by_cuts.items()
    )
    cuts = "; ".join(dict.fromkeys(c for _, p in cut for c in p.cuts))
    unknown = sorted({u for _, p in cut for u in p.unknown})
    if unknown:
        return warn(
            f"{said}; unless {', '.join(unknown)} (a group vhv does not read) allows it{some}",
            "the path works",
            cuts,
            **kw,
        )
    return bad(said + some, "the path works", cuts, **kw)


def _outside(vpc_id: str | None, **kw: Any) -> Outcome:
    """The queue is in another VPC: vhv reads the route tables and network ACLs of the guide's VPC
    only (the rule of the queue's subnet fails on it), so the path is not judged; never a pass."""
    return warn(
        f"{name('instance')} is in {vpc_id}, not in {name('vpc')}, whose route tables and network ACLs are the ones "
        "vhv reads: this path is not judged",
        "the path works",
        f"{name('instance')} in {vpc_id}",
        **kw,
    )


def _to_queue_public(ctx: Context, net: Network, peer: Peer, ports: list[int]) -> list[Outcome]:
    inst, nics = _queue(ctx)
    eip = ctx.resource("eip")
    ip = eip.get("public_ip")
    kw = {"resource_id": inst["id"]}
    nic = next((n for n in nics if n.get("id") and n.get("id") == eip.get("network_interface_id")), None)
    if nic is None and eip.get("instance_id") == inst["id"]:
        nic = nics[0]
    if nic is not None and nic["vpc_id"] != net.vpc["id"]:
        return [_outside(nic["vpc_id"], **kw)]
    paths = []
    for port in ports:
        path = Path()
        paths.append((port, path))
        if nic is None:
            path.hop("", f"{name('eip')} ({ip}) is not associated with {name('instance')} ({inst['id']})")
            continue
        sid, vpc_id = nic["subnet_id"], nic["vpc_id"]
        where = f"{name('instance')}'s interface {nic.get('id') or ''}".rstrip()
        igw = net.gateway(path, vpc_id)
        for address in (nic.get("private_ips") or [])[:1]:  # where the gateway delivers the address's traffic
            if igw:
                net.edge(path, igw, address)
        net.acl(path, sid, False, peer, (port, port), "the request")
        net.security_groups(path, [g["id"] for g in nic.get("security_groups") or []], "ingress", peer, port, where)
        _running(path, inst)
        net.acl(path, sid, True, peer, EPHEMERAL, "the replies")
        if igw:  # the replies leave by the subnet's route table
            net.to_gateway(path, sid, vpc_id, peer, "the replies", igw)
    return [_judge(paths, lambda p: f"{peer.label} to {name('instance')} on TCP {p} at {name('eip')} ({ip})", **kw)]


def _workers(ctx: Context, net: Network, to: str, ports: list[int]) -> list[Outcome]:
    sg = ctx.resource("sg_workers")
    subnets = _vpc_subnets(ctx)
    out = []
    if to == "queue-private":
        inst, nics = _queue(ctx)
        primary = nics[0]
        qip = inst.get("private_ip") or next(iter(primary.get("private_ips") or []), None)
        if not qip:
            raise Undecidable(f"the private address of {name('instance')} was not read")
        queue = Peer(
            f"{name('instance')} ({qip})", [_span(qip + "/32")], {g["id"] for g in primary.get("security_groups") or []}
        )
        if primary["vpc_id"] != net.vpc["id"]:
            return [_outside(primary["vpc_id"], resource_id=s["id"], resource_name=s.get("name")) for s in subnets]
    for s in subnets:
        kw = {"resource_id": s["id"], "resource_name": s.get("name")}
        if not s.get("cidr"):
            raise Undecidable(f"{net.subnet(s['id'])} has no IPv4 CIDR")
        worker = Peer(f"a worker in {s.get('name') or s['id']} ({s['cidr']})", [_span(s["cidr"])], {sg["id"]})
        paths = []
        for port in ports:
            path = Path()
            paths.append((port, path))
            if to == "queue-private":
                net.security_groups(path, [sg["id"]], "egress", queue, port, "the workers")
                net.local(path, s["id"], s["vpc_id"], qip)
                if primary["subnet_id"] != s["id"]:  # inside one subnet no ACL is crossed
                    net.acl(path, s["id"], True, queue, (port, port), "the request")
                    net.acl(path, primary["subnet_id"], False, worker, (port, port), "the request")
                    net.acl(path, primary["subnet_id"], True, worker, EPHEMERAL, "the replies")
                    net.acl(path, s["id"], False, queue, EPHEMERAL, "the replies")
                net.security_groups(
                    path,
                    [g["id"] for g in primary.get("security_groups") or []],
                    "ingress",
                    worker,
                    port,
                    f"{name('instance')}'s interface {primary.get('id') or ''}".rstrip(),
                )
                _running(path, inst)
            else:
                net.security_groups(path, [sg["id"]], "egress", WORLD, port, "the workers")
                net.to_gateway(path, s["id"], s["vpc_id"], WORLD, "internet traffic")
                net.acl(path, s["id"], True, WORLD, (port, port), "the requests")
                net.acl(path, s["id"], False, WORLD, EPHEMERAL, "the replies")
        target = queue.label if to == "queue-private" else "the internet"
        out.append(_judge(paths, lambda p, t=target, s=s: f"a worker in {net.subnet(s['id'])} to {t} on TCP {p}", **kw))
    return out


@evaluator(
    "path",
    sources={"type": "array", "items": SOURCE, "minItems": 1},
    to={"enum": ["queue-public", "queue-private", "internet"]},
    ports={"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": 65535}, "minItems": 1},
)
def path(ctx: Context, sources: list[dict[str, Any]], to: str, ports: list[int]) -> list[Outcome]:
    """Traffic from each source that applies (`workers`: a worker in each valohai subnet, in the
    workers' security group; `internet`: every internet address; else a CIDR) reaches `to` (the
    queue's Elastic IP, its private address, or the internet) on each TCP port, hop by hop as AWS
    routes and filters it; a cut path names each hop that cuts it."""
    net = Network(ctx)
    out: list[Outcome] = []
    for spec in sources:
        if not ctx.applies(spec.get("when")):
            continue
        if spec["source"] == WORKERS:
            out += _workers(ctx, net, to, ports)
        elif to == "queue-public":
            out += _to_queue_public(ctx, net, _source(ctx, spec["source"]), ports)
        else:
            raise Undecidable(f"no path from {spec['source']} to {to} is known to vhv")
    return out
