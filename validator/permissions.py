"""The IAM policy vhv itself needs, built from what the catalogue declares.

The actions are declared once, per kind, in rules/catalogue.yaml: validator.aws.account.PERMISSIONS
for `check` (who it is, and the kinds' read_actions: exactly the reads the rules need); for
`remediate --fix`, also validator.aws.account.FIX_PERMISSIONS (the fix_read_actions: the reads
only the fixers use, made by read(for_fix=True)) and the fixers' own actions
(validator.fixers.permissions()). Nothing here is a second copy.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

from validator import __version__
from validator.aws.account import FIX_PERMISSIONS, PERMISSIONS
from validator.errors import VhvError

VERSION = "2012-10-17"


def check_actions(params: Any = None) -> list[str]:
    """What `check` calls; for an account a recipe built (the params' built_with), also what is read
    only there (the queue's role and Redis secret, the queue's user data)."""
    if params is None:
        return sorted(set(PERMISSIONS))
    from validator import kinds  # deferred: the catalogue is loaded only when params are given

    with kinds.for_params(params):
        recipe = kinds.active()
        made = {a for k in kinds.KINDS.values() if k.made_by(recipe) and k.read_for == "check" for a in k.read_actions}
    return sorted(set(PERMISSIONS) | made)


def fix_read_actions() -> list[str]:
    """The reads `remediate` makes beyond check's (for the fixers only)."""
    return sorted(set(FIX_PERMISSIONS) - set(check_actions()))


def fix_actions() -> list[str] | None:
    """What remediation calls beyond check's reads (the fixers' reads and writes), or None
    when this vhv has no remediation.

    Uses validator.fixers.permissions() when the package provides one, else the
    PERMISSIONS tuples of its modules."""
    try:
        pkg = importlib.import_module("validator.fixers")
    except ImportError:
        return None
    provided = getattr(pkg, "permissions", None)
    if callable(provided):
        found = set(provided())
    else:
        found = set(getattr(pkg, "PERMISSIONS", ()))
        for mod in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
            found.update(getattr(importlib.import_module(f"{pkg.__name__}.{mod.name}"), "PERMISSIONS", ()))
    if not found:
        return None
    return sorted((found | set(fix_read_actions())) - set(check_actions()))


# The ARN of a kind the fixers write, by its AWS type: IAM and S3 actions name the resource they act
# on, so remediate's calls there are allowed on the guide's resources only. EC2's stay on "*": its
# create calls make resources that have no ARN yet, and vhv finds the others by tag.
ARN_OF_TYPE = {
    "AWS::IAM::Role": ("arn:{partition}:iam::{account}:role/{name}", "Roles"),
    "AWS::IAM::ManagedPolicy": ("arn:{partition}:iam::{account}:policy/{name}", "Policies"),
    "AWS::IAM::InstanceProfile": ("arn:{partition}:iam::{account}:instance-profile/{name}", "InstanceProfile"),
    "AWS::S3::Bucket": ("arn:{partition}:s3:::{name}", "DataBucket"),
}
# iam:PassRole acts on the role passed: the one put in the instance profile (the kind whose
# `profile` names the profile's kind)
PASS_ROLE = "iam:PassRole"


def _scopes(account: str, partition: str, params: Any) -> tuple[dict[str, tuple[set[str], str]], set[str]]:
    """Each action a kind of a scoped type declares (read and fix actions): the ARNs it acts on and
    its statement's name; an action a kind of another type declares too stays on "*". And the
    actions only kinds the params do not name declare (no data store: no S3 write is needed)."""
    from validator.kinds import GUIDE, KINDS  # deferred: the catalogue is loaded only for --fix

    scoped: dict[str, tuple[set[str], str]] = {}
    unscoped: set[str] = set()
    unnamed: set[str] = set()
    named_any: set[str] = set()
    for kind in (k for k in KINDS.values() if k.made_by(GUIDE)):  # a recipe-only kind has no fixer
        declared = {*kind.read_actions, *kind.fix_read_actions, *kind.fix_actions}
        name = kind.named(params) if params is not None else (kind.name if not kind.params_key else "*")
        if not name:
            unnamed |= declared
            continue
        named_any |= declared
        typed = ARN_OF_TYPE.get(kind.aws_type)
        if typed is None:
            unscoped |= declared
            continue
        template, word = typed
        for action in declared:
            if action == PASS_ROLE:
                roles = [k.name for k in KINDS.values() if k.profile == kind.key] or [name]
                arns, _ = scoped.setdefault(action, (set(), "PassWorkerRoleToItsProfile"))
                arns.update(f"arn:{partition}:iam::{account}:role/{r}" for r in roles)
            else:
                arns, _ = scoped.setdefault(action, (set(), word))
                arns.add(template.format(partition=partition, account=account, name=name))
    return {a: v for a, v in scoped.items() if a not in unscoped}, unnamed - named_any


def _where(params: Any) -> tuple[str, str]:
    """The account and partition the ARNs name: the params' (account_id, the region's partition),
    else any account in the aws partition."""
    if params is None:
        return "*", "aws"
    from validator.snapshot import PARTITION_OF_PREFIX  # deferred: start-up

    region = str(params.get("region") or "")
    partition = next((p for prefix, p in PARTITION_OF_PREFIX if region.startswith(prefix)), "aws")
    account = params.get("account_id")
    return (str(account) if account else "*"), partition


def policy(fix: bool = False, params: Any = None) -> dict[str, Any]:
    """The policy document: one statement for check's reads; with `fix`, what remediation adds (the
    fixers' own reads and their writes), on the guide's resources where the action names one (IAM,
    S3: in the params' account and on their bucket when `params` are given) and on "*" otherwise."""
    statements = [{"Sid": "VhvCheckReadOnly", "Effect": "Allow", "Action": check_actions(params), "Resource": "*"}]
    if fix:
        writes = fix_actions()
        if writes is None:
            raise VhvError(
                f"remediation is not available in this version of vhv ({__version__}); "
                "`vhv permissions` without --fix prints what `check` needs"
            )
        scopes, unneeded = _scopes(*_where(params), params)
        writes = [a for a in writes if a not in unneeded]
        anywhere = [a for a in writes if a not in scopes]
        if anywhere:
            statements.append({"Sid": "VhvRemediate", "Effect": "Allow", "Action": anywhere, "Resource": "*"})
        grouped: dict[tuple[str, tuple[str, ...]], list[str]] = {}
        for action in writes:
            if action in scopes:
                arns, sid = scopes[action]
                grouped.setdefault((sid, tuple(sorted(arns))), []).append(action)
        for (sid, arns), actions in sorted(grouped.items()):
            statements.append(
                {"Sid": f"VhvRemediate{sid}", "Effect": "Allow", "Action": actions, "Resource": list(arns)}
            )
    return {"Version": VERSION, "Statement": statements}


def render(doc: dict[str, Any], fmt: str) -> str:
    """console: the policy document, ready to paste; json: the same with what it is for."""
    if fmt == "json":
        actions = sorted({a for st in doc["Statement"] for a in st["Action"]})
        return json.dumps({"tool": "vhv", "version": __version__, "actions": actions, "policy": doc}, indent=2) + "\n"
    return json.dumps(doc, indent=2) + "\n"
