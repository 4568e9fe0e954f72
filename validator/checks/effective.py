"""What the guide's roles can actually do: every identity policy of the role together (the guide's
managed policy when attached, its other managed policies, its inline policies), within its
permissions boundary, minus each Deny that applies, for the exact actions and resources the guide
gives the role. IAM's evaluation logic for one account, without what vhv cannot read (service
control policies, session policies: `account-organization-scp` says so).

A condition is judged against the request Valohai makes (validator.policy.request): the params'
region, over TLS, without MFA, by the role itself, on resources carrying the guide's tag where the
guide's statement asks for it. A Deny whose condition cannot be judged is `error`, naming the keys.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from validator.checks import Outcome, bad, evaluator, ok, warn
from validator.checks.context import Context
from validator.checks.iam import SPECS, policy_document
from validator.findings import NOT_GRANTED
from validator.kinds import KINDS, VALUES
from validator.policy import catalogue, compare
from validator.policy.document import PolicyError, Statement, statements
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


def _read(doc: Any, where: str, role: str) -> list[InPolicy]:
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
            out += _read(doc, where, ctx.name)
    for pol in ctx.data(f"{kind.path}.attached_documents"):
        out += _read(
            pol["document"], f"{pol['name']} (default version {pol.get('default_version_id') or '?'})", ctx.name
        )
    for pol in ctx.data(f"{kind.path}.inline_documents"):
        out += _read(pol["document"], f"inline policy {pol['name']}", ctx.name)
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
    return name, _read(bound["document"], f"permissions boundary {name}", item.get("name", ""))


class RequestContext(Mapping):
    """What Valohai's request carries (validator.policy.request): `known` keys with their values;
    a principal tag the role lacks and the keys in `absent` are certainly not there; any other key
    is unknown."""

    def __init__(
        self,
        known: dict[str, frozenset[str]],
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


ABSENT_KEYS = frozenset(
    {"aws:multifactorauthpresent", "aws:multifactorauthage", "aws:calledvia", "aws:calledviafirst", "aws:calledvialast"}
)


def request_context(ctx: Context, principal: dict[str, Any], spec: compare.Spec | None = None) -> RequestContext:
    """The request the principal makes for the guide: in the params' region, over TLS, without MFA,
    not through another service; the principal's own ARN, account and tags; the resource carrying
    the tag the guide's statement asks for (its condition's aws:ResourceTag values)."""
    now = dt.datetime.now(dt.UTC)
    known: dict[str, frozenset[str]] = {
        "aws:requestedregion": frozenset({str(ctx.params.get("region") or "")}),
        "aws:securetransport": frozenset({"true"}),
        "aws:viaawsservice": frozenset({"false"}),
        "aws:principalaccount": frozenset({ctx.snap.account_id}),
        "aws:currenttime": frozenset({now.strftime("%Y-%m-%dT%H:%M:%SZ")}),
        "aws:epochtime": frozenset({str(int(now.timestamp()))}),
    }
    if principal.get("arn"):
        known["aws:principalarn"] = frozenset({principal["arn"]})
    tags = principal.get("tags")
    for key, value in (tags or {}).items():
        known[f"aws:principaltag/{key.lower()}"] = frozenset({str(value)})
    # what Valohai acts on carries the guide's tag (its launch templates and groups must: the
    # master's launch statement asks for it)
    known[f"aws:resourcetag/{VALUES.tag_key.lower()}"] = frozenset({VALUES.tag_value})
    for _, key, values in spec.condition if spec else ():
        if key.startswith("aws:resourcetag/"):
            known[key] = values
    where = (ctx.snap.partition, str(ctx.params.get("region") or ""), ctx.snap.account_id)
    return RequestContext(known, ABSENT_KEYS, tags is not None, where)


def _service(action: str) -> str:
    return action.split(":", 1)[0].lower()


def _takes_part(st: Statement, action: str, target: str) -> str:
    """How much of `target` a Deny of `action` takes: "" none; "all"; or the patterns of the part it
    takes from the guide's `*` (every instance, every group of its service)."""
    if compare.touches(st, target):
        return "all"
    if target != "*":
        return ""
    if st.not_resources is not None:
        return "all but " + ", ".join(st.not_resources)
    service = _service(action)
    mine = [p for p in st.resources or () if p.startswith("arn:") and p.split(":")[2].lower() in (service, "*", "")]
    return ", ".join(mine)


def _unknown(st: Statement, context: RequestContext) -> Undecidable:
    keys = ", ".join(unknown_keys(st.condition, context))
    return Undecidable(f"vhv cannot tell whether Valohai's request meets the condition on {keys} of {st.label}")


# two unlike values for each part of an ARN template a statement must leave open to name them all
SENTINELS = ("vhv-any-1", "Other/any:2")
TEMPLATE_VARIABLE = re.compile(r"\$\{(\w+)\}")


def _every_resource(st: Statement, action: str, where: tuple[str, str, str]) -> bool:
    """The statement's resources name every resource `action` acts on in the account and region
    `where` (partition, region, account): an Allow on arn:aws:autoscaling:*:*:autoScalingGroup:*
    grants what the guide's `*` does. An action that acts on no resource type needs `*`."""
    found = [a for a in catalogue.expand(action) if f"{a.service}:{a.name}".lower() == action.lower()]
    templates = catalogue.action_templates(found[0]) if found else ()
    if not templates:
        return False
    fixed = dict(zip(("Partition", "Region", "Account"), where))
    return all(
        compare.touches(st, TEMPLATE_VARIABLE.sub(lambda m, v=value: fixed.get(m.group(1), v), t))
        for t in templates
        for value in SENTINELS
    )


def allowed_by(found: list[InPolicy], action: str, target: str, context: RequestContext) -> bool | Undecidable:
    """An Allow among `found` applies to the request; an Undecidable (returned) when only one whose
    condition cannot be judged might."""
    unsure = None
    for st in found:
        if st.effect != "Allow" or not compare.acts_on(st, action):
            continue
        if not (compare.touches(st, target) or (target == "*" and _every_resource(st, action, context.where))):
            continue
        got = holds(st.condition, context)
        if got:
            return True
        if got is None and unsure is None:
            unsure = _unknown(st, context)
    return unsure or False


def denied_by(found: list[InPolicy], action: str, target: str, context: RequestContext) -> str:
    """The first Deny among `found` that takes `action` on `target` (or part of it) away, said."""
    for st in found:
        if st.effect != "Deny" or not compare.acts_on(st, action):
            continue
        part = _takes_part(st, action, target)
        if not part:
            continue
        got = holds(st.condition, context)
        if got is None:
            raise _unknown(st, context)
        if got:
            return f"is denied by {st.label}" + ("" if part == "all" else f" (on {part})")
    return ""


def taken_away(
    identity: list[InPolicy],
    bound: tuple[str, list[InPolicy] | None] | None,
    context: RequestContext,
    action: str,
    target: str,
    owner: str,
    say_policies: bool = True,
) -> str:
    """Why the principal cannot do `action` on `target`, or "" when it can (IAM: an explicit Deny
    anywhere wins; else an identity policy must allow it, and so must the boundary). Every cause is
    said, so that one fix is enough."""
    everything = identity + ((bound[1] or []) if bound else [])
    denied = denied_by(everything, action, target, context)
    if denied:
        return denied
    causes = []
    if say_policies and not _allowed(identity, action, target, context):
        causes.append(f"{NOT_GRANTED} {owner}")
    if bound:
        name, found = bound
        if found is None:
            causes.append(f"is outside the permissions boundary {name} (its policy is gone)")
        elif not _allowed(found, action, target, context):
            causes.append(f"is outside the permissions boundary {name}")
    return " and ".join(causes)


def _allowed(found: list[InPolicy], action: str, target: str, context: RequestContext) -> bool:
    got = allowed_by(found, action, target, context)
    if isinstance(got, Undecidable):
        raise got
    return got


def what_is_taken(
    ctx: Context,
    principal: dict[str, Any],
    specs: list[compare.Spec],
    identity: list[InPolicy] | None,
    bound: tuple[str, list[InPolicy] | None] | None,
    owner: str,
) -> list[str]:
    """Each (action on resource) of `specs` the principal cannot do, with why (`identity` None: its
    own policies are judged elsewhere; only the boundary and its denies are)."""
    out = []
    for spec in specs:
        context = request_context(ctx, principal, spec)
        for action in spec.actions:
            for res in spec.resources:
                target = compare.concretise(res, ctx.snap.account_id)
                why = taken_away(identity or [], bound, context, action, target, owner, identity is not None)
                if why:
                    out.append(f"{action} on {res} {why}")
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


@evaluator("role_can", statements=SPECS)
def role_can(ctx: Context, statements: list[dict[str, Any]]) -> list[Outcome]:
    """The role can do every action of the guide's statements on their resources, with all its
    policies, its permissions boundary and its Deny statements together."""
    role = ctx.resource()
    identity = role_statements(ctx, role)
    bound = boundary_of(ctx, KINDS[ctx.kind].path, role)
    specs = [compare.Spec.from_args(ctx.expand(s)) for s in statements]
    problems = what_is_taken(ctx, role, specs, identity, bound, ctx.name)
    expected = _said(specs)
    kw = {"resource_id": role.get("arn")}
    if problems:
        policy = KINDS[KINDS[ctx.kind].policy].name if KINDS[ctx.kind].policy else "the guide's policy"
        return [
            bad(
                f"{ctx.name} cannot do what the guide grants it: " + "; ".join(problems),
                expected,
                "; ".join(problems),
                fix=_fix(problems, ctx.name, policy),
                **kw,
            )
        ]
    within = f", within permissions boundary {bound[0]}" if bound else ""
    return [ok(f"{ctx.name} can do what the guide grants it{within}", expected, "allowed", **kw)]


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
            "service control policies can take away what ValohaiMaster and ValohaiWorkerRole are allowed, and vhv "
            "cannot read them from this account; neither can it see the session policy Valohai may pass",
            expected,
            f"member of {org.get('id')}",
            **kw,
        )
    ]
