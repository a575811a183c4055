"""IAM policy documents the local cloud refuses as IAM does: through CloudFormation (the role or
policy resource is CREATE_FAILED with IAM's message in its handler's frame, the stack rolls
back) and through the IAM API (MalformedPolicyDocument).

IAM's messages are those moto's validator reproduces; each case cites where people met it on AWS.
"""
from __future__ import annotations

import json
import re

import pytest
from botocore.exceptions import ClientError

from tests.cloud.test_cloudformation import Cloud, function_template, unique
from tests.refusals.test_cloudformation import HEADER, failed_resource

# The AWS::IAM::Role handler's frame around IAM's answer (aws-cloudformation/cfn-lint#4287):
# Resource handler returned message: "MESSAGE (Service: Iam, Status Code: 400, Request ID: ...)
# (SDK Attempt Count: 1)" (RequestToken: ..., HandlerErrorCode: InvalidRequest)
FRAME = re.compile(r'Resource handler returned message: "(?P<message>.*) \(Service: Iam, Status Code: 400, '
                   r'Request ID: [0-9a-f-]+\) \(SDK Attempt Count: 1\)" \(RequestToken: [0-9a-f-]+, '
                   r'HandlerErrorCode: InvalidRequest\)')
TRUST = ('{Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, '
         'Action: "sts:AssumeRole"}]}')
GOOD = {"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}

# (statement or document, IAM's message, where AWS users met it)
MISTAKES = {
    # "Syntax errors in policy." for an Effect other than Allow/Deny (cfn-lint#2021 shows it
    # from CloudFormation, Service: AmazonIdentityManagement in the older handler).
    "effect-typo": ({**GOOD, "Effect": "Alow"}, "Syntax errors in policy."),
    # aws/aws-cdk#7615: "Policy statement must contain actions. (Service: AmazonIdentityManagement;
    # Status Code: 400; Error Code: MalformedPolicyDocument ...)".
    "no-action": ({"Effect": "Allow", "Resource": "*"}, "Policy statement must contain actions."),
    # aws-samples/aws-health-aware#1: "Policy statement must contain resources. (Service:
    # AmazonIdentityManagement; Status Code: 400; Error Code: MalformedPolicyDocument ...)".
    "no-resource": ({"Effect": "Allow", "Action": "dynamodb:PutItem"}, "Policy statement must contain resources."),
    # The Version element allows only 2012-10-17 and 2008-10-17 (IAM JSON policy elements:
    # Version); anything else is a syntax error.
    "bad-version": ({"Version": "2012-10-18", "Statement": [GOOD]}, "Syntax errors in policy."),
    # IAM: "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc." for an
    # action without its service prefix (cfn-lint#935 shows its sibling, "Actions/Condition can
    # contain only one colon.", from CloudFormation).
    "no-prefix": ({**GOOD, "Action": "PutItem"},
                  "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."),
    # An element IAM's grammar does not have ("Actions") is a syntax error.
    "unknown-key": ({"Effect": "Allow", "Actions": "dynamodb:PutItem", "Resource": "*"}, "Syntax errors in policy."),
    # hashicorp/terraform#13449: "MalformedPolicyDocument: Policy document should not specify a
    # principal." for a Principal in a role's permissions policy.
    "principal": ({**GOOD, "Principal": {"Service": "lambda.amazonaws.com"}},
                  "Policy document should not specify a principal."),
}


def document(mistake) -> dict:
    return mistake if "Statement" in mistake else {"Version": "2012-10-17", "Statement": [mistake]}


@pytest.fixture(scope="module")
def aws(cloud) -> Cloud:
    return Cloud(cloud.endpoint)


def role_template(statement: dict, trust: str = TRUST) -> str:
    """A stack of one role, WorkerRole, with one inline policy holding `statement`."""
    return HEADER + f"""Resources:
  WorkerRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {trust}
      Policies:
        - PolicyName: write
          PolicyDocument: {json.dumps(document(statement))}
"""


def iam_said(reason: str) -> str:
    match = FRAME.fullmatch(reason)
    assert match, reason
    return match["message"]


@pytest.mark.parametrize("name", MISTAKES)
def test_a_malformed_inline_policy_fails_the_role(aws, name):
    mistake, message = MISTAKES[name]
    stack = unique("role")
    assert iam_said(failed_resource(aws, stack, role_template(mistake), "WorkerRole")) == message
    assert not [r for r in aws.iam.list_roles()["Roles"] if r["RoleName"].startswith(f"{stack}-WorkerRole")]


TRUST_MISTAKES = {
    # terraform-aws-modules/terraform-aws-iam#47 (CreateRole): "MalformedPolicyDocument: Invalid
    # principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy
    # has a statement with no principals!"
    "no-principal": ({"Effect": "Allow", "Action": "sts:AssumeRole"},
                     "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed "
                     "in policy has a statement with no principals!"),
    # devopsacademyau/academy#1368 (CreateRole): "MalformedPolicyDocument ... Has prohibited field
    # Resource" for a permissions statement written as the trust policy.
    "resource": ({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                  "Action": "sts:AssumeRole", "Resource": "*"}, "Has prohibited field Resource."),
}


@pytest.mark.parametrize("name", TRUST_MISTAKES)
def test_a_malformed_trust_policy_fails_the_role(aws, name):
    statement, message = TRUST_MISTAKES[name]
    text = role_template(GOOD, trust=json.dumps(document(statement)))
    assert iam_said(failed_resource(aws, unique("trust"), text, "WorkerRole")) == message


def test_a_malformed_statement_in_sam_policies_fails_the_function_role(aws):
    # SAM copies a function's Policies statements into its role (FnRole): IAM judges them there.
    text = function_template(extra='      Policies:\n        - Statement: [{Effect: Allow, Action: PutItem, Resource: "*"}]\n')
    assert iam_said(failed_resource(aws, unique("sampol"), text, "FnRole")) == MISTAKES["no-prefix"][1]


def test_sam_policy_templates_and_statements_without_version_deploy(aws):
    # No false refusal: SAM's policy templates have no Version, and an inline policy without one
    # is a 2008-10-17 policy that IAM takes (moto's validator demanded 2012-10-17 of it).
    text = function_template(extra="""      Policies:
        - DynamoDBCrudPolicy: {TableName: !Ref Table}
        - SSMParameterReadPolicy: {ParameterName: fixit/*}
        - Statement: [{Effect: Allow, Action: "sqs:SendMessage", Resource: !Sub "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:q"}]
  Table:
    Type: AWS::Serverless::SimpleTable
""")
    name = unique("templates")
    assert aws.create(name, text)["StackStatus"] == "CREATE_COMPLETE"
    role = aws.resources(name)["FnRole"]
    assert sorted(aws.iam.list_role_policies(RoleName=role)["PolicyNames"]) == [
        "FnRolePolicy0", "FnRolePolicy1", "FnRolePolicy2"]


def test_a_malformed_policy_resource_fails_that_resource(aws):
    # AWS::IAM::Policy puts its document on the roles it names: IAM judges it the same way.
    text = HEADER + f"""Resources:
  WorkerRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument: {TRUST}
  WritePolicy:
    Type: AWS::IAM::Policy
    Properties:
      PolicyName: write
      Roles: [!Ref WorkerRole]
      PolicyDocument: {json.dumps(document(MISTAKES['effect-typo'][0]))}
"""
    assert iam_said(failed_resource(aws, unique("policy"), text, "WritePolicy")) == "Syntax errors in policy."


def test_a_managed_policy_without_version_fails(aws):
    # Managed policies must say Version 2012-10-17 (Bayer-Group/cloudformation-template-generator#90:
    # "some cloudformation directives require '2012-10-17', such as AWS::IAM::ManagedPolicy";
    # Meteor-CollectionFS#630: "Policy document must be version 2012-10-17 or greater.").
    text = HEADER + f"""Resources:
  WritePolicy:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument: {json.dumps({"Statement": [GOOD]})}
"""
    assert iam_said(failed_resource(aws, unique("managed"), text, "WritePolicy")) == (
        "Policy document must be version 2012-10-17 or greater.")


def test_the_iam_api_answers_as_iam(aws):
    # PutRolePolicy refuses a malformed document with MalformedPolicyDocument (terraform-aws-
    # transfer-family#109: "PutRolePolicy ... MalformedPolicyDocument: Syntax errors in policy."),
    # takes an inline policy without Version, and CreatePolicy refuses one without Version.
    role = unique("direct")
    aws.iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))
    for name in ("effect-typo", "principal"):
        mistake, message = MISTAKES[name]
        with pytest.raises(ClientError) as refusal:
            aws.iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(document(mistake)))
        assert (refusal.value.response["Error"]["Code"], refusal.value.response["Error"]["Message"]) == (
            "MalformedPolicyDocument", message)
    unversioned = json.dumps({"Statement": [GOOD]})
    aws.iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=unversioned)
    assert aws.iam.list_role_policies(RoleName=role)["PolicyNames"] == ["p"]
    with pytest.raises(ClientError) as refusal:
        aws.iam.create_policy(PolicyName=role, PolicyDocument=unversioned)
    assert (refusal.value.response["Error"]["Code"], refusal.value.response["Error"]["Message"]) == (
        "MalformedPolicyDocument", "Policy document must be version 2012-10-17 or greater.")


def test_an_update_with_a_malformed_policy_fails_the_role_and_keeps_its_policy(aws):
    # On update the handler puts the new document, IAM refuses it: UPDATE_FAILED, the stack rolls
    # back and the role keeps the policy it had.
    name = unique("roleupdate")
    assert aws.create(name, role_template(GOOD))["StackStatus"] == "CREATE_COMPLETE"
    aws.cloudformation.update_stack(StackName=name, TemplateBody=role_template(MISTAKES["no-resource"][0]),
                                    Capabilities=["CAPABILITY_IAM"])
    assert aws.stack(name)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [reason for resource, status, reason in aws.events(name) if status == "UPDATE_FAILED"]
    assert [iam_said(reason) for reason in failed] == ["Policy statement must contain resources."]
    role = aws.resources(name)["WorkerRole"]
    kept = aws.iam.get_role_policy(RoleName=role, PolicyName="write")["PolicyDocument"]
    assert kept["Statement"] == [GOOD]
