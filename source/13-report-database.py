# %% [markdown]
# # Lab 13 · Store the report in DynamoDB
#
# Each execution now ends with a complete report document, and then forgets it. In this lab
# the workflow writes the document into a table of its own, once more without a function:
# Step Functions calls DynamoDB directly. By the end of this lab you will:
#
# - know the difference between calling a service from a Lambda function and calling it from
#   the workflow with a service integration;
# - add the `ReportsTable` to your template, with an output that names it;
# - add the task `StoreReport` that calls `dynamodb:putItem`, and give the state machine the
#   table's name and the right to write to it;
# - find the report of a text message in the table;
# - know why every task of the workflow may run twice, and why that is safe for Fixit.
#
# **Time:** about 25 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("13")
lab.restore()

# %% [markdown]
# ## Learn how a workflow calls a service without a function
#
# Until now every Task state named a Lambda function in its `Resource`. A Task can also name a
# **service integration**: an ARN of the form `arn:aws:states:::SERVICE:ACTION`, for which Step
# Functions itself makes the API call, with the role of the state machine. For DynamoDB the
# optimised integrations are `getItem`, `putItem`, `updateItem` and `deleteItem`; any other
# API call of any service is available through the SDK integrations,
# `arn:aws:states:::aws-sdk:SERVICE:ACTION`.
#
# ```mermaid
# flowchart LR
#     subgraph lambda ["with a function"]
#         direction LR
#         t1["Task"] --> f["Lambda:<br>put_item(...)"] --> d1[("Reports")]
#     end
#     subgraph direct ["with a service integration"]
#         direction LR
#         t2["Task<br>dynamodb:putItem"] --> d2[("Reports")]
#     end
# ```
#
# The task's `Parameters` are the API request, written the way the DynamoDB API wants it:
#
# ```json
# "Parameters": {
#   "TableName": "${ReportsTableName}",
#   "Item": {
#     "id": {"S.$": "$.id"},
#     "category": {"S.$": "$.category"}
#   }
# }
# ```
#
# - `TableName` comes from a **definition substitution**, like the function ARNs: SAM replaces
#   `${ReportsTableName}` with the table's real name when it deploys.
# - Each attribute of `Item` carries its DynamoDB type: `S` for a string (`N` for a number,
#   `BOOL`, `M`, `L` ...). `"S.$"` takes the string from a path of the state's input, as in
#   your Glue state.
# - `putItem` answers with almost nothing useful, so `"ResultPath": null` throws the answer away
#   and the state's output stays the report document.
#
# Compared with a function, there is no code to write, package or test, no cold start, and no
# Lambda bill for the call: only the state transition and DynamoDB's own write.

# %% [markdown]
# ## See the workflow you are finishing
#
# ```mermaid
# flowchart LR
#     start(("start")) --> arrange["Arrange"]
#     arrange --> notify
#     subgraph notify ["Notify (Parallel)"]
#         company["NotifyCompany"]
#         reporter["NotifyReporter"]
#     end
#     notify --> glue["Glue"] --> store["StoreReport<br>dynamodb:putItem"] --> stop(("end"))
#     store --> table[("Reports")]
#     arrange -. "catch NoCompanyFound" .-> tell["TellReporterNoCompany"] --> failed[["NoCompanyForCategory"]]
# ```

# %% [markdown]
# ## Task: add the Reports table
#
# A report is read by its id, and nothing else about the table matters yet, so SAM's short
# form `AWS::Serverless::SimpleTable` is enough: one string key, billed per request. Give it a
# `PrimaryKey` named `id` of type `String`, in the compact form `{Name: ..., Type: ...}`.

# %%
%%sam Resources
ReportsTable:
  Type: AWS::Serverless::SimpleTable
  Properties:
    # BEGIN SOLUTION
    PrimaryKey: {Name: id, Type: String}
    # END SOLUTION

# %% [markdown]
# An output names the table, for you and for the checks. CloudFormation makes the name up from
# the stack's name and the resource's, so you never hard-code it: give the output the value
# `!Ref ReportsTable`, which for a table is its name.

# %%
%%sam Outputs
ReportsTableName:
  # BEGIN SOLUTION
  Value: !Ref ReportsTable
  # END SOLUTION

# %% [markdown]
# ## Task: add the StoreReport state
#
# Below is the final definition of the workflow. `StoreReport` and its `Item` are written out;
# fill in the four lines that make it work:
#
# 1. in `Glue`, `"Next": "StoreReport"` in place of the end;
# 2. in `StoreReport`, the `Resource` of the DynamoDB `putItem` integration;
# 3. in its `Parameters`, the `TableName` from the substitution `${ReportsTableName}`;
# 4. after its `Parameters`, the `ResultPath` that keeps the report document as the output.
#
# Mind the commas: lines 2, 3 and 4 are followed by another field and need one; line 1 is the
# last field of `Glue` and takes none. All four blanks are near the end of the cell.

# %%
%%save statemachine/fixit.asl.json
{
  "Comment": "Fixit: find the company for an SMS report, text the company and the reporter, store the report.",
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
        "company.$": "$.assignment.company",
        "companyPhone.$": "$.assignment.phone",
        "companyMessageSid.$": "States.ArrayGetItem($.messages, 0)",
        "reporterMessageSid.$": "States.ArrayGetItem($.messages, 1)",
        "summary.$": "States.Format('{} problem: {} (assigned to {})', $.category, $.text, $.assignment.company)",
        "receivedAt.$": "$.receivedAt",
        "status": "ASSIGNED"
      },
      # BEGIN SOLUTION
      "Next": "StoreReport"
      # END SOLUTION
    },
    "StoreReport": {
      "Type": "Task",
      # BEGIN SOLUTION
      "Resource": "arn:aws:states:::dynamodb:putItem",
      # END SOLUTION
      "Parameters": {
        # BEGIN SOLUTION
        "TableName": "${ReportsTableName}",
        # END SOLUTION
        "Item": {
          "id": {
            "S.$": "$.id"
          },
          "category": {
            "S.$": "$.category"
          },
          "text": {
            "S.$": "$.text"
          },
          "city": {
            "S.$": "$.city"
          },
          "reporter": {
            "S.$": "$.reporter"
          },
          "company": {
            "S.$": "$.company"
          },
          "companyPhone": {
            "S.$": "$.companyPhone"
          },
          "companyMessageSid": {
            "S.$": "$.companyMessageSid"
          },
          "reporterMessageSid": {
            "S.$": "$.reporterMessageSid"
          },
          "summary": {
            "S.$": "$.summary"
          },
          "receivedAt": {
            "S.$": "$.receivedAt"
          },
          "status": {
            "S.$": "$.status"
          }
        }
      },
      # BEGIN SOLUTION
      "ResultPath": null,
      # END SOLUTION
      "End": true
    }
  }
}

# %% [markdown]
# ## Task: let the state machine write to the table
#
# The state machine needs two more things in the template: the value of `${ReportsTableName}`
# in its `DefinitionSubstitutions` (the table's name, `!Ref ReportsTable`), and a policy that
# allows it to write there: SAM's policy template `DynamoDBWritePolicy` with the `TableName`.

# %%
%%sam Resources
FixitStateMachine:
  Type: AWS::Serverless::StateMachine
  Properties:
    DefinitionUri: statemachine/fixit.asl.json
    DefinitionSubstitutions:
      ArrangeFunctionArn: !GetAtt ArrangeFunction.Arn
      NotifyFunctionArn: !GetAtt NotifyFunction.Arn
      # BEGIN SOLUTION
      ReportsTableName: !Ref ReportsTable
      # END SOLUTION
    Policies:
      - LambdaInvokePolicy:
          FunctionName: !Ref ArrangeFunction
      - LambdaInvokePolicy:
          FunctionName: !Ref NotifyFunction
      # BEGIN SOLUTION
      - DynamoDBWritePolicy:
          TableName: !Ref ReportsTable
      # END SOLUTION

# %% [markdown]
# The drawing now ends with `StoreReport`:

# %% tags=["needs-task"]
from gluelab import graph

graph.diagram("statemachine/fixit.asl.json")

# %% [markdown]
# ## Deploy
#
# This deploy creates the table, then updates the state machine with the new definition, the
# table's name and its new permission.

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: text Fixit and find the report in the table
#
# The same helper as in the last labs texts Fixit from your handset and waits for the
# execution.

# %%
import json

from gluelab import executions, twilio_local
from gluelab.config import client, my_phone
from gluelab.tryit import TryItFailed

MY_PHONE = my_phone()  # the number you saved in lab 00


def report(text: str, city: str = "") -> dict:
    """Text Fixit from your handset; wait for the execution the SMS starts and return it."""
    sid = twilio_local.text_app(MY_PHONE, text, from_city=city)["message"]["sid"]
    return executions.wait_for_end(executions.execution_arn(outputs["StateMachineArn"], sid))

# %% tags=["needs-task"]
execution = report("WATER leak under the sink in flat 5, Via Torino 8", city="MILANO")
document = json.loads(execution["output"])  # an execution that failed says why, here
if "id" not in document:
    raise TryItFailed(f"The execution's output is {json.dumps(document)}, not the report document: "
                      "give StoreReport \"ResultPath\": null, deploy again and run this cell again.")
print(execution["status"], document["id"])

# %% [markdown]
# Read the item back with the DynamoDB API. It comes in the same typed form you wrote in the
# `Item` of `StoreReport`: each value wrapped in its type, here always `S`.

# %% tags=["needs-task"]
found = client("dynamodb").get_item(TableName=outputs["ReportsTableName"],
                                    Key={"id": {"S": document["id"]}})
if "Item" not in found:
    raise TryItFailed(f"No item with id {document['id']} in {outputs['ReportsTableName']}: the "
                      "workflow ended before StoreReport. Make Glue go on to it (\"Next\": "
                      "\"StoreReport\"), deploy again and run the cells from \"Try it\" again.")
print(json.dumps(found["Item"], indent=2, sort_keys=True))

# %% [markdown]
# ## Try it: see the call in the history
#
# The tasks that name a Lambda function by its ARN leave `LambdaFunction...` events in the
# history. A service integration leaves `TaskScheduled`, `TaskStarted` and `TaskSucceeded`
# events instead, and they name the service and the call: here `dynamodb:putItem`.

# %% tags=["needs-task"]
from gluelab.executions import fetch_history

history = fetch_history(execution["executionArn"])
for event in history["events"]:
    if "taskScheduledEventDetails" in event:
        details = event["taskScheduledEventDetails"]
        print(event["type"], f"{details['resourceType']}:{details['resource']}")

# %% tags=["needs-task"]
graph.diagram("statemachine/fixit.asl.json", history)

# %% [markdown]
# ## Learn why every task must be safe to run twice
#
# Step Functions runs a task **at least once**, not exactly once. When the connection drops
# after a call did its work but before its answer arrived, when a function times out after
# sending its text (lab 10 retries `Sandbox.Timedout`), or when the service itself restarts
# while a task is in flight, the task runs again. On AWS that is rare; it is never impossible.
#
# So each task must give the same result when it runs twice. An operation like that is
# **idempotent**, as the receiver is since lab 06. Look at Fixit's tasks one by one:
#
# - **Arrange** only reads the Companies table: twice gives the same company.
# - **StoreReport** writes the item under the report's id, which is the execution's name: a
#   second `putItem` replaces the item with the same document. No duplicate row.
# - **The notify tasks** are the exception: Twilio has no way to say "this text was already
#   sent", so a second run sends a second SMS. Fixit accepts that on purpose: a technician who
#   gets the job twice is better off than one who never gets it. When a repeat would do harm (a
#   payment, a booking), you give the call a key of its own and keep a record of the keys you
#   have used, for example with a conditional write to DynamoDB.
#
# And since lab 11, a text that cannot be sent no longer stops the workflow: the report reaches
# `StoreReport` either way, with `NOT_SENT` where the message SID would be.

# %% [markdown]
# ## Run the checks for this lab
#
# The checks text Fixit from a test handset, wait for the workflow, and look for the report in
# the table named by `ReportsTableName`: the stored item must be the execution's report
# document. They also make sure that `StoreReport` calls DynamoDB directly, and that a report
# whose company cannot be texted is stored all the same.

# %% tags=["check"]
from checks import check

check("13")

# %% [markdown]
# ## What you did, and what comes next
#
# The workflow is complete. One text becomes a report document and a row in the Reports table,
# and the last step is a direct call from Step Functions to DynamoDB: no function, and a
# permission that allows writes (PutItem, UpdateItem, BatchWriteItem) on one table and nothing
# else.
#
# **On real AWS** you would see the item in the DynamoDB console's item explorer, and the
# `StoreReport` step in the execution's graph with the request it sent. The service integration
# runs with the state machine's role, so a missing `DynamoDBWritePolicy` shows up there as an
# `AccessDeniedException` in the task's failure, not as a deploy error. An on-demand table like
# this one costs nothing while nobody texts, and a fraction of a cent per thousand reports
# written.
# **On real Twilio** nothing changes: the texts are sent before the report is stored, so a
# DynamoDB hiccup never keeps a technician from being called, and a text Twilio refuses is
# stored as `NOT_SENT`, so the report is never lost to it.
#
# Next, in **lab 14**, you serve the stored reports over HTTP: `GET /reports/{id}`.
