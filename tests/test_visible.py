"""A found tag value or name that hides a character is shown quoted, the character named."""

from __future__ import annotations

import pytest

from validator.visible import pair, visible


@pytest.mark.parametrize(
    "text, shown",
    [
        ("1", "1"),
        ("valohai-subnet-1", "valohai-subnet-1"),
        ("a b", "a b"),
        ("1\u00a0", "'1\\u00a0' (U+00A0 NO-BREAK SPACE)"),
        ("1 ", "'1 ' (trailing U+0020 SPACE)"),
        (" 1", "' 1' (leading U+0020 SPACE)"),
        ("valo\u200bhai", "'valo\\u200bhai' (U+200B ZERO WIDTH SPACE)"),
        ("\ufeff1", "'\\ufeff1' (U+FEFF ZERO WIDTH NO-BREAK SPACE)"),
        ("v\u0430lohai", "'v\\u0430lohai' (U+0430 CYRILLIC SMALL LETTER A)"),
        ("1\t", "'1\\u0009' (U+0009 CHARACTER TABULATION)"),
        ("", "''"),
    ],
)
def test_visible_names_what_a_value_hides(text, shown):
    assert visible(text) == shown


def test_pair_names_what_key_and_value_hide_once():
    assert pair("valohai", "1\u00a0") == "valohai='1\\u00a0' (U+00A0 NO-BREAK SPACE)"
    assert pair("valohai ", "1 ") == "'valohai '='1 ' (trailing U+0020 SPACE)"
    assert pair("valohai", "1") == "valohai=1"


# ------------------------------------------------------------------ in the tag rules, on moto


def _tag_vpc(account, key: str, value: str) -> None:
    account.ec2.delete_tags(Resources=[account.ids["vpc"]], Tags=[{"Key": "valohai"}])
    account.ec2.create_tags(Resources=[account.ids["vpc"]], Tags=[{"Key": key, "Value": value}])


def test_a_tag_value_with_a_no_break_space_is_shown_with_it_named(account):
    _tag_vpc(account, "valohai", "1\u00a0")
    result = account.check()
    assert result.failing() == {"vpc-tag"}
    f = result.one("vpc-tag")
    vpc = account.ids["vpc"]
    assert f.message == (
        f"tag valohai=1 missing on valohai-vpc ({vpc}): found valohai='1\\u00a0' (U+00A0 NO-BREAK SPACE)"
    )
    assert f.actual == "valohai='1\\u00a0' (U+00A0 NO-BREAK SPACE)"


def test_a_tag_key_with_a_trailing_space_is_found_and_named(account):
    _tag_vpc(account, "valohai ", "1")
    f = account.check().one("vpc-tag")
    assert f.status == "fail"
    assert "found 'valohai '=1 (trailing U+0020 SPACE) (key differs)" in f.message


def test_a_role_tag_with_a_zero_width_space_is_named(account):
    account.iam.tag_role(RoleName="ValohaiWorkerRole", Tags=[{"Key": "valohai", "Value": "1\u200b"}])
    f = account.check().one("worker-role-tag")
    assert f.status == "fail"
    assert f.message.endswith("found valohai='1\\u200b' (U+200B ZERO WIDTH SPACE)")


def test_a_plain_tag_is_shown_plain(account):
    _tag_vpc(account, "valohai", "true")
    f = account.check().one("vpc-tag")
    assert f.message.endswith("found valohai=true")
    account.ec2.create_tags(Resources=[account.ids["vpc"]], Tags=[{"Key": "valohai", "Value": "1"}])
    f = account.check().one("vpc-tag")
    assert f.status == "pass"
    assert f.message == f"valohai-vpc ({account.ids['vpc']}) has tag valohai=1"


def test_a_value_longer_than_any_tag_is_cut_short():
    assert visible("x" * 1000) == "x" * 300 + "… (1,000 characters)"
    assert visible("x" * 999 + "\u00a0") == "'" + "x" * 300 + "…' (1,000 characters) (U+00A0 NO-BREAK SPACE)"
