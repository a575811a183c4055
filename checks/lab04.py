"""Lab 04 "Send a notification from a Lambda": the notify function sends exactly one SMS."""
from __future__ import annotations

import json
import uuid

from checks.runner import Context, check_for
from gluelab import config, twilio_local
from gluelab.lab import STACK

# Ofcom's range for drama (+44 7700 900xxx): never a real phone.
TEST_HANDSET = "+447700900404"


def function_name(logical_id: str) -> str:
    """The deployed name of one of the stack's functions."""
    cloudformation = config.client("cloudformation")
    try:
        return cloudformation.describe_stack_resource(
            StackName=STACK, LogicalResourceId=logical_id)["StackResourceDetail"]["PhysicalResourceId"]
    except cloudformation.exceptions.ClientError:
        raise AssertionError(f"the stack {STACK} has no {logical_id}: deploy the template "
                             "with it first") from None


def invoke(name: str, payload: dict) -> dict:
    reply = config.client("lambda").invoke(FunctionName=name, Payload=json.dumps(payload))
    result = json.loads(reply["Payload"].read() or b"null")
    if reply.get("FunctionError"):
        raise AssertionError(f"the function failed: {result.get('errorType')}: "
                             f"{result.get('errorMessage')}")
    return result


@check_for("04", "NotifyFunction is deployed",
           hint="Run the %%sam cell with NotifyFunction, then the deploy cell.")
def deployed(ctx: Context) -> str:
    function_name("NotifyFunction")
    return ""


@check_for("04", "Invoking NotifyFunction sends exactly one SMS, with the body asked for, from the Fixit number",
           hint="Fill the blank in send_sms with client.messages.create(to=to, from_=from_, body=body), "
                "give the function the three SSM read policies, run both cells and deploy again.")
def one_sms(ctx: Context) -> str:
    name = function_name("NotifyFunction")
    body = f"Lab 04 check {uuid.uuid4().hex[:8]}"
    result = invoke(name, {"to": TEST_HANDSET, "body": body})
    assert isinstance(result, dict) and result.get("sid"), f"the function returned {result!r}, not a message"
    sent = [m for m in twilio_local.messages(to=TEST_HANDSET, limit=200) if m.body == body]
    assert len(sent) == 1, f"{len(sent)} messages with the body {body!r} reached {TEST_HANDSET}, not 1"
    fixit = twilio_local.credentials().phone_number
    assert sent[0].from_ == fixit, f"the SMS came from {sent[0].from_}, not the Fixit number {fixit}"
    assert sent[0].sid == result["sid"], "the SID the function returned is not the SID of the SMS sent"
    return f"one SMS to {TEST_HANDSET}"


@check_for("04", "A request without a body fails with a message that names what is missing",
           hint="Keep notification() as given: it checks the input before anything is sent.")
def missing_body(ctx: Context) -> str:
    try:
        invoke(function_name("NotifyFunction"), {"to": TEST_HANDSET})
    except AssertionError as exc:
        assert "missing body" in str(exc), str(exc)
        return ""
    raise AssertionError("the function accepted a request without a body")
