"""`gluelab deploy`: packaging, change sets, progress, outputs and failures (gluelab/deploy.py)."""
from __future__ import annotations

import io
import json
import os
import shutil
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from gluelab.cli import main
from gluelab.config import client
from gluelab.deploy import DeployError, Packager, deploy, load_template, zip_bytes

SAM_APP = Path(__file__).resolve().parent.parent / "fixtures" / "sam_app"

PLAIN_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Greeting: {Type: String, Default: hello}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: [lambda.amazonaws.com, states.amazonaws.com]}
            Action: sts:AssumeRole
      Policies:  # IAM is enforced: the workflow's putItem runs as this role
        - PolicyName: put-items
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: dynamodb:PutItem, Resource: !GetAtt Table.Arn}
  Hello:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.11
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code: hello
  Flow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt Role.Arn
      DefinitionS3Location: flow.asl.json
      DefinitionSubstitutions:
        Table: !Ref Table
        Greeting: !Ref Greeting
Outputs:
  TableName: {Value: !Ref Table}
  FunctionName: {Value: !Ref Hello}
  FlowArn: {Value: !Ref Flow}
  Greeting: {Value: !Sub "${Greeting}, world"}
"""

FLOW = {"StartAt": "Put", "States": {"Put": {
    "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "ResultPath": None,
    "Parameters": {"TableName": "${Table}",
                   "Item": {"id": {"S.$": "$.id"}, "greeting": {"S": "${Greeting}"}}},
    "End": True}}}


def handler_source(answer: str) -> str:
    return f"def handler(event, context):\n    return {{'answer': {answer!r}}}\n"


@pytest.fixture
def plain_project(tmp_path) -> Path:
    (tmp_path / "template.yaml").write_text(PLAIN_TEMPLATE)
    (tmp_path / "flow.asl.json").write_text(json.dumps(FLOW))
    (tmp_path / "hello").mkdir()
    (tmp_path / "hello" / "app.py").write_text(handler_source("one"))
    return tmp_path


def stack_name() -> str:
    return f"deploy-{uuid.uuid4().hex[:8]}"


def invoke(function: str) -> dict:
    reply = client("lambda").invoke(FunctionName=function, Payload=b"{}")
    return json.loads(reply["Payload"].read())


# --- packaging, no cloud needed -----------------------------------------------------------

def test_zips_are_reproducible_and_skip_caches(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "b.py").write_text("B = 2\n")
    (tmp_path / "pkg" / "a.py").write_text("A = 1\n")
    first = zip_bytes(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "b.cpython-311.pyc").write_bytes(b"\0compiled")
    os.utime(tmp_path / "b.py", (1_000_000, 1_000_000))

    assert zip_bytes(tmp_path) == first
    assert zipfile.ZipFile(io.BytesIO(first)).namelist() == ["b.py", "pkg/a.py"]
    (tmp_path / "b.py").write_text("B = 3\n")
    assert zip_bytes(tmp_path) != first


def test_package_rewrites_local_references_to_s3(tmp_path):
    template = load_template(SAM_APP / "template.yaml")
    uploads = []

    def upload(content: bytes, extension: str) -> str:
        uploads.append(extension)
        return f"key{len(uploads)}{extension}"

    packaged = Packager(SAM_APP, upload).package(template, "artifacts")
    resources = packaged["Resources"]

    assert resources["CreateItemFunction"]["Properties"]["CodeUri"].startswith("s3://artifacts/key")
    assert resources["Workflow"]["Properties"]["DefinitionUri"] == {
        "Bucket": "artifacts", "Key": "key4.json"}
    assert sorted(uploads) == [".json", ".zip", ".zip", ".zip"]
    assert resources["Workflow"]["Properties"]["DefinitionSubstitutions"]["ItemsTable"] == {
        "Ref": "ItemsTable"}
    assert resources["CreateItemFunction"]["Properties"]["Policies"][0] == {
        "StepFunctionsExecutionPolicy": {"StateMachineName": {"Fn::GetAtt": ["Workflow", "Name"]}}}
    assert template["Resources"]["Workflow"]["Properties"]["DefinitionUri"] == (
        "statemachine/workflow.asl.json")


def test_package_rewrites_plain_lambda_code_as_bucket_and_key(plain_project):
    packaged = Packager(plain_project, lambda content, ext: "k" + ext).package(
        load_template(plain_project / "template.yaml"), "b")

    assert packaged["Resources"]["Hello"]["Properties"]["Code"] == {"S3Bucket": "b", "S3Key": "k.zip"}
    assert packaged["Resources"]["Flow"]["Properties"]["DefinitionS3Location"] == {
        "Bucket": "b", "Key": "k.json"}


def test_a_missing_code_folder_is_named(plain_project):
    shutil.rmtree(plain_project / "hello")

    with pytest.raises(DeployError, match=r"Hello\.Code is 'hello', but .*hello does not exist"):
        Packager(plain_project, lambda content, ext: "k").package(
            load_template(plain_project / "template.yaml"), "b")


# --- deploying to the local cloud ---------------------------------------------------------

def test_deploy_creates_the_stack_and_returns_outputs(local, plain_project, capsys):
    stack = stack_name()

    outputs = deploy(plain_project, stack, {"Greeting": "ciao"})

    printed = capsys.readouterr().out
    assert outputs["Greeting"] == "ciao, world"
    assert "CREATE_COMPLETE" in printed and "Greeting = ciao, world" in printed
    assert invoke(outputs["FunctionName"]) == {"answer": "one"}
    sfn = client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=outputs["FlowArn"], input='{"id": "i1"}')
    for _ in range(200):
        if sfn.describe_execution(executionArn=execution["executionArn"])["status"] != "RUNNING":
            break
        time.sleep(0.05)
    item = client("dynamodb").get_item(TableName=outputs["TableName"], Key={"id": {"S": "i1"}})
    assert item["Item"]["greeting"] == {"S": "ciao"}


def test_unchanged_project_is_reported_as_no_changes(local, plain_project, capsys):
    stack = stack_name()
    first = deploy(plain_project, stack)
    capsys.readouterr()
    (plain_project / "hello" / "__pycache__").mkdir()
    (plain_project / "hello" / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\0")

    again = deploy(plain_project, stack)

    assert again == first
    assert "No changes" in capsys.readouterr().out


def test_code_only_redeploy_runs_the_new_code(local, plain_project):
    stack = stack_name()
    outputs = deploy(plain_project, stack)
    assert invoke(outputs["FunctionName"]) == {"answer": "one"}
    (plain_project / "hello" / "app.py").write_text(handler_source("two"))

    deploy(plain_project, stack)  # its speed is measured in benchmarks/run.py

    assert invoke(outputs["FunctionName"]) == {"answer": "two"}


def test_a_parameter_change_updates_and_keeps_previous_values(local, plain_project):
    stack = stack_name()
    assert deploy(plain_project, stack, {"Greeting": "hi"})["Greeting"] == "hi, world"
    (plain_project / "hello" / "app.py").write_text(handler_source("three"))

    assert deploy(plain_project, stack)["Greeting"] == "hi, world"
    assert deploy(plain_project, stack, {"Greeting": "hey"})["Greeting"] == "hey, world"


def test_an_unknown_parameter_is_refused(local, plain_project):
    with pytest.raises(DeployError, match="declares no parameter Colour"):
        deploy(plain_project, stack_name(), {"Colour": "blue"})


def test_an_unsupported_resource_type_fails_naming_it(local, plain_project):
    template = plain_project / "template.yaml"
    template.write_text(template.read_text().replace(
        "Resources:\n", "Resources:\n  Cluster:\n    Type: AWS::Neptune::DBCluster\n"
                        "    Properties: {}\n", 1))

    with pytest.raises(DeployError) as failure:
        deploy(plain_project, stack_name())

    assert "AWS::Neptune::DBCluster" in str(failure.value)


def test_a_broken_get_att_shows_the_reason(local, plain_project, capsys):
    template = plain_project / "template.yaml"
    template.write_text(template.read_text().replace("!GetAtt Role.Arn", "!GetAtt Rolle.Arn", 1))

    with pytest.raises(DeployError) as failure:
        deploy(plain_project, stack_name())

    assert "Rolle" in str(failure.value)
    assert "Fix" in str(failure.value)


def test_cli_deploys_and_exits_non_zero_on_failure(local, plain_project, capsys):
    command = ["deploy", str(plain_project), "--stack", stack_name(), "--param", "Greeting=salut"]

    assert main(command) == 0
    assert "Greeting = salut, world" in capsys.readouterr().out

    (plain_project / "flow.asl.json").unlink()
    assert main(command) == 1
    error = capsys.readouterr().err
    assert "flow.asl.json" in error and "does not exist" in error


def test_a_broken_workflow_rolls_the_update_back_and_the_fix_deploys(local, plain_project):
    stack = stack_name()
    outputs = deploy(plain_project, stack)
    client("dynamodb").put_item(TableName=outputs["TableName"], Item={"id": {"S": "keep-me"}})
    (plain_project / "hello" / "app.py").write_text(handler_source("two"))
    (plain_project / "flow.asl.json").write_text(json.dumps(
        {"StartAt": "Put", "States": {"Put": {"Type": "Task", "End": True}}}))

    with pytest.raises(DeployError) as failure:
        deploy(plain_project, stack)

    assert "UPDATE_ROLLBACK_COMPLETE" in str(failure.value)
    assert "Flow (AWS::StepFunctions::StateMachine)" in str(failure.value)
    assert "These fields are required: [Resource] at /States/Put" in str(failure.value)
    assert invoke(outputs["FunctionName"]) == {"answer": "one"}  # the new code was rolled back

    (plain_project / "flow.asl.json").write_text(json.dumps(FLOW))
    assert deploy(plain_project, stack) == outputs
    assert invoke(outputs["FunctionName"]) == {"answer": "two"}
    assert client("dynamodb").get_item(TableName=outputs["TableName"],
                                       Key={"id": {"S": "keep-me"}})["Item"]


def test_a_stuck_rollback_is_continued_by_the_next_deploy(local, plain_project):
    """A table the failed update created cannot be deleted by the rollback (deletion
    protection): deploy says what blocks it, and continues the rollback once it is gone."""
    stack = stack_name()
    deploy(plain_project, stack)
    template = plain_project / "template.yaml"
    working = template.read_text()
    template.write_text(working.replace("Resources:\n", "Resources:\n  Guarded:\n"
        "    Type: AWS::DynamoDB::Table\n    Properties:\n      DeletionProtectionEnabled: true\n"
        "      BillingMode: PAY_PER_REQUEST\n"
        "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
        "      KeySchema: [{AttributeName: id, KeyType: HASH}]\n", 1).replace(
        "  Flow:\n    Type: AWS::StepFunctions::StateMachine\n",
        "  Flow:\n    Type: AWS::StepFunctions::StateMachine\n    DependsOn: Guarded\n"))
    (plain_project / "flow.asl.json").write_text(json.dumps(
        {"StartAt": "Put", "States": {"Put": {"Type": "Task", "End": True}}}))
    with pytest.raises(DeployError, match="UPDATE_ROLLBACK_FAILED"):
        deploy(plain_project, stack)

    template.write_text(working)
    (plain_project / "flow.asl.json").write_text(json.dumps(FLOW))
    with pytest.raises(DeployError) as still_stuck:
        deploy(plain_project, stack)
    assert "still UPDATE_ROLLBACK_FAILED" in str(still_stuck.value)
    assert "Guarded" in str(still_stuck.value)

    dynamodb = client("dynamodb")
    guarded = next(t for t in dynamodb.list_tables()["TableNames"] if f"{stack}-Guarded-" in t)
    dynamodb.update_table(TableName=guarded, DeletionProtectionEnabled=False)
    outputs = deploy(plain_project, stack)
    assert guarded not in dynamodb.list_tables()["TableNames"]
    assert invoke(outputs["FunctionName"]) == {"answer": "one"}
