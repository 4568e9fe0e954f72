"""IAM's condition operators as validator/policy/condition.py evaluates them for one request value."""

from __future__ import annotations

import pytest

from validator.policy import condition as C
from validator.policy.assumer import met, written

ROLE = "arn:aws:iam::111122223333:role/valohai-assumer"


@pytest.mark.parametrize(
    "op, values, actual, holds",
    [
        ("StringEquals", ["a"], "a", True),
        ("StringEquals", ["a"], None, False),  # an absent key matches nothing
        ("StringNotEquals", ["a"], None, True),  # ... so a negated operator holds
        ("StringEqualsIfExists", ["a"], None, True),
        ("StringEqualsIfExists", ["a"], "b", False),
        ("StringNotEqualsIfExists", ["a"], "a", False),
        ("ForAllValues:StringEquals", ["a"], None, True),  # no values: all of them match
        ("ForAnyValue:StringEquals", ["a"], None, False),
        ("ForAnyValue:StringNotEquals", ["a"], None, False),
        ("StringNotEquals", ["a", "b"], "b", False),  # a negated operator: none of the values may match
        ("StringEqualsIgnoreCase", ["ABC"], "abc", True),
        ("StringLike", ["valohai-*"], "valohai-x", True),
        ("StringLike", ["valohai-*"], "Valohai-x", False),
        ("ArnLike", ["arn:aws:iam::*:role/valohai-*"], ROLE, True),
        ("ArnLike", ["arn:aws:iam::*"], ROLE, False),  # a wildcard stays within its field
        ("ArnEquals", [ROLE], ROLE, True),
        ("ArnNotLike", ["arn:aws:iam::111122223333:*"], ROLE, False),
        ("Null", ["true"], None, True),
        ("Null", ["false"], None, False),
        ("Null", ["false"], "x", True),
        ("Bool", ["true"], "TRUE", True),
        ("IpAddress", ["10.0.0.0/8"], "10.1.2.3", True),
        ("NotIpAddress", ["0.0.0.0/0"], "34.248.245.191", False),
        ("NumericLessThan", ["3600"], "60", True),
        ("DateLessThan", ["2020-01-01T00:00:00Z"], "2026-12-07T00:00:00Z", False),
        ("DateGreaterThan", ["2020-01-01"], "1798675200", True),  # ISO and epoch seconds compare
        ("DateLessThan", ["not a date"], "2026-12-07T00:00:00Z", None),  # cannot be compared
    ],
)
def test_operator(op, values, actual, holds):
    parsed = C.parse(op)
    assert parsed is not None
    assert C.holds(parsed, values, actual) is holds


@pytest.mark.parametrize("op", ["StringEqual", "NullIfExists", "ForEach:StringEquals", "IfExists"])
def test_an_operator_iam_does_not_have_is_none(op):
    assert C.parse(op) is None


def test_a_long_condition_is_cut_short_in_messages():
    text = written(("StringEquals", "aws:SourceVpce", tuple(f"vpce-{i}" for i in range(1000))))
    assert text == "StringEquals aws:SourceVpce vpce-0, vpce-1, vpce-2, vpce-3, vpce-4 and 995 more"


@pytest.mark.parametrize(
    "cond, found",
    [
        (("NotIpAddress", ["10.0.0.0/8"], None), {True}),  # Valohai's address is public
        (("NotIpAddress", ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"], None), {True}),
        (("IpAddress", ["172.16.0.0/12"], None), {False}),
        (("NotIpAddress", ["34.0.0.0/8"], None), None),  # a public range: Valohai's address may be in it
        (("NotIpAddress", ["0.0.0.0/0"], None), {False}),  # no IPv4 address is outside all of IPv4
        (("IpAddress", ["0.0.0.0/0"], None), {True}),
        (("IpAddress", ["203.0.113.0/24", "0.0.0.0/0"], None), {True}),
        (("IpAddressIfExists", ["0.0.0.0/1", "128.0.0.0/1"], None), {True}),  # the two halves add up to all
        (("IpAddress", ["0.0.0.0/1"], None), None),
        (("IpAddress", ["::/0"], None), {False}),  # Valohai's addresses are IPv4
        (("Bool", ["true"], "aws:ViaAWSService"), {False}),
        (("StringEquals", ["AssumedRole"], "aws:PrincipalType"), {True}),
        (("StringEquals", ["111122223333"], "aws:SourceAccount"), {False}),  # absent on a direct call
        (("StringNotEquals", ["111122223333"], "aws:SourceAccount"), {True}),
        (("ArnLikeIfExists", ["arn:aws:s3:::*"], "aws:SourceArn"), {True}),
    ],
)
def test_what_valohais_direct_call_carries(cond, found):
    op, values, key = cond
    assert met((op, key or "aws:SourceIp", values), ROLE) == found


@pytest.mark.parametrize(
    "values, version, share",
    [
        (["0.0.0.0/0"], 4, True),
        (["0.0.0.0/1", "128.0.0.0/1"], 4, True),
        (["0.0.0.0/1", "128.0.0.0/2", "192.0.0.0/2"], 4, True),
        (["0.0.0.0/1", "128.0.0.0/2"], 4, None),
        (["10.0.0.0/8", "fd00::/8"], 4, False),
        (["::/0"], 4, False),
        (["::/0"], 6, True),
        (["0.0.0.0/0"], 6, False),
        (["2001:db8::/32"], 6, None),
        (["not an address"], 4, None),
    ],
)
def test_what_share_of_the_public_addresses_ranges_hold(values, version, share):
    assert C.public_share(values, version) is share
