"""Lab 13 "Store the report in DynamoDB": after an SMS, the report item is in the Reports table,
written by a dynamodb:putItem service integration."""
from __future__ import annotations

import json
import time

from boto3.dynamodb.types import TypeDeserializer

from checks.lab09 import STACK, state_machine_arn, succeeded
from checks.runner import Context, check_for
from gluelab import twilio_local
from gluelab.config import client

WAIT_S = 60
# Ofcom's range for drama (+44 7700 900xxx): never a real phone, apart from other checks' handsets.
CHECK_HANDSET = "+447700900213"
SMS = "LIFT stuck between floors 3 and 4, Via Roma 12"


def stack_outputs() -> dict[str, str]:
    cloudformation = client("cloudformation")
    try:
        stack = cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    except cloudformation.exceptions.ClientError:
        raise AssertionError(f"the stack {STACK} is not deployed") from None
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def text_fixit(handset: str, body: str = SMS, city: str = "ROMA") -> dict:
    """A handset texts Fixit; wait for the execution named after the message and return it."""
    sent = twilio_local.text_app(handset, body, from_city=city)
    sid = sent["message"]["sid"]
    arn = state_machine_arn().replace(":stateMachine:", ":execution:") + ":" + sid
    sfn = client("stepfunctions")
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            execution = sfn.describe_execution(executionArn=arn)
        except sfn.exceptions.ExecutionDoesNotExist:
            replies = [reply["body"] for reply in sent.get("replies", [])]
            raise AssertionError(f"the text {sid} started no execution (Fixit replied {replies})") from None
        if execution["status"] != "RUNNING":
            return execution
        assert time.monotonic() < deadline, f"the execution {sid} still runs after {WAIT_S} s"
        time.sleep(0.25)


def stored_report(table: str, report_id: str) -> dict | None:
    item = client("dynamodb").get_item(TableName=table, Key={"id": {"S": report_id}}).get("Item")
    if item is None:
        return None
    deserialize = TypeDeserializer().deserialize
    return {key: deserialize(value) for key, value in item.items()}


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
        f"the execution's output is not the report document: {json.dumps(document)[:200]}")
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
    described = client("stepfunctions").describe_state_machine(stateMachineArn=state_machine_arn())
    states = json.loads(described["definition"])["States"]
    assert "StoreReport" in states, f"the deployed definition has no StoreReport state"
    resource = states["StoreReport"].get("Resource")
    assert resource == "arn:aws:states:::dynamodb:putItem", f"StoreReport's Resource is {resource!r}"
    assert states.get("Glue", {}).get("Next") == "StoreReport", "Glue does not go on to StoreReport"
    return resource
