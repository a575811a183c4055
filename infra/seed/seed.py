"""Load companies.json into the Companies table: `python infra/seed/seed.py TABLE_NAME`.

The table name is the stack's CompaniesTableName output. Loading twice leaves the same items
(ids are the keys), so this is safe to rerun after editing the data file.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import boto3

COMPANIES = Path(__file__).with_name("companies.json")


def companies(path: Path = COMPANIES) -> list[dict]:
    return json.loads(path.read_text())


def seed(table, items: list[dict]) -> int:
    """Write the items to a boto3 Table; returns how many were written."""
    with table.batch_writer() as batch:
        for item in items:
            batch.put_item(Item=item)
    return len(items)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python infra/seed/seed.py COMPANIES_TABLE_NAME")
    count = seed(boto3.resource("dynamodb").Table(sys.argv[1]), companies())
    print(f"{count} companies written to {sys.argv[1]}")
