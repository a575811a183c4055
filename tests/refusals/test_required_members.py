"""Requests missing a member the API requires, refused in AWS's words (gluelab/cloud/required_members.py).

AWS's wording and the task's error name are those LocalStack's AWS-validated snapshot records for
a Step Functions putItem task whose Item is null (test_task_service_dynamodb, test_invalid_param):
error "DynamoDB.AmazonDynamoDBException", cause "1 validation error detected: Value null at 'item'
failed to satisfy constraint: Member must not be null (Service: AmazonDynamoDBv2; Status Code:
400; Error Code: ValidationException; Request ID: ...; Proxy: null)".
"""
from __future__ import annotations

import json
import uuid

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from gluelab.config import client
from tests.cloud.test_statemachines import run

ITEM = "Value null at 'item' failed to satisfy constraint: Member must not be null"


def unchecked(service: str, cloud):
    # What a hand-made request or the Step Functions interpreter sends: no SDK-side check.
    return boto3.client(service, endpoint_url=f"http://127.0.0.1:{cloud.port}", region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=Config(parameter_validation=False, retries={"max_attempts": 0}))


@pytest.fixture(scope="module")
def table(cloud):
    name = f"required-{uuid.uuid4().hex[:8]}"
    unchecked("dynamodb", cloud).create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    return name


@pytest.fixture(scope="module")
def role(cloud):
    # IAM is enforced: the state machine's role may write items, so what fails is the request.
    iam, name = unchecked("iam", cloud), f"writer-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "states.amazonaws.com"}}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="items", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": "*"}]}))
    return arn


def execute(role: str, states: dict) -> dict:
    arn = client("stepfunctions").create_state_machine(
        name=f"required-{uuid.uuid4().hex[:8]}", roleArn=role,
        definition=json.dumps({"StartAt": "Store", "States": states}))["stateMachineArn"]
    return run(arn)


@pytest.mark.parametrize("service, call, params, words", [
    ("dynamodb", "put_item", {"TableName": "T"}, f"1 validation error detected: {ITEM}"),
    ("dynamodb", "put_item", {"Item": {"id": {"S": "1"}}},
     "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: "
     "Member must not be null"),
    # Inside a list of structures, named by AWS's path form; two errors are counted.
    ("dynamodb", "create_table", {"TableName": "T", "KeySchema": [{"AttributeName": "id"}]},
     "1 validation error detected: Value null at 'keySchema.1.member.keyType' failed to satisfy "
     "constraint: Member must not be null"),
    ("ssm", "put_parameter", {"Type": "String"},
     "2 validation errors detected: Value null at 'name' failed to satisfy constraint: Member must not "
     "be null; Value null at 'value' failed to satisfy constraint: Member must not be null"),
])
def test_a_request_missing_a_required_member_is_refused_with_validation_exception(
        cloud, service, call, params, words):
    with pytest.raises(ClientError) as refused:
        getattr(unchecked(service, cloud), call)(**params)

    error = refused.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (400, "ValidationException")
    assert error["Error"]["Message"] == words


def test_a_put_item_task_without_item_fails_as_on_aws_and_a_catch_takes_it(local, table, role):
    # Lab 13's mistake, and the snapshot's case (Item null). moto: KeyError 'Item' and HTTP 500,
    # or an AttributeError; "The local cloud failed" in the cause either way.
    put = {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
           "Parameters": {"TableName": table}, "End": True}
    for parameters in ({"TableName": table}, {"TableName": table, "Item": None}):
        outcome = execute(role, {"Store": {**put, "Parameters": parameters}})

        assert (outcome["status"], outcome["error"]) == ("FAILED", "DynamoDB.AmazonDynamoDBException"), outcome.get("cause")
        assert outcome["cause"].startswith(
            f"1 validation error detected: {ITEM} (Service: AmazonDynamoDBv2; Status Code: 400; "
            "Error Code: ValidationException; Request ID: ")

    # A task error, not a runtime one: the state's Catch handles it.
    outcome = execute(role, {
        "Store": {**put, "Catch": [{"ErrorEquals": ["DynamoDB.AmazonDynamoDBException"], "Next": "Kept"}]},
        "Kept": {"Type": "Pass", "End": True}})
    assert outcome["status"] == "SUCCEEDED"
    assert json.loads(outcome["output"])["Error"] == "DynamoDB.AmazonDynamoDBException"


def test_an_error_the_api_names_keeps_its_name_and_a_complete_request_still_works(local, table, role):
    missing_table = {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True,
                     "Parameters": {"TableName": "no-such-table", "Item": {"id": {"S": "1"}}}}
    outcome = execute(role, {"Store": missing_table})
    assert (outcome["status"], outcome["error"]) == ("FAILED", "DynamoDB.ResourceNotFoundException")

    stored = {**missing_table, "Parameters": {"TableName": table, "Item": {"id": {"S": "kept"}}}}
    outcome = execute(role, {"Store": stored})
    assert outcome["status"] == "SUCCEEDED", outcome.get("cause")
    assert client("dynamodb").get_item(TableName=table, Key={"id": {"S": "kept"}})["Item"]
