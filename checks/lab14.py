"""Lab 14 "Serve the reports": GET /reports/{id} answers 200 with a stored report and 404 for an
unknown id; one text goes all the way to a report the API serves."""
from __future__ import annotations

import json
import uuid

import requests

from checks.fixit import (bad_gateway, signed_in_token, stack_outputs, stored_report,
                          succeeded, text_fixit)
from checks.lab12 import check_document
from checks.lab13 import reports_table
from checks.runner import Context, Hinted, check_for
from gluelab.config import client

# Ofcom's range for drama (+44 7700 900xxx): never a real phone, apart from other checks' handsets.
CHECK_HANDSET = "+447700900214"
CHECK_USER, CHECK_PASSWORD = "checks@fixit.example.com", "Checks-Correct-Horse-42"
TIMEOUT_S = 10


def api(outputs: dict[str, str]) -> str:
    assert "ApiUrl" in outputs, "the stack has no ApiUrl output"
    return outputs["ApiUrl"].rstrip("/") + "/"


def check_user_token(outputs: dict[str, str]) -> str:
    """An ID token of a checks-only user of the app's user pool (created by admin calls)."""
    return signed_in_token(outputs, CHECK_USER, CHECK_PASSWORD)


def request_report(outputs: dict[str, str], report_id: str, token: str | None) -> requests.Response:
    """GET /reports/{id} with `token` as the Authorization header (none if None)."""
    headers = {"Authorization": token} if token else {}
    return requests.get(api(outputs) + f"reports/{report_id}", headers=headers, timeout=TIMEOUT_S)


def get_report(outputs: dict[str, str], report_id: str) -> requests.Response:
    """GET /reports/{id}, signed in when the app has a user pool (after lab 15)."""
    return request_report(outputs, report_id,
                          check_user_token(outputs) if "UserPoolId" in outputs else None)


def json_of(answer: requests.Response):
    try:
        return answer.json()
    except ValueError:
        raise AssertionError(f"the answer ({answer.status_code}) is not JSON: {answer.text[:200]!r}") from None


def served(outputs: dict[str, str], report_id: str, status: int):
    """The JSON body of GET /reports/{report_id}, which must answer `status`."""
    answer = get_report(outputs, report_id)
    said = f"the API answered {answer.status_code}: {answer.text[:200]!r}"
    if answer.status_code == 502:
        raise bad_gateway("GetReportFunction", said, "_json")
    if answer.status_code == 403 and status != 403 and "UserPoolId" not in outputs:
        raise Hinted(f"{said}: the API has no GET /reports/{{id}} route",
                     "Give GetReportFunction the GetReport event (Type: Api, Path: /reports/{id}, "
                     "Method: get) and deploy again.")
    assert answer.status_code == status, said
    return json_of(answer)


@check_for("14", "GET /reports/{id} answers 200 with the stored report",
           hint="In report_response, return _json(200, item) when table.get_item(Key={\"id\": "
                "report_id}) has an Item; give GetReportFunction a DynamoDBReadPolicy and the "
                "GetReport Api event (Path /reports/{id}, Method get); deploy again.")
def serves_a_report(ctx: Context) -> str:
    outputs = stack_outputs()
    table = reports_table()  # keyed by id, or the hint says how to key it
    report = {"id": f"check14-{uuid.uuid4().hex[:12]}", "category": "DOOR", "status": "ASSIGNED",
              "summary": "DOOR problem: front door lock broken (assigned to Porte Sicure)"}
    client("dynamodb").put_item(TableName=table, Item={k: {"S": v} for k, v in report.items()})
    body = served(outputs, report["id"], 200)
    assert body == report, f"the API served {json.dumps(body)[:200]}, not the stored report"
    return "200 with the stored item as JSON"


@check_for("14", "GET /reports/{id} answers 404 with a message for an unknown id",
           hint="When get_item returns no Item, return _json(404, {\"message\": f\"No report with "
                "id {report_id}.\"}).")
def unknown_is_404(ctx: Context) -> str:
    outputs = stack_outputs()
    report_id = f"check14-missing-{uuid.uuid4().hex[:8]}"
    body = served(outputs, report_id, 404)
    expected = {"message": f"No report with id {report_id}."}
    assert body == expected, f"the 404's body is {body}, expected {expected}"
    return "404 with the id in the message"


@check_for("14", "One text goes all the way: texts sent, report stored and served by the API",
           hint="Run the labs' checks from 06 to 13 to find the broken step; then make sure the "
                "API serves what the workflow stored (deploy again after any change).")
def end_to_end(ctx: Context) -> str:
    outputs = stack_outputs()
    execution = text_fixit(CHECK_HANDSET)
    document = succeeded(execution)
    assert isinstance(document, dict) and "id" in document, (
        f"the workflow's output is not a report document: {json.dumps(document)[:200]}")
    report = {"reportId": document["id"], "reporter": CHECK_HANDSET, "category": "LIFT",
              "text": "stuck between floors 3 and 4, Via Roma 12", "city": "Roma",
              "receivedAt": document.get("receivedAt")}
    check_document(document, report)
    assert stored_report(outputs["ReportsTableName"], document["id"]) == document, (
        "the stored item is not the workflow's report document")
    assert served(outputs, document["id"], 200) == document, \
        "the API served something else than the stored report"
    return f"{document['id']}: {document['company']}, 2 texts, stored, served"
