"""Step Functions state machines that behave like AWS when created by CloudFormation and run.

What this changes in moto 5.2.5 (hooks pinned by tests/test_moto_hooks.py):

* `AWS::StepFunctions::StateMachine` in a stack (SAM's `AWS::Serverless::StateMachine` becomes
  one) takes its definition from `Definition`, `DefinitionString` or `DefinitionS3Location`
  (what `DefinitionUri` turns into after `gluelab deploy` / `aws cloudformation package`),
  fills in `DefinitionSubstitutions`, and registers the machine in the backend that runs
  executions. moto ignored the substitutions and registered the machine where StartExecution
  never looks. A stack update replaces the definition; a `${Placeholder}` with no
  substitution fails the deploy and names the placeholder.
* StartExecution without a `name` gets a fresh unique name, as on AWS (moto named every such
  execution `None`, so the second one failed with ExecutionAlreadyExists).
* A Choice rule on a path that is not in the input fails the execution with `States.Runtime`,
  as on AWS (moto silently took the Default branch). Use `IsPresent` to test for a field.
* GetExecutionHistory honours `maxResults`, `nextToken` and `reverseOrder`, so the usual
  "last event" call (`reverseOrder=True, maxResults=1`) and boto3's paginator see the whole
  history (moto ignored all three).
* A definition the interpreter cannot read is refused with `InvalidDefinition` and the reason
  (moto answered with an empty error code and the whole definition in the message).
* `$$.Execution.StartTime` is an ISO 8601 string such as `2026-11-22T10:15:30.123Z`, as on
  AWS (moto passed a datetime, which no task could send on).

Differences that remain (write workflows that run the same on both):

* A path that indexes an array and then picks a field, such as `$.items[0].price`, yields
  `[9.5]` locally but `9.5` on AWS. Select the element first (`"item.$": "$.items[0]"` in
  `Parameters` or `ResultSelector`), then read `$.item.price` in the next state.
* The `arn:aws:states:::dynamodb:putItem` task's output is `{}` locally; on AWS it carries
  the SDK's HTTP metadata. Use `"ResultPath": null` to keep the state's input either way.
* An execution whose final output is a bare string (e.g. a last Pass state with
  `"Result": "done"`) reports `output` as `done` instead of the JSON text `"done"`: end
  workflows with an object, which is what callers parse anyway.
* Retry intervals and Wait states really sleep: keep `IntervalSeconds` small in labs.
"""
from __future__ import annotations

import datetime
import json
import re
import uuid
from typing import Any

from gluelab.cloud.lazy import when_imported

PLACEHOLDER = re.compile(r"\$\{([^}]+)\}")
DEFAULT_HISTORY_PAGE = 100


def substitute(definition: str, substitutions: dict[str, Any], where: str) -> str:
    """Fill `${Name}` placeholders the way CloudFormation's DefinitionSubstitutions does."""
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in substitutions:
            raise _error(
                f"{where}: the definition uses ${{{name}}} but DefinitionSubstitutions has no "
                f"'{name}'. Add `{name}: ...` under DefinitionSubstitutions or remove the "
                f"placeholder.")
        replacement = substitutions[name]
        return replacement if isinstance(replacement, str) else json.dumps(replacement)
    return PLACEHOLDER.sub(value, definition)


def _error(message: str) -> Exception:
    from moto.cloudformation.exceptions import ValidationError
    return ValidationError(message=message)


def _read_s3(location: dict, account_id: str, region_name: str, where: str) -> str:
    from moto.s3.exceptions import MissingBucket
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition
    bucket, key = location.get("Bucket"), location.get("Key")
    if not bucket or not key:
        raise _error(f"{where}: DefinitionS3Location needs both Bucket and Key, got {location}.")
    backend = s3_backends[account_id][get_partition(region_name)]
    try:
        stored = backend.get_object(bucket, key, version_id=location.get("Version"))
    except MissingBucket:
        stored = None
    if stored is None:
        raise _error(f"{where}: the definition file s3://{bucket}/{key} does not exist. "
                     f"Package the template first (`gluelab deploy` does it for you).")
    return stored.value.decode("utf-8")


def definition_of(properties: dict, account_id: str, region_name: str, where: str) -> str:
    """The final ASL text of a stack's state machine, from whichever property holds it."""
    if "Definition" in properties:
        text = json.dumps(properties["Definition"])
    elif "DefinitionString" in properties:
        text = properties["DefinitionString"]
    elif "DefinitionS3Location" in properties:
        text = _read_s3(properties["DefinitionS3Location"], account_id, region_name, where)
    else:
        raise _error(f"{where}: give the state machine a Definition, DefinitionString or "
                     f"DefinitionS3Location (SAM: Definition or DefinitionUri).")
    return substitute(text, properties.get("DefinitionSubstitutions") or {}, where)


def _step_functions_errors_as_stack_errors(where: str, call):
    # Step Functions answers in JSON, CloudFormation in XML: an error raised inside a stack
    # operation must be CloudFormation's, or clients cannot even read it.
    from moto.core.exceptions import JsonRESTError
    try:
        return call()
    except JsonRESTError as exc:
        reason = exc.message.split(" in definition '", 1)[0]
        raise _error(f"{where}: {exc.error_type or type(exc).__name__}: {reason}") from exc


def _backend(account_id: str, region_name: str):
    # The same lookup StartExecution uses, so stacks and API calls share one set of machines.
    from moto.stepfunctions.responses import get_backend
    return get_backend(account_id, region_name)


def _tags(properties: dict) -> list[dict]:
    from moto.stepfunctions.utils import cfn_to_api_tags
    return cfn_to_api_tags(properties.get("Tags", []))


def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                    region_name, **kwargs):
    properties = cloudformation_json["Properties"]
    name = properties.get("StateMachineName", resource_name)
    where = f"State machine {kwargs.get('LogicalId', name)}"
    definition = definition_of(properties, account_id, region_name, where)
    return _step_functions_errors_as_stack_errors(
        where, lambda: _backend(account_id, region_name).create_state_machine(
            name=name, definition=definition, roleArn=properties.get("RoleArn", ""),
            tags=_tags(properties), sm_type=properties.get("StateMachineType")))


def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                    cloudformation_json, account_id, region_name):
    properties = cloudformation_json["Properties"]
    # moto generates a new random name on every update; only an explicit new
    # StateMachineName means a new machine (CloudFormation's "replacement").
    name = properties.get("StateMachineName", original_resource.name)
    if name != original_resource.name:
        replacement = cls.create_from_cloudformation_json(
            name, cloudformation_json, account_id, region_name)
        cls.delete_from_cloudformation_json(
            original_resource.arn, cloudformation_json, account_id, region_name)
        return replacement
    where = f"State machine {original_resource.name}"
    definition = definition_of(properties, account_id, region_name, where)
    backend = _backend(account_id, region_name)
    machine = _step_functions_errors_as_stack_errors(
        where, lambda: backend.update_state_machine(
            original_resource.arn, definition=definition,
            role_arn=properties.get("RoleArn") or None))
    backend.tagger.tag_resource(machine.arn, _tags(properties))
    return machine


def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                    region_name):
    # CloudFormation passes the physical id, which for a state machine is its ARN.
    _backend(account_id, region_name).delete_state_machine(resource_name)


def _start_execution(original):
    def start_execution(self, state_machine_arn, name=None, execution_input=None,
                        trace_header=None):
        return original(self, state_machine_arn, name or str(uuid.uuid4()), execution_input,
                        trace_header)
    return start_execution


def _comparison_variable_eval(self, env) -> None:
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.comparison_operator_type import (
        ComparisonOperatorType)
    from moto.stepfunctions.parser.asl.component.state.choice.comparison.variable import (
        NoSuchVariable)

    from gluelab.cloud.sfn_runtime_errors import runtime_failure

    self.variable.eval(env)
    if (isinstance(env.stack[-1], NoSuchVariable)
            and self.comparison_function.operator_type != ComparisonOperatorType.IsPresent):
        path = self.variable.string_sampler.literal_value
        raise runtime_failure(env, f"Invalid path '{path}': The choice state's condition path "
                                   f"references an invalid value.")
    self.comparison_function.eval(env)


def _get_execution_history(self):
    from moto.core.responses import ActionResult
    history = self.stepfunction_backend.get_execution_history(self._get_param("executionArn"))
    events = list(history["events"])
    if self._get_param("reverseOrder"):
        events.reverse()
    start = int(self._get_param("nextToken") or 0)
    size = int(self._get_param("maxResults") or DEFAULT_HISTORY_PAGE)
    page = {"events": events[start:start + size]}
    if start + size < len(events):
        page["nextToken"] = str(start + size)
    return ActionResult(page)


def install(context) -> None:
    # The interpreter is heavy to import: patch each piece when moto first loads it.
    when_imported("moto.stepfunctions.models", _patch_cloudformation)
    when_imported("moto.stepfunctions.parser.models", _patch_parser_backend)
    when_imported("moto.stepfunctions.parser.asl.component.state.choice.comparison."
                  "comparison_variable", _patch_comparison_variable)
    when_imported("moto.stepfunctions.responses", _patch_responses)
    when_imported("moto.stepfunctions.parser.backend.execution", _patch_execution)


def _patch_cloudformation(models) -> None:
    models.StateMachine.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    models.StateMachine.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)
    models.StateMachine.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)


def _validate_definition(original):
    # moto raises the interpreter's own InvalidDefinition, which its HTTP layer does not know:
    # boto3 saw an error with an empty code and the whole definition pasted into the message.
    from moto.core.exceptions import AWSError

    class InvalidDefinition(AWSError):
        TYPE = "InvalidDefinition"
        STATUS = 400

    # The ANTLR parser takes ~0.15 s per definition; deploys and restarts bring the same ones.
    valid: set[str] = set()

    def validate(definition: str):
        if definition in valid:
            return
        try:
            original(definition)
        except Exception as exc:
            if type(exc).__name__ != "InvalidDefinition":
                raise
            reason = str(getattr(exc, "message", exc)).split(" in definition '", 1)[0]
            raise InvalidDefinition(f"Invalid State Machine Definition: {reason}") from None
        valid.add(definition)
    return staticmethod(validate)


def _patch_parser_backend(parser_models) -> None:
    backend = parser_models.StepFunctionsParserBackend
    backend.start_execution = _start_execution(backend.start_execution)
    backend._validate_definition = _validate_definition(backend._validate_definition)


def _iso_start_time(original):
    # The context object's $$.Execution.StartTime is an ISO 8601 string on AWS; moto passes
    # a datetime, which breaks any task that sends it on (a dynamodb:putItem of the report).
    def get_start_execution_details(self):
        details = original(self)
        if isinstance(details.start_time, datetime.datetime):
            start = details.start_time.astimezone(datetime.timezone.utc)
            details.start_time = start.strftime("%Y-%m-%dT%H:%M:%S.") + f"{start.microsecond // 1000:03d}Z"
        return details
    return get_start_execution_details


def _patch_execution(module) -> None:
    module.Execution.get_start_execution_details = _iso_start_time(
        module.Execution.get_start_execution_details)


def _patch_comparison_variable(module) -> None:
    module.ComparisonVariable._eval_body = _comparison_variable_eval


def _patch_responses(responses) -> None:
    responses.StepFunctionResponse.get_execution_history = _get_execution_history
