"""Twilio for the workshop: the local stand-in or real Twilio, chosen by mode, same code for both.

- Mode `local` (the default on the local target): the stand-in served by the local cloud, with
  the fixed local credentials. `install_redirect(cloud_url)` makes the official client send
  requests for the local account there; requests for any other account are left alone, so real
  credentials always reach real Twilio.
- Mode `real` (the default on the aws target, or GLUELAB_TWILIO=real / saved setting `twilio`):
  TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_PHONE_NUMBER from the environment or from the
  git-ignored `<state_dir>/twilio-real.json`.

`gluelab sms ...` is the command line: send (from a simulated handset), inbox, outbox, webhook.
"""
from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from gluelab import config
from gluelab.cloud.twilio_standin import (LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN, LOCAL_NUMBER,
                                          PREFIX, WEBHOOK_TIMEOUT_S)

MODES = ("local", "real")
REAL_FILE = "twilio-real.json"
PARAMETER_PREFIX = "/fixit/twilio"
TWILIO_HOST = re.compile(r"^https://api(\.[a-z0-9-]+)*\.twilio\.com(?=/)")


class TwilioSetupError(RuntimeError):
    """Twilio is not set up for the chosen mode; the message says what to do."""


@dataclass(frozen=True)
class Credentials:
    mode: str
    account_sid: str
    auth_token: str
    phone_number: str

    def __repr__(self) -> str:  # so that printing credentials never shows the token
        return (f"Credentials(mode={self.mode!r}, account_sid={self.account_sid!r}, "
                f"auth_token={mask(self.auth_token)!r}, phone_number={self.phone_number!r})")


def mask(token: str) -> str:
    return "*" * max(len(token) - 4, 0) + token[-4:]


def mode() -> str:
    s = config.settings()
    chosen = os.environ.get("GLUELAB_TWILIO") or config.saved_setting("twilio")
    chosen = chosen or ("local" if s.is_local else "real")
    if chosen not in MODES:
        raise TwilioSetupError(f"GLUELAB_TWILIO is {chosen!r}; it must be 'local' (the stand-in) "
                               "or 'real' (your Twilio account).")
    return chosen


def credentials() -> Credentials:
    """The active mode's account SID, auth token and the app's phone number."""
    if mode() == "local":
        return Credentials("local", LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN, LOCAL_NUMBER)
    path = config.state_dir() / REAL_FILE
    try:
        saved = json.loads(path.read_text())
    except OSError:
        saved = {}
    except ValueError as exc:
        raise TwilioSetupError(f"{path} is not valid JSON ({exc}); fix or delete it.")
    keys = {"account_sid": "TWILIO_ACCOUNT_SID", "auth_token": "TWILIO_AUTH_TOKEN",
            "phone_number": "TWILIO_PHONE_NUMBER"}
    values = {key: os.environ.get(var) or saved.get(key, "") for key, var in keys.items()}
    missing = [keys[key] for key, value in values.items() if not value]
    if missing:
        raise TwilioSetupError(
            f"Real Twilio mode needs {', '.join(missing)}: export them, or write "
            f'{{"account_sid": "AC...", "auth_token": "...", "phone_number": "+1..."}} to {path} '
            "(git-ignored). Or use the local stand-in: `export GLUELAB_TWILIO=local`.")
    if values["account_sid"] == LOCAL_ACCOUNT_SID:
        raise TwilioSetupError(
            "Real Twilio mode was given the local stand-in's account SID (did `gluelab env` set "
            "TWILIO_ACCOUNT_SID?). Export your real account's SID and token, or use "
            "`export GLUELAB_TWILIO=local`.")
    return Credentials("real", **values)


# ---- sending the official client to the stand-in ---------------------------------------------
def install_redirect(cloud_url: str) -> None:
    """Make twilio's Client send the local account's requests to the stand-in at cloud_url.

    The hook is ClientBase.get_hostname, which every request passes through (also with a custom
    http_client, an edge or a region). Requests of any other account go out untouched.
    Installing again only changes the target URL.
    """
    from twilio.base.client_base import ClientBase
    original = getattr(ClientBase.get_hostname, "gluelab_original", ClientBase.get_hostname)
    target = cloud_url.rstrip("/") + PREFIX

    def get_hostname(self, uri: str) -> str:
        uri = original(self, uri)
        if self.account_sid != LOCAL_ACCOUNT_SID:
            return uri
        if not TWILIO_HOST.match(uri):
            raise TwilioSetupError(
                f"The local Twilio stand-in serves api.twilio.com's SMS API only, not {uri}. "
                "Use client.messages / client.incoming_phone_numbers, or real Twilio mode.")
        return TWILIO_HOST.sub(target, uri)

    get_hostname.gluelab_original = original
    get_hostname.gluelab_target = target
    ClientBase.get_hostname = get_hostname


def remove_redirect() -> None:
    from twilio.base.client_base import ClientBase
    original = getattr(ClientBase.get_hostname, "gluelab_original", None)
    if original is not None:
        ClientBase.get_hostname = original


def rest_client(creds: Credentials | None = None):
    """The official twilio Client for the active mode (redirected to the stand-in locally)."""
    from twilio.rest import Client
    creds = creds or credentials()
    if creds.mode == "local":
        install_redirect(config.settings().endpoint)
    return Client(creds.account_sid, creds.auth_token)


def store_credentials(prefix: str | dict[str, str] = PARAMETER_PREFIX) -> list[str]:
    """Put the active mode's SID, token and number into SSM SecureString parameters on the
    active target (e.g. /fixit/twilio/auth_token), where Lambda code reads them with boto3.
    `prefix` may instead map each of account_sid, auth_token, phone_number to a full name."""
    creds = credentials()
    ssm = config.client("ssm")
    names = []
    for key in ("account_sid", "auth_token", "phone_number"):
        name = prefix[key] if isinstance(prefix, dict) else f"{prefix.rstrip('/')}/{key}"
        ssm.put_parameter(Name=name, Value=getattr(creds, key), Type="SecureString", Overwrite=True)
        names.append(name)
    return names


def webhook() -> str:
    """The SMS webhook URL the app's number points at ("" when none)."""
    return _number(credentials()).sms_url or ""


def _number(creds: Credentials):
    numbers = rest_client(creds).incoming_phone_numbers.list(phone_number=creds.phone_number)
    if not numbers:
        raise TwilioSetupError(f"{creds.phone_number} is not a number of account "
                               f"{creds.account_sid}; check TWILIO_PHONE_NUMBER.")
    return numbers[0]


def set_webhook(url: str, method: str = "POST") -> dict:
    """Point the app's number at an SMS webhook through Twilio's REST API (both modes)."""
    number = _number(credentials()).update(sms_url=url, sms_method=method)
    return {"phone_number": number.phone_number, "sms_url": number.sms_url,
            "sms_method": number.sms_method}


def messages(to: str | None = None, from_: str | None = None, limit: int = 20) -> list:
    """Messages seen by the active account, newest first (to a handset: its inbox)."""
    return rest_client().messages.list(to=to, from_=from_, limit=limit)


# ---- simulated handsets (local mode only) ----------------------------------------------------
def _simulator(path: str, form: dict | None = None) -> dict:
    if mode() != "local":
        raise TwilioSetupError("Simulated handsets exist in local mode only: in real mode, text "
                               f"{credentials().phone_number} from your own phone.")
    url = f"{config.settings().endpoint}{PREFIX}/_local/{path}"
    data = urlencode(form).encode() if form is not None else None
    try:
        # A webhook may time out and be retried once: wait for both attempts.
        with urllib.request.urlopen(url, data=data, timeout=2 * WEBHOOK_TIMEOUT_S + 5) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        detail = json.loads(exc.read() or b"{}")
        raise TwilioSetupError(detail.get("message", f"HTTP {exc.code} from {url}"))
    except urllib.error.URLError as exc:
        raise TwilioSetupError(f"The local cloud does not answer on {config.settings().endpoint} "
                               f"({exc.reason}); start it with `gluelab cloud start`.")


def text_app(handset: str, body: str, to: str | None = None, from_city: str = "") -> dict:
    """A simulated handset texts the app's number (or `to`): returns the inbound message, the
    webhook delivery (URL, signed string, signature, attempts) and the replies."""
    form = {"Body": body, "To": to or LOCAL_NUMBER, "FromCity": from_city}
    return _simulator(f"handsets/{quote(handset, safe='')}/messages", form)


def trial_mode(on: bool, verified: list[str] = ()) -> dict:
    """Make the local account a trial account (sends only to `verified` numbers, error 21608)
    or a full one again."""
    return _simulator("account", {"Trial": "true" if on else "false",
                                  "VerifiedNumbers": ",".join(verified)})


def conversation(handset: str) -> list[dict]:
    """Every message to or from a handset, oldest first."""
    return _simulator(f"handsets/{quote(handset, safe='')}/messages")["messages"]


def delivery(message_sid: str) -> dict:
    """How the stand-in delivered an inbound text to the SMS webhook."""
    return _simulator(f"deliveries/{message_sid}")


# ---- command line ----------------------------------------------------------------------------
def add_commands(subparsers) -> None:
    sms = subparsers.add_parser("sms", help="text the app from a simulated phone, read inboxes, "
                                            "set the SMS webhook")
    actions = sms.add_subparsers(dest="sms_command", required=True)
    send = actions.add_parser("send", help="text from a simulated handset (local mode)")
    send.add_argument("--from", dest="handset", required=True, help="the handset, e.g. +393331234567")
    send.add_argument("--to", help=f"the number texted (default: the app's, {LOCAL_NUMBER})")
    send.add_argument("--city", default="", help="FromCity Twilio reports (default blank)")
    send.add_argument("body")
    send.set_defaults(func=_send_command)
    inbox = actions.add_parser("inbox", help="messages received by a phone number")
    inbox.add_argument("number")
    inbox.set_defaults(func=_inbox_command)
    outbox = actions.add_parser("outbox", help="messages the app's number sent")
    outbox.set_defaults(func=_outbox_command)
    webhook = actions.add_parser("webhook", help="point the app's number at an SMS webhook URL")
    webhook.add_argument("url")
    webhook.add_argument("--method", default="POST", choices=["POST", "GET"])
    webhook.set_defaults(func=_webhook_command)
    trial = actions.add_parser("trial", help="make the local account a trial account (or a full one)")
    trial.add_argument("state", choices=["on", "off"])
    trial.add_argument("--verify", nargs="*", default=[], metavar="NUMBER",
                       help="numbers a trial account may send to")
    trial.set_defaults(func=_trial_command)


def _print_messages(found) -> None:
    if not found:
        print("(no messages)")
    for m in found:
        when = m.date_sent or m.date_created
        print(f"{when:%Y-%m-%d %H:%M:%S}  {m.from_} -> {m.to}  [{m.status}]  {m.body}")


def _run(command) -> int:
    from twilio.base.exceptions import TwilioRestException
    try:
        command()
    except TwilioSetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except TwilioRestException as exc:
        print(f"error: Twilio answered {exc.status}, code {exc.code}: {exc.msg}", file=sys.stderr)
        return 1
    return 0


def _send_command(args) -> int:
    def send():
        result = text_app(args.handset, args.body, args.to, args.city)
        sent, hook = result["message"], result["delivery"]
        print(f"{sent['from']} -> {sent['to']}: {sent['body']}  ({sent['sid']})")
        for attempt in hook["attempts"]:
            print(f"  webhook {hook['method']} {hook['url']}: "
                  f"{attempt['error'] or 'HTTP ' + str(attempt['status'])} ({attempt['ms']} ms)")
        if hook["error"]:
            print(f"  Twilio error {hook['error']['code']}: {hook['error']['message']}")
        for warning in hook["warnings"]:
            print(f"  warning: {warning}")
        for reply in result["replies"]:
            print(f"{reply['from']} -> {reply['to']}: {reply['body']}")
        if hook["error"]:
            from gluelab.webhook_errors import explain
            why = explain(hook["url"], hook["method"]) if hook["url"] else hook["error"]["message"]
            raise TwilioSetupError(f"the text reached no working webhook. {why}")
    return _run(send)


def _inbox_command(args) -> int:
    return _run(lambda: _print_messages(messages(to=args.number)))


def _outbox_command(args) -> int:
    return _run(lambda: _print_messages(messages(from_=credentials().phone_number)))


def _webhook_command(args) -> int:
    def point():
        if not urlsplit(args.url).scheme:
            raise TwilioSetupError(f"{args.url} is not an absolute URL; give http(s)://...")
        number = set_webhook(args.url, args.method)
        print(f"{number['phone_number']} now sends texts to {number['sms_method']} {number['sms_url']}")
    return _run(point)


def _trial_command(args) -> int:
    def switch():
        account = trial_mode(args.state == "on", args.verify)
        if account["trial"]:
            print("The local account is a trial account: it sends only to "
                  f"{', '.join(account['verified']) or 'no number (verify some with --verify)'}.")
        else:
            print("The local account is a full account again.")
    return _run(switch)
