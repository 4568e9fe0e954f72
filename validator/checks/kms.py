"""The data store's KMS key: when the bucket's default encryption is SSE-KMS, every principal
Valohai uses on the bucket (the data store's user or role, and the multipart role) must be able to
use the key, or every upload and download fails although S3 allows it.

A principal of the account may use a key the customer manages when the key policy allows it,
either naming it or naming the account (which hands the decision to IAM: the principal's own
policies must then allow the action on the key), and no statement of either denies it. S3's own
key (aws/s3, which AWS manages) is usable by every principal of the account through S3. KMS grants
are not read: a principal they alone let use the key fails, with the statements that were found.
"""

from __future__ import annotations

import re
from typing import Any

from validator.checks import SKIP, STRS, Outcome, bad, evaluator, ok
from validator.checks.context import Context
from validator.checks.data_access import policy_statements
from validator.kinds import KINDS
from validator.picking import Missing
from validator.policy import compare
from validator.policy.document import PolicyError, Statement, action_matches, statements
from validator.snapshot import Undecidable

# The conditions a key policy's Allow may carry and still let Valohai's calls through S3 in:
# the call comes through S3 of the region, from the account.
VIA_SERVICE, CALLER_ACCOUNT = "kms:viaservice", "kms:calleraccount"
EQUALS = ("stringequals", "stringequalsignorecase", "stringlike")


def _part(ctx: Context, b: dict[str, Any], key: str) -> Any:
    """The bucket's `key`, or Undecidable with the reason its read failed."""
    why = ctx.snap.error_at(f"{KINDS[ctx.kind].snapshot}.{key}")
    if why is not None:
        raise Undecidable(why)
    return b.get(key)


def _key(ctx: Context, b: dict[str, Any]) -> dict[str, Any]:
    """The bucket's key, or Undecidable when it was not read (a snapshot older than this rule)."""
    if "kms_key" not in b:
        raise Undecidable(f"{KINDS[ctx.kind].snapshot}.kms_key was not read")
    key = _part(ctx, b, "kms_key")
    if not isinstance(key, dict):
        raise Undecidable(f"{KINDS[ctx.kind].snapshot}.kms_key was not read")
    return key


def _is_kms(encryption: Any) -> bool:
    for rule in encryption or []:
        default = (rule or {}).get("ApplyServerSideEncryptionByDefault") or {}
        if str(default.get("SSEAlgorithm") or "").startswith("aws:kms"):
            return True
    return False


def _names(st: Statement, arn: str, account: str, partition: str) -> tuple[bool, bool]:
    """(the statement names the principal itself or everyone, it names the principal's account)."""
    listed = st.principals or ()
    root = f"arn:{partition}:iam::{account}:root"
    itself = any(v == "*" or (t == "AWS" and v == arn) for t, v in listed)
    whole = any(t == "AWS" and v in (root, account) for t, v in listed)
    return itself, whole


def _condition_fits(st: Statement, region: str, account: str) -> bool:
    """The statement's condition holds for a call S3 of `region` makes for `account`."""
    want = {VIA_SERVICE: f"s3.{region}.amazonaws.com", CALLER_ACCOUNT: account}
    for op, key, values in st.condition:
        if key not in want or op not in EQUALS:
            return False
        if op == "stringlike":
            if not any(re.fullmatch(re.escape(v).replace(r"\*", ".*").replace(r"\?", "."), want[key]) for v in values):
                return False
        elif want[key].lower() not in {v.lower() for v in values}:
            return False
    return True


def _acts(st: Statement, action: str) -> bool:
    if st.actions is not None:
        return any(action_matches(p, action) for p in st.actions)
    return st.not_actions is not None and not any(action_matches(p, action) for p in st.not_actions)


def _problems(
    key_sts: list[Statement], iam_sts: list[Statement], arn: str, key_arn: str, ctx: Context, actions: list[str]
) -> list[str]:
    """What keeps the principal `arn` from each of `actions` on the key: nothing when it may."""
    snap = ctx.snap
    account, partition, region = snap.account_id, snap.partition, ctx.params.get("region")
    problems = []
    for action in actions:
        direct = delegated = False
        unsure = ""
        denied = ""
        for st in key_sts:
            if not _acts(st, action) or st.not_principal:
                continue
            itself, whole = _names(st, arn, account, partition)
            if not (itself or whole):
                continue
            if st.effect == "Deny":
                if not st.condition:
                    denied = denied or f"{st.label} of the key policy denies it"
                else:
                    unsure = unsure or f"{st.label} of the key policy denies it under a condition vhv cannot judge"
                continue
            if st.effect != "Allow":
                continue
            if st.condition and not _condition_fits(st, region, account):
                unsure = unsure or f"{st.label} of the key policy allows it only under a condition vhv cannot judge"
                continue
            direct, delegated = direct or itself, delegated or whole
        if denied:
            problems.append(f"{action}: {denied}")
            continue
        if not direct and delegated:
            spec = compare.Spec.from_args({"actions": [action], "resources": [key_arn]})
            missing = compare.missing_grants(iam_sts, spec, account)
            if not missing:
                continue
            if unsure:
                raise Undecidable(f"{arn} may not use the key for {action} by its own policies, and {unsure}")
            problems.append(
                f"{action}: the key policy leaves it to IAM, and the principal's policies do not allow it "
                f"({missing[0].replace(' on ' + key_arn, '')})"
            )
        elif not direct:
            if unsure:
                raise Undecidable(f"{arn} may use the key for {action} only if {unsure}")
            problems.append(f"{action}: the key policy names neither the principal nor its account")
    return problems


def _principals(ctx: Context, kinds: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """The principals the params name among `kinds` that exist (one that does not is its own
    rule's failure), with their kind."""
    found = []
    for kind in kinds:
        if kind not in KINDS:
            raise Undecidable(f"principals names {kind!r}, which is not a kind of the catalogue")
        if not KINDS[kind].named(ctx.params):
            continue
        try:
            found += [(kind, item) for item in ctx.items(kind)]
        except Missing:
            continue
    return found


@evaluator("kms_key_usable", principals=STRS, actions=STRS)
def kms_key_usable(ctx: Context, principals: list[str], actions: list[str]) -> list[Outcome]:
    """With SSE-KMS, the key exists, is enabled, and every principal the params name among
    `principals` may perform `actions` with it (by the key policy, and IAM where the key policy
    leaves it to IAM)."""
    b = ctx.items()[0]
    ids = {"resource_id": b.get("arn"), "resource_name": b.get("name")}
    if not _is_kms(_part(ctx, b, "encryption")):
        return [Outcome(SKIP, f"{b['name']}'s default encryption is not SSE-KMS: there is no key to use")]
    key = _key(ctx, b)
    if not key.get("exists"):
        return [
            bad(
                f"{b['name']}: the default encryption names KMS key {key['id']}, which does not exist in "
                f"{ctx.params.get('region')} (or is not visible to this account): every upload fails",
                expected="a key that exists and is enabled",
                actual=f"{key['id']}: not found",
                fix=f"Point the bucket's default encryption at a key that exists (or SSE-S3), or create {key['id']}.",
                **ids,
            )
        ]
    key_arn = key.get("arn") or key["id"]
    if key.get("state") != "Enabled":
        return [
            bad(
                f"{b['name']}: the default encryption's KMS key {key_arn} is {key.get('state')}: S3 can neither "
                "encrypt nor decrypt with it",
                expected="Enabled",
                actual=key.get("state"),
                fix=f"Enable the key {key_arn} (or cancel its deletion), or point the bucket at another key.",
                **ids,
            )
        ]
    if key.get("manager") != "CUSTOMER":
        return [
            ok(
                f"{b['name']}: the default encryption uses AWS's key {key['id']}, which every principal of the "
                "account may use through S3",
                "a key the data store's principals may use",
                key_arn,
                **ids,
            )
        ]
    try:
        key_sts = statements(key.get("policy"))
    except PolicyError as exc:
        raise Undecidable(f"the key policy of {key_arn} cannot be read: {exc}") from None
    judged, failed = [], []
    for kind, item in _principals(ctx, principals):
        arn = item.get("arn") or ""
        found = _problems(key_sts, policy_statements(ctx, item, kind), arn, key_arn, ctx, actions)
        judged.append(item.get("name") or arn)
        if found:
            failed.append(f"{item.get('name') or arn} ({arn}): " + "; ".join(found))
    expected = f"{', '.join(actions)} on {key_arn} for each principal Valohai uses"
    if failed:
        return [
            bad(
                f"{b['name']}: the default encryption's KMS key {key_arn} cannot be used by " + " | ".join(failed),
                expected,
                failed,
                fix=(
                    f"Let each principal use the key: add it to the key policy of {key_arn} with {', '.join(actions)} "
                    "(or, where the key policy allows the account, allow those actions on the key in the "
                    "principal's IAM policy), and remove any Deny of them."
                ),
                **ids,
            )
        ]
    if not judged:
        return [Outcome(SKIP, "no principal of the data store exists to judge (their own rules say so)")]
    return [ok(f"{b['name']}: {', '.join(judged)} may use the KMS key {key_arn}", expected, "allowed", **ids)]
