"""rules/6-paths.yaml against the guide's account in moto: the guide's network paths, hop by hop.

Each drift is made through boto3 (network ACLs, routes, security groups, the queue's state) and
must fail the path it cuts, naming the hop; a change that keeps every path open (rules in another
order, two /1 routes to the gateway) passes. Which per-resource rules fail beside is asserted in
tests/test_rules_network.py and tests/test_rules_queue.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Account, ids_of
from tests.test_rules_network import halves, nat_gateway, revoke, route_table
from validator import engine
from validator import params as params_mod

APP = "34.248.245.191/32"
WORLD = "0.0.0.0/0"
PATH_RULES = {
    "path-valohai-to-queue",
    "path-internet-to-queue-http",
    "path-ssh-to-queue",
    "path-workers-to-queue",
    "path-workers-to-internet",
}


def path_rule_ids(pack) -> set[str]:
    return {r.id for r in pack.rules if r.source == "6-paths.yaml"}


def acl_of(a: Account, subnet: str) -> tuple[str, str]:
    """The network ACL of `subnet` and the id of that association."""
    acls = a.ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [a.ids["vpc"]]}])["NetworkAcls"]
    for acl in acls:
        for x in acl["Associations"]:
            if x["SubnetId"] == subnet:
                return acl["NetworkAclId"], x["NetworkAclAssociationId"]
    raise AssertionError(subnet)


def new_acl(a: Account, subnet: str, *entries: tuple[int, bool, str, str, tuple[int, int] | None]) -> str:
    """A network ACL of (rule number, egress, allow|deny, CIDR, ports or None for all traffic) for `subnet`."""
    acl = a.ec2.create_network_acl(VpcId=a.ids["vpc"])["NetworkAcl"]["NetworkAclId"]
    for number, egress, action, cidr, ports in entries:
        extra: dict[str, Any] = {"Protocol": "-1"}
        if ports:
            extra = {"Protocol": "6", "PortRange": {"From": ports[0], "To": ports[1]}}
        a.ec2.create_network_acl_entry(
            NetworkAclId=acl, RuleNumber=number, RuleAction=action, Egress=egress, CidrBlock=cidr, **extra
        )
    a.ec2.replace_network_acl_association(AssociationId=acl_of(a, subnet)[1], NetworkAclId=acl)
    return acl


OPEN = ((100, False, "allow", WORLD, None), (100, True, "allow", WORLD, None))


def failing_paths(result) -> dict[str, str]:
    return {
        f.rule_id: " | ".join(x.message for x in result.of(f.rule_id) if x.status == "fail")
        for f in result.findings
        if f.rule_id in PATH_RULES and f.status == "fail"
    }


# ------------------------------------------------------------------ golden

GOLDEN = {
    "path-valohai-to-queue": "34.248.245.191 to valohai-i-queue on TCP 63790 at valohai-ip-queue",
    "path-internet-to-queue-http": "the internet to valohai-i-queue on TCP 80 at valohai-ip-queue",
    "path-ssh-to-queue": "203.0.113.7 to valohai-i-queue on TCP 22 at valohai-ip-queue",
    "path-workers-to-queue": "a worker in valohai-subnet-2 ({subnet_2}) to valohai-i-queue",
    "path-workers-to-internet": "a worker in valohai-subnet-3 ({subnet_3}) to the internet on TCP 80, 443: "
    "valohai-sg-workers, valohai-igw attached, valohai-rt routes internet traffic => valohai-igw",
}


def test_the_guides_account_passes_every_path_naming_its_hops(account):
    assert set(GOLDEN) == path_rule_ids(account.pack) == PATH_RULES
    result = account.check()
    ids = ids_of(account)
    for rule_id, fragment in GOLDEN.items():
        found = result.of(rule_id)
        assert {f.status for f in found} == {"pass"}, [f.message for f in found]
        assert fragment.format(**ids) in " | ".join(f.message for f in found), rule_id
    # one finding for each valohai subnet
    assert {f.resource_id for f in result.of("path-workers-to-internet")} == set(account.ids["subnets"])
    queue = result.one("path-valohai-to-queue").message
    assert "valohai-sg-queue, valohai-i-queue running" in queue and "valohai-rt routes the replies" in queue


# ------------------------------------------------------------------ cut paths


def _acl_denies_app_on_queue_subnet(a: Account) -> dict[str, str]:
    return {"acl": new_acl(a, a.ids["subnets"][0], (90, False, "deny", APP, (63790, 63790)), *OPEN)}


def _acl_without_ephemeral_replies(a: Account) -> dict[str, str]:
    """The queue's subnet answers only on 32768-65535 (Linux's range): a client on 1024-32767 is cut."""
    return {
        "acl": new_acl(
            a, a.ids["subnets"][0], (100, False, "allow", WORLD, None), (100, True, "allow", WORLD, (32768, 65535))
        )
    }


def _acl_denies_https_from_worker_subnet(a: Account) -> dict[str, str]:
    return {"acl": new_acl(a, a.ids["subnets"][2], (50, True, "deny", WORLD, (443, 443)), *OPEN)}


def _halves_to_nat(a: Account) -> dict[str, str]:
    nat = nat_gateway(a)
    halves(a, a.ids["rt"], NatGatewayId=nat)
    return {"nat": nat}


def _queue_subnet_detoured(a: Account) -> dict[str, str]:
    """valohai-subnet-2's own table sends the queue's subnet, more specific than the VPC's local
    route, to a NAT gateway."""
    own = route_table(a, "detour", True, a.ids["subnets"][1])
    nat = nat_gateway(a)
    a.ec2.create_route(RouteTableId=own, DestinationCidrBlock="10.0.0.0/20", NatGatewayId=nat)
    return {"own": own, "nat": nat}


def _no_redis_from_app(a: Account) -> dict[str, str]:
    revoke(a, a.ids["sg_queue"], 63790, APP)
    nic = a.ec2.describe_instances(InstanceIds=[a.ids["instance"]])["Reservations"][0]["Instances"][0]
    return {"eni": nic["NetworkInterfaces"][0]["NetworkInterfaceId"]}


def _stopped(a: Account) -> None:
    a.ec2.stop_instances(InstanceIds=[a.ids["instance"]])


def _igw_detached(a: Account) -> None:
    a.ec2.detach_internet_gateway(InternetGatewayId=a.ids["igw"], VpcId=a.ids["vpc"])


def _eip_disassociated(a: Account) -> None:
    assoc = a.ec2.describe_addresses(AllocationIds=[a.ids["eip"]])["Addresses"][0]["AssociationId"]
    a.ec2.disassociate_address(AssociationId=assoc)


def _igw_edge_detour(a: Account) -> dict[str, str]:
    """A route table associated with valohai-igw itself (an edge association) sends what enters for the
    queue's subnet to an appliance's interface, more specific than the VPC's local route."""
    eni = a.ec2.create_network_interface(SubnetId=a.ids["subnets"][1])["NetworkInterface"]["NetworkInterfaceId"]
    edge = a.ec2.create_route_table(VpcId=a.ids["vpc"])["RouteTable"]["RouteTableId"]
    a.ec2.create_route(RouteTableId=edge, DestinationCidrBlock="10.0.0.0/20", NetworkInterfaceId=eni)
    a.ec2.associate_route_table(RouteTableId=edge, GatewayId=a.ids["igw"])
    return {"edge": edge, "eni": eni}


def _igw_edge_local(a: Account) -> None:
    edge = a.ec2.create_route_table(VpcId=a.ids["vpc"])["RouteTable"]["RouteTableId"]
    a.ec2.associate_route_table(RouteTableId=edge, GatewayId=a.ids["igw"])


CUT = [
    pytest.param(
        _igw_edge_detour,
        {
            "path-valohai-to-queue": "is cut: route table ({edge}), associated with valohai-igw, sends 10.0.0.",
            "path-internet-to-queue-http": "10.0.0.0/20 => {eni} (active)",
            "path-ssh-to-queue": "associated with valohai-igw",
        },
        id="igw edge table detours the queue's subnet",
    ),
    pytest.param(
        _acl_denies_app_on_queue_subnet,
        {
            "path-valohai-to-queue": "34.248.245.191 to valohai-i-queue on TCP 63790 at valohai-ip-queue ({eip_ip}) is "
            "cut: network ACL {acl} of valohai-subnet-1 ({subnet_1}) (the request): inbound TCP 63790 from "
            "34.248.245.191: rule 90 denies it",
            # a worker of that subnet whose ephemeral port is 63790 gets no reply from that address: a warning
            # (test_a_cut_of_a_few_addresses_or_ports_of_the_internet_warns), not a failure
        },
        id="network acl denies app.valohai.com",
    ),
    pytest.param(
        _acl_without_ephemeral_replies,
        {
            "path-valohai-to-queue": "network ACL {acl} of valohai-subnet-1 ({subnet_1}) (the replies): outbound TCP "
            "1024-32767 to 34.248.245.191: no rule allows it (the last rule, *, denies)",
            "path-internet-to-queue-http": "(the replies): outbound TCP 1024-32767 to the internet",
            "path-ssh-to-queue": "(the replies): outbound TCP 1024-32767 to 203.0.113.7",
            # the workers of the other subnets send to the queue's subnet, whose replies are cut too
            "path-workers-to-queue": "(the replies): outbound TCP 1024-32767 to a worker in valohai-subnet-2",
            "path-workers-to-internet": "a worker in valohai-subnet-1 ({subnet_1}) to the internet on TCP 80 is cut: "
            "network ACL {acl} of valohai-subnet-1 ({subnet_1}) (the requests): outbound TCP 80 to the internet: no "
            "rule allows it",
        },
        id="network acl without the ephemeral replies",
    ),
    pytest.param(
        _acl_denies_https_from_worker_subnet,
        {
            "path-workers-to-internet": "a worker in valohai-subnet-3 ({subnet_3}) to the internet on TCP 443 is cut: "
            "network ACL {acl} of valohai-subnet-3 ({subnet_3}) (the requests): outbound TCP 443 to the internet: rule "
            "50 denies it",
        },
        id="network acl denies https from a worker subnet",
    ),
    pytest.param(
        _halves_to_nat,
        {
            "path-valohai-to-queue": "route table valohai-rt ({rt}) of valohai-subnet-1 ({subnet_1}): 0.0.0.0/1 => "
            "{nat} (active) takes the replies for 34.248.245.191",
            "path-internet-to-queue-http": "0.0.0.0/1 => {nat} (active) takes the replies; 128.0.0.0/1 => {nat} "
            "(active) takes the replies",
            "path-ssh-to-queue": "128.0.0.0/1 => {nat} (active) takes the replies for 203.0.113.7",
            "path-workers-to-internet": "a worker in valohai-subnet-2 ({subnet_2}) to the internet on TCP 80, 443 is "
            "cut: route table valohai-rt ({rt}) of valohai-subnet-2 ({subnet_2}): 0.0.0.0/1 => {nat} (active) takes "
            "internet traffic; 128.0.0.0/1 => {nat} (active) takes internet traffic",
        },
        id="two /1 routes to a nat gateway",
    ),
    pytest.param(
        _queue_subnet_detoured,
        {
            "path-workers-to-queue": "a worker in valohai-subnet-2 ({subnet_2}) to valohai-i-queue (10.0.0.4) on TCP "
            "63790 is cut: route table detour ({own}) of valohai-subnet-2 ({subnet_2}) sends 10.0.0.4 to "
            "10.0.0.0/20 => {nat} (active)",
        },
        id="a more specific route than local detours the queue's subnet",
    ),
    pytest.param(
        _no_redis_from_app,
        {
            "path-valohai-to-queue": "the security groups of valohai-i-queue's interface {eni} (valohai-sg-queue "
            "({sg_queue})) allow no inbound TCP 63790 from 34.248.245.191",
        },
        id="valohai-sg-queue without redis from app.valohai.com",
    ),
    pytest.param(
        _stopped,
        {
            "path-valohai-to-queue": "is cut: valohai-i-queue is stopped",
            "path-internet-to-queue-http": "is cut: valohai-i-queue is stopped",
            "path-ssh-to-queue": "is cut: valohai-i-queue is stopped",
            "path-workers-to-queue": "a worker in valohai-subnet-3 ({subnet_3}) to valohai-i-queue (10.0.0.4) on TCP "
            "63790 is cut: valohai-i-queue is stopped",
        },
        id="queue stopped",
    ),
    pytest.param(
        _igw_detached,
        {
            "path-valohai-to-queue": "is cut: valohai-igw ({igw}) is not attached to valohai-vpc ({vpc})",
            "path-internet-to-queue-http": "is cut: valohai-igw ({igw}) is not attached to valohai-vpc ({vpc})",
            "path-ssh-to-queue": "is cut: valohai-igw ({igw}) is not attached to valohai-vpc ({vpc})",
            "path-workers-to-internet": "is cut: valohai-igw ({igw}) is not attached to valohai-vpc ({vpc})",
        },
        id="igw detached",
    ),
    pytest.param(
        _eip_disassociated,
        {
            "path-valohai-to-queue": "is cut: valohai-ip-queue ({eip_ip}) is not associated with valohai-i-queue "
            "({instance})",
            "path-internet-to-queue-http": "is not associated with valohai-i-queue",
            "path-ssh-to-queue": "is not associated with valohai-i-queue",
        },
        id="eip disassociated",
    ),
]


def _eip_ip(a: Account) -> str:
    return a.ec2.describe_addresses(AllocationIds=[a.ids["eip"]])["Addresses"][0]["PublicIp"]


@pytest.mark.parametrize("drift, cut", CUT)
def test_a_cut_path_fails_naming_the_hop_that_cuts_it(account, drift, cut):
    ip = _eip_ip(account)
    extra = drift(account) or {}
    result = account.check()
    ids = ids_of(account, {**extra, "eip_ip": ip})
    got = failing_paths(result)
    assert set(got) == set(cut), got
    for rule_id, fragment in cut.items():
        assert fragment.format(**ids) in got[rule_id], (rule_id, got[rule_id])


def _route_app_to_nat(a: Account) -> dict[str, str]:
    nat = nat_gateway(a)
    a.ec2.create_route(RouteTableId=a.ids["rt"], DestinationCidrBlock=APP, NatGatewayId=nat)
    return {"nat": nat}


def _route_admin_to_a_deleted_interface(a: Account) -> dict[str, str]:
    eni = a.ec2.create_network_interface(SubnetId=a.ids["subnets"][1])["NetworkInterface"]["NetworkInterfaceId"]
    a.ec2.create_route(RouteTableId=a.ids["rt"], DestinationCidrBlock="203.0.113.7/32", NetworkInterfaceId=eni)
    a.ec2.delete_network_interface(NetworkInterfaceId=eni)
    return {"eni": eni}


def _acl_denies_redis_on_queue_subnet(a: Account) -> dict[str, str]:
    return {"acl": new_acl(a, a.ids["subnets"][0], (50, False, "deny", WORLD, (63790, 63790)), *OPEN)}


def _acl_denies_everything_from_app_on_queue_subnet(a: Account) -> dict[str, str]:
    return {"acl": new_acl(a, a.ids["subnets"][0], (10, False, "deny", APP, None), *OPEN)}


FEW = "works, but not for a few of its addresses or reply ports (less than 1/256 of them: the bulk gets through): "
WORKERS_1 = "a worker in valohai-subnet-1 ({subnet_1}) to the internet on TCP 80, 443 " + FEW
HTTP = "the internet to valohai-i-queue on TCP 80 at valohai-ip-queue ({eip_ip}) " + FEW

# held-out R6, R9, N1, N7: one address (or one reply port) of the internet cut is not the internet cut
FEW_CUT = [
    pytest.param(
        _route_app_to_nat,
        {"path-valohai-to-queue": "{nat} (active) takes the replies for 34.248.245.191"},
        {
            "path-workers-to-internet": "valohai-subnet-2 ({subnet_2}) to the internet on TCP 80, 443 "
            + FEW
            + "route table valohai-rt ({rt}) of valohai-subnet-2 ({subnet_2}): 34.248.245.191/32 => {nat} "
            "(active) takes internet traffic for 34.248.245.191/32",
            "path-internet-to-queue-http": HTTP + "route table valohai-rt ({rt}) of valohai-subnet-1 "
            "({subnet_1}): 34.248.245.191/32 => {nat} (active) takes the replies for 34.248.245.191/32",
        },
        id="R6 one address routed to a nat gateway",
    ),
    pytest.param(
        _route_admin_to_a_deleted_interface,
        {"path-ssh-to-queue": "203.0.113.7/32 => {eni}"},
        {
            "path-workers-to-internet": "203.0.113.7/32 => {eni}",
            "path-internet-to-queue-http": HTTP + "route table valohai-rt ({rt}) of valohai-subnet-1 "
            "({subnet_1}): 203.0.113.7/32 => {eni}",
        },
        id="R9 the admin's address routed to a deleted interface",
    ),
    pytest.param(
        _acl_denies_redis_on_queue_subnet,
        {
            "path-valohai-to-queue": "inbound TCP 63790 from 34.248.245.191: rule 50 denies it",
            "path-workers-to-queue": "inbound TCP 63790 from a worker in valohai-subnet-2",
        },
        {
            "path-workers-to-internet": WORKERS_1 + "network ACL {acl} of valohai-subnet-1 ({subnet_1}) (the "
            "replies): inbound TCP 63790 from the internet: rule 50 denies it",
        },
        id="N1 network acl denies redis on the queue's subnet",
    ),
    pytest.param(
        _acl_denies_everything_from_app_on_queue_subnet,
        {"path-valohai-to-queue": "inbound TCP 63790 from 34.248.245.191: rule 10 denies it"},
        {
            "path-internet-to-queue-http": HTTP + "network ACL {acl} of valohai-subnet-1 ({subnet_1}) (the "
            "request): inbound TCP 80 from 34.248.245.191/32: rule 10 denies it",
            "path-workers-to-internet": WORKERS_1 + "network ACL {acl} of valohai-subnet-1 ({subnet_1}) (the "
            "replies): inbound TCP 1024-65535 from 34.248.245.191/32: rule 10 denies it",
        },
        id="N7 network acl denies everything from app.valohai.com",
    ),
    pytest.param(
        _acl_denies_app_on_queue_subnet,
        {"path-valohai-to-queue": "inbound TCP 63790 from 34.248.245.191: rule 90 denies it"},
        {
            "path-workers-to-internet": WORKERS_1 + "network ACL {acl} of valohai-subnet-1 ({subnet_1}) (the "
            "replies): inbound TCP 63790 from 34.248.245.191/32: rule 90 denies it",
        },
        id="network acl denies redis from app.valohai.com",
    ),
]


@pytest.mark.parametrize("drift, fails, warns", FEW_CUT)
def test_a_cut_of_a_few_addresses_or_ports_of_the_internet_warns(account, drift, fails, warns):
    ip = _eip_ip(account)
    extra = drift(account) or {}
    result = account.check()
    ids = ids_of(account, {**extra, "eip_ip": ip})
    got = failing_paths(result)
    assert set(got) == set(fails), got
    for rule_id, fragment in fails.items():
        assert fragment.format(**ids) in got[rule_id], (rule_id, got[rule_id])
    warned = {
        f.rule_id: " | ".join(x.message for x in result.of(f.rule_id) if x.status == "warn")
        for f in result.findings
        if f.rule_id in PATH_RULES and f.status == "warn"
    }
    assert set(warned) == set(warns), warned
    for rule_id, fragment in warns.items():
        assert fragment.format(**ids) in warned[rule_id], (rule_id, warned[rule_id])


def test_a_cut_of_a_wide_part_of_the_internet_still_fails(account):
    """A /8 of the internet routed elsewhere is no longer 'a few addresses'."""
    nat = nat_gateway(account)
    account.ec2.create_route(RouteTableId=account.ids["rt"], DestinationCidrBlock="34.0.0.0/8", NatGatewayId=nat)
    got = failing_paths(account.check())
    assert "path-workers-to-internet" in got and "path-internet-to-queue-http" in got
    assert f"34.0.0.0/8 => {nat} (active) takes internet traffic" in got["path-workers-to-internet"]


def test_only_the_cut_subnet_fails(account):
    acl = _acl_denies_https_from_worker_subnet(account)["acl"]
    result = account.check()
    bad = [f for f in result.of("path-workers-to-internet") if f.status == "fail"]
    assert [f.resource_id for f in bad] == [account.ids["subnets"][2]]
    assert acl in bad[0].message and "TCP 80" not in bad[0].message


# ------------------------------------------------------------------ open paths


def _acl_allows_first_then_denies(a: Account) -> dict[str, str]:
    """Rule numbers decide, not the order of creation: allow-all at 100 comes before the deny at 200."""
    return {"acl": new_acl(a, a.ids["subnets"][0], (200, False, "deny", APP, (63790, 63790)), *OPEN)}


def _acl_of_the_guide_exactly(a: Account) -> dict[str, str]:
    """A network ACL that opens only what the paths need, the replies on 1024-65535."""
    subnets = a.ids["subnets"]
    entries = (
        (100, False, "allow", APP, (63790, 63790)),
        (110, False, "allow", WORLD, (80, 80)),
        (120, False, "allow", "203.0.113.7/32", (22, 22)),
        (130, False, "allow", "10.0.0.0/16", (63790, 63790)),
        (140, False, "allow", WORLD, (1024, 65535)),
        (100, True, "allow", WORLD, (1024, 65535)),
        (110, True, "allow", WORLD, (80, 80)),
        (120, True, "allow", WORLD, (443, 443)),
        (130, True, "allow", "10.0.0.0/16", (63790, 63790)),
    )
    acl = new_acl(a, subnets[0], *entries)
    for s in subnets[1:]:
        a.ec2.replace_network_acl_association(AssociationId=acl_of(a, s)[1], NetworkAclId=acl)
    return {"acl": acl}


def _halves_to_igw(a: Account) -> None:
    a.ec2.delete_route(RouteTableId=a.ids["rt"], DestinationCidrBlock=WORLD)
    halves(a, a.ids["rt"], GatewayId=a.ids["igw"])


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(_acl_allows_first_then_denies, id="an allow before a deny, by rule number"),
        pytest.param(_acl_of_the_guide_exactly, id="network acls opening exactly the paths"),
        pytest.param(_halves_to_igw, id="two /1 routes to the igw"),
        pytest.param(_igw_edge_local, id="an igw edge table that keeps the vpc local"),
    ],
)
def test_what_keeps_every_path_open_passes(account, change):
    change(account)
    result = account.check()
    assert {f.rule_id: f.message for f in result.findings if f.rule_id in PATH_RULES and f.status != "pass"} == {}
    assert result.failing() == set()


def test_a_group_vhv_does_not_read_makes_a_cut_a_warning_not_a_pass(account):
    """Another group on the queue may allow what valohai-sg-queue does not: vhv reads only the guide's
    groups, so the path is neither passed nor failed (queue-instance-sg-only fails on the group)."""
    other = account.ec2.create_security_group(GroupName="other", Description="other", VpcId=account.ids["vpc"])
    account.ec2.modify_instance_attribute(
        InstanceId=account.ids["instance"], Groups=[account.ids["sg_queue"], other["GroupId"]]
    )
    revoke(account, account.ids["sg_queue"], 63790, APP)
    f = account.check().one("path-valohai-to-queue")
    assert f.status == "warn"
    assert f"unless {other['GroupId']} (a group vhv does not read) allows it" in f.message


def test_an_unread_network_acl_is_an_error_never_a_pass(account):
    result = account.check()
    result.snapshot.data.pop("network_acls")
    result.snapshot.errors["network_acls"] = "AccessDenied: ec2:DescribeNetworkAcls"
    prm = params_mod.from_dict(dict(account.params), source="params.yaml")
    findings = [f for f in engine.evaluate(account.pack, prm, result.snapshot) if f.rule_id in PATH_RULES]
    assert {f.status for f in findings} == {"error"}
    assert all("ec2:DescribeNetworkAcls" in f.message for f in findings)


# ------------------------------------------------------------------ remediate


def test_a_cut_no_other_rule_explains_is_a_step_by_hand(account):
    """A network ACL is no resource of the guide: nothing but the path says what cuts it."""
    from tests.test_remediate import plan_of
    from validator.fixers.plan import MANUAL

    acl = _acl_denies_app_on_queue_subnet(account)["acl"]
    _, plan = plan_of(account)
    steps = [s for s in plan.steps if s.rule == "path-valohai-to-queue"]
    assert [s.risk for s in steps] == [MANUAL]
    assert f"network ACL {acl} of valohai-subnet-1" in steps[0].summary and "rule 90 denies it" in steps[0].summary


def test_a_cut_another_failing_rule_explains_has_no_step_of_its_own(account):
    """valohai-sg-queue lost Redis from app.valohai.com: its rule's fix opens the path (explained_by)."""
    from tests.test_remediate import plan_of

    _no_redis_from_app(account)
    result, plan = plan_of(account)
    assert result.failing() == {"sg-queue-ingress-redis-valohai", "path-valohai-to-queue"}
    assert {s.rule for s in plan.steps} == {"sg-queue-ingress-redis-valohai"}


def test_a_queue_in_another_vpc_is_not_judged_and_never_passes(account):
    """vhv reads the route tables and network ACLs of valohai-vpc only: the paths to a queue elsewhere
    are a warning (queue-instance-subnet fails on it)."""
    from tests.test_rules_queue import relaunch

    vpc = account.ec2.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"]
    subnet = account.ec2.create_subnet(VpcId=vpc, CidrBlock="172.31.0.0/20", AvailabilityZone="eu-west-1a")
    relaunch(account, SubnetId=subnet["Subnet"]["SubnetId"], SecurityGroupIds=None)
    result = account.check()
    for rule_id in (
        "path-valohai-to-queue",
        "path-internet-to-queue-http",
        "path-ssh-to-queue",
        "path-workers-to-queue",
    ):
        found = result.of(rule_id)
        assert {f.status for f in found} == {"warn"}, (rule_id, [f.message for f in found])
        assert f"valohai-i-queue is in {vpc}, not in valohai-vpc" in found[0].message
        assert "this path is not judged" in found[0].message
    assert "queue-instance-subnet" in result.failing()
