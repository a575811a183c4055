"""State machine definitions checked as Step Functions checks them, in one place.

CreateStateMachine, UpdateStateMachine, CloudFormation's AWS::StepFunctions::StateMachine (all
three reach moto's StepFunctionsParserBackend._validate_definition) and
ValidateStateMachineDefinition (served here: moto 5.2.5 lacks it) share `diagnostics()`:
- the structure against the Amazon States Language schema cfn-lint bundles (rule E3601's
  statemachine.json): unknown or missing fields, Next and End together, Fail with Next, Choice
  without Choices, paths that are not JSONPath;
- `.$` fields (JSONPath or an intrinsic function call);
- transitions (StartAt, Next, Default, Choices and Catch targets) within each scope, and states
  nothing reaches.
Each finding carries Step Functions' diagnostic code and the location in the definition, and a
refusal is `InvalidDefinition: Invalid State Machine Definition: 'CODE: message at /location, ...'`.

StartExecution refuses an execution name Step Functions refuses (InvalidName).
"""
from __future__ import annotations

import functools
import importlib.util
import json
import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from gluelab.cloud import sfn_integrations

if TYPE_CHECKING:  # imported at the first validation: a start needs none (0.2 s)
    import jsonschema

SCHEMA_FAILED = "SCHEMA_VALIDATION_FAILED"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"
# The intrinsic functions of the Amazon States Language.
INTRINSICS = {"States.Format", "States.StringToJson", "States.JsonToString", "States.Array",
              "States.ArrayPartition", "States.ArrayContains", "States.ArrayRange",
              "States.ArrayGetItem", "States.ArrayLength", "States.ArrayUnique",
              "States.Base64Encode", "States.Base64Decode", "States.Hash", "States.JsonMerge",
              "States.MathRandom", "States.MathAdd", "States.StringSplit", "States.UUID"}
INTRINSIC_CALL = re.compile(r"(States\.[A-Za-z0-9]+)\((.*)\)", re.DOTALL)
# StartExecution: "A name must not contain: white space, brackets < > { } [ ], wildcard
# characters ? *, special characters " # % \ ^ | ~ ` $ & , ; : /, control characters" (API reference).
NAME_FORBIDDEN = set("<>{}[]?*\"#%\\^|~`$&,;:/")
TYPE_WORDS = {"string": "STRING", "integer": "INTEGER", "number": "NUMBER", "boolean": "BOOLEAN",
              "object": "OBJECT", "array": "ARRAY", "null": "NULL"}


class Diagnostic(dict):
    """One finding, in ValidateStateMachineDefinition's shape."""

    def __init__(self, code: str, message: str, location: str):
        super().__init__(severity="ERROR", code=code, message=message, location=location)

    def text(self) -> str:
        return f"{self['code']}: {self['message']} at {self['location']}"


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    # cfn-lint's own data file, read without importing cfn-lint (3 s of imports).
    spec = importlib.util.find_spec("cfnlint")
    path = (Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas" / "other"
            / "step_functions" / "statemachine.json")
    # cfn-lint writes the root as "#/" (a Parallel branch is a whole machine); JSON Pointer says "#".
    schema = json.loads(path.read_text().replace('"$ref": "#/"', '"$ref": "#"'))
    # The States Language lets any ResultPath be null ("discard the result"); the bundled
    # schema forgets it for Pass states.
    schema["definitions"]["pass"]["properties"]["ResultPath"]["type"] = ["string", "null"]
    # $ref beside other keywords applies both, as cfn-lint's validator does (draft 2019+ rules);
    # "requiredXor" is cfn-lint's keyword for Next/End: exactly one of them.
    import jsonschema
    validator = jsonschema.validators.extend(jsonschema.Draft202012Validator,
                                             {"requiredXor": _required_xor})
    return validator(schema)


def _required_xor(validator, names, instance, schema):
    import jsonschema
    if isinstance(instance, dict):
        present = [name for name in names if name in instance]
        if len(present) != 1:
            yield jsonschema.ValidationError("requiredXor", validator_value=names)


def _location(path) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f"/{part}"
    return text or "/"


def _schema_diagnostic(error: jsonschema.ValidationError) -> Diagnostic | None:
    kind, expected, value = error.validator, error.validator_value, error.instance
    where = _location(error.absolute_path)
    field = str(error.absolute_path[-1]) if error.absolute_path else ""
    if kind in ("if", "allOf", "oneOf", "anyOf", "$ref"):
        return None  # the detailed errors under these are reported themselves
    if kind == "additionalProperties" or error.schema is False:
        if error.schema is False:  # a field the state's query language forbids
            return Diagnostic(SCHEMA_FAILED, f"Field '{field}' is not supported", _location(list(error.absolute_path)[:-1]))
        known = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extras = [key for key in value if key not in known and not any(re.search(p, key) for p in patterns)]
        if "States" in list(error.absolute_path)[-1:] or patterns:
            return Diagnostic(SCHEMA_FAILED, f"State names must be 1 to 80 characters long: "
                                             f"{', '.join(extras)}", where)
        return Diagnostic(SCHEMA_FAILED, f"Field '{extras[0]}' is not supported", where) if extras else None
    if kind == "required":
        missing = [name for name in expected if name not in value]
        return Diagnostic(SCHEMA_FAILED, f"These fields are required: [{', '.join(missing)}]", where)
    if kind == "requiredXor":
        if all(name in value for name in expected):
            return Diagnostic(SCHEMA_FAILED, f"Only one of these fields may be present: "
                                             f"[{', '.join(expected)}]", where)
        return Diagnostic(SCHEMA_FAILED, f"One of these fields is required: [{', '.join(expected)}]", where)
    if kind == "type":
        wanted = expected if isinstance(expected, list) else [expected]
        return Diagnostic(SCHEMA_FAILED, f"The value for the field '{field}' must be a "
                                         f"{' or '.join(TYPE_WORDS.get(w, w) for w in wanted)}", where)
    if kind == "pattern" and expected == "^\\$":
        return Diagnostic(SCHEMA_FAILED, f"The value for the field '{field}' must be a valid JSONPath", where)
    if kind in ("enum", "const"):
        allowed = expected if isinstance(expected, list) else [expected]
        return Diagnostic(SCHEMA_FAILED, f"The value for the field '{field}' must be one of "
                                         f"{', '.join(map(str, allowed))}, not {value!r}", where)
    return Diagnostic(SCHEMA_FAILED, f"The value for the field '{field}' is not valid: {error.message}", where)


def _walk(errors) -> Iterator[jsonschema.ValidationError]:
    for error in errors:
        yield error
        yield from _walk(error.context or [])


@functools.cache
def _jsonpath_parser():
    from jsonpath_ng.ext.parser import ExtendedJsonPathParser
    return ExtendedJsonPathParser()


@functools.lru_cache(maxsize=4096)
def _path_problem(text: str) -> bool:
    """Whether a `.$` value is neither a JSONPath nor an intrinsic function call."""
    call = INTRINSIC_CALL.fullmatch(text.strip())
    if call:
        return call.group(1) not in INTRINSICS or call.group(2).count("(") != call.group(2).count(")")
    if not text.startswith("$"):
        return True
    try:
        _jsonpath_parser().parse(text[1:] if text.startswith("$$") else text)
    except Exception:  # jsonpath-ng raises several kinds for text it cannot read: all mean invalid
        return True
    return False


def _dynamic_fields(value: Any, where: str) -> Iterator[Diagnostic]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key.endswith(".$") and isinstance(inner, str) and _path_problem(inner):
                yield Diagnostic(SCHEMA_FAILED, f"The value for the field '{key}' must be a valid "
                                                f"JSONPath or a valid intrinsic function call", where)
            yield from _dynamic_fields(inner, f"{where}/{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _dynamic_fields(inner, f"{where}[{index}]")


def _transitions(state: dict, where: str) -> Iterator[tuple[str, str]]:
    """(target, location) for each transition a state makes."""
    if isinstance(state.get("Next"), str):
        yield state["Next"], f"{where}/Next"
    if isinstance(state.get("Default"), str):
        yield state["Default"], f"{where}/Default"
    for field in ("Choices", "Catch"):
        for index, rule in enumerate(state.get(field) or []):
            if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
                yield rule["Next"], f"{where}/{field}[{index}]/Next"


def _scopes(machine: dict, where: str) -> Iterator[tuple[dict, str]]:
    """The machine and every nested one (Parallel branches, Map processors), with locations."""
    yield machine, where
    for name, state in (machine.get("States") or {}).items():
        if not isinstance(state, dict):
            continue
        at = f"{where}/States/{name}"
        for index, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, dict):
                yield from _scopes(branch, f"{at}/Branches[{index}]")
        for field in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(field), dict):
                yield from _scopes(state[field], f"{at}/{field}")


def _reference_diagnostics(machine: dict) -> Iterator[Diagnostic]:
    for scope, where in _scopes(machine, ""):
        states = scope.get("States")
        if not isinstance(states, dict):
            continue
        start = scope.get("StartAt")
        if isinstance(start, str) and start not in states:
            yield Diagnostic(MISSING_TARGET, f"Missing 'Next' target: {start}", f"{where}/StartAt")
        reached = {start}
        for name, state in states.items():
            if not isinstance(state, dict):
                continue
            for target, at in _transitions(state, f"{where}/States/{name}"):
                reached.add(target)
                if target not in states:
                    yield Diagnostic(MISSING_TARGET, f"Missing 'Next' target: {target}", at)
        for name in states:
            if name not in reached:
                yield Diagnostic(MISSING_TARGET, f'State "{name}" is not reachable.', f"{where}/States/{name}")


def diagnostics(definition: str) -> list[Diagnostic]:
    """Everything Step Functions would report about this definition; empty if it is valid."""
    try:
        machine = json.loads(definition)
    except (TypeError, ValueError) as exc:
        return [Diagnostic("INVALID_JSON_DESCRIPTION", f"The definition is not valid JSON: {exc}", "/")]
    if not isinstance(machine, dict):
        return [Diagnostic(SCHEMA_FAILED, "The definition must be a JSON object", "/")]
    found: list[Diagnostic] = []
    if machine.get("QueryLanguage") != "JSONata":  # JSONata's own rules are not modelled here
        errors = sorted(_walk(_validator().iter_errors(machine)), key=lambda e: _location(e.absolute_path))
        found += [d for d in map(_schema_diagnostic, errors) if d]
        found += _dynamic_fields(machine, "")
    found += _reference_diagnostics(machine)
    found += sfn_integrations.misspelt(machine)
    unique: list[Diagnostic] = []
    for diagnostic in found:
        if diagnostic not in unique:
            unique.append(diagnostic)
    return unique


def refusal(found: list[Diagnostic]) -> str:
    return f"Invalid State Machine Definition: '{', '.join(d.text() for d in found)}'"


def name_problem(name: str) -> bool:
    """Whether Step Functions refuses this execution name."""
    return (not 1 <= len(name) <= 80 or any(c.isspace() or c in NAME_FORBIDDEN
                                             or unicodedata.category(c) == "Cc" for c in name))


# ---------------------------------------------------------------------------------------------
# Hooks into moto (pinned in tests/test_moto_hooks.py)


def _invalid_definition(message: str) -> Exception:
    from moto.core.exceptions import AWSError

    class InvalidDefinition(AWSError):
        TYPE = "InvalidDefinition"
        STATUS = 400

    return InvalidDefinition(message)


_interpreter = None  # moto's own check: what its interpreter cannot read


def _interpreter_refusal(definition: str) -> Exception | None:
    try:
        _interpreter(definition)
    except Exception as exc:
        if type(exc).__name__ != "InvalidDefinition":
            raise
        return exc
    return None


def _interpreter_diagnostics(definition: str) -> list[Diagnostic]:
    """What the interpreter refuses, located where it can be (a Task's Resource)."""
    refused = _interpreter_refusal(definition)
    if refused is None:
        return []
    located = sfn_integrations.unrecognized(
        json.loads(definition), lambda alone: _interpreter_refusal(alone) is not None)
    return located or [Diagnostic(SCHEMA_FAILED, _reason(refused), "/")]


def _reason(exc: Exception) -> str:
    # moto's words are "Error=ValueError Args=['<reason>']" or "ASLParserException <reason>":
    # the reason alone.
    text = str(getattr(exc, "message", exc)).removeprefix("Invalid State Machine Definition: ")
    text = text.removeprefix("ASLParserException ")
    wrapped = re.fullmatch(r"Error=\w+ Args=\[(['\"])(.*)\1\]", text, re.DOTALL)
    return wrapped.group(2) if wrapped else text


def _checking_definitions(validate):
    global _interpreter
    _interpreter = validate
    valid: set[str] = set()  # deploys and restarts bring the same definitions again

    def check(definition: str):
        if definition not in valid:
            found = diagnostics(definition) or _interpreter_diagnostics(definition)
            if found:
                raise _invalid_definition(refusal(found))
            valid.add(definition)
    return staticmethod(check)


def _checking_names(start_execution):
    def start(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        if name is not None and name_problem(name):
            from moto.stepfunctions.exceptions import InvalidName
            raise InvalidName(f"Invalid Name: '{name}'")
        return start_execution(self, state_machine_arn, name, execution_input, trace_header)
    return start


def validate_state_machine_definition(self):
    """ValidateStateMachineDefinition: OK, or FAIL with the diagnostics a create would refuse with."""
    from moto.core.responses import ActionResult
    definition = self._get_param("definition")
    found = diagnostics(definition) or _interpreter_diagnostics(definition)
    limit = int(self._get_param("maxResults") or 100)
    return ActionResult({"result": "FAIL" if found else "OK", "diagnostics": found[:limit],
                         "truncated": len(found) > limit})


def _warm() -> None:
    """The schema and the JSONPath parser compiled and the integrations' API models read (under
    a second), in the cloud's warm-up: not in the first CreateStateMachine, nor in a restart's
    first calls (which load the Step Functions backend)."""
    _validator(), _jsonpath_parser(), sfn_integrations.warm()


def _patch_parser_backend(parser_models) -> None:
    backend = parser_models.StepFunctionsParserBackend
    backend._validate_definition = _checking_definitions(backend._validate_definition)
    backend.start_execution = _checking_names(backend.start_execution)


def _patch_responses(responses) -> None:
    responses.StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition


def install(context) -> None:
    from gluelab.cloud import warm_start
    from gluelab.cloud.lazy import when_imported
    warm_start.later(_warm)
    when_imported("moto.stepfunctions.parser.models", _patch_parser_backend)
    when_imported("moto.stepfunctions.responses", _patch_responses)
