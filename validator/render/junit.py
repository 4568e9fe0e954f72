"""JUnit XML (Jenkins, GitLab, Azure DevOps): one testsuite per resource, one testcase per rule and resource.

fail -> <failure>, error (could not be decided) -> <error>, skip -> <skipped>;
pass and warn are passing test cases (a warning is written to <system-out>), so
the counts are the JSON summary's: tests = all, failures = fail, errors = error,
skipped = skip. No timestamps: the same findings give the same file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any

from validator.findings import Finding
from validator.render.common import counts, explanation, group_key, resource_label, title

# XML 1.0 cannot carry most control characters, even escaped
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: Any) -> str:
    return _BAD_XML.sub("\ufffd", str(text))


def _details(f: Finding) -> str:
    lines = [
        f.message,
        "",
        f"rule:     {f.rule_id} ({f.severity}) {f.title}",
        f"resource: {f.resource_type} {resource_label(f)}",
    ]
    lines += [f"{label + ':':<9} {text}" for label, text in explanation(f)]
    return _x("\n".join(lines))


def _totals(el: ET.Element, findings: Sequence[Finding]) -> None:
    c = counts(findings)
    el.set("tests", str(len(findings)))
    el.set("failures", str(c["fail"]))
    el.set("errors", str(c["error"]))
    el.set("skipped", str(c["skip"]))
    el.set("time", "0")


def render(findings: Sequence[Finding], meta: dict[str, Any]) -> str:
    root = ET.Element("testsuites", name=_x(title(meta)))
    _totals(root, findings)
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(group_key(f), []).append(f)
    for key, items in groups.items():
        suite = ET.SubElement(root, "testsuite", name=_x(key))
        _totals(suite, items)
        props = ET.SubElement(suite, "properties")
        for name, value in (
            ("resource_type", items[0].resource_type),
            ("account_id", meta.get("account_id")),
            ("region", meta.get("region")),
        ):
            if value:
                ET.SubElement(props, "property", name=name, value=_x(value))
        seen: dict[str, int] = {}
        for f in items:
            seen[f.rule_id] = seen.get(f.rule_id, 0) + 1
            name = f.rule_id if seen[f.rule_id] == 1 else f"{f.rule_id} #{seen[f.rule_id]}"
            case = ET.SubElement(suite, "testcase", name=_x(name), classname=_x(f"vhv.{key}"), time="0")
            if f.status == "fail":
                el = ET.SubElement(case, "failure", message=_x(f.message), type=f"{f.severity}")
                el.text = _details(f)
            elif f.status == "error":
                el = ET.SubElement(case, "error", message=_x(f.message), type="undecided")
                el.text = _details(f)
            elif f.status == "skip":
                ET.SubElement(case, "skipped", message=_x(f.message))
            elif f.status == "warn":
                ET.SubElement(case, "system-out").text = "WARNING: " + _details(f)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
