"""Lint checks on the shape of a policy: the elements IAM's grammar allows."""

from __future__ import annotations

import json
import re
from typing import Any

from validator.policy.catalogue import nearest
from validator.policy.lintmodel import IDENTITY, RESOURCE, TRUST, TRUST_ACTIONS, Issue, Stmt, shown

VERSION = "2012-10-17"
TOP_KEYS = ("Version", "Id", "Statement")
STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_SID = re.compile(r"[A-Za-z0-9]*\Z")


def _unknown(key: str, allowed: tuple[str, ...], ptr: str, where: str) -> Issue:
    near = nearest(key, allowed, cutoff=0.6)
    return Issue(
        "lint-unknown-key",
        ptr,
        f"unknown key {shown(key)} in {where}",
        f'"{near}"' if near else "one of: " + ", ".join(allowed),
        key,
        at_key=True,
    )


_ASSUME = {a.lower() for a in TRUST_ACTIONS}
_KIND_WORDS = {IDENTITY: "statement", TRUST: "trust policy statement", RESOURCE: "resource policy statement"}


def kind_of(doc: Any, trust_flag: bool | None = None) -> str:
    """IDENTITY, TRUST or RESOURCE. `trust_flag` True or False says trust or identity; else a
    document without Principal is an identity policy, and one with Principal a resource policy
    (an S3 bucket policy) when it names a Resource and an action other than sts:AssumeRole and
    its variants, a trust policy otherwise (a trust policy with a stray Resource stays one, and
    is told that it takes none)."""
    if trust_flag is not None:
        return TRUST if trust_flag else IDENTITY
    raw = doc.get("Statement") if isinstance(doc, dict) else None
    objects = (
        [raw] if isinstance(raw, dict) else [s for s in raw if isinstance(s, dict)] if isinstance(raw, list) else []
    )
    if not any("Principal" in s or "NotPrincipal" in s for s in objects):
        return IDENTITY
    if not any("Resource" in s or "NotResource" in s for s in objects):
        return TRUST
    for s in objects:
        for key in ("Action", "NotAction"):
            value = s.get(key)
            for a in [value] if isinstance(value, str) else value if isinstance(value, list) else []:
                if isinstance(a, str) and a.lower() not in _ASSUME:
                    return RESOURCE
    return TRUST


def document(doc: dict[str, Any], kind: str, limit: int | None = None) -> tuple[list[Issue], list[Stmt], list[int]]:
    """Top-level checks; returns the issues, the statements that are objects (the first
    `limit` of them, each of `kind`) and the index of each object statement past the limit."""
    out: list[Issue] = []
    for key in doc:
        if key not in TOP_KEYS:
            out.append(_unknown(key, TOP_KEYS, "/" + key.replace("~", "~0").replace("/", "~1"), "the policy"))
    version = doc.get("Version")
    if "Version" not in doc:
        out.append(
            Issue("lint-missing-version", "", 'the policy has no "Version"', f'"Version": "{VERSION}" as the first key')
        )
    elif version != VERSION:
        what = "the old 2008-10-17 policy language" if version == "2008-10-17" else f"unknown version {shown(version)}"
        out.append(
            Issue("lint-old-version", "/Version", f'"Version" is {what}', f'"Version": "{VERSION}"', str(version))
        )
    raw = doc.get("Statement")
    stmts: list[Stmt] = []
    rest: list[int] = []
    if isinstance(raw, dict):
        stmts.append(Stmt(0, "/Statement", raw, kind))
    elif isinstance(raw, list) and raw:
        for i, st in enumerate(raw):
            if isinstance(st, dict):
                if limit is not None and len(stmts) >= limit:
                    rest.append(i)  # a Stmt costs microseconds; 100,000 of them a third of a second
                else:
                    stmts.append(Stmt(i, f"/Statement/{i}", st, kind))
            else:
                out.append(
                    Issue(
                        "lint-statement-shape",
                        f"/Statement/{i}",
                        f"statement #{i + 1} is {kind_name(st)}, not an object",
                        '{"Effect": "Allow", "Action": ..., "Resource": ...}',
                    )
                )
    else:
        where = "" if raw is None else "/Statement"
        what = 'has no "Statement"' if raw is None else f'has a "Statement" that is {kind_name(raw)}'
        out.append(
            Issue(
                "lint-statement-shape",
                where,
                f"the policy {what}",
                '"Statement": [{"Effect": "Allow", "Action": ..., "Resource": ...}]',
            )
        )
    return out, stmts, rest


def kind_name(v: Any) -> str:
    if isinstance(v, list):
        return "an empty list" if not v else "a list"
    return {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}.get(type(v), "a number")


def statement(st: Stmt, seen_sids: dict[str, str]) -> list[Issue]:
    out: list[Issue] = []
    kind = _KIND_WORDS[st.kind]
    for key in st.raw:
        if key not in STATEMENT_KEYS:
            out.append(_unknown(key, STATEMENT_KEYS, st.at(key), f"statement #{st.index + 1}"))
        elif st.trust and key in ("Resource", "NotResource"):
            out.append(
                Issue(
                    "lint-unknown-key",
                    st.at(key),
                    f"a trust policy statement takes no {shown(key)}",
                    f"remove {shown(key)}: the resource is the role itself",
                    key,
                    at_key=True,
                )
            )
        elif st.kind == IDENTITY and key in ("Principal", "NotPrincipal"):
            out.append(
                Issue(
                    "lint-unknown-key",
                    st.at(key),
                    f"an identity policy takes no {shown(key)}",
                    f"remove {shown(key)} (or lint the file with --trust)",
                    key,
                    at_key=True,
                )
            )
    sid = st.raw.get("Sid")
    if "Sid" in st.raw:
        if not isinstance(sid, str):
            out.append(Issue("lint-value-type", st.at("Sid"), f"Sid is {kind_name(sid)}", 'a string such as "1"'))
        elif not _SID.match(sid):
            fixed = re.sub(r"[^A-Za-z0-9]", "", sid.title())
            out.append(
                Issue(
                    "lint-sid-format",
                    st.at("Sid"),
                    f"Sid {shown(sid)} has characters other than A-Z, a-z, 0-9",
                    f'"Sid": "{fixed}"',
                    sid,
                )
            )
        elif sid in seen_sids:
            out.append(
                Issue(
                    "lint-duplicate-sid",
                    st.at("Sid"),
                    f"Sid {shown(sid)} is also the Sid of {seen_sids[sid]}",
                    "a Sid unique in the policy",
                    sid,
                )
            )
        else:
            seen_sids[sid] = f"statement #{st.index + 1}"
    effect = st.raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        fix = str(effect).capitalize() if str(effect).lower() in ("allow", "deny") else "Allow"
        what = 'has no "Effect"' if "Effect" not in st.raw else f'has "Effect": {_show(effect)}'
        out.append(
            Issue(
                "lint-effect",
                st.at("Effect") if "Effect" in st.raw else st.ptr,
                f'statement #{st.index + 1} {what}; IAM takes exactly "Allow" or "Deny"',
                f'"Effect": "{fix}"',
                str(effect),
            )
        )
    out += _pair(st, "Action", "NotAction", "lint-action-element", required=True)
    out += _pair(st, "Resource", "NotResource", "lint-resource-element", required=not st.trust)
    if st.kind != IDENTITY and "Principal" not in st.raw and "NotPrincipal" not in st.raw:
        out.append(
            Issue(
                "lint-trust-missing-principal",
                st.ptr,
                f'{kind} #{st.index + 1} has no "Principal"',
                '"Principal": {"AWS": "arn:aws:iam::ACCOUNT:role/NAME"} or {"Service": "ec2.amazonaws.com"}',
            )
        )
    for key in ("Action", "NotAction", "Resource", "NotResource"):
        if key in st.raw:
            out += _strings(st, key)
    out += _condition_shape(st)
    out += _principal_shape(st)
    return out


def _show(v: Any) -> str:

    return json.dumps(v)


def _pair(st: Stmt, a: str, b: str, rule: str, required: bool) -> list[Issue]:
    if a in st.raw and b in st.raw:
        return [
            Issue(
                rule,
                st.at(b),
                f"statement #{st.index + 1} has both {shown(a)} and {shown(b)}",
                f'only one of them: usually "{a}"',
                at_key=True,
            )
        ]
    if required and a not in st.raw and b not in st.raw:
        return [
            Issue(
                rule,
                st.ptr,
                f"statement #{st.index + 1} has neither {shown(a)} nor {shown(b)}",
                f'"{a}": ' + ('"*"' if a == "Resource" else '["service:Action", ...]'),
            )
        ]
    return []


def _strings(st: Stmt, key: str) -> list[Issue]:
    value = st.raw[key]
    if isinstance(value, str):
        return (
            []
            if value
            else [
                Issue(
                    "lint-value-type",
                    st.at(key),
                    f"{key} is an empty string",
                    f"a {key.lower()} such as " + ('"*"' if "Resource" in key else '"ec2:DescribeInstances"'),
                )
            ]
        )
    if isinstance(value, list) and value:
        return [
            Issue(
                "lint-value-type",
                st.at(key, i),
                f"{key} item #{i + 1} is {kind_name(v)}, not a string",
                "a string",
                _show(v),
            )
            for i, v in enumerate(value)
            if not isinstance(v, str) or not v
        ]
    return [
        Issue(
            "lint-value-type",
            st.at(key),
            f"{key} is {kind_name(value)}",
            "a string or a non-empty list of strings",
            _show(value),
        )
    ]


def _condition_shape(st: Stmt) -> list[Issue]:
    if "Condition" not in st.raw:
        return []
    cond = st.raw["Condition"]
    if not isinstance(cond, dict):
        return [
            Issue(
                "lint-value-type",
                st.at("Condition"),
                f"Condition is {kind_name(cond)}",
                '{"OPERATOR": {"KEY": "VALUE"}}',
                _show(cond),
            )
        ]
    out = []
    for op, block in cond.items():
        if not isinstance(block, dict) or not block:
            out.append(
                Issue(
                    "lint-value-type",
                    st.at("Condition", op),
                    f"condition operator {shown(op)} maps to {kind_name(block)}",
                    f'"{op}": {{"KEY": "VALUE"}}',
                    _show(block),
                )
            )
            continue
        for key, values in block.items():
            vals = values if isinstance(values, list) else [values]
            if not vals or any(isinstance(v, (dict, list)) or v is None for v in vals):
                out.append(
                    Issue(
                        "lint-value-type",
                        st.at("Condition", op, key),
                        f"condition {op} {shown(key)} has {kind_name(values)} as its value",
                        "a string or a non-empty list of strings",
                        _show(values),
                    )
                )
    return out


def _principal_shape(st: Stmt) -> list[Issue]:
    out = []
    for key in ("Principal", "NotPrincipal"):
        if key not in st.raw:
            continue
        p = st.raw[key]
        if p == "*":
            continue
        if not isinstance(p, dict) or not p:
            out.append(
                Issue(
                    "lint-trust-principal-invalid",
                    st.at(key),
                    f"{key} is {kind_name(p)}",
                    '{"AWS": "arn:aws:iam::ACCOUNT:role/NAME"} or {"Service": "ec2.amazonaws.com"}',
                    _show(p),
                )
            )
            continue
        for kind, v in p.items():
            vals = v if isinstance(v, list) else [v]
            if not vals or not all(isinstance(x, str) and x for x in vals):
                out.append(
                    Issue(
                        "lint-value-type",
                        st.at(key, kind),
                        f"{key} {shown(kind)} is {kind_name(v)}",
                        "a string or a non-empty list of strings",
                        _show(v),
                    )
                )
    return out
