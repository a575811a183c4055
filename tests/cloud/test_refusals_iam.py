"""The IAM part of the corpus of mistakes: each is refused by the local cloud as AWS refuses it,
with the service's error code and a message naming the action and the resource.

Every refusal's wording follows AWS's documented form ("User: ARN is not authorized to perform:
ACTION on resource: ARN because no identity-based policy allows the ACTION action"), see
https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
All tests share the session's local cloud; each mistake deploys its own function and role.
"""
from __future__ import annotations

import io
import json
import textwrap
import time
import uuid
import zipfile

import pytest
import requests

from gluelab import config, executions
from gluelab.cli import main
from gluelab.cloud import process
from tests.conftest import CloudHandle, free_port

ACCOUNT, REGION = "123456789012", "us-east-1"
LAMBDA_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
    "Action": "sts:AssumeRole"}]})
# The handler every mistake runs: one AWS call, with the error the SDK raised, if any.
CALLER = textwrap.dedent("""
    import boto3, botocore
    def handler(event, context):
        try:
            getattr(boto3.client(event["service"]), event["operation"])(**event["params"])
        except botocore.exceptions.ClientError as exc:
            return {"code": exc.response["Error"]["Code"],
                    "message": exc.response["Error"]["Message"],
                    "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}
        return {"code": None}
""")


def allow(action, resource, effect="Allow") -> dict:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]}


def role(name: str, inline: list[dict] = (), managed: list[str] = (),
         trust: str = LAMBDA_TRUST) -> str:
    iam = config.client("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    for number, document in enumerate(inline):
        iam.put_role_policy(RoleName=name, PolicyName=f"p{number}",
                            PolicyDocument=json.dumps(document))
    for policy in managed:
        iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    return arn


def function(inline: list[dict] = (), managed: list[str] = (), code: str = CALLER) -> str:
    """A function whose execution role has exactly these policies."""
    name = f"iam-{uuid.uuid4().hex[:8]}"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", code)
    config.client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Handler="app.handler", Timeout=30,
        Role=role(f"{name}-role", inline, managed), Code={"ZipFile": archive.getvalue()})
    return name


def call_from(function_name: str, service: str, operation: str, **params) -> dict:
    """What the function's one AWS call answered."""
    reply = config.client("lambda").invoke(FunctionName=function_name, Payload=json.dumps(
        {"service": service, "operation": operation, "params": params}))
    result = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, result
    return result


def refused(result: dict, code: str, action: str, resource: str, function_name: str,
            because: str = "no identity-based policy allows") -> None:
    assert result["code"] == code, result
    who = f"arn:aws:sts::{ACCOUNT}:assumed-role/{function_name}-role/{function_name}"
    assert result["message"].startswith(
        f"User: {who} is not authorized to perform: {action} on resource: {resource} "), result
    assert because in result["message"], result


@pytest.fixture(scope="module")
def table(cloud) -> str:
    name = f"reports-{uuid.uuid4().hex[:6]}"
    with pytest.MonkeyPatch.context() as patch:
        for key, value in cloud.env().items():
            patch.setenv(key, value)
        config.client("dynamodb").create_table(
            TableName=name, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                                  {"AttributeName": "phone", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-phone", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "phone", "KeyType": "HASH"}]}])
    return name


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


ITEM = {"id": {"S": "r1"}, "phone": {"S": "+447700900123"}}


# 1. The beginner's classic: a function with no policy writes to DynamoDB. DynamoDB answers
# AccessDeniedException (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
# Programming.Errors.html: "AccessDeniedException ... The client did not correctly sign the
# request" / not authorized).
def test_no_policy_cannot_put_an_item(local, table):
    name = function()
    refused(call_from(name, "dynamodb", "put_item", TableName=table, Item=ITEM),
            "AccessDeniedException", "dynamodb:PutItem", table_arn(table), name)


# 2. A policy for another table grants nothing on this one: IAM matches the Resource ARN
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/using-identity-based-policies.html).
def test_policy_for_another_table_does_not_reach_this_one(local, table):
    name = function([allow("dynamodb:PutItem", table_arn("some-other-table"))])
    refused(call_from(name, "dynamodb", "put_item", TableName=table, Item=ITEM),
            "AccessDeniedException", "dynamodb:PutItem", table_arn(table), name)


# 3. Read access (SAM's DynamoDBReadPolicy actions) does not allow a write.
def test_read_actions_do_not_allow_a_write(local, table):
    name = function([allow(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan",
                            "dynamodb:BatchGetItem", "dynamodb:Get*"], table_arn(table))])
    assert call_from(name, "dynamodb", "get_item", TableName=table,
                     Key={"id": {"S": "r1"}})["code"] is None
    refused(call_from(name, "dynamodb", "put_item", TableName=table, Item=ITEM),
            "AccessDeniedException", "dynamodb:PutItem", table_arn(table), name)


# 4. A Query on an index is authorized against the index's ARN, which a policy naming only the
# table does not cover ("table/NAME/index/*" is needed:
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html).
def test_query_on_an_index_needs_the_index_arn(local, table):
    name = function([allow("dynamodb:Query", table_arn(table))])
    refused(call_from(name, "dynamodb", "query", TableName=table, IndexName="by-phone",
                      KeyConditionExpression="phone = :p",
                      ExpressionAttributeValues={":p": {"S": "+447700900123"}}),
            "AccessDeniedException", "dynamodb:Query", f"{table_arn(table)}/index/by-phone", name)
    allowed = function([allow("dynamodb:Query", f"{table_arn(table)}/index/*")])
    assert call_from(allowed, "dynamodb", "query", TableName=table, IndexName="by-phone",
                     KeyConditionExpression="phone = :p",
                     ExpressionAttributeValues={":p": {"S": "+447700900123"}})["code"] is None


# 5. An explicit Deny beats any Allow, and AWS says so
# (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
def test_explicit_deny_wins_over_an_allow(local, table):
    name = function([allow("dynamodb:*", "*"), allow("dynamodb:PutItem", table_arn(table), "Deny")])
    refused(call_from(name, "dynamodb", "put_item", TableName=table, Item=ITEM),
            "AccessDeniedException", "dynamodb:PutItem", table_arn(table), name,
            because="with an explicit deny in an identity-based policy")


# 6. Lab 04's mistake: SSM read policies for two of the three parameters. SSM answers
# AccessDeniedException naming ssm:GetParameter and the parameter's ARN
# (https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html).
def test_ssm_parameter_outside_the_policy_is_refused(local):
    ssm = config.client("ssm")
    for key in ("account-sid", "auth-token"):
        ssm.put_parameter(Name=f"/iam-test/twilio/{key}", Value="x", Type="String", Overwrite=True)
    # SAM's SSMParameterReadPolicy: parameter/${ParameterName}, the name without its leading /.
    name = function([allow(["ssm:DescribeParameters"], "*"),
                     allow(["ssm:GetParameters", "ssm:GetParameter", "ssm:GetParametersByPath"],
                           f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/iam-test/twilio/account-sid")])
    assert call_from(name, "ssm", "get_parameter", Name="/iam-test/twilio/account-sid")["code"] is None
    refused(call_from(name, "ssm", "get_parameter", Name="/iam-test/twilio/auth-token"),
            "AccessDeniedException", "ssm:GetParameter",
            f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/iam-test/twilio/auth-token", name)


# 7. Lab 06's mistake: the receiver starts the workflow without StepFunctionsExecutionPolicy.
# Step Functions answers AccessDeniedException for states:StartExecution on the state machine
# (https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html#API_StartExecution_Errors
# and CommonErrors: AccessDeniedException, HTTP 400).
def test_starting_a_workflow_needs_states_start_execution(local):
    machine = config.client("stepfunctions").create_state_machine(
        name=f"iam-{uuid.uuid4().hex[:6]}", roleArn=role(f"sfn-{uuid.uuid4().hex[:6]}"),
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}))
    name = function([allow("states:DescribeStateMachine", "*")])
    refused(call_from(name, "stepfunctions", "start_execution",
                      stateMachineArn=machine["stateMachineArn"], name="report-1"),
            "AccessDeniedException", "states:StartExecution", machine["stateMachineArn"], name)


# 8. A function calling another function needs lambda:InvokeFunction (the API's name is
# Invoke; the action is InvokeFunction: https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html).
# Lambda answers 403 AccessDeniedException.
def test_invoking_another_function_needs_lambda_invoke_function(local):
    target = function()
    name = function([allow("lambda:GetFunction", "*")])
    result = call_from(name, "lambda", "invoke", FunctionName=target, Payload="{}")
    refused(result, "AccessDeniedException", "lambda:InvokeFunction",
            f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{target}", name)
    assert result["status"] == 403


# 9. s3:ListBucket does not let a function read an object; S3 answers 403 AccessDenied for
# s3:GetObject on the object's ARN (https://docs.aws.amazon.com/AmazonS3/latest/userguide/troubleshoot-403-errors.html).
def test_listing_a_bucket_does_not_allow_reading_its_objects(local):
    bucket = f"iam-{uuid.uuid4().hex[:8]}"
    config.client("s3").create_bucket(Bucket=bucket)
    config.client("s3").put_object(Bucket=bucket, Key="reports/r1.json", Body=b"{}")
    name = function([allow("s3:ListBucket", f"arn:aws:s3:::{bucket}")])
    assert call_from(name, "s3", "list_objects_v2", Bucket=bucket)["code"] is None
    result = call_from(name, "s3", "get_object", Bucket=bucket, Key="reports/r1.json")
    refused(result, "AccessDenied", "s3:GetObject", f"arn:aws:s3:::{bucket}/reports/r1.json", name)
    assert result["status"] == 403


# 10. The AWS managed AWSLambdaBasicExecutionRole (what SAM attaches to every function) only
# allows CloudWatch Logs; AmazonDynamoDBReadOnlyAccess does not allow writes
# (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSLambdaBasicExecutionRole.html).
def test_aws_managed_policies_grant_what_they_say_and_no_more(local, table):
    name = function(managed=["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
                             "arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"])
    assert call_from(name, "dynamodb", "describe_table", TableName=table)["code"] is None
    refused(call_from(name, "dynamodb", "put_item", TableName=table, Item=ITEM),
            "AccessDeniedException", "dynamodb:PutItem", table_arn(table), name)


# 11. SNS answers AuthorizationError (query protocol, HTTP 403) for sns:Publish
# (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors).
def test_publishing_to_a_topic_needs_sns_publish(local):
    topic = config.client("sns").create_topic(Name=f"iam-{uuid.uuid4().hex[:6]}")["TopicArn"]
    name = function([allow("sns:Subscribe", topic)])
    result = call_from(name, "sns", "publish", TopicArn=topic, Message="LIFT stuck")
    refused(result, "AuthorizationError", "sns:Publish", topic, name)
    assert result["status"] == 403


# 12. A state machine's Lambda task runs as the state machine's role: without
# lambda:InvokeFunction the task fails (Lambda.AWSLambdaException on AWS, with Lambda's
# AccessDeniedException text: https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html).
def test_state_machine_role_without_invoke_fails_the_task(local):
    target = function()
    target_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{target}"
    sfn = config.client("stepfunctions")
    states_trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
        "Action": "sts:AssumeRole"}]})
    machine_role = f"sfn-{uuid.uuid4().hex[:6]}"
    definition = json.dumps({"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
        "Parameters": {"FunctionName": target_arn, "Payload": {
            "service": "sts", "operation": "get_caller_identity", "params": {}}}}}})
    machine = sfn.create_state_machine(name=f"iam-{uuid.uuid4().hex[:6]}", definition=definition,
                                       roleArn=role(machine_role, trust=states_trust))
    execution = sfn.start_execution(stateMachineArn=machine["stateMachineArn"])["executionArn"]
    described = executions.wait_for_end(execution, timeout_s=10)
    assert described["status"] == "FAILED", described
    assert "AccessDenied" in described.get("error", "") + described.get("cause", ""), described
    assert (f"assumed-role/{machine_role}/" in described["cause"]
            and f"lambda:InvokeFunction on resource: {target_arn}" in described["cause"]), described


# 13. API Gateway calls a function only where the function's resource policy lets it
# (AWS::Lambda::Permission); otherwise the client gets 500 {"message": "Internal server error"}
# (https://repost.aws/knowledge-center/api-gateway-rest-api-lambda-integrations, "Invalid
# permissions on Lambda function").
def test_api_gateway_needs_the_functions_permission(local):
    apigw, lam = config.client("apigateway"), config.client("lambda")
    target = function(code="def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n")
    arn = lam.get_function(FunctionName=target)["Configuration"]["FunctionArn"]
    api = apigw.create_rest_api(name="iam-test")["id"]
    root = apigw.get_resources(restApiId=api)["items"][0]["id"]
    resource = apigw.create_resource(restApiId=api, parentId=root, pathPart="sms")["id"]
    apigw.put_method(restApiId=api, resourceId=resource, httpMethod="POST", authorizationType="NONE")
    apigw.put_integration(restApiId=api, resourceId=resource, httpMethod="POST", type="AWS_PROXY",
                          integrationHttpMethod="POST",
                          uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations")
    apigw.create_deployment(restApiId=api, stageName="Prod")
    url = f"{local.endpoint}/restapis/{api}/Prod/_user_request_/sms"
    answer = requests.post(url, data="Body=LIFT", timeout=30)
    assert (answer.status_code, answer.json()) == (500, {"message": "Internal server error"})
    time.sleep(0.1)  # the cloud logs after it answers
    assert f"resource policy of function {target}" in (local.state_dir / "cloud.log").read_text()
    # A permission for another method does not cover this one.
    lam.add_permission(FunctionName=target, StatementId="get-only", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/GET/sms")
    assert requests.post(url, data="Body=LIFT", timeout=30).status_code == 500
    lam.add_permission(FunctionName=target, StatementId="post", Action="lambda:InvokeFunction",
                       Principal="apigateway.amazonaws.com",
                       SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api}/*/POST/sms")
    answer = requests.post(url, data="Body=LIFT", timeout=30)
    assert (answer.status_code, answer.text) == (200, "ok")


# Who the function is, as STS tells its code on AWS: its role's session, named after the
# function (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html).
def test_a_function_calls_aws_as_its_roles_session(local):
    name = function(code="import boto3\ndef handler(event, context):\n"
                         "    return boto3.client('sts').get_caller_identity()\n")
    reply = config.client("lambda").invoke(FunctionName=name)
    identity = json.loads(reply["Payload"].read())
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}-role/{name}", identity
    assert identity["Account"] == ACCOUNT


# No false refusal: what the policy allows goes through, and the account's own credentials
# (notebooks, CLI, checks) are an administrator's.
def test_what_the_policy_allows_goes_through(local, table):
    name = function([allow(["dynamodb:PutItem", "dynamodb:GetItem"], table_arn(table))])
    assert call_from(name, "dynamodb", "put_item", TableName=table, Item=ITEM)["code"] is None
    assert config.client("dynamodb").get_item(TableName=table, Key={"id": {"S": "r1"}})["Item"]


def test_no_iam_turns_enforcement_off_and_status_says_so(tmp_path, capsys):
    handle = CloudHandle(tmp_path, free_port())
    process.start(handle.settings, quiet=True, iam=False)
    try:
        assert process.status(handle.settings)["iam"] is False
        with pytest.MonkeyPatch.context() as patch:
            for key, value in handle.env().items():
                patch.setenv(key, value)
            assert config.client("dynamodb").list_tables() is not None
            name = function()
            assert call_from(name, "sts", "get_caller_identity")["code"] is None
            assert main(["cloud", "status"]) == 0
        assert "IAM not enforced (started with --no-iam)" in capsys.readouterr().out
    finally:
        process.stop(handle.settings)
