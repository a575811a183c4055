"""REST APIs as SAM and CloudFormation create them, stored in moto's API Gateway backend.

SAM turns `Api` events into an `AWS::ApiGateway::RestApi` whose `Body` is a Swagger 2.0
document, plus a Deployment and a Stage. moto 5.2.5 rejects Swagger 2.0, fails on a RestApi
without `Name`, mishandles a method on `/`, ignores authorizers, loses their validation
expressions, has no Stage resource and cannot delete what CloudFormation created. This module
fills those gaps so that resources, methods, AWS_PROXY integrations and authorizers (Cognito
and Lambda) end up where the HTTP front door and `get_resources` look for them.
"""
from __future__ import annotations

import json

import yaml
from moto.core.common_models import CloudFormationModel

from gluelab.cloud.lazy import when_imported

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method"}


def _backend(account_id: str, region_name: str):
    from moto.apigateway.models import apigateway_backends
    return apigateway_backends[account_id][region_name]


def _security_schemes(doc: dict) -> dict:
    return doc.get("securityDefinitions") or doc.get("components", {}).get("securitySchemes") or {}


def _create_authorizers(backend, api_id: str, doc: dict) -> dict[str, str]:
    """Authorizers declared in the document, by their name, as authorizer ids."""
    api = backend.get_rest_api(api_id)
    existing = {a.name: a.id for a in api.authorizers.values()}
    ids = {}
    for name, scheme in _security_schemes(doc).items():
        spec = scheme.get("x-amazon-apigateway-authorizer")
        if not spec:
            continue
        if name in existing:
            del api.authorizers[existing[name]]
        header = scheme.get("name", "Authorization")
        authorizer = backend.create_authorizer(
            api_id, name, spec.get("type", "token").upper(),
            provider_arns=spec.get("providerARNs"),
            auth_type=scheme.get("x-amazon-apigateway-authtype"),
            authorizer_uri=spec.get("authorizerUri"),
            authorizer_credentials=spec.get("authorizerCredentials"),
            identity_source=spec.get("identitySource", f"method.request.header.{header}"),
            identiy_validation_expression=spec.get("identityValidationExpression"),
            authorizer_result_ttl=spec.get("authorizerResultTtlInSeconds", 300))
        ids[name] = authorizer.id
    return ids


def _resource_for(backend, api_id: str, path: str):
    """The resource for `path`, creating it and its ancestors when missing."""
    api = backend.get_rest_api(api_id)
    resource = api.get_resource_for_path("/")
    so_far = ""
    for part in [p for p in path.split("/") if p]:
        so_far += "/" + part
        child = api.get_resource_for_path(so_far)
        resource = child or backend.create_resource(api_id, resource.id, part)
    return resource


def _authorization(method_doc: dict, doc: dict, authorizers: dict[str, str]) -> tuple[str, str | None]:
    schemes = _security_schemes(doc)
    for requirement in method_doc.get("security", doc.get("security", [])):
        for name in requirement:
            if name in authorizers:
                kind = schemes[name]["x-amazon-apigateway-authorizer"].get("type", "token")
                kind = "COGNITO_USER_POOLS" if kind.lower() == "cognito_user_pools" else "CUSTOM"
                return kind, authorizers[name]
            if schemes.get(name, {}).get("x-amazon-apigateway-authtype") == "awsSigv4":
                return "AWS_IAM", None
    return "NONE", None


def import_document(backend, api_id: str, doc: dict, overwrite: bool) -> None:
    """Store the paths, methods, integrations and authorizers of an OpenAPI 3 or Swagger 2.0 body."""
    api = backend.get_rest_api(api_id)
    if overwrite:
        api.resources = {}
        api.default = api.add_child("/")
    authorizers = _create_authorizers(backend, api_id, doc)
    for path, path_doc in sorted(doc.get("paths", {}).items()):
        resource = _resource_for(backend, api_id, path)
        for method_name, method_doc in path_doc.items():
            if method_name.lower() not in HTTP_METHODS:
                continue
            verb = "ANY" if method_name.lower() == "x-amazon-apigateway-any-method" else method_name.upper()
            kind, authorizer_id = _authorization(method_doc, doc, authorizers)
            backend.put_method(api_id, resource.id, verb, kind, authorizer_id=authorizer_id,
                               api_key_required=bool(method_doc.get("x-amazon-apigateway-api-key-source")))
            for code in method_doc.get("responses", {}):
                backend.put_method_response(api_id, resource.id, verb, code, None, None)
            integration = method_doc.get("x-amazon-apigateway-integration")
            if integration:
                args = backend._build_integration_args(integration)
                if args["integration_type"]:
                    args["integration_type"] = args["integration_type"].upper()
                backend.put_integration(api_id, resource.id, verb,
                                        **{k: v for k, v in args.items() if v is not None})
                for response in backend._build_integration_responses_args(integration):
                    backend.put_integration_response(
                        function_id=api_id, resource_id=resource.id, method_type=verb,
                        **{k: v for k, v in response.items() if v is not None})


def _body_from_s3(location: dict, account_id: str) -> dict:
    from moto.s3.models import s3_backends
    key = s3_backends[account_id]["aws"].get_object(location["Bucket"], location["Key"])
    return yaml.safe_load(key.value.decode())


def _install_backend_fixes(models) -> None:
    from moto.apigateway.exceptions import InvalidOpenApiModeException, InvalidOpenAPIDocumentException

    def put_rest_api(self, function_id, api_doc, fail_on_warnings, mode="merge"):
        if mode not in ("merge", "overwrite"):
            raise InvalidOpenApiModeException()
        if fail_on_warnings:
            try:
                models.validate(api_doc)
            except models.OpenAPIValidationError as exc:
                raise InvalidOpenAPIDocumentException(exc)
        import_document(self, function_id, api_doc, overwrite=mode == "overwrite")
        return self.get_rest_api(function_id)

    def import_rest_api(self, api_doc, fail_on_warnings):
        info = api_doc.get("info", {})
        api = self.create_rest_api(name=info.get("title", "imported"),
                                   description=info.get("description", ""))
        self.put_rest_api(api.id, api_doc, fail_on_warnings=fail_on_warnings)
        return api

    models.APIGatewayBackend.put_rest_api = put_rest_api
    models.APIGatewayBackend.import_rest_api = import_rest_api


def _install_validation_expressions(Authorizer) -> None:
    """moto passes an authorizer's identityValidationExpression on as `identiy_...` and
    Authorizer reads `identity_...`, so the expression was always lost."""
    original = Authorizer.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.identity_validation_expression = (kwargs.get("identity_validation_expression")
                                               or kwargs.get("identiy_validation_expression"))

    Authorizer.__init__ = init


def _install_rest_api_resource(RestAPI) -> None:
    def body_of(properties: dict, account_id: str) -> dict | None:
        if "Body" in properties:
            body = properties["Body"]
            return json.loads(body) if isinstance(body, str) else body
        if "BodyS3Location" in properties:
            return _body_from_s3(properties["BodyS3Location"], account_id)
        return None

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        body = body_of(properties, account_id)
        name = properties.get("Name") or (body or {}).get("info", {}).get("title")
        if not name:
            raise ValueError("AWS::ApiGateway::RestApi needs a Name or a Body with info.title")
        backend = _backend(account_id, region_name)
        api = backend.create_rest_api(
            name=name, description=properties.get("Description", ""),
            endpoint_configuration=properties.get("EndpointConfiguration"))
        if body:
            backend.put_rest_api(api.id, body, fail_on_warnings=False, mode="overwrite")
        return api

    @classmethod
    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        body = body_of(properties, account_id)
        original_resource.name = properties.get("Name") or (body or {}).get("info", {}).get(
            "title", original_resource.name)
        original_resource.description = properties.get("Description", "")
        if body:
            _backend(account_id, region_name).put_rest_api(
                original_resource.id, body, fail_on_warnings=False, mode="overwrite")
        return original_resource

    def delete(self, account_id, region_name):
        _backend(account_id, region_name).delete_rest_api(self.id)

    RestAPI.create_from_cloudformation_json = create
    RestAPI.update_from_cloudformation_json = update
    RestAPI.delete = delete


def _install_deployment_resource(Deployment) -> None:
    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        deployment = _backend(account_id, region_name).create_deployment(
            function_id=properties["RestApiId"], name=properties.get("StageName"),
            description=properties.get("Description", ""))
        deployment.rest_api_id = properties["RestApiId"]
        return deployment

    def delete(self, account_id, region_name):
        api = _backend(account_id, region_name).apis.get(self.rest_api_id)
        if api is None:
            return
        # The stage a Deployment's StageName created goes with it, as on AWS.
        stage = api.stages.get(self.stage_name)
        if stage is not None and stage.deployment_id == self.id:
            del api.stages[self.stage_name]
        api.deployments.pop(self.id, None)

    Deployment.create_from_cloudformation_json = create
    Deployment.delete = delete
    Deployment.physical_resource_id = property(lambda self: self.id)


class RestApiStage(CloudFormationModel):
    """AWS::ApiGateway::Stage: a named pointer from an API to one of its deployments."""

    def __init__(self, stage, rest_api_id: str):
        self.stage = stage
        self.rest_api_id = rest_api_id

    @staticmethod
    def cloudformation_name_type() -> str:
        return "StageName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApiGateway::Stage"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    @property
    def physical_resource_id(self) -> str:
        return self.stage.name

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = _backend(account_id, region_name)
        api_id = properties["RestApiId"]
        stage = backend.create_stage(
            api_id, properties.get("StageName", resource_name), properties["DeploymentId"],
            variables=properties.get("Variables"),
            description=properties.get("Description", ""),
            tags={t["Key"]: t["Value"] for t in properties.get("Tags", [])},
            tracing_enabled=properties.get("TracingEnabled"))
        return cls(stage, api_id)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                        cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        if (properties["RestApiId"] != original_resource.rest_api_id
                or properties.get("StageName", original_resource.stage.name)
                != original_resource.stage.name):
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(
                new_resource_name, cloudformation_json, account_id, region_name)
        stage = original_resource.stage
        stage.deployment_id = properties["DeploymentId"]
        stage.variables = properties.get("Variables") or {}
        stage.description = properties.get("Description", "")
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name):
        raise NotImplementedError("stages are deleted through their instance")

    def delete(self, account_id, region_name):
        api = _backend(account_id, region_name).apis.get(self.rest_api_id)
        if api is not None:
            api.stages.pop(self.stage.name, None)


def _patch(models) -> None:
    _install_backend_fixes(models)
    _install_validation_expressions(models.Authorizer)
    _install_rest_api_resource(models.RestAPI)
    _install_deployment_resource(models.Deployment)


def install(context) -> None:
    # moto's API Gateway takes seconds to import: patch it when something first loads it.
    when_imported("moto.apigateway.models", _patch)
