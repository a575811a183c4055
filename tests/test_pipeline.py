"""`gluelab pipeline run`: a project's buildspec phases, then its output template deployed."""
from __future__ import annotations

import shutil
import uuid

import pytest

from gluelab.cli import main
from gluelab.config import client
from gluelab.pipeline import PipelineError, run_pipeline
from tests.infra.conftest import INFRA

TEMPLATE = """AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  HelloFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      CodeUri: functions/hello/
Outputs:
  FunctionName:
    Value: !Ref HelloFunction
"""


@pytest.fixture
def project(tmp_path):
    """A small SAM project with the workshop's own buildspec."""
    (tmp_path / "functions" / "hello").mkdir(parents=True)
    (tmp_path / "functions" / "hello" / "app.py").write_text("def handler(event, context):\n    return 'hi'\n")
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    shutil.copy(INFRA / "buildspec.yml", tmp_path / "buildspec.yml")
    return tmp_path


def stack_name() -> str:
    return f"pipeline-{uuid.uuid4().hex[:8]}"


def test_runs_the_phases_in_order_skips_install_and_deploys_the_packaged_template(local, project):
    lines, stack = [], stack_name()
    outputs = run_pipeline(project, stack, echo=lines.append)
    assert lines == [
        "Phase install: skipped (CodeBuild installs the tools in a fresh container; your "
        "workshop environment already has them).",
        "Phase build: 5 commands succeeded.",
        "Artifact: packaged.yaml, handed to the deploy stage.",
        f"Deploy: stack {stack} is CREATE_COMPLETE."]
    assert client("lambda").get_function(FunctionName=outputs["FunctionName"])
    packaged = (project / "packaged.yaml").read_text()
    assert "s3://gluelab-artifacts-" in packaged  # the deploy module's artifacts bucket

    lines.clear()
    run_pipeline(project, stack, echo=lines.append)
    assert lines[-1] == f"Deploy: stack {stack} is CREATE_COMPLETE (no changes)."


def test_on_the_local_cloud_a_functions_requirements_are_not_installed(local, project):
    """The build copies the function as it is, offline, and the deployed function imports
    twilio all the same: the local runtime lends it the workshop's copy of what its
    requirements.txt names."""
    hello = project / "functions" / "hello"
    (hello / "requirements.txt").write_text("twilio>=9.0,<10\n")
    (hello / "app.py").write_text("import twilio\n\ndef handler(event, context):\n"
                                  "    return twilio.__name__\n")
    outputs = run_pipeline(project, stack_name(), echo=lambda line: None)
    built = sorted(p.name for p in (project / ".aws-sam" / "build" / "functions" / "hello").iterdir())
    assert built == ["app.py", "requirements.txt"]
    reply = client("lambda").invoke(FunctionName=outputs["FunctionName"])
    assert reply["Payload"].read() == b'"twilio"' and "FunctionError" not in reply


def test_a_failing_command_stops_the_pipeline_before_the_deploy(local, project):
    (project / "template.yaml").write_text(TEMPLATE.replace(
        "Outputs:", "  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      Colour: blue\nOutputs:"))
    stack = stack_name()
    with pytest.raises(PipelineError, match="Phase build failed: `cfn-lint --non-zero-exit-code error template.yaml` exited") as caught:
        run_pipeline(project, stack, echo=lambda line: None)
    assert "Colour" in str(caught.value)
    assert not (project / "packaged.yaml").exists()
    assert stack not in [s["StackName"] for s in client("cloudformation").describe_stacks()["Stacks"]]


def test_the_buildspec_and_its_artifact_are_required(local, project):
    (project / "buildspec.yml").write_text("version: 0.2\nphases:\n  build:\n    commands: [echo hi]\n")
    with pytest.raises(PipelineError, match="names no output artifact"):
        run_pipeline(project, stack_name(), echo=lambda line: None)
    (project / "buildspec.yml").unlink()
    with pytest.raises(PipelineError, match="There is no buildspec.yml"):
        run_pipeline(project, stack_name(), echo=lambda line: None)


def test_command_line(local, project, capsys):
    stack = stack_name()
    assert main(["pipeline", "run", str(project), "--stack", stack]) == 0
    out = capsys.readouterr().out
    assert "Phase build: 5 commands succeeded." in out and f"Deploy: stack {stack} is CREATE_COMPLETE." in out
    assert "FunctionName = " in out
    (project / "buildspec.yml").unlink()
    assert main(["pipeline", "run", str(project), "--stack", stack]) == 1
    assert "There is no buildspec.yml" in capsys.readouterr().err
