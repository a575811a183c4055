"""Lab 07 "Add the Companies table": the table, its ByCategory index and the seeded companies."""
from __future__ import annotations

import json

from checks.fixit import STACK, output, physical_id
from checks.runner import Context, check_for
from gluelab import config
from gluelab.lab import reference_text


def companies_table() -> str:
    return output("CompaniesTableName", f"there is no stack {STACK}: run the restore and deploy cells",
                  f"the stack {STACK} has no output CompaniesTableName: add it and deploy")


@check_for("07", "The CompaniesTableName output is the table's name",
           hint="Write the output as `Value: !Ref CompaniesTable`: for an AWS::DynamoDB::Table, !Ref "
                "gives the table's name, while !GetAtt CompaniesTable.Arn gives its ARN. Run the "
                "Outputs cell, deploy.")
def output_is_the_name(ctx: Context) -> str:
    value = companies_table()
    name = physical_id("CompaniesTable", f"the stack {STACK} has no CompaniesTable resource: run "
                       "the table's cell and deploy")
    # DynamoDB's calls accept a table's ARN where they take its name, so only a comparison with
    # the name CloudFormation gave the table shows the mistake.
    what = f"the table's ARN ({value})" if value.startswith("arn:") else repr(value)
    assert value == name, f"CompaniesTableName is {what}, not the table's name {name}"
    return name


@check_for("07", "The Companies table exists, keyed by id, with a ByCategory index keyed by category",
           hint="In CompaniesTable, declare the category attribute (S) and a GlobalSecondaryIndexes "
                "entry named ByCategory, KeySchema category HASH, Projection ALL; run the cell, deploy.")
def table_and_index(ctx: Context) -> str:
    table = config.client("dynamodb").describe_table(TableName=companies_table())["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}], (
        f"the table's key is {table['KeySchema']}, not id (HASH)")
    indexes = {i["IndexName"]: i for i in table.get("GlobalSecondaryIndexes", [])}
    assert "ByCategory" in indexes, f"global secondary indexes: {sorted(indexes) or 'none'}"
    index = indexes["ByCategory"]
    assert index["KeySchema"] == [{"AttributeName": "category", "KeyType": "HASH"}], (
        f"ByCategory's key is {index['KeySchema']}, not category (HASH)")
    assert index["Projection"]["ProjectionType"] == "ALL", (
        f"ByCategory projects {index['Projection']['ProjectionType']}, not ALL: a query would "
        "not return the companies' names and phones")
    return ""


@check_for("07", "A query on ByCategory returns the seeded companies of each category",
           hint="Run the deploy cell and then the cell that loads the seed data (tagged setup).")
def query_by_category(ctx: Context) -> str:
    table = companies_table()
    seeded = json.loads(reference_text("seed/companies.json"))
    dynamodb = config.client("dynamodb")
    for category in sorted({c["category"] for c in seeded}):
        expected = sorted(c["id"] for c in seeded if c["category"] == category)
        items = dynamodb.query(TableName=table, IndexName="ByCategory",
                               KeyConditionExpression="category = :c",
                               ExpressionAttributeValues={":c": {"S": category}})["Items"]
        found = sorted(item["id"]["S"] for item in items)
        assert found == expected, f"{category}: the query returned {found or 'nothing'}, expected {expected}"
        assert all("phone" in item and "name" in item for item in items), (
            f"{category}: the items have no name or phone")
    return f"{len(seeded)} companies in {len({c['category'] for c in seeded})} categories"
