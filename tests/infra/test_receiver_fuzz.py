"""The SMS webhook against malformed input: no 5xx, only well-formed TwiML, only valid execution names.

Most requests call the receiver's handler in-process (the handler is the unit under test), with
its SSM parameters and a one-state workflow in the real local cloud, so that every execution it
starts is a real StartExecution. A smaller sample goes through the API front door of the deployed
Fixit stack, where the body travels as the bytes that were sent.
"""
from __future__ import annotations

import base64
import random
import re
import uuid
import xml.etree.ElementTree as ElementTree
from urllib.parse import parse_qsl, quote

import requests
from twilio.request_validator import RequestValidator

from gluelab.config import client
from tests.infra.conftest import TOKEN, URL

SIGNED_IN_PROCESS, UNSIGNED_NON_UTF8_IN_PROCESS = 2000, 200
SIGNED_THROUGH_API, UNSIGNED_NON_UTF8_THROUGH_API = 30, 30
# Step Functions' rule for execution names (API reference, StartExecution `name`), written out
# here rather than taken from the receiver, so that the test does not trust what it tests.
REFUSED_IN_NAMES = re.compile(r"[\s<>{}\[\]?*\"#%\\^|~`$&,;:/\x00-\x1f\x7f-\x9f]")

CONTROL = "".join(map(chr, [0, 1, 7, 8, 11, 12, 14, 27, 31, 127, 0x85, 0xFFFE, 0xFFFF]))
WORDS = ["LIFT", "lift:", "WATER", "GAS", "PIZZA", "stuck", "<b>", "&amp;", "]]>", "Via", "Roma",
         "\u00e8", "\U0001F6D7", "floor", "3", "'", '"', "%", "+", "="]


def text(rng: random.Random) -> str | bytes:
    """A random field value: sensible, empty, huge, control characters, or bytes that are not UTF-8."""
    kind = rng.choice(["report", "words", "empty", "huge", "control", "bytes", "spaces"])
    if kind == "report":
        return f"{rng.choice(['LIFT', 'WATER', 'heat', 'Door'])} {' '.join(rng.choices(WORDS, k=4))}"
    if kind == "words":
        return " ".join(rng.choices(WORDS, k=rng.randint(1, 8)))
    if kind == "empty":
        return ""
    if kind == "huge":
        return rng.choice(WORDS) * rng.randint(500, 20000)
    if kind == "control":
        return "LIFT " + "".join(rng.choices(CONTROL + "ab ", k=rng.randint(1, 30)))
    if kind == "bytes":
        return b"LIFT stuck " + bytes(rng.choices(range(128, 256), k=rng.randint(1, 8)))
    return " \t\n" * rng.randint(1, 5)


def message_sid(rng: random.Random) -> str | bytes | None:
    kind = rng.choice(["twilio", "twilio", "missing", "empty", "long", "forbidden", "other"])
    if kind == "twilio":
        return "SM" + uuid.UUID(int=rng.getrandbits(128)).hex
    if kind == "missing":
        return None
    if kind == "empty":
        return ""
    if kind == "long":
        return "SM" + "a" * rng.randint(79, 5000)
    if kind == "forbidden":
        return "SM" + "".join(rng.choices(" :/#%\\^|~`$&,;<>{}[]?*\"\x00\x01\u00e8", k=5))
    return text(rng)


def form(rng: random.Random) -> dict[str, str | bytes]:
    """Twilio's fields, each one possibly missing, empty or malformed, plus an unknown one now and then."""
    fields = {"MessageSid": message_sid(rng),
              "From": rng.choice(["+393330000001", "+15555550199", "", None, text(rng)]),
              "To": "+15555550100", "Body": rng.choice([text(rng), text(rng), None]),
              "FromCity": rng.choice(["ROMA", "", None, text(rng)])}
    if rng.random() < 0.2:
        fields[rng.choice(["X", "Body2", "\u00e8", "a b"])] = text(rng)
    return {name: value for name, value in fields.items() if value is not None}


def encoded(fields: dict[str, str | bytes], rng: random.Random) -> bytes:
    """The form body; non-UTF-8 bytes are sent raw or percent-encoded, as a broken client might."""
    pairs = []
    for name, value in fields.items():
        raw = value if isinstance(value, bytes) else value.encode()
        value_part = raw if isinstance(value, bytes) and rng.random() < 0.5 else quote(raw).encode()
        pairs.append(quote(name).encode() + b"=" + value_part)
    return b"&".join(pairs)


def signature(body: bytes, url: str, token: str) -> str:
    """The signature Twilio would compute for the fields this body decodes to."""
    params = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True,
                            errors="replace"))
    return RequestValidator(token).compute_signature(url, params)


def event(body: bytes, signature_header: str) -> dict:
    """The event API Gateway passes for this body: text if it is UTF-8, else base64."""
    try:
        payload, binary = body.decode("utf-8"), False
    except UnicodeDecodeError:
        payload, binary = base64.b64encode(body).decode(), True
    return {"body": payload, "isBase64Encoded": binary,
            "headers": {"X-Twilio-Signature": signature_header,
                        "Content-Type": "application/x-www-form-urlencoded"}}


def unsigned_non_utf8(rng: random.Random) -> tuple[bytes, str]:
    """A report whose body has bytes that are not UTF-8, unsigned or with a made-up signature."""
    body = (b"Body=LIFT+" + bytes(rng.choices(range(128, 256), k=rng.randint(1, 20))) +
            b"&From=%2B393330000001&MessageSid=SM" + uuid.UUID(int=rng.getrandbits(128)).hex.encode())
    return body, rng.choice(["", "bm90IGZyb20gVHdpbGlv"])


def assert_answer_is_well_formed(status: int, content_type: str, body: str, what: str) -> None:
    assert status < 500, f"{what}: answered {status}: {body[:300]}"
    if content_type.startswith("text/xml"):
        root = ElementTree.fromstring(body)  # raises on anything Twilio could not read (12100)
        assert root.tag == "Response" and root.find("Message") is not None, f"{what}: {body[:300]}"


def execution_names(machine_arn: str) -> list[str]:
    pages = client("stepfunctions").get_paginator("list_executions").paginate(stateMachineArn=machine_arn)
    return [e["name"] for page in pages for e in page["executions"]]


def assert_names_aws_accepts(names: list[str]) -> None:
    refused = [n for n in names if not 1 <= len(n) <= 80 or REFUSED_IN_NAMES.search(n)]
    assert refused == [], f"{len(refused)} execution names AWS would refuse, e.g. {refused[:3]!r}"


def answer(receiver, body: bytes, signed: str, what: str) -> dict:
    """The handler's answer to one request, checked as Twilio would read it."""
    try:
        reply = receiver.handler(event(body, signed), None)
    except Exception as exc:  # API Gateway answers 502 when the handler raises
        raise AssertionError(f"{what} {body[:200]!r} crashed the handler") from exc
    assert_answer_is_well_formed(reply["statusCode"], reply["headers"]["Content-Type"], reply["body"],
                                 f"{what} {body[:200]!r}")
    return reply


def test_malformed_requests_in_process(webhook, capsys):
    receiver, machine = webhook
    rng = random.Random(20261127)
    answered, acknowledged = {}, set()
    for number in range(SIGNED_IN_PROCESS):
        body = encoded(form(rng), rng)
        signed = signature(body, URL, TOKEN)
        for _ in range(2 if rng.random() < 0.1 else 1):  # Twilio retries some webhooks
            reply = answer(receiver, body, signed, f"signed request {number}")
            answered[reply["statusCode"]] = answered.get(reply["statusCode"], 0) + 1
            if "Thanks! We got your" in reply["body"]:
                acknowledged.add(re.search(r"report \(([^)]+)\)", reply["body"]).group(1))
    for number in range(UNSIGNED_NON_UTF8_IN_PROCESS):
        body, signed = unsigned_non_utf8(rng)
        assert answer(receiver, body, signed, f"unsigned request {number}")["statusCode"] == 403
    capsys.readouterr()  # the receiver logs a line per request
    names = execution_names(machine)
    assert_names_aws_accepts(names)
    # Every acknowledged report has its one execution, retries included, and nothing else started.
    assert sorted(names) == sorted(acknowledged)
    # The sample reaches every kind of answer: refusals, help replies and acknowledgements.
    assert {200, 400} <= set(answered) and len(acknowledged) > 100, answered


def test_a_sample_through_the_api_front_door(fixit):
    """Signed malformed requests and unsigned non-UTF-8 ones, posted over HTTP to the deployed app."""
    url = fixit["WebhookUrl"]
    token = client("ssm").get_parameter(Name="/fixit/twilio/auth_token", WithDecryption=True)["Parameter"]["Value"]
    rng = random.Random(11)
    before = set(execution_names(fixit["StateMachineArn"]))
    posts = [(body, signature(body, url, token))
             for body in (encoded(form(rng), rng) for _ in range(SIGNED_THROUGH_API))]
    posts += [unsigned_non_utf8(rng) for _ in range(UNSIGNED_NON_UTF8_THROUGH_API)]
    statuses = {}
    with requests.Session() as session:
        for body, signed in posts:
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            if signed:
                headers["X-Twilio-Signature"] = signed
            reply = session.post(url, data=body, headers=headers, timeout=30)
            assert_answer_is_well_formed(reply.status_code, reply.headers.get("Content-Type", ""),
                                         reply.text, f"POST {body[:200]!r}")
            statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1
    assert statuses.get(403, 0) >= UNSIGNED_NON_UTF8_THROUGH_API, statuses
    assert_names_aws_accepts(sorted(set(execution_names(fixit["StateMachineArn"])) - before))
