"""Lab 05 "Implement Step Functions": an execution texts the reporter through the notify task."""
from __future__ import annotations

import json
import uuid

from checks.fixit import STACK, finished, history_events, physical_id, texts_to
from checks.runner import Context, Hinted, check_for
from checks.workflow_hints import explain, failed, output_of
from gluelab import config

# Ofcom's range for drama (+44 7700 900xxx): never a real phone.
TEST_HANDSET = "+447700900505"
_run: dict = {}


def state_machine_arn() -> str:
    return physical_id("FixitStateMachine",
                       f"the stack {STACK} has no FixitStateMachine: run its %%sam cell and deploy")


def run_once() -> dict:
    """One execution for the test handset, started by the first check and read by the others."""
    if "arn" not in _run:
        name = f"check05-{uuid.uuid4().hex}"
        report = {"reportId": name, "reporter": TEST_HANDSET, "category": "LIFT",
                  "text": "stuck between floors 3 and 4, Via Roma 12", "city": "Roma",
                  "receivedAt": "2025-06-01T09:30:00+00:00"}
        arn = config.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn(), name=name, input=json.dumps(report))["executionArn"]
        _run.update(arn=arn, name=name, execution=finished(arn, timeout_s=30))
    return _run


def failed_first(run: dict, what: str) -> None:
    """A later check of an execution that did not succeed: its hint is the first check's."""
    execution = run["execution"]
    if execution["status"] != "SUCCEEDED":
        raise Hinted(f"{what}: the execution ended {execution['status']}",
                     explain(execution) or "Put right what the first check names, then run the checks again.")


@check_for("05", "An execution with a report as input succeeds",
           hint="Fill in NotifyReporter's Parameters (to and body) and the NotifyFunctionArn "
                "substitution, run those cells and deploy; the error above says which part fails.")
def succeeds(ctx: Context) -> str:
    _run.clear()
    output_of(run_once()["execution"])
    return ""


@check_for("05", "The history shows the NotifyReporter task invoking the notify function",
           hint="The workflow needs a Task state named NotifyReporter whose Resource is "
                "${NotifyFunctionArn}.")
def history_shows_task(ctx: Context) -> str:
    run = run_once()
    events = history_events(run["execution"])
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
    assert "NotifyReporter" in entered, f"Task states entered: {entered or 'none'}"
    failed_first(run, "NotifyReporter did not finish")
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
    texts = [text for text in texts_to(TEST_HANDSET) if run["name"] in text]
    if not texts:
        missing = f"no text to {TEST_HANDSET} mentions the report {run['name']}"
        failed_first(run, missing)
        raise failed(run["execution"], missing)
    assert len(texts) == 1, f"{len(texts)} texts to {TEST_HANDSET} mention the report {run['name']}, not 1"
    assert "LIFT" in texts[0] and "Via Roma 12" in texts[0], (
        f"the text {texts[0]!r} does not give the category and the description")
    return ""
