"""What a policy's conditions let through that they seem to hold back, and what an instance runs
without: advisories where a recipe is weaker than the guide or AWS's guidance."""

from __future__ import annotations

from typing import Any

from validator.checks import STR, STRS, Outcome, bad, evaluator, ok, optional, warn
from validator.checks.context import Context
from validator.checks.iam import _policy
from validator.policy.document import action_matches


@evaluator("allows_when_key_absent", actions=STRS, key=STR, why=STR)
def allows_when_key_absent(ctx: Context, actions: list[str], key: str, why: str) -> list[Outcome]:
    """No Allow statement grants one of `actions` under a condition on the single-valued `key` that
    holds when the key is absent (ForAllValues:..., or an ...IfExists operator): such a statement
    reaches every resource without the tag (AWS: use ForAllValues only with multivalued keys)."""
    pol, sts, where = _policy(ctx)
    found = []
    for st in sts:
        if st.effect != "Allow":
            continue
        acts = [a for a in actions if any(action_matches(p, a) for p in st.actions or ())]
        ops = [
            op
            for op, k, _ in st.written
            if k.lower() == key.lower() and (op.lower().startswith("forallvalues:") or op.lower().endswith("ifexists"))
        ]
        if acts and ops:
            found.append(f"{', '.join(acts)} under {ops[0]} on {key} ({st.label})")
    kw: dict[str, Any] = {"resource_id": pol.get("arn")}
    expected = f"{', '.join(actions)} only where {key} is present and matches"
    if not found:
        return [ok(f"{where} allows none of {', '.join(actions)} where {key} is absent", expected, "none", **kw)]
    return [
        warn(
            f"{where} allows {'; '.join(found)}: that condition is true when the single-valued key is absent, so "
            f"these reach every resource without the tag. {why}",
            expected,
            "; ".join(found),
            **kw,
        )
    ]


@evaluator("instance_profile_attached", why=STR, profile=optional(STR), none=optional({"enum": ["warn", "fail"]}))
def instance_profile_attached(ctx: Context, why: str, profile: str = "", none: str = "warn") -> list[Outcome]:
    """The instance runs with an IAM instance profile (what it reads, it reads with its role): with
    none, a warning (`none: fail`: a failure) that says `why`; with `profile` (a kind), another
    profile fails: the instance, open to the internet, then acts with another role."""
    out = []
    wanted = ctx.name_of(profile) if profile else ""
    for item in ctx.items():
        label = f"{item.get('name') or ctx.name} ({item['id']})"
        arn = item.get("instance_profile")
        kw = {"resource_id": item["id"], "resource_name": item.get("name") or ctx.name}
        name = arn.rsplit("/", 1)[-1] if arn else ""
        if arn and (not wanted or name == wanted):
            out.append(ok(f"{label} runs with instance profile {name}", wanted or "a profile", arn, **kw))
        elif arn:
            out.append(
                bad(
                    f"{label} runs with instance profile {name}, not {wanted}: it acts with that profile's role, "
                    f"not the one the recipe gives it ({wanted}, which may read only the queue's Redis secret)",
                    wanted,
                    name,
                    **kw,
                )
            )
        else:
            said = f"{label} runs with no instance profile" + (f", not {wanted}" if wanted and none == "fail" else "")
            outcome = bad if none == "fail" else warn
            out.append(outcome(f"{said}: {why}", wanted or "an instance profile", "(none)", **kw))
    return out
