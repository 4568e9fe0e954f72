"""Organizations: whether the account is in an organisation, and which account manages it. What
an organisation's service control policies take away cannot be read from a member account; the
rules say so instead of assuming they allow.
"""

from __future__ import annotations

from typing import Any

from validator.aws.reader import Read, Reader
from validator.aws.recorder import FAILED, NOT_FOUND, Reading
from validator.kinds import Kind


def read_organization(r: Reading, kinds: tuple[Kind, ...], _found: Any = None) -> None:
    """The organisation the account is in (DescribeOrganization); null when it is in none."""
    org, rec = r.clients["organizations"], r.rec
    for kind in kinds:
        got = rec.call(
            kind.snapshot, "organizations:DescribeOrganization", lambda: org.describe_organization()["Organization"]
        )
        if got is FAILED:
            continue
        rec.put(
            kind.snapshot,
            None
            if got is NOT_FOUND
            else {
                "id": got.get("Id", ""),
                "arn": got.get("Arn", ""),
                "management_account_id": got.get("MasterAccountId", ""),
            },
        )


READERS = {"organization": Reader("organizations", Read(read_organization))}
