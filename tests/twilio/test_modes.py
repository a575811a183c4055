"""Local and real mode: which credentials are used and where the official client sends requests."""
from __future__ import annotations

import json

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.rest import Client

from gluelab import twilio_local
from gluelab.cloud import process
from gluelab.config import client, local_environment

REAL = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "real-token-0123456789abcdef",
        "TWILIO_PHONE_NUMBER": "+14155550123"}


class Recording(HttpClient):
    """An http client that records requested URLs and never touches the network."""

    def __init__(self):
        super().__init__(logger=None, is_async=False)
        self.urls = []

    def request(self, method, uri, params=None, data=None, headers=None, auth=None, **kwargs):
        self.urls.append(uri)
        return Response(201, json.dumps({"sid": "SM" + "0" * 32, "status": "queued"}))


@pytest.fixture
def real_mode(local, monkeypatch):
    monkeypatch.setenv("GLUELAB_TWILIO", "real")
    for key, value in REAL.items():
        monkeypatch.setenv(key, value)
    yield
    twilio_local.remove_redirect()


def test_in_real_mode_nothing_is_redirected(real_mode, local):
    twilio_local.install_redirect(local.endpoint)  # as connect() and Lambda workers do
    creds = twilio_local.credentials()
    recording = Recording()
    Client(creds.account_sid, creds.auth_token, http_client=recording).messages.create(
        to="+393331234567", from_=creds.phone_number, body="hi")
    assert recording.urls == [
        f"https://api.twilio.com/2010-04-01/Accounts/{REAL['TWILIO_ACCOUNT_SID']}/Messages.json"]


def test_in_local_mode_the_same_client_goes_to_the_stand_in(local):
    twilio_local.install_redirect(local.endpoint)
    creds = twilio_local.credentials()
    recording = Recording()
    Client(creds.account_sid, creds.auth_token, http_client=recording, region="ie1").messages.create(
        to="+393331234567", from_=creds.phone_number, body="hi")
    assert recording.urls == [
        f"{local.endpoint}/twilio/2010-04-01/Accounts/{creds.account_sid}/Messages.json"]
    twilio_local.remove_redirect()


def test_redirect_hook_still_matches_the_twilio_client():
    # ClientBase.request must pass every URL through get_hostname, which the redirect replaces.
    import inspect
    from twilio.base.client_base import ClientBase
    assert "uri = self.get_hostname(uri)" in inspect.getsource(ClientBase.request)


def test_real_mode_without_credentials_says_what_to_set(local, monkeypatch):
    monkeypatch.setenv("GLUELAB_TWILIO", "real")
    for key in REAL:
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(twilio_local.TwilioSetupError, match="TWILIO_AUTH_TOKEN.*twilio-real.json"):
        twilio_local.credentials()


def test_real_credentials_from_the_git_ignored_file_and_never_shown(local, monkeypatch):
    monkeypatch.setenv("GLUELAB_TWILIO", "real")
    for key in REAL:
        monkeypatch.delenv(key, raising=False)
    (local.state_dir / "twilio-real.json").write_text(json.dumps(
        {"account_sid": REAL["TWILIO_ACCOUNT_SID"], "auth_token": REAL["TWILIO_AUTH_TOKEN"],
         "phone_number": REAL["TWILIO_PHONE_NUMBER"]}))
    try:
        creds = twilio_local.credentials()
        assert creds.auth_token == REAL["TWILIO_AUTH_TOKEN"]
        assert REAL["TWILIO_AUTH_TOKEN"] not in repr(creds) and "cdef" in repr(creds)
    finally:
        (local.state_dir / "twilio-real.json").unlink()


def test_store_credentials_writes_secure_strings_of_the_active_mode(real_mode):
    twilio_local.store_credentials(prefix="/fixit-real/twilio")
    token = client("ssm").get_parameter(Name="/fixit-real/twilio/auth_token", WithDecryption=True)
    assert (token["Parameter"]["Type"], token["Parameter"]["Value"]) == (
        "SecureString", REAL["TWILIO_AUTH_TOKEN"])


def test_local_environment_exports_the_local_twilio_account(local):
    env = local_environment()
    assert env["TWILIO_ACCOUNT_SID"] == twilio_local.LOCAL_ACCOUNT_SID
    assert env["TWILIO_PHONE_NUMBER"] == twilio_local.LOCAL_NUMBER


def test_connect_points_the_notebooks_twilio_client_at_the_stand_in(local, handset):
    process.connect()
    try:
        Client(twilio_local.LOCAL_ACCOUNT_SID, twilio_local.LOCAL_AUTH_TOKEN).messages.create(
            to=handset, from_=twilio_local.LOCAL_NUMBER, body="from the notebook")
        assert [m["body"] for m in twilio_local.conversation(handset)] == ["from the notebook"]
    finally:
        twilio_local.remove_redirect()
