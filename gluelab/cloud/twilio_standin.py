"""The Twilio stand-in: Twilio's SMS REST API under `/twilio/2010-04-01/...`, simulated handsets
under `/twilio/_local/...`, and webhooks posted and signed exactly as Twilio posts and signs them.

Code written for real Twilio runs against it unchanged: the official client is pointed here by
`gluelab.twilio_local.install_redirect`, and answers carry Twilio's JSON shapes, status codes and
error codes. One local account owns one number (the app's); any other valid E.164 number is a
handset that can text that number and receive texts. State lives in `<state_dir>/twilio.json`
and its change log.
"""
from __future__ import annotations

import base64
import hmac
import json
import math
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ElementTree
from datetime import datetime, timezone
from email.utils import format_datetime
from hashlib import sha1
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from gluelab.cloud import twilio_rules

PREFIX = "/twilio"
API_VERSION = "2010-04-01"
# Constant, not secret: the stand-in only answers on 127.0.0.1, and a constant lets `gluelab env`,
# notebooks and Lambda workers agree on credentials without the cloud running.
LOCAL_ACCOUNT_SID = "AC5be3b71cc5d826a4f32a5594ead7f0fa"
LOCAL_AUTH_TOKEN = "d647962b3e15a41523b4dc9a1a071438"
LOCAL_NUMBER = "+15555550100"  # 555-01xx: reserved for fiction, never a real subscriber
LOCAL_NUMBER_SID = "PN9bb33c4ab2ea1c25feff6384dfdc0d48"
LOCAL_MESSAGING_SERVICE_SID = "MG267686103de1a3dfb1f646d485ec3207"
ENVIRONMENT = {"TWILIO_ACCOUNT_SID": LOCAL_ACCOUNT_SID, "TWILIO_AUTH_TOKEN": LOCAL_AUTH_TOKEN,
               "TWILIO_PHONE_NUMBER": LOCAL_NUMBER}

SENT_AFTER_S = 0.2
DELIVERED_AFTER_S = 0.5
WEBHOOK_TIMEOUT_S = 15.0  # Twilio's own limit for messaging webhooks
PRICE_PER_SEGMENT = 0.0079
MAX_BODY = 1600
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVW"
           "XYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€")
COUNTRIES = {"1": "US", "39": "IT", "44": "GB", "33": "FR", "49": "DE", "34": "ES", "41": "CH",
             "31": "NL", "43": "AT", "32": "BE", "351": "PT", "353": "IE", "46": "SE", "47": "NO",
             "45": "DK", "48": "PL", "30": "GR", "61": "AU", "64": "NZ", "91": "IN", "81": "JP",
             "55": "BR", "52": "MX", "54": "AR", "27": "ZA"}


class TwilioError(Exception):
    """An error answered in Twilio's shape: {"code", "message", "more_info", "status"}."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict:
        return {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}", "status": self.status}


def rfc2822(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return format_datetime(datetime.fromtimestamp(epoch, timezone.utc).replace(microsecond=0))


def segments(body: str) -> int:
    if set(body) <= GSM7:
        single, multi, length = 160, 153, len(body)
    else:
        single, multi, length = 70, 67, len(body.encode("utf-16-le")) // 2
    return 1 if length <= single else math.ceil(length / multi)


def country_of(number: str) -> str:
    digits = number.lstrip("+")
    for size in (3, 2, 1):
        if digits[:size] in COUNTRIES:
            return COUNTRIES[digits[:size]]
    return ""


def signed_string(url: str, params: dict[str, str]) -> str:
    """What Twilio signs: the full URL, then each POST field name and value, sorted by name."""
    return url + "".join(name + params[name] for name in sorted(params))


def signature(token: str, url: str, params: dict[str, str]) -> str:
    digest = hmac.new(token.encode(), signed_string(url, params).encode(), sha1).digest()
    return base64.b64encode(digest).decode()


def _request_shape(url: str, method: str, params: dict[str, str]):
    """(URL requested and signed, form body, fields signed): a GET webhook carries the fields
    in the query string, so Twilio signs the whole URL and no fields."""
    if method == "POST":
        return url, urlencode(params).encode(), params
    return f"{url}{'&' if '?' in url else '?'}{urlencode(params)}", None, {}


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


class Store:
    """Messages, the number's configuration and webhook deliveries, kept in twilio.json.

    Each change is appended to a change log next to it (twilio.changes.jsonl) as it is made:
    rewriting the whole file for every message made a busy day's texting quadratic (a quarter
    of the cloud's CPU under load). A start applies the log to the file and begins a new log.
    """

    def __init__(self, path: Path):
        self.path = path
        self.changes_path = path.with_suffix(".changes.jsonl")
        self.lock = threading.RLock()
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            data = {}
        for change in self._read_changes():
            for section, value in change.items():
                if section in ("messages", "deliveries"):
                    data.setdefault(section, {}).update(value)
                else:
                    data[section] = value
        self.messages: dict[str, dict] = data.get("messages", {})
        self.deliveries: dict[str, dict] = data.get("deliveries", {})
        self.numbers: dict[str, dict] = data.get("numbers") or {LOCAL_NUMBER_SID: {
            "sid": LOCAL_NUMBER_SID, "phone_number": LOCAL_NUMBER, "created": time.time(),
            "updated": time.time(), "sms_url": "", "sms_method": "POST",
            "sms_fallback_url": "", "sms_fallback_method": "POST", "friendly_name": "Fixit (local)"}}
        self.account: dict = data.get("account") or {"trial": False, "verified": []}
        self.opt_outs: dict[str, list[str]] = data.get("opt_outs", {})  # number -> handsets
        # Outbound messages not yet delivered: the only ones the delivery clock moves.
        self.moving = {sid for sid, message in self.messages.items()
                       if message["status"] in ("queued", "sent")}
        logged = self.changes_path.exists() and self.changes_path.stat().st_size > 0
        if logged or not path.exists():  # else the file has everything (a day's: 4 MB of JSON)
            self._write_whole()
        self.changes = self.changes_path.open("a", encoding="utf-8")

    def _read_changes(self) -> list[dict]:
        changes = []
        try:
            lines = self.changes_path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return changes
        for line in lines:
            try:
                changes.append(json.loads(line))
            except ValueError:  # the last line, cut short by a crash: that change was not made
                break
        return changes

    def _write_whole(self) -> None:
        """The file with every change in it, then an empty log (applying the log again to the
        new file would change nothing: each change is an upsert or a whole section)."""
        text = json.dumps({"messages": self.messages, "deliveries": self.deliveries,
                           "numbers": self.numbers, "account": self.account,
                           "opt_outs": self.opt_outs})
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(text)
        temporary.replace(self.path)
        self.changes_path.unlink(missing_ok=True)

    def save(self, section: str, *sids: str) -> None:
        """Keep a change: the records `sids` of "messages" or "deliveries", or a whole section
        ("numbers", "account", "opt_outs")."""
        with self.lock:
            value = getattr(self, section)
            change = {section: {sid: value[sid] for sid in sids} if sids else value}
            self.changes.write(json.dumps(change) + "\n")
            self.changes.flush()

    def number_for(self, phone_number: str) -> dict | None:
        return next((n for n in self.numbers.values() if n["phone_number"] == phone_number), None)

    def opted_out(self, number: str, handset: str) -> bool:
        return handset in self.opt_outs.get(number, [])

    def refusal(self, from_: str, to: str) -> tuple[int, str] | None:
        """Why Twilio would not send from `from_` to `to` (21610, 21608), else None."""
        return twilio_rules.refusal(self.account, self.opted_out(from_, to), to)


class Standin:
    def __init__(self, store: Store, token: str = LOCAL_AUTH_TOKEN,
                 webhook_timeout_s: float = WEBHOOK_TIMEOUT_S):
        self.store = store
        self.token = token
        self.webhook_timeout_s = webhook_timeout_s

    # ---- messages and their delivery clock -------------------------------------------------
    def create_message(self, *, to: str, from_: str, body: str, direction: str,
                       messaging_service_sid: str | None = None,
                       status_callback: str | None = None,
                       error: tuple[int, str] | None = None) -> dict:
        """A message; an outbound one with `error` is stored as failed with that error."""
        now = time.time()
        inbound = direction == "inbound"
        if not inbound and self.store.account.get("trial"):
            body = twilio_rules.TRIAL_PREFIX + body
        status = "received" if inbound else "failed" if error else "queued"
        message = {"sid": "SM" + uuid.uuid4().hex, "to": to, "from": from_, "body": body,
                   "direction": direction, "status": status,
                   "created": now, "updated": now, "sent": now if inbound else None,
                   "num_segments": segments(body), "messaging_service_sid": messaging_service_sid,
                   "status_callback": status_callback,
                   "error_code": error[0] if error else None, "error_message": error[1] if error else None}
        with self.store.lock:
            self.store.messages[message["sid"]] = message
            if message["status"] == "queued":
                self.store.moving.add(message["sid"])
            self.store.save("messages", message["sid"])
        if not inbound and not error:
            for delay in (SENT_AFTER_S, DELIVERED_AFTER_S):
                timer = threading.Timer(delay + 0.01, self.advance)
                timer.daemon = True
                timer.start()
        return dict(message)

    def advance(self) -> None:
        """Move outbound messages along queued -> sent -> delivered by their age.

        Called by timers and before every read, so what a reader sees depends only on the
        message's age, never on whether a timer thread has run yet.
        """
        now = time.time()
        changed = []
        with self.store.lock:
            for sid in list(self.store.moving):
                message = self.store.messages[sid]
                age = now - message["created"]
                if message["status"] == "queued" and age >= SENT_AFTER_S:
                    message.update(status="sent", sent=message["created"] + SENT_AFTER_S, updated=now)
                    changed.append(dict(message))
                if message["status"] == "sent" and age >= DELIVERED_AFTER_S:
                    message.update(status="delivered", updated=now)
                    changed.append(dict(message))
                    self.store.moving.discard(sid)
            if changed:
                self.store.save("messages", *{message["sid"] for message in changed})
        callbacks = [m for m in changed if m["status_callback"]]
        if callbacks:
            threading.Thread(target=self._status_callbacks, args=(callbacks,), daemon=True).start()

    def _status_callbacks(self, messages: list[dict]) -> None:
        for message in messages:
            params = {"MessageSid": message["sid"], "SmsSid": message["sid"],
                      "AccountSid": LOCAL_ACCOUNT_SID, "From": message["from"], "To": message["to"],
                      "MessageStatus": message["status"], "SmsStatus": message["status"],
                      "ApiVersion": API_VERSION}
            if message["messaging_service_sid"]:
                params["MessagingServiceSid"] = message["messaging_service_sid"]
            self._post(message["status_callback"], "POST", params, f"{message['sid']}-{message['status']}")

    def render(self, message: dict) -> dict:
        uri = f"/{API_VERSION}/Accounts/{LOCAL_ACCOUNT_SID}/Messages/{message['sid']}"
        priced = message["direction"] != "inbound" and message["status"] in ("sent", "delivered")
        return {
            "account_sid": LOCAL_ACCOUNT_SID, "api_version": API_VERSION, "body": message["body"],
            "date_created": rfc2822(message["created"]), "date_sent": rfc2822(message["sent"]),
            "date_updated": rfc2822(message["updated"]), "direction": message["direction"],
            "error_code": message.get("error_code"), "error_message": message.get("error_message"),
            "from": message["from"],
            "messaging_service_sid": message["messaging_service_sid"], "num_media": "0",
            "num_segments": str(message["num_segments"]),
            "price": f"{-PRICE_PER_SEGMENT * message['num_segments']:.5f}" if priced else None,
            "price_unit": "USD", "sid": message["sid"], "status": message["status"],
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": message["to"], "uri": f"{uri}.json"}

    # ---- inbound SMS: the webhook Twilio posts -----------------------------------------------
    def text_from_handset(self, handset: str, body: str, to: str = LOCAL_NUMBER,
                          from_city: str = "") -> dict:
        """A simulated phone texts one of the account's numbers; returns the message, the
        webhook delivery (what was signed, what came back) and the replies it produced."""
        if not E164.match(handset or ""):
            raise TwilioError(400, 21211, f"The handset number {handset} is not a valid phone "
                              "number: use E.164, e.g. +393331234567.")
        if not body:
            raise TwilioError(400, 21602, "Message body is required.")
        number = self.store.number_for(to)
        if number is None:
            raise TwilioError(400, 21606, f"{to} is not a number of the local Twilio account; "
                              f"handsets can text the app's number {LOCAL_NUMBER}.")
        message = self.create_message(to=to, from_=handset, body=body, direction="inbound")
        answered = self._keyword(handset, to, body)
        delivery = self._deliver(message, number, from_city)
        return {"message": self.render(message), "delivery": delivery,
                "replies": [self.render(self.store.messages[sid]) for sid in answered + delivery["replies"]]}

    def _keyword(self, handset: str, number: str, body: str) -> list[str]:
        """Twilio's own handling of STOP/START/HELP: the opt-out list, then its answer."""
        kind = twilio_rules.keyword(body)
        if kind is None:
            return []
        with self.store.lock:
            opted = self.store.opt_outs.setdefault(number, [])
            if kind == "STOP" and handset not in opted:
                opted.append(handset)
            if kind == "START" and handset in opted:
                opted.remove(handset)
            self.store.save("opt_outs")
        answer = self.create_message(to=handset, from_=number, body=twilio_rules.ANSWERS[kind],
                                     direction="outbound-reply")
        return [answer["sid"]]

    def _webhook_params(self, message: dict, from_city: str) -> dict[str, str]:
        # Twilio sends the geographic fields even when it knows nothing: blank, not missing.
        return {"ToCountry": country_of(message["to"]), "ToState": "", "SmsMessageSid": message["sid"],
                  "NumMedia": "0", "ToCity": "", "FromZip": "", "SmsSid": message["sid"],
                  "FromState": "", "SmsStatus": "received", "FromCity": from_city,
                  "Body": message["body"], "FromCountry": country_of(message["from"]), "To": message["to"],
                  "ToZip": "", "NumSegments": str(message["num_segments"]),
                  "MessageSid": message["sid"], "AccountSid": LOCAL_ACCOUNT_SID,
                  "MessagingServiceSid": LOCAL_MESSAGING_SERVICE_SID,  # the number is in the service
                  "From": message["from"], "ApiVersion": API_VERSION}

    def _deliver(self, message: dict, number: dict, from_city: str) -> dict:
        url, method = number["sms_url"], number["sms_method"]
        params = self._webhook_params(message, from_city)
        delivery = {"message_sid": message["sid"], "url": url, "method": method, "params": params,
                    "attempts": [], "replies": [], "warnings": [], "error": None}
        if not url:
            delivery["error"] = {"code": 11200, "message": (
                f"No SMS webhook is configured for {number['phone_number']}, so the text was "
                "stored but nobody was told. Run `gluelab sms webhook URL` (or update the "
                "number's SmsUrl through the REST API).")}
        else:
            self._request_webhook(url, method, params, message, delivery, "attempts")
            fallback = number.get("sms_fallback_url")
            if delivery["error"] and fallback:
                # Twilio asks the fallback URL, telling it what went wrong with the primary one.
                primary = delivery["error"]
                delivery.update(error=None, primary_error=primary, fallback_url=fallback,
                                fallback_attempts=[])
                self._request_webhook(fallback, number.get("sms_fallback_method", "POST"), {
                    **params, "ErrorCode": str(primary["code"]),
                    "ErrorUrl": url.split("#")[0]}, message, delivery, "fallback_attempts")
        with self.store.lock:
            self.store.deliveries[message["sid"]] = delivery
            self.store.save("deliveries", message["sid"])
        return delivery

    def _request_webhook(self, url: str, method: str, params: dict[str, str], message: dict,
                         delivery: dict, attempts_key: str) -> None:
        """Request `url` with Twilio's retries (its #rc=/#rp= overrides), then read the answer."""
        try:
            connection = twilio_rules.overrides(url, self.webhook_timeout_s)
        except TwilioError as exc:
            delivery["error"] = {"code": exc.code, "message": exc.message}
            return
        url = connection.url
        if attempts_key == "attempts":
            signed_url, _, signed_params = _request_shape(url, method, params)
            delivery.update(signed_url=signed_url, signed_string=signed_string(signed_url, signed_params),
                            signature=signature(self.token, signed_url, signed_params))
        started = time.monotonic()
        for _ in range(1 + connection.retries):  # every attempt carries the same MessageSid
            left = connection.total_s - (time.monotonic() - started)
            attempt = self._post(url, method, params, message["sid"], min(connection.read_timeout_s, left))
            delivery[attempts_key].append({k: v for k, v in attempt.items() if k != "body"})
            if not twilio_rules.retried(attempt, connection.policy) or \
                    time.monotonic() - started >= connection.total_s:
                break
        self._read_reply(attempt, message, delivery)

    def _post(self, url: str, method: str, params: dict[str, str], idempotency: str,
              timeout_s: float | None = None) -> dict:
        target, data, sign_params = _request_shape(url, method, params)
        request = urllib.request.Request(target, data=data, method=method, headers={
            "X-Twilio-Signature": signature(self.token, target, sign_params),
            "I-Twilio-Idempotency-Token": idempotency, "User-Agent": "TwilioProxy/1.1",
            "Accept": "*/*", "Cache-Control": "max-age=259200",
            **({"Content-Type": "application/x-www-form-urlencoded"} if data else {})})
        started = time.monotonic()
        timeout_s = timeout_s or self.webhook_timeout_s
        result = {"status": None, "content_type": "", "body": "", "error": None}
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as reply:
                result.update(status=reply.status, content_type=reply.headers.get("Content-Type", ""),
                              body=reply.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as exc:
            result.update(status=exc.code, content_type=exc.headers.get("Content-Type", ""),
                          body=exc.read().decode("utf-8", "replace"))
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            timed_out = isinstance(reason, TimeoutError) or "timed out" in str(reason)
            result["error"] = (f"no answer within {timeout_s:g} s" if timed_out
                               else f"could not connect: {reason}")
            # urllib wraps what fails before the request is sent; a late answer comes unwrapped.
            result["failure"] = "ct" if isinstance(exc, urllib.error.URLError) else "rt"
        result["ms"] = round((time.monotonic() - started) * 1000)
        return result

    def _read_reply(self, attempt: dict, message: dict, delivery: dict) -> None:
        if attempt["status"] is None or attempt["status"] >= 300:
            what = attempt["error"] or f"HTTP {attempt['status']}: {attempt['body'][:300]}"
            delivery["error"] = {"code": 11200, "message": f"HTTP retrieval failure: {what}"}
            return
        delivery["response"] = {"status": attempt["status"], "content_type": attempt["content_type"],
                                "body": attempt["body"][:4000]}
        try:
            replies = twiml_replies(attempt["content_type"], attempt["body"], delivery["warnings"])
        except TwilioError as exc:
            delivery["error"] = {"code": exc.code, "message": exc.message}
            return
        for reply in replies:
            to, from_ = reply.get("to") or message["from"], reply.get("from") or message["to"]
            sent = self.create_message(to=to, from_=from_, body=reply["body"], direction="outbound-reply",
                                       error=self.store.refusal(from_, to))
            delivery["replies"].append(sent["sid"])


def twiml_replies(content_type: str, body: str, warnings: list[str]) -> list[dict]:
    """The SMS replies a webhook's answer asks for, as Twilio reads them."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == "text/plain":
        return [{"body": body.strip()}] if body.strip() else []
    if kind not in ("text/xml", "application/xml", "text/html"):
        raise TwilioError(502, 12300, f"Invalid Content-Type {content_type or '(none)'!r}: answer "
                          "TwiML with Content-Type text/xml (an API Gateway proxy response needs "
                          "headers={'Content-Type': 'text/xml'}).")
    if not body.strip():
        warnings.append("The webhook answered an empty body; answer <Response/> to send no reply.")
        return []
    try:
        root = ElementTree.fromstring(body.strip())
    except ElementTree.ParseError as exc:
        raise TwilioError(502, 12100, f"Document parse failure: the answer is not valid XML ({exc}).")
    if root.tag != "Response":
        raise TwilioError(502, 12100, f"Document parse failure: the root element is <{root.tag}>, "
                          "TwiML needs <Response>.")
    replies = []
    for verb in root:
        if verb.tag != "Message":
            warnings.append(f"<{verb.tag}> is not carried out by the local stand-in; only <Message> is.")
            continue
        text = verb.findtext("Body") if verb.find("Body") is not None else "".join(verb.itertext())
        replies.append({"body": text.strip(), "to": verb.get("to"), "from": verb.get("from")})
    return [r for r in replies if r["body"]]


class Api:
    """Routes /twilio/... requests to the REST API or the handset simulator."""

    ACCOUNT = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+?)(?P<rest>(/.*)?)$")

    def __init__(self, standin: Standin):
        self.standin = standin

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")[len(PREFIX):]
        method = environ["REQUEST_METHOD"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = {k: v[0] for k, v in parse_qs(environ["wsgi.input"].read(length).decode(),
                                                keep_blank_values=True).items()}
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""),
                                               keep_blank_values=True).items()}
        headers = [("Content-Type", "application/json; charset=utf-8")]
        try:
            status, payload = self.route(environ, method, path, form, query)
        except TwilioError as exc:
            status, payload = exc.status, exc.body()
            if exc.code == 20003:
                headers.append(("WWW-Authenticate", 'Basic realm="Twilio API"'))
        body = json.dumps(payload).encode()
        start_response(f"{status} {'OK' if status < 300 else 'Error'}",
                       headers + [("Content-Length", str(len(body)))])
        return [body]

    def route(self, environ, method, path, form, query):
        self.standin.advance()
        if path.startswith("/_local/"):
            return self.simulator(method, path[len("/_local/"):], form, query)
        match = self.ACCOUNT.match(path)
        if not match:
            raise TwilioError(404, 20404, f"The requested resource {path} was not found: the "
                              f"local stand-in serves /{API_VERSION}/Accounts/... (Messages, "
                              "IncomingPhoneNumbers and the Account).")
        self.authenticate(environ)
        account, rest = match["account"], match["rest"]
        if account.endswith(".json") and not rest:
            account, rest = account[:-5], ".json"
        if account != LOCAL_ACCOUNT_SID:
            raise TwilioError(404, 20404, f"The requested resource {path} was not found")
        handlers = {(".json", "GET"): lambda: (200, self.account()),
                    ("/Messages.json", "POST"): lambda: (201, self.send(form)),
                    ("/Messages.json", "GET"): lambda: (200, self.list_messages(path, query)),
                    ("/IncomingPhoneNumbers.json", "GET"): lambda: (200, self.list_numbers(path, query))}
        if (rest, method) in handlers:
            return handlers[(rest, method)]()
        item = re.match(r"^/(Messages|IncomingPhoneNumbers)/(\w+)\.json$", rest)
        if item and method in ("GET", "POST"):
            kind, sid = item.groups()
            if kind == "Messages" and method == "GET":
                return 200, self.fetch_message(path, sid)
            if kind == "IncomingPhoneNumbers":
                return 200, self.number(path, sid, form if method == "POST" else None)
        if item or (rest, "GET") in handlers or (rest, "POST") in handlers:
            raise TwilioError(405, 20004, f"Method {method} not allowed on {path} by the local "
                              "Twilio stand-in.")
        raise TwilioError(404, 20404, f"The requested resource {path} was not found")

    def authenticate(self, environ) -> None:
        header = environ.get("HTTP_AUTHORIZATION", "")
        user, _, password = "", "", ""
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                pass
        if not (hmac.compare_digest(user, LOCAL_ACCOUNT_SID)
                and hmac.compare_digest(password, self.standin.token)):
            raise TwilioError(401, 20003, "Authenticate")

    def account(self) -> dict:
        base = f"/{API_VERSION}/Accounts/{LOCAL_ACCOUNT_SID}"
        created = rfc2822(self.standin.store.numbers[LOCAL_NUMBER_SID]["created"])
        return {"sid": LOCAL_ACCOUNT_SID, "owner_account_sid": LOCAL_ACCOUNT_SID,
                "friendly_name": "gluelab local account", "status": "active",
                "type": "Trial" if self.standin.store.account.get("trial") else "Full",
                "auth_token": self.standin.token, "date_created": created, "date_updated": created,
                "uri": f"{base}.json", "subresource_uris": {
                    "messages": f"{base}/Messages.json",
                    "incoming_phone_numbers": f"{base}/IncomingPhoneNumbers.json"}}

    def send(self, form: dict) -> dict:
        to, from_, body = form.get("To", ""), form.get("From", ""), form.get("Body", "")
        service = form.get("MessagingServiceSid") or None
        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not E164.match(to):
            raise TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not from_ and not service:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if service and service != LOCAL_MESSAGING_SERVICE_SID:
            raise TwilioError(400, 21701, f"The Messaging Service Sid {service} is invalid.")
        if from_ and self.standin.store.number_for(from_) is None:
            raise TwilioError(400, 21606, f"The From phone number {from_} is not a valid, "
                              "SMS-capable inbound phone number or short code for your account.")
        if form.get("MediaUrl"):
            raise TwilioError(400, 21620, "The local Twilio stand-in does not send media "
                              "(MediaUrl): send text only.")
        if not body:
            raise TwilioError(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            raise TwilioError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        if to == (from_ or LOCAL_NUMBER):
            raise TwilioError(400, 21266, "'To' and 'From' number cannot be the same")
        callback = form.get("StatusCallback") or None
        if callback and not _valid_url(callback):
            raise TwilioError(400, 21609, f"The StatusCallback URL {callback} is not a valid URL.")
        refused = self.standin.store.refusal(from_ or LOCAL_NUMBER, to)
        if refused:
            raise TwilioError(400, *refused)
        message = self.standin.create_message(to=to, from_=from_ or LOCAL_NUMBER, body=body,
                                              direction="outbound-api", messaging_service_sid=service,
                                              status_callback=callback)
        return self.standin.render(message)

    def fetch_message(self, path: str, sid: str) -> dict:
        message = self.standin.store.messages.get(sid)
        if message is None:
            raise TwilioError(404, 20404, f"The requested resource {path} was not found")
        return self.standin.render(message)

    def list_messages(self, path: str, query: dict) -> dict:
        filters = {k: v for k, v in query.items() if k in ("To", "From") or k.startswith("DateSent")}
        with self.standin.store.lock:
            found = [m for m in self.standin.store.messages.values() if _matches(m, filters)]
        found.sort(key=lambda m: m["created"], reverse=True)
        return _page(path, "messages", [self.standin.render(m) for m in found], filters, query)

    def list_numbers(self, path: str, query: dict) -> dict:
        wanted = query.get("PhoneNumber")
        filters = {"PhoneNumber": wanted} if wanted else {}
        numbers = [self.render_number(n) for n in self.standin.store.numbers.values()
                   if not wanted or n["phone_number"] == wanted]
        return _page(path, "incoming_phone_numbers", numbers, filters, query)

    def number(self, path: str, sid: str, form: dict | None) -> dict:
        store = self.standin.store
        if sid not in store.numbers:
            raise TwilioError(404, 20404, f"The requested resource {path} was not found")
        if form:
            changes = {}
            for field, key in (("SmsUrl", "sms_url"), ("SmsFallbackUrl", "sms_fallback_url")):
                if field in form:
                    if form[field] and not _valid_url(form[field]):
                        raise TwilioError(400, 21402, f"{field} {form[field]!r} is not a valid URL: "
                                          "use an absolute http(s) URL.")
                    changes[key] = form[field]
            for field, key in (("SmsMethod", "sms_method"), ("SmsFallbackMethod", "sms_fallback_method")):
                if field in form:
                    if form[field].upper() not in ("GET", "POST"):
                        raise TwilioError(400, 21403, f"{field} must be GET or POST, not {form[field]!r}.")
                    changes[key] = form[field].upper()
            if "FriendlyName" in form:
                changes["friendly_name"] = form["FriendlyName"]
            with store.lock:
                store.numbers[sid].update(changes, updated=time.time())
                store.save("numbers")
        return self.render_number(store.numbers[sid])

    def render_number(self, number: dict) -> dict:
        uri = f"/{API_VERSION}/Accounts/{LOCAL_ACCOUNT_SID}/IncomingPhoneNumbers/{number['sid']}"
        return {"sid": number["sid"], "account_sid": LOCAL_ACCOUNT_SID, "api_version": API_VERSION,
                "phone_number": number["phone_number"], "friendly_name": number["friendly_name"],
                "sms_url": number["sms_url"], "sms_method": number["sms_method"],
                "sms_fallback_url": number["sms_fallback_url"],
                "sms_fallback_method": number["sms_fallback_method"], "sms_application_sid": None,
                "voice_url": "", "voice_method": "POST", "status_callback": "",
                # The rest of twilio-oai's IncomingPhoneNumber, as Twilio shows an SMS-only number.
                "address_requirements": "none", "address_sid": None, "bundle_sid": None,
                "emergency_address_sid": None, "emergency_address_status": "unregistered",
                "emergency_status": "Inactive", "identity_sid": None, "status_callback_method": "POST",
                "trunk_sid": None, "type": "local", "voice_application_sid": None,
                "voice_caller_id_lookup": False, "voice_fallback_method": "POST",
                "voice_fallback_url": "", "voice_receive_mode": "voice",
                "capabilities": {"voice": False, "sms": True, "mms": False, "fax": False},
                "date_created": rfc2822(number["created"]), "date_updated": rfc2822(number["updated"]),
                "origin": "twilio", "status": "in-use", "beta": False, "uri": f"{uri}.json",
                "subresource_uris": {"assigned_add_ons": f"{uri}/AssignedAddOns.json"}}

    def trial_mode(self, form: dict | None) -> dict:
        """The account's mode; POST Trial=true|false and VerifiedNumbers=+1...,+39... to change it."""
        store = self.standin.store
        if form:
            verified = [n.strip() for n in form.get("VerifiedNumbers", "").split(",") if n.strip()]
            bad = [n for n in verified if not E164.match(n)]
            if bad:
                raise TwilioError(400, 21211, f"Verified numbers must be E.164, e.g. +393331234567: "
                                  f"{', '.join(bad)}.")
            with store.lock:
                store.account = {"trial": form.get("Trial", "").lower() == "true", "verified": verified}
                store.save("account")
        return dict(store.account)

    def simulator(self, method: str, path: str, form: dict, query: dict):
        handset = re.match(r"^handsets/(?P<number>[^/]+)/messages$", path)
        if handset and method == "POST":
            return 200, self.standin.text_from_handset(
                handset["number"], form.get("Body", ""), form.get("To") or LOCAL_NUMBER,
                form.get("FromCity", ""))
        if handset and method == "GET":
            number = handset["number"]
            with self.standin.store.lock:
                talk = [self.standin.render(m) for m in self.standin.store.messages.values()
                        if number in (m["to"], m["from"])]
            return 200, {"handset": number, "messages": talk}
        if path == "account":
            return 200, self.trial_mode(form if method == "POST" else None)
        delivery = re.match(r"^deliveries/(\w+)$", path)
        if delivery and method == "GET":
            found = self.standin.store.deliveries.get(delivery[1])
            if found is None:
                raise TwilioError(404, 20404, f"No webhook delivery is recorded for {delivery[1]}: "
                                  "only texts from handsets are delivered to the SMS webhook.")
            return 200, found
        raise TwilioError(404, 20404, f"The local handset simulator has no {method} /_local/{path}.")


def _when(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    except ValueError:
        raise TwilioError(400, 20001, f"DateSent {text!r} is not a date: use YYYY-MM-DD or "
                          "YYYY-MM-DDThh:mm:ssZ.")


def _matches(message: dict, filters: dict) -> bool:
    if filters.get("To") and message["to"] != filters["To"]:
        return False
    if filters.get("From") and message["from"] != filters["From"]:
        return False
    sent = message["sent"]
    for key, value in filters.items():
        if not key.startswith("DateSent"):
            continue
        if sent is None:
            return False
        day_only = len(value) == 10
        limit = _when(value)
        moment = datetime.fromtimestamp(sent, timezone.utc)
        if day_only:
            moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        else:
            moment = moment.replace(microsecond=0)
        # Twilio's DateSent< and DateSent> are inclusive, like <= and >=.
        if key.rstrip("=") == "DateSent<" and moment > limit:
            return False
        if key.rstrip("=") == "DateSent>" and moment < limit:
            return False
        if key == "DateSent" and moment != limit:
            return False
    return True


def _page(path: str, key: str, records: list[dict], filters: dict, query: dict) -> dict:
    """One page of a list in Twilio's paging shape; PageToken pins the page across new records."""
    try:
        size = min(max(int(query.get("PageSize", 50)), 1), 1000)
        page = max(int(query.get("Page", 0)), 0)
    except ValueError:
        raise TwilioError(400, 20001, "Page and PageSize must be whole numbers.")
    start = page * size
    token = query.get("PageToken", "")
    if token.startswith("PA"):
        sids = [r["sid"] for r in records]
        start = sids.index(token[2:]) + 1 if token[2:] in sids else len(records)
    chunk = records[start:start + size]
    base = f"/{API_VERSION}{path.split('/' + API_VERSION, 1)[1]}"

    def uri(number: int, extra: dict | None = None) -> str:
        return f"{base}?{urlencode({**filters, 'PageSize': size, 'Page': number, **(extra or {})})}"

    more = start + size < len(records)
    return {key: chunk, "page": page, "page_size": size, "start": start,
            "end": start + max(len(chunk) - 1, 0), "uri": uri(page), "first_page_uri": uri(0),
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "next_page_uri": uri(page + 1, {"PageToken": "PA" + chunk[-1]["sid"]}) if more else None}


def wrap(app, context):
    # The store is read at the first request for it, not at start: a day's messages are 4 MB
    # of JSON, which a start (and a restart's first calls) need none of.
    store_path, made, lock = Path(context.state_dir) / "twilio.json", [], threading.Lock()

    def twilio_layer(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == PREFIX or path.startswith(PREFIX + "/"):
            with lock:
                if not made:
                    made.append(Api(Standin(Store(store_path))))
            return made[0](environ, start_response)
        return app(environ, start_response)
    return twilio_layer
