"""Lab 04 "Send a notification from a Lambda": the notify function sends exactly one SMS."""
from __future__ import annotations

import uuid

from checks.fixit import STACK, denial_in_log, invoke, messages_to, physical_id
from checks.runner import Context, check_for
from gluelab import twilio_local

# Ofcom's range for drama (+44 7700 900xxx): never a real phone.
TEST_HANDSET = "+447700900404"


def function_name(logical_id: str) -> str:
    """The deployed name of one of the stack's functions."""
    return physical_id(logical_id, f"the stack {STACK} has no {logical_id}: deploy the template "
                                   "with it first")


def notify(payload: dict) -> dict:
    """What the deployed notify function returns for `payload`; a failure if it raised."""
    error, result = invoke(function_name("NotifyFunction"), payload)
    if error:
        raise AssertionError(f"the function failed: {result.get('errorType')}: "
                             f"{result.get('errorMessage')}")
    return result


@check_for("04", "NotifyFunction is deployed",
           hint="Run the %%sam cell with NotifyFunction, then the deploy cell.")
def deployed(ctx: Context) -> str:
    function_name("NotifyFunction")
    return ""


@check_for("04", "NotifyFunction starts: its package has the twilio it imports",
           hint="Run the `%reference functions/notify/requirements.txt` cell, then deploy again. "
                "Lambda's Python runtime has boto3 but not twilio: the function's folder needs "
                "a requirements.txt naming twilio, whose packages the build puts into the "
                "function's package.")
def starts(ctx: Context) -> str:
    # An input without `to` fails in notification(), before anything is read or sent; a
    # missing package fails earlier, when Lambda imports app.py.
    error, result = invoke(function_name("NotifyFunction"), {})
    assert not (error and result.get("errorType") == "Runtime.ImportModuleError"), (
        f"the function cannot start: {result['errorType']}: {result['errorMessage']}")
    return ""


@check_for("04", "NotifyFunction's role may read its three Twilio parameters",
           hint="Under NotifyFunction's Policies, add one SSMParameterWithSlashPrefixReadPolicy per "
                "parameter, each ParameterName a !Ref to TwilioAccountSidParameter, "
                "TwilioAuthTokenParameter or TwilioPhoneNumberParameter, then deploy again.")
def may_read_parameters(ctx: Context) -> str:
    name = function_name("NotifyFunction")
    error, _ = invoke(name, {"to": TEST_HANDSET, "body": f"Lab 04 policy check {uuid.uuid4().hex[:8]}"})
    denial = denial_in_log(name) if error else None
    assert denial is None, (
        f"the function's log shows AWS refusing it: {denial.group(0)}. Its role lacks a read "
        f"policy for {denial['resource'].split(':parameter', 1)[-1]}")
    return ""


@check_for("04", "Invoking NotifyFunction sends exactly one SMS, with the body asked for, from the Fixit number",
           hint="Fill the blank in send_sms with client.messages.create(to=to, from_=from_, body=body), "
                "give the function the three SSM read policies, run both cells and deploy again.")
def one_sms(ctx: Context) -> str:
    body = f"Lab 04 check {uuid.uuid4().hex[:8]}"
    result = notify({"to": TEST_HANDSET, "body": body})
    assert isinstance(result, dict) and result.get("sid"), f"the function returned {result!r}, not a message"
    sent = [m for m in messages_to(TEST_HANDSET) if m.body == body]
    assert len(sent) == 1, f"{len(sent)} messages with the body {body!r} reached {TEST_HANDSET}, not 1"
    fixit = twilio_local.credentials().phone_number
    assert sent[0].from_ == fixit, f"the SMS came from {sent[0].from_}, not the Fixit number {fixit}"
    assert sent[0].sid == result["sid"], "the SID the function returned is not the SID of the SMS sent"
    return f"one SMS to {TEST_HANDSET}"


@check_for("04", "A request without a body fails with a message that names what is missing",
           hint="Keep notification() as given: it checks the input before anything is sent.")
def missing_body(ctx: Context) -> str:
    try:
        notify({"to": TEST_HANDSET})
    except AssertionError as exc:
        assert "missing body" in str(exc), str(exc)
        return ""
    raise AssertionError("the function accepted a request without a body")
