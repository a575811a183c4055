"""Step Functions runtime errors named and worded as AWS reports them.

What this changes in moto 5.2.5's interpreter (hooks pinned in tests/test_moto_hooks.py):

* A `.$` field whose JSONPath finds nothing, in `Parameters` or `ResultSelector`, at any depth
  and inside an intrinsic function's arguments, fails the execution with `States.Runtime`
  before any task runs: "An error occurred while executing the state 'X' (entered at the event
  id #N). The JSONPath '$.From' specified for the field 'phone.$' could not be found in the
  input '{"Body":"hi"}'" (AWS's words, as AWS re:Post and the Step Functions workshop quote
  them). moto reported it as `Exception` after calling the Lambda function (Resource a Lambda
  ARN), or without the field's name.
* A Map's `ItemsPath` that finds nothing fails as an `InputPath` miss does: "Invalid path
  '$.items' : No results for path: $['items']".
* A `ResultPath` that cannot be applied to the state's input (`$.a.b` when `a` is a number)
  fails with `States.Runtime` "Unable to apply ReferencePath $.a.b to input {"a":1}" instead
  of a Python TypeError.
* A `States.Runtime` error is never retried or caught, and `States.ALL` does not match
  `States.DataLimitExceeded` either ("States.ALL ... can't catch the States.DataLimitExceeded
  terminal error type and runtime error types", Step Functions developer guide, Error names;
  "A States.Runtime error isn't retriable, and will always cause the execution to fail").
  moto let a `States.ALL` Retry or Catch take them.
* A branch of a Parallel or an iteration of a Map that fails with a `States.*` error fails the
  Parallel or Map with that error and its cause, and a Fail state may name a `States.*` error
  (moto failed with "ValueError(Custom Error Names MUST NOT begin with the prefix 'States.' ...)").
* "(entered at the event id #N)" names the event where the state was entered, also when the
  failure comes after the task ran (a ResultSelector miss).
* Where the local cloud itself breaks while running a state, the execution fails with
  `States.Runtime` naming the state and saying so; the Python error goes to the cloud's log
  only (moto put the Python exception text in the cause).
* A cause quotes the input as compact JSON, as AWS does (moto put spaces after `:` and `,`).

Not checked against AWS here: the wording for a miss inside an intrinsic function's arguments
(the field's wording above is used), the per-segment form of "No results for path" for a nested
InputPath/OutputPath/ItemsPath (`$['a.b']` here), and whether a Task's history shows a TaskFailed
event before ExecutionFailed for a States.Runtime error (moto's, kept).
"""
from __future__ import annotations

import logging

from gluelab.cloud.lazy import when_imported

log = logging.getLogger("gluelab.sfn_runtime_errors")

RUNTIME = "States.Runtime"
DECORATION = "An error occurred while executing the state"
INTERNAL = ("The local cloud failed while running this state; this is not an error of your "
            "workflow. The cloud's log (`gluelab cloud logs`) has the details.")
# Errors a Retry or Catch never takes, and errors `States.ALL` does not match.
NEVER_HANDLED = {RUNTIME}
NOT_MATCHED_BY_ALL = {RUNTIME, "States.DataLimitExceeded"}
ENTERED = "gluelab_entered_event_id"  # on the environment: the id of the state's entered event


def _compact(value) -> str:
    from moto.stepfunctions.parser.asl.utils.encoding import to_json_str
    return to_json_str(value, separators=(",", ":"))


def runtime_failure(env, cause: str) -> Exception:
    """The FailureEventException of a States.Runtime error with this cause."""
    from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent, FailureEventException)
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
        StatesErrorName)
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType)
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    return FailureEventException(failure_event=FailureEvent(
        env=env, error_name=StatesErrorName(typ=StatesErrorNameType.StatesRuntime),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(taskFailedEventDetails=TaskFailedEventDetails(
            error=RUNTIME, cause=cause))))


def _binding_value(original):
    # A `"field.$": "<path or intrinsic>"` binding, in Parameters, ResultSelector, ItemSelector.
    def eval_val(self, env):
        from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError

        from gluelab.cloud.sfn_intrinsic_errors import IntrinsicFailed
        try:
            return original(self, env)
        except IntrinsicFailed as failed:
            raise runtime_failure(env, failed.cause(f"{self.field}.$")) from None
        except NoSuchJsonPathError as missing:
            raise runtime_failure(env, (
                f"The JSONPath '{missing.json_path}' specified for the field '{self.field}.$' "
                f"could not be found in the input '{_compact(missing.data)}'")) from None
    return eval_val


def _items_path(original):
    # A reference path, worded as moto words InputPath and OutputPath misses (moto: the input
    # pasted with spaces, no path).
    def eval_body(self, env):
        from moto.stepfunctions.parser.asl.utils.json_path import NoSuchJsonPathError
        try:
            original(self, env)
        except NoSuchJsonPathError as missing:
            path = missing.json_path
            raise runtime_failure(env, f"Invalid path '{path}' : No results for path: "
                                       f"$['{path[2:]}']") from None
    return eval_body


def _result_path(original):
    def eval_body(self, env):
        state_input = env.states.get_input()
        try:
            original(self, env)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError):
            raise runtime_failure(env, f"Unable to apply ReferencePath {self.result_path_src} "
                                       f"to input {_compact(state_input)}") from None
    return eval_body


def _error_name(custom_error_name):
    # Parallel branches, Map iterations and Fail states give their error by name; moto wrapped
    # every name as a custom one, which may not begin with "States.".
    def error_name(error_name):
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
            StatesErrorName)
        if error_name is not None and error_name.startswith("States."):
            try:
                return StatesErrorName.from_name(error_name)
            except ValueError:
                pass
        return custom_error_name(error_name=error_name)
    return error_name


def _error_equals(original):
    def eval_body(self, env):
        error = env.stack[-1]
        name = getattr(error, "error_name", None)
        if name in NEVER_HANDLED or (name in NOT_MATCHED_BY_ALL and all(
                pattern.error_name == "States.ALL" for pattern in self.error_names)):
            env.stack.pop()
            env.stack.append(False)
            return
        original(self, env)
    return eval_body


def _noting_entered_event(original):
    def eval_state_input(self, env):
        # Called right after the state's entered event: the context's source is that event.
        env.__dict__[ENTERED] = env.event_history_context.source_event_id
        original(self, env)
    return eval_state_input


def _failure_event_init(original):
    def init(self, env, *args, **kwargs):
        original(self, env, *args, **kwargs)
        entered = env.__dict__.get(ENTERED)
        if entered is not None:
            self.source_event_id = entered
    return init


def _failed_details(original):
    # A Parallel or Map hands on its branch's failure, already worded: say it once.
    def details(self):
        found = original(self)
        pair = self.extract_error_cause_pair()
        if found is not None and pair is not None and (pair[1] or "").startswith(DECORATION):
            found["cause"] = pair[1]
        return found
    return details


def _state_body(original):
    def eval_body(self, env):
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
            FailureEventException)

        from gluelab.cloud.sfn_intrinsic_errors import IntrinsicFailed
        try:
            original(self, env)
        except FailureEventException:
            raise
        except IntrinsicFailed as failed:  # outside a `.$` field: a Fail state's CausePath
            raise runtime_failure(env, failed.cause(None)) from None
        except Exception:
            if not env.is_running():  # stopped, timed out or a sibling branch failed: as before
                raise
            log.exception("state %s of execution %s", self.name,
                          env.states.context_object.context_object_data["Execution"]["Id"])
            raise runtime_failure(env, INTERNAL) from None
    return eval_body


def _task_attempt(original):
    # Inside a Task, Parallel or Map, an error becomes the state's failure (and may be retried);
    # a Python error there is the local cloud's fault, not a task's error.
    def evaluate(self, env):
        try:
            original(self, env)
        except (TypeError, KeyError, AttributeError, IndexError, NameError) as exc:
            log.error("state %s: %r", self.name, exc, exc_info=exc)
            raise runtime_failure(env, INTERNAL) from None
    return evaluate


def _patch(module, owner: str, attribute: str, wrapper) -> None:
    cls = getattr(module, owner)
    setattr(cls, attribute, wrapper(getattr(cls, attribute)))


def install(context) -> None:
    base = "moto.stepfunctions.parser.asl.component."
    when_imported(base + "common.payload.payloadvalue.payloadbinding.payload_binding",
                  lambda m: _patch(m, "PayloadBindingStringExpressionSimple", "_eval_val", _binding_value))
    when_imported(base + "common.path.items_path",
                  lambda m: _patch(m, "ItemsPath", "_eval_body", _items_path))
    when_imported(base + "common.path.result_path",
                  lambda m: _patch(m, "ResultPath", "_eval_body", _result_path))
    when_imported(base + "common.error_name.error_equals_decl",
                  lambda m: _patch(m, "ErrorEqualsDecl", "_eval_body", _error_equals))
    when_imported(base + "common.error_name.failure_event", _patch_failure_event)
    when_imported(base + "state.state", _patch_state)
    when_imported(base + "common.string.string_expression", _compact_causes)
    when_imported(base + "state.exec.execute_state",
                  lambda m: _patch(m, "ExecutionState", "_evaluate_with_timeout", _task_attempt))
    for module in ("state.exec.state_parallel.branches_decl",
                   "state.exec.state_map.iteration.iteration_worker", "state.fail.state_fail"):
        when_imported(base + module, _patch_error_names)


def _patch_failure_event(module) -> None:
    _patch(module, "FailureEvent", "__init__", _failure_event_init)
    _patch(module, "FailureEventException", "get_execution_failed_event_details", _failed_details)


def _patch_state(module) -> None:
    _patch(module, "CommonStateField", "_eval_state_input", _noting_entered_event)
    _patch(module, "CommonStateField", "_eval_body", _state_body)
    _compact_causes(module)


def _compact_causes(module) -> None:
    # The input quoted in a cause is compact JSON on AWS ('{"Body":"hi"}'); these modules'
    # causes (a `$$.` path, a Fail state's ErrorPath/CausePath) used json.dumps' spaces.
    original = module.to_json_str

    def to_json_str(obj, separators=None):
        return original(obj, separators=separators or (",", ":"))
    module.to_json_str = to_json_str


def _patch_error_names(module) -> None:
    module.CustomErrorName = _error_name(module.CustomErrorName)
