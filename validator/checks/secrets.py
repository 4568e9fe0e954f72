"""Secrets Manager secrets (the queue's Redis password): who a secret's resource policy lets in.

IAM policies in the account grant the account's own principals; a resource policy is how a secret
is opened to anyone else. An Allow to `*` (or to another account) hands the Redis password, and
with it the queue, to whoever can ask.
"""

from __future__ import annotations

import re
from typing import Any

from validator.checks import Outcome, bad, evaluator, ok, warn
from validator.checks.context import Context
from validator.kinds import KINDS
from validator.policy.document import action_matches, as_list
from validator.snapshot import Undecidable

# condition keys that tie a statement to the requester's account or organisation
_OWN_ACCOUNT_KEYS = ("aws:principalaccount", "aws:sourceaccount")


def _strangers(principal: Any, account: str) -> list[str]:
    """The principals outside `account` a statement names: `*`, another account, or its principals."""
    if principal == "*":
        return ["*"]
    if not isinstance(principal, dict):
        return [str(principal)]
    out = []
    for who in as_list(principal.get("AWS", [])):
        who = str(who)
        if who == "*":
            out.append("*")
        elif (re.fullmatch(r"\d{12}", who) and who != account) or (
            who.startswith("arn:") and who.split(":")[4:5] != [account]
        ):
            out.append(who)
    return out


def _held_to_account(statement: dict[str, Any], account: str) -> bool:
    """Whether a condition holds the statement to `account` (aws:PrincipalAccount equal to it)."""
    for operator, block in (statement.get("Condition") or {}).items():
        if not isinstance(block, dict) or not operator.startswith("StringEquals") or "IfExists" in operator:
            continue
        for key, value in block.items():
            if key.lower() in _OWN_ACCOUNT_KEYS and [str(v) for v in as_list(value)] == [account]:
                return True
    return False


READ = "secretsmanager:GetSecretValue"


def _action_hits(statement: dict[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(action_matches(str(p), action) for p in as_list(statement["NotAction"]))
    return any(action_matches(str(p), action) for p in as_list(statement.get("Action", [])))


def _shut_out(statement: dict[str, Any], readers: dict[str, str], account: str) -> list[str]:
    """Who of `readers` (name -> role ARN) a Deny statement names: everyone (`*`, the account), or them."""
    if "NotPrincipal" in statement:
        spared = [str(p) for p in as_list((statement["NotPrincipal"] or {}).get("AWS", []))]
        return [n for n, arn in readers.items() if arn not in spared]
    principal = statement.get("Principal")
    named = ["*"] if principal == "*" else [str(p) for p in as_list((principal or {}).get("AWS", []))]
    if any(p in ("*", account, f"arn:aws:iam::{account}:root") or p.endswith(f":{account}:root") for p in named):
        return list(readers)
    return [n for n, arn in readers.items() if arn in named]


@evaluator("secret_policy_own_account")
def secret_policy_own_account(ctx: Context) -> list[Outcome]:
    """No Allow in the secret's resource policy reaches a principal outside the account, and no Deny
    shuts out the roles that read it (Valohai's role and the queue's: the recipe's readers)."""
    out = []
    account = ctx.snap.account_id if ctx.snap else ""
    for item in ctx.items():
        kw = {"resource_id": item.get("arn"), "resource_name": item.get("name")}
        if "resource_policy" not in item:
            why = ctx.snap.error_at(f"{KINDS[ctx.kind].snapshot}.resource_policy") if ctx.snap else None
            raise Undecidable(why or f"the resource policy of {item.get('name')} could not be read")
        policy = item["resource_policy"]
        expected = f"no Allow to a principal outside account {account}"
        if policy is None:
            out.append(ok(f"{item['name']} has no resource policy", expected, "(none)", **kw))
            continue
        if not isinstance(policy, dict):
            raise Undecidable(f"the resource policy of {item['name']} is not a JSON policy")
        opened = []
        for i, s in enumerate(as_list(policy.get("Statement", []))):
            if not isinstance(s, dict) or s.get("Effect") != "Allow":
                continue
            label = f"statement {s.get('Sid') or i + 1}"
            if "NotPrincipal" in s:
                opened.append(f"{label} allows everyone but NotPrincipal")
                continue
            strangers = _strangers(s.get("Principal"), account)
            if strangers and not _held_to_account(s, account):
                opened.append(f"{label} allows {', '.join(strangers)}")
        readers = {
            ctx.name_of(k): f"arn:{ctx.snap.partition}:iam::{account}:role/{ctx.name_of(k)}"
            for k in ("master_role", "queue_role")
        }
        for i, s in enumerate(as_list(policy.get("Statement", []))):
            if not isinstance(s, dict) or s.get("Effect") != "Deny" or not _action_hits(s, READ):
                continue
            who = _shut_out(s, readers, account)
            if not who:
                continue
            label = f"statement {s.get('Sid') or i + 1}"
            if s.get("Condition"):
                out.append(
                    warn(
                        f"the resource policy of {item['name']}: {label} denies {READ} to {', '.join(who)} under a "
                        "condition vhv does not judge; check that it holds only for requests they never make",
                        "no Deny that shuts out its readers",
                        label,
                        **kw,
                    )
                )
            else:
                opened.append(f"{label} denies {READ} to {', '.join(who)}: they cannot read the Redis password")
        if opened:
            out.append(
                bad(
                    f"the resource policy of {item['name']} opens the secret outside account {account} or shuts out its "
                    "readers: " + "; ".join(opened) + " (the secret is the queue's Redis password)",
                    expected,
                    "; ".join(opened),
                    fix=f"Remove those statements from the resource policy of {item['name']} (Secrets Manager > "
                    f"Secrets > {item['name']} > Resource permissions), or delete the policy: Valohai's role and "
                    "the queue's role read it through their own policies.",
                    **kw,
                )
            )
        else:
            out.append(
                ok(
                    f"the resource policy of {item['name']} allows no one outside the account",
                    expected,
                    "none outside",
                    **kw,
                )
            )
    return out
