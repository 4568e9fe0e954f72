"""What every snapshot vhv writes holds beyond its shape, because of how the readers ask.

The shape (validator/data/snapshot.schema.json) says each value has the right type; the seal
(snapshot.seal_of) says nothing changed since vhv wrote it. These say the parts agree with each
other and with the questions the readers asked AWS: a snapshot that breaks one was not written
by vhv's readers, whatever its seal, and judging it could pass what the account would fail.

- a resource read by its Name tag (or group name) has that name: the catalogue's (its `match`
  says which it is read by), e.g. every entry of `vpcs` is named as the guide names its VPC;
- an entry of a map keyed by name or id has that name or id (`roles.<name>.name`);
- ids in a list are unique (a subnet listed twice is not two zones);
- the images, volumes and key pairs read are exactly those the queue instances name, and the
  network interfaces are attached to them;
- the guide's roles and policies are in the account and partition read, and so are the
  instance profiles of a role, which hold it (iam:ListInstanceProfilesForRole lists no other);
- the data store's user and roles (read by the names the params give) are one each, of the
  account and partition read;
- a VPC has one main route table, a subnet one route table and one network ACL, and the tables
  and ACLs are of the VPCs read.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import Any

from validator.kinds import KINDS
from validator.shape import at, brief

# a kind's `match` -> how the readers ask for it by its name
BY_NAME_TAG = ("name-tag", "name-tag-glob")
BY_GROUP_NAME = "group-name"


def _named() -> dict[str, tuple[str, tuple[str, ...]]]:
    """data key -> (the match, the names or Name globs its reader filters by), from the catalogue
    (the kinds kept under one key, the two security groups, share one reader and one match)."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for k in KINDS.values():
        if k.match in (*BY_NAME_TAG, BY_GROUP_NAME):
            match, names = out.get(k.snapshot, (k.match, ()))
            out[k.snapshot] = (match, (*names, k.name))
    return out


# an IAM kind's `match` -> the resource type in its ARN (arn:aws:iam::<account>:role/<name>)
ARN_TYPES = {
    "policy-name": "policy",
    "role-name": "role",
    "instance-profile-name": "instance-profile",
    "user-name": "user",
}
# data key -> the IAM resource type of its entries: in a map by name (the guide's names), or in a
# list of at most one (the names the params give: GetUser / GetRole answer for one)
IAM_MAPS = {k.snapshot: ARN_TYPES[k.match] for k in KINDS.values() if k.match in ARN_TYPES and k.pick == "by-name"}
IAM_LISTS = {k.snapshot: ARN_TYPES[k.match] for k in KINDS.values() if k.match in ARN_TYPES and k.pick != "by-name"}
# data key -> the key of each entry's id in a list the readers write
LIST_IDS = {
    "vpcs": "id",
    "subnets": "id",
    "vpc_subnets": "id",
    "igws": "id",
    "route_tables": "id",
    "network_acls": "id",
    "security_groups": "id",
    "instances": "id",
    "network_interfaces": "id",
    "eips": "allocation_id",
}
# data key -> (the entry's field equal to its map key, the instances' field that names it)
BY_KEY = {
    **{key: ("name", None) for key in IAM_MAPS},
    "images": ("id", "image_id"),
    "volumes": ("id", "root_volume_id"),
    "key_pairs": ("name", "key_name"),
}


def problem(d: dict[str, Any]) -> str | None:
    """The first way the parts of snapshot document `d` (already of the snapshot's shape)
    disagree, as one line `path: ...`; None when they agree."""
    return next(_problems(d["data"], d["account_id"], d["partition"]), None)


def _problems(data: dict[str, Any], account: str, partition: str) -> Iterator[str]:
    for key, (match, globs) in _named().items():  # the names of the recipe in use
        for i, item in enumerate(data.get(key) or []):
            name = item.get("name")
            if match == BY_GROUP_NAME:
                if name not in globs:
                    yield (
                        f"{at(('data', key, i, 'name'))}{brief(name)}, but vhv reads only the groups named "
                        f"{' and '.join(globs)}"
                    )
                continue
            if not isinstance(name, str) or not any(fnmatch.fnmatchcase(name, g) for g in globs):
                yield f"{at(('data', key, i, 'name'))}{brief(name)}, but vhv reads {key} by the Name tag {globs[0]}"
            elif item.get("tags", {}).get("Name") != name:
                yield (
                    f"{at(('data', key, i, 'tags', 'Name'))}{brief(item.get('tags', {}).get('Name'))} is not "
                    f"its name {brief(name)}"
                )
    for key, id_key in LIST_IDS.items():
        seen: dict[Any, int] = {}
        for i, item in enumerate(data.get(key) or []):
            ident = item.get(id_key)
            if ident is not None and ident in seen:
                yield f"{at(('data', key, i, id_key))}{brief(ident)} is listed twice (also data.{key}[{seen[ident]}])"
            seen.setdefault(ident, i)
    instances = data.get("instances")
    for key, (field, named_by) in BY_KEY.items():
        entries = data.get(key)
        if not isinstance(entries, dict):
            continue
        for name, entry in entries.items():
            if entry is not None and entry.get(field) != name:
                yield f"{at(('data', key, name, field))}{brief(entry.get(field))} is not its key {brief(name)}"
        if named_by and isinstance(instances, list):
            wanted = {i.get(named_by) for i in instances if i.get(named_by)}  # as the readers ask
            if set(entries) != wanted:
                yield (
                    f"{at(('data', key))}holds {brief(sorted(entries))}, but the queue instances name "
                    f"{brief(sorted(wanted))} (data.instances[].{named_by})"
                )
    for key, kind in IAM_LISTS.items():
        entries = data.get(key) or []
        if len(entries) > 1:
            yield f"{at(('data', key))}holds {len(entries)} entries; vhv reads one {kind} by its name"
        for i, entry in enumerate(entries):
            name, arn = entry.get("name"), entry.get("arn")
            if isinstance(arn, str) and not _own(arn, kind, str(name), account, partition):
                yield (
                    f"{at(('data', key, i, 'arn'))}{brief(arn)} is not the {kind} {brief(name, quote=False)} "
                    f"of account {account} (arn:{partition}:iam::{account}:{kind}/...)"
                )
    yield from _profiles_of_roles(data, account, partition)
    yield from _route_tables(data)
    if isinstance(instances, list):
        read = {i.get("id") for i in instances}
        for i, n in enumerate(data.get("network_interfaces") or []):
            if n.get("instance_id") not in read:
                yield (
                    f"{at(('data', 'network_interfaces', i, 'instance_id'))}{brief(n.get('instance_id'))} is not an "
                    "instance vhv read (it reads the interfaces attached to the queue instances)"
                )
    for key, kind in IAM_MAPS.items():
        for name, entry in (data.get(key) or {}).items():
            arn = (entry or {}).get("arn")
            own = f"arn:{partition}:iam::{account}:{kind}/"
            if isinstance(arn, str) and not _own(arn, kind, name, account, partition):
                yield (
                    f"{at(('data', key, name, 'arn'))}{brief(arn)} is not the {kind} {brief(name, quote=False)} "
                    f"of account {account} ({own}...)"
                )


def _own(arn: Any, kind: str, name: str, account: str, partition: str) -> bool:
    """`arn` is the IAM `kind` named `name` (under any path) of `account` in `partition`."""
    return (
        isinstance(arn, str) and arn.startswith(f"arn:{partition}:iam::{account}:{kind}/") and arn.endswith("/" + name)
    )


def _profiles_of_roles(data: dict[str, Any], account: str, partition: str) -> Iterator[str]:
    for role, entry in (data.get("roles") or {}).items():
        for i, profile in enumerate((entry or {}).get("instance_profiles") or []):
            where = ("data", "roles", role, "instance_profiles", i)
            if not _own(profile.get("arn"), "instance-profile", str(profile.get("name")), account, partition):
                yield (
                    f"{at(where + ('arn',))}{brief(profile.get('arn'))} is not the instance profile "
                    f"{brief(profile.get('name'))} of account {account}"
                )
            elif role not in (profile.get("roles") or []):
                yield (
                    f"{at(where + ('roles',))}{brief(profile.get('roles'))} does not hold {role}, yet it is "
                    f"listed as {role}'s (AWS lists only the profiles that hold the role)"
                )


def _route_tables(data: dict[str, Any]) -> Iterator[str]:
    tables = data.get("route_tables") or []
    vpcs = {v.get("id") for v in data.get("vpcs") or []} if isinstance(data.get("vpcs"), list) else None
    acl_of: dict[Any, int] = {}
    for i, acl in enumerate(data.get("network_acls") or []):
        if vpcs is not None and acl.get("vpc_id") not in vpcs:
            yield f"{at(('data', 'network_acls', i, 'vpc_id'))}{brief(acl.get('vpc_id'))} is not a VPC vhv read"
        for subnet in acl.get("subnet_ids") or []:
            if subnet in acl_of:
                yield (
                    f"{at(('data', 'network_acls', i, 'subnet_ids'))}{brief(subnet)} is also in "
                    f"data.network_acls[{acl_of[subnet]}]; a subnet has one network ACL"
                )
            acl_of.setdefault(subnet, i)
    main: dict[Any, int] = {}
    subnet_in: dict[Any, int] = {}
    for i, t in enumerate(tables):
        if vpcs is not None and t.get("vpc_id") not in vpcs:
            yield f"{at(('data', 'route_tables', i, 'vpc_id'))}{brief(t.get('vpc_id'))} is not a VPC vhv read"
        if t.get("main"):
            if t.get("vpc_id") in main:
                yield (
                    f"{at(('data', 'route_tables', i, 'main'))}a second main route table of {t.get('vpc_id')} "
                    f"(also data.route_tables[{main[t.get('vpc_id')]}]); a VPC has one"
                )
            main.setdefault(t.get("vpc_id"), i)
        for subnet in t.get("subnet_ids") or []:
            if subnet in subnet_in:
                yield (
                    f"{at(('data', 'route_tables', i, 'subnet_ids'))}{brief(subnet)} is also in "
                    f"data.route_tables[{subnet_in[subnet]}]; a subnet has one route table"
                )
            subnet_in.setdefault(subnet, i)
