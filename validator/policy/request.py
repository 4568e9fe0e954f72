"""Does a statement's Condition hold for one request? IAM's documented evaluation of condition
operators, against a request context that says, per key, what the request carries.

A context maps a lower-case key to the frozenset of values the request carries, or to ABSENT
when the request certainly carries no such key (an IAM user's access key carries no MFA key). A key the context
does not hold is unknown: a condition on it is undecidable (None), never assumed to hold.

Rules followed (IAM User Guide, "Condition operators" and "multivalued context keys"): operators
AND together, keys of one operator AND together, values of one key OR together (a negated
operator: NOR); a key absent from the request makes a condition false, a negated one true;
`...IfExists` is true when the key is absent; `Null: true` holds when it is absent;
`ForAllValues:` holds when the key is absent or every request value matches; `ForAnyValue:`
needs one request value that matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from validator.policy import condition
from validator.policy.document import Condition

ABSENT = None
Context = Mapping[str, "frozenset[str] | None"]
VARIABLE = re.compile(r"\$\{")


def one(op: str, key: str, wanted: frozenset[str], context: Context) -> bool | None:
    """Whether one (operator, key, values) of a condition holds; None when it cannot be said."""
    parsed = condition.parse(op)
    if parsed is None or key not in context or any(VARIABLE.search(w) for w in wanted):
        return None
    have = context[key]
    values = sorted(wanted)
    if have is ABSENT:
        return condition.holds(parsed, values, None)
    got = [condition.holds(parsed, values, v) for v in sorted(have)]
    if None in got:
        return None
    return all(got) if parsed.qualifier == "forallvalues" else any(got)


def holds(condition: Condition, context: Context) -> bool | None:
    """Whether the whole Condition holds: False as soon as one part is false; None when no part is
    false and one cannot be said."""
    unknown = False
    for op, key, wanted in condition:
        got = one(op, key, wanted, context)
        if got is False:
            return False
        unknown |= got is None
    return None if unknown else True


def unknown_keys(condition: Condition, context: Context) -> list[str]:
    """The keys of the condition that cannot be judged against `context`, as written (lower case)."""
    return sorted({key for op, key, wanted in condition if one(op, key, wanted, context) is None})
