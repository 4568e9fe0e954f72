"""The readers the catalogue names: a kind's `reader:` (rules/catalogue.yaml) is a key of READERS.

A reader is a function `fn(reading, kinds, found)`: it asks AWS for `kinds` (every kind that
names it, or one at a time when it is `each`) by the names the catalogue gives them, and puts
what it finds in the snapshot. `after` chains it behind the reader whose answer it needs (the
route tables of the VPCs found), in that reader's task; it is given that answer as `found`.
`fix` are the reads only remediate makes, for the fixers. The IAM actions a reader calls are
its kinds' `read_actions` (and `fix_read_actions` for what remediate adds): account.PERMISSIONS
is built from them, and tests/test_catalogue_readers.py holds them to what the readers call.
validator/aws/account.py runs the readers; adding a kind's reader is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from validator.aws import ec2, iam
from validator.aws.recorder import Reading
from validator.kinds import Kind

ReadFn = Callable[[Reading, tuple[Kind, ...], Any], Any]


@dataclass(frozen=True)
class Read:
    fn: ReadFn
    after: str = ""  # the reader whose answer this read needs: made once that answer is in


@dataclass(frozen=True)
class Reader:
    service: str  # the AWS service whose client it is given (Reading.clients)
    read: Read
    each: bool = False  # one read per kind: the API answers for one name at a time (IAM)
    fix: tuple[Read, ...] = ()  # made only for remediate (account.read(for_fix=True))


READERS: dict[str, Reader] = {
    "iam.policy": Reader("iam", Read(iam.read_policy), each=True),
    "iam.role": Reader("iam", Read(iam.read_role), each=True),
    "iam.instance_profile": Reader("iam", Read(iam.read_instance_profile), each=True),
    "ec2.vpcs": Reader("ec2", Read(ec2.read_vpcs)),
    # the subnets fixer places new subnets among every subnet of the VPC, one per zone
    "ec2.subnets": Reader(
        "ec2", Read(ec2.read_subnets), fix=(Read(ec2.read_vpc_subnets, after="ec2.vpcs"), Read(ec2.read_zones))
    ),
    "ec2.igws": Reader("ec2", Read(ec2.read_igws)),
    "ec2.route_tables": Reader("ec2", Read(ec2.read_route_tables, after="ec2.vpcs")),
    "ec2.security_groups": Reader("ec2", Read(ec2.read_security_groups)),
    "ec2.instances": Reader("ec2", Read(ec2.read_instances)),
    "ec2.addresses": Reader("ec2", Read(ec2.read_addresses)),
}

# What remediate reads last, once every other read is in, when it read the service: the guide's
# resources that lost their Name, found by what the others point at (validator.fixers.adopt).
# The IAM actions are those of the kinds it looks for (their fix_read_actions).
LAST_FOR_FIX: dict[str, Callable[[Reading], None]] = {"ec2": ec2.read_unnamed}
