"""The notify task: one SMS through the official Twilio client, transient failures named for Retry."""
from __future__ import annotations

import uuid

import pytest
import requests
from twilio.base.exceptions import TwilioRestException

from gluelab import twilio_local
from tests.conftest import free_port
from tests.infra.conftest import load_function

notify = load_function("notify")


@pytest.mark.parametrize("failure, transient", [
    (TwilioRestException(503, "https://api.twilio.com"), True),
    (TwilioRestException(429, "https://api.twilio.com"), True),
    (TwilioRestException(400, "https://api.twilio.com", code=21211), False),
    (TwilioRestException(401, "https://api.twilio.com", code=20003), False),
    (requests.ConnectionError("connection refused"), True),
    (ValueError("a bug"), False),
])
def test_only_failures_a_retry_can_fix_are_transient(failure, transient):
    assert notify.is_transient(failure) is transient


def test_a_task_input_without_recipient_or_text_says_what_is_missing():
    with pytest.raises(ValueError, match="missing body in"):
        notify.notification({"to": "+393330000001"})


@pytest.fixture
def twilio(aws_local, monkeypatch):
    """Twilio credentials in SSM as the stack expects them; the official client sent locally."""
    prefix = f"/fixit-test/{uuid.uuid4().hex[:8]}"
    for variable, key in zip(notify.CREDENTIAL_VARIABLES, ("account_sid", "auth_token", "phone_number")):
        monkeypatch.setenv(variable, f"{prefix}/{key}")
    twilio_local.store_credentials(prefix)
    twilio_local.install_redirect(aws_local.endpoint)
    yield aws_local
    twilio_local.remove_redirect()


def test_the_handler_sends_exactly_one_sms_from_the_fixit_number(twilio):
    handset = f"+447700900{uuid.uuid4().int % 1000:03d}"  # Ofcom's range for drama: never a real phone
    sent = load_function("notify").handler({"to": handset, "body": "Fixit: a company is on the way"}, None)
    inbox = twilio_local.messages(to=handset)
    assert [(m.sid, m.from_, m.body) for m in inbox] == [
        (sent["sid"], twilio_local.credentials().phone_number, "Fixit: a company is on the way")]
    assert sent["to"] == handset


def test_twilio_out_of_reach_is_a_transient_error(twilio):
    twilio_local.install_redirect(f"http://127.0.0.1:{free_port()}")
    fresh = load_function("notify")
    with pytest.raises(fresh.TwilioTransientError, match="Twilio did not take the SMS"):
        fresh.handler({"to": "+393330000001", "body": "hello"}, None)


def test_a_number_twilio_refuses_fails_at_once(twilio):
    with pytest.raises(TwilioRestException) as refused:
        load_function("notify").handler({"to": "not-a-number", "body": "hello"}, None)
    assert refused.value.code == 21211
