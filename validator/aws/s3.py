"""S3: the data store's bucket, read by the name the params give it (never by listing the account).

Every part of the bucket is asked for at once. S3 says "not configured" with an error (no policy,
no CORS, no lifecycle, no encryption, no tags, no Block Public Access): that is data here, kept as
null (or an empty list). A part whose read failed otherwise is recorded under `buckets.<part>`, and
the rules that need it are `error`.
"""

from __future__ import annotations

from typing import Any

from validator.aws.reader import Read, Reader
from validator.aws.recorder import FAILED, NOT_FOUND, Reading, json_or_text, tags
from validator.kinds import Kind

# S3's location constraint -> the region (none is us-east-1; EU is eu-west-1's oldest name)
LEGACY_LOCATIONS = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}
AWS_S3_KEY = "alias/aws/s3"  # the key SSE-KMS uses when the bucket names none: AWS manages it
BPA_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _bpa(answer: Any) -> dict[str, bool] | None:
    """Block Public Access as four booleans (None: not configured, which is all four off)."""
    if answer is NOT_FOUND:
        return None
    conf = answer.get("PublicAccessBlockConfiguration") or {}
    return {k: bool(conf.get(k)) for k in BPA_KEYS}


def _policy(answer: Any) -> Any:
    """The bucket policy as a document (None: there is none; the text when it is not JSON)."""
    if answer is NOT_FOUND:
        return None
    return json_or_text(answer.get("Policy") or "")


def read_bucket(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """The bucket's region and every setting the rules judge; `buckets` holds it, or nothing when
    there is no bucket of that name."""
    [kind] = kinds
    s3, rec, path = r.clients["s3"], r.rec, kind.snapshot
    name = kind.named(r.params)
    account = rec.snap.account_id

    def part(key: str, action: str, fn: Any) -> Any:
        return lambda: rec.call(f"{path}.{key}", action, fn)

    reads = {
        "location": part("location", "s3:GetBucketLocation", lambda: s3.get_bucket_location(Bucket=name)),
        "public_access_block": part(
            "public_access_block", "s3:GetBucketPublicAccessBlock", lambda: s3.get_public_access_block(Bucket=name)
        ),
        "account_public_access_block": part(
            "account_public_access_block",
            "s3:GetAccountPublicAccessBlock",
            lambda: r.clients["s3control"].get_public_access_block(AccountId=account),
        ),
        "policy_status": part(
            "policy_status", "s3:GetBucketPolicyStatus", lambda: s3.get_bucket_policy_status(Bucket=name)
        ),
        "policy": part("policy", "s3:GetBucketPolicy", lambda: s3.get_bucket_policy(Bucket=name)),
        "acl": part("acl", "s3:GetBucketAcl", lambda: s3.get_bucket_acl(Bucket=name)),
        "encryption": part(
            "encryption", "s3:GetEncryptionConfiguration", lambda: s3.get_bucket_encryption(Bucket=name)
        ),
        "versioning": part("versioning", "s3:GetBucketVersioning", lambda: s3.get_bucket_versioning(Bucket=name)),
        "lifecycle": part(
            "lifecycle", "s3:GetLifecycleConfiguration", lambda: s3.get_bucket_lifecycle_configuration(Bucket=name)
        ),
        "cors": part("cors", "s3:GetBucketCORS", lambda: s3.get_bucket_cors(Bucket=name)),
        "tags": part("tags", "s3:GetBucketTagging", lambda: s3.get_bucket_tagging(Bucket=name)),
    }
    got = dict(zip(reads, rec.together(*reads.values())))
    location = got["location"]
    if location is FAILED:  # every rule of the bucket is error, with the reason the read gave
        why = rec.snap.errors.get(f"{path}.location", "s3:GetBucketLocation failed")
        rec.forget(path)
        rec.fail(path, why)
        return
    if location is NOT_FOUND:
        rec.forget(path)  # the parts of a bucket that is not there
        rec.put(path, [])
        return
    failed = {key for key, value in got.items() if value is FAILED}  # recorded under buckets.<key>
    bucket = _bucket(rec.snap.partition, name, got, failed)
    key_id = _kms_key_id(got["encryption"])
    if key_id is not None:  # only a bucket encrypted with KMS costs these reads
        bucket["kms_key"] = _read_key(r, f"{path}.kms_key", key_id)
    rec.put(path, [bucket])


def _kms_key_id(answer: Any) -> str | None:
    """The KMS key the bucket's default encryption names (S3's own key, aws/s3, when it names
    none); None when the default encryption is not SSE-KMS, or was not read."""
    if answer is FAILED or answer is NOT_FOUND:
        return None
    for rule in answer.get("ServerSideEncryptionConfiguration", {}).get("Rules") or []:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if str(default.get("SSEAlgorithm") or "").startswith("aws:kms"):  # aws:kms, aws:kms:dsse
            return default.get("KMSMasterKeyID") or AWS_S3_KEY
    return None


def _read_key(r: Reading, path: str, key_id: str) -> dict[str, Any] | None:
    """The key as the rules judge it: whether it exists, its state, who manages it and, for a key
    the customer manages, its key policy. None when a read failed (recorded under `path`)."""
    kms, rec = r.clients["kms"], r.rec
    meta = rec.call(path, "kms:DescribeKey", lambda: kms.describe_key(KeyId=key_id))
    if meta is FAILED:
        return None
    if meta is NOT_FOUND:
        return {"id": key_id, "exists": False}
    m = meta.get("KeyMetadata") or {}
    key = {
        "id": key_id,
        "exists": True,
        "arn": m.get("Arn"),
        "state": m.get("KeyState"),
        # the alias aws/s3 is always AWS's key for S3 (moto's DescribeKey calls it CUSTOMER)
        "manager": "AWS" if key_id.endswith(AWS_S3_KEY) else m.get("KeyManager"),
        "policy": None,
    }
    if key["manager"] == "CUSTOMER":  # AWS's own keys (aws/s3) let every principal of the account use them via S3
        got = rec.call(
            path, "kms:GetKeyPolicy", lambda: kms.get_key_policy(KeyId=m.get("Arn") or key_id, PolicyName="default")
        )
        if got is FAILED:
            return None
        key["policy"] = None if got is NOT_FOUND else _policy(got)
    return key


def _bucket(partition: str, name: str, got: dict[str, Any], failed: set[str]) -> dict[str, Any]:
    def have(key: str, shape: Any) -> Any:
        return None if key in failed else shape(got[key])

    location = got["location"].get("LocationConstraint")
    return {
        "name": name,
        "arn": f"arn:{partition}:s3:::{name}",
        "region": LEGACY_LOCATIONS.get(location, location),
        "public_access_block": have("public_access_block", _bpa),
        "account_public_access_block": have("account_public_access_block", _bpa),
        "policy_public": have(
            "policy_status", lambda a: False if a is NOT_FOUND else bool(a.get("PolicyStatus", {}).get("IsPublic"))
        ),
        "policy": have("policy", _policy),
        "acl_grants": have("acl", lambda a: [] if a is NOT_FOUND else a.get("Grants") or []),
        "encryption": have(
            "encryption",
            lambda a: None if a is NOT_FOUND else a.get("ServerSideEncryptionConfiguration", {}).get("Rules") or [],
        ),
        "versioning": have("versioning", lambda a: None if a is NOT_FOUND else a.get("Status")),
        "lifecycle": have("lifecycle", lambda a: [] if a is NOT_FOUND else a.get("Rules") or []),
        "cors": have("cors", lambda a: [] if a is NOT_FOUND else a.get("CORSRules") or []),
        "tags": have("tags", lambda a: {} if a is NOT_FOUND else tags(a.get("TagSet"))),
    }


# the catalogue's `reader: s3.NAME`
READERS = {"bucket": Reader("s3", Read(read_bucket), each=True, also=("s3control", "kms"))}
