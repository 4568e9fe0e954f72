"""Where a route table sends IPv4 traffic: the longest prefix that matches wins, as VPC routing does.

A table's routes split all of IPv4 into shares, each decided by its most specific route (or by none:
no route, the traffic is dropped). A blackholed route still wins its share and drops it. The rules
ask where the internet goes (every address outside the private and special ranges); the path rules
ask where one address goes.
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ALL = 2**32
# addresses that are not the internet: a route for them only is not where internet traffic goes
NOT_INTERNET = tuple(
    ipaddress.ip_network(c)
    for c in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
ACTIVE = "active"


@lru_cache(maxsize=4096)
def _net(cidr: str) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None
    return net if net.version == 4 else None


def ipv4_routes(table: dict[str, Any]) -> list[tuple[ipaddress.IPv4Network, dict[str, Any]]]:
    """The table's routes to an IPv4 CIDR (a prefix list's addresses are not in the snapshot, and
    IPv6 is another table of prefixes), the first of any two for the same CIDR."""
    seen: dict[ipaddress.IPv4Network, dict[str, Any]] = {}
    for r in table.get("routes") or []:
        net = _net(r.get("destination") or "")
        if net is not None and net not in seen:
            seen[net] = r
    return list(seen.items())


def route_for(table: dict[str, Any], address: str) -> dict[str, Any] | None:
    """The route that decides where `address` goes: the most specific one holding it, or None."""
    ip = ipaddress.ip_address(address)
    best: tuple[int, dict[str, Any]] | None = None
    for net, r in ipv4_routes(table):
        if ip in net and (best is None or net.prefixlen > best[0]):
            best = (net.prefixlen, r)
    return best[1] if best else None


def label(r: dict[str, Any] | None) -> str:
    if r is None:
        return "no route"
    return f"{r.get('destination')} => {r.get('target')} ({r.get('state') or ACTIVE})"


def delivers(r: dict[str, Any] | None, target: str | None) -> bool:
    """`r` sends its traffic to `target`, and is not a blackhole."""
    return bool(r and target and r.get("target") == target and (r.get("state") or ACTIVE) == ACTIVE)


@dataclass
class Share:
    """Addresses [lo, hi) decided by one route (None: no route)."""

    lo: int
    hi: int
    route: dict[str, Any] | None
    internet: bool

    def cidrs(self) -> list[str]:
        first, last = ipaddress.IPv4Address(self.lo), ipaddress.IPv4Address(self.hi - 1)
        return [str(n) for n in ipaddress.summarize_address_range(first, last)]


def shares(table: dict[str, Any]) -> list[Share]:
    """All of IPv4, split by the route that decides each part (adjacent parts of one route and of one
    kind, internet or not, merged). CIDRs nest or are apart, so the most specific route holding an
    address is the innermost one open at it: one sweep over the routes' edges."""
    routes = ipv4_routes(table)
    spans = sorted(
        ((int(n.network_address), int(n.broadcast_address) + 1, r) for n, r in routes),
        key=lambda x: (x[0], -(x[1] - x[0])),
    )
    private = sorted((int(n.network_address), int(n.broadcast_address) + 1) for n in NOT_INTERNET)
    edges = sorted({0, ALL, *(x for lo, hi, _ in spans for x in (lo, hi)), *(x for span in private for x in span)})
    out: list[Share] = []
    open_: list[tuple[int, dict[str, Any]]] = []  # (end, route), innermost last
    i = 0
    for lo, hi in zip(edges, edges[1:]):
        while open_ and open_[-1][0] <= lo:
            open_.pop()
        while i < len(spans) and spans[i][0] <= lo:
            if spans[i][1] > lo:
                open_.append((spans[i][1], spans[i][2]))
            i += 1
        route = open_[-1][1] if open_ else None
        at = bisect.bisect_right(private, (lo, ALL + 1)) - 1
        internet = not (at >= 0 and private[at][0] <= lo < private[at][1])
        if route is not None and route.get("target") == "local":
            internet = False  # the VPC's own addresses
        if out and out[-1].route is route and out[-1].internet == internet and out[-1].hi == lo:
            out[-1].hi = hi
        else:
            out.append(Share(lo, hi, route, internet))
    return out


@dataclass
class Internet:
    """Where a table sends the internet: by the routes to `target` (`via`), or elsewhere (`off`: each
    winning route, or None for no route, with the addresses it takes); `aside`: routes that win only
    for private or special addresses and go elsewhere (nothing of the internet)."""

    target: str | None
    via: list[dict[str, Any]] = field(default_factory=list)
    off: list[tuple[dict[str, Any] | None, list[str]]] = field(default_factory=list)
    aside: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.off

    def default_alone(self) -> bool:
        """Every internet address goes by the one route for 0.0.0.0/0."""
        return [r.get("destination") for r in self.via] == ["0.0.0.0/0"]

    def describe_off(self) -> str:
        parts = []
        for r, cidrs in self.off:
            shown = ", ".join(cidrs[:4]) + (f" and {len(cidrs) - 4} more" if len(cidrs) > 4 else "")
            if r is None:
                parts.append(f"no route for {shown}")
            elif r.get("destination") == "0.0.0.0/0":
                parts.append(label(r))
            else:
                parts.append(f"{label(r)} wins for {r.get('destination')}")
        return "; ".join(parts)

    def more_specific(self) -> list[dict[str, Any]]:
        """The routes that take internet traffic from the default route: more specific than 0.0.0.0/0."""
        return [r for r, _ in self.off if r is not None and r.get("destination") != "0.0.0.0/0"]


def internet(table: dict[str, Any], target: str | None) -> Internet:
    """Where `table` sends internet traffic, judged against the gateway `target`."""
    out = Internet(target)
    off: dict[int, tuple[dict[str, Any] | None, list[str]]] = {}
    # addresses with no route are named as whole runs (no route for 128.0.0.0/1), private ones inside
    # them too: the run is what a route would have to cover
    run: list[Share] = []

    def close() -> None:
        if run and any(s.internet for s in run):
            whole = Share(run[0].lo, run[-1].hi, None, True)
            off.setdefault(0, (None, []))[1].extend(whole.cidrs())
        run.clear()

    for s in shares(table):
        if s.route is None:
            run.append(s)
            continue
        close()
        if not s.internet:
            if s.route.get("target") != "local" and not delivers(s.route, target):
                if all(s.route is not r for r in out.aside):
                    out.aside.append(s.route)
            continue
        if delivers(s.route, target):
            if all(s.route is not r for r in out.via):
                out.via.append(s.route)
            continue
        off.setdefault(id(s.route), (s.route, []))[1].extend(s.cidrs())
    close()
    out.off = list(off.values())
    # a route that takes some internet addresses is not "aside"
    out.aside = [r for r in out.aside if all(r is not o for o, _ in out.off)]
    return out
