"""No false refusal: public sample apps that nobody here wrote deploy with the SAM CLI
(`sam deploy --resolve-s3`, as their READMEs say) and then do what their READMEs say they do.

The apps are vendored unchanged (but for the SAM CLI templates, rendered by cookiecutter as
`sam init` renders them) under tests/fixtures/<name>/ with their licence:
- aws-samples/serverless-patterns @ fb7b5d06c27d8abb1bd35e52ab7523acf4baab7b (MIT-0):
  sns-lambda-python-sam, sqs-lambda-python-sam, sfn-sqs, sfn-eventbridge, apigw-http-api-lambda-python
- aws/aws-sam-cli-app-templates @ c7285973a74a5b4d8008f30a8781ee69af8c949d (Apache-2.0),
  python3.11/hello, step-func, step-func-conn and web-conn rendered as sam-app-hello-world,
  sam-app-stock-trader, sam-app-stock-trader-connectors and sam-app-web-conn
Their policies are their own: they are right for AWS, so they must pass with IAM enforcement on.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import boto3
import pytest
import requests

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PYTHON = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "python"
# The SAM CLI's own entry point (bin/sam), run without rfc3987_syntax: jsonschema imports that
# optional package for its "iri" format check, which builds 38 grammars, half of each SAM CLI
# run's time here (the local cloud's server skips it the same way; see server.configure_moto).
SAM_CLI = [str(PYTHON), "-c", "import sys; sys.modules['rfc3987_syntax'] = None; "
           "sys.argv[0] = 'sam'; from samcli.cli.main import cli; sys.exit(cli())"]


class Deployed:
    """One sample app deployed on the shared cloud: its stack outputs and a boto3 client maker."""

    def __init__(self, stack: str, outputs: dict[str, str], endpoint: str):
        self.stack, self.outputs, self.endpoint = stack, outputs, endpoint

    def client(self, service: str):
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    def physical_id(self, logical_id: str) -> str:
        return self.client("cloudformation").describe_stack_resource(
            StackName=self.stack, LogicalResourceId=logical_id)["StackResourceDetail"]["PhysicalResourceId"]


def sam_environment(cloud) -> dict[str, str]:
    """What `eval "$(gluelab env)"` gives a shell, plus the SAM CLI's documented poll delay (its
    default sleeps 0.5 s and then 5 s between DescribeStackEvents calls) and no telemetry."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_ENDPOINT_URL=cloud.endpoint, AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
               AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", SAM_CLI_TELEMETRY="0",
               SAM_CLI_POLL_DELAY="0.2")
    return env


def deploy_app(cloud, app: Path, stack: str, *options: str) -> Deployed:
    """`sam deploy` of the app in `app` (a copy: the SAM CLI writes .aws-sam/ next to the
    template) as `stack`; without options, as the READMEs say: --resolve-s3, no confirmation."""
    options = options or ("--stack-name", stack, "--resolve-s3", "--no-confirm-changeset",
                          "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
    result = subprocess.run([*SAM_CLI, "deploy", "--no-progressbar", *options], cwd=app,
                            env=sam_environment(cloud), capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"Successfully created/updated stack - {stack}" in result.stdout
    cloudformation = Deployed(stack, {}, cloud.endpoint).client("cloudformation")
    description = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert description["StackStatus"] == "CREATE_COMPLETE"
    return Deployed(stack, {o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])},
                    cloud.endpoint)


def deploy_sample(cloud, tmp_path: Path, name: str) -> Deployed:
    app = tmp_path / name
    shutil.copytree(FIXTURES / name, app)
    return deploy_app(cloud, app, f"{name}-{uuid.uuid4().hex[:6]}")


def deploy_inline(cloud, tmp_path: Path, template: str, handler: str) -> Deployed:
    """An app written here (template.yaml and src/app.py), deployed as the samples are."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(handler)
    (tmp_path / "template.yaml").write_text(template)
    return deploy_app(cloud, tmp_path, f"inline-{uuid.uuid4().hex[:6]}")


def eventually(check: Callable[[], object], within_s: float = 20):
    """check()'s first truthy answer; SNS and SQS deliver to Lambda asynchronously."""
    deadline = time.monotonic() + within_s
    while True:
        answer = check()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def function_log(app: Deployed, function_name: str) -> str:
    logs = app.client("logs")
    group = f"/aws/lambda/{function_name}"
    try:
        events = logs.filter_log_events(logGroupName=group)["events"]
    except logs.exceptions.ResourceNotFoundException:
        return ""
    return "".join(event["message"] for event in events)


def run_execution(app: Deployed, machine_arn: str, payload: dict) -> dict:
    arn = app.client("stepfunctions").start_execution(
        stateMachineArn=machine_arn, name=uuid.uuid4().hex, input=json.dumps(payload))["executionArn"]
    return run_execution_end(app, arn)


def run_execution_end(app: Deployed, arn: str) -> dict:
    """The execution once it has ended, which must be in success."""
    stepfunctions = app.client("stepfunctions")
    execution = eventually(lambda: (lambda e: e if e["status"] != "RUNNING" else None)(
        stepfunctions.describe_execution(executionArn=arn)), within_s=30)
    assert execution, f"{arn} still running after 30 s"
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), execution.get("cause"))
    return execution


# --- each app driven as its README says ----------------------------------------------------

def drive_hello_world(app: Deployed) -> None:
    # README: "curl" the HelloWorldApi output; the function answers {"message": "hello world"}.
    reply = requests.get(app.outputs["HelloWorldApi"], timeout=30)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"message": "hello world"}


def drive_web_conn(app: Deployed) -> None:
    # README (events/event-post-item.json): POST {"id", "name"}, then GET /{id} and GET / list it;
    # the handlers answer with the items as DynamoDB's low-level client returns them.
    base = app.outputs["WebEndpoint"]
    posted = requests.post(base, json={"id": "id1", "name": "name1"}, timeout=30)
    assert posted.status_code == 200, posted.text
    stored = {"id": {"S": "id1"}, "name": {"S": "name1"}}
    assert requests.get(base + "id1", timeout=30).json() == stored
    assert requests.get(base, timeout=30).json() == [stored]


def drive_stock_trader(app: Deployed) -> None:
    # README: start an execution of the state machine; it checks a price, buys or sells, and
    # records the transaction in the TransactionTable.
    execution = run_execution(app, app.outputs["StockTradingStateMachineArn"], {})
    table = app.physical_id("TransactionTable")
    items = app.client("dynamodb").scan(TableName=table)["Items"]
    assert len(items) == 1 and items[0]["Type"]["S"] in ("buy", "sell"), items


def drive_sns_lambda(app: Deployed) -> None:
    # README: `aws sns publish --topic-arn ... --message "Test message"`, then the function's
    # CloudWatch log shows "Processed message Test message".
    app.client("sns").publish(TopicArn=app.outputs["ProcessingTopicArn"], Message="Test message")
    log = eventually(lambda: "Processed message Test message" in function_log(
        app, app.outputs["ProcessorFunctionName"]))
    assert log, function_log(app, app.outputs["ProcessorFunctionName"])


def drive_sqs_lambda(app: Deployed) -> None:
    # README: `aws sqs send-message --queue-url ... --message-body "Test message"`; the function
    # logs "Processed message: Test message" and the queue is drained.
    app.client("sqs").send_message(QueueUrl=app.outputs["ProcessingQueueURL"], MessageBody="Test message")
    log = eventually(lambda: "Processed message: Test message" in function_log(
        app, app.outputs["ProcessorFunctionName"]))
    assert log, function_log(app, app.outputs["ProcessorFunctionName"])


def drive_sfn_eventbridge(app: Deployed) -> None:
    # README: start an execution, then see in CloudWatch Logs the event that Step Functions put
    # on the custom bus (a rule sends every event on the bus to the log group).
    run_execution(app, app.outputs["MyStateMachineArn"], {})
    logs = app.client("logs")
    events = eventually(lambda: logs.filter_log_events(logGroupName=app.outputs["MyLogGroup"])["events"])
    assert [json.loads(event["message"])["detail"] for event in events] == [
        {"Message": "Hello from Step Functions!"}]


def drive_sfn_sqs(app: Deployed) -> None:
    # README: start an execution with {"message": "..."}; the message lands in MyQueue.
    execution = run_execution(app, app.outputs["StateMachinetoSQSArn"], {"message": "hello from sfn"})
    messages = app.client("sqs").receive_message(QueueUrl=app.outputs["MyQueueURL"],
                                                 WaitTimeSeconds=1)["Messages"]
    assert [message["Body"] for message in messages] == ["hello from sfn"]


def drive_http_api_lambda(app: Deployed) -> None:
    # README: curl https://{HttpApiEndpoint}.execute-api.{region}.amazonaws.com/ answers
    # 'Hello World! This is the HTTP API' ($default stage, $default route).
    reply = requests.get(f"{app.endpoint}/restapis/{app.outputs['HttpApiEndpoint']}/$default/_user_request_/",
                         timeout=30)
    assert (reply.status_code, reply.text) == (200, "Hello World! This is the HTTP API")


SAMPLES = {
    "sam-app-hello-world": drive_hello_world,
    "sam-app-web-conn": drive_web_conn,
    "sam-app-stock-trader": drive_stock_trader,
    "sam-app-stock-trader-connectors": drive_stock_trader,
    "sns-lambda-python-sam": drive_sns_lambda,
    "sqs-lambda-python-sam": drive_sqs_lambda,
    "sfn-sqs": drive_sfn_sqs,
    "sfn-eventbridge": drive_sfn_eventbridge,
    "apigw-http-api-lambda-python": drive_http_api_lambda,
}


@pytest.fixture(scope="module")
def deployed(cloud, tmp_path_factory) -> dict[str, Deployed | Exception]:
    """Every sample deployed at once: each SAM CLI run spends seconds of its own start-up, so
    they overlap. A failed deploy is kept as its exception and fails that sample's test only."""
    root = tmp_path_factory.mktemp("samples")

    def attempt(name: str) -> Deployed | Exception:
        try:
            return deploy_sample(cloud, root, name)
        except Exception as exc:  # reported by the sample's own test
            return exc
    # The managed stack is made once, first, as on a new account; the apps then share it.
    first = next(iter(SAMPLES))
    results = {first: attempt(first)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        results.update(zip(list(SAMPLES)[1:], pool.map(attempt, list(SAMPLES)[1:])))
    return results


@pytest.mark.cloud
@pytest.mark.parametrize("name", SAMPLES)
def test_sample_app_deploys_with_the_sam_cli_and_works_as_its_readme_says(deployed, name):
    if isinstance(deployed[name], Exception):
        raise deployed[name]
    SAMPLES[name](deployed[name])


@pytest.mark.cloud
def test_sam_deploy_resolve_s3_made_the_managed_stack_with_its_bucket_policy(deployed, cloud):
    """`--resolve-s3` creates aws-sam-cli-managed-default (an S3 bucket and its
    AWS::S3::BucketPolicy) and uploads the apps' code and templates to that bucket."""
    client = Deployed("", {}, cloud.endpoint).client
    stack = client("cloudformation").describe_stacks(StackName="aws-sam-cli-managed-default")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    bucket = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "SourceBucket")
    policy = json.loads(client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    deny = policy["Statement"][1]
    assert (deny["Effect"], deny["Action"], deny["Condition"]) == (
        "Deny", ["s3:*"], {"Bool": {"aws:SecureTransport": "false"}})
    assert client("s3").list_objects_v2(Bucket=bucket)["KeyCount"] >= len(SAMPLES)


@pytest.mark.cloud
def test_sam_deploy_guided_non_interactive_form_with_samconfig(cloud, tmp_path):
    """What `sam deploy --guided` saves (samconfig.toml: stack, bucket, capabilities, no
    confirmation) deploys with a plain `sam deploy`, into a bucket the user named."""
    app = tmp_path / "app"
    shutil.copytree(FIXTURES / "sam-app-hello-world", app)
    bucket = f"my-artifacts-{uuid.uuid4().hex[:6]}"
    Deployed("", {}, cloud.endpoint).client("s3").create_bucket(Bucket=bucket)
    stack = f"guided-{uuid.uuid4().hex[:6]}"
    (app / "samconfig.toml").write_text(
        'version = 0.1\n[default.deploy.parameters]\n'
        f'stack_name = "{stack}"\ns3_bucket = "{bucket}"\ns3_prefix = "{stack}"\n'
        'region = "us-east-1"\nconfirm_changeset = false\ncapabilities = "CAPABILITY_IAM"\n')
    app = deploy_app(cloud, app, stack, "--config-file", "samconfig.toml")
    drive_hello_world(app)
    keys = app.client("s3").list_objects_v2(Bucket=bucket, Prefix=stack)
    assert keys["KeyCount"] >= 2  # the function's code and the template, uploaded by the SAM CLI


EVENTBRIDGE_APP = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties:
      Name: !Sub "${AWS::StackName}-bus"
  OnOrder:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Events:
        Placed:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            Pattern: {source: [shop.orders], detail-type: [OrderPlaced]}
  Fulfil:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Done
        States: {Done: {Type: Pass, End: true}}
      Events:
        Placed:
          Type: EventBridgeRule
          Properties:
            EventBusName: !Ref Bus
            InputPath: $.detail
            Pattern: {source: [shop.orders]}
Outputs:
  Bus: {Value: !Ref Bus}
  Function: {Value: !Ref OnOrder}
  Machine: {Value: !Ref Fulfil}
"""


@pytest.mark.cloud
def test_eventbridge_rules_deliver_to_functions_and_state_machines(cloud, tmp_path):
    """SAM's EventBridgeRule events: a matching PutEvents runs the function with the event and
    starts the state machine with the rule's InputPath of it; a non-matching one does neither."""
    app = deploy_inline(cloud, tmp_path, EVENTBRIDGE_APP,
                        "def handler(event, context):\n    print('order', event['detail']['order'])\n")
    events = app.client("events")
    for source, order in (("shop.other", "ignored"), ("shop.orders", "A-17")):
        answer = events.put_events(Entries=[{"EventBusName": app.outputs["Bus"], "Source": source,
                                             "DetailType": "OrderPlaced",
                                             "Detail": json.dumps({"order": order})}])
        assert answer["FailedEntryCount"] == 0
    assert eventually(lambda: "order A-17" in function_log(app, app.outputs["Function"]))
    stepfunctions = app.client("stepfunctions")
    started = eventually(lambda: stepfunctions.list_executions(
        stateMachineArn=app.outputs["Machine"])["executions"])
    assert len(started) == 1
    execution = run_execution_end(app, started[0]["executionArn"])
    assert json.loads(execution["input"]) == {"order": "A-17"}
    assert "ignored" not in function_log(app, app.outputs["Function"])


HTTP_API_APP = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Items:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.11
      Events:
        GetItem: {Type: HttpApi, Properties: {Path: "/items/{id}", Method: GET}}
        Anything: {Type: HttpApi, Properties: {Path: "/{proxy+}", Method: ANY}}
Outputs:
  Url: {Value: !Sub "https://${ServerlessHttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"}
"""


@pytest.mark.cloud
def test_http_api_routes_requests_with_payload_format_2(cloud, tmp_path):
    """SAM HttpApi events: the most specific route wins, the function gets the 2.0 event
    (routeKey, pathParameters, rawQueryString, body) and a result without statusCode is a JSON
    200; a route nobody declared is API Gateway's 404."""
    url = deploy_inline(cloud, tmp_path, HTTP_API_APP, (
        "def handler(event, context):\n"
        "    return {'route': event['routeKey'], 'path': event['pathParameters'],\n"
        "            'query': event['rawQueryString'], 'body': event['body']}\n")).outputs["Url"]
    assert url.startswith(f"{cloud.endpoint}/restapis/") and url.endswith("/$default/_user_request_/")
    got = requests.get(url + "items/7?full=1", timeout=30)
    assert (got.status_code, got.json()) == (200, {"route": "GET /items/{id}", "path": {"id": "7"},
                                                   "query": "full=1", "body": None})
    posted = requests.post(url + "orders/9", data="hello", headers={"Content-Type": "text/plain"},
                           timeout=30).json()
    assert posted == {"route": "ANY /{proxy+}", "path": {"proxy": "orders/9"}, "query": "", "body": "hello"}
    assert requests.get(url, timeout=30).status_code == 404
