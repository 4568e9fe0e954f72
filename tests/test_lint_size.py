"""`vhv lint` (and the policy rules of `vhv check`) on huge and hostile policies: what
they find, not how fast. Each case would hang or take minutes with a pairwise check, a
backtracking regex or a recursive matcher; here it must give the right findings. A policy
larger than IAM accepts gets lint-policy-size (an error), and whatever vhv leaves out of
such a policy is said (lint-check-skipped), never silently dropped."""

from __future__ import annotations

import json
import random
import re

import pytest

from validator import guide
from validator.policy import arn, compare, meaning
from validator.policy import lint as lint_mod
from validator.policy.document import read_once, statements
from validator.policy.glob import Glob, squeeze_stars
from validator.policy.lint import MAX_LISTED, MAX_POLICY_SIZE, MAX_STATEMENTS, lint_document, lint_text
from validator.policy.lintmodel import Stmt

V = "2012-10-17"
ROLE = "arn:aws:iam::123456789012:role/ValohaiWorkerRole"


def pol(*statements: dict) -> dict:
    return {"Version": V, "Statement": list(statements)}


def allow(action: object, resource: object = "*", **more: object) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def lint(doc: object, text: str | None = None) -> list:
    return lint_text(text if text is not None else json.dumps(doc), "p.json")


def rules(found: list) -> set[str]:
    return {f.rule_id for f in found}


# ------------------------------------------------------------------ size


def test_a_policy_of_100000_statements_gets_the_size_finding_and_fails() -> None:
    found = lint(pol(*[allow("ec2:DescribeInstances")] * 100_000))
    [size] = [f for f in found if f.rule_id == "lint-policy-size"]
    assert (size.status, size.severity, size.line, size.column, size.pointer) == ("fail", "high", 1, 1, "")
    assert "IAM accepts at most 10,240" in size.message and "6,144 for a managed policy" in size.message
    chars = len(json.dumps(pol(*[allow("ec2:DescribeInstances")] * 100_000), separators=(",", ":")))
    assert f"{chars:,} characters" in size.message


def test_the_size_limit_counts_no_whitespace_and_is_exact() -> None:
    def doc(n: int) -> dict:  # a policy of exactly n characters once whitespace is gone
        base = json.dumps(pol(allow("ec2:DescribeInstances", Sid="")), separators=(",", ":"))
        return pol(allow("ec2:DescribeInstances", Sid="A" * (n - len(base))))

    assert len(json.dumps(doc(MAX_POLICY_SIZE), separators=(",", ":"))) == MAX_POLICY_SIZE
    assert "lint-policy-size" not in rules(lint(None, json.dumps(doc(MAX_POLICY_SIZE), indent=8)))
    assert "lint-policy-size" in rules(lint(doc(MAX_POLICY_SIZE + 1)))


def test_a_policy_iam_accepts_is_checked_and_listed_in_full() -> None:
    # 1,400 duplicate actions in under 10,240 characters: every one listed, no note, no size finding
    actions = ["ec2:DescribeVpcs"] + ["s3:A"] * 1400
    doc = pol(allow(actions))
    assert len(json.dumps(doc, separators=(",", ":"))) < MAX_POLICY_SIZE
    found = lint(doc)
    assert [f.rule_id for f in found].count("lint-redundant-action") == 1399
    assert not rules(found) & {"lint-policy-size", "lint-check-skipped"}


def test_beyond_the_size_limit_each_check_lists_its_first_findings_and_counts_the_rest() -> None:
    found = lint(pol(*[allow(f"ec2:NoSuchAction{i}") for i in range(3000)]))
    unknown = [f for f in found if f.rule_id == "lint-unknown-action"]
    assert len(unknown) == MAX_LISTED
    [note] = [f for f in found if f.rule_id == "lint-check-skipped"]
    assert note.message.startswith(f"{3000 - MAX_LISTED:,} more lint-unknown-action finding(s)")
    assert note.pointer == f"/Statement/{MAX_LISTED}/Action" and note.status == "warn"
    assert any(f.status == "fail" for f in found)  # the size finding fails it: no false pass


def test_beyond_the_size_limit_statements_after_the_first_ten_thousand_are_not_checked_and_it_says_so() -> None:
    n = MAX_STATEMENTS + 500
    doc = pol(
        *[allow("ec2:DescribeInstances", f"arn:aws:ec2:eu-west-1:123456789012:instance/i-{i:017x}") for i in range(n)]
    )
    issues = lint_document(doc)
    notes = [i for i in issues if i.rule == "lint-check-skipped" and "statement(s)" in i.message]
    assert [i.pointer for i in notes] == [f"/Statement/{MAX_STATEMENTS}"]
    assert notes[0].message.startswith(f"500 statement(s) from statement #{MAX_STATEMENTS + 1} on were not checked")
    assert "lint-policy-size" in {i.rule for i in issues}


def test_beyond_the_size_limit_resources_after_the_first_20000_are_not_compared_and_it_says_so() -> None:
    resources = [f"arn:aws:s3:::bucket-{i}/*" for i in range(25_000)]
    resources[10] = resources[20_010] = "arn:aws:s3:::Bad Bucket/*"
    found = lint(pol(allow("s3:GetObject", resources)))
    assert [f.pointer for f in found if f.rule_id == "lint-s3-bucket-name"] == ["/Statement/0/Resource/10"]
    [note] = [f for f in found if f.rule_id == "lint-check-skipped"]
    assert note.pointer == "/Statement/0/Resource/20000" and note.actual == "lint-arn-field"
    assert "vhv stops checking Resources against the ARN formats" in note.message
    assert "lint-policy-size" in rules(found)


def test_a_statement_repeated_20000_times_is_judged_once_and_reported_at_each_copy() -> None:
    doc = pol(*[allow(["ec2:DescribeVpcs", "ec2:describevpcs"], Sid=f"S{i}") for i in range(20_000)])
    found = lint(doc)
    redundant = [f for f in found if f.rule_id == "lint-redundant-action"]
    assert len(redundant) == MAX_LISTED
    assert [f.pointer for f in redundant[:2]] == ["/Statement/0/Action/1", "/Statement/1/Action/1"]
    assert "lint-check-skipped" in rules(found)


def test_statements_that_differ_only_in_sid_give_what_judging_each_gives_while_the_budgets_run_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # judged once and replayed while replaying spends no more than is left; the wildcard and the
    # Resource budgets run out part-way, and the notes fall where judging each one puts them
    wild = allow(
        ["ec2:Describe*", "ec2:Get*", "iam:Pass*", "s3:GetObject", "ec2:DescribeVpcs"],
        [f"arn:aws:ec2:eu-west-1:123456789012:instance/i-{j}" for j in range(30)],
    )
    plain = allow(
        ["ec2:RunInstances", "ec2:runinstances"],
        ["*", "arn:aws:s3:::b/*"],
        Condition={"ForAllValues:StringEquals": {"aws:ResourceTag/Valohai": "1"}},
    )
    doc = pol(*[dict(wild if i % 3 else plain, Sid=f"S{i}") for i in range(1500)], dict(plain))
    fast = lint_document(doc)
    monkeypatch.setattr(lint_mod, "_afford", lambda budget, spent: False)  # judge every statement anew
    assert lint_document(doc) == fast
    notes = {i.actual for i in fast if i.rule == "lint-check-skipped"}
    assert {"lint-pattern-matches-nothing", "lint-arn-field"} <= notes


def test_a_statement_with_a_misspelling_repeated_under_new_sids_is_reported_at_each_copy() -> None:
    # a spelling suggestion is not replayed (its budget and cache are the checks' own): each is judged
    doc = pol(*[allow("ec2:DescribeInstnces", Sid=f"S{i}") for i in range(300)])
    unknown = [i for i in lint_document(doc) if i.rule == "lint-unknown-action"]
    assert [i.pointer for i in unknown] == [f"/Statement/{i}/Action" for i in range(300)]
    assert len({i.message + i.expected for i in unknown}) == 1 and "ec2:DescribeInstances" in unknown[0].expected


# ------------------------------------------------------------------ pairwise checks, exact and fast


def test_20000_distinct_actions_where_the_last_one_is_a_duplicate() -> None:
    actions = [f"zzz:Action{i}" for i in range(20_000)] + ["ZZZ:action7"]
    found = lint(pol(allow(actions)))
    [dup] = [f for f in found if f.rule_id == "lint-redundant-action"]
    assert dup.pointer == "/Statement/0/Action/20000"
    assert dup.message == "action 'ZZZ:action7' is listed twice in the same statement"


def test_20000_distinct_actions_where_the_last_one_is_covered_by_a_wildcard_in_the_middle() -> None:
    actions = (
        [f"zzz:Action{i}" for i in range(10_000)]
        + ["yyy:Get*"]
        + [f"xxx:Other{i}" for i in range(10_000)]
        + ["yyy:GetThing"]
    )
    found = lint(pol(allow(actions)))
    [covered] = [f for f in found if f.rule_id == "lint-redundant-action"]
    assert covered.pointer == "/Statement/0/Action/20001"
    assert covered.message == "action 'yyy:GetThing' is already covered by 'yyy:Get*' in the same statement"
    # 20,000 unknown services are listed in part (a note counts the rest); every pair was compared
    assert [f.actual for f in found if f.rule_id == "lint-check-skipped"] == ["lint-unknown-service"]


def test_wildcards_that_share_a_service_prefix_beyond_the_size_limit_are_cut_short_with_a_note() -> None:
    # 3,000 wildcards and 3,000 actions of one service: 9 million comparisons, more than the
    # budget of a policy far past IAM's limit
    actions = [f"zzz:*{i}*" for i in range(3000)] + [f"zzz:Q{i}" for i in range(3000)] + ["zzz:Q1"]
    issues = lint_document(pol(allow(actions)))
    notes = [i for i in issues if i.rule == "lint-check-skipped" and i.actual == "lint-redundant-action"]
    assert len(notes) == 1
    assert "lint-redundant-action was not checked from here on" in notes[0].message
    # duplicates are a set lookup: still found after the note
    assert [i.pointer for i in issues if i.rule == "lint-redundant-action"][-1] == "/Statement/0/Action/6000"


def _reference_redundant(actions: list[str]) -> list[tuple[str, str]]:
    """The pairwise check as it was (regexes over every pair), for small inputs."""
    out, first = [], set()
    wild = [
        (
            p,
            re.compile(
                "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in squeeze_stars(p.lower()))
            ),
        )
        for p in actions
        if "*" in p or "?" in p
    ]
    for j, p in enumerate(actions):
        low = p.lower()
        if low in first:
            out.append((f"/Statement/0/Action/{j}", "twice"))
            continue
        first.add(low)
        cover = next((w for w, rx in wild if w.lower() != low and rx.fullmatch(low)), None)
        if cover:
            out.append((f"/Statement/0/Action/{j}", cover))
    return out


def test_the_grouped_redundancy_check_finds_exactly_what_the_pairwise_one_did() -> None:
    rng = random.Random(7)
    words = ["ec2:", "s3:", "EC2:", "Get", "get", "Object", "*", "?", "Describe", ":", "e", "*:", "s?:"]
    for _ in range(3000):
        actions = ["".join(rng.choice(words) for _ in range(rng.randint(1, 4))) for _ in range(rng.randint(1, 8))]
        st = Stmt(0, "/Statement/0", allow(actions))
        got = [
            (
                i.pointer,
                "twice"
                if "listed twice" in i.message
                else re.search(r"covered by '(.*)' in the same statement\Z", i.message).group(1),
            )
            for i in meaning.redundant(st)
        ]
        want = [(ptr, cover) for ptr, cover in _reference_redundant(actions)]
        assert got == want, actions


# ------------------------------------------------------------------ wildcards: no backtracking


def test_a_10_mb_action_gets_a_finding_naming_it_in_short() -> None:
    pattern = "s3:" + "Get*" * (2 * 1024 * 1024)
    [f] = [f for f in lint(pol(allow(pattern))) if f.rule_id == "lint-pattern-matches-nothing"]
    assert f.message.startswith("action pattern 's3:Get*Get*Get*")
    assert f"({len(pattern):,} characters" in f.message and "no s3 action is that long" in f.message
    assert len(f.message) < 30_000 and len(f.actual) < 30_000

    literal = "s3:" + "A" * (10 * 1024 * 1024)
    [g] = [f for f in lint(pol(allow(literal))) if f.rule_id == "lint-unknown-action"]
    assert g.message.startswith("unknown action 's3:AAAA") and len(g.message) < 30_000


def test_wildcard_patterns_that_backtrack_exponentially_in_a_regex_are_matched_at_once() -> None:
    bomb = "s3:" + "*a" * 60 + "b"  # `.*a` sixty times against 100 a's: 2^100 tries for `re`
    text = "s3:" + "a" * 100 + "c"
    assert not Glob(bomb, True).match(text)
    assert Glob(bomb, True).match("s3:" + "a" * 100 + "b")
    found = lint(pol(allow([bomb, text, "*" * 5000 + "a"])))
    assert "lint-redundant-action" not in rules(found)
    # a Resource pattern of the same kind against IAM's role ARNs (lint-passrole-star)
    found = lint(pol(allow("iam:PassRole", "arn:aws:iam::123456789012:role/" + "*a" * 2000)))
    assert "lint-passrole-star" not in rules(found)


def test_globs_match_as_the_regex_translation_does() -> None:
    rng = random.Random(5)
    for _ in range(20_000):
        p = "".join(rng.choice("ab*?/:A") for _ in range(rng.randint(0, 8)))
        t = "".join(rng.choice("ab/:A*?") for _ in range(rng.randint(0, 10)))
        ic = rng.random() < 0.5
        body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in squeeze_stars(p))
        want = re.compile(body, re.S | (re.I if ic else 0)).fullmatch(t) is not None
        assert Glob(p, ic).match(t) == want, (p, t, ic)


def test_two_globs_intersect_as_the_pair_search_said() -> None:
    sl = arn.SLASHLESS

    def reference(a: str, b: str) -> bool:
        reach = {(0, 0)}
        todo = [(0, 0)]
        while todo:
            i, j = todo.pop()
            nxt = []
            if i < len(a) and a[i] == "*":
                nxt += [(i + 1, j)] + ([(i, j + 1)] if j < len(b) else [])
            elif j < len(b) and b[j] == "*":
                nxt += [(i, j + 1)] + ([(i + 1, j)] if i < len(a) else [])
            elif j < len(b) and b[j] == sl:
                nxt += [(i, j + 1)] + ([(i + 1, j)] if i < len(a) and a[i] != "/" else [])
            elif i < len(a) and j < len(b) and (a[i] == b[j] or "?" in (a[i], b[j])):
                nxt.append((i + 1, j + 1))
            for s in nxt:
                if s not in reach:
                    reach.add(s)
                    todo.append(s)
        return (len(a), len(b)) in reach

    rng = random.Random(3)
    for _ in range(20_000):
        a = "".join(rng.choice("ab/*?:") for _ in range(rng.randint(0, 9)))
        b = "".join(rng.choice("ab/*?:" + sl) for _ in range(rng.randint(0, 8)))
        assert arn.globs_intersect(a, b) == reference(a, b), (a, b)


def test_a_long_resource_pattern_is_compared_without_running_out_of_stack() -> None:
    # the recursive pair search ran out of Python's stack at about a thousand characters
    resource = "arn:aws:ec2:eu-west-1:123456789012:instance/" + "a" * 3000 + "*"
    assert arn.check(resource) == ()
    assert arn.matches_template(resource, "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}")
    found = lint(pol(allow("ec2:StopInstances", resource)))
    assert not rules(found) & {"lint-arn-field", "lint-resource-not-arn", "lint-resource-type-unsupported"}


def test_a_resource_longer_than_any_arn_is_one_finding_without_comparisons() -> None:
    resource = "arn:aws:s3:::" + "a" * (10 * 1024 * 1024)
    [f] = [f for f in lint(pol(allow("s3:ListBucket", resource))) if f.rule_id == "lint-resource-not-arn"]
    assert "is longer than any ARN: AWS ARNs have at most 2,048 characters" in f.message
    assert len(f.message) < 30_000


def test_a_placeholder_check_of_a_long_text_does_not_backtrack() -> None:
    text = "arn:aws:iam::1:role/" + "recorded " * 200_000
    assert not meaning.is_placeholder(text)
    assert meaning.is_placeholder("RECORDED ValohaiWorkerRole ARN HERE")
    assert not meaning.is_placeholder("RECORDED\nHERE")
    found = lint(pol(allow("iam:PassRole", [text, "RECORDED ValohaiWorkerRole ARN HERE"])))
    assert [f.pointer for f in found if f.rule_id == "lint-guide-placeholder"] == ["/Statement/0/Resource/1"]


# ------------------------------------------------------------------ numbers out of range


@pytest.mark.parametrize("number", ["1e999999", "-1e999999", "1.5E+400"])
def test_a_number_out_of_range_is_a_finding_at_its_line_and_column(number: str) -> None:
    text = (
        '{\n  "Version": "2012-10-17",\n  "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",\n'
        '    "Resource": "arn:aws:s3:::b",\n    "Condition": {"NumericLessThan": {"s3:max-keys": '
        f"{number}}}}}\n  }}]\n}}\n"
    )
    [f] = [f for f in lint(None, text) if f.rule_id == "lint-value-type"]
    assert f.pointer == "/Statement/0/Condition/NumericLessThan/s3:max-keys"
    assert (f.line, f.column) == (5, 54)
    assert f.message.startswith(f"the number '{number}' is out of range: it reads as infinity")
    assert f.status == "fail" and f.actual == number


def test_infinity_in_a_live_policy_document_is_a_finding_too() -> None:
    issues = lint_document(
        pol(allow("s3:ListBucket", "arn:aws:s3:::b", Condition={"NumericLessThan": {"s3:max-keys": float("inf")}}))
    )
    [i] = [i for i in issues if i.rule == "lint-value-type"]
    assert i.pointer == "/Statement/0/Condition/NumericLessThan/s3:max-keys" and "out of range" in i.message


# ------------------------------------------------------------------ normal policies unchanged


def test_the_guides_policies_give_the_same_findings_as_ever() -> None:
    assert lint(guide.WORKER_POLICY) == []
    found = lint(guide.master_policy(ROLE))
    assert [(f.rule_id, f.pointer) for f in found] == [
        ("lint-forallvalues-single-valued", "/Statement/1/Condition/ForAllValues:StringEquals")
    ]


# ------------------------------------------------------------------ the live policy's compare rules


def _guide_specs() -> list[compare.Spec]:
    import yaml

    from validator.rulepack import default_dir

    data = yaml.safe_load((default_dir() / "2-iam.yaml").read_text())
    [rule] = [r for r in data["rules"] if r["id"] == "master-policy-within-guide"]
    text = json.dumps(rule["args"]["statements"]).replace("{partition}", "aws").replace("{worker_role_arn}", ROLE)
    return [compare.Spec.from_args(s) for s in json.loads(text)]


def test_a_master_policy_of_50000_statements_is_compared_by_meaning_and_a_wider_one_is_found() -> None:
    specs = _guide_specs()
    doc = guide.master_policy(ROLE)
    big = pol(*(doc["Statement"] * 12_500))
    sts = statements(big)
    assert compare.wider_than(sts, specs) == []
    assert [p for s in specs for p in compare.missing_grants(sts, s, "123456789012")] == []
    # one wider statement at the very end is named
    wider = pol(*(doc["Statement"] * 5000), allow("ec2:TerminateInstances", Sid="Last"))
    assert compare.wider_than(statements(wider), specs) == [
        "ec2:TerminateInstances on * (statement 'Last') is not in the guide"
    ]
    # and a Deny at the end takes a guide action away
    denied = pol(*(doc["Statement"] * 5000), {"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*"})
    missing = [p for s in specs for p in compare.missing_grants(statements(denied), s, "123456789012")]
    assert missing == ["ec2:RunInstances on * is denied by statement #20001"]


def test_repeated_statements_are_compared_as_judging_each_compares_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # what the document misses names its first Deny or conditional Allow, and what it grants
    # beyond the guide is every statement's own, in order: as if each were judged alone
    specs = _guide_specs()
    four = guide.master_policy(ROLE)["Statement"]
    extra = [
        {"Effect": "Deny", "Action": "ec2:RunInstances", "Resource": "*", "Condition": {"Bool": {"aws:x": "1"}}},
        {"Effect": "Deny", "Action": "ec2:Run*", "Resource": "*"},
        allow(["iam:PassRole", "ec2:TerminateInstances"], "*"),
        allow("ec2:DescribeVpcs", "*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}),
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
    ]
    sts = statements(
        pol(*[dict(s, Sid=f"S{i}") if i % 7 else dict(s) for i, s in enumerate((four * 50) + extra * 40 + four * 50)])
    )
    fast = [compare.missing_grants(sts, s, "123456789012") for s in specs]
    assert any(" is denied by statement " in p for ps in fast for p in ps)
    wider = compare.wider_than(sts, specs)
    each = list(dict.fromkeys(p for st in sts for p in compare.wider_than([st], specs)))
    assert wider == each and len(wider) > 100
    monkeypatch.setattr(compare, "distinct", list)  # every statement, not the first of each meaning
    assert [compare.missing_grants(sts, s, "123456789012") for s in specs] == fast


def test_a_document_is_read_once_by_the_rules_judging_a_snapshot_and_anew_outside() -> None:
    from validator.policy import document

    document._READ.clear()
    doc = pol(*[allow("ec2:DescribeVpcs", Sid=f"S{i}") for i in range(2000)])
    with read_once():
        first = statements(doc)
        assert statements(doc) == first and statements(doc)[0] is first[0]
    assert not document._READ  # nor kept after (the text-keyed cache outside holds 100,000 until exit)
    assert statements(doc)[0] is not first[0] and statements(doc) == first


def test_statements_read_from_a_changed_document_are_read_again() -> None:
    doc = pol(*[allow("ec2:DescribeVpcs")] * 2000)
    assert statements(doc)[-1].actions == ("ec2:DescribeVpcs",)
    doc["Statement"][-1] = allow("ec2:RunInstances")
    assert statements(doc)[-1].actions == ("ec2:RunInstances",)


def test_a_huge_policy_of_distinct_wildcards_resolves_some_and_says_it_skipped_the_rest() -> None:
    # an independent tester: 100,000 actions "ec2:*N*" took over a minute (each wildcard is a
    # pass over ec2's ~900 actions); past IAM's size limit only the first ones are resolved
    patterns = ["ec2:Nothing*Matches"] + [f"ec2:*{i}*" for i in range(3_000)]
    found = lint(pol(allow(patterns)))
    assert "lint-policy-size" in rules(found)
    nothing = [f for f in found if f.rule_id == "lint-pattern-matches-nothing"]
    assert any("ec2:Nothing*Matches" in f.message for f in nothing)  # within the budget: still judged
    [skipped] = [
        f
        for f in found
        if f.rule_id == "lint-check-skipped" and "lint-pattern-matches-nothing was not checked" in f.message
    ]
    assert "resolving wildcard actions against the AWS catalogue" in skipped.message


def test_a_policy_iam_accepts_has_every_wildcard_resolved() -> None:
    patterns = [f"ec2:Describe{c}*" for c in "ABCDEFGHIJKLMNOPQRSTUVWXY"] + ["ec2:Zzz*"]
    found = lint(pol(allow(patterns)))
    assert "lint-check-skipped" not in rules(found) and "lint-policy-size" not in rules(found)
    assert any(f.rule_id == "lint-pattern-matches-nothing" and "ec2:Zzz*" in f.message for f in found)
