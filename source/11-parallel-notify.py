# %% [markdown]
# # Lab 11 · Notify in parallel
#
# Once a company has the job, two people want to know: the company's on-call technician, and
# the reporter, who is still standing next to the stuck lift. Neither text depends on the
# other, so there is no reason to send them one after the other. By the end of this lab you
# will:
#
# - know what a Parallel state does with its input, its branches and their results;
# - replace NotifyCompany with a Parallel state `Notify` whose two branches text the company
#   and the reporter;
# - shape each branch's result with `OutputPath`, and place the branches' array with `ResultPath`;
# - catch a failed text inside its branch, so that one text that cannot be sent never stops the
#   report, and tell the reporter when the company could not be reached;
# - see both branches in the execution's history and on the graph.
#
# **Time:** about 25 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("11")
lab.restore()

# %% [markdown]
# ## Learn how a Parallel state works
#
# A **Parallel** state runs several **branches** at the same time. Each branch is a small state
# machine of its own, with its `StartAt` and its `States`, and each one gets **a copy of the
# Parallel state's input**. The Parallel state finishes when every branch has finished; its
# result is **an array with one element per branch, in the order the branches are listed**
# (not the order they finish in).
#
# ```mermaid
# flowchart LR
#     input["report +<br>assignment"] --> notify
#     subgraph notify ["Notify (Parallel)"]
#         direction TB
#         company["branch 1<br>NotifyCompany"]
#         reporter["branch 2<br>NotifyReporter"]
#     end
#     notify --> result["[ company's SMS sid,<br>reporter's SMS sid ]"]
# ```
#
# Three rules follow from this:
#
# - A branch cannot jump to a state outside it, and states in different branches cannot see
#   each other's data. All they share is the input.
# - If one branch fails (after its retries), the Parallel state stops the other branches and
#   fails as a whole; `Retry` and `Catch` on the Parallel state see that error.
# - Like a Task, the Parallel state has `ResultPath` and `OutputPath`: the array goes where
#   `ResultPath` says.
#
# Each notify task returns `{"sid", "status", "to"}`. Only the message SID is worth keeping,
# so each branch's task sets `"OutputPath": "$.sid"`, and the array becomes
# `["SM...", "SM..."]`. With `"ResultPath": "$.messages"` it lands next to the report and the
# assignment, ready for the next lab to turn everything into one report document.

# %% [markdown]
# ## Learn why each branch catches its own failure
#
# The second rule above is a trap. Say the company's number is wrong, or Twilio is down for a
# minute longer than the retries wait: NotifyCompany fails, the Parallel state fails, and so
# does the whole execution. Nothing after `Notify` runs, so in lab 13 the report would never be
# stored, although the reporter was already told "we got your report". A failed text must not
# lose the report.
#
# So each notify task gets a `Catch` for `States.ALL` inside its own branch. After its retries
# are used up, the branch does not fail: it goes to a Pass state that puts the text
# `NOT_SENT` where the message SID would be, and ends. The Parallel state always succeeds, and
# `messages` says what happened to each text: a SID, or `NOT_SENT`. Here `States.ALL` is right
# where it was wrong for `Retry`: whatever the reason, the report goes on, and the error stays in
# the execution's history for you to read.
#
# The company's branch does one more thing before its Pass state: the task
# `TellReporterCompanyNotReached` texts the reporter that the company could not be reached, with
# its phone number. That text may come after the reporter's "on the way" from the other branch,
# so it starts with `Update on report ...`. Its own failure is caught too: by then there is
# nobody left to tell.

# %% [markdown]
# ## See the workflow you are building
#
# ```mermaid
# flowchart LR
#     start(("start")) --> arrange["Arrange"]
#     arrange --> notify
#     subgraph notify ["Notify (Parallel)"]
#         company["NotifyCompany"]
#         reporter["NotifyReporter"]
#     end
#     notify --> stop(("end"))
#     company -. "catch States.ALL" .-> tellnr["TellReporterCompanyNotReached"] --> cnr["CompanyNotReached<br>NOT_SENT"]
#     reporter -. "catch States.ALL" .-> rnr["ReporterNotReached<br>NOT_SENT"]
#     arrange -. "catch NoCompanyFound" .-> tell["TellReporterNoCompany"] --> failed[["NoCompanyForCategory"]]
# ```

# %% [markdown]
# ## Task: notify the company and the reporter in parallel
#
# The definition below has Arrange going to `Notify`, and the Parallel state's frame with its
# `ResultPath` and `End`. Its `Branches` are objects of the form
# `{"StartAt": ..., "States": {...}}`:
#
# 1. The company's branch is given: **NotifyCompany** is lab 10's task, now ending its branch
#    (`"End": true`) and keeping only the SID with `"OutputPath": "$.sid"` instead of a
#    `ResultPath`; its `Catch` goes to **TellReporterCompanyNotReached**, then to the Pass state
#    **CompanyNotReached** (`"Result": "NOT_SENT"`).
# 2. Write the second branch, **NotifyReporter**: the same kind of task sending to
#    `$.reporter` the text `<company> is on the way to fix your <category> problem (report
#    <reportId>).`, with the same `Retry`, `OutputPath` and `End`, and a `Catch` for
#    `States.ALL` whose `Next` is a Pass state **ReporterNotReached** with `"Result": "NOT_SENT"`
#    and `"End": true`.
#
# Keep the company's branch first: the next lab reads the company's SID as element 0.

# %%
%%save statemachine/fixit.asl.json
{
  "Comment": "Fixit: find the company for an SMS report, then text the company and the reporter at the same time.",
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
        # BEGIN SOLUTION
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
        # END SOLUTION
      ],
      "ResultPath": "$.messages",
      "End": true
    }
  }
}

# %% [markdown]
# On the drawing, the Parallel state is a frame with one box per branch:

# %% tags=["needs-task"]
from gluelab import graph

graph.diagram("statemachine/fixit.asl.json")

# %% [markdown]
# ## Deploy
#
# As in lab 10, only the definition changes: both branches use the notify function, which the
# state machine may already invoke.

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: report a stuck lift
#
# The same helper as before texts Fixit from your handset and waits for the execution.

# %%
import json

from gluelab import executions, twilio_local
from gluelab.config import my_phone

MY_PHONE = my_phone()  # the number you saved in lab 00


def report(text: str, city: str = "") -> dict:
    """Text Fixit from your handset; wait for the execution the SMS starts and return it."""
    sid = twilio_local.text_app(MY_PHONE, text, from_city=city)["message"]["sid"]
    return executions.wait_for_end(executions.execution_arn(outputs["StateMachineArn"], sid))

# %% tags=["needs-task"]
execution = report("LIFT stuck between floors 3 and 4, Via Roma 12", city="ROMA")
output = json.loads(execution["output"])
print(execution["status"])
print("messages:", output["messages"])

# %% [markdown]
# `messages` is the Parallel state's result: one SID per branch, the company's first. Each SID
# names one text; look them up in the Twilio stand-in to see who got what.

# %% tags=["needs-task"]
rest = twilio_local.rest_client()
for sid in output["messages"]:
    message = rest.messages(sid).fetch()
    print(f"to {message.to}: {message.body}")

# %% [markdown]
# ## Try it: find both branches in the history
#
# The history interleaves the events of the two branches: which of the two texts goes first
# can change from one execution to the next, so your table may differ from the solution's.
# Look for `ParallelStateEntered`, then both `NotifyCompany` and `NotifyReporter` entered and
# exited, then `ParallelStateSucceeded`.

# %% tags=["needs-task", "nbval-ignore-output"]
from gluelab.executions import fetch_history, history_table

history = fetch_history(execution["executionArn"])
history_table(history)

# %% [markdown]
# The graph is the same every time: both branches green, inside the Parallel frame.

# %% tags=["needs-task"]
graph.diagram("statemachine/fixit.asl.json", history)

# %% [markdown]
# ## Run the checks for this lab
#
# The checks run a report through the workflow, then expect two SIDs in `messages`, the
# company's first and the reporter's second, each naming a text that was sent, and both
# branches in the history. Then they run two reports whose texts cannot be sent: one to a
# company whose phone number is not valid (for a moment the checks add such a company), and
# one from a reporter who has no phone number. Each run must still succeed, with `NOT_SENT` in
# the right place, and the reporter must hear that the company could not be reached.

# %% tags=["check"]
from checks import check

check("11")

# %% [markdown]
# ## What you did, and what comes next
#
# A Parallel state ran two tasks at once on copies of the same input and collected their
# results in an array, in branch order. `OutputPath` trimmed each branch's result to what you
# need, and `ResultPath` put the array next to the report. A `Catch` inside each branch turns a
# text that cannot be sent into `NOT_SENT`, so that the workflow always goes on with the report. The reporter is told about the
# company as soon as the company is told, and the execution takes about as long as the slower
# text instead of both together.
#
# **On real AWS** the console draws the Parallel state as a frame and lets you open each
# branch's events. Entering the Parallel state and each state in its branches are state
# transitions, so Notify costs one transition more than the same two tasks in sequence: it
# saves time, not money. **On real
# Twilio** the two texts leave at the same time; Twilio may still deliver them in any order, and
# its message logs show both with the SIDs your workflow stored.
#
# Next, in **lab 12**, a Pass state glues the report, the assignment and the two SIDs into one
# report document, with no Lambda function at all.
