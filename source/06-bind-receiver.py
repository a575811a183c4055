# %% [markdown]
# # Lab 06 · Bind the receiver to Step Functions
#
# Until now a text reached the receiver and stopped there; the workflow ran only when you
# started it by hand. In this lab you connect the two: every good report starts the workflow.
# By the end you will:
#
# - have a receiver that starts one execution per text, named after Twilio's `MessageSid`;
# - know why Twilio may deliver the same text twice, and how the execution name makes a second
#   delivery harmless (idempotency);
# - have texted Fixit from your phone and watched the workflow answer you;
# - have delivered the same signed webhook twice and counted one execution.
#
# **Time:** about 30 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("06")
lab.restore()

# %% [markdown]
# ## See where the receiver hands over
#
# ```mermaid
# flowchart LR
#     phone["Reporter's phone"] -- SMS --> twilio["Twilio"]
#     twilio -- "signed webhook<br>MessageSid=SM..." --> api["API Gateway<br>POST /sms"]
#     api --> receiver["Receiver<br>Lambda"]
#     receiver -- "StartExecution<br>name = MessageSid" --> sfn["Fixit workflow"]
#     receiver -- "TwiML: thanks" --> twilio
#     sfn --> notify["NotifyReporter"] -- SMS --> phone
# ```
#
# The receiver must answer Twilio quickly with TwiML, so it does not wait for the workflow: it
# *starts* an execution, with the parsed report as input, and replies at once. Step Functions
# runs the rest on its own time.

# %% [markdown]
# ## Understand why the same text can arrive twice
#
# Twilio waits a limited time for your webhook's answer (15 seconds) and may send the same
# request again, with the **same `MessageSid`**: by default once, when it cannot connect; with a
# connection override on the URL (such as `#rc=2&rp=ct,rt,5xx`) also after a late answer or a
# 5xx. The local stand-in follows the same rules, overrides included: add `#rc=1&rp=rt,5xx` to
# the webhook URL to watch it retry after a late answer or a 5xx. Your
# first attempt may well have done its work before it was too slow to answer: a cold start plus
# a slow call is enough. Without care, one text would then start two workflows and text the
# company twice.
#
# The fix costs nothing: name the execution after the `MessageSid`. Step Functions keeps
# execution names unique per state machine, so the second `StartExecution` with the same name
# fails with `ExecutionAlreadyExists`. (If the input is identical and the first execution is
# still running, Step Functions returns that execution instead of an error.) Either way there is
# one execution, and for the receiver `ExecutionAlreadyExists` simply means "already done": it
# answers Twilio as if it had just started it.
#
# An operation that gives the same result however many times you repeat it is **idempotent**.
# Making webhook handlers idempotent is the rule, not the exception, because every webhook
# sender retries.

# %% [markdown]
# ## Make sure every name is one Step Functions accepts
#
# An execution name has rules: 1 to 80 characters, and none of whitespace, control characters,
# the backtick or `< > { } [ ] ? * " # % \ ^ | ~ $ & , ; : /`. A name that breaks them makes
# `StartExecution` fail, your function crash, and the sender get nothing but an error. Twilio's
# own `MessageSid` (`SM` and 32 hex digits) always fits, but the webhook's address is public:
# a request may carry no `MessageSid`, an empty one, or one a thousand characters long. The
# signature check stops strangers, not every mistake of a client you trust.
#
# So the receiver does not pass the `MessageSid` on blindly. `execution_name` keeps it when it
# fits, and otherwise derives a name from it: `report-` and a SHA-256 hash, the same for the
# same request every time. The hash matters: a retry of that request must get the same name,
# or idempotency is gone.

# %% [markdown]
# ## Finish the receiver
#
# This is the receiver's final version. Compared with lab 03, `handler()` now answers `400`
# when the request has no sender to reply to, builds the workflow input (the fields you used in
# lab 05: `reportId`, `reporter`, `category`, `text`, `city`, `receivedAt`), calls
# `start_workflow` under the name `execution_name` gives it, then thanks the sender with the
# report id.
#
# **Your task:** write `start_workflow`. Start an execution of `state_machine_arn` called
# `name`, with `workflow_input` as JSON text; return `True` when it started. When Step Functions
# raises `stepfunctions.exceptions.ExecutionAlreadyExists`, return `False`.

# %%
%%save functions/receiver/app.py
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
    # BEGIN SOLUTION
    try:
        stepfunctions.start_execution(stateMachineArn=state_machine_arn, name=name,
                                      input=json.dumps(workflow_input))
    except stepfunctions.exceptions.ExecutionAlreadyExists:
        return False
    return True
    # END SOLUTION


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

# %% [markdown]
# ## Give the receiver the machine's ARN and the right to start it
#
# The handler reads the machine's ARN from `STATE_MACHINE_ARN`; `!Ref FixitStateMachine`
# gives it. SAM's `StepFunctionsExecutionPolicy` allows `states:StartExecution` on one state
# machine; its one key, `StateMachineName`, takes `!GetAtt FixitStateMachine.Name`.
#
# **Your task:** add the `STATE_MACHINE_ARN` variable and the policy.

# %%
%%sam Resources
ReceiverFunction:
  Type: AWS::Serverless::Function
  Properties:
    Description: Twilio SMS webhook; checks the signature, parses the report, starts the workflow.
    CodeUri: functions/receiver/
    Environment:
      Variables:
        # BEGIN SOLUTION
        STATE_MACHINE_ARN: !Ref FixitStateMachine
        # END SOLUTION
        WEBHOOK_URL_PARAMETER: !Ref WebhookUrlParameter
        TWILIO_AUTH_TOKEN_PARAMETER: !Ref TwilioAuthTokenParameter
    Policies:
      # BEGIN SOLUTION
      - StepFunctionsExecutionPolicy:
          StateMachineName: !GetAtt FixitStateMachine.Name
      # END SOLUTION
      - SSMParameterWithSlashPrefixReadPolicy:
          ParameterName: !Ref WebhookUrlParameter
      - SSMParameterWithSlashPrefixReadPolicy:
          ParameterName: !Ref TwilioAuthTokenParameter
    Events:
      Sms:
        Type: Api
        Properties:
          Path: /sms
          Method: post

# %% [markdown]
# ## Deploy

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: text Fixit
#
# Your simulated handset texts the Fixit number. Twilio signs the webhook, the receiver checks
# the signature, starts the workflow and answers with TwiML, which Twilio sends back to you.

# %% tags=["needs-task"]
from gluelab import twilio_local
from gluelab.config import client, my_phone
from gluelab.tryit import TryItFailed, expect, replies

MY_PHONE = my_phone()
sent = twilio_local.text_app(MY_PHONE, "LIFT stuck between floors 3 and 4, Via Roma 12", from_city="ROMA")
message_sid = sent["message"]["sid"]
for reply in replies(sent):  # a webhook that failed says why, with the receiver's logged error
    print("reply:", reply)

# %% [markdown]
# ## Find the execution named after the message
#
# No need to search: the execution's ARN is the machine's ARN with `:execution:` and the
# `MessageSid` as its name. Wait for it to finish.

# %% tags=["needs-task"]
import json
import time

sfn = client("stepfunctions")
execution_arn = outputs["StateMachineArn"].replace(":stateMachine:", ":execution:") + ":" + message_sid
try:
    execution = sfn.describe_execution(executionArn=execution_arn)
except sfn.exceptions.ExecutionDoesNotExist:
    raise TryItFailed(f"No execution is named {message_sid}: start_workflow must start it with "
                      "name=name. Fix it, deploy again and run the cells from the text on.") from None
while execution["status"] == "RUNNING":
    time.sleep(0.2)
    execution = sfn.describe_execution(executionArn=execution_arn)
print(execution["name"] == message_sid, execution["status"])
print("input:", json.dumps({k: v for k, v in json.loads(execution["input"]).items() if k != "receivedAt"}))

# %% [markdown]
# The diagram, coloured by this execution:

# %% tags=["needs-task"]
from gluelab import executions

executions.machine_diagram(outputs["StateMachineArn"], execution_arn)

# %% [markdown]
# And the text the workflow sent you. Your phone got two texts about this report, the
# receiver's reply and the workflow's, in either order (they race, on Twilio too), so pick the
# workflow's by its opening words:

# %% tags=["needs-task"]
received = twilio_local.messages(to=MY_PHONE, limit=2)
workflow_text = next((text for text in received if text.body.startswith("We got your")), None)
if workflow_text is None:
    raise TryItFailed(f"The workflow has not texted you: the execution above is {execution['status']}. "
                      "Read its diagram, fix what failed and run the cells from the text on.")
print(f"{workflow_text.from_} -> {workflow_text.to}: {workflow_text.body}")

# %% [markdown]
# ## Deliver the same text twice
#
# Play Twilio retrying: send the *same* signed request to the webhook again. The stand-in kept
# what it delivered: the URL, the form fields and the `X-Twilio-Signature`. The signature is
# still valid (it covers only the URL and the fields), so the receiver accepts the request,
# tries to start an execution named after the same `MessageSid`, and gets
# `ExecutionAlreadyExists`.

# %% tags=["needs-task"]
import requests

first = twilio_local.delivery(message_sid)
again = requests.post(first["url"], data=first["params"],
                      headers={"X-Twilio-Signature": first["signature"]}, timeout=30)
expect(again, 200)  # a 5xx shows the receiver's logged error
print("second delivery:", again.status_code, again.headers["Content-Type"])

# %% [markdown]
# Count the executions with that name: still one.

# %% tags=["needs-task"]
named = [e for e in sfn.list_executions(stateMachineArn=outputs["StateMachineArn"])["executions"]
         if e["name"] == message_sid]
print(len(named), "execution named", message_sid)

# %% [markdown]
# The receiver's log says what happened on each delivery: `workflow started`, then
# `already started`.

# %% tags=["nbval-ignore-output"]
from gluelab.logs import function_logs

receiver_name = client("cloudformation").describe_stack_resource(
    StackName="fixit", LogicalResourceId="ReceiverFunction")["StackResourceDetail"]["PhysicalResourceId"]
function_logs(receiver_name, limit=2)

# %% [markdown]
# ## Text Fixit from the phone
#
# Type a report in the handset below and press Send; the thanks comes back from the receiver,
# the second text from the workflow. Try a bad one too (`HELLO`): it gets the help reply and
# starts nothing.

# %% tags=["nbval-ignore-output"]
from gluelab.phone import Phone

Phone(MY_PHONE)

# %% [markdown]
# ## Run the checks for this lab
#
# The checks text Fixit from a test handset, deliver the same webhook a second time, and count
# the executions named after the message. Then they post a signed request whose `MessageSid`
# has a colon and a space in it, twice, and expect one execution under a derived name.

# %% tags=["check"]
from checks import check

check("06")

# %% [markdown]
# ## What you did, and how it runs for real
#
# Your receiver now starts the workflow for every good report, under a name that makes Twilio's
# retries harmless, and the workflow texts the reporter back.
#
# - **On real AWS** execution names of Standard workflows stay taken for 90 days after the
#   execution closes, which covers any retry window. Express workflows do not keep names, so
#   they would need another guard (a conditional write to DynamoDB keyed by `MessageSid`).
#   API Gateway can also start executions itself, through its direct Step Functions
#   integration, with no Lambda in between; Fixit keeps the receiver because it must check Twilio's signature and
#   answer in TwiML.
# - **On real Twilio** every webhook request carries the `I-Twilio-Idempotency-Token` header,
#   the same on retries; the `MessageSid` serves the same purpose here. In the console,
#   *Monitor → Logs → Errors* lists webhook failures such as error 11200 (the webhook did not answer
#   in time or answered with an error).
#
# Next, in **lab 07**, you add the Companies table the workflow will search.
