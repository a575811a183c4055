"""State machine definitions and execution names Step Functions refuses, refused the same way.

CreateStateMachine, UpdateStateMachine, ValidateStateMachineDefinition and CloudFormation share
one validator (gluelab/cloud/asl_validation.py). Each case cites the Amazon States Language
rule or the AWS error text that shows AWS refuses it.
"""
from __future__ import annotations

import copy
import json
import uuid

import pytest

from gluelab.config import client
from tests.cloud.test_statemachines import ROLE, creation_error, machine_template, stack_name

# A valid machine the cases below break one piece at a time.
VALID = {"StartAt": "Arrange", "States": {
    "Arrange": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "arrange", "Payload.$": "$"},
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "Next": "Decide"},
    "Decide": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": True, "Next": "Done"}],
               "Default": "Failed"},
    "Done": {"Type": "Succeed"},
    "Failed": {"Type": "Fail", "Error": "Arrange.Failed", "Cause": "arranging failed"}}}


def broken(change) -> dict:
    definition = copy.deepcopy(VALID)
    change(definition["States"])
    return definition


# (case, definition, the refusal's text). Every one is a rule of the Amazon States Language
# (https://states-language.net/spec.html) that Step Functions enforces at create time with
# InvalidDefinition: "Invalid State Machine Definition: 'CODE: message at /location'".
CASES = [
    # Issue 10: "Step Functions refuses the definition at create time with InvalidDefinition
    # (MISSING_TRANSITION_TARGET) naming the state and the path".
    ("catch_next_to_nowhere",
     broken(lambda s: s["Arrange"]["Catch"][0].update(Next="Nowhere")),
     "MISSING_TRANSITION_TARGET: Missing 'Next' target: Nowhere at /States/Arrange/Catch[0]/Next"),
    # Spec: "StartAt ... MUST exactly match one of names of the States fields".
    ("start_at_nowhere", dict(VALID, StartAt="Begin"),
     "MISSING_TRANSITION_TARGET: Missing 'Next' target: Begin at /StartAt"),
    # Spec: a Choice state's Default names the state to go to; it must exist.
    ("default_to_nowhere", broken(lambda s: s["Decide"].update(Default="Elsewhere")),
     "MISSING_TRANSITION_TARGET: Missing 'Next' target: Elsewhere at /States/Decide/Default"),
    # Spec: "Any state ... MUST have ... Next ... or End ... but not both".
    ("next_and_end", broken(lambda s: s["Arrange"].update(End=True)),
     "SCHEMA_VALIDATION_FAILED: Only one of these fields may be present: [Next, End] at /States/Arrange"),
    # Spec: "Fail State ... cannot have a Next field" (terminal state).
    ("fail_with_next", broken(lambda s: s["Failed"].update(Next="Done")),
     "SCHEMA_VALIDATION_FAILED: Field 'Next' is not supported at /States/Failed"),
    # Spec: "A Choice state MUST have a Choices field whose value is a non-empty array".
    ("choice_without_choices", broken(lambda s: s["Decide"].pop("Choices")),
     "SCHEMA_VALIDATION_FAILED: These fields are required: [Choices] at /States/Decide"),
    # An unknown field; AWS: "SCHEMA_VALIDATION_FAILED: Field '<name>' is not supported".
    ("unknown_field", broken(lambda s: s["Arrange"].update(Resourse="arn:aws:states:::lambda:invoke")),
     "SCHEMA_VALIDATION_FAILED: Field 'Resourse' is not supported at /States/Arrange"),
    # Spec: "A Task State MUST include a Resource field".
    ("task_without_resource", broken(lambda s: s["Arrange"].pop("Resource")),
     "SCHEMA_VALIDATION_FAILED: These fields are required: [Resource] at /States/Arrange"),
    # Spec: ResultPath is a Reference Path, which "MUST begin with $".
    ("result_path_not_a_path", broken(lambda s: s["Arrange"].update(ResultPath="result")),
     "SCHEMA_VALIDATION_FAILED: The value for the field 'ResultPath' must be a valid JSONPath "
     "at /States/Arrange/ResultPath"),
    # Spec: a field ending in ".$" holds a Path or an intrinsic function; States.Formatt is neither.
    ("bad_intrinsic", broken(lambda s: s["Arrange"]["Parameters"].update({"Payload.$": "States.Formatt('{}', $.x)"})),
     "SCHEMA_VALIDATION_FAILED: The value for the field 'Payload.$' must be a valid JSONPath or a "
     "valid intrinsic function call at /States/Arrange/Parameters"),
    # Spec: "Retry" and "Catch" are fields of Task, Parallel and Map states only.
    ("retry_on_pass", broken(lambda s: s.update(Done={"Type": "Pass", "End": True,
                                                      "Retry": [{"ErrorEquals": ["States.ALL"]}]})),
     "SCHEMA_VALIDATION_FAILED: Field 'Retry' is not supported at /States/Done"),
    # Step Functions refuses a state nothing transitions to: 'MISSING_TRANSITION_TARGET: State
    # "X" is not reachable.'
    ("unreachable_state", broken(lambda s: s.update(Orphan={"Type": "Succeed"})),
     'MISSING_TRANSITION_TARGET: State "Orphan" is not reachable. at /States/Orphan'),
    # Integration Resources are matched exactly: the DynamoDB integration is `dynamodb:putItem`
    # (developer guide, "Call DynamoDB with Step Functions"); anything else is "The resource
    # provided ... not recognized. The value is not a valid resource ARN, or the resource is not
    # available in this region."
    ("integration_in_the_wrong_case",
     broken(lambda s: s["Arrange"].update(Resource="arn:aws:states:::dynamodb:PutItem")),
     "SCHEMA_VALIDATION_FAILED: The resource provided arn:aws:states:::dynamodb:PutItem not recognized. "
     "The value is not a valid resource ARN, or the resource is not available in this region. Did you "
     "mean arn:aws:states:::dynamodb:putItem? at /States/Arrange/Resource"),
    ("misspelt_integration",
     broken(lambda s: s["Arrange"].update(Resource="arn:aws:states:::lambda:invok")),
     "SCHEMA_VALIDATION_FAILED: The resource provided arn:aws:states:::lambda:invok not recognized. "
     "The value is not a valid resource ARN, or the resource is not available in this region. "
     "at /States/Arrange/Resource"),
    ("unknown_integration_service_in_a_branch",
     broken(lambda s: s.update(Done={"Type": "Parallel", "End": True, "Branches": [{"StartAt": "Put", "States": {
         "Put": {"Type": "Task", "Resource": "arn:aws:states:::dynamodbb:putItem", "End": True}}}]})),
     "SCHEMA_VALIDATION_FAILED: The resource provided arn:aws:states:::dynamodbb:putItem not recognized. "
     "The value is not a valid resource ARN, or the resource is not available in this region. "
     "at /States/Done/Branches[0]/States/Put/Resource"),
    # SDK integrations name the API action in camelCase too ("aws-sdk:s3:listBuckets").
    ("sdk_integration_in_the_wrong_case",
     broken(lambda s: s["Arrange"].update(Resource="arn:aws:states:::aws-sdk:sqs:SendMessage")),
     "Did you mean arn:aws:states:::aws-sdk:sqs:sendMessage? at /States/Arrange/Resource"),
]


def refusal(call) -> str:
    sfn = client("stepfunctions")
    with pytest.raises(sfn.exceptions.InvalidDefinition) as refused:
        call()
    assert refused.value.response["Error"]["Code"] == "InvalidDefinition"
    return refused.value.response["Error"]["Message"]


@pytest.mark.parametrize("definition, words", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_create_state_machine_refuses_an_invalid_definition(local, definition, words):
    message = refusal(lambda: client("stepfunctions").create_state_machine(
        name=f"bad-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition), roleArn=ROLE))
    assert message.startswith("Invalid State Machine Definition: '") and words in message


def test_validate_state_machine_definition_reports_the_same_diagnostics(local):
    # ValidateStateMachineDefinition (API reference): result FAIL and one diagnostic per
    # problem, each with severity ERROR, the code, the message and the location.
    sfn = client("stepfunctions")
    definition = broken(lambda s: (s["Arrange"]["Catch"][0].update(Next="Nowhere"), s["Failed"].update(Next="Done")))
    answer = sfn.validate_state_machine_definition(definition=json.dumps(definition))
    assert answer["result"] == "FAIL"
    found = {(d["severity"], d["code"], d["location"]) for d in answer["diagnostics"]}
    assert found == {("ERROR", "MISSING_TRANSITION_TARGET", "/States/Arrange/Catch[0]/Next"),
                     ("ERROR", "SCHEMA_VALIDATION_FAILED", "/States/Failed")}
    assert sfn.validate_state_machine_definition(definition=json.dumps(VALID))["result"] == "OK"


def test_update_state_machine_refuses_an_invalid_definition(local):
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(name=f"ok-{uuid.uuid4().hex[:8]}", definition=json.dumps(VALID),
                                   roleArn=ROLE)["stateMachineArn"]
    definition = broken(lambda s: s["Decide"].update(Default="Elsewhere"))
    message = refusal(lambda: sfn.update_state_machine(stateMachineArn=arn, definition=json.dumps(definition)))
    assert "Missing 'Next' target: Elsewhere at /States/Decide/Default" in message
    assert json.loads(sfn.describe_state_machine(stateMachineArn=arn)["definition"]) == VALID


def test_cloudformation_state_machines_go_through_the_same_validator(local):
    # AWS::StepFunctions::StateMachine is created with CreateStateMachine: the stack fails with
    # the same InvalidDefinition.
    definition = broken(lambda s: s["Arrange"]["Catch"][0].update(Next="Nowhere"))
    reason = creation_error(stack_name(), machine_template(Definition=definition))
    assert "State machine Flow: InvalidDefinition" in reason
    assert "Missing 'Next' target: Nowhere at /States/Arrange/Catch[0]/Next" in reason


def test_cloudformation_refuses_an_integration_in_the_wrong_case(local):
    definition = broken(lambda s: s["Arrange"].update(Resource="arn:aws:states:::dynamodb:PutItem"))
    reason = creation_error(stack_name(), machine_template(Definition=definition))
    assert "State machine Flow: InvalidDefinition" in reason
    assert "Did you mean arn:aws:states:::dynamodb:putItem? at /States/Arrange/Resource" in reason


# StartExecution name (API reference): "1-80 characters ... must not contain white space,
# brackets < > { } [ ], wildcard characters ? *, special characters " # % \ ^ | ~ ` $ & , ; : /,
# control characters (U+0000-001F, U+007F-009F)" -> InvalidName.
@pytest.mark.parametrize("name", ["x" * 81, "with space", "tab\there", "bell\x07", "a/b", "a:b", "50%",
                                  "{x}", "why?", "a,b"])
def test_start_execution_refuses_names_step_functions_refuses(local, name):
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(name=f"names-{uuid.uuid4().hex[:8]}", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "Go", "States": {"Go": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    with pytest.raises(sfn.exceptions.InvalidName) as refused:
        sfn.start_execution(stateMachineArn=arn, name=name)
    assert refused.value.response["Error"]["Message"] == f"Invalid Name: '{name}'"
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []
