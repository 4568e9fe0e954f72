"""Who reaches the data store's bucket: the principal Valohai uses (the params' IAM user or role),
its access keys, and the role it assumes for multipart uploads.

What a principal may do is the union of every policy document the reader found for it (inline and
attached), judged by meaning with the comparison the guide's roles are judged with
(validator.policy.compare); each statement is named with the policy it is in. A part whose read
failed (`<key>.inline_policies`, `.attached_policies`, `users.access_keys`) makes the rule `error`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from validator.checks import STRS, Outcome, bad, evaluator, ok, optional
from validator.checks.context import Context
from validator.checks.effective import boundary_of, named, what_is_taken
from validator.checks.iam import SPECS
from validator.kinds import KINDS
from validator.picking import Missing, candidates
from validator.policy import compare
from validator.policy.document import PolicyError, Statement, action_matches, statements
from validator.snapshot import Undecidable

POLICY_PARTS = ("inline_policies", "attached_policies")
ACTIVE = "Active"


def _part(ctx: Context, item: dict[str, Any], key: str, kind: str = "") -> Any:
    """The principal's `key` (a principal of `kind`, the rule's own by default), or Undecidable
    with the reason its read failed."""
    path = f"{KINDS[kind or ctx.kind].snapshot}.{key}"
    why = ctx.snap.error_at(path) if ctx.snap is not None else None
    if why is not None:
        raise Undecidable(why)
    if key not in item:
        raise Undecidable(f"{path} was not read")
    return item[key]


def policy_statements(ctx: Context, item: dict[str, Any], kind: str = "") -> list[Statement]:
    """Every statement of every policy of the principal (of `kind`, the rule's own by default),
    each named with its policy."""
    holders = [(item, "")]
    if KINDS[kind or ctx.kind].snapshot == "users":  # a user may also do what its groups may
        holders += [(g, f" of group {g.get('name')}") for g in _part(ctx, item, "groups", kind)]
    out: list[Statement] = []
    for holder, of in holders:
        for key in POLICY_PARTS:
            if holder is not item and key not in holder:
                raise Undecidable(f"the {key.replace('_', ' ')}{of} were not read")
            for pol in holder[key] if holder is not item else _part(ctx, item, key, kind):
                where = (
                    f"inline policy {pol['name']}"
                    if key == "inline_policies"
                    else f"{pol['name']} (default version {pol.get('default_version_id') or '?'})"
                ) + of
                try:
                    found = statements(pol.get("document"))
                except PolicyError as exc:
                    raise Undecidable(f"{where} of {item.get('name')} cannot be read as a policy: {exc}") from None
                out += named(found, where)
    return out


def _specs(ctx: Context, raw: list[dict[str, Any]]) -> list[compare.Spec]:
    return [compare.Spec.from_args(ctx.expand(s)) for s in raw]


def _said(specs: list[compare.Spec]) -> str:
    return "; ".join(f"{', '.join(s.actions)} on {', '.join(s.resources)}" for s in specs)


def _ids(item: dict[str, Any]) -> dict[str, Any]:
    return {"resource_id": item.get("arn"), "resource_name": item.get("name")}


SECURE_TRANSPORT = "aws:securetransport"
TLS_VERSION = "s3:tlsversion"


def _below_tls12(values: frozenset[str]) -> bool:
    try:
        return all(float(v) <= 1.2 for v in values)
    except ValueError:
        return False


def _names(st: Statement, arn: str, account: str, partition: str) -> bool:
    """The statement's Principal (or NotPrincipal) covers the principal `arn`."""
    listed = st.principals or ()
    hit = any(
        v == "*" or (t == "AWS" and v in (arn, account, f"arn:{partition}:iam::{account}:root")) for t, v in listed
    )
    return not hit if st.not_principal else hit


def _resource_denies(ctx: Context, kind: str, arn: str) -> tuple[list[Statement], list[Statement]]:
    """The Deny statements of the resource policy of `kind` (the data store's bucket) that apply to
    the principal `arn`: (those that apply to its requests, which are over TLS; those that apply
    only under a condition vhv cannot judge). Each is named as the bucket policy's; the second
    list's conditions are dropped, to see what they would take away."""
    try:
        resource = ctx.items(kind)[0]
    except Missing:  # no bucket: its own rule fails; nothing of it denies anything
        return [], []
    why = ctx.snap.error_at(f"{KINDS[kind].snapshot}.policy")
    if why is not None:
        raise Undecidable(why)
    if resource.get("policy") is None:
        return [], []
    try:
        found = statements(resource.get("policy"))
    except PolicyError as exc:
        raise Undecidable(f"the bucket policy of {resource.get('name')} cannot be read: {exc}") from None
    sure, unsure = [], []
    snap = ctx.snap
    for st in found:
        if st.effect != "Deny" or not _names(st, arn, snap.account_id, snap.partition):
            continue
        [said] = named([st], "the bucket policy")
        keys = {key for _, key, _ in st.condition}
        if not st.condition:
            sure.append(said)
        elif keys == {TLS_VERSION} and all(op == "numericlessthan" and _below_tls12(v) for op, _, v in st.condition):
            continue  # "TLS older than 1.2 is refused": Valohai's SDK speaks 1.2 or newer
        elif keys == {SECURE_TRANSPORT} and all(op == "bool" and len(v) == 1 for op, _, v in st.condition):
            # Valohai calls S3 over TLS: "SecureTransport true" denies it, "false" never does
            if any(v == {"true"} for _, _, v in st.condition):
                sure.append(replace(said, condition=frozenset()))
        else:
            unsure.append(replace(said, condition=frozenset()))
    return sure, unsure


@evaluator("principal_grants", statements=SPECS, resource_policy_of=optional({"type": "string"}))
def principal_grants(
    ctx: Context, statements: list[dict[str, Any]], resource_policy_of: str | None = None
) -> list[Outcome]:  # noqa: F811
    """The principal's policies, all of them together, allow every action of the statements on
    their resources (by meaning: a wildcard that covers them does; a Deny of them does not), and
    no Deny of the resource policy of `resource_policy_of` (the bucket's) takes one away."""
    item = ctx.items()[0]
    sts = policy_statements(ctx, item)
    specs = _specs(ctx, statements)
    unsure: list[Statement] = []
    if resource_policy_of:
        if resource_policy_of not in KINDS:
            raise Undecidable(f"resource_policy_of names {resource_policy_of!r}, which is not a kind of the catalogue")
        sure, unsure = _resource_denies(ctx, resource_policy_of, item.get("arn") or "")
        sts = sts + sure
    bound = boundary_of(ctx, KINDS[ctx.kind].snapshot, item)
    missing = what_is_taken(ctx, item, specs, sts, bound, item.get("name", ""))
    if unsure and not missing:
        more = what_is_taken(ctx, item, specs, sts + unsure, bound, item.get("name", ""))
        if more:
            raise Undecidable(f"{more[0]} under a condition vhv cannot judge: Valohai's requests may be denied")
    expected = _said(specs)
    if missing:
        return [bad(f"{item['name']}: " + "; ".join(missing), expected, "; ".join(missing), **_ids(item))]
    return [ok(f"{item['name']} may {expected}", expected, "allowed", **_ids(item))]


def _of_services(st: Statement, services: list[str]) -> Statement | None:
    """The part of an Allow statement that grants actions of `services` (None: it grants none of
    them): `*` is `s3:*`, `ec2:*` is dropped. A NotAction statement is kept whole unless it
    excludes every action of those services."""
    if st.effect != "Allow":
        return st
    if st.actions is None:
        excluded = all(any(action_matches(p, f"{svc}:*") for p in st.not_actions or ()) for svc in services)
        return None if excluded else st
    kept = []
    for pattern in st.actions:
        service, colon, action = pattern.partition(":")
        if not colon:  # "*": every action of every service
            service, action = pattern, "*"
        kept += [f"{svc}:{action}" for svc in services if action_matches(service, svc)]
    return replace(st, actions=tuple(dict.fromkeys(kept))) if kept else None


@evaluator("principal_within", statements=SPECS, services=optional(STRS))
def principal_within(
    ctx: Context, statements: list[dict[str, Any]], services: list[str] | None = None
) -> list[Outcome]:  # noqa: F811
    """No policy of the principal allows more than the statements: no other bucket, no wider
    action, no NotAction or NotResource. With `services`, only what its policies grant in those
    services is judged (a role that has other work, as the guide's master role has)."""
    item = ctx.items()[0]
    sts = policy_statements(ctx, item)
    if services:
        sts = [s for s in (_of_services(st, services) for st in sts) if s is not None]
    specs = _specs(ctx, statements)
    problems = compare.wider_than(sts, specs)
    expected = f"only {_said(specs)}"
    scope = f" in {', '.join(services)}" if services else ""
    if problems:
        return [
            bad(
                f"{item['name']} may do more{scope} than the data store needs: " + "; ".join(problems),
                expected,
                "; ".join(problems),
                **_ids(item),
            )
        ]
    return [ok(f"{item['name']} may do nothing{scope} beyond {_said(specs)}", expected, "nothing wider", **_ids(item))]


# ------------------------------------------------------------------ access keys


def _key(k: dict[str, Any]) -> str:
    """An access key as messages name it: the end of its id (enough to find it in the console; a
    report is no place for a credential's id) and its creation day."""
    return f"...{str(k.get('id', ''))[-4:]} (created {str(k.get('created', ''))[:10]})"


def _active(ctx: Context) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    item = ctx.items()[0]
    keys = _part(ctx, item, "access_keys")
    return item, [k for k in keys if k.get("status") == ACTIVE]


@evaluator(
    "access_keys_active", most={"type": "integer", "minimum": 1}, least=optional({"type": "integer", "minimum": 0})
)
def access_keys_active(ctx: Context, most: int, least: int = 0) -> list[Outcome]:
    """The user has at least `least` and at most `most` active access keys: Valohai signs in with
    the one it holds, and every other active key is a credential to the data store that can leak."""
    item, active = _active(ctx)
    said = ", ".join(_key(k) for k in active) or "(none)"
    expected = f"exactly {most} active" if least == most else f"{least} to {most} active"
    if least <= len(active) <= most:  # the count alone: a report that passes does not change with the day
        return [
            ok(
                f"{item['name']} has {len(active)} active access key(s)",
                expected,
                f"{len(active)} active",
                **_ids(item),
            )
        ]
    if len(active) < least:
        return [
            bad(
                f"{item['name']} has {'only ' + str(len(active)) if active else 'no'} active access key; Valohai "
                "needs one active key to sign in: create one (or activate the one Valohai holds) and give it to "
                "Valohai",
                expected,
                f"{len(active)} active",
                **_ids(item),
            )
        ]
    return [
        bad(
            f"{item['name']} has {len(active)} active access keys ({said}); Valohai holds one: deactivate and "
            "delete the others",
            expected,
            said,
            **_ids(item),
        )
    ]


@evaluator("access_key_age", days={"type": "integer", "minimum": 1})
def access_key_age(ctx: Context, days: int) -> list[Outcome]:
    """No active access key of the user is older than `days` (judged on the day it runs)."""
    item, active = _active(ctx)
    now = dt.datetime.now(dt.UTC)
    old = []
    for k in active:
        try:
            created = dt.datetime.fromisoformat(str(k.get("created")))
        except ValueError:
            raise Undecidable(f"the creation time of access key {_key(k)} is not a time") from None
        age = (now - (created if created.tzinfo else created.replace(tzinfo=dt.UTC))).days
        if age > days:
            old.append(f"{_key(k)} is {age} days old")
    expected = f"active keys at most {days} days old"
    if not old:
        return [
            ok(f"{item['name']}: no active access key is older than {days} days", expected, "none older", **_ids(item))
        ]
    return [
        bad(
            f"{item['name']}: access key {'; '.join(old)}; rotate it (a new key for Valohai, then deactivate "
            f"the old one) at least every {days} days",
            expected,
            old,
            **_ids(item),
        )
    ]


# ------------------------------------------------------------------ the multipart role's trust


def _principal_arn(ctx: Context, kinds: list[str]) -> str:
    """The ARN of the principal the params name (the first of `kinds` they name): the one read, or
    the one it would have when it does not exist. Undecidable when its read failed: its ARN may
    have a path a guess would miss."""
    named = [k for k in kinds if KINDS[k].named(ctx.params)]
    if not named:
        raise Undecidable(f"the params name none of {', '.join(KINDS[k].params_key for k in kinds)}")
    kind = KINDS[named[0]]
    name = kind.named(ctx.params)
    try:
        found = candidates(ctx.snap, kind.key)
    except Undecidable as exc:
        raise Undecidable(f"the ARN of {name} is not known: {exc}") from None
    if found and found[0].get("arn"):
        return found[0]["arn"]
    arn_type = kind.aws_type.rsplit("::", 1)[-1].lower()  # AWS::IAM::User -> user
    return f"arn:{ctx.snap.partition}:iam::{ctx.snap.account_id}:{arn_type}/{name}"


@evaluator("trusts_principal", principal_kinds=STRS, actions=STRS)
def trusts_principal(ctx: Context, principal_kinds: list[str], actions: list[str]) -> list[Outcome]:
    """The role's trust policy lets the principal the params name (the first of `principal_kinds`
    they name: the data store's user or role) perform `actions`, and nobody else."""
    unknown = [k for k in principal_kinds if k not in KINDS]
    if unknown:
        raise Undecidable(f"principal_kinds names {unknown[0]!r}, which is not a kind of the catalogue")
    role = ctx.items()[0]
    want = _principal_arn(ctx, principal_kinds)
    try:
        sts = statements(role.get("trust_policy"))
    except PolicyError as exc:
        raise Undecidable(f"trust policy of {role.get('name')} cannot be read: {exc}") from None
    present, problems = compare.trust_problems(sts, ("AWS", want), actions)
    expected = f"only AWS {want} may {', '.join(actions)}"
    if not present:
        problems.insert(0, f"AWS {want} is not trusted for {', '.join(actions)}")
    if problems:
        return [bad(f"trust policy of {role['name']}: " + "; ".join(problems), expected, problems, **_ids(role))]
    return [ok(f"{role['name']} trusts only AWS {want}", expected, f"AWS {want}", **_ids(role))]
