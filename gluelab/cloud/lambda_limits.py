"""Lambda's request limits: what CreateFunction, UpdateFunctionConfiguration/Code and Invoke refuse.

Checked as the Lambda API checks them, with its error codes and wording, wherever a function is
created or changed (the API, CloudFormation, SAM):
- a runtime past its "block function create" / "block function update" date, from the runtime
  lifecycle table cfn-lint ships for its rules E2531/W2531 (AWS's published dates);
- MemorySize outside 128-10240 MB, Timeout outside 1-900 s, a handler longer than 128
  characters or with white space (the API's constraints);
- environment variables over 4 KB in all;
- an Invoke payload over 6 MB (RequestResponse) or 1 MB (Event; 256 KB until 2025).
The runtime side (init budget, a handler that cannot be imported) is the worker's business.
"""
from __future__ import annotations

import contextvars
import datetime
import functools
import importlib.util
import json
from pathlib import Path
from typing import Any

MEMORY_MB = (128, 10240)
TIMEOUT_S = (1, 900)
HANDLER_MAX = 128
ENVIRONMENT_BYTES = 4096
SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
ASYNC_PAYLOAD_BYTES = 1024 * 1024


@functools.cache
def _runtime_lifecycle() -> dict[str, dict]:
    spec = importlib.util.find_spec("cfnlint")  # the data file only: importing cfn-lint costs 3 s
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "AdditionalSpecs" / "LmbdRuntimeLifecycle.json"
    return json.loads(path.read_text())


def _blocked(runtime: str, stage: str, today: datetime.date) -> dict | None:
    """The runtime's lifecycle entry if AWS blocks `stage` ("create-block"/"update-block") today."""
    entry = _runtime_lifecycle().get(runtime)
    date = entry and entry.get(stage)
    return entry if date and datetime.date.fromisoformat(date) <= today else None


def _validation(value: Any, field: str, constraint: str) -> Exception:
    from moto.awslambda.exceptions import ValidationException
    return ValidationException(str(value), field, constraint)


def _invalid(message: str) -> Exception:
    from moto.awslambda.exceptions import InvalidParameterValueException
    return InvalidParameterValueException(message)


def _number(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


# The day of the request being served: its signature's X-Amz-Date. A restart replays the journal
# with each call's own headers, so a function created before its runtime's block date is
# restored after it, not refused.
REQUEST_DAY: contextvars.ContextVar[datetime.date | None] = contextvars.ContextVar("request_day", default=None)


def _signed_day(environ: dict) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(environ.get("HTTP_X_AMZ_DATE", "")[:8], "%Y%m%d").date()
    except ValueError:
        return None


def check_configuration(config: dict, stage: str, today: datetime.date | None = None) -> None:
    """Refuse a function configuration Lambda refuses; `stage` is "create-block" or "update-block"."""
    runtime = config.get("Runtime")
    today = today or REQUEST_DAY.get() or datetime.date.today()
    if isinstance(runtime, str) and _blocked(runtime, stage, today):
        successor = _runtime_lifecycle()[runtime].get("successor") or "a supported runtime"
        raise _invalid(f"The runtime parameter of {runtime} is no longer supported for creating or "
                       f"updating AWS Lambda functions. We recommend you use the new runtime "
                       f"({successor}) while creating or updating functions.")
    for field, api_name, (low, high) in (("MemorySize", "memorySize", MEMORY_MB), ("Timeout", "timeout", TIMEOUT_S)):
        value = _number(config.get(field))
        if isinstance(value, int) and value < low:
            raise _validation(value, api_name, f"Member must have value greater than or equal to {low}")
        if isinstance(value, int) and value > high:
            raise _validation(value, api_name, f"Member must have value less than or equal to {high}")
    handler = config.get("Handler")
    if isinstance(handler, str):
        if len(handler) > HANDLER_MAX:
            raise _validation(handler, "handler", f"Member must have length less than or equal to {HANDLER_MAX}")
        if not handler or any(c.isspace() for c in handler):
            raise _validation(handler, "handler", r"Member must satisfy regular expression pattern: [^\s]+")
    variables = (config.get("Environment") or {}).get("Variables") or {}
    measured = json.dumps(variables, separators=(",", ":"))
    if len(measured.encode()) > ENVIRONMENT_BYTES:
        raise _invalid(f"Lambda was unable to configure your environment variables because the "
                       f"environment variables you have provided exceeded the 4KB limit. String "
                       f"measured: {measured[:200]}...")


def check_payload(body: Any, headers: Any) -> None:
    size = len(body if isinstance(body, (bytes, str)) else json.dumps(body)) if body else 0
    asynchronous = (headers or {}).get("X-Amz-Invocation-Type") == "Event"
    limit = ASYNC_PAYLOAD_BYTES if asynchronous else SYNC_PAYLOAD_BYTES
    if size > limit:
        from moto.core.exceptions import JsonRESTError

        class RequestTooLarge(JsonRESTError):
            code = 413

        raise RequestTooLarge("RequestEntityTooLargeException", (
            f"{size} byte payload is too large for the Event invocation type (limit {limit} bytes)"
            if asynchronous else
            f"Request must be smaller than {limit} bytes for the InvokeFunction operation"))


# ---------------------------------------------------------------------------------------------
# Hooks into moto (pinned in tests/test_moto_hooks.py)


def _checked_create(create_function):
    def create(self, spec: dict):
        check_configuration(spec, "create-block")
        return create_function(self, spec)
    return create


def _checked_update(update_configuration):
    def update(self, config_updates: dict):
        # A function on a runtime past its update block cannot be changed either.
        check_configuration({"Runtime": self.run_time, **config_updates}, "update-block")
        return update_configuration(self, config_updates)
    return update


def _checked_code_update(update_function_code):
    def update(self, updated_spec: dict):
        check_configuration({"Runtime": self.run_time}, "update-block")
        return update_function_code(self, updated_spec)
    return update


def _checked_invoke(invoke):
    def checked(self, function_name, qualifier, body, headers, response_headers):
        check_payload(body, headers)
        return invoke(self, function_name, qualifier, body, headers, response_headers)
    return checked


def _patch(models) -> None:
    models.LambdaBackend.create_function = _checked_create(models.LambdaBackend.create_function)
    models.LambdaBackend.invoke = _checked_invoke(models.LambdaBackend.invoke)
    models.LambdaFunction.update_configuration = _checked_update(models.LambdaFunction.update_configuration)
    models.LambdaFunction.update_function_code = _checked_code_update(models.LambdaFunction.update_function_code)


def install(context) -> None:
    from gluelab.cloud.lazy import when_imported
    when_imported("moto.awslambda.models", _patch)


def wrap(app, context):
    """Innermost WSGI layer (inside persistence, so replays pass through it): note the day."""
    def dated(environ, start_response):
        token = REQUEST_DAY.set(_signed_day(environ))
        try:
            return app(environ, start_response)
        finally:
            REQUEST_DAY.reset(token)
    return dated
