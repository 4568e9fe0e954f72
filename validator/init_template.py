"""The commented params template that `vhv init` writes, with the catalogue's names."""

from validator.kinds import GUIDE, RECIPES, VALUES, name


def _recipes() -> str:
    lines = [f"#   {GUIDE}: the steps of the setup guide, clicked through or scripted"]
    lines += [f"#   {r.key}: {r.title} ({r.source})" for r in RECIPES.values()]
    return "\n".join(lines)


# `{path}` is left for `vhv init` to fill in
TEMPLATE = f"""\
# vhv params: the values the Valohai setup guide asks you to record.
# Replace each RECORDED ... HERE with yours; check them with:  vhv check --params {{path}}

# The AWS region you selected ("Select the correct region"). The guide recommends
# us-west-2 (US) or eu-west-1 (EU) for the widest choice of GPU instance types.
region: eu-west-1

# The 12-digit id of the AWS account you set up: vhv refuses to check or change another.
account_id: "RECORDED 12-digit account id HERE"

# The AssumeRole ARN you asked your Valohai contact for (top of the guide).
# {name("master_role")}'s trust policy must let exactly this principal sts:AssumeRole.
assume_role_arn: RECORDED AssumeRole ARN HERE

# Who created the network and the queue instance ("Create Network Resources"):
#   self:    Option 1, you provisioned the VPC, subnets, gateway, security groups,
#            {name("instance")} and {name("eip")} yourself
#   valohai: Option 2, {name("master_role")} has AmazonEC2FullAccess and AmazonVPCFullAccess
provisioning: self

# Who installs the worker queue on {name("instance")} ("Security Groups"). Decides the
# SSH source on {name("sg_queue")}: admin_cidr (self) or {VALUES.valohai_ssh_cidr} (valohai).
queue_installer: self

# Your IP as a /32 (https://checkip.amazonaws.com says it), for SSH to the queue when
# queue_installer is self.
admin_cidr: RECORDED your IP as a /32 HERE

# The CIDR of {name("vpc")} ("VPC and Subnets"; the guide's example is 10.0.0.0/16).
vpc_cidr: 10.0.0.0/16

# How the account was built (optional; default guide): by hand from the setup guide, or with one
# of Valohai's own recipes, which name and shape the same setup differently:
{_recipes()}
# built_with: guide

# The data store (optional): the S3 bucket Valohai keeps your data in ("Add AWS S3 to
# Valohai"). Without this section the data-store rules are skipped.
# data_store:
#   bucket: acme-valohai-data       # the bucket's name
#   user: valohai-data-store        # how Valohai reaches it: an IAM user and its access key ...
#   # role: {name("master_role")}            # ... or a role of this account; exactly one of user/role
#   # multipart_role_arn: arn:aws:iam::<account>:role/<name>   # for outputs over 5 GB
#   web_uploads: true               # files are uploaded from the web UI: the bucket needs CORS
"""
