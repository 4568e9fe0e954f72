"""S3 fixers: the data store's bucket, the one the params name (no other bucket is ever touched,
nothing is ever deleted: a bucket, an object, a policy statement or a CORS rule).

Each fix is registered in FIXERS by the name the rules give it (`fixer:` in rules/*.yaml). S3's
Put calls replace a whole setting (the policy, the CORS rules, the lifecycle rules, the tags), so
each fix writes what the bucket has plus what is missing; removing a CORS rule is a step of its own
that needs a decision (--tighten)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from validator.fixers.builder import Builder
from validator.fixers.plan import DECIDE, FIX
from validator.kinds import KINDS, VALUES
from validator.rulepack import Rule

BPA = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
SSE_S3 = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
TLS_SID = "DenyInsecureTransport"
ABORT_ID = "abort-incomplete-multipart-uploads"
ABORT_AFTER_DAYS = 7
WRITE_METHODS = ("PUT", "POST", "DELETE")


def _name(b: Builder, kind: str) -> str:
    return KINDS[kind].named(b.params) or KINDS[kind].name


def _tls_statement(arn: str, sid: str) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _cors_rule(want: dict[str, Any]) -> dict[str, Any]:
    rule: dict[str, Any] = {"AllowedMethods": list(want["methods"]), "AllowedOrigins": list(want["origins"])}
    if want.get("headers"):
        rule["AllowedHeaders"] = list(want["headers"])
    if want.get("max_age") is not None:
        rule["MaxAgeSeconds"] = want["max_age"]
    return rule


def _cors_wanted(b: Builder, kind: str) -> list[dict[str, Any]]:
    """The tutorial's CORS rules, as the CORS rules of the pack give them (the first that does)."""
    for rule in b.named("cors", kind):
        if "rules" in rule.args:
            return [_cors_rule(w) for w in b.ctx(kind).expand(rule.args["rules"])]
    return []


def _uploads(b: Builder) -> bool:
    return bool((b.params.get("data_store") or {}).get("web_uploads"))


# ------------------------------------------------------------------ the steps, for a bucket by name
def _bpa(b: Builder, rule: str, kind: str, name: str) -> None:
    b.add(
        rule,
        kind,
        "s3.put_public_access_block",
        {"Bucket": name, "PublicAccessBlockConfiguration": dict(BPA)},
        f"turn on all four Block Public Access settings of {name}",
        resource=name,
    )


def _encryption(b: Builder, rule: str, kind: str, name: str) -> None:
    b.add(
        rule,
        kind,
        "s3.put_bucket_encryption",
        {"Bucket": name, "ServerSideEncryptionConfiguration": SSE_S3},
        f"set default encryption of {name} to SSE-S3 (AES256)",
        resource=name,
    )


def _policy_with_tls(b: Builder, rule: str, kind: str, name: str, policy: Any) -> None:
    arn = f"arn:{b.snap.partition}:s3:::{name}"
    doc = {"Version": "2012-10-17", "Statement": []} if policy is None else json.loads(json.dumps(policy))
    statements = doc.get("Statement")
    statements = statements if isinstance(statements, list) else [statements] if statements else []
    sids = {s.get("Sid") for s in statements if isinstance(s, dict)}
    sid = TLS_SID if TLS_SID not in sids else f"{TLS_SID}Vhv"
    doc["Statement"] = [*statements, _tls_statement(arn, sid)]
    kept = f", keeping its {len(statements)} statement(s)" if statements else ""
    b.add(
        rule,
        kind,
        "s3.put_bucket_policy",
        {"Bucket": name, "Policy": json.dumps(doc, separators=(",", ":"))},
        f"add {sid} to the bucket policy of {name} (deny requests without TLS){kept}",
        resource=name,
    )


def _versioning(b: Builder, rule: str, kind: str, name: str, risk: str) -> None:
    b.add(
        rule,
        kind,
        "s3.put_bucket_versioning",
        {"Bucket": name, "VersioningConfiguration": {"Status": "Enabled"}},
        f"enable versioning of {name} (it can be suspended later, never turned off; old versions are billed)",
        risk=risk,
        resource=name,
    )


def _lifecycle(b: Builder, rule: str, kind: str, name: str, rules: list[dict[str, Any]]) -> None:
    new = {
        "ID": ABORT_ID,
        "Status": "Enabled",
        "Filter": {},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_AFTER_DAYS},
    }
    kept = f", keeping its {len(rules)} rule(s)" if rules else ""
    b.add(
        rule,
        kind,
        "s3.put_bucket_lifecycle_configuration",
        {"Bucket": name, "LifecycleConfiguration": {"Rules": [*rules, new]}},
        f"add a lifecycle rule to {name} that aborts incomplete multipart uploads after {ABORT_AFTER_DAYS} days{kept}",
        resource=name,
    )


def _tags(b: Builder, rule: str, kind: str, name: str, have: dict[str, str], key: str, value: str) -> None:
    kept = [{"Key": k, "Value": v} for k, v in have.items() if k != key]
    b.add(
        rule,
        kind,
        "s3.put_bucket_tagging",
        {"Bucket": name, "Tagging": {"TagSet": [*kept, {"Key": key, "Value": value}]}},
        f"tag {name} {key}={value}" + (f", keeping its {len(kept)} other tag(s)" if kept else ""),
        resource=name,
    )


def _put_cors(
    b: Builder, rule: str, kind: str, name: str, rules: list[dict[str, Any]], summary: str, risk: str
) -> None:
    b.add(
        rule,
        kind,
        "s3.put_bucket_cors",
        {"Bucket": name, "CORSConfiguration": {"CORSRules": rules}},
        summary,
        risk=risk,
        resource=name,
    )


# ------------------------------------------------------------------ the fixes
def _each(b: Builder, kind: str, rules: list[Rule], step: Callable[[Rule, dict[str, Any]], None]) -> None:
    """`step` for each failing rule, on the bucket as read; by hand when it was not read."""
    bucket = b.existing(kind)
    for rule in rules:
        for f in b.fails(rule):
            if bucket is None:
                b.manual(rule.id, kind, f"{f.message}. {f.fix}".strip(), resource=f.resource_name)
            else:
                step(rule, bucket)


def create(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The bucket, in the params' region, with every setting the data-store rules ask for."""
    for rule in rules:
        if not b.fails(rule) or b.found_elsewhere(rule, kind):
            continue
        name, region = _name(b, kind), b.params.region
        conf = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        b.add(rule.id, kind, "s3.create_bucket", {"Bucket": name, **conf}, f"create {name} in {region}", resource=name)
        _bpa(b, rule.id, kind, name)
        _encryption(b, rule.id, kind, name)
        _policy_with_tls(b, rule.id, kind, name, None)
        _versioning(b, rule.id, kind, name, FIX)
        _lifecycle(b, rule.id, kind, name, [])
        if _uploads(b):
            wanted = _cors_wanted(b, kind)
            if wanted:
                _put_cors(b, rule.id, kind, name, wanted, f"set the tutorial's CORS rules on {name}", FIX)
        _tags(b, rule.id, kind, name, {}, VALUES.tag_key, VALUES.tag_value)


def block_public_access(b: Builder, kind: str, rules: list[Rule]) -> None:
    _each(b, kind, rules, lambda rule, bucket: _bpa(b, rule.id, kind, bucket["name"]))


def encryption(b: Builder, kind: str, rules: list[Rule]) -> None:
    _each(b, kind, rules, lambda rule, bucket: _encryption(b, rule.id, kind, bucket["name"]))


def tls_only(b: Builder, kind: str, rules: list[Rule]) -> None:
    def step(rule: Rule, bucket: dict[str, Any]) -> None:
        policy = bucket.get("policy")
        if policy is not None and not isinstance(policy, dict):  # not JSON: vhv does not rewrite it
            b.manual(rule.id, kind, f"the bucket policy of {bucket['name']} is not a JSON document. {rule.fix}")
            return
        _policy_with_tls(b, rule.id, kind, bucket["name"], policy)

    _each(b, kind, rules, step)


def versioning(b: Builder, kind: str, rules: list[Rule]) -> None:
    _each(b, kind, rules, lambda rule, bucket: _versioning(b, rule.id, kind, bucket["name"], DECIDE))


def abort_multipart(b: Builder, kind: str, rules: list[Rule]) -> None:
    def step(rule: Rule, bucket: dict[str, Any]) -> None:
        have = [r for r in bucket.get("lifecycle") or [] if isinstance(r, dict) and r.get("ID") != ABORT_ID]
        _lifecycle(b, rule.id, kind, bucket["name"], have)

    _each(b, kind, rules, step)


def cors(b: Builder, kind: str, rules: list[Rule]) -> None:
    """The tutorial's rules added when uploads need them (the bucket's others kept); then, as a step
    that needs a decision, the rules that let other origins write removed."""
    bucket = b.existing(kind)
    failing = [(rule, b.fails(rule)) for rule in rules]
    failing = [(rule, found) for rule, found in failing if found]
    if not failing:
        return
    if bucket is None:
        for rule, found in failing:
            for f in found:
                b.manual(rule.id, kind, f"{f.message}. {f.fix}".strip(), resource=f.resource_name)
        return
    name, have = bucket["name"], [r for r in bucket.get("cors") or [] if isinstance(r, dict)]
    wanted = _cors_wanted(b, kind)
    writers = {o for w in wanted if set(w["AllowedMethods"]) & set(WRITE_METHODS) for o in w["AllowedOrigins"]}
    now = list(have)
    for rule, _found in failing:
        if rule.wider:
            continue
        missing = [w for w in wanted if w not in now]
        if missing:
            now = [*now, *missing]
            _put_cors(b, rule.id, kind, name, now, f"add the tutorial's {len(missing)} CORS rule(s) to {name}", FIX)
    for rule, _found in failing:
        if not rule.wider:
            continue
        kept = [
            r
            for r in now
            if not (
                {str(m).upper() for m in r.get("AllowedMethods") or []} & set(WRITE_METHODS)
                and [o for o in r.get("AllowedOrigins") or [] if o not in writers]
            )
        ]
        gone = len(now) - len(kept)
        if kept:
            _put_cors(
                b, rule.id, kind, name, kept, f"remove {gone} CORS rule(s) of {name} that let other sites write", DECIDE
            )
        else:
            b.add(
                rule.id,
                kind,
                "s3.delete_bucket_cors",
                {"Bucket": name},
                f"remove the CORS configuration of {name}: each of its {gone} rule(s) lets other sites write",
                risk=DECIDE,
                resource=name,
            )


def tag(b: Builder, kind: str, rules: list[Rule]) -> None:
    """Each failing `tag` rule's tag (args key and value) on the bucket, keeping its other tags."""

    def step(rule: Rule, bucket: dict[str, Any]) -> None:
        if bucket.get("tags") is None:  # the tags could not be read: a Put would drop them
            b.manual(rule.id, kind, f"the tags of {bucket['name']} could not be read. {rule.fix}")
            return
        _tags(b, rule.id, kind, bucket["name"], bucket["tags"], rule.args["key"], rule.args["value"])

    _each(b, kind, rules, step)


FIXERS: dict[str, Callable[[Builder, str, list[Rule]], None]] = {
    "create": create,
    "block-public-access": block_public_access,
    "encryption": encryption,
    "tls-only": tls_only,
    "versioning": versioning,
    "abort-multipart": abort_multipart,
    "cors": cors,
    "tag": tag,
}

# the order the planner runs these fixes in: Block Public Access before anything else is written
ORDER: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("data_bucket",),
        ("create", "block-public-access", "encryption", "tls-only", "versioning", "abort-multipart", "cors", "tag"),
    ),
)
