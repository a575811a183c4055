"""What is deployed in the local cloud, read straight from moto's backends."""
from __future__ import annotations

from gluelab.config import LOCAL_ACCOUNT, LOCAL_REGION


def _backend(service: str):
    from moto.backends import get_backend
    return get_backend(service)[LOCAL_ACCOUNT][LOCAL_REGION]


def deployed() -> dict[str, list[str]]:
    stepfunctions = _backend("stepfunctions")
    return {
        "stacks": sorted(s.name for s in _backend("cloudformation").stacks.values()
                         if s.status != "DELETE_COMPLETE"),
        "functions": sorted(f.function_name for f in _backend("lambda").list_functions()),
        "state_machines": sorted(m.name for m in stepfunctions.state_machines),
        "tables": sorted(_backend("dynamodb").tables),
        "rest_apis": sorted(f"{a.name} ({a.id})" for a in _backend("apigateway").apis.values()),
    }
