"""The API Gateway front door: deployed REST APIs answer over HTTP, as on AWS.

moto stores REST APIs (resources, methods, integrations, stages, authorizers) but never
serves them. This layer does, at LocalStack's URL shape
`/restapis/{id}/{stage}/_user_request_/{path}` and at the shorter `/api/{id}/{stage}/{path}`:
it matches the request against the stored resources, enforces authorizers (api_auth.py), invokes
AWS_PROXY Lambda functions in-process with the event API Gateway builds, answers MOCK
integrations, and maps the result back with API Gateway's status codes and messages.
Why a call failed goes to the local cloud log, since the caller only sees what AWS shows.

Differences from AWS: a stage serves the API's current resources (moto keeps no deployment
snapshot), header names reach handlers in Title-Case (WSGI does not keep the sender's case),
and MOCK response templates are returned as written (no VTL).
"""
from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from fnmatch import fnmatch
from functools import partial
from urllib.parse import parse_qsl

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from gluelab.cloud import iam_enforcement
from gluelab.cloud.api_auth import INTERNAL_ERROR, Answer, as_text, authorize, json_object

ROUTES = (re.compile(r"^/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$"),
          re.compile(r"^/api/(?P<api>[^/]+)/(?P<stage>[^/]+)(?P<path>/.*)?$"))
LAMBDA_URI = re.compile(r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/"
                        r"(?P<arn>arn:[^:]+:lambda:(?P<region>[^:]+):(?P<account>\d+):function:"
                        r"[^/]+)/invocations$")
# What a Lambda proxy result may hold; API Gateway rejects any other key.
RESULT_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
# Hop-by-hop headers API Gateway does not forward to the function.
DROPPED_HEADERS = {"content-length", "connection"}


@dataclass
class Route:
    api: object
    stage: object
    resource: object
    method: object
    path: str
    path_parameters: dict[str, str] = field(default_factory=dict)


def say(message: str) -> None:
    print(f"api gateway: {message}", flush=True)


# --- finding the API, stage and resource -------------------------------------------------

def find_api(api_id: str):
    from moto.apigateway.models import apigateway_backends
    for regions in list(apigateway_backends.values()):
        for backend in list(regions.values()):
            if api_id in backend.apis:
                return backend.apis[api_id]
    return None


def _segment_rank(template: str) -> int:
    if template.endswith("+}"):
        return 2
    return 1 if template.startswith("{") else 0


def match_path(template: str, path: str) -> tuple[tuple[int, ...], dict[str, str]] | None:
    """Match a request path against a resource path like /reports/{id} or /{proxy+}.

    Returns a rank (lower is more specific: literal beats {param} beats {proxy+}, segment by
    segment from the left, as API Gateway chooses) and the path parameters, or None.
    """
    wanted = [part for part in template.split("/") if part]
    given = [part for part in path.split("/") if part]
    rank, params = [], {}
    for index, part in enumerate(wanted):
        kind = _segment_rank(part)
        if kind == 2:
            if index != len(wanted) - 1 or len(given) <= index:
                return None
            params[part[1:-2]] = "/".join(given[index:])
            return tuple(rank + [kind]), params
        if index >= len(given):
            return None
        if kind == 1:
            params[part[1:-1]] = given[index]
        elif part != given[index]:
            return None
        rank.append(kind)
    if len(given) != len(wanted):
        return None
    return tuple(rank), params


def find_route(api, stage, http_method: str, path: str) -> Route:
    best = None
    for resource in list(api.resources.values()):
        methods = resource.resource_methods
        method = methods.get(http_method) or methods.get("ANY")
        if method is None:
            continue
        matched = match_path(resource.get_path(), path)
        if matched and (best is None or matched[0] < best[0]):
            best = (matched[0], matched[1], resource, method)
    if best is None:
        raise Answer(403, {"message": "Missing Authentication Token"},
                     f"no resource of API {api.id} matches {http_method} {path}; its resources "
                     f"are {sorted(r.get_path() for r in api.resources.values())}")
    return Route(api, stage, best[2], best[3], path, best[1])


# --- the Lambda proxy event and result ----------------------------------------------------

def _multi(pairs) -> dict[str, list[str]] | None:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped or None


def _single(multi: dict[str, list[str]] | None) -> dict[str, str] | None:
    return {key: values[-1] for key, values in multi.items()} if multi else None


def _is_binary(api, content_type: str) -> bool:
    media_type = content_type.split(";")[0].strip()
    return any(fnmatch(media_type, pattern.replace("~1", "/"))
               for pattern in api.binaryMediaTypes or [])


def _body(raw: bytes, binary: bool) -> tuple[str | None, bool]:
    """Binary media types travel base64-encoded; everything else (forms too) as text."""
    if not raw:
        return None, False
    if not binary:
        try:
            return raw.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(raw).decode(), True


def proxy_event(route: Route, request: Request, caller: dict | None) -> dict:
    """The event API Gateway REST APIs send to an AWS_PROXY Lambda function."""
    header_pairs = [(k, v) for k, v in request.headers.items()
                    if k.lower() not in DROPPED_HEADERS]
    multi_headers = _multi(header_pairs)
    multi_query = _multi(parse_qsl(request.query_string.decode("latin-1"),
                                   keep_blank_values=True))
    raw = request.get_data()
    body, binary = _body(raw, _is_binary(route.api, request.content_type or ""))
    now = time.time()
    stage_name = route.stage.name
    context = {
        "resourceId": route.resource.id,
        "resourcePath": route.resource.get_path(),
        "httpMethod": request.method,
        "extendedRequestId": uuid.uuid4().hex[:16],
        "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "path": f"/{stage_name}{route.path}",
        "accountId": route.api.account_id,
        "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        "stage": stage_name,
        "domainPrefix": route.api.id,
        "requestTimeEpoch": int(now * 1000),
        "requestId": str(uuid.uuid4()),
        "identity": {
            "cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None,
            "caller": None, "sourceIp": request.remote_addr or "127.0.0.1",
            "principalOrgId": None, "accessKey": None, "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None, "userArn": None,
            "userAgent": request.headers.get("User-Agent"), "user": None,
        },
        "domainName": request.host,
        "apiId": route.api.id,
    }
    for key, value in (caller or {}).items():  # what the method's authorization found out
        if key == "identity":
            context["identity"].update(value)
        else:
            context[key] = value
    return {
        "resource": route.resource.get_path(),
        "path": route.path,
        "httpMethod": request.method,
        "headers": _single(multi_headers),
        "multiValueHeaders": multi_headers,
        "queryStringParameters": _single(multi_query),
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": route.path_parameters or None,
        "stageVariables": dict(route.stage.variables) or None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": binary,
    }


def http_response(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """Map a Lambda proxy result to (status, headers, body); Answer 502 if it is malformed."""
    def malformed(why: str):
        return Answer(502, INTERNAL_ERROR, f"malformed Lambda proxy response: {why}. Return "
                      '{"statusCode": 200, "headers": {...}, "body": "a string"}')
    result = json_object(payload, malformed)
    extra = sorted(set(result) - RESULT_KEYS)
    if extra:
        raise malformed(f"unexpected key(s) {extra}; only {sorted(RESULT_KEYS)} are allowed")
    try:
        status = int(result.get("statusCode") or 200)
    except (TypeError, ValueError):
        raise malformed(f"statusCode is {result['statusCode']!r}, not a number")
    headers = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(headers, dict) or any(isinstance(v, (dict, list)) for v in headers.values()):
        raise malformed("headers must map names to strings")
    if not isinstance(multi, dict) or any(not isinstance(v, list) for v in multi.values()):
        raise malformed("multiValueHeaders must map names to lists of strings")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise malformed(f"body is a {type(body).__name__}; it must be a string "
                        "(use json.dumps for JSON)")
    body_bytes = (body or "").encode()
    if result.get("isBase64Encoded") and body:
        try:
            body_bytes = base64.b64decode(body, validate=True)
        except ValueError:
            raise malformed("isBase64Encoded is true but body is not valid base64")
    pairs = [(name, as_text(value)) for name, value in headers.items()
             if name not in multi]
    pairs += [(name, as_text(value)) for name, values in multi.items() for value in values]
    if not any(name.lower() == "content-type" for name, _ in pairs):
        pairs.append(("Content-Type", "application/json"))
    return status, pairs, body_bytes


def _render_stage_variables(text: str, variables: dict) -> str:
    return re.sub(r"\$\{stageVariables\.([A-Za-z0-9_]+)\}",
                  lambda m: variables.get(m.group(1), m.group(0)), text)


def _function_target(uri: str, stage_variables: dict) -> re.Match:
    target = LAMBDA_URI.match(_render_stage_variables(uri, stage_variables))
    if not target:
        raise Answer(500, INTERNAL_ERROR, f"{uri!r} is not a Lambda invocation uri "
                     "(arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/"
                     "invocations)")
    return target


def call_function(uri: str, event: dict, stage_variables: dict,
                  source_arn: str | None = None) -> tuple[bytes, bool]:
    """Invoke the function an API Gateway Lambda uri names: its payload, and whether it failed.
    With `source_arn`, only if the function's resource policy lets API Gateway call it from there."""
    from moto.awslambda.models import lambda_backends
    target = _function_target(uri, stage_variables)
    backend = lambda_backends[target["account"]][target["region"]]
    response_headers: dict = {}
    try:
        if source_arn:  # as on AWS: no permission, no call, and a bare 500 for the client
            refusal = iam_enforcement.may_invoke(backend.get_function(target["arn"]),
                                                 "apigateway.amazonaws.com", source_arn)
            if refusal:
                raise Answer(500, INTERNAL_ERROR, f"API Gateway may not invoke the function: "
                             f"{refusal}")
        payload = backend.invoke(target["arn"], None, json.dumps(event), {}, response_headers)
    except Answer:
        raise
    except Exception as exc:  # moto raises its own error types for unknown functions
        raise Answer(502, INTERNAL_ERROR, f"invoking {target['arn']} failed: "
                     f"{type(exc).__name__}: {exc}")
    payload = payload.encode() if isinstance(payload, str) else payload
    return payload, bool(response_headers.get("x-amz-function-error"))


def invoke_lambda(route: Route, event: dict) -> bytes:
    uri = route.method.method_integration.uri or ""
    # The source is the method's resource path as defined (/hello, /reports/{id}), which is
    # what the permissions SAM writes match, not the path the client sent (/hello/, /reports/7).
    api = route.api
    source = (f"arn:aws:execute-api:{api.region_name}:{api.account_id}:{api.id}/"
              f"{route.stage.name}/{event['httpMethod']}{route.resource.get_path()}")
    payload, failed = call_function(uri, event, route.stage.variables, source)
    if failed:
        raise Answer(502, INTERNAL_ERROR, f"function {_function_target(uri, route.stage.variables)['arn']} "
                     f"failed: {_error_summary(payload)}")
    return payload


def _error_summary(payload: bytes) -> str:
    try:
        error = json.loads(payload)
        return f"{error.get('errorType', 'Error')}: {error.get('errorMessage', error)}"
    except (ValueError, AttributeError):
        return payload.decode("utf-8", "replace")[:500]


# --- MOCK integrations --------------------------------------------------------------------

def mock_response(integration) -> tuple[int, list[tuple[str, str]], bytes]:
    template = (integration.request_templates or {}).get("application/json") or "{}"
    try:
        status = str(json.loads(template).get("statusCode", 200))
    except (ValueError, AttributeError):
        status = "200"
    responses = list((integration.integration_responses or {}).values())
    chosen = next((r for r in responses if r.selection_pattern
                   and re.fullmatch(r.selection_pattern, status)), None)
    chosen = chosen or next((r for r in responses if not r.selection_pattern), None)
    if chosen is None:
        raise Answer(500, INTERNAL_ERROR, f"the MOCK integration has no integration response "
                     f"for status {status}")
    headers = [(name.rsplit(".", 1)[-1], value.strip("'"))
               for name, value in (chosen.response_parameters or {}).items()
               if name.startswith("method.response.header.")]
    body = (chosen.response_templates or {}).get("application/json") or ""
    return int(chosen.status_code), headers + [("Content-Type", "application/json")], \
        body.encode()


# --- the WSGI layer -----------------------------------------------------------------------

def answer(request: Request, api_id: str, stage_name: str, path: str):
    api = find_api(api_id)
    stage = api.stages.get(stage_name) if api else None
    if stage is None:
        why = (f"no REST API with id {api_id}" if api is None else
               f"API {api_id} has no stage {stage_name!r} (its stages: {sorted(api.stages)}); "
               "create a deployment with that stage name")
        raise Answer(404, {"message": f"The API id '{api_id}' does not correspond to a "
                                      "deployed API Gateway API"}, why)
    route = find_route(api, stage, request.method, path)
    # A Lambda authorizer is invoked only where its permission names the API's authorizers.
    authorizer_arn = (f"arn:aws:execute-api:{api.region_name}:{api.account_id}:{api.id}/"
                      f"authorizers/{route.method.authorizer_id}")
    caller = authorize(route, request, partial(call_function, stage_variables=stage.variables,
                                               source_arn=authorizer_arn),
                       partial(proxy_event, route, request, None))
    integration = route.method.method_integration
    kind = integration.integration_type.upper() if integration else "NONE"
    if kind == "AWS_PROXY":
        return http_response(invoke_lambda(route, proxy_event(route, request, caller)))
    if kind == "MOCK":
        return mock_response(integration)
    raise Answer(500, INTERNAL_ERROR, f"{request.method} {route.resource.get_path()} has "
                 f"integration type {kind}; the local cloud serves AWS_PROXY (Lambda) and MOCK")


def parse(path: str) -> tuple[str, str, str] | None:
    for pattern in ROUTES:
        found = pattern.match(path)
        if found:
            return found["api"], found["stage"], found["path"] or "/"
    return None


def wrap(app, context):
    def front_door(environ, start_response):
        target = parse(environ.get("PATH_INFO", ""))
        if target is None:
            return app(environ, start_response)
        request = Request(environ)
        try:
            status, headers, body = answer(request, *target)
        except Answer as refused:
            say(f"{request.method} {request.path} -> {refused.status}: {refused.why}")
            status, body = refused.status, json.dumps(refused.payload).encode()
            headers = [("Content-Type", "application/json"), *refused.headers.items()]
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                       headers + [("Content-Length", str(len(body)))])
        return [body]
    return front_door
