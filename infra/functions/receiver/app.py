"""POST /sms: Twilio's webhook for texts sent to the Fixit number.

A text such as `LIFT stuck between floors 3 and 4, Via Roma 12` becomes a report: the first
word names the category, the rest says what is wrong and where. A genuine, well-formed text
starts the Fixit workflow, named after Twilio's MessageSid, and is answered with a TwiML
acknowledgement; anything else gets a reply that says how to write a report. The signature is
checked before anything in the request is trusted, and no input, however malformed, makes the
function fail: it answers 4xx or a TwiML reply.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import parse_qsl

import boto3
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

# Keyword (first word of the text) -> category served by the companies in the Companies table.
CATEGORIES = {
    "LIFT": "LIFT", "ELEVATOR": "LIFT",
    "POWER": "POWER", "ELECTRICITY": "POWER", "LIGHT": "POWER",
    "WATER": "WATER", "LEAK": "WATER", "FLOOD": "WATER",
    "HEAT": "HEAT", "HEATING": "HEAT",
    "DOOR": "DOOR", "LOCK": "DOOR", "GATE": "DOOR",
    "GAS": "GAS",
}
# Three SMS segments (a long text travels in segments of 153 characters): longer texts are
# usually pasted by mistake, and a report stays readable when it is forwarded to the company.
MAX_BODY = 459
EXAMPLE = "LIFT stuck between floors 3 and 4, Via Roma 12"
HELP = (f"To report a problem, start with one of {', '.join(sorted(set(CATEGORIES.values())))}, "
        f"then say what is wrong and where. Example: {EXAMPLE}")
# Twilio's city names are short; a longer one is not a city, and is left out of the report.
MAX_CITY = 100
# A sender's address: a phone number in E.164 form, or a channel address such as whatsapp:+39...
MAX_ADDRESS = 64
# Characters XML 1.0 cannot carry (most control characters, lone surrogates, U+FFFE/U+FFFF):
# left in a TwiML reply they make it unreadable to Twilio (error 12100), and the sender gets nothing.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Step Functions refuses execution names over 80 characters or with whitespace, control
# characters or any of < > { } [ ] ? * " # % \ ^ | ~ ` $ & , ; : /. Twilio's MessageSids
# (SM + 32 hex digits) are made of these characters only.
EXECUTION_NAME = re.compile(r"[A-Za-z0-9_.-]{1,80}")


@dataclass(frozen=True)
class Report:
    category: str
    text: str
    city: str


@dataclass(frozen=True)
class ParseError:
    """Why a text is not a report, in words the sender can act on."""
    reply: str


def parse_report(body: str, city: str = "") -> Report | ParseError:
    """The report in an SMS body, or what is wrong with the text."""
    body = " ".join(NOT_XML.sub(" ", body).split())
    if not body:
        return ParseError(f"Your message was empty. {HELP}")
    if len(body) > MAX_BODY:
        return ParseError(f"Your message has {len(body)} characters; keep a report under "
                          f"{MAX_BODY}. Example: {EXAMPLE}")
    keyword, _, text = body.partition(" ")
    category = CATEGORIES.get(keyword.strip(".,:;!-").upper())
    if category is None:
        return ParseError(f"Sorry, '{keyword}' is not a kind of problem we know. {HELP}")
    text = text.strip(" .,:;-")
    if not text:
        return ParseError(f"Please say what is wrong with the {category.lower()} and where. "
                          f"Example: {EXAMPLE}")
    city = " ".join(NOT_XML.sub(" ", city).split())
    return Report(category, text, city.title() if len(city) <= MAX_CITY else "")


def twiml(message: str) -> str:
    """A TwiML document answering the sender with one SMS (what XML cannot carry left out)."""
    response = MessagingResponse()
    response.message(NOT_XML.sub("", message))
    return str(response)


def form_params(event: dict) -> dict[str, str]:
    """The webhook's form fields exactly as Twilio signed them (blank fields included).

    Never fails: bytes that are not UTF-8 become U+FFFD, so that the signature check still runs
    (and refuses what Twilio, which sends UTF-8, did not sign); a body that is not base64 when
    it says it is counts as empty."""
    body = str(event.get("body") or "").encode("utf-8", errors="replace")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            body = b""
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True,
                          errors="replace"))


def signature_valid(auth_token: str, url: str, params: dict[str, str], signature: str) -> bool:
    return bool(signature) and RequestValidator(auth_token).validate(url, params, signature)


def header(event: dict, name: str) -> str:
    headers = event.get("headers") or {}
    return next((value for key, value in headers.items() if key.lower() == name.lower()), "")


def execution_name(params: dict[str, str]) -> str:
    """The MessageSid when Step Functions accepts it as a name, else a name derived from it.

    The derived name is a hash of the MessageSid (of every field when there is none), so that
    Twilio's retry of the same request still finds the execution its first delivery started."""
    message_sid = params.get("MessageSid", "")
    if EXECUTION_NAME.fullmatch(message_sid):
        return message_sid
    what = message_sid or json.dumps(sorted(params.items()))
    return "report-" + hashlib.sha256(what.encode("utf-8", errors="replace")).hexdigest()[:40]


def start_workflow(stepfunctions, state_machine_arn: str, name: str, workflow_input: dict) -> bool:
    """Start the execution named after the message; False when Twilio's retry finds it started."""
    try:
        stepfunctions.start_execution(stateMachineArn=state_machine_arn, name=name,
                                      input=json.dumps(workflow_input))
    except stepfunctions.exceptions.ExecutionAlreadyExists:
        return False
    return True


# --- AWS wiring -----------------------------------------------------------------------------

@functools.cache
def _client(service: str):
    return boto3.client(service)


@functools.cache
def parameter(name: str) -> str:
    """An SSM parameter's value, read once per execution environment."""
    ssm = _client("ssm")
    try:
        return ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    except ssm.exceptions.ParameterNotFound:
        raise RuntimeError(f"SSM parameter {name} does not exist. Put it there before texts "
                           f"arrive (see infra/README.md, 'Twilio set-up').") from None


def _reply(status: int, content_type: str, body: str) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}


def handler(event, context):
    params = form_params(event)
    url = parameter(os.environ["WEBHOOK_URL_PARAMETER"])
    token = parameter(os.environ["TWILIO_AUTH_TOKEN_PARAMETER"])
    if not signature_valid(token, url, params, header(event, "X-Twilio-Signature")):
        print(f"Rejected a request whose X-Twilio-Signature does not match {url}")
        return _reply(403, "text/plain", "Invalid Twilio signature")
    reporter = params.get("From", "")
    if not reporter or len(reporter) > MAX_ADDRESS or NOT_XML.search(reporter):
        return _reply(400, "text/plain", "The request has no usable From address to answer")
    parsed = parse_report(params.get("Body", ""), params.get("FromCity", ""))
    if isinstance(parsed, ParseError):
        return _reply(200, "text/xml", twiml(parsed.reply))
    report_id = execution_name(params)
    started = start_workflow(_client("stepfunctions"), os.environ["STATE_MACHINE_ARN"], report_id,
                             {"reportId": report_id, "reporter": reporter,
                              "category": parsed.category, "text": parsed.text, "city": parsed.city,
                              "receivedAt": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    print(f"Report {report_id}: {'workflow started' if started else 'already started'}")
    return _reply(200, "text/xml", twiml(
        f"Thanks! We got your {parsed.category.lower()} report ({report_id}) and are "
        f"finding a company: we will text you when one is on the way."))
