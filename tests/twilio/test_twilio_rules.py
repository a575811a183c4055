"""Twilio's messaging rules in the stand-in: STOP/START/HELP and error 21610, trial accounts and
error 21608, the fallback URL, and webhook retries as the URL's connection overrides say."""
from __future__ import annotations

import socket

import pytest
from twilio.base.exceptions import TwilioRestException

from gluelab import twilio_local
from gluelab.cli import main
from gluelab.cloud import twilio_rules
from gluelab.cloud.twilio_standin import LOCAL_NUMBER, LOCAL_NUMBER_SID
from tests.twilio.receiver import Receiver


@pytest.fixture
def app(local, twilio):
    """A receiver as the number's SMS webhook; the number's URLs are cleared afterwards."""
    made = Receiver()
    twilio_local.set_webhook(made.url)
    yield made
    made.close()
    twilio.incoming_phone_numbers(LOCAL_NUMBER_SID).update(sms_url="", sms_fallback_url="")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/sms"


def test_stop_answers_reaches_the_webhook_and_blocks_sends_until_start(app, twilio, handset):
    stopped = twilio_local.text_app(handset, "stop ")
    assert app.requests[-1]["params"]["Body"] == "stop "  # Twilio still tells the app
    assert [(r["body"], r["status"], r["error_code"]) for r in stopped["replies"]] == [
        (twilio_rules.ANSWERS["STOP"], "queued", None),
        ("Got it: stop", "failed", 21610)]  # the app's own answer is refused
    with pytest.raises(TwilioRestException) as refused:
        twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="Your report is in")
    assert (refused.value.status, refused.value.code) == (400, 21610)

    started = twilio_local.text_app(handset, "START")
    assert [r["body"] for r in started["replies"]] == [twilio_rules.ANSWERS["START"], "Got it: START"]
    assert twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="Back on").status == "queued"


def test_help_gets_twilios_answer_and_the_apps(app, handset):
    helped = twilio_local.text_app(handset, "HELP")
    assert [r["body"] for r in helped["replies"]] == [twilio_rules.ANSWERS["HELP"], "Got it: HELP"]


def test_a_keyword_inside_a_longer_text_is_no_keyword(app, twilio, handset):
    twilio_local.text_app(handset, "LIFT will not stop")
    assert twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="On our way").status == "queued"


def test_a_trial_account_sends_only_to_verified_numbers_with_twilios_prefix(local, twilio, handset):
    verified = handset[:-1] + ("1" if handset[-1] != "1" else "2")
    assert main(["sms", "trial", "on", "--verify", verified]) == 0
    try:
        assert twilio.api.v2010.accounts(twilio_local.LOCAL_ACCOUNT_SID).fetch().type == "Trial"
        with pytest.raises(TwilioRestException) as refused:
            twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="hello")
        assert (refused.value.status, refused.value.code) == (400, 21608)
        assert handset in refused.value.msg
        sent = twilio.messages.create(to=verified, from_=LOCAL_NUMBER, body="hello")
        assert sent.body == "Sent from your Twilio trial account - hello"
    finally:
        assert main(["sms", "trial", "off"]) == 0
    assert twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="hello").body == "hello"


def test_the_fallback_url_answers_when_the_primary_fails(app, twilio, handset):
    broken = Receiver([(500, "text/plain", "boom")])
    try:
        twilio.incoming_phone_numbers(LOCAL_NUMBER_SID).update(sms_url=broken.url,
                                                               sms_fallback_url=app.url + "#rc=0")
        result = twilio_local.text_app(handset, "GATE broken")
    finally:
        broken.close()
    delivery = result["delivery"]
    assert len(broken.requests) == 1 and delivery["primary_error"]["code"] == 11200
    [fallback] = app.requests
    assert fallback["valid"]  # signed for the fallback URL, without its fragment
    assert (fallback["params"]["ErrorCode"], fallback["params"]["ErrorUrl"]) == ("11200", broken.url)
    assert delivery["error"] is None and [r["body"] for r in result["replies"]] == ["Got it: GATE broken"]


def test_by_default_only_a_failed_connection_is_retried_once(local, twilio, handset):
    twilio_local.set_webhook(closed_port_url())
    try:
        attempts = twilio_local.text_app(handset, "LIFT")["delivery"]["attempts"]
    finally:
        twilio_local.set_webhook("")
    assert [a["failure"] for a in attempts] == ["ct", "ct"]


@pytest.mark.parametrize("fragment, code", [("rp=5xx,sometimes", 11243), ("rc=6", 11200)])
def test_a_bad_connection_override_is_a_named_error(local, handset, fragment, code):
    twilio_local.set_webhook(f"{closed_port_url()}#{fragment}")
    try:
        delivery = twilio_local.text_app(handset, "LIFT")["delivery"]
    finally:
        twilio_local.set_webhook("")
    assert delivery["error"]["code"] == code and fragment.split("=")[1] in delivery["error"]["message"]
    assert delivery["attempts"] == []
