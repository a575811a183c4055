"""The phone widget: drawn, driven from code (send, receive, signature) without a browser."""
from __future__ import annotations

import time

from gluelab import twilio_local
from gluelab.phone import Phone, signature_pitfalls
from gluelab.twilio_local import LOCAL_AUTH_TOKEN, LOCAL_NUMBER
from tests.twilio.receiver import Receiver


def test_phone_sends_receives_and_shows_the_signature(local, twilio, handset):
    app = Receiver()
    twilio_local.set_webhook(app.url)
    phone = Phone(handset, poll_s=0.05)  # shown below, which starts its poller
    try:
        assert "No messages yet" in phone.screen.value
        assert "application/vnd.jupyter.widget-view+json" in phone._repr_mimebundle_()
        phone.text.value = "LIFT stuck"
        phone.send_button.click()
        assert phone.received() == ["Got it: LIFT stuck"]
        assert "gluelab-out" in phone.screen.value and "Got it: LIFT stuck" in phone.screen.value
        twilio.messages.create(to=handset, from_=LOCAL_NUMBER, body="Technician at 15:00")
        deadline = time.monotonic() + 3
        while "Technician at 15:00" not in phone.screen.value and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Technician at 15:00" in phone.screen.value  # arrived through the poller
        view = phone.show_signature()
        delivery = phone.last_delivery
        assert delivery["url"] in view and delivery["signature"] in view
        assert LOCAL_AUTH_TOKEN not in view and LOCAL_AUTH_TOKEN[-4:] in view
    finally:
        phone.stop()
        app.close()


def test_signature_pitfalls_name_each_classic_mistake():
    url = "https://abc123.execute-api.us-east-1.amazonaws.com/Prod/sms"
    delivery = {"signed_url": url, "method": "POST",
                "params": {"Body": "LIFT stuck", "FromCity": "", "MessageSid": "SM1"}}
    pitfalls = {p["mistake"].split(" (")[0]: p for p in signature_pitfalls(delivery, "token")}
    assert pitfalls["http:// instead of https://"]["url"].startswith("http://abc123")
    assert pitfalls["trailing slash added"]["url"].endswith("/sms/")
    assert pitfalls["stage path missing"]["url"].endswith("amazonaws.com/sms")
    assert "FromCity" not in pitfalls["blank fields dropped"]["string"]
    signatures = [p["signature"] for p in pitfalls.values()]
    assert len(set(signatures)) == len(signatures)


def test_a_new_phone_shows_only_its_own_messages_newest_first(local, twilio, handset):
    """A re-run cell makes a new phone: the number's earlier texts are counted, not repeated."""
    app = Receiver()
    twilio_local.set_webhook(app.url)
    try:
        for text in ("LIFT stuck", "LIFT still stuck", "LIFT fixed"):
            Phone(handset).send(text)
        phone = Phone(handset)  # 6 texts before it: the last 4 are shown
        assert phone.received() == [] and "Got it: LIFT stuck <" not in phone.screen.value
        assert "Got it: LIFT still stuck" in phone.screen.value
        assert "2 earlier messages of this number not shown" in phone.screen.value
        phone.send("DOOR broken")
        assert phone.received() == ["Got it: DOOR broken"]
        screen = phone.screen.value
        # Drawn bottom-up (column-reverse): the newest text comes first in the page.
        assert "flex-direction:column-reverse" in screen
        assert screen.index("Got it: DOOR broken") < screen.index("DOOR broken</div>") \
            < screen.index("earlier messages")
    finally:
        app.close()
