"""Secrets Manager: the secrets a recipe makes (the queue's Redis password), by their name.

ListSecrets filters by a name prefix; the catalogue's name is a glob (Terraform adds a suffix to
the name it is given), matched here. What a secret holds is never asked for (no GetSecretValue):
its name, tags, key, rotation and resource policy are what the rules judge.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from validator.aws.reader import Read, Reader
from validator.aws.recorder import FAILED, NOT_FOUND, Reading, json_or_text, paginate, tags
from validator.kinds import Kind


def _prefix(glob: str) -> str:
    """The literal start of a name glob: what ListSecrets' name filter (a prefix) can ask for."""
    cut = min((i for i, c in enumerate(glob) if c in "*?["), default=len(glob))
    return glob[:cut]


def _policy(answer: Any) -> Any:
    """The resource policy as a document (None: there is none; the text when it is not JSON)."""
    if answer is NOT_FOUND or not answer.get("ResourcePolicy"):
        return None
    return json_or_text(answer["ResourcePolicy"])


def read_secrets(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """Each secret whose name matches the kind's glob, with its resource policy (asked for each at once)."""
    [kind] = kinds
    sm, rec, path = r.clients["secretsmanager"], r.rec, kind.snapshot
    listed = rec.call(
        path,
        "secretsmanager:ListSecrets",
        lambda: paginate(sm, "list_secrets", "SecretList", Filters=[{"Key": "name", "Values": [_prefix(kind.name)]}]),
    )
    if listed is FAILED:
        return
    found = [s for s in ([] if listed is NOT_FOUND else listed) if fnmatch.fnmatchcase(s.get("Name", ""), kind.name)]
    policies = rec.together(
        *(
            lambda s=s: rec.call(
                f"{path}.resource_policy",
                "secretsmanager:GetResourcePolicy",
                lambda: sm.get_resource_policy(SecretId=s["ARN"]),
            )
            for s in found
        )
    )
    rec.put(
        path,
        [
            {
                "name": s["Name"],
                "arn": s["ARN"],
                "tags": tags(s.get("Tags")),
                "kms_key_id": s.get("KmsKeyId"),
                "rotation_enabled": bool(s.get("RotationEnabled")),
                **({} if policy is FAILED else {"resource_policy": _policy(policy)}),
            }
            for s, policy in zip(found, policies)
        ],
    )


READERS = {"secrets": Reader("secretsmanager", Read(read_secrets), each=True)}
