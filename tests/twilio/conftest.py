"""Fixtures for the Twilio stand-in: the official client pointed at the session's local cloud."""
from __future__ import annotations

import itertools

import pytest

from gluelab import twilio_local

_numbers = itertools.count(1)


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
    return f"+3933300{next(_numbers):05d}"
