"""Fixers are declared per rule in data: each fixable rule names its fix (`fixer:` in rules/*.yaml),
the fixer module of its kind (the catalogue's `fixer:`) registers that fix by name, and no Python
file of vhv spells a rule id (the rule packs are the only place they live).

The last test plans drifted accounts (moto) with every registered fix watched: each plans steps
only for the kinds its module writes, each call is an IAM action the catalogue declares for that
kind, and every fix plans something in one of them.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

import validator
from validator import engine, guide, rulepack
from validator import params as params_mod
from validator.aws.account import read
from validator.aws.session import Target
from validator.demo import DEMO_PARAMS, build_golden
from validator.errors import VhvError
from validator.fixers import planner, registry
from validator.fixers.apply import action
from validator.kinds import KINDS

ROOT = Path(validator.__file__).resolve().parent
REGION = DEMO_PARAMS["region"]


@pytest.fixture(scope="module")
def shipped() -> rulepack.RulePack:
    return rulepack.load()


# ------------------------------------------------------------------ the declarations


def test_every_fixable_rule_names_a_fixer(shipped):
    unnamed = [r.id for r in shipped.rules if r.fixable and not r.fixer]
    assert not unnamed, f"fixable rules that name no fixer (add `fixer:` in the YAML): {unnamed}"


def test_every_fixer_a_rule_names_is_registered_and_run(shipped):
    unknown = [
        f"{r.id}: {r.fixer} ({registry.module_of(r.resource)})"
        for r in shipped.rules
        if r.fixer and registry.fix_of(r.resource, r.fixer) is None
    ]
    assert not unknown, f"rules naming a fixer their kind's fixer module does not register: {unknown}"
    assert planner.problems(shipped) == []


def test_every_registered_fixer_is_named_by_a_rule(shipped):
    named = {(registry.module_of(r.resource), r.fixer) for r in shipped.rules if r.fixer}
    registered = {(module, name) for module, fixes in registry.FIXERS.items() for name in fixes}
    assert registered - named == set(), "fixes no rule names (dead code, or a rule that lost its `fixer:`)"


def test_the_fixer_modules_are_the_catalogues():
    assert set(registry.FIXERS) == {k.fixer for k in KINDS.values() if k.fixer}


def test_the_order_runs_only_registered_fixes_of_kinds_that_have_a_fixer():
    for kinds, fixes in planner.ORDER:
        for kind in kinds:
            assert KINDS[kind].fixer, kind
            for name in fixes:
                assert registry.fix_of(kind, name) is not None, (kind, name)


def test_the_fixers_permissions_are_the_catalogues():
    from validator.fixers import permissions

    declared = {a for k in KINDS.values() if k.fixer for a in k.fix_actions}
    assert set(permissions()) == declared
    assert {"iam:DeleteRolePolicy", "iam:PassRole"} <= declared  # delete an inline policy; fill a profile


# ------------------------------------------------------------------ no rule id in Python


def _python_files() -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py") if "__pycache__" not in p.parts)


def _strings(tree: ast.AST) -> list[tuple[int, str]]:
    """Every string constant (docstrings and the literal parts of f-strings included), with its line."""
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_every_python_file_is_searched():
    found = _python_files()
    assert "fixers/network.py" in found and "remediate.py" in found and "checks/net.py" in found


@pytest.mark.parametrize("rel", [f for f in _python_files()])
def test_no_rule_id_in_python(rel, shipped):
    ids = sorted((r.id for r in shipped.rules), key=len, reverse=True)
    word = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])")
    tree = ast.parse((ROOT / rel).read_text(encoding="utf-8"))
    hits = [f"validator/{rel}:{line}: {m}" for line, text in _strings(tree) for m in word.findall(text)]
    assert not hits, "rule ids spelled in Python (a rule names its fix in the YAML instead):\n" + "\n".join(hits)


def test_the_search_finds_an_id_in_an_f_string_and_a_docstring(shipped):
    tree = ast.parse('"""See vpc-exists."""\nx = f"{a} vpc-tag {b}"\ny = "vpc-tags"\n')
    ids = {r.id for r in shipped.rules}
    found = [t for _, t in _strings(tree)]
    assert any("vpc-exists" in t for t in found) and " vpc-tag " in found
    assert "vpc-tag" in ids and "vpc-exists" in ids


# ------------------------------------------------------------------ a pack that names a fix wrongly


def _one_rule_pack(tmp_path: Path, **rule: Any) -> Path:
    base = {
        "id": "vpc-tag-custom",
        "severity": "low",
        "title": "the VPC is tagged",
        "section": "VPC and Subnets",
        "resource": "vpc",
        "evaluator": "tag",
        "args": {"key": "valohai", "value": "1"},
        "fix": "Tag it.",
        "fixable": True,
    }
    (tmp_path / "1-custom.yaml").write_text(yaml.safe_dump({"rules": [{**base, **rule}]}))
    return tmp_path


def test_a_fixable_rule_that_names_no_fix_is_refused_at_load(tmp_path):
    # reports would call it fixable, and remediate could only say it by hand
    with pytest.raises(VhvError, match=r"vpc-tag-custom.*fixable: true needs the fix remediate takes \(fixer:\)"):
        rulepack.load(_one_rule_pack(tmp_path))
    assert rulepack.load(_one_rule_pack(tmp_path, fixer="tag")).rules[0].fixer == "tag"


def test_a_fixer_on_a_rule_that_is_not_fixable_is_refused_at_load(tmp_path):
    with pytest.raises(VhvError, match=r"vpc-tag-custom.*fixer 'tag' on a rule that is not fixable"):
        rulepack.load(_one_rule_pack(tmp_path, fixable=False, fixer="tag"))


def test_explained_by_must_name_rules_of_the_pack(tmp_path):
    with pytest.raises(VhvError, match=r"rule vpc-tag-custom: explained_by names no rule of the pack: vpc-tga"):
        rulepack.load(_one_rule_pack(tmp_path, fixer="tag", explained_by=["vpc-tga"]))
    pack = rulepack.load(_one_rule_pack(tmp_path, fixer="tag", explained_by=["vpc-tag-custom"]))
    assert pack.rules[0].explained_by == ("vpc-tag-custom",)


@pytest.mark.parametrize(
    "fixer,resource,why",
    [
        ("tga", "vpc", r"fixer 'tga' is not a fix of the fixer module of vpc \(network: attach-igw, create"),
        ("sg-only", "vpc", r"fixer 'sg-only' is not a fix of the fixer module of vpc \(network"),
        ("create", "route_table", r"fixer 'create' is never run for route_table"),
    ],
)
def test_remediate_refuses_a_pack_whose_fixer_would_never_run(tmp_path, fixer, resource, why):
    pack = rulepack.load(_one_rule_pack(tmp_path, fixer=fixer, resource=resource))
    assert planner.problems(pack) and re.search(why, planner.problems(pack)[0])
    with pytest.raises(VhvError, match=r"1-custom.yaml: rule vpc-tag-custom: " + why):
        planner.build(pack, None, None, [])  # refused before anything is planned


# ------------------------------------------------------------------ what each fixer plans


def _rule_ids(ec2: Any, group: str, egress: bool) -> list[str]:
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
    return [r["SecurityGroupRuleId"] for r in rules["SecurityGroupRules"] if r["IsEgress"] == egress]


def everything_drifted(s: Any, ids: dict[str, Any]) -> None:
    """A failing rule for every fix but creating and attaching the gateway."""
    iam, ec2 = s.client("iam", region_name=REGION), s.client("ec2", region_name=REGION)
    for kind in ("worker_policy", "master_policy"):
        iam.untag_policy(PolicyArn=ids[kind], TagKeys=["valohai"])
    doc = json.loads(json.dumps(guide.WORKER_POLICY))
    doc["Statement"][0]["Action"] = ["ec2:TerminateInstances"]  # one action missing, one beyond the guide
    iam.create_policy_version(PolicyArn=ids["worker_policy"], PolicyDocument=json.dumps(doc), SetAsDefault=True)
    doc = guide.master_policy(ids["worker_role"])
    doc["Statement"][0]["Action"].remove("ec2:DescribeImages")
    doc["Statement"].append({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    iam.create_policy_version(PolicyArn=ids["master_policy"], PolicyDocument=json.dumps(doc), SetAsDefault=True)
    extra = iam.create_policy(PolicyName="Extra", PolicyDocument=json.dumps(guide.WORKER_POLICY))["Policy"]["Arn"]
    for role in ("ValohaiWorkerRole", "ValohaiMaster"):
        iam.untag_role(RoleName=role, TagKeys=["valohai"])
        iam.attach_role_policy(RoleName=role, PolicyArn=extra)
        iam.put_role_policy(RoleName=role, PolicyName="inline", PolicyDocument=json.dumps(guide.WORKER_POLICY))
    iam.detach_role_policy(RoleName="ValohaiWorkerRole", PolicyArn=ids["worker_policy"])
    trust = guide.ec2_trust()
    trust["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"}, "Action": "sts:AssumeRole"}
    )
    iam.update_assume_role_policy(RoleName="ValohaiWorkerRole", PolicyDocument=json.dumps(trust))
    iam.update_assume_role_policy(
        RoleName="ValohaiMaster", PolicyDocument=json.dumps(guide.master_trust("arn:aws:iam::222222222222:root"))
    )
    iam.attach_role_policy(RoleName="ValohaiMaster", PolicyArn="arn:aws:iam::aws:policy/AmazonEC2FullAccess")
    iam.remove_role_from_instance_profile(InstanceProfileName="ValohaiWorkerRole", RoleName="ValohaiWorkerRole")
    iam.delete_instance_profile(InstanceProfileName="ValohaiWorkerRole")
    tagged = ("vpc", "igw", "rt", "sg_workers", "sg_queue", "instance", "eip")
    for rid in [ids[k] for k in tagged] + [ids["subnets"][1]]:
        ec2.delete_tags(Resources=[rid], Tags=[{"Key": "valohai"}])
    ec2.delete_tags(Resources=[ids["rt"]], Tags=[{"Key": "Name"}])
    ec2.replace_route(RouteTableId=ids["rt"], DestinationCidrBlock="0.0.0.0/0", InstanceId=ids["instance"])
    own = ec2.create_route_table(VpcId=ids["vpc"])["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=own, SubnetId=ids["subnets"][2])
    ec2.revoke_security_group_egress(
        GroupId=ids["sg_workers"], SecurityGroupRuleIds=_rule_ids(ec2, ids["sg_workers"], True)
    )
    world = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.authorize_security_group_ingress(GroupId=ids["sg_workers"], IpPermissions=world)
    http = [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]
    ec2.revoke_security_group_ingress(GroupId=ids["sg_queue"], IpPermissions=http)
    ec2.modify_instance_attribute(InstanceId=ids["instance"], Groups=[ids["sg_workers"]])
    assoc = ec2.describe_addresses(AllocationIds=[ids["eip"]])["Addresses"][0]["AssociationId"]
    ec2.disassociate_address(AssociationId=assoc)
    s3 = s.client("s3", region_name=REGION)
    bucket = ids["data_bucket"]
    s3.delete_public_access_block(Bucket=bucket)
    s3.delete_bucket_encryption(Bucket=bucket)
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_bucket_lifecycle(Bucket=bucket)
    s3.delete_bucket_tagging(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    wide = {"AllowedMethods": ["PUT"], "AllowedOrigins": ["*"]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [wide]})


def igw_attached_elsewhere(s: Any, ids: dict[str, Any]) -> None:
    ec2 = s.client("ec2", region_name=REGION)
    ec2.delete_route(RouteTableId=ids["rt"], DestinationCidrBlock="0.0.0.0/0")
    ec2.detach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=ids["vpc"])
    other = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.attach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=other)


# name -> (build the guide's account first, then drift it)
SCENARIOS = {
    "everything drifted": (True, everything_drifted),
    "the gateway on another VPC": (True, igw_attached_elsewhere),
    "an empty account": (False, None),
}


def _inputs(name: str, pack: rulepack.RulePack) -> tuple[Any, Any, list[Any]]:
    golden, drift = SCENARIOS[name]
    with mock_aws():
        s = boto3.Session(region_name=REGION)
        ids = build_golden(s) if golden else {}
        if drift:
            drift(s, ids)
        prm = params_mod.from_dict(dict(DEMO_PARAMS), source="params.yaml")
        snap, _calls = read(prm, Target(region=REGION), for_fix=True)
    return prm, snap, engine.evaluate(pack, prm, snap)


def _allowed(kind: str) -> set[str]:
    """The IAM actions the catalogue declares for writing `kind` (and its instance profile)."""
    k = KINDS[kind]
    return set(k.fix_actions) | (set(KINDS[k.profile].fix_actions) if k.profile else set())


def test_each_fixer_plans_only_its_modules_kinds_with_the_catalogues_actions(shipped, monkeypatch):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # AmazonEC2FullAccess is attached
    planned: dict[tuple[str, str], list[Any]] = {}

    def watched(module: str, name: str, fix: Any) -> Any:
        def run(b: Any, kind: str, rules: list[Any]) -> None:
            before = len(b.plan.steps)
            fix(b, kind, rules)
            planned.setdefault((module, name), []).extend(b.plan.steps[before:])

        return run

    for module, fixes in registry.FIXERS.items():
        for name, fix in list(fixes.items()):
            monkeypatch.setitem(fixes, name, watched(module, name, fix))
    for scenario in SCENARIOS:
        planner.build(shipped, *_inputs(scenario, shipped))
    wrong = [
        f"{module}.{name}: step {s.id} ({s.rule}) is of {s.kind}, which {KINDS[s.kind].fixer or 'no module'} writes"
        for (module, name), steps in planned.items()
        for s in steps
        if KINDS[s.kind].fixer != module
    ]
    assert not wrong, "\n".join(wrong)
    undeclared = [
        f"{module}.{name}: {s.call} ({action(s)}) on {s.kind}"
        for (module, name), steps in planned.items()
        for s in steps
        if s.call and action(s) not in _allowed(s.kind)
    ]
    assert not undeclared, "calls the catalogue's fix_actions do not declare:\n" + "\n".join(undeclared)
    idle = sorted(f"{m}.{n}" for m, fixes in registry.FIXERS.items() for n in fixes if not planned.get((m, n)))
    assert not idle, f"fixes that planned nothing in any scenario (add a drift that makes them act): {idle}"


def test_fix_after_must_name_rules_of_the_pack(tmp_path):
    with pytest.raises(VhvError, match=r"rule vpc-tag-custom: fix_after names no rule of the pack: vpc-tga"):
        rulepack.load(_one_rule_pack(tmp_path, fixer="tag", fix_after=["vpc-tga"]))
    pack = rulepack.load(_one_rule_pack(tmp_path, fixer="tag", fix_after=["vpc-tag-custom"]))
    assert pack.rules[0].fix_after == ("vpc-tag-custom",)
