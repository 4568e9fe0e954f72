"""EC2: the guide's network and queue, each read by the names the catalogue gives its kinds.

A reader is given every kind that names it and asks for all of them in one call (EC2 filters take
several values): the two security groups are one DescribeSecurityGroups. The filter is the kind's
`match`: its Name tag (a glob for the subnets) or its group name.
"""

from __future__ import annotations

import base64
import gzip
import re
from typing import Any

from validator.aws.reader import Read, Reader
from validator.aws.recorder import FAILED, NOT_FOUND, Reading, Recorder, paginate, tags
from validator.kinds import LIVE_STATES, Kind, kind

# a kind's `match` -> the EC2 filter that asks for it by its name
FILTERS = {"name-tag": "tag:Name", "name-tag-glob": "tag:Name", "group-name": "group-name"}
PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "-1": "-1", "all": "-1"}
NO_DHCP_OPTIONS = "default"  # a VPC's DhcpOptionsId when it has no DHCP options set of its own


def _name(raw: dict[str, Any]) -> str | None:
    return tags(raw.get("Tags")).get("Name")


def _listed(rec: Recorder, path: str, action: str, fn: Any, shape: Any) -> list[dict[str, Any]] | None:
    got = rec.call(path, action, fn)
    if got in (FAILED, NOT_FOUND):
        if got is NOT_FOUND:
            rec.put(path, [])
        return None
    items = [shape(x) for x in got]
    rec.put(path, items)
    return items


def _vpc(v: dict[str, Any]) -> dict[str, Any]:
    cidrs = [
        a["CidrBlock"]
        for a in v.get("CidrBlockAssociationSet", [])
        if a.get("CidrBlockState", {}).get("State", "associated") == "associated"
    ]
    return {
        "id": v["VpcId"],
        "name": _name(v),
        "cidr": v.get("CidrBlock"),
        "cidrs": cidrs or [v.get("CidrBlock")],
        "tags": tags(v.get("Tags")),
        "state": v.get("State"),
        "is_default": v.get("IsDefault"),
        # the DHCP options set it hands its instances; None: none of its own ("default")
        "dhcp_options_id": None if v.get("DhcpOptionsId") in (None, NO_DHCP_OPTIONS) else v["DhcpOptionsId"],
    }


def _named(kinds: tuple[Kind, ...]) -> list[dict[str, Any]]:
    """The filter that asks for `kinds` by their names (they share one `match`)."""
    (match,) = {k.match for k in kinds}
    return [{"Name": FILTERS[match], "Values": [k.name for k in kinds]}]


def read_vpcs(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> list[dict[str, Any]] | None:
    """The VPCs of the guide's name; what the readers chained after this one are given."""
    return _listed(
        r.rec,
        kinds[0].snapshot,
        "ec2:DescribeVpcs",
        lambda: paginate(r.clients["ec2"], "describe_vpcs", "Vpcs", Filters=_named(kinds)),
        _vpc,
    )


def read_subnets(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    def shape(s: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": s["SubnetId"],
            "name": _name(s),
            "vpc_id": s.get("VpcId"),
            "cidr": s.get("CidrBlock"),
            "az": s.get("AvailabilityZone"),
            "tags": tags(s.get("Tags")),
            "public_ip_on_launch": bool(s.get("MapPublicIpOnLaunch")),
        }

    _listed(
        r.rec,
        kinds[0].snapshot,
        "ec2:DescribeSubnets",
        lambda: paginate(r.clients["ec2"], "describe_subnets", "Subnets", Filters=_named(kinds)),
        shape,
    )


def _igw(g: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": g["InternetGatewayId"],
        "name": _name(g),
        "tags": tags(g.get("Tags")),
        "attachments": [{"vpc_id": a.get("VpcId"), "state": a.get("State")} for a in g.get("Attachments", [])],
    }


def read_igws(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    _listed(
        r.rec,
        kinds[0].snapshot,
        "ec2:DescribeInternetGateways",
        lambda: paginate(r.clients["ec2"], "describe_internet_gateways", "InternetGateways", Filters=_named(kinds)),
        _igw,
    )


def read_route_tables(r: Reading, kinds: tuple[Kind, ...], vpcs: list[dict[str, Any]]) -> None:
    """Every route table of the VPCs found (`vpcs`): the rules pick the main one."""

    def shape(t: dict[str, Any]) -> dict[str, Any]:
        assocs = t.get("Associations", [])
        routes = []
        for r in t.get("Routes", []):
            target = (
                r.get("GatewayId")
                or r.get("NatGatewayId")
                or r.get("TransitGatewayId")
                or r.get("VpcPeeringConnectionId")
                or r.get("NetworkInterfaceId")
                or r.get("InstanceId")
            )
            routes.append(
                {
                    "destination": r.get("DestinationCidrBlock")
                    or r.get("DestinationIpv6CidrBlock")
                    or r.get("DestinationPrefixListId"),
                    "target": target,
                    "state": r.get("State", "active"),
                }
            )
        return {
            "id": t["RouteTableId"],
            "name": _name(t),
            "vpc_id": t.get("VpcId"),
            "tags": tags(t.get("Tags")),
            "main": any(a.get("Main") for a in assocs),
            "routes": routes,
            "subnet_ids": [a["SubnetId"] for a in assocs if a.get("SubnetId")],
            "gateway_ids": [a["GatewayId"] for a in assocs if a.get("GatewayId")],
        }

    path, vpc_ids = kinds[0].snapshot, [v["id"] for v in vpcs]
    if not vpc_ids:
        r.rec.put(path, [])
        return
    _listed(
        r.rec,
        path,
        "ec2:DescribeRouteTables",
        lambda: paginate(
            r.clients["ec2"], "describe_route_tables", "RouteTables", Filters=[{"Name": "vpc-id", "Values": vpc_ids}]
        ),
        shape,
    )


def _acl_entry(e: dict[str, Any]) -> dict[str, Any]:
    ports = e.get("PortRange") or {}
    return {
        "rule_number": e.get("RuleNumber"),
        "egress": bool(e.get("Egress")),
        "protocol": PROTOCOLS.get(str(e.get("Protocol")), str(e.get("Protocol"))),
        "action": e.get("RuleAction"),
        "cidr": e.get("CidrBlock"),
        "cidr_ipv6": e.get("Ipv6CidrBlock"),
        "from_port": ports.get("From"),
        "to_port": ports.get("To"),
    }


def read_network_acls(r: Reading, _kinds: tuple[Kind, ...], vpcs: list[dict[str, Any]]) -> None:
    """The network ACLs of the VPCs found (`vpcs`), with the subnets each is associated with: a
    path into or out of a subnet crosses its ACL both ways."""
    vpc_ids = [v["id"] for v in vpcs]
    if not vpc_ids:
        r.rec.put("network_acls", [])
        return
    _listed(
        r.rec,
        "network_acls",
        "ec2:DescribeNetworkAcls",
        lambda: paginate(
            r.clients["ec2"], "describe_network_acls", "NetworkAcls", Filters=[{"Name": "vpc-id", "Values": vpc_ids}]
        ),
        lambda a: {
            "id": a["NetworkAclId"],
            "vpc_id": a.get("VpcId"),
            "is_default": bool(a.get("IsDefault")),
            "name": _name(a),
            "subnet_ids": [x["SubnetId"] for x in a.get("Associations", []) if x.get("SubnetId")],
            "entries": [_acl_entry(e) for e in a.get("Entries", [])],
        },
    )


def read_vpc_dns(r: Reading, _kinds: tuple[Kind, ...], vpcs: list[dict[str, Any]]) -> None:
    """How the VPCs found (`vpcs`) resolve names: whether the Amazon DNS server answers in each
    (enableDnsSupport, one DescribeVpcAttribute per VPC, at once), and the DNS servers of the DHCP
    options sets they hand their instances (one DescribeDhcpOptions for all of them; none when no
    VPC has a set of its own)."""
    r.rec.put("vpc_dns", {"dns_support": {}, "dhcp_options": {}})
    vpcs = vpcs or []
    ec2 = r.clients["ec2"]

    def support(vid: str) -> Any:
        def read() -> None:
            got = r.rec.call(
                f"vpc_dns.dns_support.{vid}",
                "ec2:DescribeVpcAttribute",
                lambda: ec2.describe_vpc_attribute(VpcId=vid, Attribute="enableDnsSupport"),
            )
            if got is NOT_FOUND:
                r.rec.put(f"vpc_dns.dns_support.{vid}", None)
            elif got is not FAILED:
                r.rec.put(f"vpc_dns.dns_support.{vid}", bool((got.get("EnableDnsSupport") or {}).get("Value")))

        return read

    def dhcp(ids: list[str]) -> Any:
        def read() -> None:
            got = r.rec.call(
                "vpc_dns.dhcp_options",
                "ec2:DescribeDhcpOptions",
                lambda: paginate(ec2, "describe_dhcp_options", "DhcpOptions", DhcpOptionsIds=ids),
            )
            if got is FAILED:
                return
            found = {} if got is NOT_FOUND else {d["DhcpOptionsId"]: _dhcp(d) for d in got}
            r.rec.put("vpc_dns.dhcp_options", {i: found.get(i) for i in ids})

        return read

    ids = sorted({v["dhcp_options_id"] for v in vpcs if v.get("dhcp_options_id")})
    r.rec.together(*[support(v["id"]) for v in vpcs], *([dhcp(ids)] if ids else []))


def _dhcp(d: dict[str, Any]) -> dict[str, Any]:
    conf = {c.get("Key"): [x.get("Value") for x in c.get("Values", [])] for c in d.get("DhcpConfigurations", [])}
    return {
        "domain_name_servers": conf.get("domain-name-servers"),
        "domain_name": (conf.get("domain-name") or [None])[0],
        "tags": tags(d.get("Tags")),
    }


def read_vpc_subnets(r: Reading, _kinds: tuple[Kind, ...], vpcs: list[dict[str, Any]]) -> None:
    """For remediate: every subnet of the VPCs found (`vpcs`), whatever its name: the fixers pick
    free CIDRs among them."""
    vpc_ids = [v["id"] for v in vpcs]
    if not vpc_ids:
        r.rec.put("vpc_subnets", [])
        return
    _listed(
        r.rec,
        "vpc_subnets",
        "ec2:DescribeSubnets",
        lambda: paginate(
            r.clients["ec2"], "describe_subnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": vpc_ids}]
        ),
        lambda s: {
            "id": s["SubnetId"],
            "vpc_id": s.get("VpcId"),
            "cidr": s.get("CidrBlock"),
            "az": s.get("AvailabilityZone"),
        },
    )


def read_zones(r: Reading, _kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """The region's available zones (the guide puts one subnet in each)."""
    _listed(
        r.rec,
        "zones",
        "ec2:DescribeAvailabilityZones",
        lambda: r.clients["ec2"].describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])[
            "AvailabilityZones"
        ],
        lambda z: z["ZoneName"],
    )


def flatten_permissions(perms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (protocol, ports, peer), the way a person reads the console."""
    out = []
    for p in perms:
        proto = PROTOCOLS.get(str(p.get("IpProtocol")), str(p.get("IpProtocol")))
        base = {"protocol": proto}
        if proto != "-1":
            base["from_port"] = p.get("FromPort", 0 if proto in ("tcp", "udp") else -1)
            base["to_port"] = p.get("ToPort", 65535 if proto in ("tcp", "udp") else -1)
        for r in p.get("IpRanges", []):
            out.append({**base, "cidr": r["CidrIp"], "description": r.get("Description", "")})
        for r in p.get("Ipv6Ranges", []):
            out.append({**base, "cidr_ipv6": r["CidrIpv6"], "description": r.get("Description", "")})
        for r in p.get("UserIdGroupPairs", []):
            out.append({**base, "group_id": r.get("GroupId"), "description": r.get("Description", "")})
        for r in p.get("PrefixListIds", []):
            out.append({**base, "prefix_list_id": r.get("PrefixListId"), "description": r.get("Description", "")})
    return out


def read_security_groups(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    def shape(g: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": g["GroupId"],
            "name": g.get("GroupName"),
            "vpc_id": g.get("VpcId"),
            "tags": tags(g.get("Tags")),
            "ingress": flatten_permissions(g.get("IpPermissions", [])),
            "egress": flatten_permissions(g.get("IpPermissionsEgress", [])),
        }

    _listed(
        r.rec,
        kinds[0].snapshot,
        "ec2:DescribeSecurityGroups",
        lambda: paginate(r.clients["ec2"], "describe_security_groups", "SecurityGroups", Filters=_named(kinds)),
        shape,
    )


def root_volume_id(mappings: list[dict[str, Any]], root: str | None) -> str | None:
    """The EBS volume on the root device. AWS always maps RootDeviceName; some emulators
    name the first mapping /dev/sda1 whatever the image says, so fall back to the usual
    root device names, then to the only mapping there is."""
    ebs = [(b.get("DeviceName"), b.get("Ebs", {}).get("VolumeId")) for b in mappings if b.get("Ebs")]
    for wanted in (root, "/dev/sda1", "/dev/xvda"):
        for name, vol in ebs:
            if name == wanted:
                return vol
    return ebs[0][1] if len(ebs) == 1 else None


def _instance(i: dict[str, Any]) -> dict[str, Any]:
    root = i.get("RootDeviceName")
    vol = root_volume_id(i.get("BlockDeviceMappings", []), root)
    return {
        "id": i["InstanceId"],
        "name": _name(i),
        "state": i.get("State", {}).get("Name"),
        "type": i.get("InstanceType"),
        "image_id": i.get("ImageId"),
        "key_name": i.get("KeyName"),
        "subnet_id": i.get("SubnetId"),
        "vpc_id": i.get("VpcId"),
        "tags": tags(i.get("Tags")),
        "security_groups": [{"id": g["GroupId"], "name": g.get("GroupName")} for g in i.get("SecurityGroups", [])],
        "root_device_name": root,
        "root_volume_id": vol,
        "private_ip": i.get("PrivateIpAddress"),
        "public_ip": i.get("PublicIpAddress"),
        "instance_profile": (i.get("IamInstanceProfile") or {}).get("Arn"),
    }


def _instances(ec2: Any, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reservations = paginate(ec2, "describe_instances", "Reservations", Filters=filters)
    return [i for r in reservations for i in r.get("Instances", [])]


def read_instances(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> list[dict[str, Any]] | None:
    """The instances of the guide's name, then at once the images, root volumes and key pairs
    they name; what the readers chained after this one are given."""
    ec2, rec = r.clients["ec2"], r.rec
    instances = _listed(
        rec, kinds[0].snapshot, "ec2:DescribeInstances", lambda: _instances(ec2, _named(kinds)), _instance
    )
    if instances is None:
        return

    def named(field: str) -> list[str]:
        return sorted({i[field] for i in instances if i.get(field)})

    rec.together(
        lambda: read_images(ec2, rec, named("image_id")),
        lambda: read_volumes(ec2, rec, named("root_volume_id")),
        lambda: read_key_pairs(ec2, rec, named("key_name")),
        lambda: read_network_interfaces(ec2, rec, named("id")),
        *([lambda: read_user_data(ec2, rec, named("id"))] if any(k.user_data for k in kinds) else []),
    )
    return instances


# an assignment to a literal (not $VAR, $(command) or `command`): NAME=value, NAME: value
ASSIGNMENT = re.compile(r"\b([A-Za-z][A-Za-z0-9_-]*)\s*[=:]\s*['\"]?(?![$`'\"\s])\S")
# a name that says it holds a secret: PASSWORD anywhere, or a segment PASS, SECRET, TOKEN, API_KEY
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|(?:^|[_-])(?:PASS|SECRET|TOKEN|API_?KEY)(?:$|[_-])", re.I)
# Redis's own option for its password, on a command line or in redis.conf
REQUIREPASS = re.compile(r"(?:--)?\b(requirepass)\s+['\"]?(?![$`'\"\s])\S")


def secrets_in(text: str) -> list[str]:
    """The names of what `text` (an instance's user data) gives a literal secret; never a value."""
    named = {m.group(1) for m in ASSIGNMENT.finditer(text) if SECRET_NAME.search(m.group(1))}
    return sorted(named | {m.group(1) for m in REQUIREPASS.finditer(text)})


def _user_data(answer: Any) -> dict[str, Any] | None:
    """What the user data says: the names it gives a literal secret (None: the instance has none)."""
    raw = (answer.get("UserData") or {}).get("Value")
    if not raw:
        return None
    try:
        data = base64.b64decode(raw)
        if data[:2] == b"\x1f\x8b":  # gzip, as cloud-init accepts it
            data = gzip.decompress(data)
    except (ValueError, OSError, EOFError):
        return {"secret_names": [], "readable": False}
    return {"secret_names": secrets_in(data.decode("utf-8", "replace")), "readable": True}


def read_user_data(ec2: Any, rec: Recorder, instance_ids: list[str]) -> None:
    """Each instance's user data, one call each, at once: kept as the names of the secrets written
    into it (user data is readable by anyone allowed ec2:DescribeInstanceAttribute, and from the instance)."""
    answers = rec.together(
        *(
            lambda i=i: rec.call(
                "user_data",
                "ec2:DescribeInstanceAttribute",
                lambda: ec2.describe_instance_attribute(InstanceId=i, Attribute="userData"),
            )
            for i in instance_ids
        )
    )
    if FAILED in answers:
        return
    rec.put("user_data", {i: None if a is NOT_FOUND else _user_data(a) for i, a in zip(instance_ids, answers)})


def _interface(n: dict[str, Any]) -> dict[str, Any]:
    att = n.get("Attachment") or {}
    assoc = n.get("Association") or {}
    return {
        "id": n["NetworkInterfaceId"],
        "instance_id": att.get("InstanceId"),
        "device_index": att.get("DeviceIndex"),
        "attachment_status": att.get("Status"),
        "subnet_id": n.get("SubnetId"),
        "vpc_id": n.get("VpcId"),
        "security_groups": [{"id": g["GroupId"], "name": g.get("GroupName")} for g in n.get("Groups", [])],
        "private_ips": [a["PrivateIpAddress"] for a in n.get("PrivateIpAddresses", []) if a.get("PrivateIpAddress")],
        "public_ip": assoc.get("PublicIp"),
        "allocation_id": assoc.get("AllocationId"),
        "interface_type": n.get("InterfaceType"),
    }


def read_network_interfaces(ec2: Any, rec: Recorder, instance_ids: list[str]) -> None:
    """Every network interface attached to the instances (an instance's top-level SecurityGroups
    are its primary interface's: the groups of each interface add up), by the instances' ids."""
    if not instance_ids:
        rec.put("network_interfaces", [])
        return
    _listed(
        rec,
        "network_interfaces",
        "ec2:DescribeNetworkInterfaces",
        lambda: paginate(
            ec2,
            "describe_network_interfaces",
            "NetworkInterfaces",
            Filters=[{"Name": "attachment.instance-id", "Values": instance_ids}],
        ),
        _interface,
    )


def _by_ids(rec: Recorder, path: str, action: str, ids: list[str], fetch: Any, key: str, shape: Any) -> None:
    """`path` -> {id: shape(item), or None when AWS has no such id}: one call for all the ids."""
    found: dict[str, Any] = {i: None for i in ids}
    if ids:
        got = rec.call(path, action, fetch)
        if got is FAILED:
            return
        if got is not NOT_FOUND:
            for item in got:
                found[item[key]] = shape(item)
    rec.put(path, found)


def read_images(ec2: Any, rec: Recorder, image_ids: list[str]) -> None:
    _by_ids(
        rec,
        "images",
        "ec2:DescribeImages",
        image_ids,
        lambda: ec2.describe_images(ImageIds=image_ids)["Images"],
        "ImageId",
        lambda img: {
            "id": img["ImageId"],
            "name": img.get("Name"),
            "owner_id": img.get("OwnerId"),
            "description": img.get("Description"),
            "state": img.get("State"),
        },
    )


def read_volumes(ec2: Any, rec: Recorder, volume_ids: list[str]) -> None:
    _by_ids(
        rec,
        "volumes",
        "ec2:DescribeVolumes",
        volume_ids,
        lambda: ec2.describe_volumes(VolumeIds=volume_ids)["Volumes"],
        "VolumeId",
        lambda v: {"id": v["VolumeId"], "size": v.get("Size"), "type": v.get("VolumeType")},
    )


def read_key_pairs(ec2: Any, rec: Recorder, names: list[str]) -> None:
    found: dict[str, Any] = {n: None for n in names}
    for name in names:  # one by name: a missing one must not hide the others
        got = rec.call(
            "key_pairs", "ec2:DescribeKeyPairs", lambda n=name: ec2.describe_key_pairs(KeyNames=[n])["KeyPairs"]
        )
        if got is FAILED:
            return
        if got is not NOT_FOUND:
            for k in got:
                found[k["KeyName"]] = {"name": k["KeyName"], "id": k.get("KeyPairId"), "type": k.get("KeyType")}
    rec.put("key_pairs", found)


def _address(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "allocation_id": a.get("AllocationId"),
        "public_ip": a.get("PublicIp"),
        "domain": a.get("Domain"),
        "instance_id": a.get("InstanceId"),
        "association_id": a.get("AssociationId"),
        "network_interface_id": a.get("NetworkInterfaceId"),
        "private_ip": a.get("PrivateIpAddress"),
        "name": _name(a),
        "tags": tags(a.get("Tags")),
    }


def read_queue_addresses(r: Reading, kinds: tuple[Kind, ...], instances: list[dict[str, Any]]) -> None:
    """The Elastic IPs associated with the queue instances found (`instances`), whatever their Name:
    how a recipe that leaves its address unnamed (match: associated) has it found."""
    ids = sorted({i["id"] for i in instances if i.get("state") in LIVE_STATES})
    if not ids:
        r.rec.put(kinds[0].snapshot, [])
        return
    _listed(
        r.rec,
        kinds[0].snapshot,
        "ec2:DescribeAddresses",
        lambda: r.clients["ec2"].describe_addresses(Filters=[{"Name": "instance-id", "Values": ids}])["Addresses"],
        _address,
    )


def read_addresses(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    _listed(
        r.rec,
        kinds[0].snapshot,
        "ec2:DescribeAddresses",
        lambda: r.clients["ec2"].describe_addresses(Filters=_named(kinds))["Addresses"],
        _address,
    )


def _list(rec: Recorder, key: str) -> list[dict[str, Any]] | None:
    """What a reader put at `key`: None when it was not read (or failed)."""
    value = rec.snap.data.get(key)
    return value if isinstance(value, list) and key not in rec.snap.errors else None


def read_unnamed(r: Reading) -> None:
    """For remediate only, after the other reads: when the guide's VPC, IGW, queue instance or EIP
    is not found by its Name, the resources the guide's others point at ("unnamed.*"), so that
    the fixers name the one that lost its Name instead of creating a second. A read is made only
    when something points somewhere: the VPC the named subnets, groups and queue are in; the
    IGW attached to the guide's VPC; the instance the guide's EIP is associated with, or the one
    in the queue's security group in the guide's VPC; the EIP associated with the queue instance."""
    ec2, rec = r.clients["ec2"], r.rec
    vpc_kind, igw_kind, queue_kind, eip_kind = (kind(k) for k in ("vpc", "igw", "instance", "eip"))
    vpcs = _list(rec, vpc_kind.snapshot)
    vpc = vpcs[0]["id"] if vpcs and len(vpcs) == 1 else None
    instances = _list(rec, queue_kind.snapshot)
    live = [i for i in instances or [] if i.get("state") in LIVE_STATES]
    if vpcs == []:
        in_vpc = dict.fromkeys(kind(k).snapshot for k in ("subnets", "sg_workers", "sg_queue"))
        pointed = sorted(
            {x["vpc_id"] for key in in_vpc for x in _list(rec, key) or [] if x.get("vpc_id")}
            | {i["vpc_id"] for i in live if i.get("vpc_id")}
        )
        if pointed:
            found = _listed(
                rec,
                f"unnamed.{vpc_kind.snapshot}",
                "ec2:DescribeVpcs",
                lambda: paginate(ec2, "describe_vpcs", "Vpcs", Filters=[{"Name": "vpc-id", "Values": pointed}]),
                _vpc,
            )
            # the default VPC is never adopted (validator.fixers.adopt): nothing in it is looked for
            vpc = found[0]["id"] if found and len(found) == 1 and found[0].get("is_default") is False else None
    if _list(rec, igw_kind.snapshot) == [] and vpc:
        _listed(
            rec,
            f"unnamed.{igw_kind.snapshot}",
            "ec2:DescribeInternetGateways",
            lambda: paginate(
                ec2,
                "describe_internet_gateways",
                "InternetGateways",
                Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}],
            ),
            _igw,
        )
    queue = live[0]["id"] if len(live) == 1 else None
    eips = _list(rec, eip_kind.snapshot)
    if instances is not None and not live and vpc:
        seen: dict[str, dict[str, Any]] = {}
        in_group = _listed(
            rec,
            f"unnamed.{queue_kind.snapshot}",
            "ec2:DescribeInstances",
            lambda: _instances(
                ec2,
                [
                    {"Name": "vpc-id", "Values": [vpc]},
                    {"Name": "instance.group-name", "Values": [kind("sg_queue").name]},
                ],
            ),
            _instance,
        )
        seen.update({i["id"]: i for i in in_group or [] if i.get("state") in LIVE_STATES})
        behind_eip = sorted({a["instance_id"] for a in eips or [] if a.get("instance_id")})
        if behind_eip:
            with_eip = _listed(
                rec,
                "unnamed.eip_instances",
                "ec2:DescribeInstances",
                lambda: _instances(ec2, [{"Name": "instance-id", "Values": behind_eip}]),
                _instance,
            )
            seen.update({i["id"]: i for i in with_eip or [] if i.get("state") in LIVE_STATES})
        queue = next(iter(seen)) if len(seen) == 1 else None
    if eips == [] and queue:
        _listed(
            rec,
            f"unnamed.{eip_kind.snapshot}",
            "ec2:DescribeAddresses",
            lambda: ec2.describe_addresses(Filters=[{"Name": "instance-id", "Values": [queue]}])["Addresses"],
            _address,
        )


# the catalogue's `reader: ec2.NAME`
READERS = {
    # with the network ACLs of the VPCs found (the guide's network paths cross them), and how they
    # resolve names (DNS support, the DHCP options' servers)
    "vpcs": Reader(
        "ec2",
        Read(read_vpcs),
        more=(Read(read_network_acls, after="ec2.vpcs"), Read(read_vpc_dns, after="ec2.vpcs")),
    ),
    # the region's zones tell whether one subnet per zone is possible (the rules) and where a new
    # subnet goes (the fixer); the fixer places new subnets among every subnet of the VPC
    "subnets": Reader(
        "ec2", Read(read_subnets), more=(Read(read_zones),), fix=(Read(read_vpc_subnets, after="ec2.vpcs"),)
    ),
    "igws": Reader("ec2", Read(read_igws)),
    "route_tables": Reader("ec2", Read(read_route_tables, after="ec2.vpcs")),
    "security_groups": Reader("ec2", Read(read_security_groups)),
    "instances": Reader("ec2", Read(read_instances)),
    "addresses": Reader("ec2", Read(read_addresses)),
    # a recipe's unnamed Elastic IP, found by the queue instance it is associated with
    "queue_addresses": Reader("ec2", Read(read_queue_addresses, after="ec2.instances")),
}
# what remediate reads once every other EC2 read is in: the guide's network resources that lost
# their Name, found by what the others point at (validator.fixers.adopt)
LAST_FOR_FIX = read_unnamed
