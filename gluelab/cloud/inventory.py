"""What is deployed in the local cloud, read straight from moto's backends.

Only services that moto has already loaded are asked: a service nobody has called holds nothing,
and loading it just to say so would make `gluelab cloud status` take seconds.
"""
from __future__ import annotations

import sys

from gluelab.config import LOCAL_ACCOUNT, LOCAL_REGION

LISTS = {
    "stacks": ("cloudformation", lambda b: (s.name for s in b.stacks.values()
                                            if s.status != "DELETE_COMPLETE")),
    "functions": ("awslambda", lambda b: (f.function_name for f in b.list_functions())),
    "state_machines": ("stepfunctions", lambda b: (m.name for m in b.state_machines)),
    "tables": ("dynamodb", lambda b: b.tables),
    "rest_apis": ("apigateway", lambda b: (f"{a.name} ({a.id})" for a in b.apis.values())),
}
BACKEND_NAMES = {"awslambda": "lambda"}


def _backend(package: str):
    if package == "stepfunctions":  # executing state machines live in the interpreter's backend
        from moto.stepfunctions.responses import get_backend as stepfunctions_backend
        return stepfunctions_backend(LOCAL_ACCOUNT, LOCAL_REGION)
    from moto.backends import get_backend
    return get_backend(BACKEND_NAMES.get(package, package))[LOCAL_ACCOUNT][LOCAL_REGION]


def deployed() -> dict[str, list[str]]:
    result = {}
    for kind, (package, names) in LISTS.items():
        if f"moto.{package}.models" not in sys.modules:
            result[kind] = []
            continue
        result[kind] = sorted(names(_backend(package)))
    return result
