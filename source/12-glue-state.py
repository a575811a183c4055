# %% [markdown]
# # Lab 12 · Glue the results into one report
#
# After lab 11 the workflow knows everything about a report, but it is scattered: the text
# from the receiver at the top level, the company under `assignment`, the two message SIDs in
# an array under `messages`. Nobody downstream wants that shape. In this lab you add the step
# the workshop is named after, a piece of glue, and you write it without a single line of
# Python. By the end of this lab you will:
#
# - know what a Pass state is for, and how `Parameters` builds a new JSON document;
# - use intrinsic functions (`States.Format`, `States.ArrayGetItem`) to compute fields;
# - add the Pass state `Glue` after `Notify`, so that an execution ends with the report
#   document the next lab stores;
# - follow the document through the execution's history.
#
# **Time:** about 20 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("12")
lab.restore()

# %% [markdown]
# ## Learn what glue code is, and where it can live
#
# Glue code is code whose only job is to make two parts fit together: it renames, picks and
# reshapes, and decides nothing. In a serverless app there is a lot of it, and every piece you
# put in a Lambda function is a piece you deploy, test, pay for per call and keep up to date.
#
# Step Functions can do simple reshaping itself, in the definition:
#
# - A **Pass state** does no work: it passes its input on, or injects a fixed `Result`.
# - Like a Task, Parallel or Map state, it can have **`Parameters`**: a JSON template that
#   becomes the state's effective input. A field whose name ends in `.$` takes its value from a path into the
#   input (`"company.$": "$.assignment.company"`); any other field is copied as written
#   (`"status": "ASSIGNED"`).
# - In a `.$` field you may also call an **intrinsic function**, a small built-in:
#   `States.Format('{} problem', $.category)` fills the `{}` placeholders in order,
#   `States.ArrayGetItem($.messages, 0)` picks an element of an array. There are more for
#   arrays, JSON, strings, hashes, UUIDs and arithmetic (`States.Array`, `States.JsonMerge`,
#   `States.StringToJson`, `States.UUID`, `States.MathAdd`, ...).
#
# A Pass state with `Parameters` and no `ResultPath` outputs exactly the document its
# `Parameters` build. That is the whole trick: one state, no function, no cold start, no
# code to test apart from the definition itself.

# %% [markdown]
# ## See what Glue turns into what
#
# ```mermaid
# flowchart LR
#     subgraph before ["Glue's input (after Notify)"]
#         direction TB
#         r["reportId, category, text,<br>city, reporter, receivedAt"]
#         a["assignment:<br>company, phone"]
#         m["messages:<br>[company SID, reporter SID]"]
#     end
#     before --> glue["Glue<br>(Pass state)"]
#     glue --> doc["report document:<br>id, category, text, city, reporter,<br>company, companyPhone,<br>companyMessageSid, reporterMessageSid,<br>summary, receivedAt, status"]
# ```
#
# | field of the report | taken from |
# | --- | --- |
# | `id`, `category`, `text`, `city`, `reporter`, `receivedAt` | the same fields of the input (`id` from `reportId`) |
# | `company`, `companyPhone` | `$.assignment.company`, `$.assignment.phone` |
# | `companyMessageSid`, `reporterMessageSid` | elements 0 and 1 of `$.messages` (the branches' order) |
# | `summary` | one sentence built with `States.Format` from the category, the text and the company (the task shows it) |
# | `status` | the fixed text `ASSIGNED` |

# %% [markdown]
# ## Look at what Glue will receive
#
# The workflow from lab 11 is deployed. Text Fixit once and print the execution's output: this
# is exactly the input your Glue state will get.

# %%
import json

from gluelab import executions, twilio_local
from gluelab.config import my_phone

MY_PHONE = my_phone()  # the number you saved in lab 00


def report(text: str, city: str = "") -> dict:
    """Text Fixit from your handset; wait for the execution the SMS starts and return it."""
    sid = twilio_local.text_app(MY_PHONE, text, from_city=city)["message"]["sid"]
    return executions.wait_for_end(executions.execution_arn(lab.outputs()["StateMachineArn"], sid))


before = report("LIFT stuck between floors 3 and 4, Via Roma 12", city="ROMA")
print(json.dumps(json.loads(before["output"]), indent=2))

# %% [markdown]
# ## Task: add the Glue state
#
# The definition below is lab 11's with two changes already made: `Notify` now goes on to
# `Glue` instead of ending, and `Glue` is a Pass state that ends the workflow. Its
# `Parameters` already copy the report's own fields and set `status`. Fill in the five fields
# in the middle, in this order, each one a `.$` field:
#
# 1. `company` and `companyPhone`, from the assignment;
# 2. `companyMessageSid` and `reporterMessageSid`, with `States.ArrayGetItem` on `$.messages`
#    (the company's branch is the first);
# 3. `summary`, with `States.Format`, reading e.g.
#    `LIFT problem: stuck between floors 3 and 4, Via Roma 12 (assigned to Elevatori Capitale)`.
#
# Mind the commas: JSON wants one after each field, except the last one of an object.

# %%
%%save statemachine/fixit.asl.json
{
  "Comment": "Fixit: find the company for an SMS report, text the company and the reporter at the same time, and glue the results into one report.",
  "StartAt": "Arrange",
  "States": {
    "Arrange": {
      "Type": "Task",
      "Resource": "${ArrangeFunctionArn}",
      "ResultPath": "$.assignment",
      "Retry": [
        {
          "ErrorEquals": [
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            "Sandbox.Timedout"
          ],
          "IntervalSeconds": 1,
          "MaxAttempts": 2,
          "BackoffRate": 2
        }
      ],
      "Catch": [
        {
          "ErrorEquals": [
            "NoCompanyFound"
          ],
          "ResultPath": "$.error",
          "Next": "TellReporterNoCompany"
        }
      ],
      "Next": "Notify"
    },
    "TellReporterNoCompany": {
      "Type": "Task",
      "Resource": "${NotifyFunctionArn}",
      "Parameters": {
        "to.$": "$.reporter",
        "body.$": "States.Format('Sorry, no company handles {} problems yet, so report {} could not be passed on. Please call your building manager.', $.category, $.reportId)"
      },
      "Retry": [
        {
          "ErrorEquals": [
            "TwilioTransientError",
            "Lambda.ServiceException",
            "Lambda.AWSLambdaException",
            "Lambda.SdkClientException",
            "Lambda.TooManyRequestsException",
            "Sandbox.Timedout"
          ],
          "IntervalSeconds": 1,
          "MaxAttempts": 2,
          "BackoffRate": 2
        }
      ],
      "ResultPath": null,
      "Next": "NoCompanyForCategory"
    },
    "NoCompanyForCategory": {
      "Type": "Fail",
      "Error": "NoCompanyFound",
      "Cause": "No company serves the category of the report; the reporter was told by SMS."
    },
    "Notify": {
      "Type": "Parallel",
      "Branches": [
        {
          "StartAt": "NotifyCompany",
          "States": {
            "NotifyCompany": {
              "Type": "Task",
              "Resource": "${NotifyFunctionArn}",
              "Parameters": {
                "to.$": "$.assignment.phone",
                "body.$": "States.Format('Fixit job {}: {} problem reported by {}: {}', $.reportId, $.category, $.reporter, $.text)"
              },
              "Retry": [
                {
                  "ErrorEquals": [
                    "TwilioTransientError",
                    "Lambda.ServiceException",
                    "Lambda.AWSLambdaException",
                    "Lambda.SdkClientException",
                    "Lambda.TooManyRequestsException",
                    "Sandbox.Timedout"
                  ],
                  "IntervalSeconds": 1,
                  "MaxAttempts": 2,
                  "BackoffRate": 2
                }
              ],
              "Catch": [
                {
                  "ErrorEquals": [
                    "States.ALL"
                  ],
                  "ResultPath": "$.companyError",
                  "Next": "TellReporterCompanyNotReached"
                }
              ],
              "OutputPath": "$.sid",
              "End": true
            },
            "TellReporterCompanyNotReached": {
              "Type": "Task",
              "Resource": "${NotifyFunctionArn}",
              "Parameters": {
                "to.$": "$.reporter",
                "body.$": "States.Format('Update on report {}: we could not reach {} by text. Please call them on {}.', $.reportId, $.assignment.company, $.assignment.phone)"
              },
              "Retry": [
                {
                  "ErrorEquals": [
                    "TwilioTransientError",
                    "Lambda.ServiceException",
                    "Lambda.AWSLambdaException",
                    "Lambda.SdkClientException",
                    "Lambda.TooManyRequestsException",
                    "Sandbox.Timedout"
                  ],
                  "IntervalSeconds": 1,
                  "MaxAttempts": 2,
                  "BackoffRate": 2
                }
              ],
              "Catch": [
                {
                  "ErrorEquals": [
                    "States.ALL"
                  ],
                  "Next": "CompanyNotReached"
                }
              ],
              "Next": "CompanyNotReached"
            },
            "CompanyNotReached": {
              "Type": "Pass",
              "Result": "NOT_SENT",
              "End": true
            }
          }
        },
        {
          "StartAt": "NotifyReporter",
          "States": {
            "NotifyReporter": {
              "Type": "Task",
              "Resource": "${NotifyFunctionArn}",
              "Parameters": {
                "to.$": "$.reporter",
                "body.$": "States.Format('{} is on the way to fix your {} problem (report {}).', $.assignment.company, $.category, $.reportId)"
              },
              "Retry": [
                {
                  "ErrorEquals": [
                    "TwilioTransientError",
                    "Lambda.ServiceException",
                    "Lambda.AWSLambdaException",
                    "Lambda.SdkClientException",
                    "Lambda.TooManyRequestsException",
                    "Sandbox.Timedout"
                  ],
                  "IntervalSeconds": 1,
                  "MaxAttempts": 2,
                  "BackoffRate": 2
                }
              ],
              "Catch": [
                {
                  "ErrorEquals": [
                    "States.ALL"
                  ],
                  "Next": "ReporterNotReached"
                }
              ],
              "OutputPath": "$.sid",
              "End": true
            },
            "ReporterNotReached": {
              "Type": "Pass",
              "Result": "NOT_SENT",
              "End": true
            }
          }
        }
      ],
      "ResultPath": "$.messages",
      "Next": "Glue"
    },
    "Glue": {
      "Type": "Pass",
      "Parameters": {
        "id.$": "$.reportId",
        "category.$": "$.category",
        "text.$": "$.text",
        "city.$": "$.city",
        "reporter.$": "$.reporter",
        # BEGIN SOLUTION
        "company.$": "$.assignment.company",
        "companyPhone.$": "$.assignment.phone",
        "companyMessageSid.$": "States.ArrayGetItem($.messages, 0)",
        "reporterMessageSid.$": "States.ArrayGetItem($.messages, 1)",
        "summary.$": "States.Format('{} problem: {} (assigned to {})', $.category, $.text, $.assignment.company)",
        # END SOLUTION
        "receivedAt.$": "$.receivedAt",
        "status": "ASSIGNED"
      },
      "End": true
    }
  }
}

# %% [markdown]
# On the drawing, `Glue` is one more box after the Parallel frame:

# %% tags=["needs-task"]
from gluelab import graph

graph.diagram("statemachine/fixit.asl.json")

# %% [markdown]
# ## Deploy
#
# Only the definition changes. A Pass state calls nothing, so the state machine needs no new
# permission.

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: one text, one report document
#
# Text Fixit again. This time the execution's output is the report document, flat and complete.

# %% tags=["needs-task"]
execution = report("LIFT stuck between floors 3 and 4, Via Roma 12", city="ROMA")
document = json.loads(execution["output"])
print(execution["status"])
print(json.dumps(document, indent=2))

# %% [markdown]
# ## Try it: find the Pass state in the history
#
# A Pass state leaves just two events: `PassStateEntered` with its input and
# `PassStateExited` with its output. Compare the two to see your `Parameters` at work.

# %% tags=["needs-task"]
from gluelab.executions import fetch_history

history = fetch_history(execution["executionArn"])
glue_events = [e for e in history["events"] if e["type"].startswith("PassState")]
for event in glue_events:
    details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails")
    print(event["type"], "->", ", ".join(sorted(json.loads(details["input" if "Entered" in event["type"] else "output"]))))

# %% [markdown]
# On the graph, every state is green, Glue included.

# %% tags=["needs-task"]
graph.diagram("statemachine/fixit.asl.json", history)

# %% [markdown]
# ## Run the checks for this lab
#
# The checks run a report through the workflow and expect its output to be exactly the report
# document: the twelve fields, each with the right value, the SIDs naming the two texts that
# were sent, and nothing else. They also make sure the glue is a Pass state, not a function.

# %% tags=["check"]
from checks import check

check("12")

# %% [markdown]
# ## What you did, and what comes next
#
# You reshaped the workflow's data with a Pass state: `Parameters` picked fields by path,
# `States.ArrayGetItem` took the SIDs out of the Parallel state's array, `States.Format` wrote
# the summary, and a fixed field set the status. There is no function behind any of it: nothing
# to deploy, nothing to cold-start, nothing that can time out.
#
# **On real AWS** the console's execution view shows each state's input and output side by
# side, and its *data flow simulator* lets you try `Parameters`, `ResultPath` and
# `OutputPath` on a sample input before you deploy. A Pass state is a state transition like any
# other, so it costs what a transition costs and no Lambda time. Newer definitions can also be
# written with the JSONata query language (`"QueryLanguage": "JSONata"`), where an `Output`
# expression does the same job as these paths and intrinsics; this workshop keeps to JSONPath,
# which every Step Functions feature and tool understands. **On real Twilio** the two SIDs in the
# report are the messages' ids in your Twilio console's message logs: a support person can go
# from a report straight to the texts that were sent for it.
#
# Next, in **lab 13**, the report document goes into a DynamoDB table, again straight from the
# workflow, without a function.
