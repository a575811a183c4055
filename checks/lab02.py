"""Lab 02 "Implement the receiver Lambda": the API answers a posted form with TwiML."""
from __future__ import annotations

import base64
from urllib.parse import urlencode

import requests

from checks.fixit import STACK, bad_gateway, invoke, physical_id, stack_outputs, twiml_messages
from checks.runner import Context, Hinted, check_for

TEXT = "LIFT check from lab 02"


def _outputs() -> dict[str, str]:
    return stack_outputs(f"there is no stack {STACK}: run lab 01, or this lab's restore cell")


@check_for("02", "The stack has the outputs ApiUrl and WebhookUrl",
           hint="Run the `%%sam Outputs` cell, then the deploy cell.")
def outputs(ctx: Context) -> str:
    found = _outputs()
    missing = [key for key in ("ApiUrl", "WebhookUrl") if key not in found]
    assert not missing, f"missing: {', '.join(missing)}"
    return ""


@check_for("02", "POST /sms answers a form with 200 and a TwiML <Message> echoing the text",
           hint="Add the `Sms` event (Type: Api, Path: /sms, Method: post) and deploy; make the "
                "handler return statusCode 200, Content-Type text/xml and twiml(...) with the Body.")
def posts_answer_twiml(ctx: Context) -> str:
    url = _outputs().get("WebhookUrl")
    assert url, "there is no WebhookUrl output yet"
    reply = requests.post(url, data={"Body": TEXT, "From": "+393330000002", "MessageSid": "SM" + "2" * 32},
                          timeout=30)
    said = f"POST {url} answered {reply.status_code}: {reply.text[:200]}"
    if reply.status_code == 502:
        raise bad_gateway("ReceiverFunction", said, "_reply")
    assert reply.status_code == 200, said
    content_type = reply.headers.get("Content-Type", "")
    assert content_type.startswith("text/xml"), f"Content-Type is {content_type!r}, not text/xml"
    messages = twiml_messages(reply.text)
    assert messages, "the TwiML has no <Message>"
    assert TEXT in messages[0], f"the <Message> is {messages[0]!r}, without the text sent"
    return messages[0]


@check_for("02", "A base64-encoded form body is read as well",
           hint="In form_params, decode event['body'] with base64.b64decode(...).decode('utf-8') "
                "when event['isBase64Encoded'] is true, before parse_qsl.")
def base64_body(ctx: Context) -> str:
    name = physical_id("ReceiverFunction", "the stack has no ReceiverFunction")
    body = base64.b64encode(urlencode({"Body": "WATER in base64", "FromCity": ""}).encode()).decode()
    event = {"httpMethod": "POST", "path": "/sms", "headers": {}, "body": body, "isBase64Encoded": True}
    error, answer = invoke(name, event)
    assert error is None, f"the function failed: {answer.get('errorMessage', answer)}"
    if not isinstance(answer, dict):
        raise Hinted(f"the function returned {answer!r:.200}, not a proxy answer",
                     "Make handler return a dict with statusCode, headers and a string body, as "
                     "_reply builds it, run the app.py cell again and deploy again.")
    messages = twiml_messages(answer.get("body") or "")
    assert messages and "WATER in base64" in messages[0], \
        f"the answer does not echo the decoded text: {answer.get('body')!r}"
    return ""
