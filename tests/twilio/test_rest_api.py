"""Twilio's SMS REST API served by the stand-in, through the unmodified official client."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from gluelab import twilio_local
from gluelab.cloud.twilio_standin import LOCAL_MESSAGING_SERVICE_SID
from gluelab.twilio_local import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN, LOCAL_NUMBER


def test_sent_message_has_twilios_shape_and_reaches_the_handset(twilio, handset):
    message = twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="Technician on the way")
    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.account_sid == LOCAL_ACCOUNT_SID
    assert (message.status, message.direction, message.num_segments) == ("queued", "outbound-api", "1")
    assert message.price is None and message.date_sent is None
    assert abs((message.date_created - datetime.now(timezone.utc)).total_seconds()) < 5
    assert message.uri == f"/2010-04-01/Accounts/{LOCAL_ACCOUNT_SID}/Messages/{message.sid}.json"
    inbox = twilio.messages.list(to=handset)
    assert [m.body for m in inbox] == ["Technician on the way"]


def test_status_moves_queued_sent_delivered_and_gets_a_price(twilio, handset):
    message = twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="x" * 200)
    assert message.num_segments == "2"
    time.sleep(0.6)
    fetched = twilio.messages(message.sid).fetch()
    assert fetched.status == "delivered"
    assert fetched.price == "-0.01580" and fetched.date_sent is not None


@pytest.mark.parametrize("arguments, code, words", [
    ({"to": "+1", "body": "hi"}, 21211, "The 'To' number +1 is not a valid phone number."),
    ({"to": "+393331234567", "body": ""}, 21602, "Message body is required."),
    ({"to": "+393331234567", "body": "hi", "from_": "+15550001111"}, 21606, "+15550001111"),
])
def test_bad_input_gives_twilios_error_code(twilio, arguments, code, words):
    arguments.setdefault("from_", LOCAL_NUMBER)
    with pytest.raises(TwilioRestException) as caught:
        twilio.messages.create(**arguments)
    assert (caught.value.status, caught.value.code) == (400, code)
    assert words in caught.value.msg


def test_messaging_service_sends_from_the_apps_number(twilio, handset):
    message = twilio.messages.create(to=handset, messaging_service_sid=LOCAL_MESSAGING_SERVICE_SID,
                                     body="via the service")
    assert (message.from_, message.messaging_service_sid) == (LOCAL_NUMBER, LOCAL_MESSAGING_SERVICE_SID)
    with pytest.raises(TwilioRestException) as caught:
        twilio.messages.create(to=handset, messaging_service_sid="MG" + "0" * 32, body="x")
    assert caught.value.code == 21701


def test_error_body_is_twilios_json(local):
    reply = requests.post(f"{local.endpoint}/twilio/2010-04-01/Accounts/{LOCAL_ACCOUNT_SID}/Messages.json",
                          data={"To": "+1", "From": LOCAL_NUMBER, "Body": "hi"},
                          auth=(LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN))
    assert reply.status_code == 400
    assert reply.json() == {"code": 21211, "message": "The 'To' number +1 is not a valid phone number.",
                            "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}


def test_wrong_token_is_refused_with_20003(local):
    twilio_local.install_redirect(local.endpoint)
    with pytest.raises(TwilioRestException) as caught:
        Client(LOCAL_ACCOUNT_SID, "not-the-token").messages.create(
            to="+393331234567", from_=LOCAL_NUMBER, body="hi")
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_list_pages_like_twilio_and_filters_by_sender(twilio, handset):
    for n in range(5):
        twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body=f"update {n}")
    page = twilio.messages.page(to=handset, page_size=2)
    assert [m.body for m in page] == ["update 4", "update 3"]
    assert page.next_page_url and "PageToken=" in page.next_page_url
    assert [m.body for m in twilio.messages.stream(to=handset, page_size=2)] == [
        f"update {n}" for n in (4, 3, 2, 1, 0)]
    assert twilio.messages.list(to=handset, from_="+15550009999") == []


def test_date_sent_filter(twilio, handset):
    twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="today")
    time.sleep(0.3)  # date_sent is set once the message is sent
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    assert [m.body for m in twilio.messages.list(to=handset, date_sent_after=today)] == ["today"]
    assert twilio.messages.list(to=handset, date_sent_before=datetime(2000, 1, 1)) == []


def test_unknown_message_is_20404(twilio):
    with pytest.raises(TwilioRestException) as caught:
        twilio.messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (404, 20404)


def test_number_webhook_is_read_and_updated_through_incoming_phone_numbers(twilio):
    [number] = twilio.incoming_phone_numbers.list(phone_number=LOCAL_NUMBER)
    assert number.sid.startswith("PN") and number.capabilities["sms"] is True
    updated = number.update(sms_url="https://example.invalid/Prod/sms", sms_method="POST")
    assert updated.sms_url == "https://example.invalid/Prod/sms"
    assert twilio.incoming_phone_numbers(number.sid).fetch().sms_url == updated.sms_url
    with pytest.raises(TwilioRestException) as caught:
        number.update(sms_url="not a url")
    assert caught.value.status == 400


def test_account_fetch(twilio):
    account = twilio.api.accounts(LOCAL_ACCOUNT_SID).fetch()
    assert (account.sid, account.status) == (LOCAL_ACCOUNT_SID, "active")
