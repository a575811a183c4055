"""One SMS through the whole Fixit app on the local cloud: webhook, workflow, texts, report, API."""
from __future__ import annotations

import json
import time

import boto3
import pytest
import requests

from checks.fixit import signed_in_token
from gluelab import executions, faults, twilio_local
from gluelab.config import client
from gluelab.deploy import deploy
from tests.infra.conftest import INFRA, STACK, load_seed

# Ofcom's range for drama (+44 7700 900xxx): never a real phone, and apart from other tests' handsets.
HANDSETS = "+447700900"
REPORTER = f"{HANDSETS}142"


@pytest.fixture
def fixit(aws_local):
    """The deployed app, seeded, with Twilio credentials in SSM and the number's webhook set."""
    outputs = deploy(INFRA, STACK, echo=lambda line: None)
    seed = load_seed()
    seed.seed(boto3.resource("dynamodb").Table(outputs["CompaniesTableName"]), seed.companies())
    twilio_local.store_credentials()
    client("ssm").put_parameter(Name="/fixit/twilio/webhook_url", Value=outputs["WebhookUrl"],
                                Type="String", Overwrite=True)
    previous = twilio_local.rest_client().incoming_phone_numbers.list(
        phone_number=twilio_local.credentials().phone_number)[0].sms_url
    twilio_local.set_webhook(outputs["WebhookUrl"])
    yield outputs
    twilio_local.set_webhook(previous or "")


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
    return executions.execution_arn(outputs["StateMachineArn"], message_sid)


def texts_to(number: str) -> dict[str, str]:
    """SMS body by message SID, for every text the number received."""
    return {m.sid: m.body for m in twilio_local.messages(to=number, limit=100)}


def id_token(outputs: dict) -> str:
    """A signed-in user's ID token from the app's user pool."""
    return signed_in_token(outputs, "desk@example.com", "Correct-Horse-42")


def test_a_text_becomes_a_stored_report_served_to_signed_in_users(fixit):
    sent = twilio_local.text_app(REPORTER, "lift: stuck between floors 3 and 4, Via Roma 12",
                                 from_city="ROMA")
    sid = sent["message"]["sid"]
    assert [reply["body"] for reply in sent["replies"]] == [
        f"Thanks! We got your lift report ({sid}) and are finding a company: "
        "we will text you when one is on the way."]
    arn = execution_arn(fixit, sid)
    execution = finished(arn)
    assert execution["status"] == "SUCCEEDED", failure(arn)
    report = json.loads(execution["output"])
    assert {k: report[k] for k in ("id", "category", "text", "city", "reporter", "company")} == {
        "id": sid, "category": "LIFT", "text": "stuck between floors 3 and 4, Via Roma 12",
        "city": "Roma", "reporter": REPORTER, "company": "Elevatori Capitale"}
    to_company = texts_to("+15555550112")[report["companyMessageSid"]]
    to_reporter = texts_to(REPORTER)[report["reporterMessageSid"]]
    assert sid in to_company and "Elevatori Capitale is on the way" in to_reporter

    url = fixit["ApiUrl"] + f"reports/{sid}"
    assert requests.get(url, timeout=10).status_code == 401
    signed_in = {"Authorization": id_token(fixit)}
    reply = requests.get(url, headers=signed_in, timeout=10)
    assert (reply.status_code, reply.json()) == (200, report)
    missing = requests.get(fixit["ApiUrl"] + "reports/SMnothing", headers=signed_in, timeout=10)
    assert (missing.status_code, missing.json()) == (404, {"message": "No report with id SMnothing."})


def test_a_category_no_company_serves_ends_in_the_named_failure_and_the_reporter_is_told(fixit):
    sent = twilio_local.text_app(f"{HANDSETS}143", "GAS smell on the stairs, Via Po 3")
    sid = sent["message"]["sid"]
    arn = execution_arn(fixit, sid)
    assert finished(arn)["status"] == "FAILED"
    events = client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    assert entered[-2:] == ["TellReporterNoCompany", "NoCompanyForCategory"]
    assert events[-1]["executionFailedEventDetails"]["error"] == "NoCompanyFound"
    assert any(text.startswith(f"Sorry, no company handles GAS problems yet, so report {sid}")
               for text in texts_to(f"{HANDSETS}143").values())


def test_a_transient_arrange_failure_is_retried_and_the_report_still_goes_through(fixit):
    arrange = client("cloudformation").describe_stack_resource(
        StackName=STACK, LogicalResourceId="ArrangeFunction")["StackResourceDetail"]["PhysicalResourceId"]
    faults.fail_next(arrange, count=1, error_type="Lambda.ServiceException")
    # Without FromCity: the report is stored with an empty city.
    sid = twilio_local.text_app(f"{HANDSETS}144", "WATER leak under the sink")["message"]["sid"]
    arn = execution_arn(fixit, sid)
    assert finished(arn)["status"] == "SUCCEEDED", failure(arn)
    events = client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    failed = [e["lambdaFunctionFailedEventDetails"]["error"] for e in events
              if e["type"] == "LambdaFunctionFailed"]
    assert failed == ["Lambda.ServiceException"]
    stored = client("dynamodb").get_item(TableName=fixit["ReportsTableName"], Key={"id": {"S": sid}})["Item"]
    assert (stored["company"], stored["city"]) == ({"S": "Acqua Pronto Milano"}, {"S": ""})
