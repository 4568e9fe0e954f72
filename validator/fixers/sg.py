"""Security-group fixers: create the guide's two groups, add a missing rule, and (a decision)
revoke a rule wider than the guide. A group itself is never deleted."""

from __future__ import annotations

from typing import Any

from validator.checks import Missing
from validator.checks import sg as sg_checks
from validator.fixers.builder import Builder, tag_spec
from validator.fixers.network import _found_elsewhere, _tag
from validator.fixers.plan import DECIDE, FIX

PERMISSIONS = (
    "ec2:CreateSecurityGroup",
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
    "ec2:CreateTags",
)
GROUPS = {
    "sg_workers": ("valohai-sg-workers", "Valohai workers"),
    "sg_queue": ("valohai-sg-queue", "Valohai worker queue"),
}
# the rules that list every rule a group must have, and those that find one missing
ONLY = {"sg_workers": "sg-workers-ingress-only-valohai-ssh", "sg_queue": "sg-queue-ingress-only-guide"}
ALLOWS = {
    "sg_workers": ("sg-workers-egress-web", "sg-workers-egress-queue"),
    "sg_queue": (
        "sg-queue-ingress-http",
        "sg-queue-ingress-redis-valohai",
        "sg-queue-ingress-redis-workers",
        "sg-queue-ingress-ssh",
    ),
}
VERB = {"ingress": "ingress", "egress": "egress"}


def permission(
    protocol: str, port: int | None, cidr: str | None = None, group: str | None = None, description: str = ""
) -> dict[str, Any]:
    p: dict[str, Any] = {"IpProtocol": protocol}
    if protocol != "-1" and port is not None:
        p["FromPort"] = p["ToPort"] = port
    peer = {"Description": description} if description else {}
    if group:
        p["UserIdGroupPairs"] = [{"GroupId": group, **peer}]
    else:
        p["IpRanges"] = [{"CidrIp": cidr, **peer}]
    return p


def _flat_to_permission(r: dict[str, Any]) -> dict[str, Any]:
    """A rule as the snapshot holds it -> the IpPermissions entry that names exactly it."""
    p: dict[str, Any] = {"IpProtocol": r["protocol"]}
    if r["protocol"] != "-1":
        p["FromPort"], p["ToPort"] = r.get("from_port"), r.get("to_port")
    if r.get("cidr"):
        p["IpRanges"] = [{"CidrIp": r["cidr"]}]
    elif r.get("cidr_ipv6"):
        p["Ipv6Ranges"] = [{"CidrIpv6": r["cidr_ipv6"]}]
    elif r.get("group_id"):
        p["UserIdGroupPairs"] = [{"GroupId": r["group_id"]}]
    elif r.get("prefix_list_id"):
        p["PrefixListIds"] = [{"PrefixListId": r["prefix_list_id"]}]
    return p


def _specs(b: Builder, rule_id: str) -> list[dict[str, Any]]:
    ctx = b.ctx(b.rules[rule_id].resource)
    return [s for s in b.rules[rule_id].args["rules"] if ctx.applies(s.get("when"))]


def _source(b: Builder, spec: dict[str, Any]) -> tuple[str | None, str | None]:
    """(cidr, group id or reference) of a guide rule's source."""
    src = spec["source"]
    if src.startswith("sg:"):
        return None, b.id_of(src[3:])
    return b.ctx("params").expand(src), None


def _authorize(b: Builder, rule: str, kind: str, group: str, direction: str, spec: dict[str, Any]) -> None:
    cidr, peer = _source(b, spec)
    src = spec["source"]  # a group (sg:sg_workers -> valohai-sg-workers) or a CIDR ({admin_cidr} -> its value)
    shown = src[3:].replace("_", "-").replace("sg-", "valohai-sg-") if src.startswith("sg:") else b.expand(src)
    label = f"{spec['protocol'].upper()} {spec.get('port', '')} {'from' if direction == 'ingress' else 'to'} {shown}"
    if not (cidr or peer):  # the peer group is not one vhv may refer to (missing, or not in valohai-vpc)
        b.manual(
            rule,
            kind,
            f"allow {direction} {label} on {GROUPS[kind][0]} once that "
            "group is in valohai-vpc (vhv found none there to refer to)",
        )
        return
    b.add(
        rule,
        kind,
        f"ec2.authorize_security_group_{direction}",
        {
            "GroupId": group,
            "IpPermissions": [
                permission(spec["protocol"], spec.get("port"), cidr, peer, description="the Valohai setup guide")
            ],
        },
        f"allow {direction} {label} on {GROUPS[kind][0]}",
        risk=FIX,
    )


def _create(b: Builder, kind: str) -> None:
    name, desc = GROUPS[kind]
    vpc = b.id_of("vpc")
    rule = f"{kind.replace('_', '-')}-exists"
    if not vpc:
        b.manual(rule, kind, f"create {name} in valohai-vpc (vhv found no valohai-vpc to put it in)")
        return
    b.add(
        rule,
        kind,
        "ec2.create_security_group",
        {"GroupName": name, "Description": desc, "VpcId": vpc, "TagSpecifications": tag_spec("security-group", name)},
        f"create {name} in valohai-vpc",
        creates="GroupId",
    )
    for spec in _specs(b, ONLY[kind]):  # every inbound rule of the guide; outbound is open by default
        _authorize(b, rule, kind, b.id_of(kind), "ingress", spec)


def _missing_specs(b: Builder, kind: str, rule_id: str) -> list[dict[str, Any]]:
    ctx = b.ctx(kind)
    group = b.existing(kind)
    direction = b.rules[rule_id].args["direction"]
    out = []
    for spec in _specs(b, rule_id):
        try:
            want = sg_checks._Want(ctx, spec)
        except Missing:  # its peer group is being created: only a rule open to the world covers it yet
            if not any(_world_covers(r, spec) for r in group.get(direction, [])):
                out.append(spec)
            continue
        if not any(want.covered_by(r) for r in group.get(direction, [])):
            out.append(spec)
    return out


def _world_covers(r: dict[str, Any], spec: dict[str, Any]) -> bool:
    if r.get("cidr") != "0.0.0.0/0":
        return False
    if r.get("protocol") == "-1":
        return True
    port = spec.get("port")
    return r.get("protocol") == spec["protocol"] and (
        port is None or r.get("from_port", 0) <= port <= r.get("to_port", 65535)
    )


def _peer_created(spec: dict[str, Any], created: set[str]) -> bool:
    return spec["source"].startswith("sg:") and spec["source"][3:] in created


def plan_groups(b: Builder) -> None:
    for kind in GROUPS:
        if b.fails(f"{kind.replace('_', '-')}-exists") and not _found_elsewhere(
            b, f"{kind.replace('_', '-')}-exists", kind
        ):
            _create(b, kind)
    for kind in GROUPS:
        if kind in b.created or not b.existing(kind):
            continue
        group = b.existing(kind)
        for rule in ALLOWS[kind]:
            failing = bool(b.fails(rule))
            new_peer = [s for s in _specs(b, rule) if _peer_created(s, set(b.created))]
            if not failing and not new_peer:
                continue
            direction = b.rules[rule].args["direction"]
            for spec in _missing_specs(b, kind, rule):
                if failing:
                    _authorize(b, rule, kind, group["id"], direction, spec)
                elif _peer_created(spec, set(b.created)):  # the rule skipped: its peer group was missing
                    peer = spec["source"][3:]
                    _authorize(b, f"{peer.replace('_', '-')}-exists", kind, group["id"], direction, spec)
        _tag(b, f"{kind.replace('_', '-')}-tag", kind)
        _revoke_wider(b, kind, group)


def _revoke_wider(b: Builder, kind: str, group: dict[str, Any]) -> None:
    rule = ONLY[kind]
    if not b.fails(rule):
        return
    ctx = b.ctx(kind)
    direction = b.rules[rule].args["direction"]
    wants = sg_checks._wants(ctx, b.rules[rule].args["rules"], allow_missing=True)
    names = {g["id"]: g["name"] for g in b.get("security_groups", []) or []}
    for r in group.get(direction, []):
        if not any(w.contains(r) for w in wants):
            b.add(
                rule,
                kind,
                f"ec2.revoke_security_group_{direction}",
                {"GroupId": group["id"], "IpPermissions": [_flat_to_permission(r)]},
                f"revoke {direction} {sg_checks.describe(r, names)} from {GROUPS[kind][0]} (the group stays)",
                risk=DECIDE,
            )


HANDLERS = (plan_groups,)
