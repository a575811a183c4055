# %% [markdown]
# # Lab 14 · Serve the reports: GET /reports/{id}
#
# Reports now pile up in a table that only you, with AWS credentials, can read. The building
# manager, the company's back office and the reporter's landlord want to look a report up by
# its id, over HTTP. By the end of this lab you will:
#
# - write the `get_report` function: read one item by key, answer `200` with it as JSON or
#   `404` with a message that names the id;
# - add `GetReportFunction` to the template with a `GET /reports/{id}` event, its table name
#   and a read-only policy;
# - follow the whole story, from one text message to the report on your screen.
#
# **Time:** about 25 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("14")
lab.restore()

# %% [markdown]
# ## Learn how an API reads from a table
#
# ```mermaid
# flowchart LR
#     browser["browser, app<br>or curl"] -- "GET /reports/SM123" --> api["API Gateway<br>GET /reports/{id}"]
#     api -- "event: pathParameters.id = SM123" --> fn["GetReport<br>Lambda"]
#     fn -- "GetItem id = SM123" --> table[("Reports")]
#     fn -- "200 + JSON, or 404" --> api
# ```
#
# - `{id}` in the path is a **path parameter**: API Gateway matches any value there and hands
#   it to the function as `event["pathParameters"]["id"]`.
# - The function uses the Lambda **proxy integration**, as the receiver does: it returns a dict
#   with `statusCode`, `headers` and a string `body`, and API Gateway turns it into the HTTP
#   answer.
# - A read by key is DynamoDB's cheapest and fastest call, `GetItem`. It returns the item
#   under `Item`, or no `Item` at all when the key is unknown: that case is your `404`.
# - The function only reads, so it gets SAM's `DynamoDBReadPolicy` on this one table, and
#   nothing else. The table's name reaches it as an environment variable, `REPORTS_TABLE`.
#
# For now anyone who knows an id can read its report. Lab 15 puts a sign-in in front of it.

# %% [markdown]
# ## Task: write the get_report function
#
# `report_response(table, report_id)` receives a boto3 `Table` and the id from the path. Read
# the item with `table.get_item(Key=...)`; if there is none, answer `404` with the body
# `{"message": "No report with id <id>."}`; otherwise answer `200` with the item itself. The
# helper `_json(status, body)` builds the proxy answer for you.

# %%
%%save functions/get_report/app.py
"""GET /reports/{id}: one stored report as JSON, or a 404 that says which id was not found."""
from __future__ import annotations

import functools
import json
import os

import boto3


def report_response(table, report_id: str) -> dict:
    """The API Gateway answer for one report id."""
    # BEGIN SOLUTION
    item = table.get_item(Key={"id": report_id}).get("Item")
    if item is None:
        return _json(404, {"message": f"No report with id {report_id}."})
    return _json(200, item)
    # END SOLUTION


def _json(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body)}


@functools.cache
def reports_table():
    return boto3.resource("dynamodb").Table(os.environ["REPORTS_TABLE"])


def handler(event, context):
    return report_response(reports_table(), event["pathParameters"]["id"])

# %% [markdown]
# ## Task: add the function and its API route to the template
#
# The resource below has the code, the table name and the environment variable. Add the two
# parts that connect it:
#
# 1. `Policies`: a `DynamoDBReadPolicy` for `!Ref ReportsTable`;
# 2. `Events`: an event `GetReport` of type `Api`, with `Path: /reports/{id}` and
#    `Method: get`. SAM adds the route to the same API that serves `POST /sms`.

# %%
%%sam Resources
GetReportFunction:
  Type: AWS::Serverless::Function
  Properties:
    Description: Serves one stored report.
    CodeUri: functions/get_report/
    Environment:
      Variables:
        REPORTS_TABLE: !Ref ReportsTable
    # BEGIN SOLUTION
    Policies:
      - DynamoDBReadPolicy:
          TableName: !Ref ReportsTable
    Events:
      GetReport:
        Type: Api
        Properties:
          Path: /reports/{id}
          Method: get
    # END SOLUTION

# %% [markdown]
# ## Deploy

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: the whole story, from one text to the report on your screen
#
# Everything you built today runs in this one cell. You text Fixit from your handset; the
# receiver checks Twilio's signature and answers at once; the workflow arranges a company,
# texts it and you, glues the report and stores it.

# %% tags=["needs-task"]
import json

import requests

from gluelab import executions, twilio_local
from gluelab.config import my_phone
from gluelab.tryit import expect, replies

MY_PHONE = my_phone()  # the number you saved in lab 00

sent = twilio_local.text_app(MY_PHONE, "LIFT stuck between floors 3 and 4, Via Roma 12", from_city="ROMA")
report_id = sent["message"]["sid"]
for reply in replies(sent):  # or, if the receiver failed, what its log says
    print("Fixit replied:", reply)

execution = executions.wait_for_end(executions.execution_arn(outputs["StateMachineArn"], report_id))
print("Workflow:", execution["status"])

# %% [markdown]
# The workflow's output is the report document, with the SIDs of the two texts it sent. Look
# them up: one went to the company's on-call phone, one to you.

# %% tags=["needs-task"]
document = json.loads(execution["output"])
rest = twilio_local.rest_client()
for sid in (document["companyMessageSid"], document["reporterMessageSid"]):
    message = rest.messages(sid).fetch()
    print(f"to {message.to}: {message.body}")

# %% [markdown]
# And anyone with the id can now read the report over HTTP. `expect` stops the cell when the
# API gives another status than the one expected: it shows the answer's body and, when your
# function failed (API Gateway answers `502`), the error from the function's log.

# %% tags=["needs-task"]
url = outputs["ApiUrl"] + f"reports/{report_id}"
answer = requests.get(url, timeout=10)
expect(answer, 200)
print(answer.status_code, answer.headers["Content-Type"])
shown = answer.json()
for field in ("id", "summary", "company", "companyPhone", "reporter", "receivedAt", "status"):
    print(f"{field:>12}: {shown[field]}")

# %% [markdown]
# ## Try it: ask for a report that does not exist
#
# An unknown id is not an error of the service: it is a `404` with a message a person can read.

# %% tags=["needs-task"]
missing = requests.get(outputs["ApiUrl"] + "reports/SM-no-such-report", timeout=10)
expect(missing, 404)
print(missing.status_code, missing.json())

# %% [markdown]
# ## Run the checks for this lab
#
# The checks ask the API for a report they put in the table (`200` with that report), for an id
# that does not exist (`404` with the message), and then play the whole story from a test
# handset: one text, both texts sent, the stored report served by the API.

# %% tags=["check"]
from checks import check

check("14")

# %% [markdown]
# ## What you did, and what comes next
#
# Fixit is complete: a text becomes a job for the right company, two texts, a stored report and
# a URL where anyone can read it. The read path is a small function with a read-only permission
# on one table, behind an API route that SAM wrote for you.
#
# **On real AWS** the `ApiUrl` output is a public HTTPS address on `execute-api`, and the first
# request after a while waits for a cold start of about a second or less; later ones take a
# few milliseconds plus the `GetItem`. The API Gateway console's *Test* button calls a route
# without any client, and the function's log group shows each request. **On real Twilio** the
# report id is the SMS's MessageSid, so a support person can move between the API's report and
# the message logs in the Twilio console by the same id.
#
# Next, in the optional **lab 15**, you make the API answer only to people who have signed in.
# If you stop here, delete what the workshop created with `gluelab teardown` in a terminal
# (lab 15 ends with the same clean-up).
