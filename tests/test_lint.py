"""`vhv lint`: each check fires on a policy that has the problem (with the words
and, for some, the line and column) and stays quiet on one that does not; the CLI's
exit codes, stdin, JSON contract and suppressions."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from validator import guide
from validator.cli import main
from validator.policy.lint import lint_text
from validator.policy.lintmodel import docs

V = "2012-10-17"


def pol(*statements: dict, **top: object) -> dict:
    return {"Version": V, "Statement": list(statements), **top}


def st(action: object = "ec2:DescribeInstances", resource: object = "*", **more: object) -> dict:
    out: dict = {"Effect": "Allow", "Action": action, "Resource": resource}
    out.update(more)
    return {k: v for k, v in out.items() if v is not None}


def trust(principal: object, action: object = "sts:AssumeRole", **more: object) -> dict:
    return pol({"Effect": "Allow", "Principal": principal, "Action": action, **more})


def bucket(principal: object, action: object = "s3:GetObject", **more: object) -> dict:
    """An S3 bucket policy: a Principal, a Resource and an S3 action make it a resource policy."""
    return pol({"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "arn:aws:s3:::b/*", **more})


ROLE = "arn:aws:iam::123456789012:role/ValohaiWorkerRole"
TAG = {"StringEquals": {"aws:ResourceTag/Valohai": "1"}}

# (check id, broken policy, words the message must contain, a clean neighbour)
CASES = [
    ("lint-policy-size", pol(*[st()] * 200), "IAM accepts at most 10,240", pol(st())),
    (
        "lint-check-skipped",
        pol(*[st("ec2:DescribeInstancez")] * 1001),
        "more lint-unknown-action finding(s) from here on are not listed",
        pol(st()),
    ),
    ("lint-missing-version", {"Statement": [st()]}, 'no "Version"', pol(st())),
    ("lint-old-version", {"Version": "2008-10-17", "Statement": [st()]}, "2008-10-17", pol(st())),
    ("lint-statement-shape", {"Version": V, "Statement": "ec2:DescribeInstances"}, "a string", pol(st())),
    ("lint-statement-shape", {"Version": V, "Statement": [st(), "x"]}, "statement #2 is a string", pol(st())),
    ("lint-unknown-key", {"Version": V, "Statment": [st()]}, "'Statment'", pol(st())),
    (
        "lint-unknown-key",
        pol({"Effect": "Allow", "Actions": "ec2:DescribeInstances", "Action": "ec2:DescribeVpcs", "Resource": "*"}),
        "'Actions'",
        pol(st()),
    ),
    ("lint-effect", pol(st(Effect="allow")), '"allow"', pol(st(Effect="Deny"))),
    ("lint-effect", pol({"Action": "ec2:DescribeInstances", "Resource": "*"}), 'no "Effect"', pol(st())),
    ("lint-action-element", pol(st(NotAction="ec2:RunInstances")), "both 'Action' and 'NotAction'", pol(st())),
    ("lint-action-element", pol({"Effect": "Allow", "Resource": "*"}), "neither 'Action' nor 'NotAction'", pol(st())),
    ("lint-resource-element", pol(st(NotResource=ROLE)), "both 'Resource' and 'NotResource'", pol(st())),
    ("lint-resource-element", pol(st(resource=None)), "neither 'Resource' nor 'NotResource'", pol(st())),
    (
        "lint-duplicate-sid",
        pol(st(Sid="A"), st("ec2:DescribeVpcs", Sid="A")),
        "Sid 'A'",
        pol(st(Sid="A"), st("ec2:DescribeVpcs", Sid="B")),
    ),
    ("lint-sid-format", pol(st(Sid="allow-describe")), "'allow-describe'", pol(st(Sid="AllowDescribe"))),
    ("lint-value-type", pol(st([["ec2:DescribeInstances"]])), "a list, not a string", pol(st())),
    ("lint-unknown-service", pol(st("ecc2:DescribeInstances")), "'ecc2'", pol(st("ec2:DescribeInstances"))),
    ("lint-unknown-action", pol(st("ec2:DescribeInstancez")), "'ec2:DescribeInstancez'", pol(st())),
    ("lint-pattern-matches-nothing", pol(st("ec2:Descibe*")), "'ec2:Descibe*'", pol(st("ec2:Describe*"))),
    (
        "lint-retired-action",
        pol(st("iotevents:DescribeDetectorModel")),
        "'iotevents' is retired",
        pol(st("iot:DescribeThing")),
    ),
    (
        "lint-retired-action",
        pol(st("cloudhsm:DescribeHapg")),
        "'cloudhsm:DescribeHapg' is retired",
        pol(st("cloudhsm:DescribeClusters")),
    ),
    ("lint-action-format", pol(st("ec2-DescribeInstances")), "not an action", pol(st())),
    (
        "lint-unknown-operator",
        pol(st(Condition={"StringEqual": {"aws:RequestedRegion": "eu-west-1"}})),
        "'StringEqual'",
        pol(st(Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})),
    ),
    (
        "lint-unknown-condition-key",
        pol(st(Condition={"StringEquals": {"aws:RequestedRegio": "eu-west-1"}})),
        "'aws:RequestedRegio'",
        pol(st(Condition={"StringEquals": {"aws:requestedregion": "eu-west-1"}})),
    ),
    (
        "lint-unknown-condition-key",
        pol(st(Condition={"StringEquals": {"ec2:InstanceTipe": "t3.medium"}})),
        "'ec2:InstanceTipe'",
        pol(st("ec2:RunInstances", Condition={"StringEquals": {"ec2:InstanceType": "t3.medium"}})),
    ),
    (
        "lint-condition-key-unsupported",
        pol(st(Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})),
        "'iam:PassedToService'",
        pol(st("iam:PassRole", ROLE, Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}})),
    ),
    (
        "lint-condition-key-unsupported",
        pol(st(Condition=TAG)),
        "'aws:ResourceTag/Valohai'",
        pol(st("ec2:RunInstances", Condition=TAG)),
    ),
    (
        "lint-condition-key-unsupported",
        pol(st("secretsmanager:GetSecretValue", Condition={"StringEquals": {"secretsmanager:Name": "db"}})),
        "'secretsmanager:Name' is set only for secretsmanager:CreateSecret, not for any action of this statement",
        pol(st("secretsmanager:CreateSecret", Condition={"StringEquals": {"secretsmanager:Name": "db"}})),
    ),
    # a service key the reference lists for other actions of the service: s3:prefix is ListBucket's, not GetObject's
    (
        "lint-condition-key-unsupported",
        pol(st("s3:GetObject", "arn:aws:s3:::acme/*", Condition={"StringLike": {"s3:prefix": "home/*"}})),
        "'s3:prefix' is set only for s3:ListBucket and s3:ListBucketVersions, not for any action of this statement (s3:GetObject)",
        pol(st("s3:ListBucket", "arn:aws:s3:::acme", Condition={"StringLike": {"s3:prefix": "home/*"}})),
    ),
    # a key the reference lists for no action of its service: the reference may lag, so a warning
    (
        "lint-condition-key-unlisted",
        pol(
            st(
                "iottwinmaker:GetWorkspace",
                Condition={"ForAnyValue:StringEquals": {"iottwinmaker:linkedServices": "IOTSITEWISE"}},
            )
        ),
        "'iottwinmaker:linkedServices' is not listed",
        pol(st("iottwinmaker:GetWorkspace")),
    ),
    (
        "lint-operator-type-mismatch",
        pol(st(Condition={"StringNotEquals": {"aws:SourceIp": "203.0.113.0/24"}})),
        "StringNotEquals compares 'aws:SourceIp' as text, but aws:SourceIp is an IP address",
        pol(st(Condition={"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}})),
    ),
    (
        "lint-condition-value",
        pol(st(Condition={"Bool": {"aws:SecureTransport": "yes"}})),
        "'yes' is not true or false",
        pol(st(Condition={"Bool": {"aws:SecureTransport": "true"}})),
    ),
    (
        "lint-forallvalues-single-valued",
        pol(st("ec2:RunInstances", Condition={"ForAllValues:StringEquals": TAG["StringEquals"]})),
        "ForAllValues is true when the key is absent",
        pol(st("ec2:RunInstances", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": ["Valohai"]}})),
    ),
    (
        "lint-redundant-action",
        pol(st(["ec2:Describe*", "ec2:DescribeInstances"])),
        "already covered by 'ec2:Describe*'",
        pol(st(["ec2:Describe*", "ec2:CreateTags"])),
    ),
    (
        "lint-redundant-action",
        pol(st(["ec2:DescribeVpcs", "ec2:describevpcs"])),
        "listed twice",
        pol(st("ec2:DescribeVpcs")),
    ),
    (
        "lint-allow-not-element",
        pol({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        "'NotAction'",
        pol({"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}),
    ),
    ("lint-star-on-star", pol(st("*")), "every action of every service", pol(st("ec2:DescribeInstances"))),
    (
        "lint-star-on-star",
        pol(st("ec2:*")),
        "every ec2 action",
        pol(st("ec2:*", "arn:aws:ec2:eu-west-1:123456789012:instance/*")),
    ),
    ("lint-passrole-star", pol(st("iam:PassRole")), "privilege escalation", pol(st("iam:PassRole", ROLE))),
    (
        "lint-passrole-star",
        pol(st(["iam:PassRole"], "arn:aws:iam::123456789012:role/*")),
        "privilege escalation",
        pol(st("iam:PassRole", "arn:aws:iam::123456789012:role/valohai-*")),
    ),
    (
        "lint-resource-not-arn",
        pol(st("iam:PassRole", "ValohaiWorkerRole")),
        "not an ARN",
        pol(st("iam:PassRole", ROLE)),
    ),
    (
        "lint-arn-field",
        pol(st("iam:PassRole", "arn:aws:iam:eu-west-1:123456789012:role/x")),
        "empty region",
        pol(st("iam:PassRole", "arn:aws:iam::123456789012:role/x")),
    ),
    (
        "lint-arn-field",
        pol(st("iam:PassRole", "arn:aws:iam::12345:role/x")),
        "'12345' is not a valid account",
        pol(st("iam:PassRole", "arn:aws:iam::*:role/x")),
    ),
    (
        "lint-arn-field",
        pol(st("iam:PassRole", "arn:amazon:iam::123456789012:role/x")),
        "not an AWS partition",
        pol(st("iam:PassRole", "arn:aws-cn:iam::123456789012:role/x")),
    ),
    (
        "lint-arn-field",
        pol(st("iam:PassRole", "arn:aws:iam::123456789012:rol/x")),
        "matches no iam resource type",
        pol(st("iam:PassRole", ROLE)),
    ),
    # what is missing: a bucket, a role name, an account
    (
        "lint-arn-field",
        pol(st("s3:ListBucket", "arn:aws:s3:::")),
        "names no bucket: the bucket name after ':::' is empty",
        pol(st("s3:ListBucket", "arn:aws:s3:::acme-data")),
    ),
    (
        "lint-arn-field",
        pol(st("s3:GetObject", "arn:aws:s3:::/*")),
        "names no bucket",
        pol(st("s3:GetObject", "arn:aws:s3:::acme-data/*")),
    ),
    (
        "lint-arn-field",
        pol(st("s3:GetObject", "arn:aws:s3:::acme-data/")),
        "the object key after 'acme-data/' is empty",
        pol(st("s3:GetObject", "arn:aws:s3:::acme-data/home/")),
    ),
    (
        "lint-arn-field",
        pol(st("iam:GetRole", "arn:aws:iam::123456789012:role/")),
        "names no role: the name after 'role/' is empty",
        pol(st("iam:GetRole", "arn:aws:iam::123456789012:role/ci/*")),
    ),
    (
        "lint-arn-field",
        pol(st("iam:GetRole", "arn:aws:iam:::role/x")),
        "the account field is empty: iam ARNs always name the account",
        pol(st("iam:GetRole", "arn:aws:iam::123456789012:role/x")),
    ),
    (
        "lint-arn-field",
        pol(st("sqs:SendMessage", "arn:aws:sqs:eu-west-1::jobs")),
        "the account field is empty",
        pol(st("sqs:SendMessage", "arn:aws:sqs:eu-west-1:123456789012:jobs")),
    ),
    (
        "lint-arn-field",
        pol(st("iam:GetRole", "arn:aws:iam::aws:role/x")),
        "the account field 'aws' names what AWS owns",
        pol(st("iam:GetPolicy", "arn:aws:iam::aws:policy/ReadOnlyAccess")),
    ),
    # a region of another partition, a region no partition has
    (
        "lint-arn-field",
        pol(st("ec2:StopInstances", "arn:aws-cn:ec2:us-east-1:123456789012:instance/*")),
        "the region 'us-east-1' belongs to the partition 'aws', not to 'aws-cn'",
        pol(st("ec2:StopInstances", "arn:aws-cn:ec2:cn-north-1:123456789012:instance/*")),
    ),
    (
        "lint-arn-field",
        pol(st("ec2:StopInstances", "arn:aws:ec2:cn-north-1:123456789012:instance/*")),
        "the region 'cn-north-1' belongs to the partition 'aws-cn', not to 'aws'",
        pol(st("ec2:StopInstances", "arn:aws:ec2:eu-*:123456789012:instance/*")),
    ),
    (
        "lint-arn-field",
        pol(st("ec2:StopInstances", "arn:aws-us-gov:ec2:eu-west-1:123456789012:instance/*")),
        "the region 'eu-west-1' belongs to the partition 'aws', not to 'aws-us-gov'",
        pol(st("ec2:StopInstances", "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/*")),
    ),
    (
        "lint-arn-field",
        pol(st("ec2:StopInstances", "arn:aws:ec2:eu-west-9:123456789012:instance/*")),
        "'eu-west-9' is not a region of the partition 'aws': AWS lists no such region for it (known: af-south-1, ",
        pol(st("ec2:StopInstances", "arn:aws:ec2:*:123456789012:instance/*")),
    ),
    # S3 bucket and object ARNs have no region and no account: said so, derived from the ARN formats
    (
        "lint-arn-field",
        pol(st("s3:ListBucket", "arn:aws:s3:us-east-1:123456789012:acme-data")),
        "s3 bucket ARNs have no region and no account fields, this one has 'us-east-1' and '123456789012'",
        pol(st("s3:ListBucket", "arn:aws:s3:::acme-data")),
    ),
    (
        "lint-arn-field",
        pol(st("s3:GetObject", "arn:aws:s3::123456789012:acme-data/*")),
        "s3 object ARNs have no account field",
        pol(st("s3:GetObject", "arn:aws:s3:::acme-data/*")),
    ),
    (
        "lint-s3-bucket-name",
        pol(st("s3:GetObject", "arn:aws:s3:::acme data/*")),
        "no S3 bucket can be named 'acme data': bucket names have no ' '",
        pol(st("s3:GetObject", "arn:aws:s3:::acme-*/*")),
    ),
    (
        "lint-s3-bucket-name",
        pol(st("s3:ListBucket", "arn:aws:s3:::ACME_Bucket")),
        "'ACME_Bucket' has upper-case letters and '_'; no bucket made since March 2018 can have that name",
        pol(
            st(
                "s3:ListBucket",
                ["arn:aws:s3:::acme.bucket-1", "arn:aws:s3:::${aws:PrincipalTag/Bucket}", "arn:aws:s3:::*Data*"],
            )
        ),
    ),
    (
        "lint-resource-type-unsupported",
        pol(st("ec2:DescribeInstances", "arn:aws:ec2:eu-west-1:123456789012:instance/*")),
        "does not support resource-level permissions",
        pol(st("ec2:TerminateInstances", "arn:aws:ec2:eu-west-1:123456789012:instance/*")),
    ),
    (
        "lint-resource-type-unsupported",
        pol(st(["iam:PassRole", "iam:GetRole"], "arn:aws:iam::123456789012:user/bob")),
        "is of no type",
        pol(st(["iam:GetUser"], "arn:aws:iam::123456789012:user/bob")),
    ),
    (
        "lint-resource-type-unsupported",
        pol(st("s3:GetObject", "arn:aws:s3:::my-bucket")),
        "acts on none",
        pol(st("s3:GetObject", "arn:aws:s3:::my-bucket/*")),
    ),
    (
        "lint-resource-type-unsupported",
        pol(st("s3:GetObject", "arn:aws:s3:::my-bucket")),
        "Resource 'arn:aws:s3:::my-bucket' is of no type that s3:GetObject acts on",
        pol(st("s3:GetObject", "arn:aws:s3:::my-bucket/*")),
    ),
    # a bucket name holds no '/': bucket/* names objects only, never the bucket ListBucket acts on
    (
        "lint-resource-type-unsupported",
        pol(st("s3:ListBucket", "arn:aws:s3:::my-bucket/*")),
        "Resource 'arn:aws:s3:::my-bucket/*' is of no type that s3:ListBucket acts on",
        pol(st("s3:ListBucket", ["arn:aws:s3:::my-bucket", "arn:aws:s3:::my-*"])),
    ),
    (
        "lint-resource-type-partial",
        pol(st(["s3:ListBucket", "s3:GetObject"], "arn:aws:s3:::my-bucket")),
        "'s3:GetObject' acts on none of this statement's resources (other pairs",
        pol(st(["s3:ListBucket", "s3:GetObject"], ["arn:aws:s3:::my-bucket", "arn:aws:s3:::my-bucket/*"])),
    ),
    (
        "lint-guide-placeholder",
        pol(st("iam:PassRole", "RECORDED ValohaiWorkerRole ARN HERE")),
        "RECORDED ValohaiWorkerRole ARN HERE",
        pol(st("iam:PassRole", ROLE)),
    ),
    (
        "lint-guide-placeholder",
        trust({"AWS": "RECORDED AssumeRole ARN HERE"}),
        "RECORDED AssumeRole ARN HERE",
        trust({"Service": "ec2.amazonaws.com"}),
    ),
    (
        "lint-trust-principal-star",
        trust("*"),
        '"Principal": "*": any AWS principal',
        trust({"AWS": "111122223333"}, Condition={"StringEquals": {"sts:ExternalId": "x"}}),
    ),
    (
        "lint-trust-principal-star",
        trust({"AWS": "*"}),
        '"AWS": "*": any AWS principal',
        trust({"Service": "ec2.amazonaws.com"}),
    ),
    (
        "lint-trust-principal-invalid",
        trust({"Service": "ec2.amazon.com"}),
        "not a known service principal",
        trust({"Service": "ecs-tasks.amazonaws.com"}),
    ),
    (
        "lint-trust-principal-invalid",
        trust({"AWS": "valohai-assumer"}),
        "neither an IAM ARN nor a 12-digit",
        trust({"AWS": "arn:aws:iam::111122223333:root"}, Condition={"StringEquals": {"sts:ExternalId": "x"}}),
    ),
    (
        "lint-trust-action",
        trust({"Service": "ec2.amazonaws.com"}, "sts:*"),
        "wildcard",
        trust({"Service": "ec2.amazonaws.com"}, ["sts:AssumeRole", "sts:TagSession"]),
    ),
    (
        "lint-trust-action",
        trust({"Service": "ec2.amazonaws.com"}, "ec2:RunInstances"),
        "not an action a trust policy grants",
        trust({"Service": "ec2.amazonaws.com"}),
    ),
    (
        "lint-trust-missing-principal",
        pol(
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
            {"Effect": "Allow", "Action": "sts:AssumeRole"},
        ),
        '#2 has no "Principal"',
        trust({"Service": "ec2.amazonaws.com"}),
    ),
    (
        "lint-public-principal",
        bucket("*"),
        '"Principal": "*" allows anyone (every AWS account, and anonymous callers on the internet) \'s3:GetObject\'',
        bucket("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
    ),
    (
        "lint-trust-no-external-id",
        trust({"AWS": "arn:aws:iam::111122223333:role/valohai-assumer"}, Condition={}),
        "confused deputy",
        trust(
            {"AWS": "arn:aws:iam::111122223333:role/valohai-assumer"},
            Condition={"StringEquals": {"sts:ExternalId": "abc"}},
        ),
    ),
]


def lint(doc: object, text: str | None = None, **kw: object) -> list:
    return lint_text(text if text is not None else json.dumps(doc, indent=2), "p.json", **kw)


@pytest.mark.parametrize("rule,broken,words,clean", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_check_fires_on_the_problem_and_not_on_its_fix(rule: str, broken: dict, words: str, clean: dict) -> None:
    hits = [f for f in lint(broken) if f.rule_id == rule]
    assert hits, f"{rule} did not fire: {[(f.rule_id, f.message) for f in lint(broken)]}"
    assert any(words in f.message for f in hits), [f.message for f in hits]
    assert all(f.file == "p.json" and f.line and f.column and f.pointer is not None for f in hits)
    assert [(f.rule_id, f.message) for f in lint(clean)] == []


def test_every_documented_check_is_exercised_and_every_doc_is_complete() -> None:
    exercised = {c[0] for c in CASES} | {"lint-not-json", "lint-not-object", "lint-duplicate-key"}
    assert exercised == set(docs())
    for rid, d in docs().items():
        assert all(d[k].strip() for k in ("what", "why", "example", "instead")), rid


def test_line_and_column_point_at_the_offending_text() -> None:
    text = (
        '{\n  "Version": "2012-10-17",\n  "Statement": [{\n    "Effect": "Allow",\n'
        '    "Action": ["ec2:DescribeInstances", "ecc2:DescribeVpcs"],\n    "Resource": "*"\n  }]\n}\n'
    )
    [f] = lint(None, text)
    assert (f.rule_id, f.line, f.column, f.pointer) == ("lint-unknown-service", 5, 41, "/Statement/0/Action/1")
    assert f.expected == '"ec2:DescribeVpcs"'


def test_condition_key_with_a_slash_gets_an_escaped_pointer_and_its_own_line() -> None:
    doc = pol(st(Condition={"StringEquals": {"aws:ResourceTags/x": "1"}}))
    [f] = [f for f in lint(doc) if f.rule_id == "lint-unknown-condition-key"]
    assert f.pointer == "/Statement/0/Condition/StringEquals/aws:ResourceTags~1x"
    assert (f.line, f.column) == (10, 11)
    assert f.expected == '"aws:ResourceTag/${TagKey}"'


def test_not_json_is_one_finding_at_the_syntax_error() -> None:
    [f] = lint(None, '{\n  "Version": "2012-10-17",\n  "Statement": [,]\n}')
    assert (f.rule_id, f.status, f.line, f.column) == ("lint-not-json", "error", 3, 17)
    [g] = lint(None, '["not", "a", "policy"]')
    assert (g.rule_id, g.status) == ("lint-not-object", "error")


def test_duplicate_keys_are_found_although_json_keeps_the_last() -> None:
    text = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeVpcs",\n'
        '"Action": "ec2:DescribeInstances", "Resource": "*"}]}'
    )
    [f] = lint(None, text)
    assert (f.rule_id, f.line, f.column) == ("lint-duplicate-key", 2, 1)


def test_the_guides_worker_policy_and_ec2_trust_are_clean() -> None:
    assert lint(guide.WORKER_POLICY) == []
    assert lint(guide.ec2_trust()) == []


def test_the_guides_master_policy_gets_the_forallvalues_advice_as_a_warn() -> None:
    found = lint(guide.master_policy(ROLE))
    assert [(f.rule_id, f.status, f.severity) for f in found] == [("lint-forallvalues-single-valued", "warn", "medium")]
    assert found[0].pointer == "/Statement/1/Condition/ForAllValues:StringEquals"
    # the single-valued form that keeps the create actions (they carry no aws:ResourceTag), not StringEquals
    assert found[0].expected == '"StringEqualsIfExists": {"aws:ResourceTag/Valohai": ...}'
    assert "plain StringEquals would also refuse requests without the key" in found[0].message
    as_pasted = {f.rule_id: f.status for f in lint(guide.master_policy())}
    assert as_pasted == {"lint-forallvalues-single-valued": "warn", "lint-guide-placeholder": "fail"}


def test_fail_on_decides_which_levels_fail() -> None:
    doc = guide.master_policy(ROLE)
    assert [f.status for f in lint(doc, fail_on="warn")] == ["fail"]
    assert [f.status for f in lint(pol(st("*")), fail_on="never")] == ["warn"]


def test_account_flag_makes_own_account_principals_not_cross_account() -> None:
    doc = trust({"AWS": "arn:aws:iam::123456789012:role/ci"})
    assert [f.rule_id for f in lint(doc)] == ["lint-trust-no-external-id"]
    assert lint(doc, account="123456789012") == []


@pytest.mark.parametrize(
    "condition, public",
    [
        ({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/valohai-assumer"}}, False),
        ({"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/valohai-assumer"}}, False),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/valohai-*"}}, False),
        ({"StringEquals": {"aws:PrincipalAccount": "111122223333"}}, False),
        ({"ArnEqualsIfExists": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/valohai-assumer"}}, True),
        ({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/valohai-assumer"}}, True),  # any account's
        ({"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/x"}}, True),
    ],
    ids=["arn", "string", "arn pattern in one account", "account", "if exists", "any account", "negated"],
)
def test_a_trust_star_narrowed_to_a_caller_is_not_public(condition, public) -> None:
    found = [f.rule_id for f in lint(trust("*", Condition=condition))]
    assert ("lint-trust-principal-star" in found) is public, found


# ------------------------------------------------------------------ CLI


def write(tmp_path, name: str, doc: object) -> str:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return str(p)


def test_cli_clean_file_exits_0(tmp_path, capsys) -> None:
    assert main(["lint", write(tmp_path, "w.json", guide.WORKER_POLICY)]) == 0
    assert "0 finding(s)" in capsys.readouterr().out


def test_cli_console_shows_the_offending_line_with_a_caret(tmp_path, capsys) -> None:
    path = write(tmp_path, "m.json", pol(st("ec2:DescribeInstancez")))
    assert main(["lint", path]) == 1
    out = capsys.readouterr().out
    assert f"{path}:6:17: error[lint-unknown-action]" in out
    assert '  6 |       "Action": "ec2:DescribeInstancez",\n    |                 ^' in out
    assert 'write instead: "ec2:DescribeInstances"' in out


def test_cli_json_report_follows_the_check_contract(tmp_path) -> None:
    src = write(tmp_path, "m.json", guide.master_policy())
    out = tmp_path / "r.json"
    assert main(["lint", src, "--format", "json", "--output", str(out)]) == 1
    report = json.loads(out.read_text())
    assert report["tool"] == "vhv" and report["summary"]["fail"] == 1 and report["summary"]["warn"] == 1
    f = report["findings"][1]
    assert {k: f[k] for k in ("rule_id", "severity", "status", "file", "line", "pointer")} == {
        "rule_id": "lint-guide-placeholder",
        "severity": "high",
        "status": "fail",
        "file": src,
        "line": 56,
        "pointer": "/Statement/3/Resource",
    }
    assert {"message", "expected", "actual", "column"} <= set(f)


def test_cli_not_json_is_exit_2_one_line_no_traceback(tmp_path) -> None:
    path = write(tmp_path, "bad.json", '{"Version": "2012-10-17",\n "Statement": [}')
    proc = subprocess.run([sys.executable, "-m", "validator", "lint", path], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert [ln for ln in proc.stdout.splitlines() if "lint-not-json" in ln] == [
        f"{path}:2:16: error[lint-not-json]: not JSON: Expecting value"
    ]


def test_cli_missing_file_is_exit_2(tmp_path, capsys) -> None:
    assert main(["lint", str(tmp_path / "nope.json")]) == 2
    assert "No such file" in capsys.readouterr().out


def test_cli_reads_standard_input(monkeypatch, capsys) -> None:
    import io

    data = json.dumps(pol(st("ecc2:DescribeInstances"))).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert main(["lint", "-", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(f["rule_id"], f["file"]) for f in report["findings"]] == [("lint-unknown-service", "<stdin>")]


def test_cli_trust_flag_treats_a_file_as_a_trust_policy(tmp_path, capsys) -> None:
    path = write(tmp_path, "t.json", pol({"Effect": "Allow", "Action": "sts:AssumeRole"}))
    assert main(["lint", path]) == 1  # an identity policy without Resource
    assert "lint-resource-element" in capsys.readouterr().out
    assert main(["lint", "--trust", path]) == 1
    assert "lint-trust-missing-principal" in capsys.readouterr().out


def test_cli_suppressions_need_a_reason_and_apply_per_file(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    master = write(tmp_path, "master.json", guide.master_policy(ROLE))
    other = write(tmp_path, "other.json", guide.master_policy(ROLE))
    (tmp_path / ".vhv.yaml").write_text(
        "lint:\n  ignore:\n    - file: master.json\n      rules: [lint-forallvalues-single-valued]\n"
        "      reason: the guide's own condition\n"
    )
    assert main(["lint", "--fail-on", "warn", "master.json"]) == 0
    assert "1 suppressed" in capsys.readouterr().out
    assert main(["lint", "--fail-on", "warn", "other.json"]) == 1
    capsys.readouterr()
    (tmp_path / ".vhv.yaml").write_text("lint:\n  ignore:\n    - rules: [lint-forallvalues-single-valued]\n")
    assert main(["lint", master]) == 2
    assert "needs a `reason`" in capsys.readouterr().err
    (tmp_path / ".vhv.yaml").write_text("lint:\n  ignore:\n    - rules: [lint-nope]\n      reason: x\n")
    assert main(["lint", other]) == 2
    assert "unknown lint check(s) lint-nope" in capsys.readouterr().err


def test_rules_lint_lists_and_explains_checks(capsys) -> None:
    assert main(["rules", "--lint"]) == 0
    out = capsys.readouterr().out
    assert all(rid in out for rid in docs())
    assert main(["rules", "--lint", "lint-passrole-star"]) == 0
    doc = capsys.readouterr().out
    assert "**Why is this bad?**" in doc and "**Use instead.**" in doc


# ------------------------------------------------------------------ exit codes per check, from the command line


def _level(rule: str) -> str:
    return docs()[rule]["level"]


@pytest.mark.parametrize(
    "rule,broken,words", [(c[0], c[1], c[2]) for c in CASES], ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_cli_exit_code_follows_the_level_of_each_check(tmp_path, capsys, rule, broken, words) -> None:
    """A broken file is exit 1 with the problem named; a check of level warn alone is exit 0
    unless --fail-on warn."""
    path = write(tmp_path, "p.json", broken)
    levels = {_level(f.rule_id) for f in lint(broken)}
    code = main(["lint", path])
    out = capsys.readouterr().out
    assert f"[{rule}]" in out and words in out
    if levels & {"error", "security"}:
        assert code == 1
    else:
        assert code == 0 and "only warnings" in out
        assert main(["lint", "--fail-on", "warn", path]) == 1
        capsys.readouterr()


def test_cli_warnings_only_exit_0_and_say_so_in_console_and_json(tmp_path, capsys) -> None:
    path = write(tmp_path, "m.json", guide.master_policy(ROLE))
    assert main(["lint", path]) == 0
    out = capsys.readouterr().out
    assert f"{path}: only warnings (1); they do not change the exit code (--fail-on warn makes them fail)" in out
    assert out.rstrip().endswith("1 finding(s) (1 warning): exit 0")
    assert main(["lint", path, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["fail"] == 0 and report["summary"]["warn"] == 1
    assert [f["status"] for f in report["findings"]] == ["warn"]
    assert main(["lint", path, "--format", "json", "--fail-on", "warn"]) == 1
    assert [f["status"] for f in json.loads(capsys.readouterr().out)["findings"]] == ["fail"]


@pytest.mark.parametrize("value", ["bogus", "warning", ""])
def test_cli_bad_fail_on_is_exit_2_one_line(tmp_path, value) -> None:
    path = write(tmp_path, "w.json", guide.WORKER_POLICY)
    proc = subprocess.run(
        [sys.executable, "-m", "validator", "lint", "--fail-on", value, path], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"vhv: --fail-on: {value!r} is not a level; use one of: info, warn, error, security, never"
    ]


def test_cli_fail_on_is_case_insensitive(tmp_path, capsys) -> None:
    path = write(tmp_path, "m.json", guide.master_policy(ROLE))
    assert main(["lint", "--fail-on", "WARN", path]) == 1


def test_rules_lint_shows_every_checks_doc(capsys) -> None:
    for rid, d in docs().items():
        assert main(["rules", "--lint", rid]) == 0
        out = capsys.readouterr().out
        assert out.startswith(f"## `{rid}` — {d['title']}")
        for heading in ("**What it does.**", "**Why is this bad?**", "**Example.**", "**Use instead.**"):
            assert heading in out, (rid, heading)
    assert main(["rules", "--lint", "lint-nope"]) == 2
    assert "no lint check 'lint-nope'" in capsys.readouterr().err


# ------------------------------------------------------------------ what AWS really writes is not an error

ACCT = "123456789012"
# Policies shaped like AWS's own (managed policies, documentation): each was a false error before
# the catalogue learned the fact in the comment. None may give an error- or security-level finding.
RIGHT = {
    "policy variable with a colon in the account field": pol(
        st("kms:Decrypt", "arn:aws:kms:*:${aws:PrincipalAccount}:key/*")
    ),
    "policy variable in the resource": pol(
        st("datazone:GetDomain", "arn:aws:datazone:*:*:domain/${aws:PrincipalTag/Domain}")
    ),
    "AWS-owned SSM document (empty account)": pol(
        st("ssm:SendCommand", ["arn:aws:ssm:*::document/AWS-RunShellScript", "arn:aws:ec2:*:*:instance/*"])
    ),
    "AWS-owned CloudFormation transform": pol(
        st("cloudformation:CreateChangeSet", "arn:aws:cloudformation:*:aws:transform/Serverless-2016-10-31")
    ),
    "tag-key spelling of a service tag key": pol(
        st("secretsmanager:GetSecretValue", Condition={"StringEquals": {"secretsmanager:ResourceTag/team": "ml"}})
    ),
    "API Gateway v2 path with the merged v1 action table": pol(
        st("apigateway:GET", "arn:aws:apigateway:*::/apis/*/routes")
    ),
    "ELB v2 target group with the merged Classic action table": pol(
        st("elasticloadbalancing:AddTags", "arn:aws:elasticloadbalancing:*:*:targetgroup/tg/*")
    ),
    "codestar-connections action on a codeconnections ARN": pol(
        st("codestar-connections:UseConnection", "arn:aws:codeconnections:*:*:connection/*")
    ),
    "Session Manager data channel on the session ARN": pol(
        st("ssmmessages:OpenDataChannel", "arn:aws:ssm:*:*:session/*")
    ),
    "Application Auto Scaling policy ARN (service field autoscaling)": pol(
        st(
            ["application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy"],
            [
                "arn:aws:application-autoscaling:*:*:scalable-target/*",
                "arn:aws:autoscaling:*:*:scalingPolicy:*:resource/dynamodb/table/*",
            ],
        )
    ),
    "the root user as a NotResource": pol(
        {"Effect": "Deny", "Action": "iam:ListAccessKeys", "NotResource": "arn:aws:iam::*:root"}
    ),
    "a tagging action on a resource type the reference lists only for others": pol(
        st("cloudwatch:TagResource", "arn:aws:cloudwatch:*:*:integration/*")
    ),
    "logs describe on its own ARN (the reference says * only, CloudWatch Logs checks the ARN)": pol(
        st("logs:DescribeLogGroups", f"arn:aws:logs:eu-west-1:{ACCT}:log-group:*")
    ),
    "a retired action next to live ones": pol(st(["iotevents:DescribeDetectorModel", "iot:DescribeThing"])),
    "a global key the offline list once missed": pol(
        st(
            "s3:GetObject",
            "arn:aws:s3:::b/*",
            Condition={
                "Bool": {"aws:ViaAWSMCPService": "false"},
                "ArnLike": {"codebuild:ProjectArn": "arn:aws:codebuild:*:*:project/x"},
            },
        )
    ),
}


@pytest.mark.parametrize("doc", list(RIGHT.values()), ids=list(RIGHT))
def test_what_aws_itself_writes_gives_no_error(doc) -> None:
    bad = [(f.rule_id, f.message) for f in lint(doc) if _level(f.rule_id) in ("error", "security")]
    assert bad == []


def test_ec2_describe_on_an_instance_arn_is_still_an_error() -> None:
    """EC2 documents that its Describe actions take "*" only: no benefit of the doubt there."""
    found = {
        f.rule_id: f.status for f in lint(pol(st("ec2:DescribeInstances", f"arn:aws:ec2:eu-west-1:{ACCT}:instance/*")))
    }
    assert found == {"lint-resource-type-unsupported": "fail"}


# ------------------------------------------------------------------ operator against the key's type


@pytest.mark.parametrize(
    "op,key,value,want",
    [
        ("StringEquals", "aws:SourceIp", "203.0.113.0/24", '"IpAddress"'),
        ("ForAnyValue:StringNotEqualsIfExists", "aws:SourceIp", "203.0.113.0/24", '"ForAnyValue:NotIpAddressIfExists"'),
        ("StringLike", "aws:CurrentTime", "2026-*", '"DateEquals"'),
        ("StringEquals", "aws:MultiFactorAuthAge", "3600", '"NumericEquals"'),
        ("StringEquals", "aws:SecureTransport", "true", '"Bool"'),
        ("NumericEquals", "aws:SourceArn", "1", '"ArnLike"'),
        ("DateLessThan", "aws:SecureTransport", "2026-01-01T00:00:00Z", '"Bool"'),
    ],
)
def test_an_operator_of_another_type_than_its_key_is_an_error(op, key, value, want) -> None:
    found = [f for f in lint(pol(st(Condition={op: {key: value}}))) if f.rule_id == "lint-operator-type-mismatch"]
    assert [(f.status, f.pointer) for f in found] == [("fail", f"/Statement/0/Condition/{op}/{key}")]
    assert f"{op} compares {key!r} as" in found[0].message and found[0].expected.startswith(want)


@pytest.mark.parametrize(
    "op,key,value",
    [
        ("IpAddressIfExists", "aws:SourceIp", "203.0.113.0/24"),
        ("Null", "aws:SourceIp", "true"),  # Null tests presence: fine for every key
        ("StringLike", "aws:SourceArn", "arn:aws:s3:::acme*"),  # String on an ARN key is fine
        ("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/ci-*"),
        ("DateGreaterThan", "aws:CurrentTime", "2026-01-01T00:00:00Z"),
        ("NumericLessThan", "aws:EpochTime", "1767225600"),  # aws:EpochTime is Date and Numeric
        ("BoolIfExists", "aws:MultiFactorAuthPresent", "true"),
        ("NumericLessThan", "aws:MultiFactorAuthAge", "3600"),
        ("StringEquals", "aws:PrincipalAccount", "123456789012"),  # a String key: any string operator
    ],
)
def test_an_operator_of_the_keys_type_is_fine(op, key, value) -> None:
    assert [(f.rule_id, f.message) for f in lint(pol(st(Condition={op: {key: value}})))] == []


# ------------------------------------------------------------------ what the tester of `vhv lint` found


def test_not_json_names_the_whole_reason_without_the_decoders_position_tail() -> None:
    """The C decoder says "Invalid control character at" (its position cut off): a string left
    open is shown at its opening quote, with the whole reason."""
    text = '{\n  "Version": "2012-10-17",\n  "Statement": [{\n    "Effect": "Allow,\n    "Action": "s3:GetObject"}]}'
    [f] = lint(None, text)
    assert (f.rule_id, f.line, f.column) == ("lint-not-json", 4, 15)
    assert f.message == (
        "not JSON: unterminated string: the string that starts here runs into the end of the line "
        "(is its closing '\"' missing?)"
    )
    [e] = lint(None, '{"Version": "2012\\"-10-17\n}')  # an escaped quote does not close the string
    assert (e.line, e.column) == (1, 13) and "unterminated string" in e.message
    [t] = lint(None, '{"Version": "2012-10-17\t"}')
    assert t.message == "not JSON: invalid control character (tab) inside a string (write it as \\t)"
    assert (t.line, t.column) == (1, 24)
    [g] = lint(None, '{"Version": "2012-10-17", "Statement": "abc')
    assert g.message == "not JSON: unterminated string: a '\"' opens a string here that is never closed"
    for x in (f, e, t, g):
        assert not x.message.endswith(" at") and "(char" not in x.message and "column" not in x.message


def test_the_guides_placeholder_principal_is_only_a_placeholder_finding() -> None:
    found = lint(trust({"AWS": "RECORDED AssumeRole ARN HERE"}))
    assert [f.rule_id for f in found] == ["lint-guide-placeholder"]


def test_without_account_the_external_id_warn_says_how_to_name_your_own_account() -> None:
    doc = trust({"AWS": "arn:aws:iam::123456789012:role/ci"})
    [f] = lint(doc)
    assert (f.rule_id, f.status) == ("lint-trust-no-external-id", "warn")
    assert "pass --account YOUR_ACCOUNT_ID if this is your own account" in f.message
    [g] = lint(doc, account="111122223333")
    assert "another account" in g.message and "--account" not in g.message
    assert lint(doc, account="123456789012") == []


def test_console_shows_a_window_of_a_huge_single_line_with_the_caret_in_place(tmp_path, capsys) -> None:
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::acme-{i}/*"} for i in range(3000)
    ]
    text = json.dumps({"Version": V, "Statement": statements})
    cut = text.index("}", len(text) // 2)
    text = text[:cut] + ",," + text[cut:]  # a syntax error in the middle of a ~200 KB line
    path = write(tmp_path, "min.json", text)
    assert main(["lint", path]) == 2
    out = capsys.readouterr().out.splitlines()
    [head] = [i for i, ln in enumerate(out) if "[lint-not-json]" in ln]
    src, caret = out[head + 1], out[head + 2]
    assert len(src) < 140 and src.count("…") == 2
    column = int(out[head].split(":")[2])
    assert src[caret.index("^")] == text[column - 1] == ","
    assert src[caret.index("^") - 4 : caret.index("^") + 3] == text[column - 5 : column + 2]


def test_short_lines_are_shown_whole() -> None:
    from validator.render.lint_console import excerpt

    assert excerpt('  "Action": "x"', 5) == ('  "Action": "x"', 4)
    line = "x" * 50 + "Y" + "z" * 500
    shown, at = excerpt(line, 51)
    assert shown.startswith("…") and shown.endswith("…") and shown[at] == "Y" and len(shown) == 122


@pytest.mark.parametrize("fmt", ["console", "markdown", "html", "junit", "sarif"])
def test_every_report_of_lint_speaks_of_policies_not_of_an_account(tmp_path, fmt) -> None:
    bad = write(tmp_path, "bad.json", pol(st("ec2:DescribeInstancez")))
    clean = write(tmp_path, "clean.json", guide.WORKER_POLICY)
    for path, code, words in ((bad, 1, "the policies have problems"), (clean, 0, "no problem found in the policies")):
        out = tmp_path / f"r.{fmt}"
        assert main(["lint", path, "--format", fmt, "--output", str(out)]) == code
        text = out.read_text()
        assert "account does not match" not in text and "guide section" not in text.lower()
        assert "no rule failed" not in text
        if fmt in ("markdown", "html", "sarif"):
            assert words in text
        if fmt in ("markdown", "html", "junit"):
            assert "vhv lint" in text
    if fmt == "markdown":
        warn = write(tmp_path, "m.json", guide.master_policy(ROLE))
        main(["lint", warn, "--format", "markdown", "--output", str(tmp_path / "w.md")])
        assert "only warnings" in (tmp_path / "w.md").read_text()


def test_lint_reads_the_regions_without_importing_an_aws_sdk(tmp_path) -> None:
    """The regions of each partition come from botocore's endpoints.json, read as a file."""
    path = write(tmp_path, "r.json", pol(st("ec2:StopInstances", "arn:aws:ec2:eu-west-9:123456789012:instance/*")))
    code = (
        "import sys; from validator.cli import main; rc = main(['lint', sys.argv[1], '--format', 'json']); "
        "sdk = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'moto')); "
        "print('SDK', sdk); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "not a region of the partition 'aws'" in proc.stdout
    assert proc.stdout.rstrip().endswith("SDK []")
