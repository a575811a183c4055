"""Lab 06 "Bind the receiver to Step Functions": one text, one execution named after it."""
from __future__ import annotations

import re
import time
import uuid

import requests

from checks.fixit import STACK, denial_in_log, messages_to, physical_id
from checks.runner import Context, check_for
from checks.lab03 import first_message, post_text  # the webhook posted to as Twilio would
from gluelab import config, twilio_local

# Step Functions refuses execution names longer than 80 characters or holding any of these.
REFUSED_IN_NAMES = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")

# Ofcom's range for drama (+44 7700 900xxx): never a real phone.
TEST_HANDSET = "+447700900606"
_run: dict = {}


def state_machine_arn() -> str:
    return physical_id("FixitStateMachine", f"the stack {STACK} has no FixitStateMachine: restore lab 05")


def executions_named(machine: str, name: str) -> list[dict]:
    pages = config.client("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=machine)
    return [e for page in pages for e in page["executions"] if e["name"] == name]


def run_once() -> dict:
    """A report texted from the test handset, then its webhook delivered a second time."""
    if "sid" not in _run:
        sent = twilio_local.text_app(TEST_HANDSET, "WATER leak under the sink, Via Po 3",
                                     from_city="TORINO")
        sid = sent["message"]["sid"]
        delivery = twilio_local.delivery(sid)
        if delivery["error"]:
            receiver = physical_id("ReceiverFunction", f"the stack {STACK} has no ReceiverFunction")
            denial = denial_in_log(receiver)
            assert denial is None, (
                f"the receiver's log shows AWS refusing it: {denial.group(0)}. Give "
                f"ReceiverFunction the policy for {denial['action']} (for states:StartExecution: "
                f"StepFunctionsExecutionPolicy with StateMachineName: !GetAtt FixitStateMachine.Name)")
        assert not delivery["error"], f"the webhook delivery failed: {delivery['error']['message']}"
        again = requests.post(delivery["url"], data=delivery["params"],
                              headers={"X-Twilio-Signature": delivery["signature"]}, timeout=30)
        _run.update(sid=sid, sent=sent, again=again)
    return _run


@check_for("06", "A good report starts one execution, named after its MessageSid",
           hint="Fill start_workflow (start_execution with name=message_sid and the input as "
                "JSON), give ReceiverFunction STATE_MACHINE_ARN and the StepFunctionsExecutionPolicy, "
                "run both cells and deploy.")
def one_execution(ctx: Context) -> str:
    _run.clear()
    run = run_once()
    machine = state_machine_arn()
    named = executions_named(machine, run["sid"])
    for _ in range(50):  # the execution is started before the reply; allow the list to catch up
        if named:
            break
        time.sleep(0.1)
        named = executions_named(machine, run["sid"])
    assert named, f"no execution is named {run['sid']}: the receiver did not start the workflow"
    return ""


@check_for("06", "Delivering the same webhook twice still gives exactly one execution, and both get a 200",
           hint="Catch stepfunctions.exceptions.ExecutionAlreadyExists in start_workflow and "
                "return False: the second delivery must be answered like the first.")
def idempotent(ctx: Context) -> str:
    run = run_once()
    assert run["again"].status_code == 200, (
        f"the second delivery got HTTP {run['again'].status_code}: {run['again'].text[:200]}")
    count = len(executions_named(state_machine_arn(), run["sid"]))
    assert count == 1, f"{count} executions are named {run['sid']}"
    return ""


@check_for("06", "The workflow texts the reporter about that report",
           hint="The execution input must carry reporter, category, text and reportId as the "
                "final receiver builds them; look at the execution's history for the error.")
def reporter_texted(ctx: Context) -> str:
    run = run_once()
    for _ in range(100):
        texts = [m.body for m in messages_to(TEST_HANDSET)
                 if run["sid"] in m.body and m.from_ == twilio_local.credentials().phone_number]
        workflow_texts = [t for t in texts if not t.startswith("Thanks!")]
        if workflow_texts:
            break
        time.sleep(0.1)
    assert len(workflow_texts) == 1, (f"{len(workflow_texts)} texts from the workflow about "
                                      f"{run['sid']} reached {TEST_HANDSET}, not 1")
    return ""


@check_for("06", "A request whose MessageSid is no valid execution name starts one execution under a derived name",
           hint="Keep execution_name as given: the handler must start the workflow under "
                "execution_name(params), not params['MessageSid'], and start_workflow must use the "
                "name it is given and return False on ExecutionAlreadyExists.")
def derived_name(ctx: Context) -> str:
    sid = f"SM:{uuid.uuid4().hex[:8]} retried"
    answers = [post_text("HEAT radiators cold in flat 2", sid=sid)[0] for _ in range(2)]
    for answer in answers:
        assert answer.status_code == 200, f"the webhook answered {answer.status_code}: {answer.text[:200]}"
    reply = first_message(answers[0])
    found = re.search(r"report \(([^)]*)\)", reply)
    assert found, f"the reply does not name the report: {reply!r}"
    name = found.group(1)
    assert 1 <= len(name) <= 80 and not REFUSED_IN_NAMES.search(name), (
        f"the report id {name!r} is not a name Step Functions accepts")
    count = len(executions_named(state_machine_arn(), name))
    assert count == 1, f"{count} executions are named {name} after two deliveries of the request"
    return "one execution, named report-<hash>" if name.startswith("report-") else "one execution"
