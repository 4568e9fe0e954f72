"""`vhv lint` inside `vhv check`: the live policy documents and trust policies, linted
from the snapshot (no AWS call of its own). The rules that use it are advisory
(`on_fail: warn`): a lint finding never fails the account the guide describes."""

from __future__ import annotations

from typing import Any

from validator.checks import Outcome, bad, evaluator, ok, optional
from validator.checks.context import Context
from validator.checks.iam import policy_document
from validator.kinds import KINDS, inline_guide_policy
from validator.policy.document import PolicyError, load_document
from validator.policy.lint import FAIL_ON, lint_bucket_policy, lint_document
from validator.policy.lintmodel import docs
from validator.snapshot import Undecidable

# why a finding that fails `vhv lint` is only a warning inside `vhv check`
ADVISORY = {
    level: " (fails `vhv lint`; only a warning here: lint inside check is advisory, the guide's rules judge "
    "what the document grants)"
    for level in FAIL_ON["error"]
}
# how the edited document gets back into the account, after the finding's own fix
THEN = {
    "policy": "save the JSON, check it with `vhv lint`, and make it the default version",
    "trust": "edit it in the role's trust relationship (`vhv lint --trust` on its JSON shows the line)",
    "bucket_policy": "edit it in the bucket's policy (`vhv lint` on its JSON shows the line)",
    "inline": "save the JSON, check it with `vhv lint`, and put it back with `aws iam put-role-policy`",
}
IGNORE = {
    "type": "object",
    "propertyNames": {"enum": sorted(docs())},
    "additionalProperties": {"type": "string", "minLength": 10},
}


@evaluator("policy_lint", document={"enum": ["policy", "trust", "bucket_policy", "inline"]}, ignore=optional(IGNORE))
def policy_lint(ctx: Context, document: str, ignore: dict[str, str] | None = None) -> list[Outcome]:
    """The resource's policy document (`policy`: the managed policy's default version;
    `trust`: the role's trust policy; `bucket_policy`: the data store's bucket policy; `inline`:
    each inline policy of the role) gives no `vhv lint` finding. Each finding is one
    outcome naming the check, the JSON pointer and what to write instead; the checks in
    `ignore` (id -> why the guide's account needs them quiet) are not reported."""
    if document == "inline":
        return _inline(ctx, ignore or {})
    if document == "policy":
        res, raw, where = policy_document(ctx)
    elif document == "bucket_policy":
        res = ctx.resource()
        where = f"the bucket policy of {res.get('name')}"
        why = ctx.snap.error_at(f"{KINDS[ctx.kind].snapshot}.policy") if ctx.snap is not None else None
        if why:
            raise Undecidable(why)
        raw = res.get("policy")
        if raw is None:
            return [
                ok(
                    f"{res.get('name')} has no bucket policy to lint",
                    "no lint finding",
                    "none",
                    resource_id=res.get("arn"),
                )
            ]
    else:
        res = ctx.resource()
        where = f"the trust policy of {ctx.name}"
        raw = res.get("trust_policy")
    return _lint(ctx, document, res, raw, where, ignore or {})


def _inline(ctx: Context, ignore: dict[str, str]) -> list[Outcome]:
    """Each inline policy of the role, linted as an identity policy."""
    role = ctx.resource()
    own = inline_guide_policy(ctx.kind)  # linted by the guide's policy's own rule
    docs = [p for p in ctx.data(f"{KINDS[ctx.kind].path}.inline_documents") if p["name"] != own]
    if not docs:
        besides = f" besides {own} (linted by its own rule)" if own else ""
        return [
            ok(
                f"{ctx.name} has no inline policy{besides} to lint",
                "no lint finding",
                "none",
                resource_id=role.get("arn"),
            )
        ]
    out = []
    for pol in docs:
        out += _lint(ctx, "inline", role, pol["document"], f"inline policy {pol['name']} of {ctx.name}", ignore)
    return out


def _lint(
    ctx: Context, document: str, res: dict[str, Any], raw: Any, where: str, ignore: dict[str, str]
) -> list[Outcome]:
    try:
        doc = load_document(raw)
    except PolicyError as exc:
        raise Undecidable(f"{where} cannot be read as a policy: {exc}") from None
    account = ctx.snap.account_id if ctx.snap else None
    if document == "bucket_policy":
        issues = lint_bucket_policy(doc, account=account)
    else:
        issues = lint_document(doc, trust_flag=document == "trust", account=account)
    kept = [i for i in issues if i.rule not in ignore]
    quiet = sorted({i.rule for i in issues if i.rule in ignore})
    kw: dict[str, Any] = {"resource_id": res.get("arn")}
    if not kept:
        note = "".join(f"; not reported: {r} ({ignore[r]})" for r in quiet)
        return [ok(f"{where}: vhv lint finds nothing to report{note}", "no lint finding", "none", **kw)]
    then = THEN[document]
    out = []
    for i in kept:
        doc = docs()[i.rule]
        level = doc["level"]
        ptr = i.pointer or "/"
        instead = f"; write instead: {i.expected}" if i.expected else ""
        out.append(
            bad(
                f"{where}: {i.rule} ({level}) at {ptr}: {i.message}{instead}{ADVISORY.get(level, '')}",
                i.expected or "no lint finding",
                i.actual or i.message,
                fix=(
                    f"At {ptr}, instead: {i.expected}"
                    if i.expected
                    else f"{doc['title']} at {ptr}: `vhv rules --lint {i.rule}` shows what to write instead"
                )
                + f"; {then}.",
                **kw,
            )
        )
    return out
