"""IAM fixers: the guide's two policies and two roles, their tags, attachments, trust and
the worker role's instance profile. Policies are changed only by a new default version."""

from __future__ import annotations

import copy
import json
from typing import Any

from validator import guide
from validator.fixers.builder import Builder, tags
from validator.fixers.plan import DECIDE, FIX
from validator.kinds import KINDS
from validator.policy import compare
from validator.policy.document import PolicyError, as_list, statements
from validator.snapshot import Undecidable

PERMISSIONS = (
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:DeletePolicyVersion",
    "iam:TagPolicy",
    "iam:CreateRole",
    "iam:TagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:CreateInstanceProfile",
    "iam:TagInstanceProfile",
    "iam:AddRoleToInstanceProfile",
    "iam:PassRole",  # AWS asks for it to put a role in an instance profile
)
MAX_VERSIONS = 5
POLICIES = {
    "worker_policy": ("ValohaiWorkerPolicy", "worker-policy", ("worker-policy-grants",)),
    "master_policy": (
        "ValohaiMasterPolicy",
        "master-policy",
        (
            "master-policy-describe",
            "master-policy-launch-templates",
            "master-policy-service-linked-role",
            "master-policy-pass-worker-role",
        ),
    ),
}
ROLES = {
    "worker_role": ("ValohaiWorkerRole", "worker-role", "worker_policy"),
    "master_role": ("ValohaiMaster", "master-role", "master_policy"),
}
FULL_ACCESS = {
    "master-role-ec2-full-access": "AmazonEC2FullAccess",
    "master-role-vpc-full-access": "AmazonVPCFullAccess",
}


def _arn(b: Builder, kind: str) -> str:
    return f"arn:{b.snap.partition}:iam::{b.snap.account_id}:policy/{POLICIES[kind][0]}"


def _guide_doc(b: Builder, kind: str) -> dict[str, Any]:
    if kind == "worker_policy":
        return copy.deepcopy(guide.WORKER_POLICY)
    return guide.master_policy(b.ctx(kind).worker_role_arn())


def _trust(b: Builder, kind: str) -> dict[str, Any]:
    return guide.ec2_trust() if kind == "worker_role" else guide.master_trust(b.params.assume_role_arn)


def _text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=None, separators=(",", ":"))


def _create(b: Builder, kind: str, prefix: str, what: str, document: dict[str, str], summary: str) -> bool:
    """When `<prefix>-exists` fails, plan iam.create_<what> of the guide's `kind` with `document`
    (its name, description and valohai=1 tag added); True when it did."""
    rule = f"{prefix}-exists"
    if not b.fails(rule):
        return False
    b.add(
        rule,
        kind,
        f"iam.create_{what}",
        {
            f"{what.capitalize()}Name": KINDS[kind].name,
            **document,
            "Description": f"Valohai private workers (the setup guide's {what})",
            "Tags": tags(),
        },
        summary,
        creates="-",
    )
    return True


# ------------------------------------------------------------------ policies


def _specs(b: Builder, rule_id: str) -> list[compare.Spec]:
    ctx = b.ctx(b.rules[rule_id].resource)
    return [compare.Spec.from_args(ctx.expand(s)) for s in b.rules[rule_id].args["statements"]]


def _missing(b: Builder, doc: dict[str, Any], rule_ids: list[str]) -> list[tuple[compare.Spec, list[str]]]:
    sts = statements(doc)
    out = []
    for rid in rule_ids:
        for spec in _specs(b, rid):
            gaps = compare.missing_grants(sts, spec, b.snap.account_id)
            if gaps:
                out.append((spec, gaps))
    return out


def _merge(doc: dict[str, Any], wanted: dict[str, Any]) -> None:
    """Put the guide's statement `wanted` into `doc`: in place of the statement with its Sid when
    that one grants nothing the guide's does not (a template left on the PassRole line), else
    as a new statement with a Sid of its own. Nothing the document allows is taken away."""
    sts = doc["Statement"] = as_list(doc.get("Statement"))
    want_actions = {a.lower() for a in as_list(wanted["Action"])}
    for i, st in enumerate(sts):
        if (
            isinstance(st, dict)
            and st.get("Sid") == wanted.get("Sid")
            and st.get("Effect") == "Allow"
            and "NotAction" not in st
            and "NotResource" not in st
            and {a.lower() for a in as_list(st.get("Action"))} <= want_actions
        ):
            sts[i] = copy.deepcopy(wanted)
            return
    sids = {st.get("Sid") for st in sts if isinstance(st, dict)}
    new = copy.deepcopy(wanted)
    sid = f"{wanted.get('Sid', '')}Vhv"
    n = 1
    while sid in sids:
        n += 1
        sid = f"{wanted.get('Sid', '')}Vhv{n}"
    new["Sid"] = sid
    sts.append(new)


def _new_version(
    b: Builder, kind: str, rule: str, doc: dict[str, Any], why: str, risk: str, versions: list[dict[str, Any]]
) -> None:
    name = POLICIES[kind][0]
    arn = _arn(b, kind)
    if len(versions) >= MAX_VERSIONS:
        old = sorted((v for v in versions if not v.get("default")), key=lambda v: (v.get("created", ""), v["id"]))
        if old:
            victim = old[0]
            b.add(
                rule,
                kind,
                "iam.delete_policy_version",
                {"PolicyArn": arn, "VersionId": victim["id"]},
                f"delete version {victim['id']} of {name}, its oldest non-default version: a policy keeps at "
                f"most {MAX_VERSIONS} versions and the new one needs room",
                risk=risk,
            )
            versions.remove(victim)
    b.add(
        rule,
        kind,
        "iam.create_policy_version",
        {"PolicyArn": arn, "PolicyDocument": _text(doc), "SetAsDefault": True},
        f"new default version of {name}: {why}",
        risk=risk,
    )
    for v in versions:
        v["default"] = False
    versions.append({"id": "(new)", "default": True, "created": "~"})


def plan_policies(b: Builder) -> None:
    for kind, (name, prefix, grants) in POLICIES.items():
        try:
            _plan_policy(b, kind, name, prefix, grants)
        except Undecidable as exc:  # the master policy names the worker role's ARN, and it was not read
            for rule in sorted(r for r in b.failing if r in b.rules and b.rules[r].resource == kind):
                b.manual(rule, kind, f"not planned: {exc}; run vhv remediate where that can be read")


def _plan_policy(b: Builder, kind: str, name: str, prefix: str, grants: tuple[str, ...]) -> None:
    if b.fails(f"{prefix}-exists"):  # the guide's document is built only when it is needed
        _create(
            b,
            kind,
            prefix,
            "policy",
            {"PolicyDocument": _text(_guide_doc(b, kind))},
            f"create {name} with the guide's document",
        )
        return
    if b.fails(f"{prefix}-tag"):
        b.add(
            f"{prefix}-tag",
            kind,
            "iam.tag_policy",
            {"PolicyArn": _arn(b, kind), "Tags": tags()},
            f"tag {name} valohai=1",
        )
    versions = [dict(v) for v in b.get(f"policies.{name}.versions", []) or []]
    failing = [r for r in grants if b.fails(r)]
    doc = b.get(f"policies.{name}.document")
    if failing and isinstance(doc, dict):
        doc = _add_grants(b, kind, failing, doc, versions)
    within = f"{prefix}-within-guide"
    if b.fails(within) and not _within(b, within, doc):
        _new_version(
            b,
            kind,
            within,
            _guide_doc(b, kind),
            "the guide's document, nothing wider (the current default version stays as a non-default version)",
            DECIDE,
            versions,
        )


def _within(b: Builder, rule: str, doc: Any) -> bool:
    """The document the plan leaves (after adding grants) is no wider than the guide."""
    try:
        return isinstance(doc, dict) and not compare.wider_than(statements(doc), _specs(b, rule))
    except PolicyError:
        return False


def _add_grants(
    b: Builder, kind: str, failing: list[str], doc: dict[str, Any], versions: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Plan the new version that grants what is missing; the document it sets, or None."""
    name = POLICIES[kind][0]
    new = copy.deepcopy(doc)
    gaps = _missing(b, doc, failing)
    for st in _guide_doc(b, kind)["Statement"]:
        acts = {a.lower() for a in as_list(st["Action"])}
        if any({a.lower() for a in spec.actions} <= acts for spec, _ in gaps):
            _merge(new, st)
    try:
        still = _missing(b, new, failing)
    except PolicyError:
        still = [(None, ["the merged document cannot be read"])]
    if still:  # an explicit Deny, say: adding an Allow would not help
        for rid in failing:
            b.manual(
                rid,
                kind,
                f"{name}: "
                + "; ".join(g for _, gs in still for g in gs)
                + "; a new statement would not grant it: edit the policy by hand",
            )
        return None
    what = "; ".join(g for _, gs in gaps for g in gs)
    _new_version(
        b, kind, failing[0], new, f"the current document plus the guide's statement(s) for: {what}", FIX, versions
    )
    b.covered.update(failing)
    return new


# ------------------------------------------------------------------ roles


def _profile(b: Builder, rule: str) -> None:
    name = "ValohaiWorkerRole"
    profile = b.get(f"instance_profiles.{name}")
    if profile and profile.get("roles") and name not in profile["roles"]:
        b.manual(
            rule,
            "worker_role",
            f"the instance profile {name} holds {', '.join(profile['roles'])} (a profile "
            f"holds one role): create an instance profile for {name} by hand",
        )
        return
    if not profile:
        b.add(
            rule,
            "worker_role",
            "iam.create_instance_profile",
            {"InstanceProfileName": name, "Tags": tags()},
            f"create the instance profile {name}",
            risk=FIX,
        )
    b.add(
        rule,
        "worker_role",
        "iam.add_role_to_instance_profile",
        {"InstanceProfileName": name, "RoleName": name},
        f"put {name} in the instance profile {name}",
        risk=FIX,
    )


def _attach(b: Builder, rule: str, kind: str, arn: str) -> None:
    role = ROLES[kind][0]
    b.add(
        rule,
        kind,
        "iam.attach_role_policy",
        {"RoleName": role, "PolicyArn": arn},
        f"attach {arn.rsplit('/', 1)[-1]} to {role}",
        risk=FIX,
    )


def _detach_extra(b: Builder, rule: str, kind: str, allowed: list[str]) -> None:
    role = ROLES[kind][0]
    for p in b.get(f"roles.{role}.attached_policies", []) or []:
        if p["arn"] not in allowed:
            b.add(
                rule,
                kind,
                "iam.detach_role_policy",
                {"RoleName": role, "PolicyArn": p["arn"]},
                f"detach {p['name']} from {role} (the policy itself stays)",
                risk=DECIDE,
            )


def plan_roles(b: Builder) -> None:
    aws = f"arn:{b.snap.partition}:iam::aws:policy"
    for kind, (name, prefix, policy_kind) in ROLES.items():
        if _create(
            b,
            kind,
            prefix,
            "role",
            {"AssumeRolePolicyDocument": _text(_trust(b, kind))},
            f"create the role {name} with the guide's trust policy",
        ):
            _attach(b, f"{prefix}-exists", kind, _arn(b, policy_kind))
            if kind == "worker_role":
                _profile(b, f"{prefix}-exists")
            elif b.params.provisioning == "valohai":
                for pol in FULL_ACCESS.values():
                    _attach(b, f"{prefix}-exists", kind, f"{aws}/{pol}")
            continue
        if b.fails(f"{prefix}-tag"):
            b.add(f"{prefix}-tag", kind, "iam.tag_role", {"RoleName": name, "Tags": tags()}, f"tag {name} valohai=1")
        if b.fails(f"{prefix}-policy-attached"):
            _attach(b, f"{prefix}-policy-attached", kind, _arn(b, policy_kind))
        for rule, pol in FULL_ACCESS.items():
            if kind == "master_role" and b.fails(rule):
                _attach(b, rule, kind, f"{aws}/{pol}")
        if kind == "worker_role" and b.fails("worker-role-instance-profile"):
            _profile(b, "worker-role-instance-profile")
        if b.fails(f"{prefix}-trust"):
            b.add(
                f"{prefix}-trust",
                kind,
                "iam.update_assume_role_policy",
                {"RoleName": name, "PolicyDocument": _text(_trust(b, kind))},
                f"replace the trust policy of {name} with the guide's (removes every other principal)",
            )
        if b.fails(f"{prefix}-attached-only"):
            ctx = b.ctx(kind)
            _detach_extra(
                b, f"{prefix}-attached-only", kind, ctx.expand(b.rules[f"{prefix}-attached-only"].args["allowed"])
            )
        for rule in ("master-role-no-ec2-full-access", "master-role-no-vpc-full-access"):
            if kind == "master_role" and b.fails(rule):
                pol = rule.split("no-")[1].replace("-full-access", "")
                name_ = "AmazonEC2FullAccess" if pol == "ec2" else "AmazonVPCFullAccess"
                b.add(
                    rule,
                    kind,
                    "iam.detach_role_policy",
                    {"RoleName": name, "PolicyArn": f"{aws}/{name_}"},
                    f"detach {name_} from {name} (the policy itself stays)",
                    risk=DECIDE,
                )
        if b.fails(f"{prefix}-no-inline"):
            for pol in b.get(f"roles.{name}.inline_policies", []) or []:
                b.add(
                    f"{prefix}-no-inline",
                    kind,
                    "iam.delete_role_policy",
                    {"RoleName": name, "PolicyName": pol},
                    f"delete the inline policy {pol} of {name}",
                    risk=DECIDE,
                )


HANDLERS = (plan_policies, plan_roles)
