"""The data store's bucket: public access, encryption, TLS, versioning, lifecycle and CORS.

Each evaluator reads one part of the bucket the S3 reader put in the snapshot; a part whose read
failed is recorded under `buckets.<part>` and makes the rule `error`, never `pass`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from validator.checks import SKIP, STR, Outcome, bad, evaluator, ok
from validator.checks.context import Context
from validator.kinds import KINDS
from validator.snapshot import Undecidable

# ACL grantees that are everyone on the internet, or every AWS account
PUBLIC_GRANTEES = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers (everyone)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers (every AWS account)",
}
WRITE_METHODS = ("PUT", "POST", "DELETE")
CORS_RULE = {
    "type": "object",
    "required": ["methods", "origins"],
    "additionalProperties": False,
    "properties": {
        "methods": {"type": "array", "items": STR, "minItems": 1},
        "origins": {"type": "array", "items": STR, "minItems": 1},
        "headers": {"type": "array", "items": STR},
        "max_age": {"type": "integer"},
    },
}
CORS_RULES = {"type": "array", "items": CORS_RULE, "minItems": 1}


def _bucket(ctx: Context) -> dict[str, Any]:
    return ctx.items()[0]


def _part(ctx: Context, bucket: dict[str, Any], key: str) -> Any:
    """The bucket's `key`, or Undecidable with the reason its read failed."""
    why = ctx.snap.error_at(  # ctx.items() found the bucket: the snapshot is there
        f"{KINDS[ctx.kind].snapshot}.{key}"
    )
    if why is not None:
        raise Undecidable(why)
    return bucket.get(key)


def _ids(b: dict[str, Any]) -> dict[str, Any]:
    return {"resource_id": b.get("arn"), "resource_name": b.get("name")}


def _statements(policy: Any) -> list[dict[str, Any]]:
    if not isinstance(policy, dict):
        return []
    st = policy.get("Statement")
    st = st if isinstance(st, list) else [st]
    return [s for s in st if isinstance(s, dict)]


def _label(i: int, s: dict[str, Any]) -> str:
    return f"statement {i + 1}" + (f" ({s['Sid']})" if s.get("Sid") else "")


def _listed(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


@evaluator("bucket_public_access_block")
def bucket_public_access_block(ctx: Context) -> list[Outcome]:
    """All four Block Public Access settings are on, for the bucket or for the whole account."""
    b = _bucket(ctx)
    name = b["name"]
    off: dict[str, list[str]] = {}
    unread = []
    for where, key in (("the bucket", "public_access_block"), ("the account", "account_public_access_block")):
        try:
            conf = _part(ctx, b, key)
        except Undecidable as exc:
            unread.append(str(exc))
            continue
        off[where] = [k for k, v in (conf or {}).items() if not v] if conf else ["all four (not configured)"]
        if not off[where]:
            return [ok(f"{name}: Block Public Access is on for {where}", "all four on", "all four on", **_ids(b))]
    if unread:
        raise Undecidable(unread[0])
    said = "; ".join(f"{w}: {', '.join(k)} off" for w, k in off.items())
    return [
        bad(
            f"{name}: Block Public Access is not fully on for the bucket or the account ({said}); "
            "a policy or ACL can make the data store public",
            expected="BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets on",
            actual=said,
            **_ids(b),
        )
    ]


@evaluator("bucket_policy_not_public")
def bucket_policy_not_public(ctx: Context) -> list[Outcome]:
    """S3 does not judge the bucket policy public (GetBucketPolicyStatus)."""
    b = _bucket(ctx)
    public = _part(ctx, b, "policy_public")
    if not public:
        return [ok(f"{b['name']}: the bucket policy is not public", "not public", "not public", **_ids(b))]
    open_ = [
        _label(i, s)
        for i, s in enumerate(_statements(b.get("policy")))
        if s.get("Effect") == "Allow" and _anyone(s.get("Principal"))
    ]
    which = f" ({', '.join(open_)} allows Principal *)" if open_ else ""
    restricted = _restricting(ctx, b)
    reach = (
        f"; Block Public Access's RestrictPublicBuckets (on for {restricted}) blocks that access for now, and the "
        "policy makes the data store public the day it is turned off"
        if restricted
        else "; anyone can reach the data store"
    )
    return [
        bad(
            f"{b['name']}: S3 judges the bucket policy public{which}{reach}",
            expected="not public",
            actual="public",
            **_ids(b),
        )
    ]


def _restricting(ctx: Context, b: dict[str, Any]) -> str:
    """Where RestrictPublicBuckets is on ("the bucket", "the account"), or "" (also when unread)."""
    for where, key in (("the bucket", "public_access_block"), ("the account", "account_public_access_block")):
        try:
            conf = _part(ctx, b, key)
        except Undecidable:
            continue
        if isinstance(conf, dict) and conf.get("RestrictPublicBuckets"):
            return where
    return ""


def _anyone(principal: Any) -> bool:
    if principal == "*":
        return True
    return isinstance(principal, dict) and "*" in _listed(principal.get("AWS"))


@evaluator("bucket_acl_not_public")
def bucket_acl_not_public(ctx: Context) -> list[Outcome]:
    """No ACL grant to AllUsers or AuthenticatedUsers."""
    b = _bucket(ctx)
    grants = _part(ctx, b, "acl_grants") or []
    public = [
        f"{PUBLIC_GRANTEES[g['Grantee']['URI']]} {g.get('Permission')}"
        for g in grants
        if isinstance(g, dict) and (g.get("Grantee") or {}).get("URI") in PUBLIC_GRANTEES
    ]
    if not public:
        return [ok(f"{b['name']}: the ACL grants nothing to the public", "no public grant", "(none)", **_ids(b))]
    return [
        bad(
            f"{b['name']}: the ACL grants {', '.join(public)}",
            expected="no grant to AllUsers or AuthenticatedUsers",
            actual=public,
            **_ids(b),
        )
    ]


@evaluator("bucket_encryption")
def bucket_encryption(ctx: Context) -> list[Outcome]:
    """Default encryption is set: SSE-S3 (AES256) or SSE-KMS."""
    b = _bucket(ctx)
    rules = _part(ctx, b, "encryption")
    algos = [
        (r.get("ApplyServerSideEncryptionByDefault") or {}).get("SSEAlgorithm")
        for r in rules or []
        if isinstance(r, dict)
    ]
    algos = [a for a in algos if a]
    if algos:
        return [ok(f"{b['name']}: default encryption {', '.join(algos)}", "SSE-S3 or SSE-KMS", algos, **_ids(b))]
    return [
        bad(
            f"{b['name']}: no default encryption",
            expected="SSE-S3 (AES256) or SSE-KMS",
            actual="(none)",
            **_ids(b),
        )
    ]


def _tls_deny(s: dict[str, Any]) -> bool:
    """A Deny to everyone of every S3 action when the request is not over TLS."""
    if s.get("Effect") != "Deny" or not _anyone(s.get("Principal")):
        return False
    if not any(a in ("s3:*", "*") for a in _listed(s.get("Action"))):
        return False
    cond = s.get("Condition") or {}
    for op, keys in cond.items() if isinstance(cond, dict) else ():
        if op == "Bool" and isinstance(keys, dict):
            for key, value in keys.items():
                if key.lower() == "aws:securetransport" and [str(v).lower() for v in _listed(value)] == ["false"]:
                    return True
    return False


def _covers_bucket(s: dict[str, Any], arn: str) -> bool:
    resources = _listed(s.get("Resource"))
    return "*" in resources or ({arn, f"{arn}/*"} <= set(resources)) or f"{arn}*" in resources


@evaluator("bucket_tls_only")
def bucket_tls_only(ctx: Context) -> list[Outcome]:
    """The bucket policy denies every request that is not over TLS (aws:SecureTransport false)."""
    b = _bucket(ctx)
    policy = _part(ctx, b, "policy")
    sts = list(enumerate(_statements(policy)))
    found = [_label(i, s) for i, s in sts if _tls_deny(s) and _covers_bucket(s, b["arn"])]
    if found:
        return [ok(f"{b['name']}: {found[0]} denies requests without TLS", "TLS only", found[0], **_ids(b))]
    partial = [f"{_label(i, s)} {_tls_lacks(s, b['arn'])}" for i, s in sts if _tls_like(s)]
    if policy is None:
        has = "no bucket policy"
    elif partial:
        has = "the bucket policy has no statement that denies every request without TLS (" + "; ".join(partial) + ")"
    else:
        has = "the bucket policy has no such statement"
    return [
        bad(
            f"{b['name']}: {has}: requests over plain HTTP are allowed",
            expected="Deny s3:* to * on the bucket and its objects when aws:SecureTransport is false",
            actual=has,
            **_ids(b),
        )
    ]


def _tls_like(s: dict[str, Any]) -> bool:
    """A Deny statement that names aws:SecureTransport: meant as the TLS statement."""
    return s.get("Effect") == "Deny" and "aws:securetransport" in json.dumps(s.get("Condition") or {}).lower()


def _tls_lacks(s: dict[str, Any], arn: str) -> str:
    """What a statement meant as the TLS statement lacks, in words."""
    lacks = []
    if not _anyone(s.get("Principal")):
        lacks.append("Principal *")
    if not any(a in ("s3:*", "*") for a in _listed(s.get("Action"))):
        lacks.append("Action s3:*")
    if not _tls_deny({**s, "Principal": "*", "Action": "s3:*"}):
        lacks.append('the condition Bool aws:SecureTransport "false"')
    if not _covers_bucket(s, arn):
        have = set(_listed(s.get("Resource")))
        lacks.append("the resource(s) " + ", ".join(r for r in (arn, f"{arn}/*") if r not in have))
    return "lacks " + " and ".join(lacks)


@evaluator("bucket_versioning")
def bucket_versioning(ctx: Context) -> list[Outcome]:
    """Versioning is enabled (an overwritten or deleted output can be recovered)."""
    b = _bucket(ctx)
    status = _part(ctx, b, "versioning")
    if status == "Enabled":
        return [ok(f"{b['name']}: versioning is enabled", "Enabled", status, **_ids(b))]
    said = status or "never enabled"
    return [bad(f"{b['name']}: versioning is {said}", expected="Enabled", actual=said, **_ids(b))]


@evaluator("bucket_abort_multipart")
def bucket_abort_multipart(ctx: Context) -> list[Outcome]:
    """An enabled lifecycle rule for the whole bucket aborts incomplete multipart uploads (their
    parts are stored, and billed, until then)."""
    b = _bucket(ctx)
    rules = _part(ctx, b, "lifecycle") or []
    for r in rules:
        if not isinstance(r, dict) or r.get("Status") != "Enabled":
            continue
        days = (r.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation")
        flt = r.get("Filter") or {}
        whole = not (r.get("Prefix") or flt.get("Prefix") or flt.get("Tag") or flt.get("And"))
        if days is not None and whole:
            rid = r.get("ID") or "a rule"
            return [ok(f"{b['name']}: {rid} aborts incomplete uploads after {days} days", "a rule", rid, **_ids(b))]
    return [
        bad(
            f"{b['name']}: no enabled lifecycle rule for the whole bucket aborts incomplete multipart uploads",
            expected="AbortIncompleteMultipartUpload on an enabled rule without a filter",
            actual=f"{len(rules)} lifecycle rule(s)",
            **_ids(b),
        )
    ]


def _uploads(ctx: Context) -> bool:
    section = ctx.params.get("data_store") or {}
    return bool(section.get("web_uploads"))


def _cors_label(i: int, r: dict[str, Any]) -> str:
    return f"CORS rule {i + 1}" + (f" ({r['ID']})" if r.get("ID") else "")


def _matches(pattern: str, value: str) -> bool:
    """S3's CORS wildcard: one `*` in an origin or header stands for any characters
    (`*`, `https://*.valohai.com`, `x-amz-*`)."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), value) is not None


def _allows(r: dict[str, Any], want: dict[str, Any]) -> bool:
    """The CORS rule `r` lets the browser make every request of `want` (its origins, methods and
    headers may be wider)."""
    methods = {str(m).upper() for m in r.get("AllowedMethods") or []}
    origins = [str(o) for o in r.get("AllowedOrigins") or []]
    headers = [str(h).lower() for h in r.get("AllowedHeaders") or []]
    return (
        set(want["methods"]) <= methods
        and all(any(_matches(o, origin) for o in origins) for origin in want["origins"])
        and all(any(_matches(h, need.lower()) for h in headers) for need in want.get("headers", []))
    )


@evaluator("bucket_cors_uploads", rules=CORS_RULES)
def bucket_cors_uploads(ctx: Context, rules: list[dict[str, Any]]) -> list[Outcome]:
    """When files are uploaded from Valohai's web UI (data_store.web_uploads), the bucket's CORS
    has the tutorial's rules."""
    b = _bucket(ctx)
    if not _uploads(ctx):
        return [Outcome(SKIP, "applies only when data_store.web_uploads is true; it is not")]
    cors = _part(ctx, b, "cors") or []
    wanted = [ctx.expand(r) for r in rules]
    lacking = [w for w in wanted if not any(_allows(r, w) for r in cors if isinstance(r, dict))]
    said = [f"{'/'.join(w['methods'])} from {', '.join(w['origins'])}" for w in lacking]
    if not lacking:
        return [ok(f"{b['name']}: CORS allows the web UI's uploads", "the tutorial's rules", "present", **_ids(b))]
    return [
        bad(
            f"{b['name']}: CORS does not allow {'; '.join(said)}: uploads from the web UI fail",
            expected="; ".join(f"{'/'.join(w['methods'])} from {', '.join(w['origins'])}" for w in wanted),
            actual=f"{len(cors)} CORS rule(s)",
            **_ids(b),
        )
    ]


@evaluator("bucket_cors_narrow", rules=CORS_RULES)
def bucket_cors_narrow(ctx: Context, rules: list[dict[str, Any]]) -> list[Outcome]:
    """No CORS rule lets a web page write (PUT, POST, DELETE) from an origin the tutorial does not
    name: a wildcard, or another site."""
    b = _bucket(ctx)
    cors = _part(ctx, b, "cors") or []
    wanted = [ctx.expand(r) for r in rules]
    writers = {o for w in wanted if set(w["methods"]) & set(WRITE_METHODS) for o in w["origins"]}
    wide = []
    for i, r in enumerate(cors):
        if not isinstance(r, dict):
            continue
        writes = sorted({str(m).upper() for m in r.get("AllowedMethods") or []} & set(WRITE_METHODS))
        others = [o for o in r.get("AllowedOrigins") or [] if o not in writers]
        if writes and others:
            wide.append(f"{_cors_label(i, r)} allows {'/'.join(writes)} from {', '.join(others)}")
    if not wide:
        return [ok(f"{b['name']}: no CORS rule allows writes from other origins", "none", "(none)", **_ids(b))]
    return [
        bad(
            f"{b['name']}: {'; '.join(wide)}",
            expected=f"writes only from {', '.join(sorted(writers)) or 'no origin'}",
            actual=wide,
            **_ids(b),
        )
    ]


@evaluator("bucket_cors_read_any_origin", why=STR)
def bucket_cors_read_any_origin(ctx: Context, why: str) -> list[Outcome]:
    """No CORS rule lets a page of any origin read (GET, HEAD) the bucket's objects with its
    credentials: a browser then hands any site the answers to what it signs."""
    b = _bucket(ctx)
    cors = _part(ctx, b, "cors") or []
    wide = []
    for i, r in enumerate(cors):
        if not isinstance(r, dict):
            continue
        reads = sorted({str(m).upper() for m in r.get("AllowedMethods") or []} & {"GET", "HEAD"})
        if reads and "*" in (r.get("AllowedOrigins") or []):
            wide.append(f"{_cors_label(i, r)} allows {'/'.join(reads)} from any origin (*)")
    if not wide:
        return [ok(f"{b['name']}: no CORS rule allows reads from any origin", "named origins", "none", **_ids(b))]
    return [bad(f"{b['name']}: {'; '.join(wide)}: {why}", "reads from named origins", wide, **_ids(b))]


@evaluator("bucket_cors_unused")
def bucket_cors_unused(ctx: Context) -> list[Outcome]:
    """When files are not uploaded from the web UI, the bucket needs no CORS."""
    b = _bucket(ctx)
    if _uploads(ctx):
        return [Outcome(SKIP, "data_store.web_uploads is true: the web UI needs CORS")]
    cors = _part(ctx, b, "cors") or []
    if not cors:
        return [ok(f"{b['name']}: no CORS configuration", "none", "(none)", **_ids(b))]
    return [
        bad(
            f"{b['name']}: {len(cors)} CORS rule(s) although data_store.web_uploads is not true",
            expected="no CORS (or web_uploads: true)",
            actual=f"{len(cors)} rule(s)",
            **_ids(b),
        )
    ]
