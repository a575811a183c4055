# %% [markdown]
# # Lab 03 · Extend the receiver: signatures, parsing, input errors
#
# Your receiver answers anyone who posts to its address, and echoes whatever it gets. In this
# lab it becomes the front desk Fixit needs. By the end you will:
#
# - know how Twilio signs its webhook requests, and the usual ways a check of that signature
#   goes wrong behind API Gateway;
# - have rejected forged requests with `403`, using the official `RequestValidator`;
# - have read a report's category keyword and description out of a text;
# - have answered empty, overlong and unknown texts with a reply that says how to write one,
#   so that no input can crash the function;
# - have given the function its configuration through template parameters and Parameter Store.
#
# **Time:** about 35 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("03")
lab.restore()

# %% [markdown]
# ## Learn how Twilio signs a request
#
# Your webhook's address is public, so anybody can post a form to it. Twilio proves that a
# request is its own with the header `X-Twilio-Signature`:
#
# 1. Take the **full URL** Twilio posted to, exactly as configured on the number.
# 2. Append every POST field, **sorted by name**, as name followed by value (blank values too).
# 3. Compute an HMAC-SHA1 of that string with your account's **auth token** as the key, and
#    encode it in base64.
#
# Only Twilio and you know the token, so only Twilio can produce a matching signature, and
# changing any field or the URL breaks it. Your function repeats the computation and compares.
# `twilio.request_validator.RequestValidator(token).validate(url, params, signature)` does all
# of it (with a constant-time comparison).
#
# ```mermaid
# flowchart LR
#     req["POST /sms<br>form + X-Twilio-Signature"] --> sig{"signature<br>valid?"}
#     sig -- no --> r403["403 Invalid Twilio signature"]
#     sig -- yes --> parse{"a report?"}
#     parse -- no --> help["200 TwiML: how to write a report"]
#     parse -- yes --> ok["200 TwiML: your report, understood"]
#     ssm[("Parameter Store<br>webhook URL, auth token")] -.-> sig
# ```

# %% [markdown]
# ## See the ways a signature check goes wrong
#
# The hard part is step 1: the URL. Behind API Gateway, the function sees a path such as `/sms`
# without the stage, a host that may be a custom domain, and perhaps a base64 body. Rebuilding
# "the URL Twilio used" from the event is fragile, so Fixit reads it from Parameter Store
# (`/fixit/twilio/webhook_url`, which you stored in lab 02b).
#
# Send one text, then compare the signature Twilio sent with what a receiver computes when it
# makes each classic mistake. Only the correct request matches.

# %%
from gluelab import twilio_local
from gluelab.config import my_phone
from gluelab.phone import signature_pitfalls

MY_PHONE = my_phone()  # the number you saved in lab 00
delivery = twilio_local.text_app(MY_PHONE, "LIFT stuck between floors 3 and 4")["delivery"]
token = twilio_local.credentials().auth_token  # used here, never printed
for pitfall in signature_pitfalls(delivery, token):
    verdict = "matches" if pitfall["signature"] == delivery["signature"] else "differs"
    print(f"{verdict:<8} {pitfall['mistake']}")

# %% [markdown]
# The phone shows the same comparison with the signed string in full: press **Show signature**
# after sending a text.

# %% tags=["nbval-ignore-output"]
from gluelab.phone import Phone

phone = Phone(MY_PHONE)
phone.send("LIFT stuck between floors 3 and 4")
phone.show_signature()
phone

# %% [markdown]
# ## Give the function its configuration
#
# The receiver needs two values at run time: the webhook URL and the auth token. The token is a
# secret, so it lives in Parameter Store as a `SecureString`, never in the template or in git.
# The template only names the parameters, through two **template parameters** with default
# names; someone deploying a second copy of Fixit can pass other names.
#
# This setup cell stores the Twilio account SID, auth token and number under `/fixit/twilio/`.

# %% tags=["setup"]
from gluelab.twilio_local import store_credentials

store_credentials()

# %% [markdown]
# Add the two parameters to the template.

# %%
%%sam Parameters
WebhookUrlParameter:
  Type: String
  Default: /fixit/twilio/webhook_url
  AllowedPattern: ^/.+
  Description: >
    SSM parameter holding the public URL Twilio posts texts to (the WebhookUrl output), which
    Twilio signs and the receiver checks signatures against.
TwilioAuthTokenParameter:
  Type: String
  Default: /fixit/twilio/auth_token
  AllowedPattern: ^/.+
  Description: SSM SecureString parameter holding the Twilio auth token.

# %% [markdown]
# Now the function. It gets the parameter **names** as environment variables, and permission
# to read exactly those parameters: `SSMParameterWithSlashPrefixReadPolicy` is a SAM policy
# template that expands into an IAM policy for one parameter name (names that start with `/`).
# Complete `Environment` (variables `WEBHOOK_URL_PARAMETER` and `TWILIO_AUTH_TOKEN_PARAMETER`,
# each `!Ref` to its template parameter) and `Policies` (one read policy per parameter).
# `Policies` is a list; each entry looks like `- SSMParameterWithSlashPrefixReadPolicy:` with
# `ParameterName: !Ref WebhookUrlParameter` indented under it.
#
# Environment variables are not properties of their own: SAM wants them two levels down,
# under `Environment:` then `Variables:`, one `NAME: value` per line. For example, with a
# made-up variable:
#
# ```yaml
#     Environment:
#       Variables:
#         GREETING: !Ref GreetingParameter
# ```

# %%
%%sam Resources
ReceiverFunction:
  Type: AWS::Serverless::Function
  Properties:
    Description: Twilio SMS webhook; checks the signature and reads the report in the text.
    CodeUri: functions/receiver/
    # BEGIN SOLUTION
    Environment:
      Variables:
        WEBHOOK_URL_PARAMETER: !Ref WebhookUrlParameter
        TWILIO_AUTH_TOKEN_PARAMETER: !Ref TwilioAuthTokenParameter
    Policies:
      - SSMParameterWithSlashPrefixReadPolicy:
          ParameterName: !Ref WebhookUrlParameter
      - SSMParameterWithSlashPrefixReadPolicy:
          ParameterName: !Ref TwilioAuthTokenParameter
    # END SOLUTION
    Events:
      Sms:
        Type: Api
        Properties:
          Path: /sms
          Method: post

# %% [markdown]
# ## Check first, and never crash on what you are sent
#
# Anybody can post anything to a public address, so the receiver trusts nothing in a request
# until the signature says it came from Twilio, and it reads the request in a way that cannot
# fail on the way there:
#
# - **Bytes that are not UTF-8.** Twilio sends UTF-8, but a stranger need not. Decoding with
#   `errors="replace"` turns a bad byte into `�` instead of an exception, so the signature
#   check still runs, and refuses the request with `403`. Had the decoding raised, API Gateway
#   would have answered `502`, and the function would have crashed before it even checked who
#   was asking.
# - **What XML cannot carry.** A TwiML reply is an XML document, and XML 1.0 has no place for
#   most control characters (a text can hold a `\x00` or an escape character). Echo one back
#   and Twilio cannot read your reply (its error 12100), so the sender hears nothing. `NOT_XML`
#   matches those characters: `twiml` leaves them out of every reply, and `parse_report`
#   turns them into spaces before it reads the text.
# - **Fields too long to be what they claim.** A city of a thousand characters is not a city.
#
# The rule behind all three: for every input, the function answers, with a `4xx` or a reply
# that parses, and never with a `5xx`.

# %% [markdown]
# ## Write the receiver
#
# A report is a text such as `LIFT stuck between floors 3 and 4, Via Roma 12`: the first word
# is the **keyword**, mapped to a category by `CATEGORIES` (so `ELEVATOR` also means `LIFT`), the
# rest is the **description**. The file below has everything except three pieces:
#
# 1. `signature_valid`: true only when a signature was sent and `RequestValidator` accepts it.
# 2. `parse_report`: collapse spaces with `" ".join(body.split())`, then return a `ParseError`
#    whose reply says what to fix:
#    - empty: `f"Your message was empty. {HELP}"`;
#    - longer than `MAX_BODY`: `f"Your message has {len(body)} characters; keep a report under
#      {MAX_BODY}. Example: {EXAMPLE}"`;
#    - unknown keyword (compare in upper case, ignoring punctuation such as `LIFT:`):
#      `f"Sorry, '{keyword}' is not a kind of problem we know. {HELP}"`;
#    - no description: `f"Please say what is wrong with the {category.lower()} and where.
#      Example: {EXAMPLE}"`.
#
#    Otherwise let the function go on: the lines after your block clean up the city (so that
#    `ROMA` becomes `Roma`) and return the `Report(category, text, city)`.
# 3. In `handler`: when the signature is not valid, log one line and return
#    `_reply(403, "text/plain", "Invalid Twilio signature")`.
#
# Keep the handler thin: the logic sits in plain functions you can test without any cloud.

# %%
%%save functions/receiver/app.py
"""POST /sms: Twilio's webhook for texts sent to the Fixit number.

A text such as `LIFT stuck between floors 3 and 4, Via Roma 12` is a report: the first word
names the category, the rest says what is wrong and where. A genuine, well-formed text is
answered with what Fixit understood; anything else gets a reply that says how to write a
report. Requests that Twilio did not sign are refused, and no input, however malformed, makes
the function fail: it answers 4xx or a TwiML reply.
"""
from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from dataclasses import dataclass
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
# Characters XML 1.0 cannot carry (most control characters, lone surrogates, U+FFFE/U+FFFF):
# left in a TwiML reply they make it unreadable to Twilio (error 12100), and the sender gets nothing.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


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
    # BEGIN SOLUTION
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
    # END SOLUTION
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
    # BEGIN SOLUTION
    return bool(signature) and RequestValidator(auth_token).validate(url, params, signature)
    # END SOLUTION


def header(event: dict, name: str) -> str:
    headers = event.get("headers") or {}
    return next((value for key, value in headers.items() if key.lower() == name.lower()), "")


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
    # BEGIN SOLUTION
    if not signature_valid(token, url, params, header(event, "X-Twilio-Signature")):
        print(f"Rejected a request whose X-Twilio-Signature does not match {url}")
        return _reply(403, "text/plain", "Invalid Twilio signature")
    # END SOLUTION
    parsed = parse_report(params.get("Body", ""), params.get("FromCity", ""))
    if isinstance(parsed, ParseError):
        return _reply(200, "text/xml", twiml(parsed.reply))
    where = f" in {parsed.city}" if parsed.city else ""
    return _reply(200, "text/xml", twiml(
        f"Thanks! We got your {parsed.category.lower()} report{where}: {parsed.text}"))

# %% [markdown]
# ## Test the parsing on your laptop
#
# `parse_report` is plain Python: load the file you just saved and try it on a few texts before
# you deploy anything.

# %% tags=["needs-task"]
import runpy

parse_report = runpy.run_path("functions/receiver/app.py")["parse_report"]
for text in ["LIFT stuck between floors 3 and 4, Via Roma 12", "elevator: doors won't open",
             "PIZZA margherita please", "   ", "WATER", "GAS " + "smell " * 100]:
    print(f"{text[:24]!r:<28}{parse_report(text)}")

# %% [markdown]
# ## Deploy

# %% tags=["deploy", "needs-task"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: a forged request
#
# Post a form the way you did in lab 02, with a made-up signature. The function must refuse it.

# %% tags=["needs-task"]
import requests

forged = requests.post(outputs["WebhookUrl"], timeout=30,
                       headers={"X-Twilio-Signature": "bm90IGZyb20gVHdpbGlv"},
                       data={"Body": "LIFT free pizza for everyone", "From": "+15555550199"})
print(forged.status_code, forged.text)

# %% [markdown]
# ## Try it: real texts from your phone
#
# A good report, a keyword Fixit does not know, and a report without a description. Each comes
# through Twilio, signed, and gets an answer.

# %% tags=["needs-task"]
for text in ["LIFT stuck between floors 3 and 4, Via Roma 12", "PIZZA margherita please", "WATER"]:
    sent = twilio_local.text_app(MY_PHONE, text, from_city="ROMA")
    status = sent["delivery"]["attempts"][-1]["status"]
    print(f"{text}\n  HTTP {status}: {sent['replies'][0]['body'] if sent['replies'] else '(no reply)'}")

# %% [markdown]
# ## Run the checks for this lab
#
# The checks post requests to your API the way Twilio does: one with a forged signature and
# one with bytes that are not UTF-8 (both must get 403), then correctly signed ones with a bad
# text (a help reply) and a good report with control characters in it (a reply that parses,
# with the category and description).

# %% tags=["check"]
from checks import check

check("03")

# %% [markdown]
# ## What you did, and what comes next
#
# Your receiver now refuses anything Twilio did not sign, reads a report's category and
# description, and answers every mistake with a reply that helps. Its configuration comes from
# Parameter Store, and the template grants it exactly the two parameters it reads.
#
# **On real AWS and Twilio**, store your real account's values (`store_credentials()` does it
# with `GLUELAB_TWILIO=real`, or `aws ssm put-parameter --type SecureString ...` for each), and
# make sure `/fixit/twilio/webhook_url` equals the number's webhook in the Twilio console
# character for character: a trailing slash or `http` instead of `https` is enough for every
# text to get 403. The Twilio console's *Monitor → Logs → Errors* shows such failures as error
# 11200.
#
# The receiver understands a report but does nothing with it yet. In **lab 04** you write the
# function that sends texts, and from **lab 05** on a workflow takes each report from here to a
# company.
