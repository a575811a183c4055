"""Requests that leave out a member the API requires are refused as AWS refuses them.

The SDKs check required parameters before sending, so a request without them comes from
something that does not: a Step Functions task's Parameters (the interpreter's client sends what
the state gives it), or a hand-made HTTP request. moto 5.2.5 read the missing member anyway: a
`dynamodb:putItem` task without `Item` failed with "The local cloud failed" (a KeyError 'Item'
and an HTTP 500 inside). AWS refuses such a request with HTTP 400 `ValidationException`, in the
words DynamoDB's snapshot in LocalStack's AWS-validated tests records (test_task_service_dynamodb
test_invalid_param, a putItem task whose Item is null):

    1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null

and the task fails with `DynamoDB.AmazonDynamoDBException` and that message, followed by
"(Service: AmazonDynamoDBv2; Status Code: 400; Error Code: ValidationException; Request ID: ...;
Proxy: null)". The errors the service's API names (ResourceNotFoundException,
ConditionalCheckFailedException) keep their own name (`DynamoDB.ResourceNotFoundException`, as the
same snapshots record); moto named every error after its code.

Which members are required is botocore's service model (the published API definitions), for
every service on the JSON protocol (DynamoDB, SSM, Step Functions, CloudWatch Logs, Cognito,
EventBridge, ...): at the top level and inside structures and lists, a member missing or null
is named by its path in AWS's form (`keySchema.1.member.attributeName`); several are counted
("2 validation errors detected: ...; ..."). Not covered: services on other protocols (Lambda and
API Gateway's REST JSON, the query and XML protocols), members inside maps, and requests without
a SigV4 signature (their service is not known).
"""
from __future__ import annotations

import functools
import json
import uuid

from gluelab.cloud.iam_enforcement import CREDENTIAL, _botocore_service

REFUSAL = "com.amazon.coral.validate#ValidationException"


@functools.cache
def _json_model(signing_name: str):
    """The botocore service model of a JSON-protocol service, or None."""
    service = _botocore_service(signing_name)
    if service is None:
        return None
    from moto.core.utils import get_service_model
    model = get_service_model(service)
    return model if model.protocol == "json" else None


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def missing(shape, value, path: str = "") -> list[str]:
    """The paths, in AWS's form, of required members missing (or null) in `value`."""
    found = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in shape.members.items():
            where = f"{path}.{_lower_first(name)}" if path else _lower_first(name)
            if value.get(name) is None:
                if name in shape.required_members:
                    found.append(where)
            else:
                found += missing(member, value[name], where)
    elif shape.type_name == "list" and isinstance(value, list):
        for number, item in enumerate(value, 1):
            found += missing(shape.member, item, f"{path}.{number}.member")
    return found


def message(paths: list[str]) -> str:
    count = f"{len(paths)} validation error{'s' if len(paths) != 1 else ''} detected"
    return count + ": " + "; ".join(
        f"Value null at '{path}' failed to satisfy constraint: Member must not be null" for path in paths)


def refusal(environ, body: bytes) -> tuple[str, dict] | None:
    """(content type, error body) refusing this request, or None when nothing required is missing."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    found = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not target or "." not in target or found is None:
        return None
    model = _json_model(found["service"])
    prefix, operation = target.rsplit(".", 1)
    if model is None or prefix != model.metadata.get("targetPrefix") or operation not in model.operation_names:
        return None
    shape = model.operation_model(operation).input_shape
    try:
        params = json.loads(body or b"{}")
    except ValueError:  # moto answers a body that is no JSON as it does
        return None
    paths = missing(shape, params) if shape is not None and isinstance(params, dict) else []
    if not paths:
        return None
    content_type = f"application/x-amz-json-{model.metadata.get('jsonVersion', '1.0')}"
    return content_type, {"__type": REFUSAL, "message": message(paths)}


def wrap(app, context):
    def checking(environ, start_response):
        if "HTTP_X_AMZ_TARGET" not in environ:
            return app(environ, start_response)
        from gluelab.cloud.persistence import buffered_body
        body = buffered_body(environ)
        refused = refusal(environ, body)
        if refused is None:
            return app(environ, start_response)
        content_type, error = refused
        payload = json.dumps(error).encode()
        start_response("400 Bad Request", [("Content-Type", content_type),
                                           ("x-amzn-ErrorType", "ValidationException"),
                                           ("x-amzn-RequestId", str(uuid.uuid4())),
                                           ("Content-Length", str(len(payload)))])
        return [payload]
    return checking


def _task_error_name(original):
    # Step Functions names a DynamoDB error after its code when the API models it, and
    # AmazonDynamoDBException otherwise (the SDK's base exception).
    @functools.wraps(original)
    def error_cause(client_error):
        error, cause = original(client_error)
        if client_error.response["Error"]["Code"] not in _modelled_errors("dynamodb"):
            error = "DynamoDB.AmazonDynamoDBException"
        return error, cause
    return staticmethod(error_cause)


@functools.cache
def _modelled_errors(service: str) -> frozenset[str]:
    from moto.core.utils import get_service_model
    return frozenset(shape.name for shape in get_service_model(service).error_shapes)


def _without_nulls(value):
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return [_without_nulls(item) for item in value] if isinstance(value, list) else value


def _null_members_sent_as_missing(original):
    # A task's `"Item": null` reaches DynamoDB as a member without value ("Value null at
    # 'item'"); the interpreter's client cannot send a null (moto: an AttributeError).
    @functools.wraps(original)
    def eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
        return original(self, env, resource_runtime_part, _without_nulls(normalised_parameters),
                        state_credentials)
    return eval_service_task


def install(context) -> None:
    from gluelab.cloud.lazy import when_imported

    def patch(module):
        cls = module.StateTaskServiceDynamoDB
        cls._error_cause_from_client_error = _task_error_name(cls._error_cause_from_client_error)
        cls._eval_service_task = _null_members_sent_as_missing(cls._eval_service_task)
    when_imported("moto.stepfunctions.parser.asl.component.state.exec.state_task.service."
                  "state_task_service_dynamodb", patch)
