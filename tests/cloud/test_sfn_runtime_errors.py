"""Step Functions runtime errors as AWS names and words them (gluelab/cloud/sfn_runtime_errors.py).

AWS's wording, as executions on AWS report it (quoted on AWS re:Post and in the Step Functions
workshop): "An error occurred while executing the state 'Check Address' (entered at the event id
#7). The JSONPath '$.application.address' specified for the field 'address.$' could not be found
in the input '{"flagged":false}'", error States.Runtime. The developer guide (Error names):
"States.ALL ... can't catch the States.DataLimitExceeded terminal error type and runtime error
types", and "A States.Runtime error isn't retriable, and will always cause the execution to fail".
"""
from __future__ import annotations

import json
import uuid

import pytest

from gluelab.config import client
from tests.cloud.test_api_front import lambda_function
from tests.cloud.test_statemachines import ROLE, run

NOTIFY = "def handler(event, context):\n    return {'sent': event}\n"
INPUT = {"Body": "hi"}


def execute(definition: dict, payload: dict = INPUT) -> tuple[dict, list[dict]]:
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(name=f"rt-{uuid.uuid4().hex[:8]}", roleArn=ROLE,
                                   definition=json.dumps(definition))["stateMachineArn"]
    outcome = run(arn, payload)
    return outcome, sfn.get_execution_history(executionArn=outcome["executionArn"])["events"]


def task(resource: str, **fields) -> dict:
    return {"Type": "Task", "Resource": resource, "End": True, **fields}


def one(state: dict) -> dict:
    return {"StartAt": "Notify", "States": {"Notify": state}}


def branch(state: dict) -> dict:
    return {"StartAt": "Inner", "States": {"Inner": {**state, "End": True}}}


def missing(path: str, field: str, found: str = '{"Body":"hi"}') -> str:
    return f"The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{found}'"


def cases():
    notify = lambda_function("runtime-errors-notify", NOTIFY)
    return [
        # Lab 05's mistake: "to.$": "$.reporter" when the input has no reporter. On AWS the
        # Lambda function is never called.
        ("lambda_arn_parameters", one(task(notify, Parameters={"to.$": "$.reporter", "body": "x"})),
         "Notify", 2, missing("$.reporter", "to.$")),
        # A path inside an intrinsic function's arguments.
        ("intrinsic_argument", one(task(notify, Parameters={
            "body.$": "States.Format('Report {} arrived', $.reportId)"})),
         "Notify", 2, missing("$.reportId", "body.$")),
        # The optimized integration, the field nested under Payload.
        ("lambda_invoke_nested_payload", one(task("arn:aws:states:::lambda:invoke", Parameters={
            "FunctionName": notify, "Payload": {"phone.$": "$.From"}})),
         "Notify", 2, missing("$.From", "phone.$")),
        # ResultSelector reads the result, after the branches ran: still the entered event's id.
        ("result_selector", one({"Type": "Parallel", "End": True, "ResultSelector": {"first.$": "$.nope"},
                                 "Branches": [branch({"Type": "Pass"})]}),
         "Notify", 2, missing("$.nope", "first.$", '[{"Body":"hi"}]')),
        # A context object path ($$.) that finds nothing.
        ("context_object_path", one({"Type": "Pass", "Parameters": {"started.$": "$$.Execution.Begin"}, "End": True}),
         "Notify", 2, "specified for the field 'started.$' could not be found in the input '{\"Execution\":{"),
        # InputPath and OutputPath: "Invalid path '$.x' : No results for path: $['x']".
        ("input_path", one({"Type": "Pass", "InputPath": "$.From", "End": True}),
         "Notify", 2, "Invalid path '$.From' : No results for path: $['From']"),
        ("output_path", one({"Type": "Pass", "OutputPath": "$.From", "End": True}),
         "Notify", 2, "Invalid path '$.From' : No results for path: $['From']"),
        # A ResultPath below a value that is not an object (moto: a Python TypeError).
        ("result_path", one({"Type": "Pass", "ResultPath": "$.Body.length", "End": True}),
         "Notify", 2, 'Unable to apply ReferencePath $.Body.length to input {"Body":"hi"}'),
        # Lab 11's mistake: an OutputPath miss inside a Parallel branch fails the Parallel with
        # the branch's error, naming the branch's state (moto: ValueError text).
        ("parallel_branch_output_path", one({"Type": "Parallel", "End": True, "Branches": [
            branch({"Type": "Pass", "OutputPath": "$.sid"})]}),
         "Inner", 4, "Invalid path '$.sid' : No results for path: $['sid']"),
        ("items_path", one({"Type": "Map", "ItemsPath": "$.items", "End": True, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, **branch({"Type": "Pass"})}}),
         "Notify", 2, "Invalid path '$.items' : No results for path: $['items']"),
        ("map_iteration_parameters", one({"Type": "Map", "ItemsPath": "$.items", "End": True, "ItemProcessor": {
            "ProcessorConfig": {"Mode": "INLINE"}, **branch({"Type": "Pass", "Parameters": {"to.$": "$.phone"}})}}),
         "Inner", 5, missing("$.phone", "to.$", '{"name":"Ada"}')),
    ]


def test_a_path_that_finds_nothing_fails_the_execution_with_states_runtime_in_aws_words(local):
    for name, definition, state, entered, words in cases():
        payload = {"items": [{"name": "Ada"}]} if name.startswith("map") else INPUT
        outcome, events = execute(definition, payload)
        assert (outcome["status"], outcome["error"]) == ("FAILED", "States.Runtime"), name
        prefix = f"An error occurred while executing the state '{state}' (entered at the event id #{entered}). "
        assert outcome["cause"].startswith(prefix), name
        assert (words in outcome["cause"]) if name == "context_object_path" else (
            outcome["cause"] == prefix + words), name
        assert events[entered - 1]["stateEnteredEventDetails"]["name"] == state, name
        if "result_selector" not in name:  # the task never ran
            assert not [e for e in events if e["type"].startswith(("LambdaFunction", "TaskScheduled"))], name


def intrinsic_failure(call: str, field: str, reason: str) -> str:
    return (f"An error occurred while executing the state 'Glue' (entered at the event id #2). The "
            f"function '{call}' specified for the field '{field}' could not be evaluated: {reason}")


# Lab 12's intrinsics and the others, called on arguments they cannot work on
# (gluelab/cloud/sfn_intrinsic_errors.py). moto: an IndexError, a JSONDecodeError, a TypeError
# in the cloud's log and "The local cloud failed" in the cause, or (a negative index) an answer.
INTRINSIC_MISTAKES = [
    ("States.Format('{} problem: {} ({})', $.category, $.text)",
     "the string '{} problem: {} ({})' has 3 placeholders {} but 2 values follow it"),
    ("States.ArrayGetItem($.messages, 2)",
     "index 2 is out of bounds for an array of 2 items (the first item is 0)"),
    ("States.ArrayGetItem($.messages, -1)",
     "index -1 is out of bounds for an array of 2 items (the first item is 0)"),
    ("States.ArrayGetItem($.text, 0)", 'its first argument must be an array, and is "LIFT stuck"'),
    ("States.StringToJson($.text)", 'its argument is not a JSON text: "LIFT stuck"'),
    ("States.MathAdd($.text, 1)", 'its first argument must be a number, and is "LIFT stuck"'),
    ("States.ArrayLength($.category)", 'its first argument must be an array, and is "LIFT"'),
    ("States.StringSplit($.messages, ',')", 'its first argument must be a string, and is ["SM1","SM2"]'),
    ("States.Hash($.text, 'SHA-2')",
     'its second argument must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512, and is "SHA-2"'),
    ("States.Base64Decode($.text)", 'its argument is not Base64 text: "LIFT stuck"'),
]
GLUE_INPUT = {"category": "LIFT", "text": "LIFT stuck", "messages": ["SM1", "SM2"]}


def test_an_intrinsic_that_cannot_work_on_its_arguments_fails_the_state_naming_field_and_call(local):
    for call, reason in INTRINSIC_MISTAKES:
        definition = {"StartAt": "Glue", "States": {"Glue": {
            "Type": "Pass", "Parameters": {"summary.$": call}, "End": True}}}

        outcome, _ = execute(definition, GLUE_INPUT)

        assert (outcome["status"], outcome["error"]) == ("FAILED", "States.Runtime"), call
        assert outcome["cause"] == intrinsic_failure(call, "summary.$", reason), call

    # Outside a `.$` field, in a Fail state's CausePath: the same words without a field.
    call, reason = INTRINSIC_MISTAKES[0]
    outcome, _ = execute({"StartAt": "Glue", "States": {"Glue": {"Type": "Fail", "CausePath": call}}},
                         GLUE_INPUT)
    assert (outcome["status"], outcome["error"]) == ("FAILED", "States.Runtime")
    assert outcome["cause"] == intrinsic_failure(call, "summary.$", reason).replace(
        " specified for the field 'summary.$'", "")


def test_the_same_intrinsics_on_good_arguments_still_work(local):
    # The checks refuse only what cannot work: Lab 12's own calls, one value per placeholder.
    definition = {"StartAt": "Glue", "States": {"Glue": {"Type": "Pass", "End": True, "Parameters": {
        "last.$": "States.ArrayGetItem($.messages, 1)",
        "summary.$": "States.Format('{} problem: {}', $.category, $.text)",
        "parsed.$": "States.StringToJson('{\"a\":1}')", "sum.$": "States.MathAdd(1, 2)",
        "length.$": "States.ArrayLength($.messages)"}}}}

    outcome, _ = execute(definition, GLUE_INPUT)

    assert outcome["status"] == "SUCCEEDED", outcome.get("cause")
    assert json.loads(outcome["output"]) == {"last": "SM2", "summary": "LIFT problem: LIFT stuck",
                                             "parsed": {"a": 1}, "sum": 3, "length": 2}


def test_states_all_neither_retries_nor_catches_a_runtime_error(local):
    notify = lambda_function("runtime-errors-notify", NOTIFY)
    definition = {"StartAt": "Notify", "States": {
        "Notify": task(notify, Parameters={"to.$": "$.reporter"},
                       Retry=[{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 3}],
                       Catch=[{"ErrorEquals": ["States.ALL"], "Next": "NotSent"}]),
        "NotSent": {"Type": "Pass", "Result": "NOT_SENT", "End": True}}}

    outcome, events = execute(definition)

    assert (outcome["status"], outcome["error"]) == ("FAILED", "States.Runtime")
    assert [e["type"] for e in events] == ["ExecutionStarted", "TaskStateEntered", "TaskFailed",
                                           "ExecutionFailed"]


def test_a_catch_on_the_parallel_does_not_take_its_branch_s_runtime_error(local):
    # Lab 11: each branch's Catch handles the text not sent; a path mistake is not that.
    definition = {"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "Next": "Done",
                 "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Done"}],
                 "Branches": [branch({"Type": "Pass", "OutputPath": "$.sid"}), branch({"Type": "Pass"})]},
        "Done": {"Type": "Succeed"}}}

    outcome, events = execute(definition)

    assert (outcome["status"], outcome["error"]) == ("FAILED", "States.Runtime")
    assert outcome["cause"].startswith("An error occurred while executing the state 'Inner'")
    assert "Python" not in outcome["cause"] and "Error(" not in outcome["cause"]
    assert "SucceedStateEntered" not in [e["type"] for e in events]


@pytest.mark.parametrize("error", ["Lab.NotFound", "States.TaskFailed"])
def test_other_errors_are_still_caught_as_before(local, error):
    # The Fail state's custom error, and a States.* name other than Runtime, still reach a Catch.
    definition = {"StartAt": "Both", "States": {
        "Both": {"Type": "Parallel", "End": True, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
                 "Branches": [branch({"Type": "Fail", "Error": error, "Cause": "on purpose"})]},
        "Caught": {"Type": "Pass", "End": True}}}
    definition["States"]["Both"]["Branches"][0]["States"]["Inner"].pop("End")

    outcome, _ = execute(definition)

    assert outcome["status"] == "SUCCEEDED"
    assert json.loads(outcome["output"]) == {"Error": error, "Cause": "on purpose"}


def test_where_the_local_cloud_breaks_the_cause_says_so_and_names_no_python_error():
    # No fault can be injected into the cloud process from here: the hook is run on a state
    # whose body raises as a moto bug would, with the few environment fields it reads.
    from types import SimpleNamespace

    from gluelab.cloud.sfn_runtime_errors import _state_body

    def buggy_body(state, env):
        raise TypeError("'NoneType' object is not subscriptable")

    env = SimpleNamespace(
        next_state_name="Notify", is_running=lambda: True,
        event_history_context=SimpleNamespace(source_event_id=2),
        states=SimpleNamespace(context_object=SimpleNamespace(
            context_object_data={"Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:x:y"}})))
    with pytest.raises(Exception) as failed:
        _state_body(buggy_body)(SimpleNamespace(name="Notify"), env)

    details = failed.value.get_execution_failed_event_details()
    assert details["error"] == "States.Runtime"
    assert details["cause"].startswith("An error occurred while executing the state 'Notify' "
                                       "(entered at the event id #2). The local cloud failed")
    assert "TypeError" not in details["cause"] and "NoneType" not in details["cause"]
