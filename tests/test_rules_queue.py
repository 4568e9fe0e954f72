"""rules/4-queue.yaml against the guide's account in moto: valohai-i-queue and valohai-ip-queue.

Every drift is made through boto3 on the moto account and must fail the right
rule(s), on the right resource, naming what the guide expects and what the
account has, and nothing else may fail. A rule that cannot read what it needs
(a deregistered image) is `error`, never `pass`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Account, Result, assert_fails_exactly, ids_of
from validator import engine
from validator import findings as findings_mod
from validator import params as params_mod
from validator.demo import AL2023_AMI, FAKE_UBUNTU_AMI, UBUNTU_2004_AMI, UBUNTU_2204_AMI

EOL_RULE = "queue-instance-os-support"  # on_fail: warn
PUBLISHER_RULE = "queue-instance-image-publisher"  # on_fail: warn


# ------------------------------------------------------------------ helpers


def queue_rule_ids(pack) -> set[str]:
    """The queue rules of an account built by the guide (a recipe's own: tests/test_recipes.py)."""
    return {r.id for r in pack.rules if r.source == "4-queue.yaml" and (not r.built_with or "guide" in r.built_with)}


def tagged(kind: str, name: str | None, valohai: bool = True) -> list[dict[str, Any]]:
    tags = ([{"Key": "Name", "Value": name}] if name else []) + ([{"Key": "valohai", "Value": "1"}] if valohai else [])
    return [{"ResourceType": kind, "Tags": tags}]


def relaunch(a: Account, **overrides: Any) -> str:
    """Replace valohai-i-queue: terminate the golden one and launch a new one as the guide says,
    with `overrides` (None drops a launch argument); valohai-ip-queue moves to the new one."""
    a.ec2.terminate_instances(InstanceIds=[a.ids["instance"]])
    launch = dict(
        ImageId=UBUNTU_2004_AMI,
        InstanceType="t3.medium",
        MinCount=1,
        MaxCount=1,
        KeyName=a.ids["key_pair"],
        SubnetId=a.ids["subnets"][0],
        SecurityGroupIds=[a.ids["sg_queue"]],
        BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 16}}],
        TagSpecifications=tagged("instance", "valohai-i-queue"),
    )
    launch.update(overrides)
    new = a.ec2.run_instances(**{k: v for k, v in launch.items() if v is not None})["Instances"][0]["InstanceId"]
    a.ec2.associate_address(AllocationId=a.ids["eip"], InstanceId=new, AllowReassociation=True)
    return new


def eip_association(a: Account) -> str:
    return a.ec2.describe_addresses(AllocationIds=[a.ids["eip"]])["Addresses"][0]["AssociationId"]


def release_eip(a: Account) -> None:
    a.ec2.disassociate_address(AssociationId=eip_association(a))
    a.ec2.release_address(AllocationId=a.ids["eip"])


def recheck(a: Account, result: Result) -> Result:
    """Evaluate the (edited) snapshot of `result` again, as `vhv check --snapshot` would."""
    prm = params_mod.from_dict(dict(a.params), source="params.yaml")
    return Result(engine.evaluate(a.pack, prm, result.snapshot), result.snapshot, result.calls)


def _with_open_group(a: Account) -> dict[str, str]:
    vpc = a.ec2.describe_instances(InstanceIds=[a.ids["instance"]])["Reservations"][0]["Instances"][0]["VpcId"]
    group = a.ec2.create_security_group(GroupName="open-all", Description="everything", VpcId=vpc)["GroupId"]
    a.ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    a.ec2.modify_instance_attribute(InstanceId=a.ids["instance"], Groups=[a.ids["sg_queue"], group])
    return {"open": group}


def second_interface(a: Account, *groups: str) -> str:
    eni = a.ec2.create_network_interface(SubnetId=a.ids["subnets"][0], Groups=list(groups))["NetworkInterface"]
    a.ec2.attach_network_interface(
        NetworkInterfaceId=eni["NetworkInterfaceId"], InstanceId=a.ids["instance"], DeviceIndex=1
    )
    return eni["NetworkInterfaceId"]


def _open_group(a: Account) -> str:
    vpc = a.ids["vpc"]
    group = a.ec2.create_security_group(GroupName="open-all", Description="everything", VpcId=vpc)["GroupId"]
    a.ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    )
    return group


def _second_interface_open(a: Account) -> dict[str, str]:
    """The instance's top-level groups are its primary interface's: this one's group is not among them."""
    group = _open_group(a)
    return {"open": group, "eni": second_interface(a, group)}


def _eip_on_second_interface(a: Account) -> dict[str, str]:
    eni = second_interface(a, a.ids["sg_queue"])
    a.ec2.associate_address(AllocationId=a.ids["eip"], NetworkInterfaceId=eni, AllowReassociation=True)
    return {"eni": eni}


# ------------------------------------------------------------------ golden

GOLDEN_PASS = {
    "queue-instance-exists": "valohai-i-queue exists ({instance})",
    "queue-instance-running": "valohai-i-queue ({instance}) state is running",
    "queue-instance-tag": "valohai-i-queue ({instance}) has tag valohai=1",
    "queue-instance-type": "valohai-i-queue ({instance}) instance type is t3.medium",
    "queue-instance-os": f"valohai-i-queue runs Ubuntu 20.04 LTS ({UBUNTU_2004_AMI} "
    "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20250610)",
    "queue-instance-image-publisher": f"valohai-i-queue's image {UBUNTU_2004_AMI} is published by Canonical "
    "(099720109477)",
    "queue-instance-disk": "is 16 GiB",
    "queue-instance-sg": "valohai-i-queue has valohai-sg-queue ({sg_queue})",
    "queue-instance-sg-only": "valohai-i-queue has no security group but valohai-sg-queue",
    "queue-instance-subnet": "valohai-i-queue is in valohai-subnet-1 ({subnet_1})",
    "queue-instance-key-pair": "valohai-i-queue uses key pair 'valohai-queue-key'",
    "eip-exists": "valohai-ip-queue exists ({eip})",
    "eip-tag": "valohai-ip-queue ({eip}) has tag valohai=1",
    "eip-vpc-domain": "valohai-ip-queue ({eip}) domain is vpc",
    "eip-associated": "is associated with valohai-i-queue ({instance})",
}


def test_golden_account_passes_every_queue_rule_with_its_reason(account):
    assert set(GOLDEN_PASS) | {EOL_RULE} == queue_rule_ids(account.pack)
    result = account.check()
    ids = ids_of(account)
    wrong = {}
    for rule_id, fragment in GOLDEN_PASS.items():
        f = result.one(rule_id)
        if f.status != "pass" or fragment.format(**ids) not in f.message:
            wrong[rule_id] = (f.status, f.message)
    assert wrong == {}
    # the guide's own Ubuntu 20.04 is past its standard support: a warning, never a failure
    eol = result.one(EOL_RULE)
    assert eol.status == "warn"
    assert "Ubuntu 20.04 LTS (focal) reached the end of standard support on 2025-05-31" in eol.message
    assert "Ubuntu Pro (ESM)" in eol.message
    assert eol.resource_id == account.ids["instance"]
    assert findings_mod.exit_code(result.findings) == 0


# ------------------------------------------------------------------ drifts: valohai-i-queue


def _terminate(a: Account) -> None:
    a.ec2.terminate_instances(InstanceIds=[a.ids["instance"]])


def _unname_instance(a: Account) -> None:
    a.ec2.delete_tags(Resources=[a.ids["instance"]], Tags=[{"Key": "Name"}])


def _second_queue(a: Account) -> dict[str, str]:
    inst = a.ec2.run_instances(
        ImageId=UBUNTU_2004_AMI,
        InstanceType="t3.medium",
        MinCount=1,
        MaxCount=1,
        SubnetId=a.ids["subnets"][1],
        TagSpecifications=tagged("instance", "valohai-i-queue"),
    )
    return {"second": inst["Instances"][0]["InstanceId"]}


def _resize(a: Account) -> None:
    # the console's way: stop, change the type, (start); a stopped queue still exists
    a.ec2.stop_instances(InstanceIds=[a.ids["instance"]])
    a.ec2.modify_instance_attribute(InstanceId=a.ids["instance"], InstanceType={"Value": "t3.small"})


def _relaunched(**overrides: Any):
    return lambda a: {"instance": relaunch(a, **overrides)}


def _volume_of(a: Account) -> dict[str, str]:
    new = relaunch(a, BlockDeviceMappings=[{"DeviceName": "/dev/sda1", "Ebs": {"VolumeSize": 8}}])
    inst = a.ec2.describe_instances(InstanceIds=[new])["Reservations"][0]["Instances"][0]
    return {"instance": new, "vol": inst["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]}


def _in_plain_subnet(a: Account) -> dict[str, str]:
    # a subnet of valohai-vpc that is not one of the guide's valohai-subnet-*
    s = a.ec2.create_subnet(
        VpcId=a.ids["vpc"],
        CidrBlock="10.0.64.0/20",
        AvailabilityZone="eu-west-1a",
        TagSpecifications=tagged("subnet", "default-a", valohai=False),
    )["Subnet"]["SubnetId"]
    return {"instance": relaunch(a, SubnetId=s), "plain": s}


INSTANCE_DRIFTS = [
    pytest.param(
        _terminate,
        {"queue-instance-exists": ("{instance}", ["valohai-i-queue ({instance}) is terminated"])},
        id="queue terminated",
    ),
    pytest.param(
        _unname_instance,
        {
            "queue-instance-exists": (
                None,
                [
                    "valohai-i-queue not found in account 123456789012, region eu-west-1",
                    "looked for tag Name=valohai-i-queue",
                ],
            )
        },
        id="queue unnamed",
    ),
    pytest.param(
        _second_queue,
        {
            "queue-instance-exists": (
                "{instance}",
                ["2 resources are named valohai-i-queue ({instance}, {second}); vhv judges {instance}"],
            )
        },
        id="two queues",
    ),
    pytest.param(
        lambda a: a.ec2.delete_tags(Resources=[a.ids["instance"]], Tags=[{"Key": "valohai"}]),
        {
            "queue-instance-tag": (
                "{instance}",
                ["tag valohai=1 missing on valohai-i-queue ({instance}): found no valohai tag"],
            )
        },
        id="queue untagged",
    ),
    pytest.param(
        _resize,
        {
            "queue-instance-type": (
                "{instance}",
                ["valohai-i-queue ({instance}) instance type is t3.small; the guide asks for t3.medium"],
            ),
            "queue-instance-running": ("{instance}", ["valohai-i-queue ({instance}) state is stopped"]),
        },
        id="queue resized",
    ),
    # a stopped queue still exists (queue-instance-exists passes), but it serves no Redis
    pytest.param(
        lambda a: a.ec2.stop_instances(InstanceIds=[a.ids["instance"]]),
        {
            "queue-instance-running": (
                "{instance}",
                [
                    "valohai-i-queue ({instance}) state is stopped; the guide asks for running. A queue that is not "
                    "running serves no Redis"
                ],
            )
        },
        id="queue stopped",
    ),
    pytest.param(
        _relaunched(ImageId=AL2023_AMI, BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 16}}]),
        {
            "queue-instance-os": (
                "{instance}",
                [
                    f"valohai-i-queue runs {AL2023_AMI} (al2023-ami-2023.6.20251020.0-kernel-6.1-x86_64), "
                    "not Ubuntu 20.04 LTS"
                ],
            )
        },
        id="amazon linux 2023",
    ),
    # the guide says 20.04; a newer Ubuntu is for Valohai to approve (see the EOL advice)
    pytest.param(
        _relaunched(ImageId=UBUNTU_2204_AMI),
        {
            "queue-instance-os": (
                "{instance}",
                [
                    f"valohai-i-queue runs {UBUNTU_2204_AMI} (ubuntu/images/hvm-ssd/"
                    "ubuntu-jammy-22.04-amd64-server-20251015), not Ubuntu 20.04 LTS"
                ],
            )
        },
        id="ubuntu 22.04",
    ),
    pytest.param(
        _volume_of,
        {
            "queue-instance-disk": (
                "{instance}",
                ["root volume {vol} of valohai-i-queue is 8 GiB; the guide asks for 16 GiB"],
            )
        },
        id="8 GiB root volume",
    ),
    pytest.param(
        lambda a: a.ec2.modify_instance_attribute(InstanceId=a.ids["instance"], Groups=[a.ids["sg_workers"]]),
        {
            "queue-instance-sg": (
                "{instance}",
                [
                    "valohai-i-queue does not have valohai-sg-queue ({sg_queue}) attached; "
                    "it has valohai-sg-workers ({sg_workers})"
                ],
            ),
            "queue-instance-sg-only": (
                "{instance}",
                ["valohai-i-queue also has valohai-sg-workers ({sg_workers}) attached"],
            ),
        },
        id="queue without valohai-sg-queue",
    ),
    # an independent tester: a second group open to the world beside valohai-sg-queue passed everything
    pytest.param(
        _with_open_group,
        {
            "queue-instance-sg-only": (
                "{instance}",
                [
                    "valohai-i-queue also has open-all ({open}) attached: an instance's groups add up, so what it allows "
                    "reaches the queue too, beyond valohai-sg-queue; the guide attaches valohai-sg-queue alone"
                ],
            )
        },
        id="queue with a second, open group",
    ),
    # the groups of every network interface add up, not only the primary's (the instance's SecurityGroups)
    pytest.param(
        _second_interface_open,
        {
            "queue-instance-sg-only": (
                "{instance}",
                [
                    "valohai-i-queue also has open-all ({open}) on its network interface {eni} (device 1) attached: "
                    "an instance's groups add up"
                ],
            )
        },
        id="queue with a second interface in an open group",
    ),
    pytest.param(
        _in_plain_subnet,
        {
            "queue-instance-subnet": (
                "{instance}",
                ["valohai-i-queue is in subnet {plain}, which is not a valohai-subnet-* subnet"],
            )
        },
        id="queue in a non-valohai subnet",
    ),
    pytest.param(
        _relaunched(KeyName=None),
        {
            "queue-instance-key-pair": (
                "{instance}",
                ["valohai-i-queue has no key pair: nobody can SSH to install the queue"],
            )
        },
        id="queue without key pair",
    ),
    pytest.param(
        lambda a: a.ec2.delete_key_pair(KeyName=a.ids["key_pair"]),
        {
            "queue-instance-key-pair": (
                "{instance}",
                ["valohai-i-queue's key pair 'valohai-queue-key' no longer exists in eu-west-1"],
            )
        },
        id="key pair deleted after launch",
    ),
]


# ------------------------------------------------------------------ drifts: valohai-ip-queue


def _eip_on_other_instance(a: Account) -> dict[str, str]:
    other = a.ec2.run_instances(
        ImageId=UBUNTU_2004_AMI, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=a.ids["subnets"][1]
    )["Instances"][0]["InstanceId"]
    a.ec2.associate_address(AllocationId=a.ids["eip"], InstanceId=other, AllowReassociation=True)
    return {"other": other}


EIP_DRIFTS = [
    pytest.param(
        release_eip,
        {
            "eip-exists": (
                None,
                [
                    "valohai-ip-queue not found in account 123456789012, region eu-west-1",
                    "looked for tag Name=valohai-ip-queue",
                ],
            )
        },
        id="eip released",
    ),
    pytest.param(
        lambda a: a.ec2.delete_tags(Resources=[a.ids["eip"]], Tags=[{"Key": "Name"}]),
        {"eip-exists": (None, ["valohai-ip-queue not found", "looked for tag Name=valohai-ip-queue"])},
        id="eip unnamed",
    ),
    pytest.param(
        lambda a: a.ec2.delete_tags(Resources=[a.ids["eip"]], Tags=[{"Key": "valohai"}]),
        {"eip-tag": ("{eip}", ["tag valohai=1 missing on valohai-ip-queue ({eip}): found no valohai tag"])},
        id="eip untagged",
    ),
    pytest.param(
        lambda a: a.ec2.disassociate_address(AssociationId=eip_association(a)),
        {
            "eip-associated": (
                "{eip}",
                ["is not associated with any instance; the guide attaches it to valohai-i-queue ({instance})"],
            )
        },
        id="eip disassociated",
    ),
    pytest.param(
        _eip_on_second_interface,
        {
            "eip-associated": (
                "{eip}",
                [
                    "is associated with {eni}, a secondary network interface (device 1) of valohai-i-queue "
                    "({instance}), not its primary interface"
                ],
            )
        },
        id="eip on a second interface of the queue",
    ),
    pytest.param(
        _eip_on_other_instance,
        {"eip-associated": ("{eip}", ["is associated with {other}, not valohai-i-queue ({instance})"])},
        id="eip on another instance",
    ),
]

DRIFTS = INSTANCE_DRIFTS + EIP_DRIFTS


# the paths each drift cuts (rules/6-paths.yaml)
QUEUE_PATHS = ("path-valohai-to-queue", "path-internet-to-queue-http", "path-ssh-to-queue")
STOPPED = {
    **{r: ("{instance}", ["is cut: valohai-i-queue is stopped"]) for r in QUEUE_PATHS},
    "path-workers-to-queue": (None, ["to valohai-i-queue (10.0.0.4) on TCP 63790 is cut: valohai-i-queue is stopped"]),
}
NOT_ASSOCIATED = {r: ("{instance}", ["is not associated with valohai-i-queue ({instance})"]) for r in QUEUE_PATHS}
ONLY_WORKERS_GROUP = "(valohai-sg-workers ({sg_workers})) allow no inbound TCP "
PATHS_CUT = {
    "queue without valohai-sg-queue": {
        "path-valohai-to-queue": ("{instance}", [ONLY_WORKERS_GROUP + "63790 from 34.248.245.191"]),
        "path-internet-to-queue-http": ("{instance}", [ONLY_WORKERS_GROUP + "80 from the internet"]),
        "path-ssh-to-queue": ("{instance}", [ONLY_WORKERS_GROUP + "22 from 203.0.113.7"]),
        "path-workers-to-queue": (None, [ONLY_WORKERS_GROUP + "63790 from a worker in valohai-subnet-1 (10.0.0.0/20)"]),
    },
    "queue resized": STOPPED,
    "queue stopped": STOPPED,
    "eip disassociated": NOT_ASSOCIATED,
    "eip on another instance": NOT_ASSOCIATED,
}


@pytest.mark.parametrize("drift, fails", DRIFTS)
def test_drift_fails_exactly_the_right_rules_on_the_right_resource(account, drift, fails, request):
    extra = drift(account)
    fails = {**fails, **PATHS_CUT.get(request.node.callspec.id, {})}
    assert_fails_exactly(account.check(), fails, ids_of(account, extra))


def test_every_queue_rule_has_a_drift_that_fails_it(pack):
    covered = {rule for case in DRIFTS for rule in case.values[1]}
    covered |= {
        "queue-instance-os-support",  # warns only: test_ubuntu_20_04_warns_past_its_support_end
        "queue-instance-image-publisher",  # warns only: test_ubuntu_look_alike_not_from_canonical_warns
        "eip-vpc-domain",
    }  # on a snapshot: test_eip_outside_the_vpc_domain_fails
    assert queue_rule_ids(pack) - covered == set()


# ------------------------------------------------------------------ the image


def test_deregistered_image_is_an_error_never_a_pass(account):
    # an AMI of our own (a backup of the queue), launched from and then deregistered
    image = account.ec2.create_image(InstanceId=account.ids["instance"], Name="valohai-queue-backup")["ImageId"]
    new = relaunch(account, ImageId=image)
    account.ec2.deregister_image(ImageId=image)
    result = account.check()
    cannot_read = (
        f"could not decide: image {image} of valohai-i-queue cannot be read (deregistered, "
        "or not visible to this account): its operating system cannot be confirmed"
    )
    assert_fails_exactly(
        result,
        {
            "queue-instance-os": (new, [cannot_read]),
            EOL_RULE: (new, [cannot_read]),
            PUBLISHER_RULE: (new, [cannot_read]),
        },
        ids_of(account),
    )
    assert result.one("queue-instance-os").status == "error"
    assert result.one(EOL_RULE).status == "error"
    assert findings_mod.exit_code(result.findings) == 2


@pytest.mark.parametrize(
    "image, owner",
    [(FAKE_UBUNTU_AMI, "123456789999"), ("own", "123456789012")],
    ids=["third party", "registered in the account"],
)
def test_ubuntu_look_alike_not_from_canonical_warns(account, image, owner):
    """An image named like Ubuntu 20.04 is the guide's OS (no fail), but who published it is worth a look."""
    if image == "own":
        image = account.ec2.register_image(Name="ubuntu-focal-20.04-queue", RootDeviceName="/dev/sda1")["ImageId"]
    relaunch(account, ImageId=image)
    result = account.check()
    assert result.failing() == set()
    assert result.one("queue-instance-os").status == "pass"
    f = result.one(PUBLISHER_RULE)
    assert f.status == "warn"
    assert f"is owned by {owner}, not Canonical (099720109477)" in f.message


def test_ubuntu_20_04_warns_past_its_support_end_and_never_fails(account):
    result = account.check()
    f = result.one(EOL_RULE)
    assert f.status == "warn"
    assert f.expected == "a supported release (after 2025-05-31)"
    assert f.actual == "ubuntu/images/hvm-ssd/ubuntu-focal-20.04-amd64-server-20250610"
    assert "ask Valohai whether 22.04 or 24.04 is supported for the queue" in f.message
    assert EOL_RULE not in result.failing()


def test_ubuntu_22_04_is_in_standard_support(account):
    relaunch(account, ImageId=UBUNTU_2204_AMI)
    result = account.check()
    assert result.one(EOL_RULE).status == "pass"
    assert result.failing() == {"queue-instance-os"}  # the guide itself still says 20.04


# ------------------------------------------------------------------ the instance is gone


@pytest.mark.parametrize("drift", [_terminate, _unname_instance], ids=["terminated", "unnamed"])
def test_without_a_live_queue_the_other_instance_rules_skip(account, drift):
    drift(account)
    result = account.check()
    assert result.failing() == {"queue-instance-exists"}
    for rule_id in queue_rule_ids(account.pack) - {"queue-instance-exists", "eip-exists", "eip-tag", "eip-vpc-domain"}:
        f = result.one(rule_id)
        assert f.status == "skip", (rule_id, f.status, f.message)
        assert "valohai-i-queue does not exist (rule queue-instance-exists); nothing to inspect" in f.message
    assert result.status("eip-exists") == "pass"


def test_relaunched_queue_with_the_old_one_terminated_passes(account):
    """A terminated valohai-i-queue keeps its Name tag for an hour: its replacement is judged, alone."""
    new = relaunch(account)
    result = account.check()
    assert result.failing() == set()
    assert result.one("queue-instance-exists").resource_id == new
    assert result.one("eip-associated").message.endswith(f"is associated with valohai-i-queue ({new})")


def test_eip_released_skips_the_other_eip_rules(account):
    release_eip(account)
    result = account.check()
    assert result.failing() == {"eip-exists"}
    for rule_id in ("eip-tag", "eip-vpc-domain", "eip-associated"):
        f = result.one(rule_id)
        assert f.status == "skip"
        assert "valohai-ip-queue does not exist (rule eip-exists)" in f.message


def test_eip_outside_the_vpc_domain_fails(account):
    # EC2-Classic is retired: every new Elastic IP is domain vpc, and moto cannot tag a
    # "standard" address (nor could AWS), so the reader would never find one by its Name.
    # The drift is made on the snapshot, the way `vhv check --snapshot` reads an old one.
    result = account.check()
    [eip] = result.snapshot.data["eips"]
    eip["domain"] = "standard"
    assert_fails_exactly(
        recheck(account, result),
        {"eip-vpc-domain": ("{eip}", ["valohai-ip-queue ({eip}) domain is standard; the guide asks for vpc"])},
        ids_of(account),
    )


def test_root_volume_is_found_when_the_mapping_names_another_device(account):
    """moto maps the first volume as /dev/sda1 even when the image's root device is /dev/xvda;
    the reader still finds the root volume, so the disk rule decides instead of erroring."""
    from validator.aws.ec2 import root_volume_id

    assert root_volume_id([{"DeviceName": "/dev/sda1", "Ebs": {"VolumeId": "vol-1"}}], "/dev/xvda") == "vol-1"
    assert (
        root_volume_id(
            [
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeId": "vol-1"}},
                {"DeviceName": "/dev/sdf", "Ebs": {"VolumeId": "vol-2"}},
            ],
            "/dev/xvda",
        )
        == "vol-1"
    )
    assert (
        root_volume_id(
            [
                {"DeviceName": "/dev/sdf", "Ebs": {"VolumeId": "vol-2"}},
                {"DeviceName": "/dev/sdg", "Ebs": {"VolumeId": "vol-3"}},
            ],
            "/dev/xvda",
        )
        is None
    )
    relaunch(account, ImageId=AL2023_AMI, BlockDeviceMappings=None)  # root device /dev/xvda, default 8 GiB
    result = account.check()
    assert result.one("queue-instance-disk").status == "fail"
    assert "is 8 GiB; the guide asks for 16 GiB" in result.one("queue-instance-disk").message


def test_a_pack_without_the_missing_rule_fails_what_it_would_skip(account):
    """A custom pack that judges the Elastic IP but leaves out eip-exists: with the address gone,
    its other rules fail (they cannot skip on a rule that is not there), never pass."""
    release_eip(account)
    pack = account.pack
    account.pack = type(pack)(tuple(r for r in pack.rules if r.id != "eip-exists"))
    tag = account.check().one("eip-tag")
    assert tag.status == "fail"
    assert tag.message == "valohai-ip-queue does not exist (this rule pack has no eip-exists to say so)"
    account.pack = pack
    assert account.check().one("eip-tag").status == "skip"  # the shipped pack says it once, in eip-exists


def test_a_second_interface_in_the_queues_group_alone_passes(account):
    second_interface(account, account.ids["sg_queue"])
    result = account.check()
    assert result.one("queue-instance-sg-only").status == "pass"
    assert result.one("eip-associated").status == "pass"


def test_an_open_group_on_a_second_interface_is_left_by_hand_in_the_plan(account):
    from tests.test_remediate import plan_of
    from validator.fixers.plan import MANUAL

    eni = _second_interface_open(account)["eni"]
    _, plan = plan_of(account)
    steps = [s for s in plan.steps if s.rule == "queue-instance-sg-only"]
    assert [s.risk for s in steps] == [MANUAL], steps
    assert f"on its network interface {eni} (device 1). By hand: detach that interface" in steps[0].summary
