"""Lab 13 "Store the report in DynamoDB": after an SMS, the report item is in the Reports table,
written by a dynamodb:putItem service integration."""
from __future__ import annotations

import json

from checks.fixit import (STACK, deployed_states, run_workflow, sample_report, stack_outputs,
                          stored_report, succeeded, text_fixit, unreachable_company)
from checks.runner import Context, check_for

# Ofcom's range for drama (+44 7700 900xxx): never a real phone, apart from other checks' handsets.
CHECK_HANDSET = "+447700900213"


@check_for("13", "After a text, its report is in the table named by ReportsTableName",
           hint="Add ReportsTable and the ReportsTableName output; in the definition make Glue go "
                "on to StoreReport (Resource arn:aws:states:::dynamodb:putItem, TableName "
                "${ReportsTableName}, ResultPath null); give FixitStateMachine the "
                "ReportsTableName substitution and a DynamoDBWritePolicy; deploy again.")
def report_stored(ctx: Context) -> str:
    table = stack_outputs().get("ReportsTableName")
    assert table, f"the stack {STACK} has no ReportsTableName output"
    document = succeeded(text_fixit(CHECK_HANDSET))
    assert isinstance(document, dict) and "id" in document, (
        f"the execution's output is not the report document: {json.dumps(document)[:200]}; give "
        f"StoreReport \"ResultPath\": null so putItem's answer does not replace it")
    item = stored_report(table, document["id"])
    assert item is not None, f"no item with id {document['id']} in {table}"
    different = sorted(key for key in set(item) | set(document) if item.get(key) != document.get(key))
    assert not different, (f"the stored item differs from the report document in "
                           f"{', '.join(different)}; keep ResultPath null so the output stays the document")
    return f"{document['id']} with {len(item)} attributes"


@check_for("13", "StoreReport calls DynamoDB directly, with no function in between",
           hint="Give StoreReport \"Resource\": \"arn:aws:states:::dynamodb:putItem\" and make it "
                "the last state (\"End\": true), after Glue.")
def direct_integration(ctx: Context) -> str:
    states = deployed_states()
    assert "StoreReport" in states, f"the deployed definition has no StoreReport state"
    resource = states["StoreReport"].get("Resource")
    assert resource == "arn:aws:states:::dynamodb:putItem", f"StoreReport's Resource is {resource!r}"
    assert states.get("Glue", {}).get("Next") == "StoreReport", "Glue does not go on to StoreReport"
    return resource


@check_for("13", "A report is stored even when its company cannot be texted",
           hint="Keep lab 11's Catch in each notify branch (a text that cannot be sent becomes "
                "NOT_SENT) and make StoreReport store whatever Glue built.")
def stored_when_a_text_fails(ctx: Context) -> str:
    table = stack_outputs().get("ReportsTableName")
    assert table, f"the stack {STACK} has no ReportsTableName output"
    with unreachable_company() as company:
        report = sample_report("13", city=company["city"])
        execution = run_workflow(report)
    succeeded(execution)
    item = stored_report(table, report["reportId"])
    assert item is not None, f"no item with id {report['reportId']} in {table}"
    assert item.get("companyMessageSid") == "NOT_SENT", (
        f"the stored report's companyMessageSid is {item.get('companyMessageSid')!r}, not NOT_SENT")
    return "stored with companyMessageSid NOT_SENT"
