"""The commented params template that `vhv init` writes."""

TEMPLATE = """\
# vhv params: the values the Valohai setup guide asks you to record.
# Check them with:  vhv check --params {path}

# The AWS region you selected ("Select the correct region"). The guide recommends
# us-west-2 (US) or eu-west-1 (EU) for the widest choice of GPU instance types.
region: eu-west-1

# The AssumeRole ARN you asked your Valohai contact for (top of the guide).
# ValohaiMaster's trust policy must let exactly this principal sts:AssumeRole.
assume_role_arn: arn:aws:iam::123456789012:role/valohai-assumer

# Who created the network and the queue instance ("Create Network Resources"):
#   self:    Option 1, you provisioned the VPC, subnets, gateway, security groups,
#            valohai-i-queue and valohai-ip-queue yourself
#   valohai: Option 2, ValohaiMaster has AmazonEC2FullAccess and AmazonVPCFullAccess
provisioning: self

# Who installs the worker queue on valohai-i-queue ("Security Groups"). Decides the
# SSH source on valohai-sg-queue: admin_cidr (self) or 3.251.38.215/32 (valohai).
queue_installer: self

# Your IP as a /32, for SSH to the queue when queue_installer is self.
admin_cidr: 203.0.113.7/32

# The CIDR of valohai-vpc ("VPC and Subnets"; the guide's example is 10.0.0.0/16).
vpc_cidr: 10.0.0.0/16
"""
