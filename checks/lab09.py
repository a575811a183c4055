"""Lab 09 "Put arrange in the workflow": an execution's output carries the assignment and the
company's phone gets the job."""
from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

from checks.lab08 import STACK
from checks.runner import Context, check_for
from gluelab import twilio_local
from gluelab.config import client

WAIT_S = 60
# Ofcom's range for drama (+44 7700 900xxx): never a real phone, apart from the attendee's.
CHECK_HANDSET = "+447700900190"


def state_machine_arn() -> str:
    cloudformation = client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    except cloudformation.exceptions.ClientError:
        raise AssertionError(f"the stack {STACK} is not deployed") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    assert "StateMachineArn" in outputs, f"the stack {STACK} has no StateMachineArn output"
    return outputs["StateMachineArn"]


def sample_report(lab: str, category: str = "LIFT", city: str = "Roma",
                  text: str = "stuck between floors 3 and 4, Via Roma 12") -> dict:
    """A report as the receiver builds it, with an id of its own (used as the execution name)."""
    return {"reportId": f"check{lab}-{uuid.uuid4().hex[:12]}", "reporter": CHECK_HANDSET,
            "category": category, "text": text, "city": city,
            "receivedAt": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def run_workflow(report: dict) -> dict:
    """Start an execution named after the report, wait for it to finish, return its description."""
    sfn = client("stepfunctions")
    arn = sfn.start_execution(stateMachineArn=state_machine_arn(), name=report["reportId"],
                              input=json.dumps(report))["executionArn"]
    deadline = time.monotonic() + WAIT_S
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"the execution {report['reportId']} still runs after {WAIT_S} s"
        time.sleep(0.25)
    return execution


def history_events(execution: dict) -> list[dict]:
    sfn = client("stepfunctions")
    pages = sfn.get_paginator("get_execution_history").paginate(executionArn=execution["executionArn"])
    return [event for page in pages for event in page["events"]]


def entered_states(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def why_failed(execution: dict) -> str:
    """The error and cause of a failed execution, in one line."""
    events = history_events(execution)
    failed = [e for e in events if e["type"] == "ExecutionFailed"]
    details = failed[-1].get("executionFailedEventDetails", {}) if failed else {}
    return f"{details.get('error', '?')}: {details.get('cause', '')}"[:300]


def succeeded(execution: dict) -> dict:
    """The parsed output of an execution that must have succeeded."""
    assert execution["status"] == "SUCCEEDED", (
        f"the execution ended {execution['status']} ({why_failed(execution)})")
    return json.loads(execution["output"])


def texts_to(number: str) -> list[str]:
    return [message.body for message in twilio_local.messages(to=number, limit=50)]


@check_for("09", "The execution output carries the report and the assignment",
           hint="Give Arrange \"ResultPath\": \"$.assignment\" (without it the result replaces the "
                "report), add the ArrangeFunctionArn substitution and the LambdaInvokePolicy for "
                "ArrangeFunction, then deploy again.")
def assignment_in_output(ctx: Context) -> str:
    report = sample_report("09")
    output = succeeded(run_workflow(report))
    assert isinstance(output, dict) and "assignment" in output, (
        f"the output has no 'assignment': {json.dumps(output)[:200]}")
    missing = sorted(key for key in ("reportId", "category", "text", "reporter") if key not in output)
    assert not missing, f"the output lost the report's {', '.join(missing)}"
    company = output["assignment"].get("company")
    assert company == "Elevatori Capitale", f"the assignment names {company!r}, not Elevatori Capitale"
    return company


@check_for("09", "The company's phone got the job",
           hint="NotifyCompany's Parameters must be {\"to.$\": \"$.assignment.phone\", \"body.$\": "
                "States.Format('Fixit job {}: ...', $.reportId, ...)}, and its ResultPath must not "
                "replace the report.")
def company_notified(ctx: Context) -> str:
    report = sample_report("09")
    succeeded(run_workflow(report))
    jobs = [text for text in texts_to("+15555550112") if report["reportId"] in text]
    assert jobs, f"no text to Elevatori Capitale (+15555550112) mentions {report['reportId']}"
    assert jobs[0].startswith(f"Fixit job {report['reportId']}: LIFT problem"), (
        f"the job text is {jobs[0]!r}")
    return "Elevatori Capitale, +15555550112"
