"""Lab 02 "Implement the receiver Lambda": the API answers a posted form with TwiML."""
from __future__ import annotations

import base64
import json
from urllib.parse import urlencode
from xml.etree import ElementTree

import requests

from checks.runner import Context, check_for
from gluelab import config

STACK = "fixit"
TEXT = "LIFT check from lab 02"


def _outputs() -> dict[str, str]:
    cfn = config.client("cloudformation")
    try:
        stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    except cfn.exceptions.ClientError:
        raise AssertionError(f"there is no stack {STACK}: run lab 01, or this lab's restore cell") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _messages(twiml: str) -> list[str]:
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError:
        raise AssertionError(f"the answer is not XML: {twiml[:120]!r}") from None
    assert root.tag == "Response", f"the XML's root is <{root.tag}>, not <Response>"
    return [element.text or "" for element in root.iter("Message")]


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
    assert reply.status_code == 200, f"POST {url} answered {reply.status_code}: {reply.text[:200]}"
    content_type = reply.headers.get("Content-Type", "")
    assert content_type.startswith("text/xml"), f"Content-Type is {content_type!r}, not text/xml"
    messages = _messages(reply.text)
    assert messages, "the TwiML has no <Message>"
    assert TEXT in messages[0], f"the <Message> is {messages[0]!r}, without the text sent"
    return messages[0]


@check_for("02", "A base64-encoded form body is read as well",
           hint="In form_params, decode event['body'] with base64.b64decode(...).decode('utf-8') "
                "when event['isBase64Encoded'] is true, before parse_qsl.")
def base64_body(ctx: Context) -> str:
    cfn = config.client("cloudformation")
    try:
        name = cfn.describe_stack_resource(StackName=STACK, LogicalResourceId="ReceiverFunction")[
            "StackResourceDetail"]["PhysicalResourceId"]
    except cfn.exceptions.ClientError:
        raise AssertionError("the stack has no ReceiverFunction") from None
    body = base64.b64encode(urlencode({"Body": "WATER in base64", "FromCity": ""}).encode()).decode()
    event = {"httpMethod": "POST", "path": "/sms", "headers": {}, "body": body, "isBase64Encoded": True}
    reply = config.client("lambda").invoke(FunctionName=name, Payload=json.dumps(event))
    answer = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, f"the function failed: {answer.get('errorMessage', answer)}"
    messages = _messages(answer.get("body") or "")
    assert messages and "WATER in base64" in messages[0], \
        f"the answer does not echo the decoded text: {answer.get('body')!r}"
    return ""
