"""GET /reports/{id}: 200 with the stored report, 404 with a message for unknown ids."""
from __future__ import annotations

import json

import boto3
import pytest

from tests.infra.conftest import create_table_as_in_template, load_function

REPORT = {"id": "SM0123", "category": "LIFT", "text": "stuck on floor 2", "city": "Roma",
          "company": "Elevatori Capitale", "status": "ASSIGNED"}


@pytest.fixture
def get_report(aws_local, monkeypatch):
    name = create_table_as_in_template("ReportsTable")
    boto3.resource("dynamodb").Table(name).put_item(Item=REPORT)
    monkeypatch.setenv("REPORTS_TABLE", name)
    return load_function("get_report")


def test_a_stored_report_is_served_as_json(get_report):
    answer = get_report.handler({"pathParameters": {"id": "SM0123"}}, None)
    assert answer["statusCode"] == 200
    assert answer["headers"] == {"Content-Type": "application/json"}
    assert json.loads(answer["body"]) == REPORT


def test_an_unknown_id_is_a_404_that_names_it(get_report):
    answer = get_report.handler({"pathParameters": {"id": "SMnope"}}, None)
    assert (answer["statusCode"], json.loads(answer["body"])) == (404, {"message": "No report with id SMnope."})
