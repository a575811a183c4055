"""One SMS through the whole Fixit app on the local cloud: webhook, workflow, texts, report, API."""
from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
import requests

from checks.fixit import signed_in_token
from gluelab import executions, faults, twilio_local
from gluelab.config import client
from tests.infra.conftest import STACK

# Ofcom's range for drama (+44 7700 900xxx): never a real phone, and apart from other tests' handsets.
HANDSETS = "+447700900"
REPORTER = f"{HANDSETS}142"


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


# --- faults: a failed text never loses the report ---------------------------------------------

@pytest.fixture
def unreachable_company(fixit):
    """A lift company in Nowhere whose phone Twilio refuses (not E.164): texting it always fails."""
    table = boto3.resource("dynamodb").Table(fixit["CompaniesTableName"])
    company = {"id": "test-unreachable", "category": "LIFT", "city": "Nowhere",
               "name": "Ascensori Irraggiungibili", "phone": "+0"}
    table.put_item(Item=company)
    yield company
    table.delete_item(Key={"id": company["id"]})


def stored(outputs: dict, sid: str) -> dict[str, str]:
    item = client("dynamodb").get_item(TableName=outputs["ReportsTableName"], Key={"id": {"S": sid}})
    return {key: value["S"] for key, value in item.get("Item", {}).items()}


def test_a_company_that_cannot_be_texted_still_gets_the_report_stored_and_the_reporter_told(
        fixit, unreachable_company):
    reporter = f"{HANDSETS}145"
    sid = twilio_local.text_app(reporter, "LIFT stuck on floor 7", from_city="NOWHERE")["message"]["sid"]
    arn = execution_arn(fixit, sid)
    assert finished(arn)["status"] == "SUCCEEDED", failure(arn)
    report = stored(fixit, sid)
    assert (report["company"], report["companyMessageSid"]) == ("Ascensori Irraggiungibili", "NOT_SENT")
    assert report["reporterMessageSid"].startswith("SM")
    texts = texts_to(reporter).values()
    assert (f"Update on report {sid}: we could not reach Ascensori Irraggiungibili by text. "
            "Please call them on +0.") in texts


def test_a_reporter_who_cannot_be_texted_still_gets_the_report_stored(fixit):
    # Started directly: Twilio would not deliver a text from an address it cannot text back.
    report_id = f"SM{uuid.uuid4().hex}"
    arn = client("stepfunctions").start_execution(
        stateMachineArn=fixit["StateMachineArn"], name=report_id, input=json.dumps({
            "reportId": report_id, "reporter": "not-a-phone", "category": "DOOR",
            "text": "lock broken, Via Po 3", "city": "", "receivedAt": "2026-11-27T10:00:00+00:00"}))["executionArn"]
    assert finished(arn)["status"] == "SUCCEEDED", failure(arn)
    report = stored(fixit, report_id)
    assert report["reporterMessageSid"] == "NOT_SENT" and report["companyMessageSid"].startswith("SM")


def test_a_timed_out_or_throttled_text_is_retried_and_sent(fixit):
    notify = client("cloudformation").describe_stack_resource(
        StackName=STACK, LogicalResourceId="NotifyFunction")["StackResourceDetail"]["PhysicalResourceId"]
    faults.fail_next(notify, count=1, error_type="Sandbox.Timedout")
    faults.fail_next(notify, count=1, error_type="Lambda.TooManyRequestsException")
    sid = twilio_local.text_app(f"{HANDSETS}147", "POWER out in the hall, Via Roma 1",
                                from_city="ROMA")["message"]["sid"]
    arn = execution_arn(fixit, sid)
    assert finished(arn)["status"] == "SUCCEEDED", failure(arn)
    events = client("stepfunctions").get_execution_history(executionArn=arn)["events"]
    failed = sorted(e["lambdaFunctionFailedEventDetails"]["error"] for e in events
                    if e["type"] == "LambdaFunctionFailed")
    assert failed == ["Lambda.TooManyRequestsException", "Sandbox.Timedout"]
    report = stored(fixit, sid)
    assert report["companyMessageSid"].startswith("SM") and report["reporterMessageSid"].startswith("SM")
