"""Lab 03 "Extend the receiver": forged requests refused, bad texts helped, good ones understood."""
from __future__ import annotations

import uuid

import requests
from twilio.request_validator import RequestValidator

from checks.fixit import output, stack_outputs, twiml_messages
from checks.runner import Context, check_for
from gluelab import config, twilio_local

HANDSET = "+393330000003"
NO_STACK = "there is no stack fixit: run this lab's restore cell"


def post_text(body: str, signed: bool = True, sid: str = "") -> tuple[requests.Response, str]:
    """POST a text to the webhook as Twilio would (signed with the account's token), or forged;
    `sid` is the MessageSid to send (a fresh one by default)."""
    url = output("WebhookUrl", NO_STACK, "the stack has no WebhookUrl output: run lab 02 first")
    creds = twilio_local.credentials()
    sid = sid or "SM" + uuid.uuid4().hex
    params = {"Body": body, "From": HANDSET, "To": creds.phone_number, "MessageSid": sid,
              "AccountSid": creds.account_sid, "FromCity": "ROMA", "NumMedia": "0"}
    signature = (RequestValidator(creds.auth_token).compute_signature(url, params) if signed
                 else "bm90IGZyb20gVHdpbGlv")
    return requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=30), sid


def first_message(reply: requests.Response) -> str:
    """The text of the first <Message> in a 200 TwiML answer."""
    assert reply.status_code == 200, f"the webhook answered {reply.status_code}: {reply.text[:200]}"
    messages = twiml_messages(reply.text)
    assert messages, "the TwiML has no <Message>"
    return messages[0]


@check_for("03", "A request with a forged signature gets 403 and starts nothing",
           hint="A 502 means the function crashed before answering: `gluelab logs` with "
                "ReceiverFunction's name shows why (a KeyError names an environment variable "
                "missing from the template). Otherwise: in handler, return _reply(403, "
                "'text/plain', 'Invalid Twilio signature') when signature_valid(...) is false; signature_valid must return False for an empty "
                "or wrong signature. Then deploy.")
def forged_refused(ctx: Context) -> str:
    reply, sid = post_text("LIFT forged by the lab 03 check", signed=False)
    assert reply.status_code == 403, f"the forged request got {reply.status_code}: {reply.text[:200]}"
    garbled = requests.post(output("WebhookUrl", NO_STACK, "the stack has no WebhookUrl output"),
                            data=b"Body=LIFT+\xff\xfe+stuck&From=%2B393330000003", timeout=30,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert garbled.status_code == 403, (
        f"an unsigned request whose body is not UTF-8 got {garbled.status_code}, not 403: "
        f"{garbled.text[:200]}; decode the body with errors=\"replace\" so that the signature check runs")
    machine = stack_outputs(NO_STACK).get("StateMachineArn")
    if machine:  # from lab 06 on, a refused request must not start the workflow
        executions = config.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
        assert sid not in [e["name"] for e in executions], "the forged request started a workflow"
    return ""


@check_for("03", "Texts that are not reports get a reply that explains the format",
           hint="parse_report must return ParseError(...) for an empty text, a text over MAX_BODY "
                "characters and an unknown keyword; the handler answers its reply in TwiML. The "
                "replies must name the unknown keyword and the categories, and contain \"empty\" "
                "for an empty text and \"characters\" for a long one.")
def bad_format(ctx: Context) -> str:
    unknown = first_message(post_text("PIZZA margherita please")[0])
    assert "PIZZA" in unknown and "LIFT" in unknown, f"the reply to an unknown keyword is {unknown!r}"
    empty = first_message(post_text("   ")[0])
    assert "empty" in empty.lower(), f"the reply to an empty text is {empty!r}"
    long = first_message(post_text("WATER " + "drip " * 120)[0])
    assert "characters" in long, f"the reply to an overlong text is {long!r}"
    return ""


@check_for("03", "A good report is answered with its category and description",
           hint="parse_report must return Report(category, text, city) for a known keyword "
                "(in any case, ignoring punctuation after it) followed by a description; start "
                "from the text with NOT_XML's characters turned into spaces.")
def good_report(ctx: Context) -> str:
    text = "stuck between floors 3 and 4, Via Roma 12"
    answer = first_message(post_text(f"Elevator: {text}")[0])
    assert "lift" in answer.lower(), f"the reply does not name the category LIFT: {answer!r}"
    assert text in answer, f"the reply does not repeat the description: {answer!r}"
    # Control characters a phone can send, which XML 1.0 cannot carry: the reply must still parse.
    garbled = first_message(post_text("LIFT stuck\x00 on floor\x1b 2")[0])
    assert "stuck on floor 2" in garbled, f"the reply to a text with control characters is {garbled!r}"
    return answer
