"""The finished app driven from a terminal, as an instructor demos it: `gluelab deploy infra`,
`gluelab sms webhook`, `gluelab sms send`, then the texts, the stored report and the API."""
from __future__ import annotations

import json
import re

import pytest
import requests

from gluelab import twilio_local
from gluelab.cli import main
from gluelab.config import client
from tests.infra.conftest import INFRA
from tests.infra.test_fixit_end_to_end import execution_arn, finished, id_token, texts_to

STACK = "fixit-cli"
REPORTER = "+447700900171"  # Ofcom's drama range: never a real phone
SID = re.compile(r"\((SM[0-9a-f]{32})\)")


@pytest.fixture
def app(aws_local, capsys):
    """The reference app deployed and connected with the commands an instructor types."""
    assert main(["deploy", str(INFRA), "--stack", STACK]) == 0
    stack = client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    twilio_local.store_credentials()
    client("ssm").put_parameter(Name="/fixit/twilio/webhook_url", Value=outputs["WebhookUrl"],
                                Type="String", Overwrite=True)
    previous = twilio_local.rest_client().incoming_phone_numbers.list(
        phone_number=twilio_local.credentials().phone_number)[0].sms_url
    assert main(["sms", "webhook", outputs["WebhookUrl"]]) == 0
    capsys.readouterr()
    yield outputs
    twilio_local.set_webhook(previous or "")


def send(capsys, body: str) -> str:
    """`gluelab sms send` from the reporter's handset; the MessageSid it printed."""
    assert main(["sms", "send", "--from", REPORTER, body]) == 0
    return SID.search(capsys.readouterr().out)[1]


def reports_with_id(outputs: dict, sid: str) -> list[dict]:
    return client("dynamodb").query(
        TableName=outputs["ReportsTableName"], KeyConditionExpression="id = :id",
        ExpressionAttributeValues={":id": {"S": sid}})["Items"]


def test_a_report_texted_from_the_terminal_reaches_the_company_the_reporter_and_the_api(app, capsys):
    sid = send(capsys, "LIFT stuck between floors 3 and 4, Via Roma 12")
    execution = finished(execution_arn(app, sid))
    assert execution["status"] == "SUCCEEDED"
    report = json.loads(execution["output"])
    assert sid in texts_to(report["companyPhone"])[report["companyMessageSid"]]
    assert "is on the way" in texts_to(REPORTER)[report["reporterMessageSid"]]
    reply = requests.get(f"{app['ApiUrl']}reports/{sid}", headers={"Authorization": id_token(app)},
                         timeout=10)
    assert reply.status_code == 200 and reply.json()["id"] == sid
    assert main(["sms", "inbox", REPORTER]) == 0
    assert "is on the way" in capsys.readouterr().out


def test_an_unknown_category_gets_the_apology_and_no_report(app, capsys):
    sid = send(capsys, "GAS smell on the stairs, Via Po 3")
    assert finished(execution_arn(app, sid))["status"] == "FAILED"
    assert any(body.startswith("Sorry, no company handles GAS problems yet")
               for body in texts_to(REPORTER).values())
    assert reports_with_id(app, sid) == []


def test_a_repeated_webhook_produces_one_report(app, capsys):
    sid = send(capsys, "WATER leak under the sink, Via Po 3")
    delivery = twilio_local.delivery(sid)
    again = requests.post(delivery["url"], data=delivery["params"],
                          headers={"X-Twilio-Signature": delivery["signature"]}, timeout=30)
    assert again.status_code == 200
    assert finished(execution_arn(app, sid))["status"] == "SUCCEEDED"
    machine = app["StateMachineArn"]
    runs = client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert [run["name"] for run in runs].count(sid) == 1
    assert len(reports_with_id(app, sid)) == 1
