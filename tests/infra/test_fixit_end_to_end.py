"""One SMS through the whole Fixit app on the local cloud: webhook, workflow, texts, report, API."""
from __future__ import annotations

import json
import time

import boto3
import pytest
import requests

from gluelab import twilio_local
from gluelab.config import client
from gluelab.deploy import deploy
from tests.infra.conftest import INFRA, load_seed

STACK = "fixit-test"


@pytest.fixture
def fixit(aws_local):
    """The deployed app, seeded, with Twilio credentials in SSM and the number's webhook set."""
    outputs = deploy(INFRA, STACK, echo=lambda line: None)
    seed = load_seed()
    seed.seed(boto3.resource("dynamodb").Table(outputs["CompaniesTableName"]), seed.companies())
    twilio_local.store_credentials()
    client("ssm").put_parameter(Name="/fixit/twilio/webhook_url", Value=outputs["WebhookUrl"],
                                Type="String", Overwrite=True)
    twilio_local.set_webhook(outputs["WebhookUrl"])
    return outputs


def finished(execution_arn: str) -> dict:
    sfn = client("stepfunctions")
    for _ in range(600):
        execution = sfn.describe_execution(executionArn=execution_arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError(f"{execution_arn} still running after 30 s")


def failure(execution_arn: str) -> str:
    """The events that explain a failed execution, for assertion messages."""
    events = client("stepfunctions").get_execution_history(executionArn=execution_arn)["events"]
    return "\n".join(json.dumps(e, default=str) for e in events if "Failed" in e["type"])


def execution_arn(outputs: dict, message_sid: str) -> str:
    machine = outputs["StateMachineArn"]
    return machine.replace(":stateMachine:", ":execution:") + ":" + message_sid


def test_a_text_becomes_a_stored_report_and_both_sides_are_told(fixit):
    sent = twilio_local.text_app("+393330000042", "LIFT stuck between floors 3 and 4, Via Roma 12",
                                 from_city="ROMA")
    sid = sent["message"]["sid"]
    assert "Thanks" in sent["replies"][0]["body"], sent["delivery"]
    arn = execution_arn(fixit, sid)
    execution = finished(arn)
    assert execution["status"] == "SUCCEEDED", failure(arn)
    report = json.loads(execution["output"])
    assert report["company"] == "Elevatori Capitale"
    print(json.dumps(report, indent=1))
    inbox = twilio_local.messages(to="+15555550112")
    assert any(sid in m.body for m in inbox)
    reply = requests.get(fixit["ApiUrl"] + f"reports/{sid}", timeout=10)
    assert reply.status_code == 401
