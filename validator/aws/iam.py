"""IAM: the guide's two customer managed policies and two roles, read by name."""

from __future__ import annotations

from typing import Any

from validator.aws.recorder import FAILED, NOT_FOUND, Recorder, paginate, tags
from validator.policy.document import PolicyError, load_document

POLICIES = ("ValohaiWorkerPolicy", "ValohaiMasterPolicy")
ROLES = ("ValohaiWorkerRole", "ValohaiMaster")
PERMISSIONS = (
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:ListPolicyTags",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListInstanceProfilesForRole",
)
# Read only for remediate (read(for_fix=True)); no rule needs them: how many versions a policy
# has (five is the limit), and the instance profile by name (it can outlive the role).
FIX_PERMISSIONS = ("iam:ListPolicyVersions", "iam:GetInstanceProfile")
PROFILES = ("ValohaiWorkerRole",)
PROFILED_ROLES = ("ValohaiWorkerRole",)  # the only role a rule asks the instance profiles of


def read_policy(iam: Any, rec: Recorder, name: str, for_fix: bool = False) -> None:
    """The policy, its default version's document and its tags; with `for_fix`, its versions too."""
    snap = rec.snap
    path = f"policies.{name}"
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
    if for_fix:
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


def read_role(iam: Any, rec: Recorder, name: str) -> None:
    """The role and its policy lists, asked for at once (each list needs only the name)."""
    path = f"roles.{name}"

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
            if name in PROFILED_ROLES
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
            {"name": p["InstanceProfileName"], "arn": p["Arn"], "roles": [r["RoleName"] for r in p.get("Roles", [])]}
            for p in profiles[0]
        ]
    rec.put(path, role)


def read_instance_profile(iam: Any, rec: Recorder, name: str) -> None:
    """The instance profile the console creates with the role, by its name (it can outlive the role)."""
    path = f"instance_profiles.{name}"
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
            "roles": [r["RoleName"] for r in got.get("Roles", [])],
        },
    )
