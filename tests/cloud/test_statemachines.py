"""State machines created by plain CloudFormation templates run like on AWS (statemachines.py)."""
from __future__ import annotations

import re
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from gluelab.config import client

ROLE = "arn:aws:iam::123456789012:role/workflow"


def pass_machine(result) -> dict:
    return {"StartAt": "Say", "States": {"Say": {"Type": "Pass", "Result": result, "End": True}}}


def machine_template(**properties) -> str:
    return json.dumps({
        "Resources": {"Flow": {"Type": "AWS::StepFunctions::StateMachine",
                               "Properties": {"RoleArn": ROLE, **properties}}},
        "Outputs": {"FlowArn": {"Value": {"Ref": "Flow"}},
                    "FlowName": {"Value": {"Fn::GetAtt": ["Flow", "Name"]}}}})


def outputs(stack: str) -> dict[str, str]:
    described = client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def run(arn: str, payload: dict | None = None, name: str | None = None) -> dict:
    sfn = client("stepfunctions")
    started = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload or {}),
                                  **({"name": name} if name else {}))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        execution = sfn.describe_execution(executionArn=started["executionArn"])
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.05)
    raise AssertionError(f"{started['executionArn']} still running after 20 s")


def stack_name() -> str:
    return f"sm-{uuid.uuid4().hex[:8]}"


def creation_error(stack: str, template: str) -> str:
    """The reason a stack could not be created, whether the call or the stack reports it."""
    cloudformation = client("cloudformation")
    try:
        cloudformation.create_stack(StackName=stack, TemplateBody=template)
    except ClientError as exc:
        return exc.response["Error"]["Message"]
    events = cloudformation.describe_stack_events(StackName=stack)["StackEvents"]
    reasons = [e.get("ResourceStatusReason", "") for e in events
               if e["ResourceStatus"].endswith("FAILED")]
    assert reasons, f"stack {stack} was created although its template is broken"
    return " ".join(reasons)


def test_substitutions_are_filled_in_and_executions_run(local):
    stack = stack_name()
    definition = pass_machine({"greeting": "${Greeting}", "table": "${Table}"})
    client("cloudformation").create_stack(StackName=stack, TemplateBody=machine_template(
        Definition=definition, DefinitionSubstitutions={"Greeting": "ciao", "Table": "Reports"}))

    execution = run(outputs(stack)["FlowArn"])

    assert execution["status"] == "SUCCEEDED"
    assert json.loads(execution["output"]) == {"greeting": "ciao", "table": "Reports"}
    assert outputs(stack)["FlowName"].startswith(f"{stack}-Flow-")


def test_executions_without_a_name_get_unique_names(local):
    stack = stack_name()
    client("cloudformation").create_stack(StackName=stack, TemplateBody=machine_template(
        DefinitionString=json.dumps(pass_machine("ok"))))
    arn = outputs(stack)["FlowArn"]

    first, second = run(arn), run(arn)

    assert first["status"] == second["status"] == "SUCCEEDED"
    assert first["name"] != second["name"]
    assert "None" not in (first["name"], second["name"])


def test_definition_from_s3_and_an_update_replaces_it(local):
    s3, cloudformation = client("s3"), client("cloudformation")
    bucket, stack = f"defs-{uuid.uuid4().hex[:8]}", stack_name()
    s3.create_bucket(Bucket=bucket)
    for key, version in (("v1.asl.json", "one"), ("v2.asl.json", "two")):
        s3.put_object(Bucket=bucket, Key=key,
                      Body=json.dumps(pass_machine({"version": version, "by": "${Who}"})))
    cloudformation.create_stack(StackName=stack, TemplateBody=machine_template(
        DefinitionS3Location={"Bucket": bucket, "Key": "v1.asl.json"},
        DefinitionSubstitutions={"Who": "cfn"}))
    arn = outputs(stack)["FlowArn"]
    assert json.loads(run(arn)["output"]) == {"version": "one", "by": "cfn"}

    cloudformation.update_stack(StackName=stack, TemplateBody=machine_template(
        DefinitionS3Location={"Bucket": bucket, "Key": "v2.asl.json"},
        DefinitionSubstitutions={"Who": "update"}))

    assert outputs(stack)["FlowArn"] == arn
    assert json.loads(run(arn)["output"]) == {"version": "two", "by": "update"}

    cloudformation.delete_stack(StackName=stack)
    names = [m["name"] for m in client("stepfunctions").list_state_machines()["stateMachines"]]
    assert arn.rsplit(":", 1)[1] not in names


@pytest.mark.parametrize("properties, words", [
    ({"Definition": pass_machine("${Missing}")}, ["${Missing}", "DefinitionSubstitutions"]),
    ({"DefinitionS3Location": {"Bucket": "no-such-bucket", "Key": "flow.json"}},
     ["s3://no-such-bucket/flow.json", "does not exist"]),
    ({"Definition": {"StartAt": "Nowhere", "States": {}}}, ["InvalidDefinition"]),
])
def test_a_broken_state_machine_fails_the_stack_with_a_reason(local, properties, words):
    reason = creation_error(stack_name(), machine_template(**properties))

    assert "State machine Flow" in reason
    for word in words:
        assert word in reason


def test_choice_on_a_missing_field_fails_like_aws(local):
    stack = stack_name()
    definition = {"StartAt": "Route", "States": {
        "Route": {"Type": "Choice", "Default": "Other", "Choices": [
            {"Variable": "$.category", "StringEquals": "LIFT", "Next": "Lift"}]},
        "Lift": {"Type": "Pass", "Result": {"went": "lift"}, "End": True},
        "Other": {"Type": "Pass", "Result": {"went": "other"}, "End": True}}}
    client("cloudformation").create_stack(StackName=stack,
                                          TemplateBody=machine_template(Definition=definition))
    arn = outputs(stack)["FlowArn"]

    assert json.loads(run(arn, {"category": "LIFT"})["output"]) == {"went": "lift"}
    assert json.loads(run(arn, {"category": "WATER"})["output"]) == {"went": "other"}
    failed = run(arn, {"text": "no category"})
    assert failed["status"] == "FAILED"
    assert failed["error"] == "States.Runtime"
    assert failed["cause"] == ("An error occurred while executing the state 'Route' (entered at the "
                               "event id #2). Invalid path '$.category': The choice state's "
                               "condition path references an invalid value.")


def test_is_present_still_tests_for_a_missing_field(local):
    stack = stack_name()
    definition = {"StartAt": "Has", "States": {
        "Has": {"Type": "Choice", "Default": "No", "Choices": [
            {"Variable": "$.phone", "IsPresent": True, "Next": "Yes"}]},
        "Yes": {"Type": "Pass", "Result": {"went": "yes"}, "End": True},
        "No": {"Type": "Pass", "Result": {"went": "no"}, "End": True}}}
    client("cloudformation").create_stack(StackName=stack,
                                          TemplateBody=machine_template(Definition=definition))

    assert json.loads(run(outputs(stack)["FlowArn"], {})["output"]) == {"went": "no"}


def test_history_pages_and_reverse_order(local):
    stack = stack_name()
    steps = {f"S{i}": {"Type": "Pass", "Next": f"S{i + 1}"} for i in range(60)}
    steps["S60"] = {"Type": "Pass", "End": True}
    client("cloudformation").create_stack(StackName=stack, TemplateBody=machine_template(
        Definition={"StartAt": "S0", "States": steps}))
    execution_arn = run(outputs(stack)["FlowArn"])["executionArn"]
    sfn = client("stepfunctions")

    last = sfn.get_execution_history(executionArn=execution_arn, reverseOrder=True,
                                     maxResults=1)["events"]
    pages = sfn.get_paginator("get_execution_history").paginate(
        executionArn=execution_arn, PaginationConfig={"PageSize": 50})
    events = [event for page in pages for event in page["events"]]

    assert [e["type"] for e in last] == ["ExecutionSucceeded"]
    assert len(events) == 1 + 2 * 61 + 1
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))


def test_execution_start_time_in_the_context_object_is_an_iso_string(local):
    from gluelab.config import client
    sfn = client("stepfunctions")
    definition = {"StartAt": "Stamp", "States": {"Stamp": {
        "Type": "Pass", "Parameters": {"started.$": "$$.Execution.StartTime"}, "End": True}}}
    arn = sfn.create_state_machine(name="stamp", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    run = sfn.start_execution(stateMachineArn=arn, name="stamp-1")["executionArn"]
    for _ in range(100):
        result = sfn.describe_execution(executionArn=run)
        if result["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert result["status"] == "SUCCEEDED", result
    started = json.loads(result["output"])["started"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", started), started


def test_a_definition_the_interpreter_cannot_read_is_refused_with_invalid_definition(local):
    from gluelab.config import client
    sfn = client("stepfunctions")
    definition = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": True,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 0}]}}}
    with pytest.raises(sfn.exceptions.InvalidDefinition) as refused:
        sfn.create_state_machine(name="bad-retry", definition=json.dumps(definition),
                                 roleArn="arn:aws:iam::123456789012:role/x")
    message = refused.value.response["Error"]["Message"]
    assert message.startswith("Invalid State Machine Definition: ") and "IntervalSeconds" in message
    assert "StartAt" not in message  # the reason, not the whole definition pasted back


def test_an_ended_execution_answers_as_it_ended(local):
    # finished_executions puts a light stand-in in place of moto's execution once it ends
    # (its interpreter is dropped); every call about it answers as before, as AWS does.
    sfn = client("stepfunctions")
    definition = {"StartAt": "Check", "States": {
        "Check": {"Type": "Choice", "Choices": [
            {"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}], "Default": "Broken"},
        "Done": {"Type": "Pass", "Result": {"fixed": True}, "End": True},
        "Broken": {"Type": "Fail", "Error": "Lift.Broken", "Cause": "stuck between floors"}}}
    arn = sfn.create_state_machine(name=f"ended-{uuid.uuid4().hex[:6]}", roleArn=ROLE,
                                   definition=json.dumps(definition))["stateMachineArn"]
    succeeded = run(arn, {"ok": True}, name="fine")
    failed = run(arn, {"ok": False}, name="stuck")

    assert (succeeded["status"], json.loads(succeeded["output"])) == ("SUCCEEDED", {"fixed": True})
    assert (failed["status"], failed["error"], failed["cause"]) == (
        "FAILED", "Lift.Broken", "stuck between floors")
    assert sfn.describe_execution(executionArn=succeeded["executionArn"])["input"] == '{"ok": true}'
    history = sfn.get_execution_history(executionArn=failed["executionArn"])["events"]
    assert [e["type"] for e in history][-1] == "ExecutionFailed"
    listed = sfn.list_executions(stateMachineArn=arn, statusFilter="FAILED")["executions"]
    assert [(e["name"], "stopDate" in e) for e in listed] == [("stuck", True)]
    with pytest.raises(ClientError) as again:  # its name stays taken, even with the same input
        sfn.start_execution(stateMachineArn=arn, name="fine", input='{"ok": true}')
    assert again.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


def test_a_timed_out_execution_s_history_ends_with_its_timeout(local):
    # moto ends it at TimeoutSeconds but wrote ExecutionTimedOut only when its Wait was over
    # (here a minute later), after the history had been kept: it never showed.
    sfn = client("stepfunctions")
    definition = {"StartAt": "Wait", "TimeoutSeconds": 1, "States": {
        "Wait": {"Type": "Wait", "Seconds": 60, "End": True}}}
    arn = sfn.create_state_machine(name=f"slow-{uuid.uuid4().hex[:6]}", roleArn=ROLE,
                                   definition=json.dumps(definition))["stateMachineArn"]
    ended = run(arn, {})
    assert ended["status"] == "TIMED_OUT"
    history = sfn.get_execution_history(executionArn=ended["executionArn"])["events"]
    assert [e["type"] for e in history] == [
        "ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]
