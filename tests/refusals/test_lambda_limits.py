"""Lambda requests the Lambda API refuses, refused with its error codes (lambda_limits.py).

Each case cites the Lambda API reference or quota page that shows AWS refuses it.
"""
from __future__ import annotations

import base64
import datetime
import json

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from gluelab.cloud.lambda_limits import check_configuration
from tests.cloud.test_cloudformation import Cloud, function_template, unique
from tests.cloud.test_lambda_runtime import clients, deploy, invoke, zipped

HANDLER = "def handler(event, context):\n    return len(str(event))\n"


@pytest.fixture
def aws(local):
    return clients(local.endpoint)


@pytest.fixture
def unchecked(local):
    """Clients that send what they are given: boto3 checks minimums itself, other SDKs do not."""
    return {**clients(local.endpoint), "lambda": boto3.client(
        "lambda", endpoint_url=local.endpoint, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(parameter_validation=False))}


def refused(call) -> tuple[str, str]:
    with pytest.raises(ClientError) as refusal:
        call()
    error = refusal.value.response["Error"]
    return error["Code"], error["Message"]


# CreateFunction (API reference): MemorySize "Minimum value of 128. Maximum value of 10240",
# Timeout "Minimum value of 1" with the 900 s quota, Handler "Maximum length of 128. Pattern:
# [^\s]+"; Lambda answers ValidationException "1 validation error detected: Value 'X' at
# 'field' failed to satisfy constraint: ...".
@pytest.mark.parametrize("config, field, constraint", [
    ({"MemorySize": 64}, "memorySize", "Member must have value greater than or equal to 128"),
    ({"MemorySize": 20480}, "memorySize", "Member must have value less than or equal to 10240"),
    ({"Timeout": 0}, "timeout", "Member must have value greater than or equal to 1"),
    ({"Timeout": 901}, "timeout", "Member must have value less than or equal to 900"),
    ({"Handler": "app handler"}, "handler", r"Member must satisfy regular expression pattern: [^\s]+"),
    ({"Handler": "a" * 121 + ".handler"}, "handler", "Member must have length less than or equal to 128"),
])
def test_create_function_refuses_settings_outside_lambdas_limits(unchecked, config, field, constraint):
    code, message = refused(lambda: deploy(unchecked, HANDLER, **config))
    value = next(iter(config.values()))
    assert code == "ValidationException"
    assert message == f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"


def test_update_function_configuration_refuses_them_too(aws):
    name = deploy(aws, HANDLER)
    code, message = refused(lambda: aws["lambda"].update_function_configuration(FunctionName=name, MemorySize=20480))
    assert code == "ValidationException" and "at 'memorySize'" in message
    assert aws["lambda"].get_function_configuration(FunctionName=name)["MemorySize"] == 128


def test_environment_over_4_kb_is_refused(aws):
    # Lambda quotas: "Environment variables: 4 KB, for all environment variables associated
    # with the function, in aggregate". Lambda: InvalidParameterValueException "Lambda was
    # unable to configure your environment variables because the environment variables you
    # have provided exceeded the 4KB limit."
    code, message = refused(lambda: deploy(aws, HANDLER, Environment={"Variables": {"BIG": "x" * 4100}}))
    assert code == "InvalidParameterValueException"
    assert message.startswith("Lambda was unable to configure your environment variables because the "
                              "environment variables you have provided exceeded the 4KB limit.")


def test_a_runtime_past_its_create_block_date_is_refused(aws):
    # Lambda runtimes page: python3.7 "Block function create: Jan 9, 2024". Lambda:
    # InvalidParameterValueException "The runtime parameter of python3.7 is no longer supported
    # for creating or updating AWS Lambda functions."
    code, message = refused(lambda: deploy(aws, HANDLER, Runtime="python3.7"))
    assert code == "InvalidParameterValueException"
    assert message.startswith("The runtime parameter of python3.7 is no longer supported for creating "
                              "or updating AWS Lambda functions.")


def test_runtime_dates_come_from_the_published_lifecycle():
    # python3.9: create blocked on 2027-02-01, updates on 2027-03-03 (Lambda runtimes page).
    check_configuration({"Runtime": "python3.9"}, "create-block", today=datetime.date(2027, 1, 31))
    with pytest.raises(Exception, match="python3.9 is no longer supported"):
        check_configuration({"Runtime": "python3.9"}, "create-block", today=datetime.date(2027, 2, 1))
    check_configuration({"Runtime": "python3.9"}, "update-block", today=datetime.date(2027, 3, 2))


@pytest.mark.parametrize("handler, error_type, message", [
    ("app", "Runtime.MalformedHandlerName",
     "Bad handler 'app': not enough values to unpack (expected 2, got 1)"),
    ("sys.handler", "Runtime.BuiltInModuleConflict", "Cannot use built-in module sys as a handler module"),
])
def test_a_malformed_handler_is_created_and_fails_at_invoke_as_lambda_says(aws, handler, error_type, message):
    # CreateFunction's Handler pattern is only [^\s]+, so Lambda takes `app` (no function name)
    # and a module named after a built-in; the Python runtime then fails the invocation
    # (awslambdaric bootstrap.py _get_handler; the report in szymonmaszke/torchlambda#19:
    # "Bad handler 'torchlambda': not enough values to unpack (expected 2, got 1)",
    # Runtime.MalformedHandlerName).
    name = deploy(aws, HANDLER, Handler=handler)
    assert aws["lambda"].get_function_configuration(FunctionName=name)["Handler"] == handler
    result, reply = invoke(aws, name)
    assert reply["FunctionError"] == "Unhandled"
    assert result == {"errorMessage": message, "errorType": error_type, "requestId": "", "stackTrace": []}


def test_cloudformation_functions_meet_the_same_limits(local):
    # CloudFormation creates the function through CreateFunction: the resource fails with
    # Lambda's refusal. (MemorySize 20480 passes the registry schema, whose maximum is 32768.)
    cloud = Cloud(local.endpoint)
    name = unique("big")
    stack = cloud.create(name, function_template(memory=20480))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [reason for resource, status, reason in cloud.events(name) if status == "CREATE_FAILED"]
    assert reasons == ["1 validation error detected: Value '20480' at 'memorySize' failed to satisfy "
                       "constraint: Member must have value less than or equal to 10240"]


# Lambda's Invoke API reference: "For synchronous invocations, the maximum payload size is 6 MB.
# For asynchronous invocations, the maximum payload size is 1 MB." Lambda answers
# RequestEntityTooLargeException "Request must be smaller than 6291456 bytes for the
# InvokeFunction operation" (sync) and "264496 byte payload is too large for the Event invocation
# type (limit 262144 bytes)" (async, as reported before the limit went from 256 KB to 1 MB).
@pytest.mark.parametrize("invocation, size, message", [
    ("RequestResponse", 6 * 1024 * 1024 + 1,
     "Request must be smaller than 6291456 bytes for the InvokeFunction operation"),
    ("Event", 1024 * 1024 + 1,
     "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"),
])
def test_invoke_refuses_a_payload_over_the_limit(aws, invocation, size, message):
    name = deploy(aws, HANDLER)
    payload = json.dumps("x" * (size - 2))
    assert refused(lambda: aws["lambda"].invoke(FunctionName=name, InvocationType=invocation,
                                                Payload=payload)) == ("RequestEntityTooLargeException", message)


def test_an_event_invoke_takes_a_payload_over_the_old_256_kb_limit(aws):
    name = deploy(aws, HANDLER)
    payload = json.dumps("x" * (512 * 1024))
    assert aws["lambda"].invoke(FunctionName=name, InvocationType="Event", Payload=payload)["StatusCode"] == 202


def test_a_call_signed_before_the_block_date_is_judged_by_that_date(aws, local):
    # Durability: a restart replays each journaled call with its own headers. A function made
    # on python3.7 before its create block (2024-01-09) must come back, so the runtime's date is
    # judged by the call's signature date (X-Amz-Date), which is what AWS judged then.
    role = aws["iam"].create_role(RoleName=unique("old"), AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    name = unique("old-fn")
    body = {"FunctionName": name, "Runtime": "python3.7", "Role": role, "Handler": "app.handler",
            "Code": {"ZipFile": base64.b64encode(zipped(HANDLER)).decode()}}
    answer = requests.post(f"{local.endpoint}/2015-03-31/functions", data=json.dumps(body), headers={
        "X-Amz-Date": "20231201T120000Z", "Content-Type": "application/json",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20231201/us-east-1/lambda/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=0"})
    assert answer.status_code == 201, answer.text
    assert aws["lambda"].get_function_configuration(FunctionName=name)["Runtime"] == "python3.7"
