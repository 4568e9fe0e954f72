"""VPC, subnets, internet gateway and the route table."""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from validator.checks import Missing, Outcome, bad, evaluator, ok, routing, warn
from validator.checks.context import Context
from validator.kinds import KINDS, name
from validator.picking import namesakes
from validator.snapshot import Undecidable
from validator.visible import visible


def _sub(s: dict) -> str:
    return f"{s.get('name')} ({s['id']})"


def _vpc_subnets(ctx: Context) -> list[dict]:
    """The guide's subnets inside the guide's VPC. One in another VPC is the failure of the kind's
    in_vpc_rule; its CIDR, zone and route table belong to that other VPC and are not judged again."""
    vpc = ctx.resource("vpc")
    subnets = [s for s in ctx.items("subnets") if s.get("vpc_id") == vpc["id"]]
    if not subnets:
        raise Missing(f"{name('subnets')} in {name('vpc')}", KINDS["subnets"].in_vpc_rule)
    return subnets


@evaluator("in_vpc")
def in_vpc(ctx: Context) -> list[Outcome]:
    """Each resource of the kind lives in the guide's VPC. Of a kind the guide keeps in its VPC by
    picking (the subnets: any number share a Name tag), one of the name in another VPC is not the
    guide's but a lookalike: it fails here (a warning, with the rule's on_fail) naming it, no other
    rule judges it, and remediate never changes it."""
    vpc = ctx.resource("vpc")
    out = []
    for item in ctx.items():
        label = f"{visible(item.get('name') or ctx.name)} ({item['id']})"
        kw = {"resource_id": item["id"], "resource_name": item.get("name") or ctx.name}
        if item.get("vpc_id") == vpc["id"]:
            out.append(ok(f"{label} is in {name('vpc')}", vpc["id"], item.get("vpc_id"), **kw))
        else:
            out.append(
                bad(
                    f"{label} is in {item.get('vpc_id')}, not in {name('vpc')} ({vpc['id']})",
                    vpc["id"],
                    item.get("vpc_id"),
                    **kw,
                )
            )
    if KINDS[ctx.kind].pick == "in-vpc":
        out += [_lookalike(ctx, item, vpc) for item in namesakes(ctx.snap, ctx.kind) if item.get("vpc_id") != vpc["id"]]
    return out


def _lookalike(ctx: Context, item: dict, vpc: dict) -> Outcome:
    label = f"{visible(item.get('name') or ctx.name)} ({item['id']})"
    return bad(
        f"{label} in {item.get('vpc_id')}, outside {name('vpc')} ({vpc['id']}), is not one of the guide's "
        f"{ctx.name}: vhv neither checks nor changes it, yet whoever picks {ctx.name} by its name (Valohai, "
        "given the names you record) may get it",
        vpc["id"],
        item.get("vpc_id"),
        resource_id=item["id"],
        resource_name=item.get("name") or ctx.name,
    )


@evaluator("subnet_cidr_in_vpc")
def subnet_cidr_in_vpc(ctx: Context) -> list[Outcome]:
    """Each subnet's CIDR lies inside the VPC's CIDR."""
    vpc = ctx.resource("vpc")
    nets = [ipaddress.ip_network(c) for c in vpc.get("cidrs") or [vpc["cidr"]]]
    out = []
    for s in _vpc_subnets(ctx):
        kw = {"resource_id": s["id"], "resource_name": s.get("name")}
        if not s.get("cidr"):  # an IPv6-only subnet: the guide's subnets are IPv4 /20s
            out.append(bad(f"{_sub(s)} has no IPv4 CIDR", f"inside {vpc['cidr']}", "no IPv4 CIDR", **kw))
            continue
        net = ipaddress.ip_network(s["cidr"])
        if any(net.version == n.version and net.subnet_of(n) for n in nets):
            out.append(ok(f"{_sub(s)} {s['cidr']} is inside {vpc['cidr']}", f"inside {vpc['cidr']}", s["cidr"], **kw))
        else:
            out.append(
                bad(
                    f"{_sub(s)} {s['cidr']} is outside {name('vpc')}'s {vpc['cidr']}",
                    f"inside {vpc['cidr']}",
                    s["cidr"],
                    **kw,
                )
            )
    return out


@evaluator("distinct_az")
def distinct_az(ctx: Context) -> list[Outcome]:
    """No two of the guide's subnets share an availability zone (the guide: one subnet per zone).
    When every zone of the region already has one (the guide's four subnets in a region of three
    zones), the extra subnets are a warning naming the region's zones: there is nowhere to put them."""
    by_az: dict[str, list[dict]] = defaultdict(list)
    subnets = _vpc_subnets(ctx)
    for s in subnets:
        if not s.get("az"):
            raise Undecidable(f"the availability zone of {_sub(s)} was not read")
        by_az[s["az"]].append(s)
    clashes = {az: ss for az, ss in by_az.items() if len(ss) > 1}
    zones = sorted(by_az)
    if not clashes:
        return [
            ok(f"{len(subnets)} subnet(s) in {len(zones)} zone(s): {', '.join(zones)}", "one subnet per zone", zones)
        ]
    text = "; ".join(f"{', '.join(_sub(s) for s in ss)} share {az}" for az, ss in sorted(clashes.items()))
    try:
        region_zones = sorted(ctx.data("zones"))
    except Undecidable as exc:  # whether a zone is free decides between a failure and a warning
        raise Undecidable(f"{text}, and the region's availability zones are not known: {exc}") from None
    free = [z for z in region_zones if z not in by_az]
    extra = [s for az, ss in sorted(clashes.items()) for s in ss[1:]]
    region = ctx.snap.region if ctx.snap else "the region"
    if not free:
        listed = ", ".join(region_zones) or "(none)"
        return [
            warn(
                f"{len(subnets)} subnets in the {len(region_zones)} availability zone(s) of {region} ({listed}): "
                f"{text}; every zone has one, so no zone is free for the others",
                "one subnet per zone",
                text,
                fix=f"Nothing to move: {region} has {len(region_zones)} zone(s) ({listed}) and each has a subnet "
                "(the guide's four subnets are its example of one per zone). Keep the extra subnet(s) or delete "
                f"{', '.join(s.get('name') or s['id'] for s in extra)} if no instance uses them.",
            )
        ]
    movable = extra[: len(free)]
    return [
        bad(
            f"one subnet per availability zone: {text}; {', '.join(free)} of {region} has none",
            "one subnet per zone",
            text,
            fix=f"A subnet cannot change zone: create one in {' and one in '.join(free)}, named and tagged like the "
            f"others ({name('subnets')}), and delete {', '.join(s.get('name') or s['id'] for s in movable)} once no instance uses "
            f"{'them' if len(movable) > 1 else 'it'}.",
        )
    ]


@evaluator("igw_attached")
def igw_attached(ctx: Context) -> list[Outcome]:
    """The guide's internet gateway is attached to the guide's VPC."""
    igw = ctx.resource()
    vpc = ctx.resource("vpc")
    kw = {"resource_id": igw["id"]}
    vpcs = [
        a["vpc_id"]
        for a in igw.get("attachments", [])
        if a.get("state") in ("available", "attached") and a.get("vpc_id")
    ]
    if vpc["id"] in vpcs:
        return [ok(f"{name('igw')} ({igw['id']}) is attached to {name('vpc')} ({vpc['id']})", vpc["id"], vpcs, **kw)]
    actual = vpcs or "not attached"
    return [
        bad(
            f"{name('igw')} ({igw['id']}) is not attached to {name('vpc')} ({vpc['id']}); attached to: "
            f"{', '.join(vpcs) or 'nothing'}",
            vpc["id"],
            actual,
            **kw,
        )
    ]


def _internet_label(table: dict, dest: str) -> str:
    routes = [r for r in table.get("routes", []) if r.get("destination") == dest]
    return ", ".join(routing.label(r) for r in routes) or "no route"


def internet_verdict(table: dict, igw_id: str | None) -> tuple[routing.Internet, str]:
    """Where `table` sends the internet, and what it does besides its default route, said for a
    message: the more specific routes that win (a blackhole too), the part no route covers."""
    verdict = routing.internet(table, igw_id)
    parts = []
    taken = verdict.more_specific()
    if taken:
        word = "wins" if len(taken) == 1 else "win"
        parts.append(
            "longest prefix first, "
            + "; ".join(f"{routing.label(r)}" for r in taken)
            + f" {word} over 0.0.0.0/0 for "
            + ", ".join(str(r.get("destination")) for r in taken)
        )
    gap = [cidrs for r, cidrs in verdict.off if r is None]
    if gap and verdict.via:
        shown = gap[0][:4]
        more = f" and {len(gap[0]) - 4} more" if len(gap[0]) > 4 else ""
        parts.append(
            f"{', '.join(str(r.get('destination')) for r in verdict.via)} cover only part of the internet: "
            f"no route for {', '.join(shown)}{more}"
        )
    return verdict, "; ".join(parts)


@evaluator("route", destination={"enum": ["vpc", "default"]}, target={"enum": ["local", "igw"]})
def route(ctx: Context, destination: str, target: str) -> list[Outcome]:
    """The VPC's main route table routes `destination` (the VPC CIDR, or 0.0.0.0/0) to `target`. For
    0.0.0.0/0 the table is judged as VPC routing uses it: by longest prefix over all of IPv4, every
    internet address must reach `target` (two /1 routes do; a more specific route elsewhere, or a
    blackhole, takes its addresses away); a route elsewhere for private addresses only is noted."""
    table = ctx.resource()
    vpc = ctx.resource("vpc")
    dest = vpc["cidr"] if destination == "vpc" else "0.0.0.0/0"
    if target == "local":
        want, want_label = "local", "local"
    else:
        igw = ctx.resource("igw")
        want, want_label = igw["id"], f"{name('igw')} ({igw['id']})"
    kw = {"resource_id": table["id"]}
    actual = _internet_label(table, dest)
    table_name = table.get("name") or "main route table"
    if destination == "default":
        verdict, besides = internet_verdict(table, want)
        if verdict.ok:
            aside = ""
            if verdict.aside:
                aside = "; elsewhere only for private addresses: " + ", ".join(routing.label(r) for r in verdict.aside)
            if verdict.default_alone():
                said = f"{table_name} routes {dest} => {want_label}{aside}"
            else:
                via = ", ".join(str(r.get("destination")) for r in verdict.via)
                said = f"{table_name} routes all internet traffic => {want_label} by {via}{aside}"
            return [ok(said, f"{dest} => {want_label}", actual, **kw)]
        more = f"; {besides}" if besides else ""
        fix = ""
        if verdict.more_specific():
            fix = (
                f"Delete the more specific route(s) {', '.join(str(r.get('destination')) for r in verdict.more_specific())} "
                f"from {table['id']} or point them to {want_label}, and keep {dest} => {want_label} (by hand: vhv "
                "does not delete routes)."
            )
        return [
            bad(
                f"main route table {table['id']} of {name('vpc')} has {actual} for {dest}{more}; "
                f"the guide asks for {dest} => {want_label}, and internet traffic to reach it",
                f"{dest} => {want_label}",
                actual + more,
                fix=fix,
                **kw,
            )
        ]
    routes = [r for r in table.get("routes", []) if r.get("destination") == dest]
    if any(r.get("target") == want and r.get("state", "active") == "active" for r in routes):
        return [ok(f"{table_name} routes {dest} => {want_label}", f"{dest} => {want_label}", actual, **kw)]
    return [
        bad(
            f"main route table {table['id']} of {name('vpc')} has {actual} for {dest}; "
            f"the guide asks for {dest} => {want_label}",
            f"{dest} => {want_label}",
            actual,
            **kw,
        )
    ]


@evaluator("subnet_routes")
def subnet_routes(ctx: Context) -> list[Outcome]:
    """A subnet of the guide explicitly associated with a table other than the main one
    still has 0.0.0.0/0 => the guide's internet gateway there (otherwise the workers are offline)."""
    subnets = _vpc_subnets(ctx)
    tables = ctx.data("route_tables")
    igw = ctx.maybe("igw")
    igw_id = igw["id"] if igw else None
    # which tables each subnet is explicitly associated with, and which VPCs have a main table:
    # worked out once (asking every table for every subnet was subnets x tables x associations)
    associated: dict[str, list[dict]] = defaultdict(list)
    for t in tables:
        if not t.get("main"):
            for sid in dict.fromkeys(t.get("subnet_ids", [])):
                associated[sid].append(t)
    with_main = {t.get("vpc_id") for t in tables if t.get("main")}
    igw_name = name("igw")
    out = []
    for s in subnets:
        kw = {"resource_id": s["id"], "resource_name": s.get("name")}
        explicit = associated.get(s["id"], [])
        if not explicit:
            if s.get("vpc_id") not in with_main:
                # every VPC has a main table: none read means the tables were not read, not a pass
                raise Undecidable(f"no main route table was read for {s.get('vpc_id')}, the VPC of {_sub(s)}")
            out.append(ok(f"{_sub(s)} uses the main route table", "main table or a default route", "main table", **kw))
            continue
        t = explicit[0]
        verdict, besides = internet_verdict(t, igw_id)
        if verdict.ok:
            how = "0.0.0.0/0" if verdict.default_alone() else ", ".join(str(r.get("destination")) for r in verdict.via)
            out.append(
                ok(
                    f"{_sub(s)} uses {t['id']}, which routes {how} to {igw_name}",
                    f"0.0.0.0/0 => {igw_name}",
                    t["id"],
                    **kw,
                )
            )
        elif besides and verdict.more_specific():
            out.append(
                bad(
                    f"{_sub(s)} is associated with route table {t.get('name') or ''} ({t['id']}), "
                    f"which does not send internet traffic to {igw_name}: {besides}",
                    f"0.0.0.0/0 => {igw_name}",
                    f"{t['id']}: {besides}",
                    fix=f"Delete the more specific route(s) "
                    f"{', '.join(str(r.get('destination')) for r in verdict.more_specific())} from {t['id']} or "
                    f"point them to {igw_name}, or associate the subnet with the main route table (by hand: vhv "
                    "does not delete routes).",
                    **kw,
                )
            )
        else:
            out.append(
                bad(
                    f"{_sub(s)} is associated with route table {t.get('name') or ''} ({t['id']}), "
                    f"which has no 0.0.0.0/0 route to {igw_name}" + (f"; {besides}" if besides else ""),
                    f"0.0.0.0/0 => {igw_name}",
                    f"{t['id']} without a default route",
                    **kw,
                )
            )
    return out


AMAZON_DNS = "AmazonProvidedDNS"  # the domain-name-servers value for the VPC's own resolver (Route 53 Resolver)


def _servers(ctx: Context, vpc: dict) -> tuple[str, list[str] | None]:
    """(how the VPC's DHCP options are named, the DNS servers they hand its instances: None when the
    VPC has no set of its own, which leaves AWS's resolver)."""
    if "dhcp_options_id" not in vpc:
        raise Undecidable(f"the DHCP options set of {vpc['id']} was not read")
    dopt = vpc.get("dhcp_options_id")
    if dopt is None:
        return "no DHCP options set of its own", None
    options = ctx.data("vpc_dns.dhcp_options")
    if dopt not in options:
        raise Undecidable(f"the DHCP options set {dopt} of {vpc['id']} was not read")
    if options[dopt] is None:
        raise Undecidable(f"the DHCP options set {dopt} of {vpc['id']} was not found")
    return f"DHCP options set {dopt}", list(options[dopt].get("domain_name_servers") or [])


@evaluator("vpc_dns", why={"type": "string"})
def vpc_dns(ctx: Context, why: str) -> list[Outcome]:
    """The VPC's instances can resolve names: its DNS resolution (enableDnsSupport) is on and its
    DHCP options hand out AmazonProvidedDNS (AWS's default, which the guide leaves). Resolution off
    with only AmazonProvidedDNS fails; DNS servers of the customer's own, which vhv cannot judge,
    are a warning naming them."""
    vpc = ctx.resource()
    label = f"{ctx.name} ({vpc['id']})"
    support = ctx.data(f"vpc_dns.dns_support.{vpc['id']}")
    if support is None:
        raise Undecidable(f"AWS has no DNS attribute of {label}")
    dhcp, servers = _servers(ctx, vpc)
    own = [s for s in servers or [] if s.lower() != AMAZON_DNS.lower()]
    amazon = servers is None or len(own) < len(servers)
    expected = f"DNS resolution on; DHCP options with {AMAZON_DNS}"
    actual = f"DNS resolution {'on' if support else 'off'}; " + (
        f"{dhcp}" if servers is None else f"{dhcp}: {', '.join(servers) or 'no DNS server'}"
    )
    kw = {"resource_id": vpc["id"]}
    if not support and not own:
        return [
            bad(
                f"{label} has DNS resolution off (enableDnsSupport false), and its instances ask only "
                f"{AMAZON_DNS} ({dhcp}): they resolve no name, {why}",
                expected,
                actual,
                **kw,
            )
        ]
    if own:
        whose = f"{label} has DNS resolution off, and its {dhcp}" if not support else f"{label}'s {dhcp}"
        amazon_too = f" (and {AMAZON_DNS}, which {'answers' if support else 'does not answer'})" if amazon else ""
        return [
            warn(
                f"{whose} hands its instances the DNS servers {', '.join(own)}{amazon_too}: vhv cannot tell whether "
                f"they are reachable from the VPC and resolve public names; {why}",
                expected,
                actual,
                **kw,
            )
        ]
    if not amazon:
        return [warn(f"{label}'s {dhcp} names no DNS server: its instances get none; {why}", expected, actual, **kw)]
    return [ok(f"{label} resolves names with {AMAZON_DNS} (DNS resolution on; {dhcp})", expected, actual, **kw)]
