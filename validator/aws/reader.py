"""What a reader module declares: its readers, by the name the catalogue gives them.

A kind's `reader: MODULE.NAME` (rules/catalogue.yaml) is READERS["NAME"] of validator/aws/MODULE.py.
A reader is a function `fn(reading, kinds, found)`: it asks AWS for `kinds` (every kind that
names it, or one at a time when it is `each`) by the names the catalogue gives them, and puts
what it finds in the snapshot. `after` chains it behind the reader whose answer it needs (the
route tables of the VPCs found), in that reader's task; it is given that answer as `found`.
`more` are further reads check makes for the kinds (the region's zones beside the subnets); `fix`
are the reads only remediate makes, for the fixers. A module may also declare
LAST_FOR_FIX, a function remediate runs once every other read of its service is in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from validator.aws.recorder import Reading
from validator.kinds import Kind

ReadFn = Callable[[Reading, tuple[Kind, ...], Any], Any]


@dataclass(frozen=True)
class Read:
    fn: ReadFn
    after: str = ""  # the reader (MODULE.NAME) whose answer this read needs: made once that answer is in


@dataclass(frozen=True)
class Reader:
    service: str  # the AWS service whose client it is given (Reading.clients)
    read: Read
    each: bool = False  # one read per kind: the API answers for one name at a time (IAM, S3)
    more: tuple[Read, ...] = ()  # further reads of the kinds, made by check too (the region's zones)
    fix: tuple[Read, ...] = ()  # made only for remediate (account.read(for_fix=True))
    also: tuple[str, ...] = ()  # other services whose clients it is given (S3's account settings: s3control)
