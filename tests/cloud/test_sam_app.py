"""Acceptance: the SAM app in tests/fixtures/sam_app, deployed with `gluelab deploy` and with the
AWS CLI, serves POST /items (which runs the workflow) and GET /items/{id} over HTTP."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import requests

from gluelab.cli import main
from gluelab.config import client
from gluelab.deploy import deploy
from gluelab.executions import wait_for_end

SAM_APP = Path(__file__).resolve().parent.parent / "fixtures" / "sam_app"
AWS_CLI = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "aws"


@pytest.fixture(scope="module")
def app(cloud) -> dict[str, str]:
    """The app deployed once with gluelab deploy; its stack outputs."""
    with pytest.MonkeyPatch.context() as patch:
        for key, value in cloud.env().items():
            patch.setenv(key, value)
        yield deploy(SAM_APP, f"samapp-{uuid.uuid4().hex[:6]}")


def wait_for(execution_arn: str, within_s: float = 30) -> dict:
    execution = wait_for_end(execution_arn, within_s, poll_s=0.05)
    if execution["status"] == "RUNNING":
        raise AssertionError(f"{execution_arn} still running after {within_s:g} s")
    return execution


def post_item(outputs: dict, category: str, text: str) -> dict:
    reply = requests.post(outputs["ApiUrl"] + "items", json={"category": category, "text": text},
                          timeout=30)
    assert reply.status_code == 202, reply.text
    return reply.json()


def assert_round_trip(outputs: dict, category: str = "LIFT", priority: str = "high") -> dict:
    created = post_item(outputs, category, "stuck between floors 3 and 4")
    execution = wait_for(created["executionArn"])
    assert execution["status"] == "SUCCEEDED", execution.get("cause")

    reply = requests.get(outputs["ApiUrl"] + f"items/{created['id']}", timeout=30)

    assert reply.status_code == 200, reply.text
    assert reply.json() == {"id": created["id"], "category": category, "priority": priority,
                            "text": "stuck between floors 3 and 4",
                            "urgent": priority == "high"}
    return created


def test_post_runs_the_workflow_and_get_returns_the_item(local, app):
    created = assert_round_trip(app)

    audit = client("dynamodb").get_item(TableName=app["AuditTableName"],
                                        Key={"id": {"S": created["id"]}})["Item"]
    assert audit["event"] == {"S": "stored"}
    history = client("stepfunctions").get_execution_history(
        executionArn=created["executionArn"])["events"]
    entered = {e["stateEnteredEventDetails"]["name"] for e in history
               if "stateEnteredEventDetails" in e}
    assert {"Classify", "IsUrgent", "MarkUrgent", "Store", "SaveItem", "SaveAudit"} <= entered


def test_items_can_be_found_by_category(local, app):
    created = post_item(app, "DOOR", "front door will not lock")
    wait_for(created["executionArn"])

    found = client("dynamodb").query(
        TableName=app["ItemsTableName"], IndexName="ByCategory",
        KeyConditionExpression="category = :c",
        ExpressionAttributeValues={":c": {"S": "DOOR"}})["Items"]

    assert created["id"] in [item["id"]["S"] for item in found]


def test_unknown_category_is_caught_and_rejected(local, app):
    created = post_item(app, "GARDEN", "the hedge needs trimming")

    execution = wait_for(created["executionArn"])

    assert execution["status"] == "FAILED"
    assert execution["error"] == "UnknownCategory"
    assert requests.get(app["ApiUrl"] + f"items/{created['id']}", timeout=30).status_code == 404


def test_bad_request_gets_a_helpful_400(local, app):
    reply = requests.post(app["ApiUrl"] + "items", json={"text": "no category"}, timeout=30)

    assert reply.status_code == 400
    assert "category" in reply.json()["message"]


def test_code_only_change_redeploys_and_runs_the_new_code(local, tmp_path):
    project = shutil.copytree(SAM_APP, tmp_path / "app")
    stack = f"samcode-{uuid.uuid4().hex[:6]}"
    outputs = deploy(project, stack)
    assert_round_trip(outputs, "HEAT", "normal")
    classify = project / "functions" / "classify" / "app.py"
    classify.write_text(classify.read_text().replace('"HEAT": "normal"', '"HEAT": "high"'))

    deploy(project, stack)  # its speed is measured in benchmarks/run.py

    assert_round_trip(outputs, "HEAT", "high")


def gluelab_env(capsys) -> dict[str, str]:
    assert main(["env"]) == 0
    exports = [line.removeprefix("export ") for line in capsys.readouterr().out.splitlines()
               if line.startswith("export ")]
    return dict(line.split("=", 1) for line in exports)


def aws(env: dict, *args: str) -> str:
    done = subprocess.run([str(AWS_CLI), *args], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, f"aws {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_aws_cli_deploys_the_same_app(local, tmp_path, capsys):
    env = {**os.environ, **gluelab_env(capsys)}
    bucket, stack = f"cli-artifacts-{uuid.uuid4().hex[:6]}", f"samcli-{uuid.uuid4().hex[:6]}"
    client("s3").create_bucket(Bucket=bucket)
    packaged = tmp_path / "packaged.yaml"

    aws(env, "cloudformation", "package", "--template-file", str(SAM_APP / "template.yaml"),
        "--s3-bucket", bucket, "--output-template-file", str(packaged))
    aws(env, "cloudformation", "deploy", "--template-file", str(packaged), "--stack-name", stack,
        "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND")
    described = json.loads(aws(env, "cloudformation", "describe-stacks", "--stack-name", stack))

    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0]["Outputs"]}
    assert_round_trip(outputs)
