"""End to end in the local cloud: Lambda functions use the unmodified twilio client with the
token read from SSM, and a deployed receiver checks the webhook signature."""
from __future__ import annotations

import io
import json
import textwrap
import zipfile

import requests

from gluelab import twilio_local
from gluelab.config import client
from tests.cloud.test_api_front import Api

NOTIFY = """
import boto3
from twilio.rest import Client

ssm = boto3.client("ssm")


def secret(name):
    return ssm.get_parameter(Name="/fixit/twilio/" + name, WithDecryption=True)["Parameter"]["Value"]


def handler(event, context):
    twilio = Client(secret("account_sid"), secret("auth_token"))
    message = twilio.messages.create(to=event["to"], from_=secret("phone_number"), body=event["body"])
    return {"sid": message.sid, "status": message.status}
"""

RECEIVER = """
import base64
import os
from urllib.parse import parse_qsl

import boto3
from twilio.request_validator import RequestValidator

token = boto3.client("ssm").get_parameter(
    Name="/fixit/twilio/auth_token", WithDecryption=True)["Parameter"]["Value"]


def handler(event, context):
    body = event["body"] or ""
    if event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode()
    params = dict(parse_qsl(body, keep_blank_values=True))
    signature = {k.lower(): v for k, v in event["headers"].items()}.get("x-twilio-signature", "")
    if not RequestValidator(token).validate(os.environ["WEBHOOK_URL"], params, signature):
        return {"statusCode": 403, "body": "forged"}
    return {"statusCode": 200, "headers": {"Content-Type": "text/xml"},
            "body": "<Response><Message>Fixit got: " + params["Body"] + "</Message></Response>"}
"""


def deploy(name: str, code: str, **environment) -> str:
    role = client("iam").create_role(RoleName=f"{name}-role",
                                     AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    # IAM is enforced: the functions read the Twilio credentials from Parameter Store.
    client("iam").put_role_policy(RoleName=f"{name}-role", PolicyName="twilio-parameters",
                                  PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{
                                      "Effect": "Allow", "Action": "ssm:GetParameter",
                                      "Resource": "arn:aws:ssm:*:*:parameter/fixit/twilio/*"}]}))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", textwrap.dedent(code))
        zipped.writestr("requirements.txt", "twilio\n")  # Lambda's runtime has boto3 only
    return client("lambda").create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler", Timeout=30,
        Code={"ZipFile": archive.getvalue()},
        Environment={"Variables": environment})["FunctionArn"]


def test_lambda_sends_sms_with_the_twilio_client_and_it_reaches_the_handset(twilio, handset):
    names = twilio_local.store_credentials()
    token = client("ssm").get_parameter(Name="/fixit/twilio/auth_token", WithDecryption=True)
    assert token["Parameter"]["Type"] == "SecureString" and len(names) == 3
    deploy("notify", NOTIFY)
    reply = client("lambda").invoke(FunctionName="notify", Payload=json.dumps(
        {"to": handset, "body": "Elevator Co. is on its way"}))
    result = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, result
    assert result["status"] == "queued"
    assert [m.body for m in twilio.messages.list(to=handset)] == ["Elevator Co. is on its way"]


def test_handset_text_reaches_a_deployed_receiver_that_validates_it(local, twilio, handset):
    twilio_local.store_credentials()
    api = Api(client("apigateway"))
    webhook = api.url(local.endpoint, "/sms")
    api.proxy("POST", "/sms", deploy("receiver", RECEIVER, WEBHOOK_URL=webhook))
    api.deploy()
    twilio_local.set_webhook(webhook)
    result = twilio_local.text_app(handset, "LIFT stuck at floor 3")
    assert result["delivery"]["error"] is None, result["delivery"]
    assert [m.body for m in twilio.messages.list(to=handset)] == ["Fixit got: LIFT stuck at floor 3"]
    # Replaying the signed request with a changed body fails the receiver's check.
    replay = {**result["delivery"]["params"], "Body": "LIFT fixed"}
    forged = requests.post(webhook, data=replay,
                           headers={"X-Twilio-Signature": result["delivery"]["signature"]})
    assert forged.status_code == 403
