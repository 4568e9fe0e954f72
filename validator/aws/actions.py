"""The IAM action an API call needs, where its name is not the operation's (S3's).

`vhv permissions`, the catalogue's read_actions and fix_actions, and a denied step's message name
IAM actions; botocore names operations. For IAM and EC2 they are the same words; S3 and
s3control have their own.
"""

from __future__ import annotations

# "service:Operation" (botocore's service name) -> the IAM action
IAM_ACTION_OF = {
    "s3:GetPublicAccessBlock": "s3:GetBucketPublicAccessBlock",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    "s3control:GetPublicAccessBlock": "s3:GetAccountPublicAccessBlock",
    "s3control:PutPublicAccessBlock": "s3:PutAccountPublicAccessBlock",
    "s3:GetBucketEncryption": "s3:GetEncryptionConfiguration",
    "s3:PutBucketEncryption": "s3:PutEncryptionConfiguration",
    "s3:GetBucketLifecycleConfiguration": "s3:GetLifecycleConfiguration",
    "s3:PutBucketLifecycleConfiguration": "s3:PutLifecycleConfiguration",
    "s3:GetBucketCors": "s3:GetBucketCORS",
    "s3:PutBucketCors": "s3:PutBucketCORS",
    "s3:DeleteBucketCors": "s3:PutBucketCORS",
}


def iam_action(service: str, operation: str) -> str:
    """iam_action("s3", "PutBucketCors") -> s3:PutBucketCORS; ("ec2", "CreateTags") -> ec2:CreateTags."""
    name = f"{service}:{operation}"
    return IAM_ACTION_OF.get(name, name)
