"""Make a deployed function fail on purpose, to practise Retry and Catch.

    from gluelab import faults
    faults.fail_next("fixit-notify", count=2, error_type="Twilio.Unavailable")

The local cloud then fails the function's next `count` invocations exactly as if the handler had
raised: Lambda's error payload, FunctionError "Unhandled", and the error in its log.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from gluelab.config import settings


class FaultError(RuntimeError):
    """The fault could not be set; the message says why and what to do."""


def _call(method: str, payload: dict | None = None) -> dict:
    s = settings()
    if not s.is_local:
        raise FaultError("Fault injection is a feature of the local cloud, and GLUELAB_TARGET is "
                         f"{s.target!r}. Unset GLUELAB_TARGET to use the local cloud.")
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(f"{s.endpoint}/_gluelab/faults", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        raise FaultError(json.loads(exc.read()).get("error", str(exc))) from None
    except urllib.error.URLError as exc:
        raise FaultError(f"The local cloud does not answer on {s.endpoint} ({exc.reason}). "
                         "Start it with `gluelab cloud start`.") from None


def fail_next(function: str, count: int = 1, error_type: str = "States.TaskFailed",
              error_message: str | None = None) -> list[dict]:
    """Fail `function`'s next `count` invocations with `error_type`; returns all pending faults."""
    payload = {"function": function, "count": count, "errorType": error_type}
    if error_message is not None:
        payload["errorMessage"] = error_message
    return _call("POST", payload)["faults"]


def pending() -> list[dict]:
    """Faults not yet used up: [{"function", "count", "errorType", "errorMessage"}, ...]."""
    return _call("GET")["faults"]


def clear() -> list[dict]:
    """Drop every pending fault; returns the ones dropped."""
    return _call("DELETE")["cleared"]
