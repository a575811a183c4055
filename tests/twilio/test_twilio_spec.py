"""The stand-in's REST answers match Twilio's official API definition (twilio-oai's
twilio_api_v2010.json, vendored in tests/fixtures/twilio-oai with its licence): each answer
validates against the operation's response schema, and each resource carries every field the
definition lists. A field Twilio adds shows up here as soon as the definition is updated."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from jsonschema import Draft202012Validator

from gluelab.cloud.twilio_standin import LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN, LOCAL_NUMBER, LOCAL_NUMBER_SID

SPEC = json.loads((Path(__file__).parents[1] / "fixtures" / "twilio-oai" / "twilio_api_v2010.json").read_text())
BASE = "/2010-04-01/Accounts"


def json_schema(node):
    """An OpenAPI 3.0 schema as plain JSON Schema: $refs inlined, `nullable` as a null type."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    schema = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        schema["type"] = [schema["type"], "null"] if "type" in schema else ["null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    return schema


def response_schema(path: str, method: str, status: int) -> dict:
    content = SPEC["paths"][path][method]["responses"][str(status)]["content"]["application/json"]
    return json_schema(content["schema"])


def missing_fields(answer: dict, schema: dict) -> list[str]:
    """Every property the definition lists for a resource (and resources in a list) but absent."""
    missing = [name for name in schema.get("properties", {}) if name not in answer]
    for name, prop in schema.get("properties", {}).items():
        if prop.get("type") == "array" and "properties" in prop["items"]:
            for item in answer.get(name) or []:
                missing += [f"{name}[].{field}" for field in missing_fields(item, prop["items"])]
    return missing


@pytest.fixture(scope="module")
def message_sid(cloud):
    reply = requests.post(f"{cloud.settings.endpoint}/twilio{BASE}/{LOCAL_ACCOUNT_SID}/Messages.json",
                          data={"To": "+393330009999", "From": LOCAL_NUMBER, "Body": "spec check"},
                          auth=(LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN), timeout=10)
    assert reply.status_code == 201
    return reply.json()["sid"]


CALLS = [  # (definition path, method, status, concrete path, form)
    ("/2010-04-01/Accounts/{Sid}.json", "get", 200, f"{BASE}/{LOCAL_ACCOUNT_SID}.json", None),
    ("/2010-04-01/Accounts/{AccountSid}/Messages.json", "post", 201,
     f"{BASE}/{LOCAL_ACCOUNT_SID}/Messages.json", {"To": "+393330009998", "From": LOCAL_NUMBER, "Body": "hi"}),
    ("/2010-04-01/Accounts/{AccountSid}/Messages.json", "get", 200, f"{BASE}/{LOCAL_ACCOUNT_SID}/Messages.json", None),
    ("/2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json", "get", 200,
     f"{BASE}/{LOCAL_ACCOUNT_SID}/Messages/{{message_sid}}.json", None),
    ("/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers.json", "get", 200,
     f"{BASE}/{LOCAL_ACCOUNT_SID}/IncomingPhoneNumbers.json", None),
    ("/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json", "get", 200,
     f"{BASE}/{LOCAL_ACCOUNT_SID}/IncomingPhoneNumbers/{LOCAL_NUMBER_SID}.json", None),
    ("/2010-04-01/Accounts/{AccountSid}/IncomingPhoneNumbers/{Sid}.json", "post", 200,
     f"{BASE}/{LOCAL_ACCOUNT_SID}/IncomingPhoneNumbers/{LOCAL_NUMBER_SID}.json", {"FriendlyName": "Fixit (local)"}),
]


@pytest.mark.parametrize("spec_path, method, status, path, form", CALLS,
                         ids=[f"{c[1].upper()} {c[0].split('Accounts')[1]}" for c in CALLS])
def test_answers_match_the_official_definition(cloud, message_sid, spec_path, method, status, path, form):
    reply = requests.request(method, f"{cloud.settings.endpoint}/twilio{path.format(message_sid=message_sid)}",
                             data=form, auth=(LOCAL_ACCOUNT_SID, LOCAL_AUTH_TOKEN), timeout=10)
    assert reply.status_code == status, reply.text
    schema = response_schema(spec_path, method, status)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft202012Validator(schema).iter_errors(reply.json())]
    assert errors == []
    assert missing_fields(reply.json(), schema) == []


def test_the_vendored_definition_is_twilios_with_its_licence():
    assert SPEC["info"]["title"] == "Twilio - Api" and SPEC["openapi"].startswith("3.")
    assert "MIT License" in (Path(__file__).parents[1] / "fixtures" / "twilio-oai" / "LICENSE").read_text()
