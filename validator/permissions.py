"""The IAM policy vhv itself needs, built from what the catalogue declares.

The actions are declared once, per kind, in rules/catalogue.yaml: validator.aws.account.PERMISSIONS
for `check` (who it is, and the kinds' read_actions: exactly the reads the rules need); for
`remediate --fix`, also validator.aws.account.FIX_PERMISSIONS (the fix_read_actions: the reads
only the fixers use, made by read(for_fix=True)) and the fixers' own actions
(validator.fixers.permissions()). Nothing here is a second copy.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

from validator import __version__
from validator.aws.account import FIX_PERMISSIONS, PERMISSIONS
from validator.errors import VhvError

VERSION = "2012-10-17"


def check_actions() -> list[str]:
    return sorted(set(PERMISSIONS))


def fix_read_actions() -> list[str]:
    """The reads `remediate` makes beyond check's (for the fixers only)."""
    return sorted(set(FIX_PERMISSIONS) - set(check_actions()))


def fix_actions() -> list[str] | None:
    """What remediation calls beyond check's reads (the fixers' reads and writes), or None
    when this vhv has no remediation.

    Uses validator.fixers.permissions() when the package provides one, else the
    PERMISSIONS tuples of its modules."""
    try:
        pkg = importlib.import_module("validator.fixers")
    except ImportError:
        return None
    provided = getattr(pkg, "permissions", None)
    if callable(provided):
        found = set(provided())
    else:
        found = set(getattr(pkg, "PERMISSIONS", ()))
        for mod in pkgutil.iter_modules(getattr(pkg, "__path__", [])):
            found.update(getattr(importlib.import_module(f"{pkg.__name__}.{mod.name}"), "PERMISSIONS", ()))
    if not found:
        return None
    return sorted((found | set(fix_read_actions())) - set(check_actions()))


def policy(fix: bool = False) -> dict[str, Any]:
    """The policy document: one statement for check's reads; with `fix`, one for what remediation
    adds (the fixers' own reads and their writes)."""
    statements = [{"Sid": "VhvCheckReadOnly", "Effect": "Allow", "Action": check_actions(), "Resource": "*"}]
    if fix:
        writes = fix_actions()
        if writes is None:
            raise VhvError(
                f"remediation is not available in this version of vhv ({__version__}); "
                "`vhv permissions` without --fix prints what `check` needs"
            )
        if writes:
            statements.append({"Sid": "VhvRemediate", "Effect": "Allow", "Action": writes, "Resource": "*"})
    return {"Version": VERSION, "Statement": statements}


def render(doc: dict[str, Any], fmt: str) -> str:
    """console: the policy document, ready to paste; json: the same with what it is for."""
    if fmt == "json":
        actions = sorted({a for s in doc["Statement"] for a in s["Action"]})
        return json.dumps({"tool": "vhv", "version": __version__, "actions": actions, "policy": doc}, indent=2) + "\n"
    return json.dumps(doc, indent=2) + "\n"
