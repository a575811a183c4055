"""Lab 13 "Store the report in DynamoDB": after an SMS, the report item is in the Reports table,
written by a dynamodb:putItem service integration."""
from __future__ import annotations

import json

from checks.fixit import (STACK, deployed_states, run_workflow, sample_report, stack_outputs,
                          stored_report, text_fixit, unreachable_company)
from checks.runner import Context, Hinted, check_for
from checks.workflow_hints import output_of
from gluelab import config

# Ofcom's range for drama (+44 7700 900xxx): never a real phone, apart from other checks' handsets.
CHECK_HANDSET = "+447700900213"
PUT_ITEM = "arn:aws:states:::dynamodb:putItem"


def reports_table() -> str:
    """The name of the deployed Reports table, which must be keyed by the document's id."""
    table = stack_outputs().get("ReportsTableName")
    if not table:
        raise Hinted(f"the stack {STACK} has no ReportsTableName output",
                     "Run the ReportsTableName cell (Value: !Ref ReportsTable) and deploy again.")
    keys = [k["AttributeName"] for k in
            config.client("dynamodb").describe_table(TableName=table)["Table"]["KeySchema"]]
    if keys != ["id"]:
        raise Hinted(f"the table's key is {', '.join(keys)}, not id",
                     "The report document's key field is id: give ReportsTable "
                     "PrimaryKey: {Name: id, Type: String} and deploy again.")
    return table


def writes_to(store: dict, table: str) -> None:
    """StoreReport's TableName must be the deployed Reports table (a name typed by hand is no
    table of the stack's, and the role may not write there: AccessDenied would mislead)."""
    given = store.get("Parameters", {}).get("TableName")
    if given is None or given == table:
        return
    if "${" in str(given):
        raise Hinted(f"StoreReport's TableName is {given!r}: no substitution replaced it",
                     "Add ReportsTableName: !Ref ReportsTable to FixitStateMachine's "
                     "DefinitionSubstitutions and deploy again.")
    raise Hinted(f"StoreReport's TableName is {given!r}, not the Reports table {table}",
                 "Give StoreReport \"TableName\": \"${ReportsTableName}\": SAM replaces it with "
                 "the table's name, which CloudFormation makes up when it creates the table. "
                 "Deploy again.")


def stored(table: str, report_id: str, store: dict | None) -> dict:
    """The stored report `report_id`; if there is none, why, by whether StoreReport exists."""
    item = stored_report(table, report_id)
    if item is None and store is None:
        raise Hinted(f"no item with id {report_id} in {table}",
                     "The workflow ended before StoreReport: make Glue go on to it (\"Next\": "
                     "\"StoreReport\"), run the definition cell and deploy again.")
    if item is None:
        raise Hinted(f"StoreReport ran, but {table} has no item with the document's id {report_id}",
                     "StoreReport's Item must store the document's id under the key id: "
                     "\"id\": {\"S.$\": \"$.id\"}. Fix it and deploy again.")
    return item


@check_for("13", "After a text, its report is in the table named by ReportsTableName",
           hint="Add ReportsTable and the ReportsTableName output; in the definition make Glue go "
                "on to StoreReport (Resource arn:aws:states:::dynamodb:putItem, TableName "
                "${ReportsTableName}, ResultPath null); give FixitStateMachine the "
                "ReportsTableName substitution and a DynamoDBWritePolicy; deploy again.")
def report_stored(ctx: Context) -> str:
    table = reports_table()
    store = deployed_states().get("StoreReport")
    if store is not None:
        writes_to(store, table)
    document = output_of(text_fixit(CHECK_HANDSET))
    if not (isinstance(document, dict) and "id" in document):
        raise Hinted(f"the execution's output is not the report document: {json.dumps(document)[:200]}",
                     "Give StoreReport \"ResultPath\": null, so that putItem's answer does not "
                     "replace the document, and deploy again.")
    item = stored(table, document["id"], store)
    different = sorted(key for key in set(item) | set(document) if item.get(key) != document.get(key))
    if different:
        raise Hinted(f"the stored item differs from the report document in {', '.join(different)}",
                     "StoreReport's Item must hold every field of the document under its own name, "
                     "each as {\"S.$\": \"$.<field>\"}: compare its entries for those fields with "
                     "the cell's, and deploy again.")
    return f"{document['id']} with {len(item)} attributes"


@check_for("13", "StoreReport calls DynamoDB directly, with no function in between",
           hint="Give StoreReport \"Resource\": \"arn:aws:states:::dynamodb:putItem\" and make it "
                "the last state (\"End\": true), after Glue.")
def direct_integration(ctx: Context) -> str:
    states = deployed_states()
    if "StoreReport" not in states:
        raise Hinted("the deployed definition has no StoreReport state",
                     "Run the definition cell with StoreReport, then deploy again.")
    resource = states["StoreReport"].get("Resource")
    if resource != PUT_ITEM:
        raise Hinted(f"StoreReport's Resource is {resource!r}",
                     f"Give StoreReport \"Resource\": \"{PUT_ITEM}\", the service integration "
                     "that calls DynamoDB's PutItem, and deploy again.")
    if states.get("Glue", {}).get("Next") != "StoreReport":
        raise Hinted("Glue does not go on to StoreReport",
                     "In Glue, put \"Next\": \"StoreReport\" in place of \"End\": true, and deploy again.")
    return resource


@check_for("13", "A report is stored even when its company cannot be texted",
           hint="Keep lab 11's Catch in each notify branch (a text that cannot be sent becomes "
                "NOT_SENT) and make StoreReport store whatever Glue built.")
def stored_when_a_text_fails(ctx: Context) -> str:
    table = reports_table()
    with unreachable_company() as company:
        report = sample_report("13", city=company["city"])
        execution = run_workflow(report)
    output_of(execution)
    item = stored(table, report["reportId"], deployed_states().get("StoreReport"))
    assert item.get("companyMessageSid") == "NOT_SENT", (
        f"the stored report's companyMessageSid is {item.get('companyMessageSid')!r}, not NOT_SENT")
    return "stored with companyMessageSid NOT_SENT"
