"""Lab 05 "Implement Step Functions": an execution texts the reporter through the notify task."""
from __future__ import annotations

import json
import time
import uuid

from checks.runner import Context, check_for
from gluelab import config, executions, twilio_local
from gluelab.lab import STACK

# Ofcom's range for drama (+44 7700 900xxx): never a real phone.
TEST_HANDSET = "+447700900505"
_run: dict = {}


def state_machine_arn() -> str:
    cloudformation = config.client("cloudformation")
    try:
        return cloudformation.describe_stack_resource(
            StackName=STACK, LogicalResourceId="FixitStateMachine")["StackResourceDetail"]["PhysicalResourceId"]
    except cloudformation.exceptions.ClientError:
        raise AssertionError(f"the stack {STACK} has no FixitStateMachine: run its %%sam cell "
                             "and deploy") from None


def finished(execution_arn: str, timeout_s: float = 30) -> dict:
    sfn = config.client("stepfunctions")
    deadline = time.monotonic() + timeout_s
    while True:
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING" or time.monotonic() > deadline:
            return execution
        time.sleep(0.1)


def failure_of(execution_arn: str) -> str:
    events = executions.fetch_history(execution_arn)["events"]
    for event in reversed(events):
        for key, value in event.items():
            if key.endswith("EventDetails") and isinstance(value, dict) and "error" in value:
                return f"{value['error']}: {value.get('cause', '')}"[:400]
    return "no error recorded"


def run_once() -> dict:
    """One execution for the test handset, started by the first check and read by the others."""
    if "arn" not in _run:
        name = f"check05-{uuid.uuid4().hex}"
        report = {"reportId": name, "reporter": TEST_HANDSET, "category": "LIFT",
                  "text": "stuck between floors 3 and 4, Via Roma 12", "city": "Roma",
                  "receivedAt": "2025-06-01T09:30:00+00:00"}
        arn = config.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn(), name=name, input=json.dumps(report))["executionArn"]
        _run.update(arn=arn, name=name, execution=finished(arn))
    return _run


@check_for("05", "An execution with a report as input succeeds",
           hint="Fill in NotifyReporter's Parameters (to and body) and the NotifyFunctionArn "
                "substitution, run those cells and deploy; the error above says which part fails.")
def succeeds(ctx: Context) -> str:
    _run.clear()
    run = run_once()
    status = run["execution"]["status"]
    assert status == "SUCCEEDED", f"the execution ended {status}: {failure_of(run['arn'])}"
    return ""


@check_for("05", "The history shows the NotifyReporter task invoking the notify function",
           hint="The workflow needs a Task state named NotifyReporter whose Resource is "
                "${NotifyFunctionArn}.")
def history_shows_task(ctx: Context) -> str:
    run = run_once()
    events = executions.fetch_history(run["arn"])["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
    assert "NotifyReporter" in entered, f"Task states entered: {entered or 'none'}"
    scheduled = [e["lambdaFunctionScheduledEventDetails"]["resource"] for e in events
                 if e["type"] == "LambdaFunctionScheduled"]
    assert any(":function:" in r and "NotifyFunction" in r for r in scheduled), (
        f"no notify function was invoked (scheduled: {scheduled or 'nothing'})")
    assert any(e["type"] == "LambdaFunctionSucceeded" for e in events), "the function did not succeed"
    return ""


@check_for("05", "The reporter got exactly one SMS about the report",
           hint="The body must name the report id: build it with States.Format from $.category, "
                "$.reportId and $.text; `to` comes from $.reporter.")
def one_sms(ctx: Context) -> str:
    run = run_once()
    texts = [m.body for m in twilio_local.messages(to=TEST_HANDSET, limit=200) if run["name"] in m.body]
    assert len(texts) == 1, (f"{len(texts)} texts to {TEST_HANDSET} mention the report "
                             f"{run['name']}, not 1")
    assert "LIFT" in texts[0] and "Via Roma 12" in texts[0], (
        f"the text {texts[0]!r} does not give the category and the description")
    return ""
