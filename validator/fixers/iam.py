"""IAM fixers: the guide's two policies and two roles, their tags, attachments, trust and
the worker role's instance profile. Policies are changed only by a new default version.

Each fix is registered in FIXERS by the name the rules give it (`fixer:` in rules/*.yaml) and is
handed the rules of one kind that name it; what it attaches, detaches or grants is in those
rules' args, and every name is the catalogue's."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

from validator import guide
from validator.checks.iam import carrying_guide_grants, deny_only_policies, within_specs
from validator.fixers.builder import Builder, tags
from validator.fixers.plan import DECIDE, FIX
from validator.kinds import KINDS
from validator.policy import compare, trusted
from validator.policy.document import PolicyError, as_list, statements
from validator.rulepack import Rule

MAX_VERSIONS = 5


def _is_policy(kind: str) -> bool:
    return KINDS[kind].match == "policy-name"


def _arn(b: Builder, kind: str) -> str:
    return f"arn:{b.snap.partition}:iam::{b.snap.account_id}:policy/{KINDS[kind].name}"


def _guide_doc(b: Builder, kind: str) -> dict[str, Any]:
    if kind == "worker_policy":
        return copy.deepcopy(guide.WORKER_POLICY)
    return guide.master_policy(b.ctx(kind).worker_role_arn())


def _trust(b: Builder, kind: str) -> dict[str, Any]:
    """The guide's trust; for the master role with the external id its trust asks for now, if any
    (the replacement must not drop the confused-deputy guard Valohai already meets)."""
    if kind == "worker_role":
        return guide.ec2_trust()
    doc = guide.master_trust(b.params.assume_role_arn)
    role = b.existing(kind) or {}
    try:
        ids = list(dict.fromkeys(trusted.external_ids(statements(role.get("trust_policy")))))
    except PolicyError:
        ids = []
    if ids:
        doc["Statement"][0]["Condition"] = {"StringEquals": {"sts:ExternalId": ids[0] if len(ids) == 1 else ids}}
    return doc


def _text(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=None, separators=(",", ":"))


def _tag_text(rule: Rule) -> str:
    return f"{rule.args['key']}={rule.args['value']}"


def _create(b: Builder, rule: Rule, kind: str, what: str, document: dict[str, str], summary: str) -> None:
    """Plan iam.create_<what> of the guide's `kind` with `document` (its name, description and the
    guide's tag added)."""
    b.add(
        rule.id,
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


def create(b: Builder, kind: str, rules: list[Rule]) -> None:
    """A missing policy is created with the guide's document; a missing role with the guide's trust,
    the policies its `attach-policy` rules name (those that apply) and its `instance-profile`."""
    rule = b.first_failing(rules)
    if not rule:
        return
    name = KINDS[kind].name
    if _is_policy(kind):  # the guide's document is built only when it is needed
        _create(
            b,
            rule,
            kind,
            "policy",
            {"PolicyDocument": _text(_guide_doc(b, kind))},
            f"create {name} with the guide's document",
        )
        return
    _create(
        b,
        rule,
        kind,
        "role",
        {"AssumeRolePolicyDocument": _text(_trust(b, kind))},
        f"create the role {name} with the guide's trust policy",
    )
    for attached in b.named("attach-policy", kind):
        if b.applies(attached):
            _attach(b, rule.id, kind, b.ctx(kind).expand(attached.args["policy"]))
    if b.named("instance-profile", kind):
        _profile(b, rule.id, kind)


def tag(b: Builder, kind: str, rules: list[Rule]) -> None:
    name = KINDS[kind].name
    for rule in rules:
        if not b.fails(rule):
            continue
        tagged = [{"Key": rule.args["key"], "Value": rule.args["value"]}]
        if _is_policy(kind):
            b.add(
                rule.id,
                kind,
                "iam.tag_policy",
                {"PolicyArn": _arn(b, kind), "Tags": tagged},
                f"tag {name} {_tag_text(rule)}",
            )
        else:
            b.add(rule.id, kind, "iam.tag_role", {"RoleName": name, "Tags": tagged}, f"tag {name} {_tag_text(rule)}")


# ------------------------------------------------------------------ policies


def _specs(b: Builder, rule: Rule) -> list[compare.Spec]:
    return within_specs(b.ctx(rule.resource), rule.args["statements"], rule.args.get("also"))


def _within_doc(b: Builder, kind: str, rule: Rule) -> dict[str, Any]:
    """The guide's document, with the statements the rule's `also` adds for these params (S3 on
    the data store's bucket when data_store.role names the master role): what `policy-within` writes."""
    doc = _guide_doc(b, kind)
    extra = within_specs(b.ctx(rule.resource), [], rule.args.get("also"))
    for i, spec in enumerate(extra):
        sid = "ValohaiDataStore" + (str(i + 1) if len(extra) > 1 else "")
        doc["Statement"].append(
            {"Sid": sid, "Effect": "Allow", "Action": list(spec.actions), "Resource": list(spec.resources)}
        )
    return doc


def _missing(b: Builder, doc: dict[str, Any], rules: list[Rule]) -> list[tuple[compare.Spec, list[str]]]:
    sts = statements(doc)
    out = []
    for rule in rules:
        for spec in _specs(b, rule):
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


def _versions(b: Builder, kind: str) -> list[dict[str, Any]]:
    """The policy's versions as the plan leaves them so far (a new version the plan sets is one)."""
    handed = b.handed_on.setdefault(kind, {})
    if "versions" not in handed:
        handed["versions"] = [dict(v) for v in b.get(f"{KINDS[kind].path}.versions", []) or []]
    return handed["versions"]


def _document(b: Builder, kind: str) -> Any:
    """The policy's default document as the plan leaves it so far (None: the plan cannot tell)."""
    handed = b.handed_on.get(kind, {})
    return handed["document"] if "document" in handed else b.get(f"{KINDS[kind].path}.document")


def _new_version(
    b: Builder, kind: str, rule: str, doc: dict[str, Any], why: str, risk: str, versions: list[dict[str, Any]]
) -> None:
    name = KINDS[kind].name
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


def policy_grants(b: Builder, kind: str, rules: list[Rule]) -> None:
    """What the failing `rules` find missing is added to the policy, in one new default version
    that keeps the rest; the document it sets is handed on to `policy-within`."""
    versions = _versions(b, kind)
    failing = [r for r in rules if b.fails(r)]
    doc = _document(b, kind)
    if failing and isinstance(doc, dict):
        b.handed_on[kind]["document"] = _add_grants(b, kind, failing, doc, versions)


def policy_within(b: Builder, kind: str, rules: list[Rule]) -> None:
    """A policy wider than the guide gets the guide's document as a new default version (a decision),
    unless the version `policy-grants` plans is already no wider."""
    versions = _versions(b, kind)
    doc = _document(b, kind)
    for rule in rules:
        if b.fails(rule) and not _within(b, rule, doc):
            _new_version(
                b,
                kind,
                rule.id,
                _within_doc(b, kind, rule),
                "the guide's document, nothing wider (the current default version stays as a non-default version)",
                DECIDE,
                versions,
            )


def _within(b: Builder, rule: Rule, doc: Any) -> bool:
    """The document the plan leaves (after adding grants) is no wider than the guide."""
    try:
        return isinstance(doc, dict) and not compare.wider_than(statements(doc), _specs(b, rule))
    except PolicyError:
        return False


def _add_grants(
    b: Builder, kind: str, failing: list[Rule], doc: dict[str, Any], versions: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Plan the new version that grants what is missing; the document it sets, or None."""
    name = KINDS[kind].name
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
        for rule in failing:
            b.manual(
                rule.id,
                kind,
                f"{name}: "
                + "; ".join(g for _, gs in still for g in gs)
                + "; a new statement would not grant it: edit the policy by hand",
            )
        return None
    what = "; ".join(g for _, gs in gaps for g in gs)
    _new_version(
        b, kind, failing[0].id, new, f"the current document plus the guide's statement(s) for: {what}", FIX, versions
    )
    b.covered.update(r.id for r in failing)
    return new


# ------------------------------------------------------------------ roles


def _profile(b: Builder, rule: str, kind: str) -> None:
    """The role of `kind` in its instance profile (the catalogue's `profile` kind names it)."""
    role = KINDS[kind].name
    profile_kind = KINDS[kind].profile
    name = KINDS[profile_kind].name if profile_kind else role
    profile = b.get(KINDS[profile_kind].path if profile_kind else f"instance_profiles.{name}")
    if profile and profile.get("roles") and role not in profile["roles"]:
        b.manual(
            rule,
            kind,
            f"the instance profile {name} holds {', '.join(profile['roles'])} (a profile holds one role), and "
            f"the workers are launched with the profile of this name: by hand, remove "
            f"{', '.join(profile['roles'])} from {name} (give that role a profile of its own) and add {role} to it",
        )
        return
    if not profile:
        b.add(
            rule,
            kind,
            "iam.create_instance_profile",
            {"InstanceProfileName": name, "Tags": tags()},
            f"create the instance profile {name}",
            risk=FIX,
        )
    b.add(
        rule,
        kind,
        "iam.add_role_to_instance_profile",
        {"InstanceProfileName": name, "RoleName": role},
        f"put {role} in the instance profile {name}",
        risk=FIX,
    )


def _attach(b: Builder, rule: str, kind: str, arn: str) -> None:
    role = KINDS[kind].name
    b.add(
        rule,
        kind,
        "iam.attach_role_policy",
        {"RoleName": role, "PolicyArn": arn},
        f"attach {arn.rsplit('/', 1)[-1]} to {role}",
        risk=FIX,
    )


def attach_policy(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The policy a failing rule's args name (`policy`, an ARN template) is attached to the role."""
    for rule in rules:
        if b.fails(rule):
            _attach(b, rule.id, kind, b.ctx(kind).expand(rule.args["policy"]))


def instance_profile(b: Builder, kind: str, rules: list[Rule]) -> None:
    for rule in rules:
        if b.fails(rule):
            _profile(b, rule.id, kind)


def trust(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The role's trust replaced with the guide's; never while a rule its `fix_after` names fails or
    warns: the principal it would write is then in doubt, and writing it would lock the right one out."""
    name = KINDS[kind].name
    for rule in rules:
        if not b.fails(rule):
            continue
        held = b.held_back(rule)
        if held:
            b.manual(
                rule.id,
                kind,
                f"not planned: the trust policy of {name} is left as it is, as the principal the guide's trust "
                "would name is in doubt: "
                + "; ".join(f"{f.message} ({f.rule_id})" for f in held)
                + ". Correct the params first (the value your Valohai contact gave you), then run vhv remediate "
                "again; until then vhv does not write that principal into the trust",
            )
            continue
        b.add(
            rule.id,
            kind,
            "iam.update_assume_role_policy",
            {"RoleName": name, "PolicyDocument": _text(_trust(b, kind))},
            f"replace the trust policy of {name} with the guide's (removes every other principal)",
        )


def detach_others(b: Builder, kind: str, rules: list[Rule]) -> None:
    """Every managed policy but those a failing rule's args allow (`allowed`) is detached (a decision);
    one of only Deny statements is hardening that grants nothing, and stays."""
    role = KINDS[kind].name
    for rule in rules:
        if not b.fails(rule):
            continue
        allowed = b.ctx(kind).expand(rule.args["allowed"])
        allowed += deny_only_policies(b.ctx(kind), "attached_documents")  # hardening: it grants nothing
        for p in b.get(f"{KINDS[kind].path}.attached_policies", []) or []:
            if p["arn"] not in allowed:
                b.add(
                    rule.id,
                    kind,
                    "iam.detach_role_policy",
                    {"RoleName": role, "PolicyArn": p["arn"]},
                    f"detach {p['name']} from {role} (the policy itself stays)",
                    risk=DECIDE,
                )


def detach_policy(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The policy a failing rule's args name (`policy`, one that must not be attached) is detached."""
    role = KINDS[kind].name
    for rule in rules:
        if b.fails(rule):
            arn = b.ctx(kind).expand(rule.args["policy"])
            b.add(
                rule.id,
                kind,
                "iam.detach_role_policy",
                {"RoleName": role, "PolicyArn": arn},
                f"detach {arn.rsplit('/', 1)[-1]} from {role} (the policy itself stays)",
                risk=DECIDE,
            )


def delete_inline(b: Builder, kind: str, rules: list[Rule]) -> None:
    """Every inline policy that grants something is deleted (a decision); one of only Deny statements
    is hardening that grants nothing, and stays."""
    role = KINDS[kind].name
    for rule in rules:
        if b.fails(rule):
            denying = deny_only_policies(b.ctx(kind), "inline_documents")
            carrying = (
                carrying_guide_grants(b.ctx(kind), rule.args["statements"], rule.args.get("also"))
                if rule.args.get("statements")
                else []
            )
            for pol in b.get(f"{KINDS[kind].path}.inline_policies", []) or []:
                if pol in denying:
                    continue
                if pol in carrying:  # deleting it would take away what the guide or the params ask for
                    b.manual(
                        rule.id,
                        kind,
                        f"the inline policy {pol} of {role} grants what the guide or the params ask: move those "
                        f"statements into {KINDS[KINDS[kind].policy].name}, then delete {pol} (vhv does not delete it)",
                    )
                    continue
                b.add(
                    rule.id,
                    kind,
                    "iam.delete_role_policy",
                    {"RoleName": role, "PolicyName": pol},
                    f"delete the inline policy {pol} of {role}",
                    risk=DECIDE,
                )


FIXERS: dict[str, Callable[[Builder, str, list[Rule]], None]] = {
    "create": create,
    "tag": tag,
    "policy-grants": policy_grants,
    "policy-within": policy_within,
    "attach-policy": attach_policy,
    "instance-profile": instance_profile,
    "trust": trust,
    "detach-others": detach_others,
    "detach-policy": detach_policy,
    "delete-inline": delete_inline,
}

# the order the planner runs these fixes in: a policy before the role it is attached to
ORDER: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("worker_policy", "master_policy"), ("create", "tag", "policy-grants", "policy-within")),
    (
        ("worker_role", "master_role"),
        (
            "create",
            "tag",
            "attach-policy",
            "instance-profile",
            "trust",
            "detach-others",
            "detach-policy",
            "delete-inline",
        ),
    ),
)
