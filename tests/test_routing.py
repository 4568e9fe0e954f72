"""validator/checks/routing.py and the hops of validator/checks/paths.py, on hand-made tables: the
longest prefix wins over all of IPv4, and a network ACL decides by rule number."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from validator.checks import routing
from validator.checks.paths import PUBLIC, acl_denies


def table(*routes: tuple[str, str, str]) -> dict[str, Any]:
    return {"routes": [{"destination": d, "target": t, "state": s} for d, t, s in routes]}


LOCAL = ("10.0.0.0/16", "local", "active")


def test_the_most_specific_route_wins_for_every_address_of_random_tables():
    rng = random.Random(17)
    for _ in range(200):
        routes = [
            (str(ipaddress.ip_network((rng.getrandbits(32), rng.randint(0, 24)), strict=False)), t, "active")
            for t in rng.choices(["igw-1", "nat-1", "local"], k=rng.randint(1, 12))
        ]
        t = table(*routes)
        shares = routing.shares(t)
        assert shares[0].lo == 0 and shares[-1].hi == routing.ALL
        assert all(a.hi == b.lo for a, b in zip(shares, shares[1:]))
        for s in shares:
            for addr in (s.lo, s.hi - 1, (s.lo + s.hi) // 2):
                assert routing.route_for(t, str(ipaddress.IPv4Address(addr))) is s.route, (routes, addr)


def test_two_halves_to_a_nat_gateway_take_the_internet_from_the_default_route():
    t = table(
        LOCAL, ("0.0.0.0/0", "igw-1", "active"), ("0.0.0.0/1", "nat-1", "active"), ("128.0.0.0/1", "nat-1", "active")
    )
    verdict = routing.internet(t, "igw-1")
    assert not verdict.ok and verdict.via == []
    assert [r["destination"] for r in verdict.more_specific()] == ["0.0.0.0/1", "128.0.0.0/1"]


def test_two_halves_to_the_gateway_without_a_default_route_reach_it():
    verdict = routing.internet(
        table(LOCAL, ("0.0.0.0/1", "igw-1", "active"), ("128.0.0.0/1", "igw-1", "active")), "igw-1"
    )
    assert verdict.ok and not verdict.default_alone()


def test_a_blackhole_wins_its_addresses_and_a_private_range_elsewhere_is_only_noted():
    hole = routing.internet(
        table(LOCAL, ("0.0.0.0/0", "igw-1", "active"), ("8.8.8.0/24", "nat-1", "blackhole")), "igw-1"
    )
    assert not hole.ok and hole.describe_off() == "8.8.8.0/24 => nat-1 (blackhole) wins for 8.8.8.0/24"
    aside = routing.internet(
        table(LOCAL, ("0.0.0.0/0", "igw-1", "active"), ("192.168.0.0/16", "pcx-1", "active")), "igw-1"
    )
    assert aside.ok and [r["destination"] for r in aside.aside] == ["192.168.0.0/16"]


def test_half_the_internet_without_a_route_is_named():
    verdict = routing.internet(table(LOCAL, ("0.0.0.0/1", "igw-1", "active")), "igw-1")
    assert verdict.describe_off() == "no route for 128.0.0.0/1"


def acl(*entries: tuple[int, bool, str, str, tuple[int, int] | None]) -> dict[str, Any]:
    return {
        "entries": [
            {
                "rule_number": n,
                "egress": egress,
                "protocol": "tcp" if ports else "-1",
                "action": action,
                "cidr": cidr,
                "from_port": ports[0] if ports else None,
                "to_port": ports[1] if ports else None,
            }
            for n, egress, action, cidr, ports in entries
        ]
    }


APP = (int(ipaddress.IPv4Address("34.248.245.191")), int(ipaddress.IPv4Address("34.248.245.191")) + 1)


def test_a_network_acl_decides_by_rule_number_not_by_order_of_writing():
    deny_then_allow = acl(
        (200, False, "allow", "0.0.0.0/0", None), (90, False, "deny", "34.248.245.191/32", (63790, 63790))
    )
    assert acl_denies(deny_then_allow, False, [APP], (63790, 63790)) == [(90, [APP], (63790, 63790))]
    allow_then_deny = acl((100, False, "allow", "0.0.0.0/0", None), (200, False, "deny", "34.248.245.191/32", None))
    assert acl_denies(allow_then_deny, False, [APP], (63790, 63790)) == []


def test_replies_need_every_ephemeral_port_and_what_no_rule_allows_is_denied_by_the_last_rule():
    linux_only = acl((100, True, "allow", "0.0.0.0/0", (32768, 65535)))
    assert acl_denies(linux_only, True, [APP], (1024, 65535)) == [("*", [APP], (1024, 32767))]
    assert acl_denies(linux_only, False, PUBLIC, (80, 80))[0][0] == "*"  # no inbound rule at all
