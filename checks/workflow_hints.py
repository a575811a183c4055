"""Why a check's execution went wrong, in the terms of the attendee's definition: a Parameters
key without its `.$` (the path sent as plain text), a placeholder no substitution filled, a path
that names nothing in its state's input, a role without the permission a task needs.

The workflow labs' checks (05, 09, 13) turn these findings into their hint, so that the hint
names the mistake this execution shows instead of every mistake the check could catch. Each
finding is read from the execution's history and the deployed definition, never from the
wording of an error message, which differs between AWS and the local cloud.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from checks.fixit import DENIAL, failure_of, history_events
from checks.runner import Hinted
from gluelab import config

# A reference path into the state's input ($.a.b); context paths ($$.) are left out.
_PATH = re.compile(r"(?<!\$)\$((?:\.[A-Za-z_][\w-]*)+)")
# What a value sent as plain text looks like when its key lacks `.$`.
_PATH_AS_TEXT = re.compile(r"^\s*(\$\.|\$\$\.|\$$|States\.[A-Za-z]+\()")
# What SAM leaves when no DefinitionSubstitutions entry names a placeholder.
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")
# The SAM policy templates the labs use, by the action a task needs.
POLICY_FOR = {"lambda:InvokeFunction": "a LambdaInvokePolicy for that function",
              "dynamodb:PutItem": "a DynamoDBWritePolicy for that table"}


@dataclass(frozen=True)
class Failure:
    """The state whose failure ended an execution, with the error it recorded."""
    state: str  # "" when the execution failed outside any state
    error: str
    cause: str
    input: object  # the state's input, parsed
    after: str  # the state that ended just before it was entered ("" if none)


def _parsed(text):
    try:
        return json.loads(text) if text is not None else None
    except ValueError:
        return text


def failure(execution: dict) -> Failure | None:
    """Where and how the execution failed; None when it did not fail."""
    if execution["status"] == "SUCCEEDED":
        return None
    # States entered and not exited, innermost last: (name, input, the state that ended before)
    running: list[tuple[str, object, str]] = []
    error = cause = last_exited = ""
    for event in sorted(history_events(execution), key=lambda e: e["id"]):
        if entered := event.get("stateEnteredEventDetails"):
            running.append((entered["name"], _parsed(entered.get("input")), last_exited))
        elif exited := event.get("stateExitedEventDetails"):
            running = [state for state in running if state[0] != exited["name"]]
            last_exited = exited["name"]
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict) and "error" in details:
                error, cause = details["error"], details.get("cause", "")
    state, given, after = running[-1] if running else ("", None, "")
    return Failure(state, error, cause, given, after)


def _flatten(value, key: str = ""):
    """(dotted key, text) of every string in a JSON value."""
    if isinstance(value, dict):
        for name, inner in value.items():
            yield from _flatten(inner, f"{key}.{name}" if key else name)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _flatten(inner, f"{key}[{index}]")
    elif isinstance(value, str):
        yield key, value


def sent_as_text(execution: dict) -> list[tuple[str, str, str]]:
    """(state, key, value) for each value a task was sent that is a path, an intrinsic function
    or a ${placeholder} as plain text: a key without its `.$`, or a substitution missing."""
    found, state = [], ""
    for event in sorted(history_events(execution), key=lambda e: e["id"]):
        if entered := event.get("stateEnteredEventDetails"):
            state = entered["name"]
        details = event.get("lambdaFunctionScheduledEventDetails") or event.get("taskScheduledEventDetails")
        if details:
            sent = _parsed(details.get("input", details.get("parameters")))
            found += [(state, key, text) for key, text in _flatten(sent)
                      if _PATH_AS_TEXT.match(text) or _PLACEHOLDER.search(text)]
    return found


def _resolves(document, path: str) -> bool:
    for name in path.strip(".").split("."):
        if not isinstance(document, dict) or name not in document:
            return False
        document = document[name]
    return True


def _state_definition(states: dict, name: str) -> dict | None:
    """A state of the definition by name, looking inside Parallel branches too."""
    for state_name, state in states.items():
        if state_name == name:
            return state
        for branch in state.get("Branches", []):
            if found := _state_definition(branch["States"], name):
                return found
    return None


def definition_of(execution: dict) -> dict:
    """The States of the definition the execution ran (describe_execution's answer)."""
    described = config.client("stepfunctions").describe_state_machine(
        stateMachineArn=execution["stateMachineArn"])
    return json.loads(described["definition"])["States"]


def missing_paths(execution: dict, failed: Failure) -> list[tuple[str, str]]:
    """(key, path) of the failed state's Parameters whose path names nothing in its input."""
    state = _state_definition(definition_of(execution), failed.state) or {}
    return [(key, "$" + path) for key, text in _flatten(state.get("Parameters", {}))
            if key.endswith(".$") for path in _PATH.findall(text)
            if not _resolves(failed.input, path)]


def explain(execution: dict, report_field: str = "reporter") -> str | None:
    """A hint naming the mistake the execution shows, or None if it shows none of the above.
    `report_field` is a field of the workflow's input that every state should still see."""
    for state, key, text in sent_as_text(execution):
        if placeholder := _PLACEHOLDER.search(text):
            return (f"{state} sent {key} as the text {text!r}: no substitution replaced "
                    f"${{{placeholder[1]}}}. Add {placeholder[1]} to FixitStateMachine's "
                    "DefinitionSubstitutions and deploy again.")
        return (f"{state} sent {key} as the text {text!r}, not the value it points at: a key that "
                f"takes a path ends in .$ (\"{key.rsplit('.', 1)[-1]}.$\": \"{text.strip()}\"). "
                "Fix the definition and deploy again.")
    failed = failure(execution)
    if failed is None or not failed.state:
        return None
    if denied := DENIAL.search(failed.cause):
        return (f"{failed.state} failed because the state machine's role may not perform "
                f"{denied['action']} on {denied['resource']}: give FixitStateMachine "
                f"{POLICY_FOR.get(denied['action'], 'a policy that allows it')} and deploy again.")
    if missing := missing_paths(execution, failed):
        key, path = missing[0]
        fields = sorted(failed.input) if isinstance(failed.input, dict) else []
        if isinstance(failed.input, dict) and report_field not in failed.input:
            before = failed.after or "the state before it"
            return (f"{failed.state}'s input has lost the report (its fields are {', '.join(fields)}), "
                    f"so {key} finds nothing at {path}: {before} has no ResultPath, so its result "
                    f"replaced the report. Give {before} a ResultPath that puts its result next to "
                    "the report, and deploy again.")
        return (f"In {failed.state}'s Parameters, {key} takes {path}, which names nothing in the "
                f"state's input (its fields are {', '.join(fields) or 'none'}; paths are "
                "case-sensitive). Fix the path and deploy again.")
    return None


def failed(execution: dict, detail: str) -> AssertionError:
    """The error a check raises for `detail`, with the hint that names the mistake the
    execution shows, if it shows one."""
    hint = explain(execution)
    return AssertionError(detail) if hint is None else Hinted(detail, hint)


def output_of(execution: dict):
    """The parsed output of an execution that must have succeeded; if it did not, the failure
    with a hint that names the mistake when the execution shows one."""
    if execution["status"] == "SUCCEEDED":
        return json.loads(execution["output"])
    raise failed(execution, f"the execution ended {execution['status']} ({failure_of(execution)})")
