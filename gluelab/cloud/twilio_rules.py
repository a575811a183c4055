"""Twilio's messaging rules that the stand-in (twilio_standin.py) follows, as Twilio documents them.

- Opt-out keywords: a handset that texts STOP (or STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
  OPTOUT, REVOKE) to a number gets Twilio's confirmation and no further message from it: a send
  is refused with error 21610 until it texts START (or YES, UNSTOP). HELP (or INFO) gets Twilio's
  help answer. The text still reaches the webhook, as on Twilio.
- Trial accounts send only to verified numbers (error 21608) and prefix each body with
  "Sent from your Twilio trial account - ".
- Webhook retries follow the connection overrides in the URL's fragment: `#rc=N` (0-5, default 1)
  retries, `#rp=ct,rt,4xx,5xx,all` (default `ct`: only when no connection could be made), within
  `rt` ms per answer and `tt` ms in all (100-15000, both 15000 by default). The fragment never
  leaves Twilio: it is neither requested nor signed.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit, urlunsplit

OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
OPT_IN = {"START", "YES", "UNSTOP"}
HELP = {"HELP", "INFO"}
# Twilio's default automatic answers for long codes.
ANSWERS = {
    "STOP": "You have successfully been unsubscribed. You will not receive any more messages "
            "from this number. Reply START to resubscribe.",
    "START": "You have successfully been re-subscribed to messages from this number. Reply HELP "
             "for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
    "HELP": "Reply STOP to unsubscribe. Msg&Data Rates May Apply.",
}
TRIAL_PREFIX = "Sent from your Twilio trial account - "
RETRY_POLICIES = {"ct", "rt", "4xx", "5xx", "all"}
DEFAULT_RETRIES, MAX_RETRIES, DEFAULT_POLICY = 1, 5, frozenset({"ct"})
TIMEOUT_MS = (100, 15000)  # the range of rt and tt; 15000 is the default of both


def keyword(body: str) -> str | None:
    """"STOP", "START" or "HELP" when the whole text is one of Twilio's keywords, else None."""
    word = body.strip().upper()
    for kind, words in (("STOP", OPT_OUT), ("START", OPT_IN), ("HELP", HELP)):
        if word in words:
            return kind
    return None


def refusal(account: dict, opted_out: bool, to: str) -> tuple[int, str] | None:
    """(error code, Twilio's message) when a message to `to` may not be sent, else None."""
    if opted_out:
        return 21610, "Attempt to send to unsubscribed recipient"
    if account.get("trial") and to not in account.get("verified", []):
        return 21608, (f"The number {to} is unverified. Trial accounts cannot send messages to "
                       "unverified numbers; verify it at twilio.com/user/account/phone-numbers/"
                       "verified, or purchase a Twilio number to send messages to unverified numbers.")
    return None


@dataclass(frozen=True)
class Overrides:
    url: str  # what Twilio requests and signs: the URL without its fragment
    retries: int
    policy: frozenset[str]
    read_timeout_s: float
    total_s: float


def overrides(url: str, default_timeout_s: float) -> Overrides:
    """The connection overrides of a webhook URL (defaults where it names none)."""
    from gluelab.cloud.twilio_standin import TwilioError
    parts = urlsplit(url)
    settings = dict(parse_qsl(parts.fragment))

    def whole(name: str, low: int, high: int, default: int) -> int:
        value = settings.get(name, str(default))
        if not value.isdigit() or not low <= int(value) <= high:
            raise TwilioError(400, 11200, f"HTTP retrieval failure: {name}={value} in {url} must "
                              f"be a whole number from {low} to {high}.")
        return int(value)

    retries = whole("rc", 0, MAX_RETRIES, DEFAULT_RETRIES)
    default_ms = round(default_timeout_s * 1000)
    read_ms, total_ms = (whole(name, *TIMEOUT_MS, default_ms) for name in ("rt", "tt"))
    policy = frozenset(settings["rp"].split(",")) if "rp" in settings else DEFAULT_POLICY
    if not policy <= RETRY_POLICIES:
        raise TwilioError(400, 11243, f"HTTP retry policy is invalid: rp={settings['rp']} in {url}; "
                          f"use a comma-separated list of {', '.join(sorted(RETRY_POLICIES))}.")
    return Overrides(urlunsplit(parts._replace(fragment="")), retries, policy,
                     read_ms / 1000, total_ms / 1000)


def failure_class(attempt: dict) -> str | None:
    """Which retry policy an attempt's failure falls under ("ct", "rt", "4xx", "5xx"), or None."""
    if attempt["status"] is None:
        return attempt.get("failure", "ct")
    if 400 <= attempt["status"] < 600:
        return f"{attempt['status'] // 100}xx"
    return None


def retried(attempt: dict, policy: frozenset[str]) -> bool:
    failure = failure_class(attempt)
    return failure is not None and ("all" in policy or failure in policy)
