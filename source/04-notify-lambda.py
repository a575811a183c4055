# %% [markdown]
# # Lab 04 · Send a notification from a Lambda
#
# Fixit must text people: the company that fixes the problem, and the person who reported it.
# In this lab you write the one function that does all the texting. By the end you will:
#
# - know how an app sends an SMS through Twilio's REST API with the official `twilio` client;
# - know where a Lambda function should keep secrets: Parameter Store rather than plain
#   environment variables;
# - have written the *notify* function, declared it in the template with the permissions it
#   needs, and deployed it;
# - have invoked it yourself with boto3 and seen the text arrive on your phone.
#
# **Time:** about 30 minutes.

# %%
from gluelab.lab import open_lab

lab = open_lab("04")
lab.restore()

# %% [markdown]
# ## Understand how an app sends a text
#
# Receiving and sending are two different conversations with Twilio:
#
# - **In:** when someone texts the Fixit number, Twilio calls *your* webhook (labs 02 and 03).
# - **Out:** to send a text, *your code* calls Twilio's REST API: an HTTPS `POST` to
#   `/2010-04-01/Accounts/{AccountSid}/Messages.json` with `To`, `From` and `Body`, authenticated
#   with the account SID and the auth token.
#
# You will not write that request by hand. The official Python client wraps it in one call,
# `client.messages.create(to=..., from_=..., body=...)`, which returns the new message with its
# SID (`SM...`) and status (`queued`, then `sent`, `delivered`). `from_` has an underscore
# because `from` is a Python keyword.
#
# ```mermaid
# flowchart LR
#     caller["You, or the workflow<br>{to, body}"] --> notify["Notify<br>Lambda"]
#     ssm[("Parameter Store<br>/fixit/twilio/*")] -. SID, token, number .-> notify
#     notify -- "POST Messages.json" --> twilio["Twilio"]
#     twilio -- SMS --> phone["Your phone"]
# ```
#
# The function takes `{"to": "+39...", "body": "..."}` and returns `{"sid", "status", "to"}`.
# It does not know about reports or companies: in lab 05 the workflow decides who gets which text,
# and calls this function for each one.

# %% [markdown]
# ## Decide where the Twilio secrets live
#
# The function needs three values: the account SID, the auth token and the Fixit number. The
# token is a password: whoever has it can send texts on your bill and read your messages.
#
# - **Environment variables** are easy, but their values are part of the function's
#   configuration: anyone who can read the function (console, `get-function-configuration`,
#   the template in git) reads the token.
# - **Parameter Store** (AWS Systems Manager) keeps named values in a hierarchy such as
#   `/fixit/twilio/auth_token`. A `SecureString` is encrypted with KMS; reading it needs an IAM
#   permission for that name, and every read is recorded in CloudTrail. Changing the token does
#   not need a redeploy.
#
# Fixit uses both, each for what it is good at: the environment variables hold only the
# **names** of the parameters, and the code reads the **values** from Parameter Store when it
# starts. Lab 03 already stored the three values as SecureStrings; here are their names (never
# print the values).

# %%
from gluelab.config import client

stored = client("ssm").describe_parameters(
    ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": ["/fixit/twilio/"]}])["Parameters"]
for parameter in sorted(stored, key=lambda p: p["Name"]):
    print(f"{parameter['Name']:<30} {parameter['Type']}")

# %% [markdown]
# ## Write the notify function
#
# Read the file top to bottom before you fill the blank:
#
# - `credentials()` reads the three parameters in **one** `get_parameters` call with
#   `WithDecryption=True`. `functools.cache` keeps the result for the life of the execution
#   environment, so a warm function does not ask Parameter Store again on every text.
# - `is_transient()` sorts Twilio's failures: a rate limit (429) or an outage (5xx) may work
#   later, so the function raises `TwilioTransientError`, which lab 10's workflow will retry;
#   a wrong number or a bad token will never work, so that error goes through unchanged.
# - `handler()` puts the pieces together.
#
# **Your task:** in `send_sms`, send the text with the client's `messages.create`, to `to`,
# from `from_`, with `body`, and keep the result in `message`.

# %%
%%save functions/notify/app.py
"""Workflow task: send one SMS through Twilio.

Input `{"to": "+393331234567", "body": "..."}`; output `{"sid", "status", "to"}`.
The account SID, auth token and the Fixit number are SecureString parameters in SSM, named by
the environment variables below. When Twilio is briefly unavailable the task fails with
`TwilioTransientError`, which the state machine retries; any other Twilio refusal (a wrong
number, a bad token) fails the task at once, because retrying cannot fix it.
"""
from __future__ import annotations

import functools
import os

import boto3
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

CREDENTIAL_VARIABLES = ("TWILIO_ACCOUNT_SID_PARAMETER", "TWILIO_AUTH_TOKEN_PARAMETER",
                        "TWILIO_PHONE_NUMBER_PARAMETER")


class TwilioTransientError(Exception):
    """Twilio could not take the message now (rate limit, outage, network): try again later."""


def is_transient(exc: Exception) -> bool:
    # requests' connection errors, which the twilio client lets through, are OSErrors.
    if isinstance(exc, TwilioRestException):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, OSError)


def notification(event: dict) -> tuple[str, str]:
    """The recipient and text of the SMS a workflow task asks for."""
    missing = [key for key in ("to", "body") if not event.get(key)]
    if missing:
        raise ValueError(f"The notify task needs 'to' and 'body' in its input; missing "
                         f"{', '.join(missing)} in {sorted(event)}. Check the state's Parameters.")
    return event["to"], event["body"]


def send_sms(client: Client, from_: str, to: str, body: str) -> dict:
    try:
        # BEGIN SOLUTION
        message = client.messages.create(to=to, from_=from_, body=body)
        # END SOLUTION
    except Exception as exc:
        if is_transient(exc):
            raise TwilioTransientError(f"Twilio did not take the SMS to {to}: {exc}") from exc
        raise
    return {"sid": message.sid, "status": message.status, "to": message.to}


@functools.cache
def credentials() -> tuple[str, str, str]:
    """(account SID, auth token, Fixit number), read once per execution environment."""
    names = [os.environ[variable] for variable in CREDENTIAL_VARIABLES]
    reply = boto3.client("ssm").get_parameters(Names=names, WithDecryption=True)
    if reply["InvalidParameters"]:
        raise RuntimeError(f"SSM parameters {', '.join(reply['InvalidParameters'])} do not "
                           f"exist; put the Twilio credentials there (see infra/README.md).")
    values = {p["Name"]: p["Value"] for p in reply["Parameters"]}
    return tuple(values[name] for name in names)


def handler(event, context):
    to, body = notification(event)
    account_sid, auth_token, number = credentials()
    return send_sms(Client(account_sid, auth_token), number, to, body)

# %% [markdown]
# Like the receiver, the function imports `twilio`, which Lambda's Python runtime lacks: its
# `requirements.txt` names it, so the build installs it into the function's package.

# %%
%reference functions/notify/requirements.txt

# %% [markdown]
# ## Declare the parameter names in the template
#
# Lab 03 declared template parameters for the webhook URL and the auth token. Add the two the
# notify function needs besides the token. Their defaults are the names lab 03 stored the values
# under; the `AllowedPattern` makes a deploy fail early if someone passes a name without the
# leading `/`.

# %%
%%sam Parameters
TwilioAccountSidParameter:
  Type: String
  Default: /fixit/twilio/account_sid
  AllowedPattern: ^/.+
  Description: SSM SecureString parameter holding the Twilio account SID (AC...).
TwilioPhoneNumberParameter:
  Type: String
  Default: /fixit/twilio/phone_number
  AllowedPattern: ^/.+
  Description: SSM parameter holding the Fixit Twilio phone number in E.164 form (+1...).

# %% [markdown]
# ## Declare the function and what it may read
#
# The function gets the three parameter **names** as environment variables, which is what
# `credentials()` reads. It has no event: nobody calls it over HTTP; you invoke it directly now,
# and the workflow will from lab 05 on.
#
# A function may do only what its policies allow. SAM's policy template
# `SSMParameterWithSlashPrefixReadPolicy` grants `ssm:GetParameter(s)` on one parameter name
# (the "slash prefix" means it accepts names that start with `/`).
#
# **Your task:** under `Policies`, grant read access to each of the three parameters, one
# `SSMParameterWithSlashPrefixReadPolicy` entry per parameter, its `ParameterName` a `!Ref` to
# the template parameter.

# %%
%%sam Resources
NotifyFunction:
  Type: AWS::Serverless::Function
  Properties:
    Description: Sends one SMS through Twilio.
    CodeUri: functions/notify/
    Environment:
      Variables:
        TWILIO_ACCOUNT_SID_PARAMETER: !Ref TwilioAccountSidParameter
        TWILIO_AUTH_TOKEN_PARAMETER: !Ref TwilioAuthTokenParameter
        TWILIO_PHONE_NUMBER_PARAMETER: !Ref TwilioPhoneNumberParameter
    Policies:
      # BEGIN SOLUTION
      - SSMParameterWithSlashPrefixReadPolicy:
          ParameterName: !Ref TwilioAccountSidParameter
      - SSMParameterWithSlashPrefixReadPolicy:
          ParameterName: !Ref TwilioAuthTokenParameter
      - SSMParameterWithSlashPrefixReadPolicy:
          ParameterName: !Ref TwilioPhoneNumberParameter
      # END SOLUTION

# %% [markdown]
# ## Deploy
#
# The deploy packages the new function folder and adds the function to the `fixit` stack. On
# AWS, `gluelab deploy` installs the packages of its `requirements.txt` into the package first;
# the local cloud, which works offline, lends the function its own copies of exactly those
# packages. Without the `requirements.txt`, the function fails to start here as it would on
# AWS: `Runtime.ImportModuleError: Unable to import module 'app': No module named 'twilio'`.

# %% tags=["deploy"]
outputs = lab.deploy()

# %% [markdown]
# ## Try it: invoke the function with boto3
#
# The stack named the function for you (`fixit-NotifyFunction-...`). Ask CloudFormation for
# the real name behind the logical id `NotifyFunction`, then invoke it the way any AWS client
# would: `RequestResponse` waits for the result.

# %% tags=["needs-task"]
import json

from gluelab.config import client, my_phone

MY_PHONE = my_phone()
notify_name = client("cloudformation").describe_stack_resource(
    StackName="fixit", LogicalResourceId="NotifyFunction")["StackResourceDetail"]["PhysicalResourceId"]

reply = client("lambda").invoke(
    FunctionName=notify_name, InvocationType="RequestResponse",
    Payload=json.dumps({"to": MY_PHONE, "body": "Fixit here: your first text from a Lambda function."}))
result = json.loads(reply["Payload"].read())
print("FunctionError:", reply.get("FunctionError", "none"))
print("status:", result.get("status"), "| to:", result.get("to"))

# %% [markdown]
# If `FunctionError` is not `none`, `result` holds the error: a `KeyError` names an environment
# variable missing from the template; a `RuntimeError` a parameter missing from Parameter Store
# (run lab 03's setup cell); an `AccessDeniedException` a policy missing from `Policies` (next
# section).

# %% [markdown]
# ## Read an AccessDenied
#
# A missing permission is the error you will meet most often on AWS, and the local cloud
# enforces IAM as AWS does. See one on purpose: point the function, for one call, at a
# parameter its policies do not name, then put its configuration back. (Changing the variable
# gives the function a fresh execution environment, so `credentials()` reads again.)

# %% tags=["needs-task", "nbval-ignore-output"]
lambda_client = client("lambda")
variables = lambda_client.get_function_configuration(FunctionName=notify_name)["Environment"]["Variables"]
try:
    lambda_client.update_function_configuration(FunctionName=notify_name, Environment={"Variables": {
        **variables, "TWILIO_PHONE_NUMBER_PARAMETER": "/fixit/twilio/not_granted"}})
    reply = lambda_client.invoke(FunctionName=notify_name, Payload=json.dumps({"to": MY_PHONE, "body": "-"}))
    denied = json.loads(reply["Payload"].read())
finally:
    lambda_client.update_function_configuration(FunctionName=notify_name, Environment={"Variables": variables})
print(denied["errorType"])
print(denied["errorMessage"].replace(": User:", ":\nUser:").replace(" on resource:", "\non resource:")
      .replace(" because", "\nbecause"))

# %% [markdown]
# Read it line by line:
#
# - **who** was refused: `arn:aws:sts::...:assumed-role/ROLE/FUNCTION`, the function's
#   execution role, which Lambda assumes for every call the handler makes;
# - **what** it tried: `ssm:GetParameters`, the IAM action of the API call;
# - **on what**: the parameter's ARN;
# - **why**: no identity-based policy (the role's `Policies`) allows that action on that resource.
#
# The fix is always a policy in the template for exactly that action and resource, never a
# wider one: here, an `SSMParameterWithSlashPrefixReadPolicy` for that parameter name. The
# function's log (`gluelab logs FUNCTION`) keeps the same line, which is where the checks read
# it.

# %% [markdown]
# ## See the text on your phone
#
# On the local cloud, Twilio is a stand-in that keeps every message. Ask it, through the same
# REST API, what arrived on your handset, newest first.

# %% tags=["needs-task"]
from gluelab import twilio_local

newest = twilio_local.messages(to=MY_PHONE, limit=1)[0]
print(f"{newest.from_} -> {newest.to}: {newest.body}")

# %% [markdown]
# The handset widget shows the same conversation; it keeps refreshing while it is on screen.

# %% tags=["nbval-ignore-output"]
from gluelab.phone import Phone

Phone(MY_PHONE)

# %% [markdown]
# ## Run the checks for this lab
#
# The checks invoke your function with a fresh message to a test handset and make sure exactly
# one SMS with that text left the Fixit number.

# %% tags=["check"]
from checks import check

check("04")

# %% [markdown]
# ## What you did, and how it runs for real
#
# You wrote a small Lambda function that sends one SMS through the official Twilio client,
# reading its secrets from Parameter Store, with permissions for exactly those three parameters.
#
# - **On real AWS** the same template and code work unchanged. Put your real Twilio values in
#   Parameter Store first, e.g. `aws ssm put-parameter --name /fixit/twilio/auth_token --type
#   SecureString --value ...` (without `--value` in your shell history: use `file://` or the
#   console). SecureStrings use the AWS-managed key `alias/aws/ssm` unless you choose your own;
#   with a customer-managed key the function would also need `kms:Decrypt`.
# - **On real Twilio** a trial account can only text numbers you have verified, and prefixes
#   trial messages with "Sent from your Twilio trial account". Texts are billed per segment:
#   one SMS holds 160 characters, a longer text is split into segments of 153 (67 if it has
#   characters outside the GSM alphabet, such as emoji); lab 00's estimator has the price.
#
# Next, in **lab 05**, a Step Functions workflow calls this function for you.
