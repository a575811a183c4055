# %% [markdown]
# # Lab 02 · Implement the receiver Lambda
#
# When someone texts Fixit, Twilio turns the text into an HTTP request to your app. In this lab
# you give the receiver function a web address and teach it to read that request. By the end
# you will:
#
# - know what Lambda passes to a handler (the event and the context), and the shape of the
#   event API Gateway sends and of the response it expects back;
# - have read a form body, plain or base64-encoded, into its fields;
# - have added an `Api` event to the function in the SAM template, and two outputs with the
#   addresses it serves;
# - have posted a form to your API, the way Twilio will, and read the TwiML reply.
#
# **Time:** about 25 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("02")
lab.restore()

# %% [markdown]
# ## Follow a request from Twilio to your function
#
# ```mermaid
# flowchart LR
#     twilio["Twilio"] -- "POST /sms<br>form body" --> api["API Gateway<br>stage Prod"]
#     api -- "proxy event" --> receiver["Receiver<br>Lambda"]
#     receiver -- "statusCode, headers, body" --> api
#     api -- "200 text/xml<br>TwiML" --> twilio
# ```
#
# A Lambda **handler** is a plain function with two arguments. `event` is a dictionary that
# describes what happened; its shape depends on who called. `context` tells you about this run:
# the request id, the function's name, and how many milliseconds are left before the timeout.
#
# With a **proxy integration**, API Gateway hands the whole HTTP request to the function as the
# event, and turns the dictionary the function returns into the HTTP response. The parts of the
# event you need today:
#
# ```json
# {"httpMethod": "POST", "path": "/sms",
#  "headers": {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "..."},
#  "body": "Body=LIFT+stuck&From=%2B393331234567&MessageSid=SM...",
#  "isBase64Encoded": false}
# ```
#
# Twilio posts a **form**: `name=value` pairs joined by `&`, with spaces as `+` and other
# characters as `%XX`. Some front doors (an HTTP API, or a REST API set up for binary media)
# pass the body base64-encoded and set `isBase64Encoded` to true; your code should handle both.
# The response is `{"statusCode": 200, "headers": {...}, "body": "..."}`, where the body is
# always a string.

# %% [markdown]
# ## Read the form and echo the text
#
# Complete two functions in the receiver:
#
# - `form_params(event)` returns the form fields as a dictionary. Take `event["body"]` (it may
#   be `None`), decode it with `base64.b64decode(...).decode("utf-8")` when `isBase64Encoded` is
#   true, then parse it with `parse_qsl(body, keep_blank_values=True)`. Keep blank fields: in
#   lab 03 they matter for checking Twilio's signature.
# - `handler` answers with status 200, `Content-Type: text/xml` and a TwiML message that says
#   `Fixit got your text: ` followed by the `Body` field. Use `_reply` and `twiml`.

# %%
%%save functions/receiver/app.py
"""POST /sms: Twilio's webhook for texts sent to the Fixit number. For now it echoes the text."""
from __future__ import annotations

import base64
from urllib.parse import parse_qsl

from twilio.twiml.messaging_response import MessagingResponse


def twiml(message: str) -> str:
    """A TwiML document answering the sender with one SMS."""
    response = MessagingResponse()
    response.message(message)
    return str(response)


def form_params(event: dict) -> dict[str, str]:
    """The webhook's form fields (blank fields included)."""
    # BEGIN SOLUTION
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode("utf-8")
    return dict(parse_qsl(body, keep_blank_values=True))
    # END SOLUTION


def _reply(status: int, content_type: str, body: str) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": body}


def handler(event, context):
    params = form_params(event)
    # BEGIN SOLUTION
    return _reply(200, "text/xml", twiml(f"Fixit got your text: {params.get('Body', '')}"))
    # END SOLUTION

# %% [markdown]
# ## Give the function a web address
#
# In SAM, an `Events` entry of type `Api` on a function creates an API Gateway REST API (named
# `ServerlessRestApi`, with a stage `Prod`), the route, the proxy integration and the permission
# for API Gateway to invoke the function. Add an event named `Sms` for `POST` requests to the
# path `/sms`.

# %%
%%sam Resources
ReceiverFunction:
  Type: AWS::Serverless::Function
  Properties:
    Description: Twilio SMS webhook; echoes each text back to its sender.
    CodeUri: functions/receiver/
    # BEGIN SOLUTION
    Events:
      Sms:
        Type: Api
        Properties:
          Path: /sms
          Method: post
    # END SOLUTION

# %% [markdown]
# ## Publish the addresses as outputs
#
# A stack's `Outputs` are values you can read after a deploy. The API's address is built with
# `!Sub` from the generated API's id, the region and the stage; `WebhookUrl` is the address you
# will give Twilio in lab 02b.

# %%
%%sam Outputs
ApiUrl:
  Description: Base URL of the Fixit API (stage Prod).
  Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/"
WebhookUrl:
  Description: Point the Twilio number's SMS webhook here, and store it in WebhookUrlParameter.
  Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/sms"

# %% [markdown]
# ## Deploy

# %% tags=["deploy", "needs-task"]
outputs = lab.deploy()

# %% [markdown]
# On the local cloud the outputs point at your laptop: the local cloud serves the same API at a
# local address.

# %% tags=["needs-task"]
print(outputs.get("WebhookUrl", "no WebhookUrl output yet: run the Outputs cell, then deploy"))

# %% [markdown]
# ## Try it: post a form like Twilio does
#
# `requests.post(url, data={...})` sends a form, exactly the encoding Twilio uses. Send the
# fields Twilio sends for a text (a few of them) and look at the answer.

# %% tags=["needs-task"]
import requests

from gluelab.config import my_phone

MY_PHONE = my_phone()  # the number you saved in lab 00
reply = requests.post(outputs["WebhookUrl"], timeout=30, data={
    "Body": "LIFT stuck between floors 3 and 4, Via Roma 12", "From": MY_PHONE,
    "To": "+15005550006", "MessageSid": "SM" + "0" * 32})
print(reply.status_code, reply.headers["Content-Type"])
print(reply.content.decode("utf-8"))

# %% [markdown]
# Characters such as `+`, `&` and accented letters survive the trip because the form encoding
# escapes them and `parse_qsl` undoes it:

# %% tags=["needs-task"]
reply = requests.post(outputs["WebhookUrl"], timeout=30, data={"Body": "Caffè & cornetto +1"})
print(reply.content.decode("utf-8"))

# %% [markdown]
# ## Run the checks for this lab
#
# The checks post a form to your API and expect a 200 TwiML answer with a `<Message>` that
# echoes the text; they also call your function with a base64-encoded body.

# %% tags=["check"]
from checks import check

check("02")

# %% [markdown]
# ## What you did, and what comes next
#
# You wrote a handler that reads an API Gateway proxy event, decodes a form (plain or base64)
# and answers in TwiML, and you gave it a public address with one `Events` entry in the
# template.
#
# **On real AWS** nothing changes: the same template creates a REST API whose `WebhookUrl` is
# an `https://....execute-api.<region>.amazonaws.com/Prod/sms` address that anyone on the
# internet can reach, Twilio included. Commit your changes and push, and the pipeline of lab 01
# deploys them; or deploy directly with `lab.deploy()`.
#
# Next, in **lab 02b**, you tell Twilio to call this address whenever someone texts the Fixit
# number.
