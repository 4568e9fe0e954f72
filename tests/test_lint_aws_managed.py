"""`vhv lint` on every AWS managed policy moto ships (moto/iam/aws_managed_policies.py):
what AWS itself writes must not read as an error of vocabulary (unknown service, action or
condition key, a resource of the wrong type or shape), except where AWS's policy really
disagrees with AWS's own Service Authorization Reference (KNOWN, each with why)."""

from __future__ import annotations

import json

import pytest

from validator.policy.lint import lint_text
from validator.policy.lintmodel import docs

VOCABULARY = {rid for rid, d in docs().items() if d["category"] == "Vocabulary"} | {
    "lint-resource-type-unsupported",
    "lint-arn-field",
    "lint-resource-not-arn",
    "lint-s3-bucket-name",
}

# Most entries are ARNs in a shape no resource has (the grant is dead); the rest name what
# the reference does not list for the action (newer features the reference lags behind).
_UNLISTED = "AWS names a resource or key the Service Authorization Reference does not list for it"
# policy -> {check: why}; the rest of the 1,500-odd policies must give no such error
KNOWN: dict[str, dict[str, str]] = {
    "AWSConfigServiceRolePolicy": {"lint-arn-field": "/v2/apis/... : API Gateway v2 ARNs are /apis/..."},
    "AWSDeepRacerCloudFormationAccessPolicy": {"lint-arn-field": "robomaker:*:*:/createSimulationApplication"},
    "AWSElasticBeanstalkRoleCore": {"lint-arn-field": "listener/awseb-*: ELB listener ARNs are listener/app|net/..."},
    "AdministratorAccess-AWSElasticBeanstalk": {"lint-arn-field": "listener/awseb-*, listener/eb-*"},
    "AWSGlueConsoleFullAccess": {"lint-arn-field": "logs:*:*:/aws-glue/*: no log-group: part"},
    "AWSGlueConsoleSageMakerNotebookFullAccess": {"lint-arn-field": "logs:*:*:/aws-glue/*"},
    "AwsGlueSessionUserRestrictedNotebookServiceRole": {"lint-arn-field": "logs:*:*:/aws-glue/*"},
    "AwsGlueSessionUserRestrictedServiceRole": {"lint-arn-field": "logs:*:*:/aws-glue/*"},
    "AmazonSecurityLakeMetastoreManager": {"lint-arn-field": "logs:*:*:/aws/lambda/...: no log-group: part"},
    "AWSIoTFleetHubFederationAccess": {"lint-arn-field": "cloudwatch:*:*:iotfleethub*"},
    "AWSManagedServices_DetectiveControlsConfig_ServiceRolePolicy": {
        "lint-arn-field": "stack/NAME without the /ID part; config:*:*::config-rule/* has a colon too many"
    },
    "AWSMigrationHubRefactorSpaces-EnvironmentsWithoutBridgesFullAccess": {"lint-arn-field": "apigateway:*::/tags"},
    "AWSMigrationHubRefactorSpacesFullAccess": {"lint-arn-field": "apigateway:*::/tags"},
    "AWSMigrationHubRefactorSpacesServiceRolePolicy": {"lint-arn-field": "apigateway:*::/tags"},
    "AmazonBedrockFullAccess": {"lint-arn-field": "arn:*:kms:*:::*: seven fields"},
    "AmazonBedrockLimitedAccess": {"lint-arn-field": "arn:*:kms:*:::*: seven fields"},
    "AmazonConnectServiceLinkedRolePolicy": {"lint-arn-field": "profile:*:*:/domains/...: the ARNs are domains/..."},
    "AmazonDataZoneSageMakerEnvironmentRolePermissionsBoundary": {
        "lint-arn-field": "states: statemachine: (ARNs say stateMachine:)"
    },
    "AmazonSageMakerFullAccess": {"lint-arn-field": "states: statemachine: (ARNs say stateMachine:)"},
    "AmazonDevOpsGuruOrganizationsAccess": {"lint-arn-field": "arn:aws:organizations::*: with no resource"},
    "AmazonRedshiftQueryEditorV2FullAccess": {"lint-arn-field": "secretsmanager:*:*:sqlworkbench!*: no secret: part"},
    "AmazonRedshiftQueryEditorV2NoSharing": {"lint-arn-field": "secretsmanager:*:*:sqlworkbench!*"},
    "AmazonRedshiftQueryEditorV2ReadSharing": {"lint-arn-field": "secretsmanager:*:*:sqlworkbench!*"},
    "AmazonRedshiftQueryEditorV2ReadWriteSharing": {"lint-arn-field": "secretsmanager:*:*:sqlworkbench!*"},
    "AmazonSageMakerCanvasDirectDeployAccess": {"lint-arn-field": "sagemaker:*:*:Canvas*: no resource type"},
    "AmazonSageMakerHyperPodInferenceAccess": {"lint-arn-field": "endpointconfig/* (ARNs say endpoint-config/)"},
    "AmazonSageMakerHyperPodObservabilityAdminAccess": {"lint-arn-field": "aps/grafana :/workspaces"},
    "AmazonSageMakerQuickSightVPCPolicy": {"lint-arn-field": "vpcconnection/* (ARNs say vpcConnection/)"},
    "AppIntegrationsServiceLinkedRolePolicy": {"lint-arn-field": "connector-profile/* (ARNs say connectorprofile/)"},
    "DBModProvisioningAndMigration": {"lint-arn-field": "ec2:*:*:vpc-endpoint:* (ARNs say vpc-endpoint/)"},
    "SecurityAgentWebAppAPIPolicy": {"lint-arn-field": "agent-instance*: a resource type of the preview, renamed"},
    "AgentRegistryFullAccess": {
        "lint-arn-field": "bedrock-agentcore credential-provider/*: now token-vault/.../...credentialprovider"
    },
    "AWSWAFConsoleFullAccess": {
        "lint-arn-field": "pricingplanmanager ...:subscription:* (ARNs say subscription/)",
        "lint-resource-type-unsupported": "waf-regional:GetWebACLForResource on waf-regional ARNs; "
        "the reference says it acts on the load balancer",
    },
    "AWSWAFConsoleReadOnlyAccess": {
        "lint-arn-field": "pricingplanmanager ...:subscription:*",
        "lint-resource-type-unsupported": "waf-regional:GetWebACLForResource",
    },
    "CloudFrontFullAccess": {"lint-arn-field": "pricingplanmanager ...:subscription:*"},
    "AWSWAFFullAccess": {"lint-resource-type-unsupported": "waf-regional:GetWebACLForResource"},
    "AWSWAFReadOnlyAccess": {"lint-resource-type-unsupported": "waf-regional:GetWebACLForResource"},
    "GitLabDuoWithAmazonQPermissionsPolicy": {"lint-arn-field": _UNLISTED + ": qdeveloper plugin/..."},
    "AWSApplicationMigrationNetworkMigrationMultiAccount": {
        "lint-resource-type-unsupported": _UNLISTED + ": ec2:PutResourcePolicy on security-group/*"
    },
    "AmazonConnectCampaignsServiceLinkedRolePolicy": {
        "lint-resource-type-unsupported": "connect:GetMetricDataV2 on a connect-campaigns ARN"
    },
    "AmazonEKSConnectorServiceRolePolicy": {
        "lint-resource-type-unsupported": "ssm:DeregisterManagedInstance on an eks cluster ARN"
    },
    "AmazonODBAutonomousDatabaseAdmin": {"lint-resource-type-unsupported": _UNLISTED + ": odb outbound integrations"},
    "AmazonODBExascaleVmClusterAdmin": {"lint-resource-type-unsupported": _UNLISTED + ": odb outbound integrations"},
    "ROSASRESupportPolicy": {
        "lint-resource-type-unsupported": "ec2:DescribeAddressesAttribute on elastic-ip/*; "
        "EC2 Describe actions take * only"
    },
    "AWSSSOServiceRolePolicy": {
        "lint-unknown-condition-key": "aws:PrincipalOrgMasterAccountId: not on AWS's page of global condition keys"
    },
    "AmazonDataZoneGlueManageAccessRolePolicy": {
        "lint-unknown-condition-key": "lakeformation:GlueARN: not a Lake Formation key of the reference"
    },
    "AIOpsAssistantPolicy": {
        "lint-operator-type-mismatch": "StringEquals aws:ViaAWSService 'amplify.amazonaws.com': "
        "the key is a Boolean, so that text never matches "
        "(aws:CalledVia names the service)"
    },
    "SageMakerStudioProjectProvisioningRolePolicy": {
        "lint-operator-type-mismatch": "StringEquals on the Boolean lakeformation:EnabledOnlyForMetaDataAccess: "
        "matches the text 'true' only; Access Analyzer reports it as a type mismatch"
    },
}


@pytest.fixture(scope="module")
def managed() -> dict[str, dict]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return {name: p["Document"] for name, p in json.loads(aws_managed_policies_data).items()}


def test_aws_managed_policies_give_no_error_of_vocabulary(managed) -> None:
    assert len(managed) > 1000
    unexpected: dict[str, list[str]] = {}
    for name, doc in managed.items():
        for f in lint_text(json.dumps(doc, indent=1), name, trust_flag=False):
            if (
                f.rule_id in VOCABULARY
                and docs()[f.rule_id]["level"] == "error"
                and f.rule_id not in KNOWN.get(name, {})
            ):
                unexpected.setdefault(name, []).append(f"{f.rule_id} {f.pointer}: {f.message}")
    assert unexpected == {}


def test_retired_actions_in_aws_policies_are_warnings_not_errors(managed) -> None:
    found = [f for f in lint_text(json.dumps(managed["AWSIoTEventsReadOnlyAccess"]), "p", trust_flag=False)]
    assert {(f.rule_id, f.status) for f in found} == {("lint-retired-action", "warn")}
    assert "'iotevents' is retired" in found[0].message
