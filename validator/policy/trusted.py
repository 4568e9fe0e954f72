"""A role's trust policy against the one principal it should trust, by meaning: is that principal
trusted for the actions, and is anyone or anything else? With `assumer=True` the trust is judged for
whether the principal can actually use it: an AWS principal is Valohai's assumer, whose request
policy/assumer.py models (and a "*" or its account's root narrowed by aws:PrincipalArn to it counts
as it); a Service principal is the AWS service assuming the role for the account `where` names
(policy/service.py: EC2 starting an instance with the role's instance profile). Each condition of
the statements that trust it is judged on that request, and a Deny only when it may apply to it.

A Deny that names the principal's account (its root ARN or its id) names every principal of that
account, the principal among them. IAM does not accept NotPrincipal in a role's trust policy: a
statement with one is named as such, not judged."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from validator.policy import assumer as A
from validator.policy import service as S
from validator.policy.document import Statement, action_matches, expand


@dataclass
class Trust:
    present: bool = False  # a statement allows the principal the actions (usable or not: see problems)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the principal is trusted, when not plainly


def _aws_principal(value: str, like: str) -> str:
    """IAM stores a bare account id as that account's root ARN: compare them as one."""
    if re.fullmatch(r"\d{12}", value):
        partition = like.split(":")[1] if like.startswith("arn:") else "aws"
        return f"arn:{partition}:iam::{value}:root"
    return value


def _root_of(value: str, like: str) -> bool:
    """Whether the AWS principal `value` is the root of the account of `like` (an IAM ARN), not `like` itself."""
    m = re.match(r"arn:([a-z-]+):(?:iam|sts)::(\d{12}):", like)
    if not m or like.endswith(":root"):
        return False
    return _aws_principal(value, like) == f"arn:{m.group(1)}:iam::{m.group(2)}:root"


def trust_problems(
    statements: list[Statement], principal: tuple[str, str], actions: list[str]
) -> tuple[bool, list[str]]:
    """(is the expected principal trusted for the actions?, everything else trusted)."""
    t = judge(statements, principal, actions)
    return t.present, t.problems


def judge(
    statements: list[Statement],
    principal: tuple[str, str],
    actions: list[str],
    assumer: bool = False,
    where: S.Where | None = None,
) -> Trust:
    ptype, pvalue = principal
    served = assumer and ptype == "Service"  # judged as the service's request, in the account `where`
    place = where or S.Where("aws", "", "")
    allowed_actions = {a for act in actions for a in expand(act)}

    def same(p: tuple[str, str]) -> bool:
        if p[0] != ptype:
            return False
        if ptype == "Service":
            return p[1].lower() == pvalue.lower()
        return _aws_principal(p[1], pvalue) == _aws_principal(pvalue, pvalue)

    out = Trust()
    trusting: list[Statement] = []
    agreed = external_ids(statements) if assumer else ()
    for st in statements:
        if st.not_principal:
            out.problems.append(
                f"{st.label} uses NotPrincipal, which IAM does not accept in a role's trust policy: write Principal "
                "(and narrow it with an aws:PrincipalArn condition)"
            )
            continue
        if st.effect == "Deny":  # a Deny wins over the Allow: the principal may not assume the role
            hits = [
                a
                for a in actions
                if (st.actions is not None and any(action_matches(p, a) for p in st.actions))
                or (st.not_actions is not None and not any(action_matches(p, a) for p in st.not_actions))
            ]
            listed = st.principals or ()
            whom = st.principals is None or any(same(p) or p[1] == "*" for p in listed)
            # an account's root in a Deny stands for every principal of that account
            via = [p[1] for p in listed if ptype == "AWS" and p[0] == "AWS" and _root_of(p[1], pvalue)]
            whom = whom or bool(via)
            spared = (
                not S.deny_may_apply(st.written, pvalue, place)
                if served
                else not A.deny_may_apply(st.written, pvalue, agreed)
            )
            if assumer and whom and spared:
                continue  # one of its conditions never holds for the assumer's request
            if hits and whom:
                when = f" under a condition ({_conditions(st)})" if st.condition else ""
                account = (
                    f" (it names account {A.account_of(pvalue)}, which covers every principal of it)" if via else ""
                )
                out.problems.append(f"{st.label} denies {', '.join(hits)}{when} to {ptype} {pvalue}{account}")
            continue
        if st.effect != "Allow":
            continue
        if st.principals is None:
            out.problems.append(f"{st.label} has no Principal")
            continue
        acts = st.actions or ()
        # name the patterns as written (sts:*, sts:AssumeRoleWithSAML), not their lower-cased expansion
        extra_actions = [p for p in acts if expand(p) - allowed_actions]
        if st.not_actions is not None:
            extra_actions = [f"NotAction {', '.join(st.not_actions)}"]
        grants = any(action_matches(p2, a) for p2 in acts for a in actions)
        for p in st.principals:
            # "*", or the assumer's account's root (every principal of it), narrowed by a condition on the caller
            wide = assumer and ptype == "AWS" and (p[1] == "*" or (p[0] == "AWS" and _root_of(p[1], pvalue)))
            narrowed = A.narrowed_to(st.written) if wide else None
            by_account = A.narrowed_to(st.written, "aws:principalaccount") if wide and p[1] == "*" else None
            if narrowed is not None:
                if grants and A.reaches(narrowed, pvalue):
                    trusting.append(st)
                shown = ", ".join(narrowed.values)
                if A.only(narrowed, pvalue):
                    out.notes.append(f"Principal {p[1]} narrowed by aws:PrincipalArn to {shown} in {st.label}")
                else:
                    out.problems.append(
                        f"{st.label} trusts Principal {p[1]} narrowed by aws:PrincipalArn to {shown}: more than {pvalue}"
                    )
            elif by_account is not None:
                if grants and A.reaches(by_account, A.account_of(pvalue)):
                    trusting.append(st)
                out.problems.append(
                    f"{st.label} trusts Principal * narrowed by aws:PrincipalAccount to account "
                    f"{', '.join(by_account.values)}: any principal of that account can assume this role, not only "
                    f"{pvalue}"
                )
            elif same(p):
                if grants:
                    trusting.append(st)
            elif p[1] == "*":
                out.problems.append(f'{st.label} trusts every principal ("*"): anyone can assume this role')
            else:
                out.problems.append(f"{st.label} also trusts {p[0]} {p[1]}")
        if extra_actions:
            out.problems.append(f"{st.label} allows {', '.join(extra_actions[:3])} beyond {', '.join(actions)}")
    _usable(out, trusting, (ptype, pvalue), assumer, place)
    return out


def _usable(out: Trust, trusting: list[Statement], principal: tuple[str, str], assumer: bool, where: S.Where) -> None:
    """The principal is trusted when a statement grants it the actions; judged as the assumer, when
    one such statement has no condition it cannot meet (those of the others are then warnings)."""
    out.present = bool(trusting)
    if not assumer:
        return
    ptype, pvalue = principal

    def verdict(st: Statement) -> list[A.Verdict]:
        if ptype == "Service":
            return S.judge_allow(st.written, pvalue, where)
        return A.judge_allow(st.written, pvalue)

    verdicts = {st.index: verdict(st) for st in trusting}
    usable = [st for st in trusting if all(v.level != A.FAIL for v in verdicts[st.index])]
    for st in trusting:
        fails = [v.text for v in verdicts[st.index] if v.level == A.FAIL]
        if fails:
            text = f"{st.label} cannot be used by {ptype} {pvalue}: " + "; ".join(fails)
            (out.warnings if usable else out.problems).append(text)
        out.warnings += [f"{st.label}: {v.text}" for v in verdicts[st.index] if v.level == A.WARN]


def external_ids(statements: list[Statement]) -> tuple[str, ...]:
    """The external ids the Allow statements ask for (StringEquals): what Valohai sends."""
    return tuple(
        v
        for st in statements
        if st.effect == "Allow"
        for op, key, values in st.written
        if key.lower() == "sts:externalid" and op.lower() == "stringequals"
        for v in values
    )


def _conditions(st: Statement) -> str:
    return "; ".join(A.written(c) for c in st.written)
