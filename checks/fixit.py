"""What the lab checks ask of the deployed Fixit app: its stack, functions, workflow and texts.

Each helper fails with an AssertionError in plain words; where the words depend on the lab (what
to run to get the missing piece), the check passes them in.
"""
from __future__ import annotations

import contextlib
import json
import re
import uuid
from datetime import datetime, timezone
from xml.etree import ElementTree

from boto3.dynamodb.types import TypeDeserializer

from checks.runner import Hinted
from gluelab import config, executions, logs, twilio_local
from gluelab.lab import STACK
from gluelab.webhook_errors import error_lines, logged_error

WAIT_S = 60
# Ofcom's range for drama (+44 7700 900xxx): never a real phone, apart from the attendee's.
CHECK_HANDSET = "+447700900190"


def stack(missing: str) -> dict:
    """The fixit stack's description; `missing` is the failure when there is no such stack."""
    cloudformation = config.client("cloudformation")
    try:
        return cloudformation.describe_stacks(StackName=STACK)["Stacks"][0]
    except cloudformation.exceptions.ClientError:
        raise AssertionError(missing) from None


def stack_outputs(missing: str = f"the stack {STACK} is not deployed") -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack(missing).get("Outputs", [])}


def output(name: str, missing: str, no_output: str) -> str:
    """One output of the fixit stack: `missing` if there is no stack, `no_output` if no such output."""
    outputs = stack_outputs(missing)
    assert name in outputs, no_output
    return outputs[name]


def physical_id(logical_id: str, missing: str, say_why: bool = False) -> str:
    """The id CloudFormation gave a resource of the fixit stack; `missing` (with the service's
    reason when `say_why`) if the stack or the resource is not there."""
    cloudformation = config.client("cloudformation")
    try:
        return cloudformation.describe_stack_resource(
            StackName=STACK, LogicalResourceId=logical_id)["StackResourceDetail"]["PhysicalResourceId"]
    except cloudformation.exceptions.ClientError as exc:
        why = f" ({exc.response['Error']['Message']})" if say_why else ""
        raise AssertionError(missing + why) from None


def bad_gateway(logical_id: str, said: str, builder: str) -> AssertionError:
    """Why API Gateway answered 502 (`said`) for the function `logical_id`: the error its log
    shows, or, when it logged none, an answer that is not a proxy answer (`builder` is the
    app.py helper that builds one)."""
    function = physical_id(logical_id, f"the stack {STACK} has no {logical_id}")
    if error_lines(function):
        return Hinted(f"{said}. {logged_error(function)}",
                      f"{logical_id} failed: fix what its log line names, in app.py or in the "
                      f"template (see all its log with `gluelab logs {logical_id}`), and deploy again.")
    return Hinted(f"{said}, and {logical_id} logged no error (`gluelab logs {logical_id}`)",
                  "The handler returned something that is not a proxy answer: return a dict with "
                  f"statusCode, headers and a string body, as {builder} builds it, and deploy again.")


def invoke(function: str, payload: dict) -> tuple[str | None, object]:
    """(FunctionError or None, parsed payload) of one synchronous invocation."""
    reply = config.client("lambda").invoke(FunctionName=function, Payload=json.dumps(payload))
    return reply.get("FunctionError"), json.loads(reply["Payload"].read() or b"null")


def twiml_messages(twiml: str) -> list[str]:
    """The texts of a TwiML answer's <Message> elements."""
    try:
        root = ElementTree.fromstring(twiml)
    except ElementTree.ParseError:
        raise AssertionError(f"the answer is not XML: {twiml[:120]!r}") from None
    assert root.tag == "Response", f"the XML's root is <{root.tag}>, not <Response>"
    return [element.text or "" for element in root.iter("Message")]


def workflow_arn() -> str:
    """The state machine the StateMachineArn output names (from lab 06 on)."""
    return output("StateMachineArn", f"the stack {STACK} is not deployed",
                  f"the stack {STACK} has no StateMachineArn output")


def deployed_states() -> dict:
    """The States of the deployed workflow's definition."""
    described = config.client("stepfunctions").describe_state_machine(stateMachineArn=workflow_arn())
    return json.loads(described["definition"])["States"]


def finished(execution_arn: str, timeout_s: float = WAIT_S) -> dict:
    """The execution's description once it no longer runs, or as it is after `timeout_s`."""
    return executions.wait_for_end(execution_arn, timeout_s)


def history_events(execution: dict) -> list[dict]:
    return executions.fetch_history(execution["executionArn"])["events"]


def entered_states(events: list[dict]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]


def failure_of(execution: dict) -> str:
    """The last error an execution's history records, with its cause, in one line."""
    for event in reversed(history_events(execution)):
        for key, value in event.items():
            if key.endswith("EventDetails") and isinstance(value, dict) and "error" in value:
                return f"{value['error']}: {value.get('cause', '')}"[:400]
    return "no error recorded"


def succeeded(execution: dict) -> dict:
    """The parsed output of an execution that must have succeeded."""
    assert execution["status"] == "SUCCEEDED", (
        f"the execution ended {execution['status']} ({failure_of(execution)})")
    return json.loads(execution["output"])


def sample_report(lab: str, category: str = "LIFT", city: str = "Roma",
                  text: str = "stuck between floors 3 and 4, Via Roma 12") -> dict:
    """A report as the receiver builds it, with an id of its own (used as the execution name)."""
    return {"reportId": f"check{lab}-{uuid.uuid4().hex[:12]}", "reporter": CHECK_HANDSET,
            "category": category, "text": text, "city": city,
            "receivedAt": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def run_workflow(report: dict) -> dict:
    """Start an execution named after the report, wait for it to finish, return its description."""
    arn = config.client("stepfunctions").start_execution(
        stateMachineArn=workflow_arn(), name=report["reportId"], input=json.dumps(report))["executionArn"]
    execution = finished(arn)
    assert execution["status"] != "RUNNING", f"the execution {report['reportId']} still runs after {WAIT_S} s"
    return execution


@contextlib.contextmanager
def unreachable_company(name: str = "Ascensori Irraggiungibili", city: str = "Nowhere"):
    """While the block runs, the lift company for `city` has a phone number Twilio refuses."""
    table = output("CompaniesTableName", f"the stack {STACK} is not deployed",
                   f"the stack {STACK} has no CompaniesTableName output: restore lab 07")
    dynamodb = config.client("dynamodb")
    company = {"id": f"check-unreachable-{uuid.uuid4().hex[:8]}", "category": "LIFT", "city": city,
               "name": name, "phone": "+0"}
    dynamodb.put_item(TableName=table, Item={key: {"S": value} for key, value in company.items()})
    try:
        yield company
    finally:
        dynamodb.delete_item(TableName=table, Key={"id": {"S": company["id"]}})


def text_fixit(handset: str, body: str = "LIFT stuck between floors 3 and 4, Via Roma 12",
               city: str = "ROMA") -> dict:
    """A handset texts Fixit; wait for the execution named after the message and return it."""
    sent = twilio_local.text_app(handset, body, from_city=city)
    sid = sent["message"]["sid"]
    arn = executions.execution_arn(workflow_arn(), sid)
    sfn = config.client("stepfunctions")
    try:
        execution = finished(arn)
    except sfn.exceptions.ExecutionDoesNotExist:
        replies = [reply["body"] for reply in sent.get("replies", [])]
        raise AssertionError(f"the text {sid} started no execution (Fixit replied {replies})") from None
    assert execution["status"] != "RUNNING", f"the execution {sid} still runs after {WAIT_S} s"
    return execution


def stored_report(table: str, report_id: str) -> dict | None:
    """The item with id `report_id` in the reports table, as plain values; None if there is none."""
    item = config.client("dynamodb").get_item(TableName=table, Key={"id": {"S": report_id}}).get("Item")
    if item is None:
        return None
    deserialize = TypeDeserializer().deserialize
    return {key: deserialize(value) for key, value in item.items()}


def messages_to(number: str) -> list:
    """The latest messages the Twilio account sent to `number`, newest first."""
    return twilio_local.messages(to=number, limit=200)


def texts_to(number: str) -> list[str]:
    return [message.body for message in messages_to(number)]


def sent(sid) -> tuple[str, str]:
    """(to, body) of a message the Twilio account sent, by SID."""
    assert isinstance(sid, str) and sid.startswith("SM"), f"{sid!r} is not a message SID"
    message = twilio_local.rest_client().messages(sid).fetch()
    return message.to, message.body


def signed_in_token(outputs: dict[str, str], username: str, password: str) -> str:
    """An ID token of `username` in the app's user pool, created by admin calls if missing."""
    cognito = config.client("cognito-idp")
    pool = outputs["UserPoolId"]
    try:
        cognito.admin_create_user(UserPoolId=pool, Username=username, MessageAction="SUPPRESS")
    except cognito.exceptions.UsernameExistsException:
        pass
    cognito.admin_set_user_password(UserPoolId=pool, Username=username, Password=password,
                                    Permanent=True)
    reply = cognito.initiate_auth(ClientId=outputs["UserPoolClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": password})
    return reply["AuthenticationResult"]["IdToken"]


DENIAL = re.compile(r"User: \S+ is not authorized to perform: (?P<action>\S+) on resource: "
                    r"(?P<resource>\S+)[^\n]*")


def denial_in_log(function: str) -> re.Match | None:
    """The AccessDenied that the function's latest invocation met, as its log shows it."""
    for invocation in reversed(logs.recent_invocations(function, limit=1, streams=3)):
        for line in invocation.lines:
            found = DENIAL.search(line)
            if found:
                return found
    return None
