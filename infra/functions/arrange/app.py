"""Workflow task: choose the company that fixes the reported problem.

Input: the report (`category`, and `city` when Twilio knew where the sender is). Output: the
assignment `{"companyId", "company", "phone", "city"}`. Companies serving the category are
read from the Companies table's category index; one in the reporter's city is preferred.
"""
from __future__ import annotations

import functools
import os

import boto3
from boto3.dynamodb.conditions import Key


class NoCompanyFound(Exception):
    """No company serves this category; the workflow catches this and tells the reporter."""


def choose_company(items: list[dict], category: str, city: str = "") -> dict:
    """The company for a report: same category, the reporter's city first, then by name."""
    serving = [item for item in items if item.get("category") == category]
    if not serving:
        raise NoCompanyFound(f"No company handles {category} reports.")
    local = [item for item in serving if city and item.get("city", "").lower() == city.lower()]
    return min(local or serving, key=lambda item: item["name"])


def companies_for(table, index: str, category: str) -> list[dict]:
    query = {"IndexName": index, "KeyConditionExpression": Key("category").eq(category)}
    items = []
    while True:
        reply = table.query(**query)
        items += reply["Items"]
        if "LastEvaluatedKey" not in reply:
            return items
        query["ExclusiveStartKey"] = reply["LastEvaluatedKey"]


@functools.cache
def companies_table():
    return boto3.resource("dynamodb").Table(os.environ["COMPANIES_TABLE"])


def handler(event, context):
    category = event["category"]
    items = companies_for(companies_table(), os.environ["COMPANIES_INDEX"], category)
    company = choose_company(items, category, event.get("city", ""))
    return {"companyId": company["id"], "company": company["name"], "phone": company["phone"],
            "city": company["city"]}
