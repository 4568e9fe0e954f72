"""IAM: the guide's customer managed policies, roles and instance profile, each read by its name.

IAM answers for one name at a time: these readers are given one kind each (READERS, each=True).
"""

from __future__ import annotations

from typing import Any

from validator.aws.reader import Read, Reader
from validator.aws.recorder import FAILED, NOT_FOUND, Reading, paginate, tags
from validator.kinds import Kind
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
    if profiles and profiles[0] not in (FAILED, NOT_FOUND):
        role["instance_profiles"] = [
            {"name": p["InstanceProfileName"], "arn": p["Arn"], "roles": [x["RoleName"] for x in p.get("Roles", [])]}
            for p in profiles[0]
        ]
    rec.put(path, role)


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


# the catalogue's `reader: iam.NAME`
READERS = {
    "policy": Reader("iam", Read(read_policy), each=True),
    "role": Reader("iam", Read(read_role), each=True),
    "instance_profile": Reader("iam", Read(read_instance_profile), each=True),
}
