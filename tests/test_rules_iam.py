"""rules/2-iam.yaml against the guide's account in moto, one real drift at a time.

Every drift is made through boto3 on the moto account and must fail the right
rule(s) and nothing else; equivalent rewrites of the guide's documents (order,
Sid, list vs string, case, wildcards covering exactly the guide's actions) must
pass everything.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Account, make_account
from validator import engine, guide
from validator import params as params_mod
from validator.checks.context import Context
from validator.demo import ACCOUNT, ASSUME_ROLE_ARN, DEMO_PARAMS
from validator.policy import compare
from validator.policy.document import expand, statements
from validator.snapshot import Snapshot

WORKER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/ValohaiWorkerRole"
OTHER_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/SomeOtherRole"
OTHER_ACCOUNT_ARN = "arn:aws:iam::444455556666:root"
SLR_ARN = "arn:aws:iam::*:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
OPTION2_RULES = {"master-role-ec2-full-access", "master-role-vpc-full-access"}


# ------------------------------------------------------------------ helpers


def policy(*stmts: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(stmts)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def worker_doc() -> dict[str, Any]:
    return copy.deepcopy(guide.WORKER_POLICY)


def master_doc() -> dict[str, Any]:
    """The guide's ValohaiMasterPolicy with the real worker role ARN, as the golden account has it."""
    return guide.master_policy(WORKER_ROLE_ARN)


def by_sid(doc: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in doc["Statement"] if s.get("Sid") == sid)


Rewrite = Callable[[dict[str, Any]], dict[str, Any]]
LAUNCH = "AllowUpdatingSpotLaunchTemplates"


def edit(sid: str, **fields: Any) -> Rewrite:
    """Set fields of the statement `sid` (None deletes the field)."""

    def rewrite(doc: dict[str, Any]) -> dict[str, Any]:
        st = by_sid(doc, sid)
        for key, value in fields.items():
            if value is None:
                st.pop(key, None)
            else:
                st[key] = value
        return doc

    return rewrite


def plus_action(sid: str, action: str) -> Rewrite:
    def rewrite(doc: dict[str, Any]) -> dict[str, Any]:
        by_sid(doc, sid)["Action"].append(action)
        return doc

    return rewrite


def plus_statement(stmt: dict[str, Any]) -> Rewrite:
    def rewrite(doc: dict[str, Any]) -> dict[str, Any]:
        doc["Statement"].append(stmt)
        return doc

    return rewrite


def set_policy(acct: Account, which: str, doc: dict[str, Any]) -> None:
    """A new default version of `which` (worker_policy / master_policy), as the console's 'Edit policy' does."""
    acct.iam.create_policy_version(PolicyArn=acct.ids[which], PolicyDocument=json.dumps(doc), SetAsDefault=True)


def trusts(principal: Any, action: Any = "sts:AssumeRole", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, **extra}


def set_trust(acct: Account, role: str, doc: dict[str, Any]) -> None:
    acct.iam.update_assume_role_policy(RoleName=role, PolicyDocument=json.dumps(doc))


def iam_rule_ids(pack) -> set[str]:
    """The IAM rules of an account built by the guide (a recipe's own: tests/test_recipes.py)."""
    return {r.id for r in pack.rules if r.source == "2-iam.yaml" and (not r.built_with or "guide" in r.built_with)}


# ------------------------------------------------------------------ golden

GOLDEN_PASS = {
    "worker-policy-exists": "ValohaiWorkerPolicy exists (arn:aws:iam::123456789012:policy/ValohaiWorkerPolicy)",
    "worker-policy-tag": "ValohaiWorkerPolicy has tag valohai=1",
    "worker-policy-grants": "allows autoscaling:SetInstanceProtection on *; ec2:DescribeInstances on *",
    "worker-policy-within-guide": "ValohaiWorkerPolicy (default version v1) allows nothing beyond the guide",
    "worker-role-exists": "ValohaiWorkerRole exists",
    "worker-role-trust": "ValohaiWorkerRole trusts only Service ec2.amazonaws.com",
    "worker-role-tag": "ValohaiWorkerRole has tag valohai=1",
    "worker-role-policy-attached": "ValohaiWorkerPolicy is attached to ValohaiWorkerRole",
    "worker-role-attached-only": "ValohaiWorkerRole has no managed policy beyond the guide",
    "worker-role-no-inline": "ValohaiWorkerRole has no inline policies",
    "worker-role-grants-within-guide": "ValohaiWorkerRole's other policies grant nothing beyond the guide (it has none)",
    "worker-role-inline-lint": "ValohaiWorkerRole has no inline policy to lint",
    "worker-role-instance-profile": "ValohaiWorkerRole is in instance profile ValohaiWorkerRole",
    "worker-role-effective-permissions": "ValohaiWorkerRole can do what the guide grants it",
    "master-policy-exists": "ValohaiMasterPolicy exists",
    "master-policy-tag": "ValohaiMasterPolicy has tag valohai=1",
    "master-policy-describe": "ec2:DescribeLaunchTemplateVersions, ec2:CreateTags",
    "master-policy-launch-templates": "when aws:ResourceTag/Valohai = 1",
    "master-policy-service-linked-role": f"iam:CreateServiceLinkedRole on {SLR_ARN}",
    "master-policy-pass-worker-role": f"iam:PassRole, iam:GetRole on {WORKER_ROLE_ARN}",
    "master-policy-within-guide": "ValohaiMasterPolicy (default version v1) allows nothing beyond the guide",
    "master-policy-untagged-instances": "allows none of ec2:TerminateInstances, ec2:RebootInstances where "
    "aws:ResourceTag/Valohai is absent",
    "master-role-exists": "ValohaiMaster exists",
    "master-role-trust": f"ValohaiMaster trusts only AWS {ASSUME_ROLE_ARN}",
    "master-role-tag": "ValohaiMaster has tag valohai=1",
    "master-role-policy-attached": "ValohaiMasterPolicy is attached to ValohaiMaster",
    "master-role-attached-only": "ValohaiMaster has no managed policy beyond the guide",
    "master-role-no-inline": "ValohaiMaster has no inline policies",
    "master-role-grants-within-guide": "ValohaiMaster's other policies grant nothing beyond the guide (it has none)",
    "master-role-inline-lint": "ValohaiMaster has no inline policy to lint",
    "master-role-no-ec2-full-access": "AmazonEC2FullAccess is not attached to ValohaiMaster",
    "master-role-no-vpc-full-access": "AmazonVPCFullAccess is not attached to ValohaiMaster",
    "master-role-effective-permissions": "ValohaiMaster can do what the guide grants it",
    "account-organization-scp": "is in no organisation: no service control policy applies",
    "worker-policy-lint": "ValohaiWorkerPolicy (default version v1): vhv lint finds nothing to report",
    "worker-role-trust-lint": "the trust policy of ValohaiWorkerRole: vhv lint finds nothing to report",
    "master-role-trust-lint": "the trust policy of ValohaiMaster: vhv lint finds nothing to report; "
    "not reported: lint-trust-no-external-id (the guide trusts Valohai's AssumeRole ARN",
}
# advisories the guide's own account gets (status warn, never fail)
GOLDEN_WARN = {
    "master-policy-lint": "ValohaiMasterPolicy (default version v1): lint-forallvalues-single-valued (warn) at "
    "/Statement/1/Condition/ForAllValues:StringEquals: ForAllValues:StringEquals with the "
    "single-valued key 'aws:ResourceTag/Valohai'",
}


def test_golden_account_passes_every_iam_rule_with_its_reason(account):
    result = account.check()
    assert set(GOLDEN_PASS) | set(GOLDEN_WARN) | OPTION2_RULES == iam_rule_ids(account.pack)
    wrong = {}
    for rule_id, fragment in [*GOLDEN_PASS.items(), *GOLDEN_WARN.items()]:
        f = result.one(rule_id)
        if f.status != ("warn" if rule_id in GOLDEN_WARN else "pass") or fragment not in f.message:
            wrong[rule_id] = (f.status, f.message)
    assert wrong == {}
    for rule_id in OPTION2_RULES:
        f = result.one(rule_id)
        assert f.status == "skip"
        assert "provisioning: valohai" in f.message


# ------------------------------------------------------------------ one drift, the right rule(s)


def _delete_worker_policy(a: Account) -> None:
    a.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=a.ids["worker_policy"])
    a.iam.delete_policy(PolicyArn=a.ids["worker_policy"])


def _delete_worker_role(a: Account) -> None:
    a.iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    a.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=a.ids["worker_policy"])
    a.iam.delete_role(RoleName="ValohaiWorkerRole")


def _delete_master_policy(a: Account) -> None:
    a.iam.detach_role_policy(RoleName="ValohaiMaster", PolicyArn=a.ids["master_policy"])
    a.iam.delete_policy(PolicyArn=a.ids["master_policy"])


def _delete_master_role(a: Account) -> None:
    a.iam.detach_role_policy(RoleName="ValohaiMaster", PolicyArn=a.ids["master_policy"])
    a.iam.delete_role(RoleName="ValohaiMaster")


def _worker(rewrite: Rewrite) -> Callable[[Account], None]:
    return lambda a: set_policy(a, "worker_policy", rewrite(worker_doc()))


def _master(rewrite: Rewrite) -> Callable[[Account], None]:
    return lambda a: set_policy(a, "master_policy", rewrite(master_doc()))


def without(action: str) -> Rewrite:
    """The document without `action` (and without a statement left with no action)."""

    def rewrite(doc: dict[str, Any]) -> dict[str, Any]:
        for st in doc["Statement"]:
            acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            st["Action"] = [a for a in acts if a != action]
        doc["Statement"] = [st for st in doc["Statement"] if st["Action"]]
        return doc

    return rewrite


def _remove_instance_profile(a: Account) -> None:
    a.iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    a.iam.delete_instance_profile(InstanceProfileName="ValohaiWorkerRole")


def _inline(role: str) -> Callable[[Account], None]:
    def drift(a: Account) -> None:
        a.iam.put_role_policy(
            RoleName=role, PolicyName="quick-fix", PolicyDocument=json.dumps(policy(allow("s3:GetObject")))
        )

    return drift


# (id, drift, the exact set of rules that fail, {rule: fragments its message must contain})
DRIFTS = [
    (
        "worker policy deleted",
        _delete_worker_policy,
        {"worker-policy-exists", "worker-role-policy-attached", "worker-role-effective-permissions"},
        {
            "worker-policy-exists": [
                "ValohaiWorkerPolicy not found",
                "arn:aws:iam::123456789012:policy/ValohaiWorkerPolicy",
            ],
            "worker-role-policy-attached": ["ValohaiWorkerPolicy is not attached to ValohaiWorkerRole"],
        },
    ),
    (
        "worker policy untagged",
        lambda a: a.iam.untag_policy(PolicyArn=a.ids["worker_policy"], TagKeys=["valohai"]),
        {"worker-policy-tag"},
        {"worker-policy-tag": ["tag valohai=1 missing on ValohaiWorkerPolicy", "no valohai tag"]},
    ),
    (
        "worker policy tag key case",
        lambda a: (
            a.iam.untag_policy(PolicyArn=a.ids["worker_policy"], TagKeys=["valohai"]),
            a.iam.tag_policy(PolicyArn=a.ids["worker_policy"], Tags=[{"Key": "Valohai", "Value": "1"}]),
        ),
        {"worker-policy-tag"},
        {"worker-policy-tag": ["Valohai=1 (key case differs)"]},
    ),
    (
        "worker policy without DescribeInstances",
        _worker(without("ec2:DescribeInstances")),
        {"worker-policy-grants", "worker-role-effective-permissions"},
        {
            "worker-policy-grants": [
                "ValohaiWorkerPolicy (default version v2)",
                "ec2:DescribeInstances on * is not allowed",
            ]
        },
    ),
    (
        "worker policy ec2:*",
        _worker(edit("2", Action="ec2:*")),
        {"worker-policy-within-guide"},
        {
            "worker-policy-within-guide": [
                "is wider than the guide",
                "ec2:* on * (statement '2') allows",
                "action(s) the guide does not ask for",
            ]
        },
    ),
    (
        "worker role deleted",
        _delete_worker_role,
        {"worker-role-exists"},
        {"worker-role-exists": ["ValohaiWorkerRole not found in account 123456789012"]},
    ),
    (
        "worker role trusts lambda instead of ec2",
        lambda a: set_trust(a, "ValohaiWorkerRole", policy(trusts({"Service": "lambda.amazonaws.com"}))),
        {"worker-role-trust"},
        {
            "worker-role-trust": [
                "Service ec2.amazonaws.com is not trusted for sts:AssumeRole",
                "also trusts Service lambda.amazonaws.com",
            ]
        },
    ),
    (
        "worker role untagged",
        lambda a: a.iam.untag_role(RoleName="ValohaiWorkerRole", TagKeys=["valohai"]),
        {"worker-role-tag"},
        {"worker-role-tag": ["tag valohai=1 missing on ValohaiWorkerRole"]},
    ),
    (
        "worker policy detached from worker role",
        lambda a: a.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=a.ids["worker_policy"]),
        {"worker-role-policy-attached", "worker-role-effective-permissions"},
        {"worker-role-policy-attached": ["ValohaiWorkerPolicy is not attached to ValohaiWorkerRole"]},
    ),
    (
        "master policy attached to worker role",
        lambda a: a.iam.attach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=a.ids["master_policy"]),
        {"worker-role-attached-only", "worker-role-grants-within-guide"},
        {
            "worker-role-attached-only": [
                "ValohaiWorkerRole has policies the guide does not ask for: ValohaiMasterPolicy"
            ],
            "worker-role-grants-within-guide": [
                "ValohaiWorkerRole is allowed more than the guide asks by statement '4' of ValohaiMasterPolicy",
                "(critical: it allows iam:PassRole)",
            ],
        },
    ),
    (
        "inline policy on worker role",
        _inline("ValohaiWorkerRole"),
        {"worker-role-no-inline", "worker-role-grants-within-guide"},
        {
            "worker-role-no-inline": [
                "ValohaiWorkerRole has inline policies: quick-fix; the guide asks for its grants"
            ],
            "worker-role-grants-within-guide": [
                "s3:GetObject on * (statement #1 of inline policy quick-fix) is not in the guide",
                "(medium: it allows s3:GetObject)",
            ],
        },
    ),
    (
        "instance profile deleted",
        _remove_instance_profile,
        {"worker-role-instance-profile"},
        {"worker-role-instance-profile": ["no instance profile contains ValohaiWorkerRole"]},
    ),
    (
        "master policy deleted",
        _delete_master_policy,
        {"master-policy-exists", "master-role-policy-attached", "master-role-effective-permissions"},
        {
            "master-policy-exists": ["ValohaiMasterPolicy not found"],
            "master-role-policy-attached": ["ValohaiMasterPolicy is not attached to ValohaiMaster"],
        },
    ),
    (
        "master policy untagged",
        lambda a: a.iam.untag_policy(PolicyArn=a.ids["master_policy"], TagKeys=["valohai"]),
        {"master-policy-tag"},
        {"master-policy-tag": ["tag valohai=1 missing on ValohaiMasterPolicy"]},
    ),
    (
        "master policy tag value",
        lambda a: a.iam.tag_policy(PolicyArn=a.ids["master_policy"], Tags=[{"Key": "valohai", "Value": "true"}]),
        {"master-policy-tag"},
        {"master-policy-tag": ["found valohai=true"]},
    ),
    (
        "master policy without DescribeSubnets",
        _master(without("ec2:DescribeSubnets")),
        {"master-policy-describe", "master-role-effective-permissions"},
        {"master-policy-describe": ["ec2:DescribeSubnets on * is not allowed"]},
    ),
    (
        "master policy without RunInstances",
        _master(without("ec2:RunInstances")),
        {"master-policy-launch-templates", "master-role-effective-permissions"},
        {"master-policy-launch-templates": ["ec2:RunInstances on * is not allowed"]},
    ),
    (
        "master policy without the service-linked role",
        _master(without("iam:CreateServiceLinkedRole")),
        {"master-policy-service-linked-role", "master-role-effective-permissions"},
        {"master-policy-service-linked-role": [f"iam:CreateServiceLinkedRole on {SLR_ARN} is not allowed"]},
    ),
    (
        "master policy passes another role",
        _master(edit("4", Resource=OTHER_ROLE_ARN)),
        {"master-policy-pass-worker-role", "master-policy-within-guide", "master-role-effective-permissions"},
        {
            "master-policy-pass-worker-role": [
                f"iam:PassRole on {WORKER_ROLE_ARN} is not allowed",
                f"iam:GetRole on {WORKER_ROLE_ARN} is not allowed",
            ],
            "master-policy-within-guide": [
                f"iam:PassRole on {OTHER_ROLE_ARN}",
                f"the guide allows it only on {WORKER_ROLE_ARN}",
            ],
        },
    ),
    (
        "master policy passes any role",
        _master(edit("4", Resource="*")),
        {"master-policy-within-guide"},
        {
            "master-policy-within-guide": [
                "iam:PassRole on * (statement '4')",
                f"the guide allows it only on {WORKER_ROLE_ARN}",
            ]
        },
    ),
    (
        "master role deleted",
        _delete_master_role,
        {"master-role-exists"},
        {"master-role-exists": ["ValohaiMaster not found"]},
    ),
    (
        "master role trusts another account",
        lambda a: set_trust(a, "ValohaiMaster", policy(trusts({"AWS": OTHER_ACCOUNT_ARN}))),
        {"master-role-trust"},
        {
            "master-role-trust": [
                f"AWS {ASSUME_ROLE_ARN} is not trusted for sts:AssumeRole",
                f"also trusts AWS {OTHER_ACCOUNT_ARN}",
            ]
        },
    ),
    (
        "master role untagged",
        lambda a: a.iam.untag_role(RoleName="ValohaiMaster", TagKeys=["valohai"]),
        {"master-role-tag"},
        {"master-role-tag": ["tag valohai=1 missing on ValohaiMaster"]},
    ),
    (
        "master policy detached",
        lambda a: a.iam.detach_role_policy(RoleName="ValohaiMaster", PolicyArn=a.ids["master_policy"]),
        {"master-role-policy-attached", "master-role-effective-permissions"},
        {"master-role-policy-attached": ["ValohaiMasterPolicy is not attached to ValohaiMaster"]},
    ),
    (
        "worker policy attached to master role",
        lambda a: a.iam.attach_role_policy(RoleName="ValohaiMaster", PolicyArn=a.ids["worker_policy"]),
        {"master-role-attached-only", "master-role-grants-within-guide"},
        {
            "master-role-attached-only": ["ValohaiMaster has policies the guide does not ask for: ValohaiWorkerPolicy"],
            "master-role-grants-within-guide": [
                "autoscaling:SetInstanceProtection on * (statement '1' of ValohaiWorkerPolicy"
            ],
        },
    ),
    (
        "inline policy on master role",
        _inline("ValohaiMaster"),
        {"master-role-no-inline", "master-role-grants-within-guide"},
        {
            "master-role-no-inline": ["ValohaiMaster has inline policies: quick-fix; the guide asks for its grants"],
            "master-role-grants-within-guide": ["s3:GetObject on * (statement #1 of inline policy quick-fix)"],
        },
    ),
]


@pytest.mark.parametrize("drift, failing, fragments", [d[1:] for d in DRIFTS], ids=[d[0] for d in DRIFTS])
def test_drift_fails_exactly_the_right_rules(account, drift, failing, fragments):
    drift(account)
    result = account.check()
    assert result.failing() == failing
    for rule_id, parts in fragments.items():
        found = result.of(rule_id)  # one finding, or one per statement that grants too much
        assert {f.status for f in found} == {"fail"}
        text = " | ".join(f.message for f in found)
        for part in parts:
            assert part in text, (rule_id, part, text)


def test_every_iam_rule_has_a_drift_that_fails_it(pack):
    covered = {r for d in DRIFTS for r in d[2]}
    covered |= {r for d in LINT_DRIFTS for r in d[2]}  # the advisory lint rules: warn, never fail
    covered |= {"account-organization-scp"}  # warns, never fails: tests/test_rules_effective.py
    covered |= {"worker-role-inline-lint", "master-role-inline-lint"}  # warn: tests/test_rules_role_grants.py
    covered |= {"master-policy-untagged-instances"}  # warns on a recipe's policy: tests/test_recipes.py
    covered |= {rule_id for _, rule_id in FULL_ACCESS_MISSING + FULL_ACCESS_LEFT_ATTACHED}  # Option 2 tests
    assert iam_rule_ids(pack) - covered == set()


@pytest.mark.parametrize(
    "deleted, exists_rule, skipped",
    [
        (
            _delete_worker_role,
            "worker-role-exists",
            ["worker-role-trust", "worker-role-tag", "worker-role-policy-attached", "worker-role-instance-profile"],
        ),
        (
            _delete_master_policy,
            "master-policy-exists",
            ["master-policy-tag", "master-policy-describe", "master-policy-within-guide"],
        ),
    ],
    ids=["worker role", "master policy"],
)
def test_a_missing_resource_skips_its_other_rules_naming_the_exists_rule(account, deleted, exists_rule, skipped):
    deleted(account)
    result = account.check()
    for rule_id in skipped:
        f = result.one(rule_id)
        assert f.status == "skip"
        assert f"does not exist (rule {exists_rule})" in f.message


# ------------------------------------------------------------------ vhv lint inside vhv check (advisory)


def _worker_trust(doc: dict[str, Any]) -> Callable[[Account], None]:
    return lambda a: set_trust(a, "ValohaiWorkerRole", doc)


# (id, drift, {lint rule: fragments of its one warn}); every other rule keeps its status
LINT_DRIFTS = [
    (
        "worker policy lists DescribeInstances twice",
        _worker(edit("2", Action=["ec2:DescribeInstances", "ec2:describeinstances"])),
        {
            "worker-policy-lint": [
                "ValohaiWorkerPolicy (default version v2): lint-redundant-action (error) at /Statement/1/Action/1",
                "action 'ec2:describeinstances' is listed twice",
                "write instead: remove this 'ec2:describeinstances'",
            ]
        },
    ),
    (
        "worker trust with a misspelt condition key",
        _worker_trust(
            policy(trusts({"Service": "ec2.amazonaws.com"}, Condition={"StringEquals": {"aws:SourceAcount": ACCOUNT}}))
        ),
        {
            "worker-role-trust-lint": [
                "the trust policy of ValohaiWorkerRole: lint-unknown-condition-key (error) at "
                "/Statement/0/Condition/StringEquals/aws:SourceAcount",
                'write instead: "aws:SourceAccount"',
            ]
        },
    ),
    (
        "master policy with PassRole also on every role",
        _master(plus_statement(allow("iam:PassRole", "arn:aws:iam::123456789012:role/*"))),
        {
            "master-policy-lint": [
                "lint-passrole-star (security) at /Statement/4/Action",
                "allows iam:PassRole on 'arn:aws:iam::123456789012:role/*'",
            ]
        },
    ),
    (
        "master trust lists sts:AssumeRole twice",
        lambda a: set_trust(
            a, "ValohaiMaster", policy(trusts({"AWS": ASSUME_ROLE_ARN}, ["sts:AssumeRole", "sts:AssumeRole"]))
        ),
        {
            "master-role-trust-lint": [
                "the trust policy of ValohaiMaster: lint-redundant-action (error) at /Statement/0/Action/1",
                "action 'sts:AssumeRole' is listed twice",
            ]
        },
    ),
]


@pytest.mark.parametrize("drift, warned", [(d[1], d[2]) for d in LINT_DRIFTS], ids=[d[0] for d in LINT_DRIFTS])
def test_lint_findings_on_the_live_documents_are_warnings_naming_check_pointer_and_fix(account, drift, warned):
    drift(account)
    result = account.check()
    for rule_id, parts in warned.items():
        found = result.of(rule_id)
        assert {f.status for f in found} == {"warn"}, [(f.status, f.message) for f in found]
        text = " | ".join(f.message for f in found)
        for part in parts:
            assert part in text, (rule_id, part, text)
    from validator.findings import exit_code

    # advisory only: the lint rules never fail, so they never change the exit code
    assert not {f.rule_id for f in result.findings if f.status == "fail"} & set(warned)
    assert exit_code([f for f in result.findings if f.rule_id in warned]) == 0


def test_master_policy_as_the_lint_advises_passes_every_rule_and_the_lint(account):
    set_policy(
        account,
        "master_policy",
        edit(LAUNCH, Condition={"StringEqualsIfExists": {"aws:ResourceTag/Valohai": "1"}})(master_doc()),
    )
    result = account.check()
    assert result.failing() == set()
    f = result.one("master-policy-lint")
    assert (f.status, f.message) == (
        "pass",
        "ValohaiMasterPolicy (default version v2): vhv lint finds nothing to report",
    )


def test_master_policy_with_plain_string_equals_on_the_tag_fails_launch_templates(account):
    """StringEquals on aws:ResourceTag/Valohai refuses the create actions, which carry no resource tag:
    it is not the guide's ForAllValues form (StringEqualsIfExists is)."""
    set_policy(
        account,
        "master_policy",
        edit(LAUNCH, Condition={"StringEquals": {"aws:ResourceTag/Valohai": "1"}})(master_doc()),
    )
    result = account.check()
    assert "master-policy-launch-templates" in result.failing()
    assert (
        "ec2:CreateLaunchTemplate on * is allowed only under a condition the guide does not set"
        in result.one("master-policy-launch-templates").message
    )
    # narrower than the guide's condition, never wider
    assert result.status("master-policy-within-guide") == "pass"


def test_master_trust_external_id_advice_is_quiet_but_a_real_problem_is_not(account):
    set_trust(account, "ValohaiMaster", policy(trusts({"AWS": ASSUME_ROLE_ARN}, Sid="allow-valohai")))
    f = account.check().one("master-role-trust-lint")
    assert f.status == "warn"
    assert "lint-sid-format (error) at /Statement/0/Sid" in f.message and "lint-trust-no-external-id" not in f.message


def test_unreadable_policy_document_is_an_error_for_the_lint_rule_too(account):
    snap = account.check().snapshot
    broken = _with_errors(snap, {"policies.ValohaiMasterPolicy.document": "AccessDenied: iam:GetPolicyVersion"})
    [f] = engine.evaluate(account.pack, _params(account), broken, only=["master-policy-lint"])
    assert f.status == "error"
    assert "ValohaiMasterPolicy (default version v1) could not be read" in f.message


# ------------------------------------------------------------------ policies compared by meaning


def _shuffled(doc: dict[str, Any]) -> dict[str, Any]:
    doc["Statement"].reverse()
    for st in doc["Statement"]:
        if isinstance(st["Action"], list):
            st["Action"].reverse()
    return doc


def _sids_changed(doc: dict[str, Any]) -> dict[str, Any]:
    for i, st in enumerate(doc["Statement"]):
        if i % 2:
            st.pop("Sid", None)
        else:
            st["Sid"] = f"Renamed{i}"
    return doc


def _listed(doc: dict[str, Any]) -> dict[str, Any]:
    for st in doc["Statement"]:
        for key in ("Action", "Resource"):
            if not isinstance(st[key], list):
                st[key] = [st[key]]
    return doc


def _case_changed(doc: dict[str, Any]) -> dict[str, Any]:
    for st in doc["Statement"]:
        acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
        st["Action"] = [
            a.upper().split(":")[0] + ":" + a.split(":")[1].lower() if i % 2 else a.lower() for i, a in enumerate(acts)
        ]
    return doc


def _launch_template_wildcard(doc: dict[str, Any]) -> dict[str, Any]:
    st = by_sid(doc, "2")
    st["Action"] = [a for a in st["Action"] if not a.startswith("ec2:DescribeLaunchTemplate")]
    st["Action"].append("ec2:DescribeLaunchTemplate*")
    return doc


def _split_in_two(doc: dict[str, Any]) -> dict[str, Any]:
    """The describe statement split in two, the second one without a Sid."""
    st = by_sid(doc, "2")
    st["Action"], rest = st["Action"][:5], st["Action"][5:]
    doc["Statement"].append(allow(rest))
    return doc


EQUIVALENT = {
    "statements and actions shuffled": _shuffled,
    "Sids changed or removed": _sids_changed,
    "strings as one-element lists": _listed,
    "action case changed": _case_changed,
    "ec2:DescribeLaunchTemplate* for the two launch-template describes": _launch_template_wildcard,
    "StringEqualsIfExists for ForAllValues:StringEquals": edit(
        LAUNCH, Condition={"StringEqualsIfExists": {"aws:ResourceTag/Valohai": "1"}}
    ),
    "a statement split in two": _split_in_two,
    "service-linked role ARN with the account id": edit(
        "ServiceLinkedRole", Resource=SLR_ARN.replace("::*:", f"::{ACCOUNT}:")
    ),
}


def test_launch_template_wildcard_covers_exactly_the_guides_two_actions():
    assert expand("ec2:DescribeLaunchTemplate*") == {
        "ec2:describelaunchtemplates",
        "ec2:describelaunchtemplateversions",
    }


@pytest.mark.parametrize("rewrite", list(EQUIVALENT.values()), ids=list(EQUIVALENT))
def test_master_policy_rewritten_with_the_same_meaning_passes_everything(account, rewrite):
    set_policy(account, "master_policy", rewrite(master_doc()))
    result = account.check()
    assert result.failing() == set()
    for rule_id in (
        "master-policy-describe",
        "master-policy-launch-templates",
        "master-policy-service-linked-role",
        "master-policy-pass-worker-role",
        "master-policy-within-guide",
    ):
        f = result.one(rule_id)
        assert f.status == "pass"
        assert "(default version v2)" in f.message


@pytest.mark.parametrize(
    "doc",
    [
        policy(allow(["autoscaling:SetInstanceProtection", "ec2:DescribeInstances"])),
        policy(allow(["EC2:describeinstances"], ["*"]), allow("AutoScaling:SetInstanceProtection", Sid="x")),
        policy(
            {"Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*", "Sid": "2"},
            {"Effect": "Allow", "Action": "autoscaling:SetInstanceProtection", "Resource": "*", "Sid": "1"},
        ),
    ],
    ids=["one statement", "case, lists and Sid", "order swapped"],
)
def test_worker_policy_rewritten_with_the_same_meaning_passes_everything(account, doc):
    set_policy(account, "worker_policy", doc)
    result = account.check()
    assert result.failing() == set()
    assert result.status("worker-policy-grants") == "pass"
    assert result.status("worker-policy-within-guide") == "pass"


# ------------------------------------------------------------------ wider than the guide

WIDER = {
    "ec2:*": (plus_action("2", "ec2:*"), ["ec2:* on * (statement '2') allows", "action(s) the guide does not ask for"]),
    "a wildcard wider than the guide's actions": (
        plus_action("2", "ec2:Describe*"),
        ["ec2:Describe* on * (statement '2') allows"],
    ),
    "an extra action": (
        plus_action("2", "ec2:TerminateInstances"),
        ["ec2:TerminateInstances on * (statement '2') is not in the guide"],
    ),
    "an extra action under the condition": (
        plus_action(LAUNCH, "ec2:TerminateInstances"),
        [f"ec2:TerminateInstances on * (statement '{LAUNCH}') is not in the guide"],
    ),
    "NotAction": (
        plus_statement({"Sid": "Everything", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}),
        ["statement 'Everything' uses NotAction: it allows every action except iam:*"],
    ),
    "NotResource": (
        plus_statement({"Effect": "Allow", "Action": "ec2:DescribeVpcs", "NotResource": WORKER_ROLE_ARN}),
        ["statement #5 uses NotResource"],
    ),
    "PassRole on *": (
        edit("4", Resource="*"),
        [f"iam:PassRole on * (statement '4'): the guide allows it only on {WORKER_ROLE_ARN}"],
    ),
    "PassRole on another role too": (
        plus_statement(allow("iam:PassRole", OTHER_ROLE_ARN, Sid="Extra")),
        [f"iam:PassRole on {OTHER_ROLE_ARN} (statement 'Extra'): the guide allows it only on {WORKER_ROLE_ARN}"],
    ),
    "launch-template set without its condition": (
        edit(LAUNCH, Condition=None),
        [
            f"ec2:RunInstances on * (statement '{LAUNCH}') is allowed without the guide's "
            "condition aws:ResourceTag/Valohai = 1"
        ],
    ),
    "launch-template set under another tag value too": (
        edit(LAUNCH, Condition={"ForAllValues:StringEquals": {"aws:ResourceTag/Valohai": ["1", "2"]}}),
        [
            f"ec2:CreateLaunchTemplate on * (statement '{LAUNCH}') is allowed under a condition wider than the "
            "guide's condition aws:ResourceTag/Valohai = 1"
        ],
    ),
    "CreateServiceLinkedRole on *": (
        edit("ServiceLinkedRole", Resource="*"),
        [f"iam:CreateServiceLinkedRole on * (statement 'ServiceLinkedRole'): the guide allows it only on {SLR_ARN}"],
    ),
}


@pytest.mark.parametrize("rewrite, fragments", list(WIDER.values()), ids=list(WIDER))
def test_master_policy_wider_than_the_guide_fails_only_within_guide(account, rewrite, fragments):
    set_policy(account, "master_policy", rewrite(master_doc()))
    result = account.check()
    assert result.failing() == {"master-policy-within-guide"}
    f = result.one("master-policy-within-guide")
    assert f.status == "fail"
    assert "ValohaiMasterPolicy (default version v2) is wider than the guide" in f.message
    for part in fragments:
        assert part in f.message, (part, f.message)


@pytest.mark.parametrize(
    "stmt, named",
    [
        (allow("ec2:TerminateInstances"), "ec2:TerminateInstances on * (statement #3) is not in the guide"),
        ({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}, "statement #3 uses NotAction"),
        (allow("*"), "* on * (statement #3) allows"),
    ],
    ids=["extra action", "NotAction", "star"],
)
def test_worker_policy_wider_than_the_guide_fails_only_within_guide(account, stmt, named):
    doc = worker_doc()
    doc["Statement"].append(stmt)
    set_policy(account, "worker_policy", doc)
    result = account.check()
    assert result.failing() == {"worker-policy-within-guide"}
    assert named in result.one("worker-policy-within-guide").message


def test_a_deny_narrows_and_is_named_when_it_removes_a_guide_action(account):
    doc = master_doc()
    doc["Statement"].append({"Sid": "NoRun", "Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*"})
    set_policy(account, "master_policy", doc)
    result = account.check()
    assert result.failing() == {"master-policy-launch-templates", "master-role-effective-permissions"}
    msg = result.one("master-policy-launch-templates").message
    assert "ec2:RunInstances on * is denied by statement 'NoRun'" in msg
    said = result.one("master-role-effective-permissions").message
    assert "ec2:RunInstances on * is denied by statement 'NoRun' of ValohaiMasterPolicy (default version v2)" in said


# The guide's literal placeholder cannot be stored in a live policy (IAM and moto
# reject a Resource that is neither an ARN nor "*"), so it is judged on parsed statements.


def _master_specs(pack) -> list[compare.Spec]:
    """The guide's statements of master-policy-within-guide, expanded for the demo account."""
    rule = pack.by_id("master-policy-within-guide")
    snap = Snapshot(
        account_id=ACCOUNT, region="eu-west-1", data={"roles": {"ValohaiWorkerRole": {"arn": WORKER_ROLE_ARN}}}
    )
    ctx = Context(params=params_mod.from_dict(dict(DEMO_PARAMS)), snap=snap, kind="master_policy")
    return [compare.Spec.from_args(ctx.expand(s)) for s in rule.args["statements"]]


def test_guides_placeholder_for_the_worker_role_is_named_as_placeholder(pack):
    problems = compare.wider_than(statements(guide.master_policy()), _master_specs(pack))
    assert problems == [
        "statement '4' still has the guide's placeholder 'RECORDED ValohaiWorkerRole ARN HERE' "
        "as its Resource; replace it with the real ARN"
    ]


def test_guides_policy_with_the_real_arn_is_not_wider_than_itself(pack):
    assert compare.wider_than(statements(master_doc()), _master_specs(pack)) == []


def test_guides_placeholder_grants_nothing(pack):
    spec = next(s for s in _master_specs(pack) if "iam:PassRole" in s.actions)
    missing = compare.missing_grants(statements(guide.master_policy()), spec, ACCOUNT)
    assert missing == [
        f"iam:PassRole on {WORKER_ROLE_ARN} is not allowed",
        f"iam:GetRole on {WORKER_ROLE_ARN} is not allowed",
    ]


# ------------------------------------------------------------------ trust


@pytest.mark.parametrize(
    "principal, named",
    [
        ("*", 'trusts every principal ("*"): anyone can assume this role'),
        ({"AWS": "*"}, 'trusts every principal ("*"): anyone can assume this role'),
        ({"AWS": OTHER_ACCOUNT_ARN}, f"also trusts AWS {OTHER_ACCOUNT_ARN}"),
        ({"Service": "ec2.amazonaws.com"}, "also trusts Service ec2.amazonaws.com"),
    ],
    ids=["star", "AWS star", "another account", "a service"],
)
def test_master_trust_with_an_extra_principal_fails_naming_it(account, principal, named):
    set_trust(account, "ValohaiMaster", policy(trusts({"AWS": ASSUME_ROLE_ARN}), trusts(principal)))
    result = account.check()
    assert result.failing() == {"master-role-trust"}
    f = result.one("master-role-trust")
    assert f.status == "fail"
    assert named in f.message
    assert "is not trusted" not in f.message  # the expected principal is still there


def test_master_trust_with_two_principals_in_one_statement_names_the_extra(account):
    set_trust(account, "ValohaiMaster", policy(trusts({"AWS": [ASSUME_ROLE_ARN, OTHER_ACCOUNT_ARN]})))
    result = account.check()
    assert result.failing() == {"master-role-trust"}
    assert f"also trusts AWS {OTHER_ACCOUNT_ARN}" in result.one("master-role-trust").message


def test_worker_trust_with_an_extra_principal_fails_naming_it(account):
    both = ["ec2.amazonaws.com", "lambda.amazonaws.com"]
    set_trust(account, "ValohaiWorkerRole", policy(trusts({"Service": both})))
    result = account.check()
    assert result.failing() == {"worker-role-trust"}
    assert "also trusts Service lambda.amazonaws.com" in result.one("worker-role-trust").message


def test_trust_with_an_extra_sts_action_fails_naming_it(account):
    set_trust(
        account,
        "ValohaiMaster",
        policy(trusts({"AWS": ASSUME_ROLE_ARN}, ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"])),
    )
    result = account.check()
    assert result.failing() == {"master-role-trust"}
    assert "allows sts:AssumeRoleWithWebIdentity beyond sts:AssumeRole" in result.one("master-role-trust").message


def test_trust_with_sts_star_is_named():
    # moto (unlike IAM) refuses sts:* in a trust policy, so this one is judged on the parsed document
    sts = statements(policy(trusts({"AWS": ASSUME_ROLE_ARN}, "sts:*")))
    present, problems = compare.trust_problems(sts, ("AWS", ASSUME_ROLE_ARN), ["sts:AssumeRole"])
    assert present
    assert problems == ["statement #1 allows sts:* beyond sts:AssumeRole"]


def test_trust_with_an_external_id_condition_still_passes(account):
    cond = {"StringEquals": {"sts:ExternalId": "valohai-xyz"}}
    set_trust(account, "ValohaiMaster", policy(trusts({"AWS": ASSUME_ROLE_ARN}, Condition=cond)))
    result = account.check()
    assert result.failing() == set()
    assert result.status("master-role-trust") == "pass"


def test_worker_trust_with_an_external_id_condition_fails_as_ec2_sends_none(account):
    # EC2 assumes the worker role with no external id: the trust cannot be used by it
    cond = {"StringEquals": {"sts:ExternalId": "valohai-xyz"}}
    set_trust(account, "ValohaiWorkerRole", policy(trusts({"Service": "ec2.amazonaws.com"}, Condition=cond)))
    result = account.check()
    assert result.failing() == {"worker-role-trust"}
    assert "ec2.amazonaws.com sends no external id" in result.one("worker-role-trust").message


def test_master_trust_is_judged_against_the_params_assume_role_arn(account):
    other = "arn:aws:iam::111122223333:role/another-assumer"
    result = account.check(assume_role_arn=other)
    assert result.failing() == {"master-role-trust"}
    msg = result.one("master-role-trust").message
    assert f"AWS {other} is not trusted for sts:AssumeRole" in msg
    assert f"also trusts AWS {ASSUME_ROLE_ARN}" in msg


# ------------------------------------------------------------------ Option 2 (AWS managed policies)

FULL_ACCESS_MISSING = [
    ("AmazonEC2FullAccess", "master-role-ec2-full-access"),
    ("AmazonVPCFullAccess", "master-role-vpc-full-access"),
]
FULL_ACCESS_LEFT_ATTACHED = [
    ("AmazonEC2FullAccess", "master-role-no-ec2-full-access"),
    ("AmazonVPCFullAccess", "master-role-no-vpc-full-access"),
]


@pytest.mark.managed_policies
def test_option2_with_both_full_access_policies_passes(moto_env, pack):
    acct = make_account(moto_env, pack, provisioning="valohai", queue_installer="valohai")
    result = acct.check()
    assert result.failing() == set()
    for name, rule_id in FULL_ACCESS_MISSING:
        f = result.one(rule_id)
        assert f.status == "pass"
        assert f"{name} is attached to ValohaiMaster" in f.message
    assert result.status("master-role-attached-only") == "pass"
    for rule_id in ("master-role-no-ec2-full-access", "master-role-no-vpc-full-access"):
        assert result.status(rule_id) == "skip"


@pytest.mark.managed_policies
@pytest.mark.parametrize("name, rule_id", FULL_ACCESS_MISSING)
def test_option2_missing_full_access_fails_naming_it(moto_env, pack, name, rule_id):
    acct = make_account(moto_env, pack, provisioning="valohai", queue_installer="valohai")
    acct.iam.detach_role_policy(RoleName="ValohaiMaster", PolicyArn=f"arn:aws:iam::aws:policy/{name}")
    result = acct.check()
    assert result.failing() == {rule_id}
    assert result.one(rule_id).message == f"{name} is not attached to ValohaiMaster"


@pytest.mark.managed_policies
@pytest.mark.parametrize("name, rule_id", FULL_ACCESS_LEFT_ATTACHED)
def test_option1_full_access_left_attached_fails(account, name, rule_id):
    account.iam.attach_role_policy(RoleName="ValohaiMaster", PolicyArn=f"arn:aws:iam::aws:policy/{name}")
    result = account.check()
    assert result.failing() == {rule_id}
    f = result.one(rule_id)
    assert f.message == f"{name} is still attached to ValohaiMaster: elevated permissions left behind"
    assert name in f.actual


# ------------------------------------------------------------------ unreadable is an error, never a pass


def _with_errors(snap: Snapshot, errors: dict[str, str]) -> Snapshot:
    return dataclasses.replace(snap, data=copy.deepcopy(snap.data), errors={**snap.errors, **errors})


def _params(acct: Account):
    return params_mod.from_dict(dict(acct.params), source="params.yaml")


def test_unreadable_policy_version_is_an_error_not_a_pass(account):
    snap = account.check().snapshot
    why = "iam:GetPolicyVersion was denied"
    findings = engine.evaluate(
        account.pack, _params(account), _with_errors(snap, {"policies.ValohaiWorkerPolicy.document": why})
    )
    status = {f.rule_id: f.status for f in findings}
    assert {r for r, s in status.items() if s in ("fail", "error")} == {
        "worker-policy-grants",
        "worker-policy-within-guide",
        "worker-policy-lint",
        "worker-role-effective-permissions",
    }
    for rule_id in (
        "worker-policy-grants",
        "worker-policy-within-guide",
        "worker-policy-lint",
        "worker-role-effective-permissions",
    ):
        f = next(f for f in findings if f.rule_id == rule_id)
        assert f.status == "error"
        assert why in f.message
    # what could be read is still judged
    assert status["worker-policy-exists"] == "pass"
    assert status["worker-policy-tag"] == "pass"


def test_unreadable_policy_is_an_error_for_every_rule_on_it(account):
    snap = account.check().snapshot
    snap = _with_errors(snap, {"policies.ValohaiMasterPolicy": "iam:GetPolicy was denied"})
    findings = [
        f for f in engine.evaluate(account.pack, _params(account), snap) if f.resource_name == "ValohaiMasterPolicy"
    ]
    assert {f.rule_id for f in findings} == {r.id for r in account.pack.rules if r.resource == "master_policy"}
    assert {f.status for f in findings} == {"error"}
    assert all("iam:GetPolicy was denied" in f.message for f in findings)


def test_unreadable_attachments_are_an_error_for_the_attachment_rules(account):
    snap = account.check().snapshot
    why = "iam:ListAttachedRolePolicies was denied"
    findings = engine.evaluate(
        account.pack, _params(account), _with_errors(snap, {"roles.ValohaiMaster.attached_policies": why})
    )
    bad = {f.rule_id: f for f in findings if f.status in ("fail", "error")}
    assert set(bad) == {
        "master-role-policy-attached",
        "master-role-attached-only",
        "master-role-no-ec2-full-access",
        "master-role-no-vpc-full-access",
        "master-role-effective-permissions",
    }
    assert all(f.status == "error" and why in f.message for f in bad.values())


def test_unreadable_policy_tags_are_an_error_not_a_missing_tag(account):
    snap = account.check().snapshot
    why = "iam:ListPolicyTags was denied"
    broken = _with_errors(snap, {"policies.ValohaiWorkerPolicy.tags": why})
    broken.data["policies"]["ValohaiWorkerPolicy"]["tags"] = None  # what the reader stores when the read fails
    findings = engine.evaluate(account.pack, _params(account), broken)
    f = next(f for f in findings if f.rule_id == "worker-policy-tag")
    assert f.status == "error"
    assert why in f.message


def test_an_unreadable_worker_role_leaves_the_passrole_rules_undecided(account):
    # an independent tester, live under moto IAM auth without iam:GetRole: the worker role's ARN was
    # guessed (role/ValohaiWorkerRole) where the real one had a path (role/team/...), and the master
    # policy's PassRole on the guess passed; a role that could not be read has no known ARN
    snap = account.check().snapshot
    why = "iam:GetRole was denied"
    broken = _with_errors(snap, {"roles.ValohaiWorkerRole": why})
    del broken.data["roles"]["ValohaiWorkerRole"]  # a read that failed leaves nothing
    findings = {f.rule_id: f for f in engine.evaluate(account.pack, _params(account), broken)}
    for rule_id in ("master-policy-pass-worker-role", "master-policy-within-guide"):
        f = findings[rule_id]
        assert f.status == "error", (rule_id, f.message)
        assert f"the ARN of ValohaiWorkerRole is not known: {why}" in f.message
    # the rest of the master policy does not need the worker role: still judged
    assert findings["master-policy-describe"].status == "pass"
    assert findings["master-policy-exists"].status == "pass"


def test_a_worker_role_that_does_not_exist_is_judged_by_the_arn_it_would_have(account):
    account.iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    for attached in account.iam.list_attached_role_policies(RoleName="ValohaiWorkerRole")["AttachedPolicies"]:
        account.iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=attached["PolicyArn"])
    account.iam.delete_role(RoleName="ValohaiWorkerRole")
    result = account.check()
    assert result.one("worker-role-exists").status == "fail"
    assert result.one("master-policy-pass-worker-role").status == "pass"  # it names the ARN the guide's role gets


def test_a_customer_policy_named_like_an_aws_one_is_not_the_aws_policy(account):
    """Attachments are compared by ARN: a look-alike AmazonEC2FullAccess does not satisfy Option 2."""
    iam = account.iam
    fake = iam.create_policy(
        PolicyName="AmazonEC2FullAccess", PolicyDocument=json.dumps(policy(allow("ec2:DescribeInstances")))
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="ValohaiMaster", PolicyArn=fake)
    result = account.check(provisioning="valohai", queue_installer="valohai")
    f = result.one("master-role-ec2-full-access")
    assert f.status == "fail"
    assert f"it is {fake}, not arn:aws:iam::aws:policy/AmazonEC2FullAccess" in f.message
    extra = result.one("master-role-attached-only")
    assert extra.status == "fail" and fake in extra.message


def test_a_wider_condition_is_named_as_wider_not_missing(pack):
    doc = master_doc()
    by_sid(doc, "AllowUpdatingSpotLaunchTemplates")["Condition"] = {
        "StringEquals": {"aws:ResourceTag/Valohai": ["1", "2"]}
    }
    problems = compare.wider_than(statements(doc), _master_specs(pack))
    assert problems and all("under a condition wider than the guide's condition" in p for p in problems)


def test_an_account_id_principal_is_the_same_as_its_root_arn(account):
    """IAM turns a bare account id into arn:aws:iam::<id>:root; both spell the same trust."""
    set_trust(account, "ValohaiMaster", policy(trusts({"AWS": "111122223333"})))
    result = account.check(assume_role_arn="arn:aws:iam::111122223333:root")
    assert result.one("master-role-trust").status == "pass"
    other = account.check(assume_role_arn="arn:aws:iam::444455556666:root")
    assert other.one("master-role-trust").status == "fail"
    assert "also trusts AWS 111122223333" in other.one("master-role-trust").message


def test_a_lint_rule_ignoring_an_unknown_check_is_refused_at_load(tmp_path):
    from validator import rulepack
    from validator.errors import VhvError

    (tmp_path / "x.yaml").write_text(
        "rules:\n  - id: master-role-trust-lint\n    severity: medium\n    title: lint\n    section: IAM\n"
        "    resource: master_role\n    evaluator: policy_lint\n    fixable: false\n    fix: edit it\n"
        "    args: {document: trust, ignore: {lint-no-such-check: because the guide says so}}\n"
    )
    with pytest.raises(VhvError, match=r"args\.ignore.*lint-no-such-check"):
        rulepack.load(tmp_path)


# ------------------------------------------------------------------ fix texts from what was found


def test_a_wrong_worker_role_arn_gets_a_fix_naming_both_arns_not_passrole_on_star(account):
    _master(lambda doc: guide.master_policy(OTHER_ROLE_ARN))(account)
    f = account.check().one("master-policy-within-guide")
    assert f.status == "fail"
    assert f.fix == (
        "Replace the default version of ValohaiMasterPolicy with the guide's JSON (`vhv remediate --fix --tighten` "
        f"writes it): in statement '4', write {WORKER_ROLE_ARN} in place of {OTHER_ROLE_ARN}."
    )
    assert "PassRole on *" not in f.fix


def test_passrole_on_every_role_gets_a_fix_saying_what_that_lets_happen(account):
    _master(lambda doc: guide.master_policy("*"))(account)
    f = account.check().one("master-policy-within-guide")
    assert f"iam:PassRole, iam:GetRole on * in statement '4' reaches more than {WORKER_ROLE_ARN}" in f.fix
    assert "any role it matches could be handed to an instance" in f.fix


def test_an_extra_action_keeps_the_rules_own_fix_which_no_longer_speaks_of_passrole(account):
    _master(plus_action("2", "ec2:TerminateInstances"))(account)
    f = account.check().one("master-policy-within-guide")
    assert f.fix == account.pack.by_id("master-policy-within-guide").fix
    assert "PassRole" not in f.fix and "extra actions" in f.fix


def test_each_lint_finding_inside_check_has_its_own_fix_and_an_error_says_why_it_only_warns(account):
    """The guide's condition (ForAllValues) and a redundant action: two findings, two fixes, each
    from its own finding; the StringEqualsIfExists advice only on the finding about the condition."""
    _master(plus_action("2", "ec2:describevpcs"))(account)
    found = {f.message.split(": ", 2)[1].split(" ")[0]: f for f in account.check().of("master-policy-lint")}
    assert set(found) == {"lint-forallvalues-single-valued", "lint-redundant-action"}, found
    cond, twice = found["lint-forallvalues-single-valued"], found["lint-redundant-action"]
    assert cond.fix.startswith('At /Statement/1/Condition/ForAllValues:StringEquals, instead: "StringEqualsIfExists": ')
    assert "StringEquals" not in twice.fix
    assert twice.fix.startswith("At /Statement/0/Action/12, instead: remove this 'ec2:describevpcs'")
    assert twice.fix.endswith("; save the JSON, check it with `vhv lint`, and make it the default version.")
    # an error of `vhv lint` is a warning here, and the message says why; a warning needs no such word
    assert twice.status == "warn" and "(fails `vhv lint`; only a warning here: lint inside check is advisory" in (
        twice.message
    )
    assert "fails `vhv lint`" not in cond.message


def test_a_trust_lint_finding_says_to_edit_the_trust_relationship(account):
    set_trust(account, "ValohaiMaster", policy(trusts({"AWS": ASSUME_ROLE_ARN}, Sid="allow-valohai")))
    f = account.check().one("master-role-trust-lint")
    assert f.fix == (
        'At /Statement/0/Sid, instead: "Sid": "AllowValohai"; '
        "edit it in the role's trust relationship (`vhv lint --trust` on its JSON shows the line)."
    )


def test_a_lint_finding_without_a_replacement_points_to_its_checks_doc(account, monkeypatch):
    from validator.checks import lint as lint_evaluator
    from validator.policy.lintmodel import Issue

    found = [Issue("lint-passrole-star", "/Statement/3/Resource", "iam:PassRole on every role")]
    monkeypatch.setattr(lint_evaluator, "lint_document", lambda *_a, **_k: found)
    f = account.check().one("master-policy-lint")
    assert f.fix == (
        "iam:PassRole on every role at /Statement/3/Resource: `vhv rules --lint lint-passrole-star` shows what "
        "to write instead; save the JSON, check it with `vhv lint`, and make it the default version."
    )


# ------------------------------------------------------------------ a Deny-only policy grants nothing

_DENY_INSECURE = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    ],
}


@pytest.mark.parametrize("role, prefix", [("ValohaiMaster", "master"), ("ValohaiWorkerRole", "worker")])
def test_a_deny_only_inline_policy_is_no_inline_grant(account, role, prefix):
    account.iam.put_role_policy(RoleName=role, PolicyName="deny-insecure", PolicyDocument=json.dumps(_DENY_INSECURE))
    result = account.check()
    f = result.one(f"{prefix}-role-no-inline")
    assert f.status == "pass"
    assert f.message == (
        f"{role} has no inline policy that grants anything; deny-insecure is Deny-only: it takes away and "
        "grants nothing"
    )
    # one that grants still fails, named alone
    account.iam.put_role_policy(
        RoleName=role, PolicyName="quick-fix", PolicyDocument=json.dumps(policy(allow("s3:GetObject")))
    )
    f = account.check().one(f"{prefix}-role-no-inline")
    assert f.status == "fail"
    assert f.message.startswith(f"{role} has inline policies: quick-fix; the guide asks")
    assert f.message.endswith("; deny-insecure is Deny-only: it takes away and grants nothing")


@pytest.mark.parametrize("role, prefix", [("ValohaiMaster", "master"), ("ValohaiWorkerRole", "worker")])
def test_a_deny_only_managed_policy_is_no_extra_attachment(account, role, prefix):
    deny = account.iam.create_policy(PolicyName="DenyInsecure", PolicyDocument=json.dumps(_DENY_INSECURE))
    account.iam.attach_role_policy(RoleName=role, PolicyArn=deny["Policy"]["Arn"])
    f = account.check().one(f"{prefix}-role-attached-only")
    assert f.status == "pass"
    assert f.message == (
        f"{role} has no managed policy beyond the guide; DenyInsecure is Deny-only: it takes away and grants nothing"
    )
    extra = account.iam.create_policy(PolicyName="Extra", PolicyDocument=json.dumps(policy(allow("s3:GetObject"))))
    account.iam.attach_role_policy(RoleName=role, PolicyArn=extra["Policy"]["Arn"])
    f = account.check().one(f"{prefix}-role-attached-only")
    assert f.status == "fail"
    assert f.message == (
        f"{role} has policies the guide does not ask for: Extra; DenyInsecure is Deny-only: it takes away and "
        "grants nothing"
    )


# ------------------------------------------------------------------ the instance profile Valohai launches with


def _role_in_another_profile(a: Account, admin_in_the_guides: bool) -> None:
    """ValohaiWorkerRole moved to the profile worker-profile; the guide's profile holds AdminRole (or is gone)."""
    a.iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    if admin_in_the_guides:
        a.iam.create_role(RoleName="AdminRole", AssumeRolePolicyDocument=json.dumps(policy(trusts({"Service": EC2}))))
        a.iam.add_role_to_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="AdminRole")
    else:
        a.iam.delete_instance_profile(InstanceProfileName="ValohaiWorkerRole")
    a.iam.create_instance_profile(InstanceProfileName="worker-profile")
    a.iam.add_role_to_instance_profile(InstanceProfileName="worker-profile", RoleName="ValohaiWorkerRole")


EC2 = "ec2.amazonaws.com"


@pytest.mark.parametrize("admin_in_the_guides", [True, False], ids=["holds AdminRole", "gone"])
def test_the_role_in_another_instance_profile_does_not_count(account, admin_in_the_guides):
    """The tester's false pass: the profile named ValohaiWorkerRole (the one Valohai launches with)
    held AdminRole, ValohaiWorkerRole was in worker-profile, and the rule passed naming worker-profile."""
    _role_in_another_profile(account, admin_in_the_guides)
    result = account.check()
    assert result.failing() == {"worker-role-instance-profile"}
    f = result.one("worker-role-instance-profile")
    assert f.message == (
        "ValohaiWorkerRole is not in the instance profile ValohaiWorkerRole; the workers are launched with the "
        "instance profile ValohaiWorkerRole (Valohai knows only the role's ARN, and launches with the profile of its "
        "name); ValohaiWorkerRole is in instance profile worker-profile instead"
    )


def test_the_role_also_in_another_instance_profile_passes(account):
    account.iam.create_instance_profile(InstanceProfileName="worker-profile")
    account.iam.add_role_to_instance_profile(InstanceProfileName="worker-profile", RoleName="ValohaiWorkerRole")
    f = account.check().one("worker-role-instance-profile")
    assert (f.status, f.message) == ("pass", "ValohaiWorkerRole is in instance profile ValohaiWorkerRole")


def test_service_linked_role_narrowed_to_auto_scaling_as_aws_recommends_passes(account):
    # the request that creates Auto Scaling's service-linked role carries iam:AWSServiceName
    doc = master_doc()
    by_sid(doc, "ServiceLinkedRole")["Condition"] = {"StringLike": {"iam:AWSServiceName": "autoscaling.amazonaws.com"}}
    set_policy(account, "master_policy", doc)
    result = account.check()
    assert result.one("master-policy-service-linked-role").status == "pass"
    assert result.one("master-role-effective-permissions").status == "pass"
    # another service's name takes the action away: it still fails
    by_sid(doc, "ServiceLinkedRole")["Condition"] = {"StringEquals": {"iam:AWSServiceName": "ecs.amazonaws.com"}}
    set_policy(account, "master_policy", doc)
    f = account.check().one("master-policy-service-linked-role")
    assert f.status == "fail"
    assert "allowed only under a condition the guide does not set" in f.message
