"""`Snapshot.get`: a path with a recorded read error at it or above it is Undecidable with
that error's words; a path beside one is read. Which error is said when several lie above
the path is the first recorded (the order of `errors`), however many errors there are."""

from __future__ import annotations

import pytest

from validator.snapshot import Snapshot, Undecidable

DATA = {
    "roles": {"ValohaiMaster": {"arn": "arn:aws:iam::123456789012:role/ValohaiMaster", "attached_policies": []}},
    "vpcs": [{"id": "vpc-1"}],
}


def snap(errors: dict[str, str]) -> Snapshot:
    return Snapshot(account_id="123456789012", region="eu-west-1", data=DATA, errors=errors)


def why(s: Snapshot, path: str) -> str:
    with pytest.raises(Undecidable) as exc:
        s.get(path)
    assert s.has_error(path)
    return str(exc.value)


def test_a_path_at_or_under_an_error_is_undecidable_with_its_words_and_one_beside_it_is_read() -> None:
    s = snap({"roles.ValohaiMaster.attached_policies": "AccessDenied: ListAttachedRolePolicies"})
    assert why(s, "roles.ValohaiMaster.attached_policies") == "AccessDenied: ListAttachedRolePolicies"
    assert why(s, "roles.ValohaiMaster.attached_policies.0.arn") == "AccessDenied: ListAttachedRolePolicies"
    assert s.get("roles.ValohaiMaster.arn") == DATA["roles"]["ValohaiMaster"]["arn"]
    assert not s.has_error("roles.ValohaiMaster")  # above the error: what was read is there
    # a key that is only a prefix of the path's text, not of its parts, is not above it
    s = snap({"roles.Valohai": "AccessDenied", "vpc": "AccessDenied"})
    assert s.get("roles.ValohaiMaster.arn").endswith("role/ValohaiMaster")
    assert s.get("vpcs") == DATA["vpcs"]
    assert why(snap({}), "roles.Nobody") == "roles.Nobody was not read (no reader filled it)"


ABOVE = ["roles", "roles.ValohaiMaster", "roles.ValohaiMaster.attached_policies"]


@pytest.mark.parametrize(
    "keys, deep, arn",
    [
        (ABOVE, "roles", "roles"),
        (ABOVE[::-1], "roles.ValohaiMaster.attached_policies", "roles.ValohaiMaster"),
        (ABOVE[1:] + ABOVE[:1], "roles.ValohaiMaster", "roles.ValohaiMaster"),
        (ABOVE[2:] + ABOVE[:2], "roles.ValohaiMaster.attached_policies", "roles"),
    ],
)
def test_of_several_errors_above_a_path_the_first_recorded_is_said(keys: list[str], deep: str, arn: str) -> None:
    errors = {"vpcs.other": "not this one", **{k: f"error at {k}" for k in keys}}
    assert why(snap(errors), "roles.ValohaiMaster.attached_policies.0") == f"error at {deep}"
    assert why(snap(errors), "roles.ValohaiMaster.arn") == f"error at {arn}"  # attached_policies is not above it


def test_odd_keys_keep_their_meaning() -> None:
    # empty parts: a key "roles." is above "roles..x" (as `startswith(key + ".")` said), "" above ".x"
    s = snap({"roles.": "dot", "": "empty"})
    assert why(s, "roles..x") == "dot"
    assert why(s, ".x") == "empty"
    assert why(s, "") == "empty"
    assert s.get("roles.ValohaiMaster.arn").endswith("role/ValohaiMaster")


def test_two_hundred_thousand_errors_still_say_the_one_above_the_path() -> None:
    errors = {f"images.ami-{i:017x}": f"denied {i}" for i in range(200_000)}
    errors["roles.ValohaiMaster.attached_policies"] = "AccessDenied"
    s = snap(errors)
    assert why(s, f"images.ami-{199_999:017x}.name") == "denied 199999"
    assert why(s, "roles.ValohaiMaster.attached_policies") == "AccessDenied"
    assert s.get("vpcs") == DATA["vpcs"]
    assert why(s, "images") == "images was not read (no reader filled it)"
