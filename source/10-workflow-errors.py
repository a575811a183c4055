# %% [markdown]
# # Lab 10 · Handle workflow errors
#
# Two things can go wrong in the Arrange step, and they need opposite answers. Lambda itself
# may have a short hiccup: trying again a moment later fixes it. Or nobody serves the category:
# trying again changes nothing, and the reporter deserves to hear that. By the end of this lab
# you will:
#
# - know how a Task state's `Retry` and `Catch` rules choose an error by name;
# - retry Lambda's transient errors and timeouts with a short backoff;
# - catch `NoCompanyFound`, text the reporter an apology and end in a named `Fail` state;
# - make a failure happen on purpose and watch the retry in the history and on the graph.
#
# **Time:** about 30 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("10")
lab.restore()

# %% [markdown]
# ## Learn how a state handles an error
#
# When a task fails, Step Functions has an **error name**: for a Lambda function it is the
# `errorType` you met in lab 08 (the exception's class name), or one of Lambda's own names such
# as `Lambda.ServiceException` when the service, not your code, failed. `States.ALL` matches
# any name. Then:
#
# 1. **`Retry`** is a list of *retriers*, read in order. The first whose `ErrorEquals` contains
#    the error name runs the task again after `IntervalSeconds`, at most `MaxAttempts` times,
#    multiplying the wait by `BackoffRate` after each attempt.
# 2. When no retrier matches, or the attempts are used up, **`Catch`** is read the same way: the
#    first *catcher* that matches moves the execution to its `Next` state. Its `ResultPath`
#    says where the error (`{"Error": ..., "Cause": ...}`) goes in the state's input.
# 3. When nothing catches the error, the whole execution fails.
#
# ```mermaid
# flowchart LR
#     task["Arrange fails<br>with error E"] --> r{"a retrier<br>matches E and has<br>attempts left?"}
#     r -- yes --> wait["wait, then run<br>Arrange again"] --> task
#     r -- no --> c{"a catcher<br>matches E?"}
#     c -- yes --> next["go to the catcher's Next<br>(error at its ResultPath)"]
#     c -- no --> fail(["the execution fails"])
# ```

# %% [markdown]
# ## Learn what to retry, and for how long
#
# Retry only what a second try can fix. For a Lambda task these are Lambda's transient service
# errors, and a function that ran out of time:
#
# | error name | what happened |
# | --- | --- |
# | `Lambda.ServiceException` | Lambda had an internal error |
# | `Lambda.AWSLambdaException` | Lambda refused the call for a passing reason |
# | `Lambda.SdkClientException` | the call to Lambda did not get through |
# | `Lambda.TooManyRequestsException` | the function was throttled (too many at once) |
# | `Sandbox.Timedout` | the function ran past its `Timeout` (10 s in the template's `Globals`) |
#
# Spell them exactly: `ErrorEquals` compares names character by character, so a retrier for
# `Lambda.ServiceError` never matches anything, and nobody tells you. `States.Timeout` is a
# different error: the one a state raises when it runs past its own `TimeoutSeconds`. Fixit's
# tasks set none, because each function already has its own timeout.
#
# Retrying a timeout has a price: the function may have done its work and only been late to
# say so. A notify call that timed out may already have sent its text, and the retry sends it
# again. For a report, a text twice beats a text never; lab 13 comes back to this.
#
# `NoCompanyFound` is not on the list: the table will not grow a gas company in two seconds.
# And `States.ALL` would retry your bugs too, hiding them behind a slow failure.
#
# The waits grow: with `IntervalSeconds` 1 and `BackoffRate` 2, the first retry waits 1 s and
# the second 2 s. This lab uses `MaxAttempts` 2 so that a failure costs you at most about 3
# seconds of waiting. In production you would usually allow more attempts (3 to 6) and longer
# waits, cap them with `MaxDelaySeconds`, and add `"JitterStrategy": "FULL"` so that many
# executions failing at once do not all retry at the same moment.

# %% [markdown]
# ## See the workflow you are building
#
# ```mermaid
# flowchart LR
#     start(("start")) --> arrange["Arrange"]
#     arrange -. "retry Lambda.* x2" .-> arrange
#     arrange --> notify["NotifyCompany"] --> stop(("end"))
#     arrange -. "catch NoCompanyFound" .-> tell["TellReporterNoCompany<br>text an apology"]
#     tell --> failed[["NoCompanyForCategory<br>Fail"]]
# ```
#
# The execution still *fails* when no company exists: the report was not handled, and a failed
# execution is what your monitoring counts. But it fails in a state whose name says why, after
# the reporter was told.

# %% [markdown]
# ## Task: add Retry, Catch and the two new states
#
# Fill in the blanks of the definition:
#
# 1. On **Arrange**, a `Retry` with one retrier for the five errors above:
#    `IntervalSeconds` 1, `MaxAttempts` 2, `BackoffRate` 2.
# 2. On **Arrange**, a `Catch` with one catcher for `NoCompanyFound`. Put the error at
#    `$.error` (the default `$` would replace the report, and the next state needs the
#    reporter's number), and go to `TellReporterNoCompany`.
# 3. **TellReporterNoCompany**: a Task on `${NotifyFunctionArn}` that texts the reporter. The
#    notify function (lab 04) takes two fields, `to` (the phone number) and `body` (the text),
#    so the task's `Parameters` are `"to.$": "$.reporter"` and a `"body.$"` built with
#    `States.Format`, as in NotifyCompany below, reading `Sorry, no company handles <category>
#    problems yet, so report <reportId> could not be passed on. Please call your building
#    manager.` It retries like NotifyCompany, keeps its input (`"ResultPath": null`) and goes to
#    `NoCompanyForCategory`.
# 4. **NoCompanyForCategory**: a `Fail` state with `Error` `NoCompanyFound` and a `Cause` that
#    says the reporter was told.
#
# NotifyCompany is given with its own `Retry`: the notify function raises `TwilioTransientError`
# when Twilio is briefly unavailable (lab 04), and that is worth a second try as well.

# %%
%%save statemachine/fixit.asl.json
{
  "Comment": "Fixit: find the company for an SMS report and text the company; tell the reporter when nobody can help.",
  "StartAt": "Arrange",
  "States": {
    "Arrange": {
      "Type": "Task",
      "Resource": "${ArrangeFunctionArn}",
      "ResultPath": "$.assignment",
      # BEGIN SOLUTION
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
      # END SOLUTION
      "Next": "NotifyCompany"
    },
    # BEGIN SOLUTION
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
    # END SOLUTION
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
      "ResultPath": "$.companyMessage",
      "End": true
    }
  }
}

# %% [markdown]
# The drawing shows retries as loops on a state and catchers as dotted arrows:

# %% tags=["needs-task"]
from gluelab import graph

graph.diagram("statemachine/fixit.asl.json")

# %% [markdown]
# ## Deploy
#
# The template does not change: the new states use the two functions the state machine may
# already invoke.

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: make Arrange fail once
#
# On the local cloud you can make a function fail on purpose. `faults.fail_next` makes the
# arrange function's next invocation fail with `Lambda.ServiceException`, exactly as if Lambda
# had a hiccup; the invocation after it runs normally.
#
# First the same helper as in lab 09: text Fixit from your handset and wait for the execution.

# %%
import json

from gluelab import executions, faults, twilio_local
from gluelab.config import client, my_phone
from gluelab.tryit import TryItFailed

MY_PHONE = my_phone()  # the number you saved in lab 00


def report(text: str, city: str = "") -> dict:
    """Text Fixit from your handset; wait for the execution the SMS starts and return it."""
    sid = twilio_local.text_app(MY_PHONE, text, from_city=city)["message"]["sid"]
    return executions.wait_for_end(executions.execution_arn(outputs["StateMachineArn"], sid))

# %% tags=["needs-task"]
arrange_name = client("cloudformation").describe_stack_resource(
    StackName="fixit", LogicalResourceId="ArrangeFunction")["StackResourceDetail"]["PhysicalResourceId"]
faults.fail_next(arrange_name, 1, error_type="Lambda.ServiceException")

retried = report("WATER leak under the sink, Via Torino 5", city="MILANO")
print(retried["status"], "->", json.loads(retried["output"])["assignment"]["company"])

# %% [markdown]
# The execution succeeded even though its first call to arrange failed. The history shows both
# attempts: a `LambdaFunctionFailed` event, the wait, then a second `LambdaFunctionScheduled`.
# The last two lines are NotifyCompany's call, which succeeded at once.

# %% tags=["needs-task"]
from gluelab.executions import fetch_history

history = fetch_history(retried["executionArn"])
for event in history["events"]:
    if event["type"].startswith("LambdaFunction") and event["type"] != "LambdaFunctionStarted":
        error = event.get("lambdaFunctionFailedEventDetails", {}).get("error", "")
        print(f"{event['id']:>3}  {event['type']:<26}{error}")

# %% [markdown]
# On the graph, Arrange is coloured *retried*: it failed at least once, then an attempt succeeded.

# %% tags=["needs-task"]
graph.diagram("statemachine/fixit.asl.json", history)

# %% [markdown]
# ## Try it: report a problem nobody fixes
#
# The receiver knows the keyword `GAS`, but no company in the table serves it. Arrange raises
# `NoCompanyFound`; no retrier matches it, the catcher does.

# %% tags=["needs-task"]
no_company = report("GAS smell on the stairs, Via Po 3", city="TORINO")
failure = executions.fetch_history(no_company["executionArn"])["events"][-1].get("executionFailedEventDetails", {})
print(no_company["status"], "with", failure.get("error"), "-", failure.get("cause"))

# %% [markdown]
# Your handset got the apology for this report (its id is the execution's name):

# %% tags=["needs-task"]
apologies = [m.body for m in twilio_local.messages(to=MY_PHONE, limit=20)
             if m.body.startswith("Sorry") and no_company["name"] in m.body]
if not apologies:
    raise TryItFailed(f"No apology about {no_company['name']} reached you: TellReporterNoCompany did "
                      "not run. Check that Arrange's Catch names NoCompanyFound exactly and goes on "
                      "to TellReporterNoCompany, deploy again and run the cells from the GAS report on.")
print(apologies[0])

# %% [markdown]
# On the graph, Arrange is *caught*, the apology *succeeded* and the execution ended in the
# named Fail state; NotifyCompany was *not taken*.

# %% tags=["needs-task"]
graph.diagram("statemachine/fixit.asl.json", fetch_history(no_company["executionArn"]))

# %% [markdown]
# ## Run the checks for this lab
#
# The first check reads your deployed definition and expects Arrange's retriers to match the
# five error names exactly as AWS spells them; then it makes arrange fail with
# `Lambda.ServiceException` and then `Sandbox.Timedout`, and expects the execution to recover.
# The second reports a `GAS` problem and expects the named failure and the apology.

# %% tags=["check"]
from checks import check

check("10")

# %% [markdown]
# ## What you did, and what comes next
#
# Your workflow now tells a passing failure from a permanent one: it retries Lambda's transient
# errors with a growing wait, and turns "no company" into an apology and a failure with a name
# you can search for. None of this needed code in the functions: the error handling lives in
# the definition, where anyone can read it.
#
# **On real AWS** the definition is the same, but you cannot order Lambda to fail. To test a
# retrier there, deploy a version of the function that raises on purpose, or use AWS Fault
# Injection Service; watch the retries in the console's event history, and alarm on the
# `ExecutionsFailed` metric of the state machine in CloudWatch. Each retry is billed as another
# state transition. **On real Twilio** the apology is a real SMS to the reporter's phone, and
# Twilio's own `429` and `5xx` answers are what the notify tasks retry as `TwilioTransientError`.
#
# Next, in **lab 11**, you text the company and the reporter at the same time with a Parallel
# state.
