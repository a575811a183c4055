"""The SMS webhook: parsing, TwiML, Twilio signatures, and what the handler does with each text."""
from __future__ import annotations

import base64
import json
import uuid
import xml.etree.ElementTree as ElementTree
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from gluelab.config import client
from gluelab.executions import execution_arn
from tests.infra.conftest import TOKEN, URL, load_function

receiver = load_function("receiver")
Report, ParseError, parse_report = receiver.Report, receiver.ParseError, receiver.parse_report



@pytest.mark.parametrize("body, report", [
    ("LIFT stuck between floors 3 and 4, Via Roma 12",
     Report("LIFT", "stuck between floors 3 and 4, Via Roma 12", "")),
    ("lift: stuck on floor 2", Report("LIFT", "stuck on floor 2", "")),
    ("Elevator doors will not open", Report("LIFT", "doors will not open", "")),
    ("  WATER   leak in\nthe cellar ", Report("WATER", "leak in the cellar", "")),
    ("Heating off in flat 4", Report("HEAT", "off in flat 4", "")),
])
def test_keyword_becomes_category_and_the_rest_is_the_text(body, report):
    assert parse_report(body) == report


def test_city_from_twilio_is_kept_in_a_readable_form():
    assert parse_report("DOOR front door lock broken", "  MILANO ").city == "Milano"


@pytest.mark.parametrize("body, words", [
    ("", "Your message was empty"),
    ("   \n ", "Your message was empty"),
    ("PIZZA margherita please", "'PIZZA' is not a kind of problem we know"),
    ("LIFT", "Please say what is wrong with the lift and where"),
    ("LIFT " + "x" * 500, "Your message has 505 characters; keep a report under 459"),
])
def test_bad_texts_get_a_reply_that_says_how_to_write_a_report(body, words):
    parsed = parse_report(body)
    assert isinstance(parsed, ParseError)
    assert words in parsed.reply
    assert "Example: LIFT stuck between floors 3 and 4" in parsed.reply


def test_unknown_keyword_reply_lists_the_categories():
    assert "DOOR, GAS, HEAT, LIFT, POWER, WATER" in parse_report("PIZZA now").reply


def test_twiml_escapes_what_the_sender_wrote():
    text = 'Report <b>"LIFT"</b> & more'
    document = receiver.twiml(text)
    assert "<b>" not in document
    assert ElementTree.fromstring(document).find("Message").text == text


def signed_event(params: dict, url: str = URL, token: str = TOKEN, base64_body: bool = False) -> dict:
    body = urlencode(params)
    signature = RequestValidator(token).compute_signature(url, params)
    if base64_body:  # HTTP APIs and function URLs pass form bodies base64-encoded
        body = base64.b64encode(body.encode()).decode()
    return {"body": body, "isBase64Encoded": base64_body,
            "headers": {"x-twilio-signature": signature, "Content-Type": "application/x-www-form-urlencoded"}}


def params(body: str = "LIFT stuck on floor 2", **extra) -> dict:
    # Twilio sends geographic fields blank when it does not know them: they are signed too.
    return {"MessageSid": "SM" + uuid.uuid4().hex, "From": "+393330000001", "To": "+15555550100",
            "Body": body, "FromCity": "", **extra}


def validity(event: dict, url: str = URL) -> bool:
    return receiver.signature_valid(TOKEN, url, receiver.form_params(event),
                                    receiver.header(event, "X-Twilio-Signature"))


@pytest.mark.parametrize("base64_body", [False, True])
def test_a_correctly_signed_request_is_accepted(base64_body):
    assert validity(signed_event(params(), base64_body=base64_body))


def test_a_request_signed_with_another_token_is_rejected():
    assert not validity(signed_event(params(), token="0" * 32))


def test_a_request_whose_body_changed_after_signing_is_rejected():
    event = signed_event(params("LIFT stuck"))
    event["body"] = event["body"].replace("stuck", "fine")
    assert not validity(event)


def test_a_request_signed_for_another_url_or_unsigned_is_rejected():
    assert not validity(signed_event(params(), url=URL + "/"))
    unsigned = signed_event(params())
    unsigned["headers"].pop("x-twilio-signature")
    assert not validity(unsigned)


# --- the handler against the local cloud (SSM and Step Functions) -----------------------------

def executions(machine_arn: str) -> list[str]:
    return [e["name"] for e in client("stepfunctions").list_executions(stateMachineArn=machine_arn)["executions"]]


def test_a_good_text_starts_one_workflow_even_when_twilio_delivers_it_twice(webhook):
    handler, machine = webhook
    sent = params("LIFT stuck on floor 2", FromCity="ROMA")
    answers = [handler.handler(signed_event(sent), None) for _ in range(2)]
    assert [a["statusCode"] for a in answers] == [200, 200]
    assert answers[0]["headers"]["Content-Type"] == "text/xml"
    assert "Thanks! We got your lift report" in answers[1]["body"]
    assert executions(machine) == [sent["MessageSid"]]
    workflow_input = json.loads(client("stepfunctions").describe_execution(
        executionArn=execution_arn(machine, sent["MessageSid"]))["input"])
    assert {k: v for k, v in workflow_input.items() if k != "receivedAt"} == {
        "reportId": sent["MessageSid"], "reporter": "+393330000001", "category": "LIFT",
        "text": "stuck on floor 2", "city": "Roma"}


def test_a_forged_text_gets_403_and_starts_nothing(webhook):
    handler, machine = webhook
    answer = handler.handler(signed_event(params(), token="0" * 32), None)
    assert (answer["statusCode"], answer["body"]) == (403, "Invalid Twilio signature")
    assert executions(machine) == []


def test_a_bad_text_gets_help_and_starts_nothing(webhook):
    handler, machine = webhook
    answer = handler.handler(signed_event(params("PIZZA please")), None)
    assert answer["statusCode"] == 200
    assert "is not a kind of problem we know" in ElementTree.fromstring(answer["body"]).find("Message").text
    assert executions(machine) == []


def test_a_missing_configuration_parameter_is_named(webhook, monkeypatch):
    handler, _ = webhook
    monkeypatch.setenv("WEBHOOK_URL_PARAMETER", "/fixit-test/nowhere")
    with pytest.raises(RuntimeError, match="SSM parameter /fixit-test/nowhere does not exist"):
        handler.handler(signed_event(params()), None)


# --- malformed input: never a crash, never unreadable TwiML, never a name AWS refuses ----------

def test_twiml_leaves_out_what_xml_cannot_carry():
    document = receiver.twiml("Sorry, 'LIFT\x00\x1b\ufffe' is not a kind of problem we know.")
    assert ElementTree.fromstring(document).find("Message").text == (
        "Sorry, 'LIFT' is not a kind of problem we know.")


def test_control_characters_do_not_reach_the_report():
    assert parse_report("LIFT\x07 stuck\x00on floor 2", "RO\x01MA") == Report("LIFT", "stuck on floor 2", "Ro Ma")


def test_a_body_that_is_not_utf8_or_not_base64_still_gets_a_signature_check():
    broken = {"body": "Body=LIFT+\udcff", "headers": {}}
    for event in ({"body": base64.b64encode(b"Body=LIFT+\xff\xfe").decode(), "isBase64Encoded": True},
                  {"body": "not base64!", "isBase64Encoded": True}):
        assert not validity({**event, "headers": {"x-twilio-signature": "bm90IGZyb20gVHdpbGlv"}})
    assert receiver.form_params(broken)["Body"].startswith("LIFT") and not validity(broken)


@pytest.mark.parametrize("sid", ["", "SM" + "a" * 79, "SM:1", "SM 1", "SM/1", "SM\x01", "SM\u00e8"])
def test_an_unusable_message_sid_gives_a_derived_name_step_functions_accepts(sid):
    name = receiver.execution_name({"MessageSid": sid, "Body": "LIFT stuck"})
    assert name.startswith("report-") and len(name) <= 80 and name.replace("-", "").isalnum()
    # Twilio's retry carries the same fields: the same name, so still one execution.
    assert receiver.execution_name({"MessageSid": sid, "Body": "LIFT stuck"}) == name


def test_a_twilio_message_sid_is_the_execution_name():
    assert receiver.execution_name({"MessageSid": "SM" + "0" * 32}) == "SM" + "0" * 32


def test_a_signed_text_without_a_message_sid_starts_one_workflow_under_a_derived_name(webhook):
    handler, machine = webhook
    sent = params("WATER leak in the cellar")
    del sent["MessageSid"]
    answers = [handler.handler(signed_event(sent), None) for _ in range(2)]
    assert [a["statusCode"] for a in answers] == [200, 200]
    names = executions(machine)
    assert len(names) == 1 and names[0].startswith("report-")
    assert f"report ({names[0]})" in answers[0]["body"]


def test_a_signed_request_without_a_sender_gets_400_and_starts_nothing(webhook):
    handler, machine = webhook
    answer = handler.handler(signed_event(params(From="")), None)
    assert answer["statusCode"] == 400 and "From" in answer["body"]
    assert executions(machine) == []
