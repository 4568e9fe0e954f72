"""IAM: the guide's two customer managed policies and two roles, read by name."""
from __future__ import annotations

from typing import Any

from validator.aws.recorder import FAILED, NOT_FOUND, Recorder, paginate, tags
from validator.policy.document import PolicyError, load_document

POLICIES = ("ValohaiWorkerPolicy", "ValohaiMasterPolicy")
ROLES = ("ValohaiWorkerRole", "ValohaiMaster")
PERMISSIONS = (
    "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyTags",
    "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:ListInstanceProfilesForRole",
)


def read_policy(iam: Any, rec: Recorder, name: str) -> None:
    snap = rec.snap
    path = f"policies.{name}"
    arn = f"arn:{snap.partition}:iam::{snap.account_id}:policy/{name}"
    got = rec.call(path, "iam:GetPolicy", lambda: iam.get_policy(PolicyArn=arn)["Policy"])
    if got is FAILED:
        return
    if got is NOT_FOUND:
        rec.put(path, None)
        return
    if "Tags" in got:
        tag_list = got["Tags"]
    else:
        tag_list = rec.call(path + ".tags", "iam:ListPolicyTags",
                            lambda: paginate(iam, "list_policy_tags", "Tags", PolicyArn=arn))
        tag_list = None if tag_list is FAILED else [] if tag_list is NOT_FOUND else tag_list
    version_id = got.get("DefaultVersionId")
    version = rec.call(path + ".document", "iam:GetPolicyVersion",
                       lambda: iam.get_policy_version(PolicyArn=arn, VersionId=version_id)["PolicyVersion"])
    doc: Any = None
    if version not in (FAILED, NOT_FOUND):
        try:
            doc = load_document(version.get("Document"))
        except PolicyError as exc:
            rec.fail(path + ".document", f"default version {version_id} of {name}: {exc}")
    elif version is NOT_FOUND:
        rec.fail(path + ".document", f"default version {version_id} of {name} not found")
    rec.put(path, {
        "arn": got["Arn"], "name": got.get("PolicyName", name), "tags": None if tag_list is None else tags(tag_list),
        "default_version_id": version_id, "document": doc,
        "attachment_count": got.get("AttachmentCount"),
    })


def read_role(iam: Any, rec: Recorder, name: str) -> None:
    path = f"roles.{name}"
    got = rec.call(path, "iam:GetRole", lambda: iam.get_role(RoleName=name)["Role"])
    if got is FAILED:
        return
    if got is NOT_FOUND:
        rec.put(path, None)
        return
    role: dict[str, Any] = {
        "arn": got["Arn"], "name": got["RoleName"], "tags": tags(got.get("Tags")),
        "trust_policy": got.get("AssumeRolePolicyDocument"),
    }
    attached = rec.call(path + ".attached_policies", "iam:ListAttachedRolePolicies",
                        lambda: paginate(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name))
    if attached not in (FAILED, NOT_FOUND):
        role["attached_policies"] = [{"name": p["PolicyName"], "arn": p["PolicyArn"]} for p in attached]
    inline = rec.call(path + ".inline_policies", "iam:ListRolePolicies",
                      lambda: paginate(iam, "list_role_policies", "PolicyNames", RoleName=name))
    if inline not in (FAILED, NOT_FOUND):
        role["inline_policies"] = list(inline)
    profiles = rec.call(path + ".instance_profiles", "iam:ListInstanceProfilesForRole",
                        lambda: paginate(iam, "list_instance_profiles_for_role", "InstanceProfiles", RoleName=name))
    if profiles not in (FAILED, NOT_FOUND):
        role["instance_profiles"] = [
            {"name": p["InstanceProfileName"], "arn": p["Arn"], "roles": [r["RoleName"] for r in p.get("Roles", [])]}
            for p in profiles
        ]
    rec.put(path, role)
