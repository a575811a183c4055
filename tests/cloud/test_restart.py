"""Acceptance: a deployed app keeps working across `gluelab cloud stop` / `start`."""
from __future__ import annotations

import json

import pytest
import requests

from gluelab.cli import main
from gluelab.cloud import process
from gluelab.config import client
from gluelab.deploy import deploy
from tests.cloud.test_sam_app import SAM_APP, assert_round_trip, wait_for
from tests.conftest import running_cloud, use_cloud


@pytest.fixture
def handle(tmp_path, monkeypatch):
    """A local cloud of the test's own, which the test stops and starts again."""
    with running_cloud(tmp_path) as handle:
        yield use_cloud(handle, monkeypatch)


def restart(handle) -> None:
    process.stop(handle.settings)
    process.start(handle.settings, quiet=True)


def test_table_items_and_the_deployed_api_survive_a_restart(handle):
    outputs = deploy(SAM_APP, "restart-app", echo=lambda line: None)
    created = assert_round_trip(outputs)
    item_url = outputs["ApiUrl"] + f"items/{created['id']}"
    before = requests.get(item_url, timeout=30).json()

    restart(handle)

    reply = requests.get(item_url, timeout=30)  # same URL: API id, stage, function, table
    assert (reply.status_code, reply.json()) == (200, before)
    assert_round_trip(outputs)  # and new reports still run the workflow end to end
    assert process.status(handle.settings)["restored"]["failures"] == []


def what_ran(outputs: dict, execution_arn: str) -> dict:
    sfn, logs = client("stepfunctions"), client("logs")
    group = f"/aws/lambda/{outputs['ClassifyFunctionName']}"
    return {
        "execution": sfn.describe_execution(executionArn=execution_arn),
        "history": sfn.get_execution_history(executionArn=execution_arn)["events"],
        "listed": sfn.list_executions(stateMachineArn=outputs["WorkflowArn"])["executions"],
        "log lines": [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]],
    }


def test_finished_executions_and_lambda_logs_survive_a_restart(handle):
    outputs = deploy(SAM_APP, "history-app", echo=lambda line: None)
    created = assert_round_trip(outputs)
    before = what_ran(outputs, created["executionArn"])
    assert any(line.startswith("REPORT RequestId:") for line in before["log lines"])

    restart(handle)

    for key in ("execution", "history", "listed", "log lines"):
        before[key] = strip_metadata(before[key])
    after = {key: strip_metadata(value) for key, value in what_ran(
        outputs, created["executionArn"]).items()}
    assert after == before
    assert after["execution"]["status"] == "SUCCEEDED"
    assert process.status(handle.settings)["restored"]["failures"] == []


def strip_metadata(value):
    return {k: v for k, v in value.items() if k != "ResponseMetadata"} if isinstance(value, dict) else value


def test_a_stopped_execution_stays_aborted_after_a_restart(handle):
    sfn = client("stepfunctions")
    machine = sfn.create_state_machine(
        name="waits", roleArn="arn:aws:iam::123456789012:role/states",
        definition='{"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 600, "End": true}}}'
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    sfn.stop_execution(executionArn=execution)
    # the workflow's thread ends it a moment after the call
    assert wait_for(execution, within_s=10)["status"] == "ABORTED"

    restart(handle)

    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    assert [e["type"] for e in sfn.get_execution_history(executionArn=execution)["events"]][-1] == \
        "ExecutionAborted"
    assert process.status(handle.settings)["restored"]["failures"] == []


def test_a_start_that_cannot_restore_everything_says_what_is_missing(handle, capsys):
    client("dynamodb").create_table(
        TableName="Reports", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    process.stop(handle.settings)
    journal = handle.state_dir / "journal.jsonl"
    entry = json.loads(journal.read_text().splitlines()[-1])
    with journal.open("a") as lines:  # the same table twice: the second cannot be made
        lines.write(json.dumps(entry) + "\n")

    with pytest.warns(process.RestoreWarning) as warned:
        process.start(handle.settings, quiet=True)
    message = str(warned[0].message)
    assert "1 saved change(s) could not be restored" in message
    assert "journal entry 2 (POST /) answered 400" in message
    assert "gluelab cloud reset" in message
    assert client("dynamodb").describe_table(TableName="Reports")["Table"]["TableStatus"] == "ACTIVE"

    process.stop(handle.settings)
    assert main(["cloud", "start"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"Local cloud ready on {handle.endpoint}")
    assert captured.err.startswith("warning: The local cloud started, but 1 saved change(s)")
    assert main(["cloud", "start"]) == 0  # already running: nothing new to say
    assert capsys.readouterr().err == ""
    assert main(["cloud", "status"]) == 0
    assert "restored: 2 saved changes at start, 1 of them could not be (`gluelab cloud logs`)" \
        in capsys.readouterr().out
