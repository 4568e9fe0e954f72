"""IAM policies, roles, trust, attachments and instance profiles."""

from __future__ import annotations

from typing import Any

from validator.checks import STR, STRS, WHEN, Outcome, bad, evaluator, ok, optional, warn
from validator.checks.context import Context
from validator.kinds import KINDS
from validator.policy import compare, trusted
from validator.policy.document import (
    PolicyError,
    deny_only,
    expand,
    is_placeholder,
    resource_matches,
    statements,
)
from validator.policy.service import Where
from validator.snapshot import Undecidable

SPEC = {
    "type": "object",
    "properties": {
        "label": STR,
        "actions": STRS,
        "resources": STRS,
        "condition": {"type": "object"},
        "accept_operators": STRS,
        # keys every request of this use carries (key -> value): a condition they meet narrows nothing
        "request_carries": {"type": "object", "additionalProperties": {"type": "string"}},
        "stricter_operators": STRS,
    },
    "required": ["actions"],
    "additionalProperties": False,
}
SPECS = {"type": "array", "items": SPEC, "minItems": 1}
# Statements a policy may also hold when the params ask for them: {when: {dotted key: value}, statements}
ALSO = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"when": WHEN, "statements": SPECS},
        "required": ["when", "statements"],
        "additionalProperties": False,
    },
}


def policy_document(ctx: Context) -> tuple[dict[str, Any], Any, str]:
    """The managed policy, its default version's document as read, and how to name it."""
    pol = ctx.resource()
    if pol.get("inline_in"):  # a recipe's form: written in its role
        where = f"inline policy {pol.get('name', ctx.name)} of {pol['inline_in']}"
    else:
        where = f"{pol.get('name', ctx.name)} (default version {pol.get('default_version_id', '?')})"
    try:
        # through the snapshot, so that a recorded read error (GetPolicyVersion denied) is an error
        return pol, ctx.data(f"{KINDS[ctx.kind].path}.document"), where
    except Undecidable as exc:
        raise Undecidable(f"{where} could not be read: {exc}") from None


def _policy(ctx: Context) -> tuple[dict[str, Any], list, str]:
    pol, doc, where = policy_document(ctx)
    try:
        return pol, statements(doc), where
    except PolicyError as exc:
        raise Undecidable(f"{where} cannot be read as a policy: {exc}") from None


def _specs(ctx: Context, raw: list[dict[str, Any]]) -> list[compare.Spec]:
    return [compare.Spec.from_args(ctx.expand(s)) for s in raw]


def within_specs(
    ctx: Context, statements: list[dict[str, Any]], also: list[dict[str, Any]] | None
) -> list[compare.Spec]:
    """The statements a policy may hold: the guide's, and those of each `also` entry whose `when`
    the params meet (the master policy's S3 on the data store when data_store.role names the master role)."""
    extra = [s for entry in also or () if ctx.applies(entry["when"]) for s in entry["statements"]]
    return _specs(ctx, [*statements, *extra])


@evaluator("policy_grants", statements=SPECS)
def policy_grants(ctx: Context, statements: list[dict[str, Any]]) -> list[Outcome]:  # noqa: F811
    """The policy's default version allows every action of the guide's statement(s) on
    their resources, under their condition (compared by meaning, not text)."""
    pol, sts, where = _policy(ctx)
    specs = _specs(ctx, statements)
    whose = KINDS[ctx.kind].asked_by
    missing = [p for s in specs for p in compare.missing_grants(sts, s, ctx.snap.account_id, whose)]
    expected = "; ".join(
        f"{', '.join(s.actions)} on {', '.join(s.resources)}"
        + (f" when {s.describe_condition()}" if s.condition else "")
        for s in specs
    )
    rid = pol.get("arn")
    if missing:
        return [bad(f"{where}: " + "; ".join(missing), expected, "; ".join(missing), resource_id=rid)]
    return [ok(f"{where} allows {expected}", expected, "allowed", resource_id=rid)]


@evaluator("policy_within", statements=SPECS, also=optional(ALSO))
def policy_within(
    ctx: Context, statements: list[dict[str, Any]], also: list[dict[str, Any]] | None = None
) -> list[Outcome]:  # noqa: F811
    """Nothing in the policy's default version is wider than the guide's statements (and the
    `also` statements the params ask for): no extra action, wildcard, NotAction/NotResource,
    wider resource or missing condition."""
    pol, sts, where = _policy(ctx)
    specs = within_specs(ctx, statements, also)
    problems = compare.wider_than(sts, specs, KINDS[ctx.kind].asked_by)
    rid = pol.get("arn")
    if problems:
        return [
            bad(
                f"{where} is wider than {KINDS[ctx.kind].asked_by}: " + "; ".join(problems),
                f"only {KINDS[ctx.kind].asked_by}'s statements",
                "; ".join(problems),
                resource_id=rid,
                fix=_within_fix(pol.get("name", ctx.name), sts, specs, inline=bool(pol.get("inline_in"))),
            )
        ]
    return [
        ok(
            f"{where} allows nothing beyond {KINDS[ctx.kind].asked_by}",
            f"only {KINDS[ctx.kind].asked_by}'s statements",
            "nothing wider",
            resource_id=rid,
        )
    ]


def _within_fix(name: str, sts: list, specs: list[compare.Spec], inline: bool = False) -> str:
    """What to do about a policy wider than the guide, from what it grants where the guide names
    one resource (the worker role's ARN): the resource written in its place. "" when it grants
    nothing of such a statement elsewhere (the rule's own fix says what to do then)."""
    notes = []
    for spec in (s for s in specs if "*" not in s.resources):
        wanted = {a.lower() for a in spec.actions}
        guide_res = ", ".join(spec.resources)
        for st in sts:
            found = set().union(*(expand(p) & wanted for p in st.actions or ()))
            if st.effect != "Allow" or not found:
                continue
            acts = ", ".join(a for a in spec.actions if a.lower() in found)
            for res in st.resources or ():
                if is_placeholder(res) or any(resource_matches(r, res) for r in spec.resources):
                    continue
                if "*" in res:
                    why = "; any role it matches could be handed to an instance" if "iam:passrole" in found else ""
                    notes.append(f"{acts} on {res} in {st.label} reaches more than {guide_res}{why}")
                else:
                    notes.append(f"in {st.label}, write {guide_res} in place of {res}")
    if not notes:
        return ""
    how = (
        f"Take out of {name} what the guide does not grant"
        if inline
        else f"Replace the default version of {name} with the guide's JSON (`vhv remediate --fix --tighten` writes it)"
    )
    return how + ": " + "; ".join(dict.fromkeys(notes)) + "."


@evaluator(
    "trust_only",
    principal_type={"enum": ["AWS", "Service"]},
    principal=STR,
    actions=STRS,
    usable=optional({"type": "boolean"}),
)
def trust_only(
    ctx: Context, principal_type: str, principal: str, actions: list[str], usable: bool = False
) -> list[Outcome]:
    """The role's trust policy lets exactly `principal` perform `actions`, and nobody else. With
    `usable: true` the principal must be able to use the trust: every condition of the statements
    that trust it is judged for its request (a condition it cannot meet fails, one vhv cannot judge
    warns), and a Deny fails when it may apply to it. Which request is the principal's type: an AWS
    principal is Valohai's assumer (a "*" narrowed by aws:PrincipalArn to it counts as it), a
    Service principal is that AWS service assuming the role for this account (EC2, when an instance
    starts with the role's instance profile)."""
    role = ctx.resource()
    want = ctx.expand(principal)
    try:
        sts = statements(role.get("trust_policy"))
    except PolicyError as exc:
        raise Undecidable(f"trust policy of {ctx.name} cannot be read: {exc}") from None
    where = Where(ctx.snap.partition or "aws", str(ctx.params.get("region") or ""), ctx.snap.account_id or "")
    t = trusted.judge(sts, (principal_type, want), actions, assumer=usable, where=where)
    expected = f"only {principal_type} {want} may {', '.join(actions)}"
    kw = {"resource_id": role.get("arn")}
    problems = list(t.problems)
    if not t.present:
        problems.insert(0, f"{principal_type} {want} is not trusted for {', '.join(actions)}")
    how = f" ({'; '.join(t.notes)})" if t.notes else ""
    if problems:
        msg = f"trust policy of {ctx.name}: " + "; ".join(problems + t.warnings)
        return [bad(msg + how, expected, "; ".join(problems), **kw)]
    if t.warnings:
        msg = f"{ctx.name} trusts only {principal_type} {want}{how}, but " + "; ".join(t.warnings)
        return [warn(msg, expected, "; ".join(t.warnings), **kw)]
    return [ok(f"{ctx.name} trusts only {principal_type} {want}{how}", expected, f"{principal_type} {want}", **kw)]


def _attached(ctx: Context) -> tuple[dict[str, Any], list[dict[str, str]]]:
    role = ctx.resource()
    return role, list(ctx.data(f"roles.{ctx.name}.attached_policies"))


def _name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _impostor(policies: list[dict[str, str]], arn: str) -> str:
    """A policy with the expected name but another ARN (a customer policy named like an AWS one)."""
    same = [p["arn"] for p in policies if p["name"] == _name(arn) and p["arn"] != arn]
    return f"; a policy with that name is attached, but it is {same[0]}, not {arn}" if same else ""


@evaluator("policy_attached", policy=STR, attached=optional({"type": "boolean"}))
def policy_attached(ctx: Context, policy: str, attached: bool = True) -> list[Outcome]:
    """The managed policy with ARN `policy` is attached to the role (or, with attached: false, is not).
    Compared by ARN: a customer policy named AmazonEC2FullAccess is not the AWS one."""
    role, policies = _attached(ctx)
    arn = ctx.expand(policy)
    name = _name(arn)
    kw = {"resource_id": role.get("arn")}
    have = any(p["arn"] == arn for p in policies)
    expected = f"{name} {'attached' if attached else 'not attached'}"
    actual = [p["name"] for p in policies] or "(no policies attached)"
    if have == attached:
        return [ok(f"{name} is {'attached to' if have else 'not attached to'} {ctx.name}", expected, actual, **kw)]
    if attached:
        return [bad(f"{name} is not attached to {ctx.name}{_impostor(policies, arn)}", expected, actual, **kw)]
    return [bad(f"{name} is still attached to {ctx.name}: elevated permissions left behind", expected, actual, **kw)]


def deny_only_policies(ctx: Context, key: str) -> list[str]:
    """The role's inline policies (`key` inline_documents: by name) or other managed policies
    (attached_documents: by ARN) whose every statement is a Deny: they grant nothing, they take away
    (hardening such as a Deny without aws:SecureTransport); never counted as a grant, never removed."""
    docs = ctx.data(f"{KINDS[ctx.kind].path}.{key}")
    field = "name" if key == "inline_documents" else "arn"
    return [p[field] for p in docs if deny_only(p.get("document"))]


_DENY_ONLY = "Deny-only: it takes away and grants nothing"


@evaluator("attached_only", allowed=STRS)
def attached_only(ctx: Context, allowed: list[str]) -> list[Outcome]:
    """No managed policy other than the `allowed` ARNs is attached to the role; a policy of only
    Deny statements grants nothing and does not count."""
    role, policies = _attached(ctx)
    arns = ctx.expand(allowed)
    others = [p for p in policies if p["arn"] not in arns]
    denying = set(deny_only_policies(ctx, "attached_documents")) if others else set()
    extra = [p for p in others if p["arn"] not in denying]
    names = [p["name"] for p in policies]
    expected = f"at most {', '.join(_name(a) for a in arns)}"
    kw = {"resource_id": role.get("arn")}
    kept = [p["name"] for p in others if p["arn"] in denying]
    also = f"; {', '.join(kept)} {'is' if len(kept) == 1 else 'are'} {_DENY_ONLY}" if kept else ""
    if extra:
        listed = ", ".join(p["name"] if _name(p["arn"]) not in map(_name, arns) else p["arn"] for p in extra)
        return [bad(f"{ctx.name} has policies the guide does not ask for: {listed}{also}", expected, names, **kw)]
    return [ok(f"{ctx.name} has no managed policy beyond the guide{also}", expected, names or "(none)", **kw)]


def carrying_guide_grants(ctx: Context, wanted: list[dict[str, Any]], also: list[dict[str, Any]] | None) -> list[str]:
    """The role's inline policies that grant some of the guide's `wanted` statements (or the `also` ones the
    params ask for, such as S3 on the data store): deleting one would take that away."""
    account = ctx.snap.account_id
    # each spec with how many parts of it are missing where nothing grants it: a policy granting some misses fewer
    asked = [(s, len(compare.missing_grants([], s, account))) for s in within_specs(ctx, wanted, also)]
    out = []
    for pol in ctx.data(f"{KINDS[ctx.kind].path}.inline_documents"):
        try:
            sts = statements(pol["document"])
        except PolicyError:
            continue
        if any(len(compare.missing_grants(sts, s, account)) < parts for s, parts in asked):
            out.append(pol["name"])
    return out


@evaluator("no_inline_policies", statements=optional(SPECS), also=optional(ALSO))
def no_inline_policies(
    ctx: Context, statements: list[dict[str, Any]] | None = None, also: list[dict[str, Any]] | None = None
) -> list[Outcome]:
    """The role has no inline policies that grant anything: the guide grants everything through a
    managed one (what an inline policy grants is judged by the rules on the role's grants, not
    here); one of only Deny statements grants nothing and does not count. One that grants some of
    the guide's `statements` (or `also`) is said: it must move before it goes."""
    role = ctx.resource()
    inline = ctx.data(f"roles.{ctx.name}.inline_policies")
    kw = {"resource_id": role.get("arn")}
    denying = set(deny_only_policies(ctx, "inline_documents")) if inline else set()
    granting = [n for n in inline if n not in denying]
    kept = [n for n in inline if n in denying]
    hardening = f"; {', '.join(kept)} {'is' if len(kept) == 1 else 'are'} {_DENY_ONLY}" if kept else ""
    if granting:
        policy = KINDS[KINDS[ctx.kind].policy].name if KINDS[ctx.kind].policy else "a managed policy"
        carry = [n for n in carrying_guide_grants(ctx, statements, also) if n in granting] if statements else []
        moving = (
            f"; {', '.join(carry)} {'grants' if len(carry) == 1 else 'grant'} what the guide or the params ask: "
            f"move that into {policy} before deleting it"
            if carry
            else ""
        )
        return [
            bad(
                f"{ctx.name} has inline policies: {', '.join(granting)}; the guide asks for its grants in the "
                f"managed policy {policy} (what the inline ones grant is judged on its own){moving}{hardening}",
                "no inline policies",
                granting,
                **kw,
            )
        ]
    if kept:
        return [
            ok(f"{ctx.name} has no inline policy that grants anything{hardening}", "no inline policies", kept, **kw)
        ]
    return [ok(f"{ctx.name} has no inline policies", "no inline policies", "(none)", **kw)]


@evaluator("instance_profile", launched=optional(STR))
def instance_profile(ctx: Context, launched: str = "the workers are launched with") -> list[Outcome]:
    """The instance profile the catalogue names for the role (its kind's `profile`: the console's, of
    the role's name) contains the role. Valohai knows only the role's ARN and launches the workers
    with the profile of that name: the role in another profile does not count, nor that profile
    holding another role."""
    role = ctx.resource()
    profiles = ctx.data(f"roles.{ctx.name}.instance_profiles")
    kind = KINDS[ctx.kind]
    wanted = KINDS[kind.profile].name if kind.profile else ctx.name
    kw = {"resource_id": role.get("arn")}
    names = [p["name"] for p in profiles]
    expected = f"the instance profile {wanted} with the role"
    if wanted in names:
        return [ok(f"{ctx.name} is in instance profile {wanted}", expected, names, **kw)]
    why = f"{launched} the instance profile {wanted}" + (
        " (Valohai knows only the role's ARN, and launches with the profile of its name)" if wanted == ctx.name else ""
    )
    if names:
        return [
            bad(
                f"{ctx.name} is not in the instance profile {wanted}; {why}; {ctx.name} is in instance profile "
                f"{', '.join(names)} instead",
                expected,
                names,
                **kw,
            )
        ]
    return [bad(f"no instance profile contains {ctx.name}; {why}", expected, "(none)", **kw)]
