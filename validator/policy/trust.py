"""Lint checks of role trust policies: who may assume the role, and how. The principals'
spelling is checked the same way in resource policies (resource.py judges their "*")."""

from __future__ import annotations

import re

from validator.policy import catalogue
from validator.policy.document import action_matches
from validator.policy.lintmodel import TRUST_ACTIONS, Issue, Stmt, shown
from validator.policy.meaning import is_placeholder
from validator.policy.resource import narrowing

PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")
# condition keys that pin who the caller is: a "*" principal narrowed by one is not everyone
PRINCIPAL_KEYS = frozenset(
    {"aws:principalarn", "aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths", "aws:userid"}
)
_IAM_ARN = re.compile(
    r"arn:aws[a-z-]*:(iam|sts)::(\d{12}):(root|user/.+|role/.+|assumed-role/.+|"
    r"federated-user/.+|group/.+)\Z"
)
_SERVICE = re.compile(r"([a-z0-9-]+)((\.[a-z0-9-]+)*)\.amazonaws\.com(\.cn)?\Z")
_FEDERATED_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(saml-provider|oidc-provider)/.+\Z")
_HOST = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+(/\S*)?\Z", re.I)
# service principals whose first label is not a service prefix of the catalogue
_EXTRA_SERVICE_NAMES = {
    "ecs-tasks",
    "edgelambda",
    "spotfleet",
    "elasticmapreduce",
    "application-autoscaling",
    "replicator.lambda",
    "vmie",
    "ops.apigateway",
    "transfer",
    "scheduler",
    "pipes",
    "delivery.logs",
    "member.org.stacksets.cloudformation",
    "resources.cloudformation",
    "eks-fargate-pods",
    "eks-nodegroup",
    "batch",
    "spot",
    "monitoring.rds",
    "export.rds",
    # principals of S3 bucket policies: server access logs, Batch Operations, ALB access logs
    "logging.s3",
    "batchoperations.s3",
    "logdelivery.elasticloadbalancing",
}


def principals(st: Stmt, account: str | None, stars: bool = True) -> list[Issue]:
    """Principals that are not spelled as IAM takes them, an assumable-by-anyone "*" (unless
    `stars` is False: in a resource policy a condition may narrow it; or a condition on the
    caller's ARN, account or organisation narrows it) and the external id."""
    out: list[Issue] = []
    stars = stars and not narrowing(st, PRINCIPAL_KEYS)
    for key in ("Principal", "NotPrincipal"):
        p = st.raw.get(key)
        if p is None:
            continue
        if p == "*":
            if stars and st.allow and key == "Principal":
                out.append(_star(st.at(key), '"Principal": "*"'))
            continue
        if not isinstance(p, dict):
            continue
        for kind, values in p.items():
            if kind not in PRINCIPAL_KINDS:
                near = catalogue.nearest(kind, PRINCIPAL_KINDS, cutoff=0.5)
                out.append(
                    Issue(
                        "lint-trust-principal-invalid",
                        st.at(key, kind),
                        f"unknown principal type {shown(kind)}",
                        f'"{near}"' if near else "AWS, Service, Federated or CanonicalUser",
                        kind,
                        at_key=True,
                    )
                )
                continue
            for v, ptr in _strings(values, st.at(key, kind)):
                if is_placeholder(v):
                    continue
                issue = _principal(kind, v, ptr, stars and st.allow and key == "Principal")
                if issue:
                    out.append(issue)
    return out + _external_id(st, account)


def _strings(values: object, ptr: str) -> list[tuple[str, str]]:
    if isinstance(values, str):
        return [(values, ptr)]
    if isinstance(values, list):
        return [(v, f"{ptr}/{i}") for i, v in enumerate(values) if isinstance(v, str)]
    return []


def _star(ptr: str, what: str) -> Issue:
    return Issue(
        "lint-trust-principal-star",
        ptr,
        f"{what}: any AWS principal in the world may assume this role",
        '"Principal": {"AWS": "arn:aws:iam::ACCOUNT:role/NAME"} (for Valohai: the AssumeRole ARN you recorded)',
        "*",
    )


def _principal(kind: str, v: str, ptr: str, allow: bool) -> Issue | None:
    if kind == "AWS":
        if v == "*":
            return _star(ptr, '"AWS": "*"') if allow else None
        if _IAM_ARN.match(v) or catalogue.ACCOUNT.match(v):
            return None
        return Issue(
            "lint-trust-principal-invalid",
            ptr,
            f"AWS principal {shown(v)} is neither an IAM ARN nor a 12-digit account id",
            '"arn:aws:iam::ACCOUNT:role/NAME" or "123456789012"',
            v,
        )
    if kind == "Service":
        m = _SERVICE.match(v)
        name = (m.group(1) + m.group(2)) if m else ""
        if m and (
            m.group(1) in catalogue.services() or name in _EXTRA_SERVICE_NAMES or m.group(1) in _EXTRA_SERVICE_NAMES
        ):
            return None
        guess = catalogue.nearest(v.split(".")[0], catalogue.services() | _EXTRA_SERVICE_NAMES, cutoff=0.6)
        return Issue(
            "lint-trust-principal-invalid",
            ptr,
            f"{shown(v)} is not a known service principal",
            f'"{guess}.amazonaws.com"' if guess else '"SERVICE.amazonaws.com", e.g. "ec2.amazonaws.com"',
            v,
        )
    if kind == "Federated":
        if _FEDERATED_ARN.match(v) or _HOST.match(v):
            return None
        return Issue(
            "lint-trust-principal-invalid",
            ptr,
            f"federated principal {shown(v)} is neither an identity provider ARN nor a provider host",
            '"arn:aws:iam::ACCOUNT:oidc-provider/HOST"',
            v,
        )
    if not re.fullmatch(r"[0-9a-f]{64}", v):
        return Issue(
            "lint-trust-principal-invalid",
            ptr,
            f"CanonicalUser {shown(v)} is not a canonical user id",
            "a 64-character hexadecimal canonical user id",
            v,
        )
    return None


def actions(st: Stmt) -> list[Issue]:
    out = []
    allowed = {a.lower() for a in TRUST_ACTIONS}
    for pattern, ptr in st.strings("Action"):
        if pattern.lower() in allowed:
            continue
        wild = "*" in pattern or "?" in pattern
        what = (
            f"{shown(pattern)} is a wildcard: it hides which of the assume-role actions are allowed"
            if wild
            else f"{shown(pattern)} is not an action a trust policy grants"
        )
        out.append(
            Issue(
                "lint-trust-action",
                ptr,
                what,
                '"sts:AssumeRole" (plus "sts:TagSession" if sessions are tagged)',
                pattern,
            )
        )
    return out


def _external_id(st: Stmt, account: str | None) -> list[Issue]:
    p = st.raw.get("Principal")
    if not st.allow or not isinstance(p, dict) or "AWS" not in p:
        return []
    if not any(action_matches(a, "sts:AssumeRole") for a, _ in st.strings("Action")):
        return []
    cond = st.raw.get("Condition")
    if isinstance(cond, dict) and any(
        isinstance(b, dict) and any(k.lower() == "sts:externalid" for k in b) for b in cond.values()
    ):
        return []
    for v, ptr in _strings(p["AWS"], st.at("Principal", "AWS")):
        if is_placeholder(v):
            continue  # the guide's placeholder: lint-guide-placeholder says what to write there
        acct = v if catalogue.ACCOUNT.match(v) else (v.split(":")[4] if _IAM_ARN.match(v) else None)
        if not acct or acct == account:
            continue
        whose = (
            "another account"
            if account
            else f"account {acct}, another account unless it is yours (pass --account YOUR_ACCOUNT_ID if this is "
            "your own account)"
        )
        return [
            Issue(
                "lint-trust-no-external-id",
                ptr,
                f"the role trusts {shown(v)}, {whose}, without an sts:ExternalId condition (confused deputy)",
                '"Condition": {"StringEquals": {"sts:ExternalId": "THE-ID-THE-OTHER-PARTY-GAVE-YOU"}}',
                v,
            )
        ]
    return []
