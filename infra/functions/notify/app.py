"""Workflow task: send one SMS through Twilio.

Input `{"to": "+393331234567", "body": "..."}`; output `{"sid", "status", "to"}`.
The account SID, auth token and the Fixit number are SecureString parameters in SSM, named by
the environment variables below. When Twilio is briefly unavailable the task fails with
`TwilioTransientError`, which the state machine retries; any other Twilio refusal (a wrong
number, a bad token) fails the task at once, because retrying cannot fix it.
"""
from __future__ import annotations

import functools
import os

import boto3
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

CREDENTIAL_VARIABLES = ("TWILIO_ACCOUNT_SID_PARAMETER", "TWILIO_AUTH_TOKEN_PARAMETER",
                        "TWILIO_PHONE_NUMBER_PARAMETER")


class TwilioTransientError(Exception):
    """Twilio could not take the message now (rate limit, outage, network): try again later."""


def is_transient(exc: Exception) -> bool:
    # requests' connection errors, which the twilio client lets through, are OSErrors.
    if isinstance(exc, TwilioRestException):
        return exc.status == 429 or exc.status >= 500
    return isinstance(exc, OSError)


def notification(event: dict) -> tuple[str, str]:
    """The recipient and text of the SMS a workflow task asks for."""
    missing = [key for key in ("to", "body") if not event.get(key)]
    if missing:
        raise ValueError(f"The notify task needs 'to' and 'body' in its input; missing "
                         f"{', '.join(missing)} in {sorted(event)}. Check the state's Parameters.")
    return event["to"], event["body"]


def send_sms(client: Client, from_: str, to: str, body: str) -> dict:
    try:
        message = client.messages.create(to=to, from_=from_, body=body)
    except Exception as exc:
        if is_transient(exc):
            raise TwilioTransientError(f"Twilio did not take the SMS to {to}: {exc}") from exc
        raise
    return {"sid": message.sid, "status": message.status, "to": message.to}


@functools.cache
def credentials() -> tuple[str, str, str]:
    """(account SID, auth token, Fixit number), read once per execution environment."""
    names = [os.environ[variable] for variable in CREDENTIAL_VARIABLES]
    reply = boto3.client("ssm").get_parameters(Names=names, WithDecryption=True)
    if reply["InvalidParameters"]:
        raise RuntimeError(f"SSM parameters {', '.join(reply['InvalidParameters'])} do not "
                           f"exist; put the Twilio credentials there (see infra/README.md).")
    values = {p["Name"]: p["Value"] for p in reply["Parameters"]}
    return tuple(values[name] for name in names)


def handler(event, context):
    to, body = notification(event)
    account_sid, auth_token, number = credentials()
    return send_sms(Client(account_sid, auth_token), number, to, body)
