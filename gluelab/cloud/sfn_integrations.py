"""Task Resources naming a Step Functions service integration, checked as Step Functions checks them.

No package ships the list of Step Functions' optimized integrations: cfn-lint's ASL schema only
gives the shape of a Resource ARN, and the list is the developer guide's page "Integrating
optimized services with Step Functions" (step-functions/latest/dg/integrate-optimized.html).
So two shipped sources are used instead of a hand-typed copy:

* The spelling. An integration's action is the service API's operation name in camelCase
  (`arn:aws:states:::dynamodb:putItem`, `sqs:sendMessage`, `aws-sdk:s3:listBuckets`), and
  botocore ships every service's operation names. An action that matches an operation only when
  case is ignored (`dynamodb:PutItem`) is refused, naming the right spelling: Step Functions
  matches Resources exactly.
* Which integrations exist. moto's interpreter recognises the integrations it runs (its lists
  follow that page) and refuses the others, with its own wording and no location; each such
  Resource is reported with Step Functions' wording and its place in the definition.

Both refusals read "SCHEMA_VALIDATION_FAILED: The resource provided <arn> not recognized. The
value is not a valid resource ARN, or the resource is not available in this region. at
/States/<state>/Resource", as Step Functions words them.
"""
from __future__ import annotations

import functools
import json
import re
from typing import Callable, Iterator

INTEGRATION = re.compile(r"arn:[a-z-]+:states:::(?:(aws-sdk):)?([a-z0-9-]+):([A-Za-z0-9]+)(.*)")
BOTOCORE_NAMES = {"states": "stepfunctions"}  # the integration's service name -> botocore's


def _not_recognized(resource: str) -> str:
    return (f"The resource provided {resource} not recognized. The value is not a valid resource "
            f"ARN, or the resource is not available in this region.")


@functools.cache
def _operations(service: str) -> dict[str, str]:
    """camelCase action, keyed by its lower case; empty for a service botocore lacks."""
    from botocore.exceptions import UnknownServiceError
    try:
        model = _loader().load_service_model(BOTOCORE_NAMES.get(service, service), "service-2")
    except UnknownServiceError:
        return {}
    return {name.lower(): name[0].lower() + name[1:] for name in model["operations"]}


@functools.cache
def _loader():
    from botocore.loaders import create_loader
    return create_loader()


def warm() -> None:
    """Read the API models of the integrations the workshop uses (0.2 s) before a deploy needs them."""
    for service in ("lambda", "dynamodb", "sns", "sqs", "events", "states"):
        _operations(service)


def task_resources(machine: dict) -> Iterator[tuple[str, str]]:
    """(Resource, its location) of every Task naming an integration, at any depth."""
    from gluelab.cloud.asl_validation import _scopes
    for scope, where in _scopes(machine, ""):
        for name, state in (scope.get("States") or {}).items():
            if isinstance(state, dict) and state.get("Type") == "Task":
                resource = state.get("Resource")
                if isinstance(resource, str) and INTEGRATION.fullmatch(resource):
                    yield resource, f"{where}/States/{name}/Resource"


def misspelt(machine: dict) -> list:
    """A diagnostic for each integration whose action is a real operation in the wrong case."""
    from gluelab.cloud.asl_validation import SCHEMA_FAILED, Diagnostic
    found = []
    for resource, where in task_resources(machine):
        sdk, service, action, rest = INTEGRATION.fullmatch(resource).groups()
        right = _operations(service).get(action.lower())
        if right is not None and right != action:
            spelt = resource.replace(f"{service}:{action}", f"{service}:{right}", 1)
            found.append(Diagnostic(SCHEMA_FAILED, f"{_not_recognized(resource)} Did you mean {spelt}?", where))
    return found


def unrecognized(machine: dict, interpreter_refuses: Callable[[str], bool]) -> list:
    """A diagnostic for each integration the interpreter refuses on its own (one Task each)."""
    from gluelab.cloud.asl_validation import SCHEMA_FAILED, Diagnostic
    found, tried = [], {}
    for resource, where in task_resources(machine):
        if resource not in tried:
            alone = {"StartAt": "Task", "States": {"Task": {"Type": "Task", "Resource": resource, "End": True}}}
            tried[resource] = interpreter_refuses(json.dumps(alone))
        if tried[resource]:
            found.append(Diagnostic(SCHEMA_FAILED, _not_recognized(resource), where))
    return found
