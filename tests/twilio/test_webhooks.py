"""Texts from simulated handsets reach the SMS webhook signed as Twilio signs them; TwiML
answers become replies in the handset's inbox; failures are retried as Twilio retries them:
by default only when no connection could be made, otherwise as the URL's #rc=/#rp= fragment says."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from gluelab import twilio_local
from gluelab.cloud.twilio_standin import LOCAL_NUMBER, LOCAL_NUMBER_SID, Standin, Store
from tests.twilio.receiver import Receiver, valid


@pytest.fixture
def receiver(local):
    made = []

    def make(*answers, delay_s=0.0):
        made.append(Receiver(answers or None, delay_s))
        twilio_local.set_webhook(made[-1].url)
        return made[-1]
    yield make
    for r in made:
        r.close()


def test_text_reaches_receiver_signed_and_twiml_reply_lands_in_inbox(receiver, twilio, handset):
    app = receiver()
    result = twilio_local.text_app(handset, "LIFT stuck between floors 3 and 4")
    [request] = app.requests
    assert request["valid"], "twilio's RequestValidator rejected the stand-in's signature"
    sid = result["message"]["sid"]
    assert request["params"]["MessageSid"] == request["params"]["SmsSid"] == sid
    assert request["params"]["From"] == handset and request["params"]["To"] == LOCAL_NUMBER
    assert request["params"]["FromCity"] == "" and request["params"]["FromCountry"] == "IT"
    assert [r["body"] for r in result["replies"]] == ["Got it: LIFT stuck between floors 3 and 4"]
    inbox = twilio.messages.list(to=handset)
    assert [(m.body, m.direction) for m in inbox] == [
        ("Got it: LIFT stuck between floors 3 and 4", "outbound-reply")]
    assert twilio.messages(sid).fetch().direction == "inbound"


def test_forged_or_altered_request_fails_validation(receiver, handset):
    app = receiver()
    twilio_local.text_app(handset, "POWER out at Via Roma 12")
    request = app.requests[0]
    altered = {**request["params"], "Body": "POWER out at Via Roma 14"}
    assert not valid(app.url, altered, request["signature"])
    assert not valid(app.url, request["params"], "forged" + request["signature"][6:])
    assert not valid(app.url.replace("http://", "https://"), request["params"], request["signature"])


def test_a_5xx_is_not_retried_by_default(receiver, handset):
    app = receiver((502, "text/plain", "Bad Gateway"), (200, "text/xml", "<Response/>"))
    result = twilio_local.text_app(handset, "DOOR jammed")
    assert len(app.requests) == 1 and result["delivery"]["error"]["code"] == 11200


def test_a_5xx_is_retried_with_the_same_message_sid_when_the_url_asks(receiver, twilio, handset):
    app = receiver((502, "text/plain", "Bad Gateway"),
                   (200, "text/xml", "<Response><Message>Second try</Message></Response>"))
    twilio_local.set_webhook(app.url + "#rc=1&rp=5xx")  # the fragment is neither sent nor signed
    result = twilio_local.text_app(handset, "DOOR jammed")
    assert all(request["valid"] for request in app.requests)
    assert [r["params"]["MessageSid"] for r in app.requests] == [result["message"]["sid"]] * 2
    assert app.requests[0]["headers"]["I-Twilio-Idempotency-Token"] == \
        app.requests[1]["headers"]["I-Twilio-Idempotency-Token"]
    assert [a["status"] for a in result["delivery"]["attempts"]] == [502, 200]
    assert [m.body for m in twilio.messages.list(to=handset)] == ["Second try"]


def test_every_failed_retry_ends_in_error_11200_and_no_reply(receiver, handset):
    app = receiver((500, "text/plain", "boom"))
    twilio_local.set_webhook(app.url + "#rc=3&rp=4xx,5xx")
    result = twilio_local.text_app(handset, "HEAT off")
    assert len(result["delivery"]["attempts"]) == 4
    assert result["delivery"]["error"]["code"] == 11200 and result["replies"] == []


def test_json_answer_is_error_12300_with_advice(receiver, handset):
    receiver((200, "application/json", '"<Response><Message>hi</Message></Response>"'))
    result = twilio_local.text_app(handset, "WATER leak")
    assert result["delivery"]["error"]["code"] == 12300
    assert "text/xml" in result["delivery"]["error"]["message"]


def test_no_webhook_configured_says_how_to_set_one(local, handset):
    twilio_local.set_webhook("")
    result = twilio_local.text_app(handset, "LIFT stuck")
    assert "gluelab sms webhook" in result["delivery"]["error"]["message"]


def test_a_late_answer_is_retried_when_the_url_asks(tmp_path: Path):
    # In-process; the URL's read timeout (rt) spares the test Twilio's 15 s.
    app = Receiver(delay_s=0.6)
    try:
        store = Store(tmp_path / "twilio.json")
        store.numbers[LOCAL_NUMBER_SID]["sms_url"] = app.url + "#rp=rt&rt=300"  # rc defaults to 1
        result = Standin(store).text_from_handset("+393330000001", "LIFT")
        attempts = result["delivery"]["attempts"]
        assert "no answer within 0.3 s" in attempts[0]["error"] and attempts[1]["status"] == 200
        assert len(app.requests) == 2 and [r["body"] for r in result["replies"]] == ["Got it: LIFT"]
    finally:
        app.close()


def test_status_callback_is_posted_signed(receiver, twilio, handset):
    app = receiver((200, "text/xml", "<Response/>"))
    message = twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="on my way",
                                     status_callback=app.url)
    deadline = time.monotonic() + 3
    while len(app.requests) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [(r["params"]["MessageSid"], r["params"]["MessageStatus"], r["valid"])
            for r in app.requests] == [(message.sid, "sent", True), (message.sid, "delivered", True)]


def test_messages_and_webhook_survive_a_restart(tmp_path: Path):
    store = Store(tmp_path / "twilio.json")
    store.numbers[LOCAL_NUMBER_SID]["sms_url"] = "https://example.invalid/Prod/sms"
    store.save("numbers")  # as the REST API's number update does
    sent = Standin(store).create_message(to="+393330000002", from_=LOCAL_NUMBER, body="kept",
                                         direction="outbound-api")
    again = Store(tmp_path / "twilio.json")
    assert again.messages[sent["sid"]]["body"] == "kept"
    assert again.number_for(LOCAL_NUMBER)["sms_url"] == "https://example.invalid/Prod/sms"


def test_a_change_cut_short_by_a_crash_loses_only_itself(tmp_path: Path):
    store = Store(tmp_path / "twilio.json")
    standin = Standin(store)
    kept = standin.create_message(to="+393330000002", from_=LOCAL_NUMBER, body="kept",
                                  direction="outbound-api")
    with store.changes_path.open("a") as changes:  # a kill -9 in the middle of a write
        changes.write('{"messages": {"SM0": {"bo')
    again = Store(tmp_path / "twilio.json")
    assert list(again.messages) == [kept["sid"]]
    assert again.changes_path.read_text() == ""  # folded into twilio.json at start
    assert Store(tmp_path / "twilio.json").messages[kept["sid"]]["body"] == "kept"
