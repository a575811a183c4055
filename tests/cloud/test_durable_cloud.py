"""Acceptance: running executions carry on after a stop or a crash (kill -9), a start loads the
snapshot and replays only the journal after it, and `gluelab cloud status` shows what runs."""
from __future__ import annotations

import io
import json
import os
import pickle
import re
import signal
import time
import warnings
import zipfile

import pytest

from gluelab.cli import main
from gluelab.cloud import process
from gluelab.config import client
from gluelab.executions import wait_for_end
from tests.conftest import running_cloud, use_cloud

ROLE = "arn:aws:iam::123456789012:role/states"
WAIT_S = 8
# Three transitions, a wait between them and data carried across the wait.
WAITING = {"StartAt": "Before", "States": {
    "Before": {"Type": "Pass", "Result": {"step": 1}, "ResultPath": "$.before", "Next": "Wait"},
    "Wait": {"Type": "Wait", "Seconds": WAIT_S, "Next": "After"},
    "After": {"Type": "Pass", "Parameters": {"id.$": "$.id", "before.$": "$.before"},
              "End": True}}}


@pytest.fixture(scope="module")
def handle(tmp_path_factory):
    with running_cloud(tmp_path_factory.mktemp("durable")) as handle:
        yield handle


@pytest.fixture
def sfn(handle, monkeypatch):
    use_cloud(handle, monkeypatch)
    return client("stepfunctions")


def kill_9(handle) -> None:
    """What a crash does: no chance to save anything."""
    pid = int((handle.state_dir / "cloud.pid").read_text())
    os.killpg(pid, signal.SIGKILL)
    while process._pid(handle.settings) is not None:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.02)


def start_waiting(sfn, name: str, definition: dict, number: int) -> tuple[str, str]:
    """A new state machine and an execution of it that has entered its Wait state."""
    machine = sfn.create_state_machine(name=name, roleArn=ROLE,
                                       definition=json.dumps(definition))["stateMachineArn"]
    arn = sfn.start_execution(stateMachineArn=machine, input=f'{{"id": {number}}}')["executionArn"]
    while sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=1)[
            "events"][0]["type"] != "WaitStateEntered":
        time.sleep(0.05)
    return machine, arn

def test_running_executions_carry_on_after_a_stop_and_a_kill_9_with_their_remaining_wait(
        handle, sfn):
    started = time.monotonic()
    machine, waiting = start_waiting(sfn, "waits", WAITING, 7)
    process.stop(handle.settings)
    process.start(handle.settings, quiet=True)
    # acknowledged just before the crash (its first state may or may not have run)
    just_started = sfn.start_execution(stateMachineArn=machine, input='{"id": 8}')["executionArn"]
    kill_9(handle)
    process.start(handle.settings, quiet=True)
    back = time.monotonic() - started

    ended = wait_for_end(waiting, timeout_s=60, poll_s=0.05)
    took = time.monotonic() - started
    assert ended["status"] == "SUCCEEDED"
    assert json.loads(ended["output"]) == {"id": 7, "before": {"step": 1}}
    # the wait went on with what remained of it (none, if the restarts took longer than it)
    assert WAIT_S <= took < max(WAIT_S, back) + 3, f"{took:.1f} s, the cloud back at {back:.1f} s"
    events = sfn.get_execution_history(executionArn=waiting)["events"]
    assert [e["type"] for e in events] == [
        "ExecutionStarted", "PassStateEntered", "PassStateExited", "WaitStateEntered",
        "WaitStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]
    assert [e["id"] for e in events] == list(range(1, 9))
    assert wait_for_end(just_started, timeout_s=30, poll_s=0.05)["status"] == "SUCCEEDED"
    log = (handle.state_dir / "cloud.log").read_text()
    assert f"resumed execution {waiting.rsplit(':', 1)[-1]} of waits at Wait" in log
    assert re.search(f"resumed execution {just_started.rsplit(':', 1)[-1]} of waits at "
                     f"(its first state|Wait)", log)
    assert list((handle.state_dir / "executions").iterdir()) == []  # ended: nothing left to resume


def test_a_workflow_s_timeout_counts_the_time_it_was_stopped(handle, sfn):
    """On AWS a workflow's TimeoutSeconds runs from its start, whatever happens meanwhile: a stop
    longer than what was left of it ends it TIMED_OUT when the cloud is back, not later."""
    timeout_s = 4
    definition = {"TimeoutSeconds": timeout_s, **WAITING, "States": {
        **WAITING["States"], "Wait": {**WAITING["States"]["Wait"], "Seconds": 60}}}
    started = time.monotonic()
    _, arn = start_waiting(sfn, "times-out", definition, 9)
    process.stop(handle.settings)
    time.sleep(max(0.0, timeout_s + 1 - (time.monotonic() - started)))  # stopped past its timeout
    process.start(handle.settings, quiet=True)
    back = time.monotonic() - started

    assert wait_for_end(arn, timeout_s=30, poll_s=0.05)["status"] == "TIMED_OUT"
    events = sfn.get_execution_history(executionArn=arn)["events"]
    assert events[-1]["type"] == "ExecutionTimedOut"
    took = (events[-1]["timestamp"] - events[0]["timestamp"]).total_seconds()
    # over once resumed (counting from the resume, it would have run timeout_s more)
    assert took < back + timeout_s - 1, f"{took:.1f} s, the cloud back at {back:.1f} s"


def test_cloud_status_shows_running_executions_workers_queue_and_memory(handle, sfn, capsys):
    machine = sfn.create_state_machine(name="waits-long", roleArn=ROLE,
                                       definition=json.dumps(WAITING))["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]

    assert main(["cloud", "status"]) == 0
    out = capsys.readouterr().out
    sfn.stop_execution(executionArn=execution)
    assert "running:  1 executions, 0 busy and 0 idle Lambda workers, 0 queued invocations" in out
    memory = re.search(r"memory:   (\d+) MB the cloud, (\d+) MB its workers", out)
    assert memory and int(memory[1]) > 50, out  # moto and its services take well over 50 MB


def tables() -> list[str]:
    return client("dynamodb").list_tables()["TableNames"]


def create_table(name: str) -> None:
    client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])


def wait_for_a_snapshot(log, saved: int) -> None:
    deadline = time.monotonic() + 30
    while log.read_text().count("saved a snapshot of") == saved:  # once changes settle
        assert time.monotonic() < deadline, "no snapshot within 30 s of the last change"
        time.sleep(0.2)


def snapshot_covers(handle) -> int:
    """How many journal entries the saved snapshot holds (its header says)."""
    try:
        with (handle.state_dir / "snapshot.pickle").open("rb") as file:
            return pickle.load(file)["lines"]
    except FileNotFoundError:
        return 0


def test_a_queued_asynchronous_invocation_before_the_snapshot_survives_a_restart(handle, sfn):
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    role = client("iam").create_role(RoleName="queued", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}
    ))["Role"]["Arn"]
    functions = client("lambda")
    functions.create_function(FunctionName="queued", Runtime="python3.12", Role=role,
                              Handler="app.handler", Code={"ZipFile": code.getvalue()})
    # no concurrency at all: Lambda keeps the event queued, as it does while throttled
    functions.put_function_concurrency(FunctionName="queued", ReservedConcurrentExecutions=0)
    functions.invoke(FunctionName="queued", InvocationType="Event", Payload=b'{"n": 1}')
    wait_for_a_snapshot_of_the_whole_journal(handle)  # the event's entry lies before its end

    process.stop(handle.settings)
    process.start(handle.settings, quiet=True)
    assert process.status(handle.settings)["queued_invocations"] == 1

    functions.delete_function(FunctionName="queued")  # its queued event goes with it, for good
    wait_for_a_snapshot_of_the_whole_journal(handle)
    process.stop(handle.settings)
    with warnings.catch_warnings():
        warnings.simplefilter("error", process.RestoreWarning)  # nothing is missing
        process.start(handle.settings, quiet=True)
    assert process.status(handle.settings)["queued_invocations"] == 0


def wait_for_a_snapshot_of_the_whole_journal(handle) -> None:
    # a snapshot waits for 2 s without changes, and a loaded machine takes seconds to save one
    journal, deadline = handle.state_dir / "journal.jsonl", time.monotonic() + 90
    while snapshot_covers(handle) < len(journal.read_text().splitlines()):
        assert time.monotonic() < deadline, "no snapshot of the whole journal within 90 s"
        time.sleep(0.2)


def test_a_start_loads_the_snapshot_and_replays_only_the_journal_after_it(handle, sfn):
    log = handle.state_dir / "cloud.log"
    saved = log.read_text().count("saved a snapshot of")
    create_table("Saved")
    wait_for_a_snapshot(log, saved)
    create_table("AfterTheSnapshot")
    item = {"id": {"S": "report-1"}, "text": {"S": "LIFT stuck"}}
    client("dynamodb").put_item(TableName="Saved", Item=item)
    kill_9(handle)  # no snapshot: the journal has the table and the item
    lines = len(log.read_text().splitlines())

    process.start(handle.settings, quiet=True)
    started = log.read_text().splitlines()[lines:]
    assert any(line.startswith("restored a snapshot of ") for line in started), started
    assert "restored 1 saved API calls from" in "\n".join(started)
    # the item write waits for DynamoDB's first use, and is there when it comes
    assert "1 more are restored when their service is first used" in started
    assert client("dynamodb").get_item(TableName="Saved", Key={"id": item["id"]})["Item"] == item
    assert {"Saved", "AfterTheSnapshot"} <= set(tables())

    process.stop(handle.settings)
    (handle.state_dir / "snapshot.pickle").write_bytes(b"half a snapshot")
    process.start(handle.settings, quiet=True)
    assert "cannot be read (UnpicklingError); replaying the whole journal instead" in log.read_text()
    assert {"Saved", "AfterTheSnapshot"} <= set(tables())
    assert process.status(handle.settings)["restored"]["failures"] == []
