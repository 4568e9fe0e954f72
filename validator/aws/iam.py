"""IAM: the guide's customer managed policies, roles and instance profile, each read by its name;
and the data store's principal (the params' user or role) and multipart role, by the names the
params give, with every policy document that grants them something.

IAM answers for one name at a time: these readers are given one kind each (READERS, each=True).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from validator.aws.reader import Read, Reader
from validator.aws.recorder import FAILED, NOT_FOUND, Reading, paginate, tags
from validator.kinds import KINDS, Kind, params_value
from validator.policy.document import PolicyError, load_document


def read_policy(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """The policy, its default version's document and its tags; for remediate, its versions too."""
    [kind] = kinds
    iam, rec, name, path = r.clients["iam"], r.rec, kind.name, kind.path
    snap = rec.snap
    arn = f"arn:{snap.partition}:iam::{snap.account_id}:policy/{name}"
    got = rec.call(path, "iam:GetPolicy", lambda: iam.get_policy(PolicyArn=arn)["Policy"])
    if got is FAILED:
        return
    if got is NOT_FOUND:
        rec.put(path, None)
        return
    version_id = got.get("DefaultVersionId")
    reads = {
        "version": lambda: rec.call(
            path + ".document",
            "iam:GetPolicyVersion",
            lambda: iam.get_policy_version(PolicyArn=arn, VersionId=version_id)["PolicyVersion"],
        )
    }
    if r.for_fix:  # how many versions it has: a policy holds five at most
        reads["versions"] = lambda: rec.call(
            path + ".versions",
            "iam:ListPolicyVersions",
            lambda: paginate(iam, "list_policy_versions", "Versions", PolicyArn=arn),
        )
    if "Tags" not in got:  # AWS returns them with the policy; an endpoint that does not is asked
        reads["tags"] = lambda: rec.call(
            path + ".tags", "iam:ListPolicyTags", lambda: paginate(iam, "list_policy_tags", "Tags", PolicyArn=arn)
        )
    answers = dict(zip(reads, rec.together(*reads.values())))
    version, versions = answers["version"], answers.get("versions")
    if "Tags" in got:
        tag_list = got["Tags"]
    else:
        listed = answers["tags"]
        tag_list = None if listed is FAILED else [] if listed is NOT_FOUND else listed
    doc: Any = None
    if version not in (FAILED, NOT_FOUND):
        try:
            doc = load_document(version.get("Document"))
        except PolicyError as exc:
            rec.fail(path + ".document", f"default version {version_id} of {name}: {exc}")
    elif version is NOT_FOUND:
        rec.fail(path + ".document", f"default version {version_id} of {name} not found")
    rec.put(
        path,
        {
            "arn": got["Arn"],
            "name": got.get("PolicyName", name),
            "tags": None if tag_list is None else tags(tag_list),
            "default_version_id": version_id,
            "document": doc,
            "attachment_count": got.get("AttachmentCount"),
            **(
                {}
                if versions in (None, FAILED, NOT_FOUND)
                else {
                    "versions": [
                        {
                            "id": v["VersionId"],
                            "default": bool(v.get("IsDefaultVersion")),
                            "created": str(v.get("CreateDate", "")),
                        }
                        for v in versions
                    ]
                }
            ),
        },
    )


def read_inline_policy(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """The guide's policy where a recipe writes it inline in its role (kind `inline_in`): its
    document, by the role's name and its own (GetRolePolicy). An inline policy has no ARN, no
    tags and no versions; a role that is not there has no such policy."""
    [kind] = kinds
    iam, rec, name, path = r.clients["iam"], r.rec, kind.name, kind.path
    role = KINDS[kind.inline_in].name
    got = rec.call(path, "iam:GetRolePolicy", lambda: iam.get_role_policy(RoleName=role, PolicyName=name))
    if got is FAILED:
        return
    if got is NOT_FOUND:
        rec.put(path, None)
        return
    doc: Any = None
    try:
        doc = load_document(got.get("PolicyDocument"))
    except PolicyError as exc:
        rec.fail(path + ".document", f"inline policy {name} of {role}: {exc}")
    rec.put(path, {"arn": None, "name": got.get("PolicyName", name), "inline_in": role, "document": doc})


def read_role(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """The role and its policy lists, asked for at once (each list needs only the name); and the
    instance profiles that hold it, for a role that has one (its kind's `profile`)."""
    [kind] = kinds
    iam, rec, name, path = r.clients["iam"], r.rec, kind.name, kind.path

    def listing(key: str, action: str, op: str, field: str) -> Any:
        return lambda: rec.call(f"{path}.{key}", action, lambda: paginate(iam, op, field, RoleName=name))

    got, attached, inline, *profiles = rec.together(
        lambda: rec.call(path, "iam:GetRole", lambda: iam.get_role(RoleName=name)["Role"]),
        listing("attached_policies", "iam:ListAttachedRolePolicies", "list_attached_role_policies", "AttachedPolicies"),
        listing("inline_policies", "iam:ListRolePolicies", "list_role_policies", "PolicyNames"),
        *(
            [
                listing(
                    "instance_profiles",
                    "iam:ListInstanceProfilesForRole",
                    "list_instance_profiles_for_role",
                    "InstanceProfiles",
                )
            ]
            if kind.profile
            else []
        ),
    )
    if got is FAILED:
        return
    if got is NOT_FOUND:
        rec.put(path, None)
        rec.forget(path)  # a list of a role that is not there failing says nothing more
        return
    role: dict[str, Any] = {
        "arn": got["Arn"],
        "name": got["RoleName"],
        "tags": tags(got.get("Tags")),
        "trust_policy": got.get("AssumeRolePolicyDocument"),
    }
    if attached not in (FAILED, NOT_FOUND):
        role["attached_policies"] = [{"name": p["PolicyName"], "arn": p["PolicyArn"]} for p in attached]
    if inline not in (FAILED, NOT_FOUND):
        role["inline_policies"] = list(inline)
    role.update(_role_documents(r, kind, got, inline, attached))
    if profiles and profiles[0] not in (FAILED, NOT_FOUND):
        role["instance_profiles"] = [
            {"name": p["InstanceProfileName"], "arn": p["Arn"], "roles": [x["RoleName"] for x in p.get("Roles", [])]}
            for p in profiles[0]
        ]
    rec.put(path, role)


def _role_documents(r: Reading, kind: Kind, got: dict[str, Any], inline: Any, attached: Any) -> dict[str, Any]:
    """What else grants the guide's role something, or caps it: its inline policies' documents,
    its other managed policies' (the guide's own policy, kind `policy`, is read by its kind), and
    its permissions boundary; each read only when the role has it, all at once."""
    iam, snap, name = r.clients["iam"], r.rec.snap, kind.name
    own = f"arn:{snap.partition}:iam::{snap.account_id}:policy/{KINDS[kind.policy].name}" if kind.policy else ""
    others = attached if attached in (FAILED, NOT_FOUND) else [p for p in attached if p["PolicyArn"] != own]
    docs, bound = r.rec.together(
        lambda: _documents(
            r,
            kind.path,
            inline,
            others,
            "iam:GetRolePolicy",
            lambda p: iam.get_role_policy(RoleName=name, PolicyName=p),
            keys=("inline_documents", "attached_documents"),
        ),
        lambda: _boundary(r, kind.path, got),
    )
    if bound is not FAILED:
        docs["permissions_boundary"] = bound
    return docs


def read_instance_profile(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """The instance profile the console creates with the role, by its name (it can outlive the role)."""
    [kind] = kinds
    iam, rec, name, path = r.clients["iam"], r.rec, kind.name, kind.path
    got = rec.call(
        path, "iam:GetInstanceProfile", lambda: iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
    )
    if got is FAILED:
        return
    rec.put(
        path,
        None
        if got is NOT_FOUND
        else {
            "name": got["InstanceProfileName"],
            "arn": got["Arn"],
            "roles": [x["RoleName"] for x in got.get("Roles", [])],
        },
    )


# ------------------------------------------------------------------ the data store's principals


def _when(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def _managed(r: Reading, where: str, arn: str, name: str) -> Any:
    """A managed policy's default version: {name, arn, default_version_id, document as returned}
    (GetPolicy, then GetPolicyVersion), or FAILED (recorded at `where`) or NOT_FOUND."""
    iam, rec = r.clients["iam"], r.rec
    got = rec.call(where, "iam:GetPolicy", lambda: iam.get_policy(PolicyArn=arn)["Policy"])
    if got in (FAILED, NOT_FOUND):
        return got
    version_id = got.get("DefaultVersionId")
    version = rec.call(
        where,
        "iam:GetPolicyVersion",
        lambda: iam.get_policy_version(PolicyArn=arn, VersionId=version_id)["PolicyVersion"],
    )
    if version in (FAILED, NOT_FOUND):
        return version
    return {"name": name, "arn": arn, "default_version_id": version_id, "document": version.get("Document")}


POLICY_KEYS = ("inline_policies", "attached_policies")


def _documents(
    r: Reading,
    path: str,
    inline: Any,
    attached: Any,
    inline_action: str,
    get_inline: Callable[[str], Any],
    keys: tuple[str, str] = POLICY_KEYS,
) -> dict[str, Any]:
    """The documents of a principal's inline policies (`get_inline(name)`) and attached managed
    policies (GetPolicy, then its default version), all asked for at once, under `keys` (inline,
    attached). A part that could not be listed or read is left out and its failure recorded under
    `<path>.<key>`: the rules that judge what the principal may do are then error."""
    rec = r.rec
    part = {"inline": f"{path}.{keys[0]}", "attached": f"{path}.{keys[1]}"}

    def one_inline(name: str) -> Any:
        got = rec.call(part["inline"], inline_action, lambda: get_inline(name))
        return got if got in (FAILED, NOT_FOUND) else {"name": name, "document": got.get("PolicyDocument")}

    names = [] if inline in (FAILED, NOT_FOUND) else list(inline)
    policies = [] if attached in (FAILED, NOT_FOUND) else list(attached)
    reads = [
        *(lambda n=n: one_inline(n) for n in names),
        *(lambda p=p: _managed(r, part["attached"], p["PolicyArn"], p["PolicyName"]) for p in policies),
    ]
    answers = rec.together(*reads) if reads else []
    out: dict[str, Any] = {}
    for key, listed, got in (
        (keys[0], inline, answers[: len(names)]),
        (keys[1], attached, answers[len(names) :]),
    ):
        if listed in (FAILED, NOT_FOUND) or FAILED in got:
            continue
        docs = [d for d in got if d is not NOT_FOUND]  # one deleted between the listing and the read
        try:
            out[key] = [{**d, "document": load_document(d["document"])} for d in docs]
        except PolicyError as exc:
            rec.fail(f"{path}.{key}", f"a policy of {path}: {exc}")
    return out


def _boundary(r: Reading, path: str, got: dict[str, Any]) -> Any:
    """The permissions boundary GetRole (or GetUser) names, with its default version's document;
    None when there is none. A boundary that could not be read is recorded at
    `<path>.permissions_boundary` (what the principal may do is then error) and left out."""
    arn = (got.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
    if not arn:
        return None
    where = f"{path}.permissions_boundary"
    found = _managed(r, where, arn, arn.rsplit("/", 1)[-1])
    if found is FAILED:
        return FAILED
    if found is NOT_FOUND:  # a boundary whose policy is gone allows nothing
        return {"name": arn.rsplit("/", 1)[-1], "arn": arn, "document": None}
    try:
        return {**found, "document": load_document(found["document"])}
    except PolicyError as exc:
        r.rec.fail(where, f"permissions boundary {arn}: {exc}")
        return FAILED


def read_user(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """The user the params name, every policy document that grants it something, and its access
    keys' ids, states and ages (ListAccessKeys gives no secret); `users` holds it, or nothing when
    there is no user of that name."""
    [kind] = kinds
    iam, rec, path = r.clients["iam"], r.rec, kind.snapshot
    name = kind.named(r.params)

    def listing(key: str, action: str, op: str, field: str) -> Any:
        return lambda: rec.call(f"{path}.{key}", action, lambda: paginate(iam, op, field, UserName=name))

    got, inline, attached, keys, groups = rec.together(
        lambda: rec.call(path, "iam:GetUser", lambda: iam.get_user(UserName=name)["User"]),
        listing("inline_policies", "iam:ListUserPolicies", "list_user_policies", "PolicyNames"),
        listing("attached_policies", "iam:ListAttachedUserPolicies", "list_attached_user_policies", "AttachedPolicies"),
        listing("access_keys", "iam:ListAccessKeys", "list_access_keys", "AccessKeyMetadata"),
        listing("groups", "iam:ListGroupsForUser", "list_groups_for_user", "Groups"),
    )
    if got is FAILED:  # recorded under `users`: every rule of the user is error
        rec.forget(path)
        return
    if got is NOT_FOUND:
        rec.forget(path)  # the parts of a user that is not there
        rec.put(path, [])
        return
    user: dict[str, Any] = {"name": got["UserName"], "arn": got["Arn"]}
    bound = _boundary(r, path, got)
    if bound is not FAILED:
        user["permissions_boundary"] = bound
    user.update(
        _documents(
            r,
            path,
            inline,
            attached,
            "iam:GetUserPolicy",
            lambda p: iam.get_user_policy(UserName=name, PolicyName=p),
        )
    )
    if groups not in (FAILED, NOT_FOUND):
        found = _groups(r, f"{path}.groups", [g["GroupName"] for g in groups])
        if found is not None:
            user["groups"] = found
    if keys not in (FAILED, NOT_FOUND):
        user["access_keys"] = [
            {"id": k["AccessKeyId"], "status": k.get("Status", ""), "created": _when(k.get("CreateDate"))} for k in keys
        ]
    rec.put(path, [user])


def _groups(r: Reading, path: str, names: list[str]) -> list[dict[str, Any]] | None:
    """Each group the user is in, with every policy document it grants (the user may do what its
    groups may). None when one could not be read: the failure is recorded at `path` (users.groups)
    and the rules that judge what the user may do are error."""
    iam, rec = r.clients["iam"], r.rec

    def one(group: str) -> dict[str, Any]:
        where = f"{path}.{group}"
        inline, attached = rec.together(
            lambda: rec.call(
                f"{where}.inline_policies",
                "iam:ListGroupPolicies",
                lambda: paginate(iam, "list_group_policies", "PolicyNames", GroupName=group),
            ),
            lambda: rec.call(
                f"{where}.attached_policies",
                "iam:ListAttachedGroupPolicies",
                lambda: paginate(iam, "list_attached_group_policies", "AttachedPolicies", GroupName=group),
            ),
        )
        docs = _documents(
            r,
            where,
            inline,
            attached,
            "iam:GetGroupPolicy",
            lambda p: iam.get_group_policy(GroupName=group, PolicyName=p),
        )
        return {"name": group, **docs}

    found = rec.together(*(lambda g=g: one(g) for g in names)) if names else []
    failed = [why for key, why in list(rec.snap.errors.items()) if key.startswith(path + ".")]
    if failed:
        rec.forget(path)
        rec.fail(path, failed[0])
        return None
    return found


def read_role_policies(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """The role the params name (the data store's, or the multipart role of their ARN), its trust
    policy and every policy document that grants it something; the kind's list holds it, or
    nothing when there is no role of that name. A role of another account than the one read is
    not asked for: its rules are error, saying so."""
    [kind] = kinds
    iam, rec, path = r.clients["iam"], r.rec, kind.snapshot
    name = kind.named(r.params)
    account = rec.snap.account_id
    if kind.name_from == "arn":
        arn = params_value(r.params, kind.params_key) or ""
        theirs = arn.split(":")[4] if arn.count(":") >= 5 else account
        if theirs != account:
            rec.fail(path, f"{arn} is a role of account {theirs}; vhv reads account {account}, where it is not")
            return

    def listing(key: str, action: str, op: str, field: str) -> Any:
        return lambda: rec.call(f"{path}.{key}", action, lambda: paginate(iam, op, field, RoleName=name))

    got, inline, attached = rec.together(
        lambda: rec.call(path, "iam:GetRole", lambda: iam.get_role(RoleName=name)["Role"]),
        listing("inline_policies", "iam:ListRolePolicies", "list_role_policies", "PolicyNames"),
        listing("attached_policies", "iam:ListAttachedRolePolicies", "list_attached_role_policies", "AttachedPolicies"),
    )
    if got is FAILED:
        rec.forget(path)
        return
    if got is NOT_FOUND:
        rec.forget(path)
        rec.put(path, [])
        return
    if kind.name_from == "arn" and got.get("Arn") != arn:
        # a role of that name at another path: not the role of the params' ARN (Valohai would be
        # given an ARN nobody can assume)
        rec.forget(path)
        rec.put(path, [])
        return
    role: dict[str, Any] = {
        "name": got["RoleName"],
        "arn": got["Arn"],
        "trust_policy": got.get("AssumeRolePolicyDocument"),
    }
    bound = _boundary(r, path, got)
    if bound is not FAILED:
        role["permissions_boundary"] = bound
    role.update(
        _documents(
            r,
            path,
            inline,
            attached,
            "iam:GetRolePolicy",
            lambda p: iam.get_role_policy(RoleName=name, PolicyName=p),
        )
    )
    rec.put(path, [role])


# the catalogue's `reader: iam.NAME`
READERS = {
    "policy": Reader("iam", Read(read_policy), each=True),
    "inline_policy": Reader("iam", Read(read_inline_policy), each=True),
    "role": Reader("iam", Read(read_role), each=True),
    "instance_profile": Reader("iam", Read(read_instance_profile), each=True),
    "user": Reader("iam", Read(read_user), each=True),
    "data_role": Reader("iam", Read(read_role_policies), each=True),
    "multipart_role": Reader("iam", Read(read_role_policies), each=True),
}
