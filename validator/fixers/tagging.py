"""The tag fix of the EC2 kinds (ec2.create_tags), which each EC2 fixer module registers as its `tag`."""

from __future__ import annotations

from validator.fixers.builder import Builder
from validator.rulepack import Rule


def tag_each(b: Builder, kind: str, rules: list[Rule]) -> None:
    """For each failing finding of `rules` (each a `tag` rule: args key and value), tag what it names,
    or say why vhv leaves it (out of scope)."""
    for rule in rules:
        tag_ec2(b, rule, kind, rule.args["key"], rule.args["value"])


def tag_ec2(b: Builder, rule: Rule, kind: str, key: str, value: str) -> None:
    for f in b.fails(rule):
        rid = f.resource_id or b.id_of(kind)
        why = b.scope_of_id(kind, rid) if rid else None
        if why:
            b.leave(rule.id, kind, f, why)
        elif rid:
            b.add(
                rule.id,
                kind,
                "ec2.create_tags",
                {"Resources": [rid], "Tags": [{"Key": key, "Value": value}]},
                f"tag {f.resource_name or kind} ({rid}) {key}={value}",
                resource=f.resource_name or None,
            )
