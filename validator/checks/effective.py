"""What the guide's roles can actually do: every identity policy of the role together (the guide's
managed policy when attached, its other managed policies, its inline policies), within its
permissions boundary, minus each Deny that applies, for the exact actions and resources the guide
gives the role. IAM's evaluation logic for one account, without what vhv cannot read (service
control policies, session policies: the evaluator organization_unseen says so).

A condition is judged against the request Valohai makes (validator.policy.request): the params'
region, over TLS, without MFA, by the role itself, on resources carrying the guide's tag where the
guide's statement asks for it. A Deny whose condition cannot be judged is `error`, naming the keys.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from validator.checks import Outcome, bad, evaluator, ok, optional, warn
from validator.checks.context import Context
from validator.checks.iam import ALSO, SPECS, policy_document
from validator.findings import NOT_GRANTED
from validator.kinds import KINDS, VALUES
from validator.policy import catalogue, compare
from validator.policy.condition import PublicAddress
from validator.policy.document import PolicyError, Statement, resource_matches, statements
from validator.policy.request import ABSENT, holds, unknown_keys
from validator.snapshot import Undecidable


@dataclass(frozen=True)
class InPolicy(Statement):
    """A statement named with the policy it is in: a role's statements come from several."""

    where: str = ""

    @property
    def label(self) -> str:
        return f"{super().label} of {self.where}"


def named(found: list[Statement], where: str) -> list[InPolicy]:
    return [InPolicy(**{f.name: getattr(s, f.name) for f in fields(Statement)}, where=where) for s in found]


def other_policies(
    ctx: Context, skip_arns: Collection[str] = (), skip_inline: Collection[str] = ()
) -> list[tuple[dict[str, Any], str]]:
    """The role's managed policies beside the guide's (read by its kind) and its inline policies,
    each with how a message names it; but the managed ones in `skip_arns`, the inline in `skip_inline`."""
    kind = KINDS[ctx.kind]
    return [
        (p, f"{p['name']} (default version {p.get('default_version_id') or '?'})")
        for p in ctx.data(f"{kind.path}.attached_documents")
        if p.get("arn") not in skip_arns
    ] + [
        (p, f"inline policy {p['name']}")
        for p in ctx.data(f"{kind.path}.inline_documents")
        if p["name"] not in skip_inline
    ]


def read_named(doc: Any, where: str, role: str) -> list[InPolicy]:
    """The statements of the policy document `doc`, named with `where`; Undecidable when it is none."""
    try:
        return named(statements(doc), where)
    except PolicyError as exc:
        raise Undecidable(f"{where} of {role} cannot be read as a policy: {exc}") from None


def role_statements(ctx: Context, role: dict[str, Any]) -> list[InPolicy]:
    """Every statement of every identity policy of the rule's role, each named with its policy."""
    kind = KINDS[ctx.kind]
    out: list[InPolicy] = []
    if kind.policy:
        guide = KINDS[kind.policy]
        own = f"arn:{ctx.snap.partition}:iam::{ctx.snap.account_id}:policy/{guide.name}"
        if any(p["arn"] == own for p in ctx.data(f"{kind.path}.attached_policies")):
            _, doc, where = policy_document(replace(ctx, kind=kind.policy))
            out += read_named(doc, where, ctx.name)
    for pol, where in other_policies(ctx):
        out += read_named(pol["document"], where, ctx.name)
    return out


def boundary_of(ctx: Context, path: str, item: dict[str, Any]) -> tuple[str, list[InPolicy] | None] | None:
    """The permissions boundary of the principal at `path`: (its name, its statements; None when
    its policy is gone); None when it has none. Undecidable when it could not be read."""
    why = ctx.snap.error_at(f"{path}.permissions_boundary")
    if why is not None:
        raise Undecidable(why)
    if "permissions_boundary" not in item:
        raise Undecidable(f"{path}.permissions_boundary was not read")
    bound = item["permissions_boundary"]
    if not bound:
        return None
    name = bound.get("name") or bound.get("arn", "?")
    if bound.get("document") is None:
        return name, None
    return name, read_named(bound["document"], f"permissions boundary {name}", item.get("name", ""))


class RequestContext(Mapping):
    """What Valohai's request carries (validator.policy.request): `known` keys with their values;
    a principal tag the principal lacks and the keys in `absent` are certainly not there; any other
    key is unknown."""

    def __init__(
        self,
        known: dict[str, frozenset[str] | None],
        absent: frozenset[str],
        tags_known: bool,
        where: tuple[str, str, str] = ("aws", "", ""),
    ) -> None:
        self.known, self.absent, self.tags_known = known, absent, tags_known
        self.where = where  # (partition, region, account) of the resources acted on

    def __getitem__(self, key: str) -> frozenset[str] | None:
        if key in self.known:
            return self.known[key]
        if key in self.absent or (self.tags_known and key.startswith("aws:principaltag/")):
            return ABSENT
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([*self.known, *self.absent])

    def __len__(self) -> int:
        return len(self.known) + len(self.absent)

    def with_keys(self, more: dict[str, frozenset[str] | None]) -> RequestContext:
        return RequestContext({**self.known, **more}, self.absent, self.tags_known, self.where)


ABSENT_KEYS = frozenset({"aws:multifactorauthage", "aws:calledvia", "aws:calledviafirst", "aws:calledvialast"})
# services with one endpoint: every request to them names this region (by partition)
GLOBAL_SERVICES = frozenset({"iam", "organizations"})
GLOBAL_REGION = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}
# what the guide's own requests carry for these actions
ACTION_KEYS: dict[str, dict[str, str]] = {
    "iam:passrole": {"iam:passedtoservice": "ec2.amazonaws.com"},
    "iam:createservicelinkedrole": {"iam:awsservicename": "autoscaling.amazonaws.com"},
}
# actions on what Valohai made with the guide's tag (its groups and launch templates): the
# request carries aws:ResourceTag/valohai=1. Other actions on a resource may act on one without it
TAGGED_BY_VALOHAI = frozenset(
    {
        "autoscaling:setinstanceprotection",
        "autoscaling:updateautoscalinggroup",
        "autoscaling:setdesiredcapacity",
        "autoscaling:createorupdatetags",
        "ec2:modifylaunchtemplate",
        "ec2:createlaunchtemplateversion",
    }
)


def request_context(ctx: Context, principal: dict[str, Any], from_internet: bool = False) -> RequestContext:
    """The request the principal makes for the guide: in the params' region, over TLS, without MFA,
    not through another service; the principal's own ARN, account, type and tags. A role's session
    carries aws:MultiFactorAuthPresent false; an IAM user's access key carries none. `from_internet`:
    the request comes from a public IPv4 address the account does not choose (Valohai's servers), so
    a condition on aws:SourceIp that every such address meets, or none does, is decided."""
    now = dt.datetime.now(dt.UTC)
    arn = str(principal.get("arn") or "")
    user = ":user/" in arn
    known: dict[str, frozenset[str] | None] = {
        "aws:requestedregion": frozenset({str(ctx.params.get("region") or "")}),
        "aws:securetransport": frozenset({"true"}),
        "aws:viaawsservice": frozenset({"false"}),
        "aws:principalaccount": frozenset({ctx.snap.account_id}),
        "aws:principaltype": frozenset({"User" if user else "AssumedRole"}),
        "aws:multifactorauthpresent": ABSENT if user else frozenset({"false"}),
        "aws:currenttime": frozenset({now.strftime("%Y-%m-%dT%H:%M:%SZ")}),
        "aws:epochtime": frozenset({str(int(now.timestamp()))}),
    }
    if arn:
        known["aws:principalarn"] = frozenset({arn})
    if from_internet:
        known["aws:sourceip"] = frozenset({PublicAddress(4)})
    tags = principal.get("tags")
    for key, value in (tags or {}).items():
        known[f"aws:principaltag/{key.lower()}"] = frozenset({str(value)})
    where = (ctx.snap.partition, str(ctx.params.get("region") or ""), ctx.snap.account_id)
    return RequestContext(known, ABSENT_KEYS, tags is not None, where)


def _action(action: str) -> catalogue.Action | None:
    found = [a for a in catalogue.expand(action) if f"{a.service}:{a.name}".lower() == action.lower()]
    return found[0] if found else None


def _templates(action: str) -> tuple[str, ...]:
    a = _action(action)
    return catalogue.action_templates(a) if a else ()


def _required_templates(action: str) -> tuple[str, ...]:
    """The ARN templates of the resource types every request of `action` names (RunInstances: its
    instance, image, subnet, ...; not an optional license configuration of another service)."""
    a = _action(action)
    if a is None:
        return ()
    keys = [k.lower() for k, required in a.resource_types if required]
    if not keys:
        return catalogue.action_templates(a)
    table = catalogue.resource_types(a.service)
    return tuple(t for k in keys for t in catalogue.arns(table.get(k, {})))


def worlds(ctx: Context, base: RequestContext, action: str, target: str) -> list[RequestContext]:
    """The requests Valohai may make for `action` on `target`: one, or one per thing vhv cannot
    know (whether the resource carries the guide's tag); a Deny that applies in one of them
    applies, an Allow must apply in each."""
    partition, region, _ = base.where
    low = action.lower()
    service = low.split(":", 1)[0]
    more: dict[str, frozenset[str] | None] = {k: frozenset({v}) for k, v in ACTION_KEYS.get(low, {}).items()}
    if service in GLOBAL_SERVICES:
        more["aws:requestedregion"] = frozenset({GLOBAL_REGION.get(partition, "us-east-1")})
    if service == "ec2":
        more["ec2:region"] = frozenset({region})
    tag = f"aws:resourcetag/{VALUES.tag_key.lower()}"
    ours = frozenset({VALUES.tag_value})
    target_tags = _tags_of(ctx, target)
    if target_tags is not None:
        tags = {f"aws:resourcetag/{k.lower()}": frozenset({str(v)}) for k, v in target_tags.items()}
        return [base.with_keys({**more, tag: ABSENT, **tags})]
    if not _templates(action):  # it acts on no resource: no resource tag
        return [base.with_keys({**more, tag: ABSENT})]
    if low in TAGGED_BY_VALOHAI:
        return [base.with_keys({**more, tag: ours})]
    return [base.with_keys({**more, tag: ABSENT}), base.with_keys({**more, tag: ours})]


def _tags_of(ctx: Context, target: str) -> dict[str, str] | None:
    """The tags of the guide's role whose ARN is `target` (iam:PassRole on the worker role), as read."""
    for role in (ctx.snap.data.get("roles") or {}).values():
        if isinstance(role, dict) and role.get("arn") == target and isinstance(role.get("tags"), dict):
            return role["tags"]
    return None


def _takes_part(st: Statement, action: str, target: str, where: tuple[str, str, str]) -> str:
    """How much of `target` a Deny of `action` takes: "" none; "all"; or the patterns of the part it
    takes from the guide's `*`: those that leave open a whole kind of resource the action acts on
    (every instance), not one named resource (an instance of another team)."""
    if target != "*":
        return "all" if compare.touches(st, target) else ""
    if st.not_resources is not None:
        if not compare.touches(st, target):
            return ""
        return "all but " + ", ".join(st.not_resources)
    if any(p == "*" for p in st.resources or ()):
        return "all"
    templates = _templates(action)
    mine = [p for p in st.resources or () if any(_opens(p, t, where) for t in templates)]
    return ", ".join(mine)


# two unlike values for each part of an ARN template a statement must leave open to name them all
SENTINELS = ("vhv-any-1", "Other/any:2")
TEMPLATE_VARIABLE = re.compile(r"\$\{(\w+)\}")


def _filled(template: str, where: tuple[str, str, str], value: str) -> str:
    fixed = dict(zip(("Partition", "Region", "Account"), where))
    return TEMPLATE_VARIABLE.sub(lambda m: fixed.get(m.group(1), value), template)


def _opens(pattern: str, template: str, where: tuple[str, str, str]) -> bool:
    """The resource pattern names every resource of the ARN template (in the account and region)."""
    return all(resource_matches(pattern, _filled(template, where, v)) for v in SENTINELS)


def _every_resource(st: Statement, action: str, where: tuple[str, str, str]) -> bool:
    """The statement's resources name every resource `action` acts on in the account and region
    `where` (partition, region, account): an Allow on arn:aws:autoscaling:*:*:autoScalingGroup:*
    grants what the guide's `*` does. An action that acts on no resource type needs `*`."""
    templates = _required_templates(action)
    return bool(templates) and all(compare.touches(st, _filled(t, where, v)) for t in templates for v in SENTINELS)


POLICY_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def resolved(st: InPolicy, context: RequestContext) -> InPolicy | None:
    """The statement with the policy variables of its resources replaced by what the request
    carries (${aws:PrincipalTag/team}); None when one cannot be (its answer is not vhv's to guess)."""
    listed = st.resources if st.resources is not None else st.not_resources
    if not listed or not any("${" in p for p in listed):
        return st
    out = []
    for p in listed:
        missing = False

        def sub(m: re.Match[str]) -> str:
            nonlocal missing
            key = m.group(1).lower()
            if key in ("*", "?", "$"):
                return m.group(1)
            try:
                value = context[key]
            except KeyError:
                value = None
            if not value or len(value) != 1:
                missing = True
                return ""
            return next(iter(value))

        text = POLICY_VARIABLE.sub(sub, p)
        if missing:
            return None
        out.append(text)
    field = "resources" if st.resources is not None else "not_resources"
    return replace(st, **{field: tuple(out)})


@dataclass
class Verdict:
    """Whether statements allow (or deny) one request: True, False, or None (cannot be said, `why`),
    and the first statement that would have but for its condition (`refused`)."""

    answer: bool | None
    why: str = ""
    refused: InPolicy | None = None


def _unknown(st: Statement, context: RequestContext) -> str:
    keys = ", ".join(unknown_keys(st.condition, context)) or "a policy variable of its Resource"
    return f"vhv cannot tell whether Valohai's request meets the condition on {keys} of {st.label}"


def _acting(
    found: list[InPolicy], effect: str, action: str, context: RequestContext
) -> Iterator[tuple[InPolicy, InPolicy | None]]:
    """The statements of `effect` that act on `action`, each with its Resource's policy variables
    resolved for the request (None: they cannot be)."""
    for raw in found:
        if raw.effect == effect and compare.acts_on(raw, action):
            yield raw, resolved(raw, context)


def allowed_by(found: list[InPolicy], action: str, target: str, context: RequestContext) -> Verdict:
    """Whether an Allow among `found` applies to the request."""
    unsure, refused = "", None
    for raw, st in _acting(found, "Allow", action, context):
        if st is None:
            unsure = unsure or f"vhv cannot resolve the policy variables of the Resource of {raw.label}"
            continue
        if not (compare.touches(st, target) or (target == "*" and _every_resource(st, action, context.where))):
            continue
        got = holds(st.condition, context)
        if got:
            return Verdict(True)
        if got is None:
            unsure = unsure or _unknown(st, context)
        else:
            refused = refused or raw
    return Verdict(None, unsure, refused) if unsure else Verdict(False, refused=refused)


def denied_by(found: list[InPolicy], action: str, target: str, context: RequestContext) -> Verdict:
    """Whether a Deny among `found` takes `action` on `target` (or part of it) away: True with
    what it says; None when one may, and no other certainly does."""
    unsure = ""
    for raw, st in _acting(found, "Deny", action, context):
        if st is None:
            unsure = unsure or f"{raw.label} may deny it: vhv cannot resolve the policy variables of its Resource"
            continue
        part = _takes_part(st, action, target, context.where)
        if not part:
            continue
        got = holds(st.condition, context)
        if got:
            return Verdict(True, f"is denied by {st.label}" + ("" if part == "all" else f" (on {part})"))
        if got is None:
            unsure = unsure or _unknown(st, context)
    return Verdict(None, unsure) if unsure else Verdict(False)


def _grant(found: list[InPolicy], action: str, target: str, context: RequestContext, missing: str) -> tuple[str, str]:
    """(why the statements do not allow the request, or ""; why that cannot be said, or "")."""
    got = allowed_by(found, action, target, context)
    if got.answer:
        return "", ""
    if got.answer is None:
        return "", got.why
    if got.refused is not None:
        return f"is allowed only under a condition Valohai's request does not meet ({got.refused.label})", ""
    return missing, ""


def taken_away(
    identity: list[InPolicy],
    bound: tuple[str, list[InPolicy] | None] | None,
    context: RequestContext,
    action: str,
    target: str,
    owner: str,
    say_policies: bool = True,
) -> str:
    """Why the principal cannot do `action` on `target` in this request, or "" when it can (IAM: an
    explicit Deny anywhere wins; else an identity policy must allow it, and so must the boundary).
    Every certain cause is said, so that one fix is enough; Undecidable only when none is certain."""
    everything = identity + ((bound[1] or []) if bound else [])
    denied = denied_by(everything, action, target, context)
    if denied.answer:
        return denied.why
    causes, unsure = [], [denied.why] if denied.answer is None else []
    if say_policies:
        cause, why = _grant(identity, action, target, context, f"{NOT_GRANTED} {owner}")
        causes += [cause] if cause else []
        unsure += [why] if why else []
    if bound:
        name, found = bound
        if found is None:
            causes.append(f"is outside the permissions boundary {name} (its policy is gone)")
        else:
            cause, why = _grant(found, action, target, context, f"is outside the permissions boundary {name}")
            if cause.startswith("is allowed only"):
                cause = f"is outside the permissions boundary {name}: it {cause}"
            causes += [cause] if cause else []
            unsure += [why] if why else []
    if causes:
        return " and ".join(causes)
    if unsure:
        raise Undecidable(unsure[0])
    return ""


def what_is_taken(
    ctx: Context,
    principal: dict[str, Any],
    specs: list[compare.Spec],
    identity: list[InPolicy] | None,
    bound: tuple[str, list[InPolicy] | None] | None,
    owner: str,
    from_internet: bool = False,
) -> list[str]:
    """Each (action on resource) of `specs` the principal cannot do, with why (`identity` None: its
    own policies are judged elsewhere; only the boundary and its denies are)."""
    base = request_context(ctx, principal, from_internet)
    out, undecided = [], []
    for spec in specs:
        for action in spec.actions:
            for res in spec.resources:
                target = compare.concretise(res, ctx.snap.account_id)
                why, unsure = "", ""
                carried = {k: frozenset({v}) for k, v in spec.carries}  # what the spec's requests carry
                for context in worlds(ctx, base, action, target):
                    context = context.with_keys(carried) if carried else context
                    try:
                        why = taken_away(identity or [], bound, context, action, target, owner, identity is not None)
                    except Undecidable as exc:
                        unsure = unsure or str(exc)
                        continue
                    if why:
                        break
                if not why and unsure:
                    undecided.append(f"{action} on {res}: {unsure}")
                if why:
                    out.append(f"{action} on {res} {why}")
    if undecided and not out:
        raise Undecidable(undecided[0])
    if undecided:  # what is certain fails the rule; what is not is said with it
        out.append(f"and vhv cannot tell for {len(undecided)} more ({undecided[0]})")
    return out


def _said(specs: list[compare.Spec]) -> str:
    return "; ".join(
        f"{', '.join(s.actions)} on {', '.join(s.resources)}"
        + (f" when {s.describe_condition()}" if s.condition else "")
        for s in specs
    )


def _fix(problems: list[str], name: str, policy: str) -> str:
    steps = []
    if any(NOT_GRANTED in p for p in problems):
        steps.append(f"attach {policy} with the guide's JSON to {name}")
    if any("permissions boundary" in p for p in problems):
        steps.append(f"allow the guide's actions in {name}'s permissions boundary, or remove the boundary")
    if any("is denied by" in p for p in problems):
        steps.append("narrow the Deny statements named so that they leave the guide's actions to the role")
    said = "; ".join(steps)
    return said[:1].upper() + said[1:] + "." if steps else ""


@evaluator("role_can", statements=SPECS, from_internet=optional({"type": "boolean"}), also=optional(ALSO))
def role_can(
    ctx: Context,
    statements: list[dict[str, Any]],
    from_internet: bool = False,
    also: list[dict[str, Any]] | None = None,
) -> list[Outcome]:
    """The role can do every action of the guide's statements on their resources, with all its
    policies, its permissions boundary and its Deny statements together. `from_internet: true`: the
    role's requests come from public IPv4 addresses the account does not choose (Valohai's servers),
    and a condition on aws:SourceIp is judged for every such address."""
    role = ctx.resource()
    identity = role_statements(ctx, role)
    bound = boundary_of(ctx, KINDS[ctx.kind].path, role)
    # the guide's statements, and those the params' recipe adds (`also`: Valohai reads the Redis secret)
    extra = [s for entry in also or () if ctx.applies(entry["when"]) for s in entry["statements"]]
    specs = [compare.Spec.from_args(ctx.expand(s)) for s in [*statements, *extra]]
    problems = what_is_taken(ctx, role, specs, identity, bound, ctx.name, from_internet)
    expected = _said(specs)
    kw = {"resource_id": role.get("arn")}
    if problems:
        policy = KINDS[KINDS[ctx.kind].policy].name if KINDS[ctx.kind].policy else "the guide's policy"
        return [
            bad(
                f"{ctx.name} cannot do what {KINDS[ctx.kind].asked_by} grants it: " + "; ".join(problems),
                expected,
                "; ".join(problems),
                fix=_fix(problems, ctx.name, policy),
                **kw,
            )
        ]
    within = f", within permissions boundary {bound[0]}" if bound else ""
    return [ok(f"{ctx.name} can do what {KINDS[ctx.kind].asked_by} grants it{within}", expected, "allowed", **kw)]


@evaluator("organization_unseen")
def organization_unseen(ctx: Context) -> list[Outcome]:
    """What vhv cannot read is said, never assumed to allow: in a member account of an
    organisation, service control policies (and the session policy Valohai may pass when it assumes
    the role) can take away what the roles' policies allow."""
    org = ctx.data(KINDS[ctx.kind].snapshot)
    account = ctx.snap.account_id
    expected = "no service control policy that vhv cannot read"
    if org is None:
        return [ok(f"account {account} is in no organisation: no service control policy applies", expected, "none")]
    manager = org.get("management_account_id")
    kw = {"resource_id": org.get("arn") or org.get("id")}
    if manager == account:
        return [
            ok(
                f"account {account} manages organisation {org.get('id')}: service control policies do not apply to it",
                expected,
                "the management account",
                **kw,
            )
        ]
    return [
        warn(
            f"account {account} is a member of organisation {org.get('id')} (managed by account {manager}): its "
            f"service control policies can take away what {ctx.name_of('master_role')}, "
            f"{ctx.name_of('worker_role')} and the data store's "
            "principal are allowed (and its resource control policies what the bucket allows), and vhv cannot read "
            "them from this account; neither can it see the session policy Valohai may pass",
            expected,
            f"member of {org.get('id')}",
            **kw,
        )
    ]
