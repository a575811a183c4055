# %% [markdown]
# # Lab 05 · Implement Step Functions
#
# Fixit's work after a text arrives has several steps: find a company, text two people, store a
# report, and cope when something fails. A Step Functions workflow holds those steps together, so
# that no function has to call the next one. In this lab you start that workflow with its first
# step. By the end you will:
#
# - know what a state machine, a state, a Task and an execution are, and how data flows from one
#   state to the next;
# - have written a workflow in the Amazon States Language (ASL) with one Task that texts the
#   reporter through your notify function;
# - have declared it in SAM with `DefinitionUri` and `DefinitionSubstitutions`, and deployed it;
# - have started a named execution with boto3 and read its history and its coloured diagram.
#
# **Time:** about 35 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("05")
lab.restore()

# %% [markdown]
# ## Learn the words: state machine, state, execution
#
# A **state machine** is a workflow written as JSON in the Amazon States Language. It has a
# `StartAt` and a map of named **states**; each state says what it does and which state comes
# `Next`, or that it is the `End`. The kinds of state you will meet today:
#
# | type | what it does | Fixit uses it in |
# | --- | --- | --- |
# | `Task` | does work: invokes a Lambda function or calls an AWS service | this lab, 09, 13 |
# | `Choice` | picks the next state from the data | (not needed) |
# | `Parallel` | runs branches at the same time, waits for all | lab 11 |
# | `Pass` | passes or reshapes data, does no work | lab 12 |
# | `Wait` | pauses | (not needed) |
# | `Succeed` / `Fail` | ends the execution, well or with a named error | lab 10 |
#
# An **execution** is one run of the machine on one JSON input. Step Functions records every
# step of it in the execution's **history**: which state was entered, what it was given, what
# it returned, what failed. You can start many executions of the same machine; each has a name
# that is unique for that machine.

# %% [markdown]
# ## Follow the data through a Task
#
# Each state receives a JSON document and passes one on. A Task that invokes a Lambda function
# shapes the data in four steps:
#
# ```mermaid
# flowchart LR
#     input["state input"] -- InputPath --> p["Parameters<br>builds the function's event"]
#     p --> fn["Lambda<br>function"]
#     fn -- ResultSelector / ResultPath --> r["result placed<br>into the input"]
#     r -- OutputPath --> output["state output"]
# ```
#
# In `Parameters`, a key ending in `.$` takes its value from a JSONPath into the input
# (`"to.$": "$.reporter"`), and the intrinsic function `States.Format('...{}...', $.a)` builds
# a text from input fields. Without `ResultPath`, the function's result *replaces* the input;
# later labs keep the input and add results next to it.
#
# The receiver (final in lab 06) will start each execution with this input:
#
# ```json
# {"reportId": "SM...", "reporter": "+393331234567", "category": "LIFT",
#  "text": "stuck between floors 3 and 4, Via Roma 12", "city": "Roma",
#  "receivedAt": "2025-06-01T09:30:00+00:00"}
# ```

# %% [markdown]
# ## Write the workflow's first version
#
# One Task, `NotifyReporter`, texts the reporter that the report arrived. Its `Resource` is
# the notify function's ARN. You do not know that ARN when you write the file, and it differs
# per stack and per account; so the file holds a placeholder, `${NotifyFunctionArn}`, which SAM
# replaces at deploy time.
#
# **Your task:** give `NotifyReporter` its `Parameters`: the event your notify function expects,
# `to` from the input's `reporter`, and `body` built with `States.Format` as
# `We got your {category} report {reportId}: {text}. We are finding a company.`

# %%
%%save statemachine/fixit.asl.json
{
  "Comment": "Fixit v05: tell the reporter their report arrived.",
  "StartAt": "NotifyReporter",
  "States": {
    "NotifyReporter": {
      "Type": "Task",
      "Resource": "${NotifyFunctionArn}",
      # BEGIN SOLUTION
      "Parameters": {
        "to.$": "$.reporter",
        "body.$": "States.Format('We got your {} report {}: {}. We are finding a company.', $.category, $.reportId, $.text)"
      },
      # END SOLUTION
      "End": true
    }
  }
}

# %% [markdown]
# `gluelab.graph` draws a definition: useful to see a workflow before you deploy it. With one
# state the picture is short; it grows in every lab from here.

# %% tags=["needs-task"]
from gluelab import graph

graph.diagram("statemachine/fixit.asl.json")

# %% [markdown]
# ## Declare the state machine in SAM
#
# `AWS::Serverless::StateMachine` turns into a Step Functions state machine and its IAM role:
#
# - `DefinitionUri` points at the ASL file; the deploy uploads it with the rest of the project.
# - `DefinitionSubstitutions` maps each `${Name}` placeholder in the file to a value from the
#   template, here the notify function's ARN (`!GetAtt NotifyFunction.Arn`).
# - `Policies` work as for functions: the machine's role may invoke the notify function, and
#   nothing else. SAM's `LambdaInvokePolicy` grants `lambda:InvokeFunction` on one function.
#
# **Your task:** add the `DefinitionSubstitutions` entry that fills `${NotifyFunctionArn}`.

# %%
%%sam Resources
FixitStateMachine:
  Type: AWS::Serverless::StateMachine
  Properties:
    DefinitionUri: statemachine/fixit.asl.json
    DefinitionSubstitutions:
      # BEGIN SOLUTION
      NotifyFunctionArn: !GetAtt NotifyFunction.Arn
      # END SOLUTION
    Policies:
      - LambdaInvokePolicy:
          FunctionName: !Ref NotifyFunction

# %% [markdown]
# You need the machine's ARN to start executions, and so will the receiver in lab 06.
#
# **Your task:** make the `StateMachineArn` output's `Value` the machine's ARN. For a state
# machine, `!Ref` gives the ARN.

# %%
%%sam Outputs
StateMachineArn:
  # BEGIN SOLUTION
  Value: !Ref FixitStateMachine
  # END SOLUTION

# %% [markdown]
# ## Deploy

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: start an execution
#
# Start the machine yourself with boto3, with the input the receiver will send. The `name` must
# be unique for the machine, so this one ends in a random UUID; lab 06 names each execution
# after the message it handles instead.

# %% tags=["needs-task"]
import json
import uuid

from gluelab.config import client, my_phone

MY_PHONE = my_phone()
sfn = client("stepfunctions")
name = f"lab05-{uuid.uuid4()}"
report = {"reportId": name, "reporter": MY_PHONE, "category": "LIFT",
          "text": "stuck between floors 3 and 4, Via Roma 12", "city": "Roma",
          "receivedAt": "2025-06-01T09:30:00+00:00"}
execution_arn = sfn.start_execution(stateMachineArn=outputs["StateMachineArn"], name=name,
                                    input=json.dumps(report))["executionArn"]
print("Started", name)

# %% [markdown]
# `start_execution` returns at once: the workflow runs on its own. Wait for it to finish:
# `executions.wait_for_end` asks `describe_execution` until the status is no longer `RUNNING`.
# An execution that succeeded has an `output`; one that `FAILED` has an `error` and a `cause`
# instead, which say what went wrong.

# %% tags=["needs-task"]
from gluelab import executions

execution = executions.wait_for_end(execution_arn)
print(execution["status"])
if execution["status"] == "SUCCEEDED":
    print("output:", execution["output"])
else:
    print("error:", execution.get("error"))
    print("cause:", execution.get("cause"))
    print("Fix what the cause names in the definition or the template, deploy again, then "
          "run the cells from \"Try it\" again.")

# %% [markdown]
# The output is the notify function's result, because `NotifyReporter` has no `ResultPath`:
# the message's SID, status and recipient replaced the report.

# %% [markdown]
# ## Read the history
#
# Every event the execution went through, in order. For a Lambda Task you see the state being
# entered, the function scheduled, started and succeeded, and the state exited.
# `gluelab.executions.history_table` shows the same events with timings and details.

# %% tags=["needs-task"]
history = executions.fetch_history(execution_arn)
for event in executions.history_table(history).records():
    print(f"{event['id']:>2}  {event['type']:<26} {event['state']}")

# %% [markdown]
# ## See the execution on the diagram
#
# The same diagram, now coloured by what this execution did: green states succeeded.

# %% tags=["needs-task"]
executions.machine_diagram(outputs["StateMachineArn"], execution_arn)

# %% [markdown]
# ## See the text on your phone
#
# Your phone's newest texts, and among them the one about this report.

# %% tags=["needs-task"]
from gluelab import twilio_local

inbox = twilio_local.messages(to=MY_PHONE, limit=5)
about = [text for text in inbox if name in text.body]
if about:
    print(f"{about[0].from_} -> {about[0].to}: {about[0].body}")
else:
    print(f"No text about {name} reached {MY_PHONE}"
          + (f"; the newest one says {inbox[0].body!r}" if inbox else "")
          + ". Read the execution's status above; if it succeeded, NotifyReporter's body does "
          "not name the report: fix its Parameters, deploy, and run the cells again.")

# %% [markdown]
# ## Run the checks for this lab
#
# The checks start an execution of their own for a test handset, wait for it, and read its
# history and the handset's inbox.

# %% tags=["check"]
from checks import check

check("05")

# %% [markdown]
# ## What you did, and how it runs for real
#
# You wrote a one-state workflow in ASL, let SAM fill in the function's ARN and give the machine
# permission to invoke it, started it by name and followed it through its history.
#
# - **On real AWS** the same template deploys a Standard workflow, billed per state transition
#   (lab 00's estimator has the price). The Step Functions console draws the graph of every
#   execution, coloured like the diagram above, and Workflow Studio edits the ASL visually; the
#   file in git stays the source of truth. Execution names may be reused only after the old
#   execution is 90 days gone, which is what makes them useful for idempotency in lab 06.
# - **On real Twilio** nothing changes: the workflow calls your function, which calls Twilio.
#
# Next, in **lab 06**, each text that arrives starts this workflow.
