# %% [markdown]
# # Lab 09 · Put arrange in the workflow
#
# Arrange can choose a company; now the workflow has to use it. In this lab the workflow
# becomes two steps: **Arrange** finds the company, **NotifyCompany** texts its on-call phone.
# The interesting part is the data between them. By the end of it you will:
#
# - know how a Task state filters its input and places its result: `InputPath`, `Parameters`,
#   `ResultPath` and `OutputPath`;
# - keep the report *and* the assignment in the workflow's data with `ResultPath`;
# - build the notify task's input from both with `Parameters` and `States.Format`;
# - give the state machine permission to invoke arrange, deploy, and follow one SMS through.
#
# **Time:** about 30 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("09")
lab.restore()

# %% [markdown]
# ## See the workflow you are building
#
# ```mermaid
# flowchart LR
#     start(("start")) --> arrange["Arrange<br>Task: arrange Lambda"]
#     arrange --> notify["NotifyCompany<br>Task: notify Lambda"]
#     notify --> stop(("end"))
# ```
#
# The input of an execution is the report the receiver builds from an SMS:
#
# ```json
# {"reportId": "SM...", "reporter": "+393331234567", "category": "LIFT",
#  "text": "stuck between floors 3 and 4, Via Roma 12", "city": "Roma", "receivedAt": "..."}
# ```
#
# Arrange needs only the category and the city. NotifyCompany needs a phone number (from the
# assignment) and a message (from the report). So the report has to survive the Arrange step.

# %% [markdown]
# ## Learn the four filters of a Task state
#
# Every Task state passes its data through the same pipeline. Each field is optional; leave it
# out and the data passes unchanged.
#
# ```mermaid
# flowchart LR
#     input["state input"] --> ip["InputPath<br>select part of the input"]
#     ip --> params["Parameters<br>build the task's input"]
#     params --> task(["the task runs"])
#     task --> rp["ResultPath<br>where the result goes<br>in the state input"]
#     input -. "the original input" .-> rp
#     rp --> op["OutputPath<br>select part of that"]
#     op --> output["state output"]
# ```
#
# - **`InputPath`** picks part of the state's input, e.g. `"$.assignment"`. Default `"$"`: all of it.
# - **`Parameters`** builds a new JSON object as the task's input. A key ending in `.$` takes its
#   value from a path (`"to.$": "$.assignment.phone"`) or an intrinsic function such as
#   `States.Format('Job {}', $.reportId)`; other keys are fixed values.
# - **`ResultPath`** says where the task's result goes *in the original state input*.
#   `"$.assignment"` adds (or replaces) one field and keeps the rest. The default `"$"` replaces
#   the whole input with the result, and `null` throws the result away and keeps the input.
# - **`OutputPath`** picks the part of that combined document that goes to the next state.
#   Default `"$"`. You will use it in lab 11.
#
# Without a `ResultPath`, Arrange's output would be only the assignment, and the next step would
# no longer know who reported what.

# %% [markdown]
# ## Task 1: write the two-step definition
#
# Replace the definition with two states:
#
# 1. **Arrange**: a Task on `${ArrangeFunctionArn}` (a placeholder that SAM fills in, as it does
#    `${NotifyFunctionArn}`). Arrange reads `category` and `city` from the report, so it gets the
#    whole input. Put its result at `$.assignment`, then go on to `NotifyCompany`.
# 2. **NotifyCompany**: a Task on `${NotifyFunctionArn}`. The notify function expects
#    `{"to": ..., "body": ...}`: build it with `Parameters`, sending to the assignment's `phone`,
#    with the body `Fixit job <reportId>: <category> problem reported by <reporter>: <text>`.
#    Keep its result (the message `sid`, `status`, `to`) at `$.companyMessage`, and end there.
#
# The NotifyReporter step of lab 05 goes away for now. The reporter is texted again in lab 11,
# at the same time as the company and with the company's name in the message.

# %%
%%save statemachine/fixit.asl.json
{
  "Comment": "Fixit: find the company for an SMS report and text the company.",
  "StartAt": "Arrange",
  "States": {
    # BEGIN SOLUTION
    "Arrange": {
      "Type": "Task",
      "Resource": "${ArrangeFunctionArn}",
      "ResultPath": "$.assignment",
      "Next": "NotifyCompany"
    },
    "NotifyCompany": {
      "Type": "Task",
      "Resource": "${NotifyFunctionArn}",
      "Parameters": {
        "to.$": "$.assignment.phone",
        "body.$": "States.Format('Fixit job {}: {} problem reported by {}: {}', $.reportId, $.category, $.reporter, $.text)"
      },
      "ResultPath": "$.companyMessage",
      "End": true
    }
    # END SOLUTION
  }
}

# %% [markdown]
# Check the drawing before you deploy: it is made from the file you just saved, so a typo in a
# `Next` or a missing `StartAt` shows up here as an error that names the state.

# %% tags=["needs-task"]
from gluelab import graph

graph.diagram("statemachine/fixit.asl.json")

# %% [markdown]
# ## Task 2: give the state machine the arrange function
#
# Two things in the `FixitStateMachine` entry connect it to the new function:
#
# - a **substitution** `ArrangeFunctionArn` with the function's ARN (`!GetAtt ArrangeFunction.Arn`),
#   which replaces `${ArrangeFunctionArn}` in the definition at deploy time;
# - a **policy**: the state machine's role may invoke the notify function only, so add a
#   `LambdaInvokePolicy` for `ArrangeFunction` too. Without it the first execution fails at
#   Arrange, here as on AWS, with a cause that reads "... is not authorized to perform:
#   lambda:InvokeFunction on resource: ...fixit-ArrangeFunction...": the workflow calls Lambda
#   as the state machine's role.

# %%
%%sam Resources
FixitStateMachine:
  Type: AWS::Serverless::StateMachine
  Properties:
    DefinitionUri: statemachine/fixit.asl.json
    DefinitionSubstitutions:
      # BEGIN SOLUTION
      ArrangeFunctionArn: !GetAtt ArrangeFunction.Arn
      # END SOLUTION
      NotifyFunctionArn: !GetAtt NotifyFunction.Arn
    Policies:
      # BEGIN SOLUTION
      - LambdaInvokePolicy:
          FunctionName: !Ref ArrangeFunction
      # END SOLUTION
      - LambdaInvokePolicy:
          FunctionName: !Ref NotifyFunction

# %% [markdown]
# ## Deploy

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: report a stuck lift from Roma
#
# Your simulated handset texts the Fixit number, as in lab 06. The receiver answers at once and
# starts an execution named after the message; the function below then waits until that
# execution has finished (`executions.execution_arn` builds its ARN as you did in lab 06). `from_city` plays the part of the city Twilio adds when it knows
# where a number is registered.

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
print(execution["status"])
print(json.dumps(json.loads(execution["output"]), indent=2))

# %% [markdown]
# The output is the report with two fields added, one by each `ResultPath`: `assignment`, the
# company in Roma that fixes lifts, and `companyMessage`, what the notify task returned.

# %% [markdown]
# ## Try it: follow the data through each state
#
# The execution's history records the input and output of every state. Look at Arrange: its
# input is the report, its output is the same report plus the assignment.

# %% tags=["needs-task"]
from gluelab.executions import fetch_history

history = fetch_history(execution["executionArn"])
arrange_step = graph.state_io(history, "Arrange")[0]
print("Arrange input keys: ", sorted(arrange_step["input"]))
print("Arrange output keys:", sorted(arrange_step["output"]))
print("assignment:         ", arrange_step["output"]["assignment"])

# %% [markdown]
# And the drawing, coloured by what this execution did:

# %% tags=["needs-task"]
graph.diagram("statemachine/fixit.asl.json", history)

# %% [markdown]
# ## Try it: read the company's phone
#
# The on-call phone of Elevatori Capitale is a simulated handset too. Its newest message is the
# job, built by `States.Format` from the report.

# %% tags=["needs-task"]
company_phone = json.loads(execution["output"])["assignment"]["phone"]
print(company_phone, "received:", twilio_local.messages(to=company_phone, limit=1)[0].body)

# %% [markdown]
# ## Run the checks for this lab
#
# The checks start an execution with a report of their own, then look for the assignment in
# its output and for the job text on the company's phone.

# %% tags=["check"]
from checks import check

check("09")

# %% [markdown]
# ## What you did, and what comes next
#
# Your workflow now chains two Lambda functions without any code between them: `ResultPath`
# keeps the report next to the assignment, and `Parameters` shapes the next task's input from
# both. The state machine's role may invoke exactly the two functions it uses.
#
# **On real AWS** the definition and template are the same. The Step Functions console draws
# the workflow and, for each execution, shows every state's input and output in its "Execution
# event history"; Standard workflows are billed per state transition (one per state entered,
# plus one per retry: two here, Arrange and NotifyCompany). **On real Twilio** the company's text goes to a real phone, so the
# companies' numbers in the seed data must be numbers you may text (on a trial account, only
# verified numbers).
#
# Next, in **lab 10**, you decide what happens when arrange fails: retry when the failure is
# temporary, tell the reporter when no company exists.
