"""What a role's other policies grant beyond the guide.

The guide's own policy is judged by its rules (`policy_within`); this judges, by meaning, every
other identity policy of the role: its inline policies and the managed policies attached beside
the guide's (but those the rule names in `elsewhere`, whose attachment its own rules judge). Each
statement that grants more than the guide asks is one failure, with a severity set by the most
dangerous action it adds (the rule's `severity_of` table: iam:PassRole above a write, a write above
a describe). A grant a permissions boundary or a Deny holds back today still fails: it is written,
and it acts the day the boundary or the Deny changes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from validator.checks import STRS, Outcome, bad, evaluator, ok, optional
from validator.checks.context import Context
from validator.checks.effective import InPolicy, other_policies, read_named
from validator.checks.iam import ALSO, SPECS, within_specs
from validator.findings import SEVERITIES
from validator.kinds import KINDS, inline_guide_policy
from validator.policy import compare
from validator.policy.catalogue import access_level, spelled
from validator.policy.document import action_matches

# the severity of an added action: the first entry whose every criterion it meets
SEVERITY_OF = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "properties": {
            "severity": {"enum": list(SEVERITIES)},
            "actions": STRS,  # action patterns (iam:PassRole)
            "services": STRS,  # service prefixes (iam, sts)
            "access": STRS,  # access levels of the Service Authorization Reference (Write, List)
        },
        "required": ["severity"],
        "additionalProperties": False,
    },
}


def other_documents(ctx: Context, elsewhere: list[str]) -> tuple[list[InPolicy], list[str], set[str]]:
    """The statements of the role's inline policies and of its managed policies but the guide's and
    those in `elsewhere`, each named with its policy; the policies' names; and those of them that
    AWS manages (they cannot be edited, only detached)."""
    # the guide's policy, inline where a recipe writes it so, is judged by its own rules
    docs = other_policies(ctx, set(ctx.expand(elsewhere)), {inline_guide_policy(ctx.kind)})
    found = [s for p, where in docs for s in read_named(p["document"], where, ctx.name)]
    aws_managed = {where for p, where in docs if str(p.get("arn") or "").split(":")[4:5] == ["aws"]}
    return found, [where for _, where in docs], aws_managed


@lru_cache(maxsize=65536)
def _severity(action: str, table: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]) -> str:
    levels = {x.strip() for x in (access_level(action) or "").split(",") if x.strip()}
    service = action.partition(":")[0].lower()
    for severity, patterns, services, access in table:
        if patterns and not any(action_matches(p, action) for p in patterns):
            continue
        if services and service not in services:
            continue
        if access and not levels & set(access):
            continue
        return severity
    return SEVERITIES[-1]


def _table(
    severity_of: list[dict[str, Any]],
) -> tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...]:
    return tuple(
        (
            e["severity"],
            tuple(e.get("actions", ())),
            tuple(s.lower() for s in e.get("services", ())),
            tuple(e.get("access", ())),
        )
        for e in severity_of
    )


def _worst(actions: frozenset[str], table: Any) -> tuple[str, str]:
    """The highest severity among `actions`, and one action that reaches it (AWS's spelling)."""
    best, why = SEVERITIES[-1], ""
    for a in sorted(actions):
        sev = _severity(a, table)
        if SEVERITIES.index(sev) < SEVERITIES.index(best) or not why:
            best, why = sev, a
            if best == SEVERITIES[0]:
                break
    return best, spelled(why) if why else ""


@evaluator(
    "role_within",
    statements=SPECS,
    severity_of=SEVERITY_OF,
    also=optional(ALSO),
    elsewhere=optional(STRS),
)
def role_within(
    ctx: Context,
    statements: list[dict[str, Any]],
    severity_of: list[dict[str, Any]],
    also: list[dict[str, Any]] | None = None,
    elsewhere: list[str] | None = None,
) -> list[Outcome]:
    """Nothing in the role's inline policies and other managed policies (but the guide's own and
    those in `elsewhere`) is wider than the guide's `statements` (and the `also` ones the params ask
    for). Each statement that is wider fails on its own, its severity the highest `severity_of`
    gives an action it adds."""
    role = ctx.resource()
    found, names, aws_managed = other_documents(ctx, elsewhere or [])
    specs = within_specs(ctx, statements, also)
    table = _table(severity_of)
    asker = KINDS[ctx.kind].asked_by
    by_statement: dict[str, list[compare.Extra]] = {}
    for e in compare.wider_parts(found, specs, asker):
        by_statement.setdefault(e.statement.label, []).append(e)
    kw = {"resource_id": role.get("arn")}
    expected = f"no grant beyond {asker} in any other policy of the role"
    if not by_statement:
        judged = f" ({', '.join(names)})" if names else " (it has none)"
        return [
            ok(f"{ctx.name}'s other policies grant nothing beyond {asker}{judged}", expected, "nothing wider", **kw)
        ]
    out = []
    for label, extras in by_statement.items():
        texts = list(dict.fromkeys(e.text for e in extras))
        added = frozenset().union(*(e.actions for e in extras))
        severity, why = _worst(added, table)
        reason = f" ({severity}: it allows {why})" if why else ""
        where = label.split(" of ", 1)[-1]
        out.append(
            bad(
                f"{ctx.name} is allowed more than {asker} asks by {label}: " + "; ".join(texts) + reason,
                expected,
                "; ".join(texts),
                severity=severity,
                fix=(
                    f"Detach {where.split(' (', 1)[0]} from {ctx.name} (AWS manages it: it cannot be edited); "
                    if where in aws_managed
                    else f"Remove {label.split(' of ', 1)[0]} from {where} of {ctx.name} (or narrow it to {asker}'s "
                    "actions and resources); "
                )
                + f"{asker} grants the role everything it needs through its own policy.",
                **kw,
            )
        )
    return out
