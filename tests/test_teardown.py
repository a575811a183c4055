"""`gluelab teardown`: deletes what the workshop created on the target, keeps the rest, verifies.

It runs against a private local cloud: teardown deletes every workshop stack, and the session's
shared cloud holds other tests' stacks.
"""
from __future__ import annotations

import json
import uuid

import pytest

from gluelab import teardown as gluelab_teardown
from gluelab.cli import main
from gluelab.config import client
from gluelab.deploy import deploy
from gluelab.teardown import inventory, teardown
from tests.conftest import running_cloud, use_cloud

EXTRA_TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Uploads:
    Type: AWS::S3::Bucket
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  Hello:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Role: !GetAtt Role.Arn
      Code: hello
  Slow:
    Type: AWS::StepFunctions::StateMachine
    Properties:
      RoleArn: !GetAtt Role.Arn
      DefinitionString: '{"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": true}}}'
Outputs:
  BucketName: {Value: !Ref Uploads}
  FunctionName: {Value: !Ref Hello}
  SlowArn: {Value: !Ref Slow}
"""

KEEP_TEMPLATE = json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}})


@pytest.fixture(scope="module")
def private_cloud(tmp_path_factory):
    with running_cloud(tmp_path_factory.mktemp("teardown-cloud")) as handle:
        yield handle


@pytest.fixture
def target(private_cloud, monkeypatch):
    return use_cloud(private_cloud, monkeypatch)


@pytest.fixture
def workshop(target, tmp_path):
    """A workshop's leftovers: two deployed stacks (one with a bucket, a function that ran and
    a running execution), /fixit/ parameters; and things the workshop did not create."""
    project = tmp_path / "extra"
    (project / "hello").mkdir(parents=True)
    (project / "template.yaml").write_text(EXTRA_TEMPLATE)
    (project / "hello" / "app.py").write_text("def handler(event, context):\n    print('hi')\n    return 1\n")
    quiet = lambda line: None  # noqa: E731
    deploy(project, "fixit", echo=quiet)
    extra = deploy(project, "workshop-extra", echo=quiet)
    client("s3").put_object(Bucket=extra["BucketName"], Key="photo.jpg", Body=b"x")
    client("lambda").invoke(FunctionName=extra["FunctionName"])
    client("stepfunctions").start_execution(stateMachineArn=extra["SlowArn"], name=f"still-waiting-{uuid.uuid4().hex[:8]}")
    ssm = client("ssm")
    for name in ("/fixit/twilio/auth_token", "/fixit/twilio/webhook_url", "/other/keep"):
        ssm.put_parameter(Name=name, Value="v", Type="String", Overwrite=True)
    cfn = client("cloudformation")
    if not any(s["StackName"] == "not-ours" for s in cfn.describe_stacks()["Stacks"]):
        cfn.create_stack(StackName="not-ours", TemplateBody=KEEP_TEMPLATE)
    client("s3").create_bucket(Bucket="someone-elses-bucket")
    yield extra
    teardown(echo=quiet)


def test_inventory_lists_what_the_workshop_created(workshop):
    found = inventory()
    assert found.stacks == ["fixit", "workshop-extra"]
    assert workshop["BucketName"] in found.buckets
    assert any(b.startswith("gluelab-artifacts-") for b in found.buckets)
    assert "someone-elses-bucket" not in found.buckets
    assert f"/aws/lambda/{workshop['FunctionName']}" in found.log_groups
    assert found.parameters == ["/fixit/twilio/auth_token", "/fixit/twilio/webhook_url"]


def test_teardown_deletes_everything_the_workshop_created_and_nothing_else(workshop):
    lines: list[str] = []
    assert teardown(echo=lines.append) == []
    assert not inventory()
    assert "Stopped 1 running executions." in lines
    assert "Deleted stack fixit." in lines and "Deleted stack workshop-extra." in lines
    assert lines[-1] == "Verified: nothing the workshop created remains on this target."

    stacks = {s["StackName"]: s["StackStatus"]
              for s in client("cloudformation").describe_stacks()["Stacks"]}
    assert "not-ours" in stacks and "fixit" not in stacks
    buckets = [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    assert buckets == ["someone-elses-bucket"]
    assert client("ssm").get_parameter(Name="/other/keep")["Parameter"]["Value"] == "v"
    assert client("logs").describe_log_groups(
        logGroupNamePrefix=f"/aws/lambda/{workshop['FunctionName']}")["logGroups"] == []

    again: list[str] = []
    assert teardown(echo=again.append) == []
    assert again == ["Nothing to delete: the workshop left nothing on this target."]


def test_teardown_names_what_it_could_not_delete(workshop, monkeypatch):
    lines: list[str] = []
    # Only the stack deletion is patched: undoing the whole monkeypatch would also undo the
    # fixture's pointer to the private cloud, and the fixture's cleanup would miss it.
    with monkeypatch.context() as patched:
        patched.setattr(gluelab_teardown, "_delete_stacks", lambda cfn, names, echo: [])
        left = teardown(echo=lines.append)
    # The stacks stay, and so do the buckets inside them; the rest is gone.
    assert left[:2] == ["stack fixit", "stack workshop-extra"]
    assert f"bucket {workshop['BucketName']}" in left
    assert not any(line.startswith(("parameter", "log group", "bucket gluelab-")) for line in left)
    assert lines[-len(left) - 1:] == ["Still there after teardown:"] + [f"  {line}" for line in left]


def test_cli_asks_before_deleting_and_yes_skips_the_question(workshop, monkeypatch, capsys):
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert main(["teardown"]) == 1
    out = capsys.readouterr().out
    assert "On the local target, this deletes:\n  stack fixit\n  stack workshop-extra\n" in out
    assert "  parameter /fixit/twilio/auth_token\n" in out
    assert out.endswith("Nothing deleted.\n")
    assert inventory().stacks == ["fixit", "workshop-extra"]

    assert main(["teardown", "--yes"]) == 0
    assert capsys.readouterr().out.endswith(
        "Verified: nothing the workshop created remains on this target.\n")
    assert main(["teardown", "--yes"]) == 0
    assert capsys.readouterr().out == "Nothing to delete: the workshop left nothing on the local target.\n"


def test_deploy_recreates_an_artifacts_bucket_deleted_behind_its_back(workshop, tmp_path):
    """A teardown in another process (a notebook's kernel) deletes the bucket this process's
    deploy remembers; the next deploy creates it again."""
    project = tmp_path / "extra"
    quiet = lambda line: None  # noqa: E731
    s3 = client("s3")
    bucket = next(b for b in inventory().buckets if b.startswith("gluelab-artifacts-"))
    gluelab_teardown._empty_bucket(s3, bucket)
    s3.delete_bucket(Bucket=bucket)
    (project / "hello" / "app.py").write_text("def handler(event, context):\n    return 2\n")
    deploy(project, "fixit", echo=quiet)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
