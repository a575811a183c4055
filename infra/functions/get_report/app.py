"""GET /reports/{id}: one stored report as JSON, or a 404 that says which id was not found."""
from __future__ import annotations

import functools
import json
import os

import boto3


def report_response(table, report_id: str) -> dict:
    """The API Gateway answer for one report id."""
    item = table.get_item(Key={"id": report_id}).get("Item")
    if item is None:
        return _json(404, {"message": f"No report with id {report_id}."})
    return _json(200, item)


def _json(status: int, body: dict) -> dict:
    return {"statusCode": status, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(body)}


@functools.cache
def reports_table():
    return boto3.resource("dynamodb").Table(os.environ["REPORTS_TABLE"])


def handler(event, context):
    return report_response(reports_table(), event["pathParameters"]["id"])
