"""`vhv lint` on S3 bucket policies (resource policies): an Allow to everyone that no
condition narrows is lint-public-principal; the usual bucket policy shapes, and the Deny
that refuses requests without TLS, give no finding; a bucket policy is not judged as a
role's trust policy; `lint_bucket_policy` for the live policy; the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from validator.cli import main
from validator.policy.lint import lint_bucket_policy, lint_document, lint_text

V = "2012-10-17"
BUCKET = "arn:aws:s3:::acme-valohai-data"
BOTH = [BUCKET, f"{BUCKET}/*"]
USER = "arn:aws:iam::123456789012:user/valohai-data-store"
TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": BOTH,
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def pol(*statements: dict) -> dict:
    return {"Version": V, "Statement": list(statements)}


def allow(principal: object = "*", action: object = "s3:GetObject", resource: object = None, **more: object) -> dict:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource or f"{BUCKET}/*", **more}


def lint(doc: dict) -> list:
    return lint_text(json.dumps(doc, indent=2), "bucket-policy.json")


def found(doc: dict) -> list[tuple[str, str]]:
    return [(f.rule_id, f.message) for f in lint(doc)]


# ------------------------------------------------------------------ an Allow to everyone

NO_CONDITION = "no Condition narrows who may call"
NOT_NARROWING = "does not narrow who may call"
ANYONE = "allows anyone (every AWS account, and anonymous callers on the internet)"

# (principal, condition, the pointer of the finding, words of its message)
PUBLIC = {
    'Principal "*"': ("*", None, "/Statement/0/Principal", f'"Principal": "*" {ANYONE} \'s3:GetObject\' on '),
    'AWS "*"': ({"AWS": "*"}, None, "/Statement/0/Principal/AWS", '"Principal": {"AWS": "*"} allows anyone'),
    '"*" in a list of AWS principals': (
        {"AWS": [USER, "*"]},
        None,
        "/Statement/0/Principal/AWS/1",
        '"Principal": {"AWS": [..., "*", ...]} allows anyone',
    ),
    "TLS says nothing of who calls": (
        "*",
        {"Bool": {"aws:SecureTransport": "true"}},
        "/Statement/0/Principal",
        f"its Condition (Bool aws:SecureTransport) {NOT_NARROWING}",
    ),
    "a Referer anyone can send": (
        "*",
        {"StringLike": {"aws:Referer": "https://example.com/*"}},
        "/Statement/0/Principal",
        f"its Condition (StringLike aws:Referer) {NOT_NARROWING}",
    ),
    "IfExists holds when the key is absent": (
        "*",
        {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
        "/Statement/0/Principal",
        NOT_NARROWING,
    ),
    "ForAllValues holds when the key is absent": (
        "*",
        {"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*"}},
        "/Statement/0/Principal",
        NOT_NARROWING,
    ),
    "a negated operator lets every other account in": (
        "*",
        {"StringNotEquals": {"aws:PrincipalAccount": "123456789012"}},
        "/Statement/0/Principal",
        NOT_NARROWING,
    ),
    "a bare * as the account": ("*", {"StringEquals": {"aws:PrincipalAccount": "*"}}, "/Statement/0/Principal", ""),
    "any VPC endpoint": ("*", {"StringLike": {"aws:SourceVpce": "vpce-*"}}, "/Statement/0/Principal", ""),
    "any organisation's path": (
        "*",
        {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-*/r-ab12/*"}},
        "/Statement/0/Principal",
        "",
    ),
    "the whole internet by address": ("*", {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, "/Statement/0/Principal", ""),
    "one of the addresses is the whole internet": (
        "*",
        {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "::/0"]}},
        "/Statement/0/Principal",
        "",
    ),
    "a role of any account": (
        "*",
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/valohai"}},
        "/Statement/0/Principal",
        "",
    ),
    "any source ARN": ("*", {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}, "/Statement/0/Principal", ""),
}


@pytest.mark.parametrize("principal,condition,pointer,words", list(PUBLIC.values()), ids=list(PUBLIC))
def test_an_allow_to_everyone_that_no_condition_narrows_is_a_security_finding(principal, condition, pointer, words):
    more = {"Condition": condition} if condition else {}
    findings = lint(pol(TLS_ONLY, allow(principal, **more)))
    assert [(f.rule_id, f.severity, f.status) for f in findings] == [("lint-public-principal", "critical", "fail")]
    [f] = findings
    assert f.pointer == pointer.replace("/0/", "/1/") and f.resource_type == "resource policy"
    assert ANYONE in f.message and words in f.message
    assert (NO_CONDITION in f.message) == (condition is None)
    assert "aws:PrincipalAccount" in f.expected and f.actual == "*"


def test_the_message_names_the_actions_and_resources_shortly() -> None:
    actions = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:GetObjectTagging"]
    [(rule, message)] = found(pol(allow("*", actions, BOTH)))
    assert rule == "lint-public-principal"
    assert "'s3:GetObject', 's3:PutObject', 's3:ListBucket' and 2 more on " in message
    assert f"on '{BUCKET}', '{BUCKET}/*'; {NO_CONDITION}" in message


# ------------------------------------------------------------------ conditions that narrow, and the Deny to everyone

NARROWED = {
    "account": {"StringEquals": {"aws:PrincipalAccount": "123456789012"}},
    "organisation": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
    "organisation path": {
        "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"}
    },
    "role of the account": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/*"}},
    "role's sessions by unique id": {"StringLike": {"aws:userid": "AROAEXAMPLEID:*"}},
    "VPC": {"StringEquals": {"aws:SourceVpc": "vpc-111bbb22"}},
    "VPC endpoint": {"StringEquals": {"aws:SourceVpce": ["vpce-1a2b3c4d", "vpce-5e6f7a8b"]}},
    "office network": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}},
    "source bucket": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::source-bucket"}},
    "source account": {"StringEquals": {"aws:SourceAccount": "123456789012"}},
    "access point account": {"StringEquals": {"s3:DataAccessPointAccount": "123456789012"}},
    "an account id written as a number": {"StringEquals": {"aws:PrincipalAccount": 123456789012}},
    "a key written in another case": {"StringEquals": {"aws:principalaccount": "123456789012"}},
    "one block narrows, the other does not": {
        "Bool": {"aws:SecureTransport": "true"},
        "StringEquals": {"aws:PrincipalAccount": "123456789012"},
    },
}


@pytest.mark.parametrize("condition", list(NARROWED.values()), ids=list(NARROWED))
def test_an_allow_to_everyone_narrowed_by_a_condition_gives_no_finding(condition) -> None:
    assert found(pol(TLS_ONLY, allow("*", Condition=condition))) == []


def test_the_deny_that_refuses_requests_without_tls_gives_no_finding() -> None:
    assert found(pol(TLS_ONLY)) == []
    assert found(pol({**TLS_ONLY, "Principal": {"AWS": "*"}})) == []


def test_the_usual_bucket_policy_shapes_give_no_finding() -> None:
    doc = {
        "Version": V,
        "Id": "ValohaiDataStore",
        "Statement": [
            TLS_ONLY,
            allow({"AWS": USER}, "s3:*", BOTH, Sid="ValohaiUser"),
            allow({"AWS": "123456789012"}, ["s3:GetObject", "s3:ListBucket"], BOTH, Sid="OwnAccount"),
            allow(
                {"Service": "logging.s3.amazonaws.com"},
                "s3:PutObject",
                f"{BUCKET}/logs/*",
                Sid="ServerAccessLogs",
                Condition={
                    "ArnLike": {"aws:SourceArn": "arn:aws:s3:::source-bucket"},
                    "StringEquals": {"aws:SourceAccount": "123456789012"},
                },
            ),
            allow(
                {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
                "s3:GetObject",
                Sid="CanonicalUser",
            ),
        ],
    }
    assert found(doc) == []


def test_a_bucket_policy_is_not_judged_as_a_roles_trust_policy() -> None:
    """Principal, Resource and an S3 action: a resource policy (neither lint-trust-action nor
    'a trust policy statement takes no Resource'); its statements need a Principal all the same."""
    doc = pol(allow({"AWS": USER}, "s3:*", BOTH), {"Effect": "Allow", "Action": "s3:*", "Resource": BOTH})
    findings = lint(doc)
    assert [(f.rule_id, f.pointer, f.message) for f in findings] == [
        ("lint-trust-missing-principal", "/Statement/1", 'resource policy statement #2 has no "Principal"')
    ]
    assert findings[0].resource_type == "resource policy"


def test_a_trust_policy_with_a_stray_resource_is_still_a_trust_policy() -> None:
    doc = pol(allow({"Service": "ec2.amazonaws.com"}, "sts:AssumeRole", "*"))
    assert found(doc) == [("lint-unknown-key", "a trust policy statement takes no 'Resource'")]


def test_a_public_principal_in_a_trust_policy_stays_a_trust_finding() -> None:
    doc = pol({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})
    assert [r for r, _ in found(doc)] == ["lint-trust-principal-star"]


# ------------------------------------------------------------------ the function `vhv check` calls on the live policy


def test_lint_bucket_policy_judges_the_document_as_a_bucket_policy() -> None:
    public = pol(TLS_ONLY, allow("*"))
    [issue] = lint_bucket_policy(public)
    assert (issue.rule, issue.pointer, issue.actual) == ("lint-public-principal", "/Statement/1/Principal", "*")
    assert issue.message.startswith(f'"Principal": "*" {ANYONE} \'s3:GetObject\'')
    assert lint_bucket_policy(pol(TLS_ONLY, allow({"AWS": USER}, "s3:*", BOTH))) == []
    # whatever the statements look like: without a Principal it is still a bucket policy
    bare = pol({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*"})
    assert lint_document(bare) == []
    assert [(i.rule, i.message) for i in lint_bucket_policy(bare)] == [
        ("lint-trust-missing-principal", 'resource policy statement #1 has no "Principal"')
    ]


# ------------------------------------------------------------------ the command line


def test_cli_lint_of_a_public_bucket_policy_is_exit_1_naming_the_statement(tmp_path) -> None:
    path = tmp_path / "bucket-policy.json"
    path.write_text(json.dumps(pol(TLS_ONLY, allow("*")), indent=2))
    proc = subprocess.run(
        [sys.executable, "-m", "validator", "lint", str(path)], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f'{path}:21:20: security[lint-public-principal]: "Principal": "*" {ANYONE}'), first
    assert proc.stdout.rstrip().endswith("1 finding(s) (1 security): exit 1")


def test_cli_lint_of_a_private_bucket_policy_is_exit_0(tmp_path, capsys) -> None:
    path = tmp_path / "bucket-policy.json"
    path.write_text(json.dumps(pol(TLS_ONLY, allow({"AWS": USER}, "s3:*", BOTH))))
    assert main(["lint", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["findings"] == []
    path.write_text(json.dumps(pol(allow({"AWS": "*"}))))
    assert main(["lint", str(path), "--format", "json"]) == 1
    [f] = json.loads(capsys.readouterr().out)["findings"]
    assert (f["rule_id"], f["severity"], f["status"], f["pointer"]) == (
        "lint-public-principal",
        "critical",
        "fail",
        "/Statement/0/Principal/AWS",
    )
