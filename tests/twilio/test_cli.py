"""`gluelab sms ...`: text from a simulated phone, read inbox and outbox, point the webhook."""
from __future__ import annotations

from gluelab.cli import main
from gluelab.twilio_local import LOCAL_AUTH_TOKEN, LOCAL_NUMBER
from tests.twilio.receiver import Receiver


def test_send_inbox_outbox_and_webhook(local, capsys, handset):
    app = Receiver()
    try:
        assert main(["sms", "webhook", app.url]) == 0
        assert f"{LOCAL_NUMBER} now sends texts to POST {app.url}" in capsys.readouterr().out
        assert main(["sms", "send", "--from", handset, "LIFT stuck"]) == 0
        sent = capsys.readouterr().out
        assert f"{handset} -> {LOCAL_NUMBER}: LIFT stuck" in sent
        assert f"{LOCAL_NUMBER} -> {handset}: Got it: LIFT stuck" in sent
        assert main(["sms", "inbox", handset]) == 0
        assert "Got it: LIFT stuck" in capsys.readouterr().out
        assert main(["sms", "outbox"]) == 0
        outbox = capsys.readouterr().out
        assert f"-> {handset}" in outbox and LOCAL_AUTH_TOKEN not in sent + outbox
    finally:
        app.close()


def test_bad_handset_number_is_explained(local, capsys):
    assert main(["sms", "send", "--from", "3331234567", "LIFT stuck"]) == 1
    assert "E.164" in capsys.readouterr().err
