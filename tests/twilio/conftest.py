"""Fixtures for the Twilio stand-in: the official client pointed at the session's local cloud."""
from __future__ import annotations

import itertools

import pytest

from gluelab import twilio_local

# Numbers from +393330900000 up: the other tests text the session's cloud from fixed numbers
# below that (+393330000001 is the receiver's and the fuzz test's reporter), and a shared
# inbox once gave this file's tests four reports they did not send.
_numbers = itertools.count(900000)


@pytest.fixture
def twilio(local):
    """twilio's Client for the local account, as lab code builds it: Client(sid, token)."""
    from twilio.rest import Client
    twilio_local.install_redirect(local.endpoint)
    yield Client(twilio_local.LOCAL_ACCOUNT_SID, twilio_local.LOCAL_AUTH_TOKEN)
    twilio_local.remove_redirect()


@pytest.fixture
def handset():
    """A fresh simulated phone number per test, so inboxes never mix across tests."""
    return f"+39333{next(_numbers):07d}"
