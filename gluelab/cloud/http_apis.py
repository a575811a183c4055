"""HTTP APIs (API Gateway v2, SAM's `HttpApi`): created by CloudFormation, served over HTTP.

moto 5.2.5 keeps HTTP APIs (routes, integrations, stages) but has no CloudFormation model for
them and never serves them. Here:
- `AWS::ApiGatewayV2::Api` is made from its OpenAPI `Body` (what SAM writes), with moto's own
  import; `AWS::ApiGatewayV2::Stage` is a stage of it. Authorizers are not enforced by the local
  cloud, so an API that declares one fails to create, naming it, instead of answering everyone.
- A request to `/restapis/{id}/{stage}/_user_request_/{path}` (the REST front door's shape; the
  `$default` stage is `$default`) is matched against the routes (`GET /items/{id}`,
  `ANY /{proxy+}`, `$default`), the Lambda integration gets the payload format 2.0 event, and
  the answer is mapped as API Gateway maps it (a result without statusCode is a JSON 200).
- Stack outputs `https://{id}.execute-api.{region}.amazonaws.com/...` of an HTTP API point at
  the local front door.
Other ApiGatewayV2 types (Route, Integration, Authorizer, ...) stay unsupported, by name.
"""
from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from moto.core.common_models import CloudFormationModel
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request


INTERNAL_ERROR = {"message": "Internal Server Error"}
NOT_FOUND = {"message": "Not Found"}


def _backend(account_id: str, region_name: str):
    from moto.apigatewayv2.models import apigatewayv2_backends
    return apigatewayv2_backends[account_id][region_name]


def find_http_api(api_id: str):
    from moto.apigatewayv2.models import apigatewayv2_backends
    for regions in list(apigatewayv2_backends.values()):
        for backend in list(regions.values()):
            if api_id in backend.apis:
                return backend.apis[api_id]
    return None


def _refuse_authorizers(body: dict, logical_name: str) -> None:
    schemes = sorted((body.get("components") or {}).get("securitySchemes") or {})
    if schemes:
        raise ValueError(f"HTTP API {logical_name} declares authorizers {schemes}; the local cloud "
                         f"does not enforce HTTP API authorizers, so it refuses to serve the API "
                         f"open. Use a REST API (AWS::Serverless::Api) for authorizers locally.")


ANY_METHOD = "X-AMAZON-APIGATEWAY-ANY-METHOD"


def import_body(api, body: dict, fail_on_warnings: bool) -> None:
    """moto's OpenAPI import, with the route keys API Gateway gives: moto writes the
    `x-amazon-apigateway-any-method` of a path as a method ("X-AMAZON-...-ANY-METHOD /items"),
    where API Gateway says `ANY /items`, and `$default` for SAM's default route."""
    api.import_api(json.dumps(body), fail_on_warnings=fail_on_warnings)
    for route in api.routes.values():
        method, _, path = route.route_key.partition(" ")
        if path == "$default":
            route.route_key = "$default"
        elif method == ANY_METHOD:
            route.route_key = f"ANY {path}"


class HttpApi(CloudFormationModel):
    """AWS::ApiGatewayV2::Api with protocol HTTP, from an OpenAPI Body; Ref gives the API id."""

    def __init__(self, api):
        self.api = api

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Api"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return self.api.api_id

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ApiEndpoint", "ApiId")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.api.api_endpoint if attribute_name == "ApiEndpoint" else self.api.api_id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        if properties.get("ProtocolType", "HTTP") != "HTTP" or "BodyS3Location" in properties:
            raise ValueError(f"The local cloud makes AWS::ApiGatewayV2::Api {resource_name} only as an "
                             f"HTTP API with an inline Body (SAM's DefinitionBody or its generated one).")
        body = properties.get("Body") or {}
        _refuse_authorizers(body, resource_name)
        api = _backend(account_id, region_name).create_api(
            api_key_selection_expression=None, cors_configuration=properties.get("CorsConfiguration"),
            description=properties.get("Description"), disable_schema_validation=None,
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint"),
            name=properties.get("Name") or (body.get("info") or {}).get("title") or resource_name,
            protocol_type="HTTP", route_selection_expression=None, tags=properties.get("Tags"),
            version=properties.get("Version"))
        if body:
            import_body(api, body, bool(properties.get("FailOnWarnings")))
        return cls(api)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                        cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        body = properties.get("Body") or {}
        _refuse_authorizers(body, new_resource_name)
        api = original_resource.api
        stages = dict(api.stages)  # moto's import clears the stages, which are resources of their own
        import_body(api, body, False)  # same id, new routes
        api.stages.update(stages)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name):
        raise NotImplementedError("HTTP APIs are deleted through their instance")

    def delete(self, account_id: str, region_name: str) -> None:
        _backend(account_id, region_name).delete_api(self.api.api_id)


class HttpApiStage(CloudFormationModel):
    """AWS::ApiGatewayV2::Stage: the stage the front door serves the API's routes at."""

    def __init__(self, api_id: str, stage):
        self.api_id, self.stage = api_id, stage

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGatewayV2::Stage"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @property
    def physical_resource_id(self) -> str:
        return self.stage.name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        config = {"stageName": properties.get("StageName", resource_name),
                  "autoDeploy": properties.get("AutoDeploy", False),
                  "stageVariables": properties.get("StageVariables") or {},
                  "description": properties.get("Description"), "tags": properties.get("Tags")}
        backend = _backend(account_id, region_name)
        return cls(properties["ApiId"], backend.create_stage(properties["ApiId"], config))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                        cloudformation_json, account_id, region_name):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name):
        raise NotImplementedError("stages are deleted through their instance")

    def delete(self, account_id: str, region_name: str) -> None:
        api = find_http_api(self.api_id)
        if api is not None:
            api.stages.pop(self.stage.name, None)


# --- serving ------------------------------------------------------------------------------

def find_route(api, method: str, path: str) -> tuple[Any, dict[str, str]]:
    """The route API Gateway picks: the most specific `METHOD /path` (literal beats {param}
    beats {proxy+}), `ANY` when no method matches, else `$default`."""
    from gluelab.cloud.api_front import match_path
    best = None
    for route in list(api.routes.values()):
        if route.route_key == "$default":
            continue
        route_method, _, template = route.route_key.partition(" ")
        if route_method not in (method, "ANY"):
            continue
        matched = match_path(template, path)
        if matched:
            rank = (matched[0], route_method == "ANY")
            if best is None or rank < best[0]:
                best = (rank, route, matched[1])
    if best:
        return best[1], best[2]
    default = next((r for r in api.routes.values() if r.route_key == "$default"), None)
    if default is None:
        from gluelab.cloud.api_auth import Answer
        raise Answer(404, NOT_FOUND, f"no route of HTTP API {api.api_id} matches {method} {path}; "
                     f"its routes are {sorted(r.route_key for r in api.routes.values())}")
    return default, {}


def event_v2(api, stage: str, route, request: Request, path: str, parameters: dict) -> dict:
    """The payload format 2.0 event API Gateway sends a Lambda integration."""
    raw = request.get_data()
    binary = bool(raw) and not (request.mimetype.startswith("text/") or "json" in request.mimetype
                                or "x-www-form-urlencoded" in request.mimetype)
    now = time.time()
    headers = {name.lower(): value for name, value in request.headers.items()}
    query = {name: ",".join(request.args.getlist(name)) for name in request.args}
    return {
        "version": "2.0", "routeKey": route.route_key, "rawPath": path,
        "rawQueryString": request.query_string.decode(),
        "cookies": [f"{k}={v}" for k, v in request.cookies.items()] or None,
        "headers": headers, "queryStringParameters": query or None,
        "pathParameters": parameters or None, "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012", "apiId": api.api_id, "domainName": request.host,
            "domainPrefix": api.api_id, "requestId": str(uuid.uuid4()), "routeKey": route.route_key,
            "stage": stage, "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
            "http": {"method": request.method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": request.remote_addr or "127.0.0.1",
                     "userAgent": request.headers.get("User-Agent", "")}},
        "body": (base64.b64encode(raw).decode() if binary else raw.decode()) if raw else None,
        "isBase64Encoded": binary,
    }


def response_v2(payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """API Gateway's mapping of a 2.0 result: with statusCode it is the response; anything else
    is the JSON body of a 200."""
    result = json.loads(payload) if payload else None
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, [("Content-Type", "application/json")], json.dumps(result).encode()
    body = result.get("body") or ""
    body_bytes = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
    headers = [(name, str(value)) for name, value in (result.get("headers") or {}).items()]
    headers += [("Set-Cookie", cookie) for cookie in result.get("cookies") or []]
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return int(result["statusCode"]), headers, body_bytes


def answer(api, request: Request, stage: str, path: str) -> tuple[int, list, bytes]:
    from gluelab.cloud.api_auth import Answer
    from gluelab.cloud.api_front import _error_summary, call_function
    if stage not in api.stages:
        raise Answer(404, NOT_FOUND, f"HTTP API {api.api_id} has no stage {stage!r} "
                     f"(its stages: {sorted(api.stages)})")
    route, parameters = find_route(api, request.method, path)
    integration_id = (route.target or "").removeprefix("integrations/")
    integration = api.integrations.get(integration_id)
    if integration is None or (integration.integration_type or "").upper() != "AWS_PROXY":
        raise Answer(500, INTERNAL_ERROR, f"route {route.route_key} of HTTP API {api.api_id} has no "
                     f"Lambda (AWS_PROXY) integration; the local cloud serves those only")
    if integration.payload_format_version != "2.0":
        raise Answer(500, INTERNAL_ERROR, f"route {route.route_key}: payload format "
                     f"{integration.payload_format_version} is not served locally; use 2.0")
    # As on AWS, API Gateway may call the function only where its resource policy allows it.
    source_arn = (f"arn:aws:execute-api:{api.backend.region_name}:{api.backend.account_id}:"
                  f"{api.api_id}/{stage}/{request.method}/{path.strip('/')}")
    payload, failed = call_function(integration.integration_uri,
                                    event_v2(api, stage, route, request, path, parameters), {},
                                    source_arn=source_arn)
    if failed:
        raise Answer(500, INTERNAL_ERROR, f"{route.route_key}: the function failed: {_error_summary(payload)}")
    try:
        return response_v2(payload)
    except (ValueError, TypeError):
        raise Answer(500, INTERNAL_ERROR, f"{route.route_key}: the function's result is not a "
                     f"response API Gateway can map: {payload[:300]!r}")


def wrap(app, context):
    from gluelab.cloud.api_auth import Answer
    from gluelab.cloud.api_front import parse, say

    def http_api_door(environ, start_response):
        target = parse(environ.get("PATH_INFO", ""))
        api = find_http_api(target[0]) if target else None
        if api is None:  # REST APIs and everything else: the next layer
            return app(environ, start_response)
        request = Request(environ)
        try:
            status, headers, body = answer(api, request, target[1], target[2])
        except Answer as refused:
            say(f"{request.method} {request.path} -> {refused.status}: {refused.why}")
            status, body = refused.status, json.dumps(refused.payload).encode()
            headers = [("Content-Type", "application/json")]
        start_response(f"{status} {HTTP_STATUS_CODES.get(status, 'Unknown')}",
                       headers + [("Content-Length", str(len(body)))])
        return [body]
    return http_api_door


def _local_http_api_urls(cloudformation, endpoint: str) -> None:
    """Outputs with an HTTP API's execute-api URL point at the front door's `$default` stage."""
    import re
    url = re.compile(r"https://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?P<rest>/[^?#]*)?")
    original = cloudformation._local_urls

    def local_urls(outputs, endpoint_url):
        def local(output: dict) -> dict:
            value = output["OutputValue"]
            match = url.fullmatch(value) if isinstance(value, str) else None
            api = find_http_api(match["api"]) if match else None
            if api is None:
                return output
            # A named stage is the first segment of the path; $default has none.
            rest = match["rest"] or "/"
            first, _, remainder = rest[1:].partition("/")
            stage, rest = (first, "/" + remainder) if first in api.stages else ("$default", rest)
            return {**output, "OutputValue": f"{endpoint}/restapis/{api.api_id}/{stage}/_user_request_{rest}"}
        return original([local(output) for output in outputs] if outputs else outputs, endpoint_url)

    cloudformation._local_urls = local_urls


def install(context) -> None:
    import gluelab.cloud.cloudformation as cloudformation
    _local_http_api_urls(cloudformation, context.endpoint)
