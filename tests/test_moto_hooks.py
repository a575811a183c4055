"""Each gluelab hook into moto's private internals, checked against the pinned moto.

When one of these fails after a moto upgrade, the hook no longer matches moto's code: fix the
hook (or pin moto back) before anything else, or the local cloud silently stops behaving.
"""
from __future__ import annotations

import inspect
import re

import moto
import pytest


def test_moto_is_the_pinned_version():
    assert moto.__version__ == "5.2.5"


def parameters(function) -> list[str]:
    return list(inspect.signature(function).parameters)


# --- gluelab/cloud/statemachines.py -------------------------------------------------------

def test_hook_cloudformation_finds_state_machines_by_type():
    from moto.cloudformation.parsing import get_model_map
    from moto.stepfunctions.models import StateMachine
    assert get_model_map()["AWS::StepFunctions::StateMachine"] is StateMachine
    assert parameters(StateMachine.create_from_cloudformation_json)[:4] == [
        "resource_name", "cloudformation_json", "account_id", "region_name"]
    assert parameters(StateMachine.update_from_cloudformation_json) == [
        "original_resource", "new_resource_name", "cloudformation_json", "account_id",
        "region_name"]
    assert parameters(StateMachine.delete_from_cloudformation_json) == [
        "resource_name", "cloudformation_json", "account_id", "region_name"]


def test_hook_start_execution_looks_in_the_executing_backend():
    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import get_backend
    saved = default_user_config.get("stepfunctions")
    default_user_config["stepfunctions"] = {"execute_state_machine": True}
    try:
        assert isinstance(get_backend("123456789012", "us-east-1"), StepFunctionsParserBackend)
    finally:
        default_user_config["stepfunctions"] = saved


def test_hook_parser_backend_start_execution_signature():
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    assert parameters(StepFunctionsParserBackend.start_execution) == [
        "self", "state_machine_arn", "name", "execution_input", "trace_header"]


def test_hook_choice_comparison_marks_missing_variables():
    from moto.stepfunctions.parser.asl.component.state.choice.comparison import (
        comparison_variable, variable)
    source = inspect.getsource(comparison_variable.ComparisonVariable._eval_body)
    assert "self.variable" in source and "self.comparison_function" in source
    assert "NoSuchVariable(" in inspect.getsource(variable.Variable._eval_body)


def test_hook_execution_history_response():
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse
    assert "get_execution_history(" in inspect.getsource(
        StepFunctionResponse.get_execution_history)
    assert "to_history_output()" in inspect.getsource(
        StepFunctionsParserBackend.get_execution_history)


# --- gluelab/cloud/api_front.py -----------------------------------------------------------

def test_hook_api_gateway_models_hold_what_the_front_door_reads():
    import boto3
    from moto import mock_aws
    from moto.apigateway.models import apigateway_backends
    with mock_aws():
        apigw = boto3.client("apigateway", region_name="us-east-1")
        api_id = apigw.create_rest_api(name="a")["id"]
        # moto ignores binaryMediaTypes on create; a patch with a value stores one.
        apigw.update_rest_api(restApiId=api_id, patchOperations=[
            {"op": "add", "path": "/binaryMediaTypes", "value": "image/png"}])
        root = apigw.get_resources(restApiId=api_id)["items"][0]["id"]
        child = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{id}")["id"]
        auth = apigw.create_authorizer(restApiId=api_id, name="z", type="COGNITO_USER_POOLS",
                                       providerARNs=["arn:p"], identitySource="s")["id"]
        apigw.put_method(restApiId=api_id, resourceId=child, httpMethod="GET",
                         authorizationType="COGNITO_USER_POOLS", authorizerId=auth,
                         authorizationScopes=["x"])
        apigw.put_integration(restApiId=api_id, resourceId=child, httpMethod="GET", type="MOCK",
                              requestTemplates={"application/json": "{}"}, uri="u")
        apigw.put_integration_response(restApiId=api_id, resourceId=child, httpMethod="GET",
                                       statusCode="200", selectionPattern="2.*",
                                       responseParameters={"h": "'v'"},
                                       responseTemplates={"application/json": "b"})
        apigw.create_deployment(restApiId=api_id, stageName="s", variables={"k": "v"})
        api = apigateway_backends["123456789012"]["us-east-1"].apis[api_id]
        resource = api.resources[child]
        method = resource.resource_methods["GET"]
        integration = method.method_integration
        response = integration.integration_responses["200"]
        authorizer = api.authorizers[method.authorizer_id]
        assert (api.account_id, api.binaryMediaTypes) == ("123456789012", ["image/png"])
        assert (api.stages["s"].name, api.stages["s"].variables) == ("s", {"k": "v"})
        assert (resource.id, resource.get_path()) == (child, "/{id}")
        assert (method.authorization_type, method.authorization_scopes) == (
            "COGNITO_USER_POOLS", ["x"])
        assert (authorizer.name, authorizer.provider_arns, authorizer.identity_source) == (
            "z", ["arn:p"], "s")
        assert (integration.integration_type, integration.uri,
                integration.request_templates) == ("MOCK", "u", {"application/json": "{}"})
        assert (response.status_code, response.selection_pattern, response.response_parameters,
                response.response_templates) == ("200", "2.*", {"h": "'v'"},
                                                 {"application/json": "b"})


def test_hook_authorizers_lose_their_validation_expression_to_a_misspelled_keyword():
    from moto.apigateway.models import APIGatewayBackend, Authorizer, RestAPI
    assert "identiy_validation_expression=" in inspect.getsource(RestAPI.create_authorizer)
    assert "identiy_validation_expression=" in inspect.getsource(APIGatewayBackend.create_authorizer)
    assert '"identity_validation_expression"' in inspect.getsource(Authorizer.__init__)


def test_hook_user_pools_use_jwk_only_to_import_moto_s_one_signing_key():
    from moto.cognitoidp import models
    source = inspect.getsource(models)
    assert source.count("jwk.") == 1
    assert 'jwk.RSAKey.import_key(jwks_file)' in inspect.getsource(models.CognitoIdpUserPool.__init__)


def test_hook_iam_backends_load_aws_managed_policies_in_one_method_per_partition():
    from moto.iam.models import IAMBackend, get_account_id_from
    assert "self.aws_managed_policies = self._init_aws_policies()" in inspect.getsource(IAMBackend.__init__)
    assert "PARTITION_NAMES" in inspect.getsource(get_account_id_from)


def test_hook_lambda_backend_invoke_flags_function_errors(monkeypatch):
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    assert parameters(LambdaBackend.invoke) == [
        "self", "function_name", "qualifier", "body", "headers", "response_headers"]
    monkeypatch.setattr(LambdaFunction, "_invoke_lambda",
                        lambda self, event=None: ('{"errorType": "E"}', True, ""))
    function = LambdaFunction.__new__(LambdaFunction)
    response_headers: dict = {}
    assert function.invoke("{}", {}, response_headers) == b'{"errorType": "E"}'
    assert response_headers["x-amz-function-error"] == "Handled"


def test_hook_cognito_tokens_verify_with_motos_public_jwks():
    import boto3
    from joserfc import jwt
    from moto import mock_aws
    from gluelab.cloud.api_auth import _public_keys
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        pool = idp.create_user_pool(PoolName="p")["UserPool"]["Id"]
        app = idp.create_user_pool_client(UserPoolId=pool, ClientName="c")["UserPoolClient"]
        idp.admin_create_user(UserPoolId=pool, Username="u")
        idp.admin_set_user_password(UserPoolId=pool, Username="u", Password="Pw-12345!",
                                    Permanent=True)
        tokens = idp.admin_initiate_auth(
            UserPoolId=pool, ClientId=app["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": "u", "PASSWORD": "Pw-12345!"})["AuthenticationResult"]
    claims = jwt.decode(tokens["IdToken"], _public_keys(), algorithms=["RS256"]).claims
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool}"
    assert claims["token_use"] == "id" and claims["exp"] > claims["iat"]


# --- gluelab/cloud/interpreter_caches.py ---------------------------------------------------

def test_hook_executions_parse_their_definition_through_one_static_method():
    from moto.stepfunctions.parser.asl.parse import asl_parser
    from moto.stepfunctions.parser.backend import execution_worker
    assert isinstance(inspect.getattr_static(asl_parser.AmazonStateLanguageParser, "parse"),
                      staticmethod)
    assert parameters(asl_parser.AmazonStateLanguageParser.parse) == ["definition"]
    assert "return program, tree" in inspect.getsource(asl_parser.AmazonStateLanguageParser.parse)
    assert "AmazonStateLanguageParser.parse(" in inspect.getsource(
        execution_worker.ExecutionWorker._get_evaluation_entrypoint)


def test_hook_evaluation_components_keep_no_state_of_an_evaluation():
    # Shared between executions once parsed: no component assigns to itself while evaluating
    # (the per-evaluation workers of Map and Parallel are built anew by each eval).
    import ast
    import pathlib

    from moto.stepfunctions.parser.asl import component
    allowed = {("EvalComponent", "heap_key"), ("IterationWorker", "sig_stop"),
               ("JobPool", "close_job"), ("Counter", "offset"), ("Counter", "count"),
               ("MapRunRecord", "set_stop"), ("MapRunRecord", "update"),
               ("BranchWorker", "start"), ("BranchWorkerPool", "on_terminated")}
    found = set()
    for path in pathlib.Path(component.__file__).parent.rglob("*.py"):
        for cls in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.ClassDef)):
            for method in (n for n in cls.body if isinstance(n, ast.FunctionDef)
                           and n.name not in ("__init__", "from_state_props")):
                for node in ast.walk(method):
                    targets = (node.targets if isinstance(node, ast.Assign) else
                               [node.target] if isinstance(node, ast.AugAssign) else [])
                    if any(isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                           and t.value.id == "self" for t in targets):
                        found.add((cls.name, method.name))
    assert found == allowed


def test_hook_json_paths_are_parsed_by_a_module_level_parse():
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path
    import jsonpath_ng
    import jsonpath_ng.ext
    assert "input_expr = parse(path)" in inspect.getsource(json_path.extract_json)
    assert "parse(self.result_path_src)" in inspect.getsource(result_path.ResultPath)
    unwrapped = [getattr(module.parse, "__wrapped__", module.parse)
                 for module in (json_path, result_path)]
    assert unwrapped == [jsonpath_ng.ext.parse, jsonpath_ng.parse]


# --- gluelab/cloud/lambda_runtime.py -------------------------------------------------------

def test_hook_lambda_invoke_runs_code_through_invoke_lambda():
    from moto.awslambda.models import LambdaFunction
    from moto.core.config import default_user_config
    assert parameters(LambdaFunction._invoke_lambda) == ["self", "event"]
    assert "res, errored, logs = self._invoke_lambda(event=body)" in inspect.getsource(
        LambdaFunction.invoke)
    assert default_user_config["lambda"]["use_docker"] is True  # else _invoke_lambda is bypassed
    # What the runtime reads off the function it runs:
    source = inspect.getsource(LambdaFunction.__init__) + inspect.getsource(
        LambdaFunction._set_function_code)
    for attribute in ("function_name", "function_arn", "version", "handler", "run_time",
                      "timeout", "memory_size", "role", "environment_vars", "package_type",
                      "region", "code_bytes", "code_digest"):
        assert f"self.{attribute}" in source, attribute


def test_hook_lambda_invoke_reports_function_errors_in_a_header():
    from moto.awslambda.models import LambdaFunction
    assert parameters(LambdaFunction.invoke) == [
        "self", "body", "request_headers", "response_headers"]
    assert 'response_headers["x-amz-function-error"] = "Handled"' in inspect.getsource(
        LambdaFunction.invoke)


def test_hook_lambda_invoke_api_hands_the_request_headers_to_the_function():
    # The runtime reads who calls (interpreter_caches.BACKGROUND_HEADER) from these headers.
    from moto.awslambda.models import LambdaBackend
    from moto.awslambda.responses import LambdaResponse
    assert "function_name, qualifier, self.body, self.headers, response_headers" in (
        inspect.getsource(LambdaResponse))
    assert "fn.invoke(body, headers, response_headers)" in inspect.getsource(LambdaBackend.invoke)


# --- gluelab/cloud/lambda_concurrency.py ---------------------------------------------------

def test_hook_lambda_reserved_concurrency_is_an_attribute_moto_checks_against_its_quota():
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    assert 'self.reserved_concurrency = spec.get("ReservedConcurrentExecutions", None)' in (
        inspect.getsource(LambdaFunction.__init__))
    source = inspect.getsource(LambdaBackend.put_function_concurrency)
    assert 'os.environ.get("MOTO_LAMBDA_CONCURRENCY_QUOTA")' in source
    assert "fn.reserved_concurrency = reserved_concurrency" in source


def test_hook_lambda_task_errors_come_from_one_method_with_the_service_task_s_naming():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (  # noqa: E501
        StateTaskServiceLambda)
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import (
        StateTaskLambda)
    assert parameters(StateTaskLambda._from_error) == ["self", "env", "ex"]
    assert 'error = "Exception"' in inspect.getsource(StateTaskLambda._from_error)
    source = inspect.getsource(StateTaskServiceLambda._error_cause_from_client_error)
    assert 'error = f"Lambda.{error_code}"' in source


def test_hook_lambda_logs_are_written_into_the_logs_backend():
    from moto.logs.models import LogGroup, LogsBackend
    assert parameters(LogsBackend.ensure_log_group) == ["self", "log_group_name"]
    assert parameters(LogsBackend.create_log_stream) == [
        "self", "log_group_name", "log_stream_name"]
    assert parameters(LogsBackend.put_log_events) == [
        "self", "log_group_name", "log_stream_name", "log_events"]
    assert "self.groups" in inspect.getsource(LogsBackend.__init__)
    assert "self.streams: dict[str, LogStream]" in inspect.getsource(LogGroup.__init__)


# --- gluelab/cloud/finished_executions.py ------------------------------------------------

def test_hook_executions_report_their_end_and_are_read_through_these_attributes():
    from moto.stepfunctions import responses
    from moto.stepfunctions.models import StateMachine, StepFunctionBackend
    from moto.stepfunctions.parser.backend import execution, execution_worker
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from gluelab.cloud.finished_executions import FinishedExecution
    assert "self._execution_communication.terminated()" in inspect.getsource(
        execution_worker.ExecutionWorker._execution_logic)
    assert parameters(execution.BaseExecutionWorkerCommunication.terminated) == ["self"]
    assert parameters(StepFunctionsParserBackend._get_executions) == ["self", "execution_status"]
    read = "".join(inspect.getsource(f) for f in (
        responses.StepFunctionResponse.describe_execution, responses.StepFunctionResponse.list_executions,
        StepFunctionBackend.describe_execution, StepFunctionBackend.list_executions,
        StateMachine.stop_execution, StepFunctionsParserBackend.get_execution_history))
    used = set(re.findall(r"\b(?:execution|exctn)\.(\w+)", read))
    finished = FinishedExecution({"executionArn": "arn:e", "stateMachineArn": "arn:m", "name": "e",
                                  "status": "SUCCEEDED", "startDate": None}, [])
    assert {"execution_input", "status", "output"} <= used
    assert [name for name in used if not hasattr(finished, name)] == []
    assert "execution.stop(stop_date=" in inspect.getsource(StateMachine.stop_execution)


def test_hook_ended_executions_are_listed_on_their_machine_and_keep_map_runs_in_their_env():
    # finished_executions._settle swaps an ended execution for its FinishedExecution where
    # start_execution listed it, unless its environment holds map runs (read from there)
    from moto.stepfunctions.parser import models
    from moto.stepfunctions.parser.asl.eval import environment
    start = inspect.getsource(models.StepFunctionsParserBackend.start_execution)
    assert "state_machine.executions.append(execution)" in start
    assert "execution.exec_worker.env.map_run_record_pool_manager" in inspect.getsource(
        models.StepFunctionsParserBackend.list_map_runs)
    assert "self.map_run_record_pool_manager" in inspect.getsource(environment.Environment)


# --- gluelab/cloud/memory.py -------------------------------------------------------------

def test_hook_the_interpreter_keeps_its_threads_in_one_module_list_it_never_empties():
    # memory._forget_ended_threads empties it in place: the modules imported it by name
    import pathlib
    from moto.stepfunctions import parser
    from moto.stepfunctions.parser import utils
    assert isinstance(utils.TMP_THREADS, list)
    sources = [path.read_text() for path in pathlib.Path(parser.__file__).parent.rglob("*.py")]
    users = [text for text in sources if "TMP_THREADS" in text]
    assert len(users) >= 5 and all("from moto.stepfunctions.parser.utils import TMP_THREADS" in text
                                   for text in users if "TMP_THREADS = []" not in text)
    assert not any(re.search(r"TMP_THREADS\.(remove|pop|clear)|del TMP_THREADS", text) for text in sources)


# --- gluelab/cloud/ec2_offerings.py --------------------------------------------------------

def test_hook_instance_type_offerings_are_read_by_location_type_then_region_only():
    # ec2_offerings.RegionOfferings reads a region's file when indexed or asked with get()
    from moto.ec2.models import instance_types, instances, spot_requests
    assert "for _location_type in listdir(root / offerings_path):" in inspect.getsource(instance_types)
    assert 'instance["LocationType"] = _location_type' in inspect.getsource(instance_types)
    readers = {module: inspect.getsource(module) for module in (instance_types, instances, spot_requests)}
    for module, source in readers.items():
        assert re.findall(r"INSTANCE_TYPE_OFFERINGS\[(\w+|\"[\w-]+\")\]", source), module
    assert "matches = matches.get(self.region_name, [])" in readers[instance_types]
    assert "matches = matches.get(self.region_name, [])" in readers[spot_requests]
    assert 'valid_instance_types[kwargs["region_name"]]' in readers[instances]
    assert "valid_instance_types.get(" in readers[instances]


# --- gluelab/cloud/cloudformation.py ------------------------------------------------------

def test_hook_stack_methods_replaced_by_the_cloudformation_patch():
    from moto.cloudformation.models import Stack
    for name in ("_parse_template", "create_resources", "_create_resource_map", "_create_output_map",
                 "_add_stack_event", "mark_creation_complete"):
        assert callable(getattr(Stack, name)), name
    assert parameters(Stack.update) == ["self", "template", "role_arn", "parameters", "tags"]
    assert isinstance(Stack.outputs, property) and isinstance(Stack.stack_resources, property)
    assert "template_dict" in inspect.getsource(Stack.__init__)


def test_hook_change_set_parses_its_template_in_one_method():
    from moto.cloudformation.models import ChangeSet
    assert "self._parse_template()" in inspect.getsource(ChangeSet.__init__)
    assert "self.template_dict" in inspect.getsource(ChangeSet.diff)


def test_hook_backend_change_set_and_delete_signatures():
    from moto.cloudformation.models import CloudFormationBackend
    assert parameters(CloudFormationBackend.create_change_set)[:4] == [
        "self", "stack_name", "change_set_name", "template"]
    assert parameters(CloudFormationBackend.execute_change_set) == ["self", "change_set_name", "stack_name"]
    assert parameters(CloudFormationBackend.delete_stack) == ["self", "name_or_stack_id"]
    source = inspect.getsource(CloudFormationBackend.create_change_set)
    assert "return change_set_id, stack.stack_id" in source
    # A refused CREATE takes back the change set and the stack moto registered under these keys.
    assert "self.stacks[stack_id] = stack" in source and "self.change_sets[change_set_id] = new_change_set" in source


def test_hook_resource_map_internals_used_for_ordered_create_update_delete():
    from moto.cloudformation.parsing import ResourceMap
    source = inspect.getsource(ResourceMap)
    for attribute in ("self._parsed_resources", "self._resource_json_map", "self._template",
                      "self.input_parameters", "self.lazy_condition_map"):
        assert attribute in source, attribute
    for method in ("_delete_resource", "build_resource_diff", "load_mapping", "load_parameters",
                   "load_conditions", "__getitem__"):
        assert callable(getattr(ResourceMap, method)), method
    assert parameters(ResourceMap._delete_resource) == ["self", "parsed_resource", "resource_json"]


def test_hook_parsing_functions_and_model_registry():
    from moto.cloudformation import parsing
    assert parameters(parsing.parse_and_update_resource) == [
        "logical_id", "resource_json", "resources_map", "account_id", "region_name"]
    assert parsing.resource_class_from_type("AWS::Nope::Nope") is None
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        assert callable(cached.cache_clear)


def test_hook_stack_event_constructor():
    from moto.cloudformation.models import Event
    assert parameters(Event.__init__) == [
        "self", "stack_id", "stack_name", "logical_resource_id", "physical_resource_id",
        "resource_type", "resource_status", "resource_status_reason", "resource_properties"]


def test_hook_get_att_attributes_we_add_are_still_missing_from_moto():
    from moto.apigateway.models import RestAPI
    from moto.ssm.models import Parameter
    from moto.stepfunctions.models import StateMachine
    from gluelab.cloud.cloudformation import MISSING_ATTRIBUTES
    assert not StateMachine.has_cfn_attr("Arn") and not RestAPI.has_cfn_attr("RestApiId")
    assert not hasattr(Parameter, "get_cfn_attribute")
    assert {name for _, name in MISSING_ATTRIBUTES} == {"StateMachine", "RestAPI", "Parameter"}


def test_hook_get_template_response_method():
    from moto.cloudformation.responses import CloudFormationResponse
    assert '"TemplateBody"' in inspect.getsource(CloudFormationResponse.get_template)


def test_hook_continue_update_rollback_is_ours_and_found_by_its_method_name():
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import BaseResponse
    from gluelab.cloud import cloudformation
    assert not hasattr(CloudFormationResponse, "continue_update_rollback") or \
        CloudFormationResponse.continue_update_rollback is cloudformation._continue_update_rollback_response
    assert not hasattr(CloudFormationBackend, "continue_update_rollback") or \
        CloudFormationBackend.continue_update_rollback is cloudformation.continue_update_rollback
    source = inspect.getsource(BaseResponse.call_action)
    assert "camelcase_to_underscores(self._get_action())" in source
    assert "getattr(self, action)" in source


def test_hook_iam_role_cloudformation_and_managed_policy_data():
    import json
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    from moto.iam.models import IAMBackend, Role
    data = json.loads(aws_managed_policies_data)
    assert data["AWSLambdaBasicExecutionRole"]["Path"] == "/service-role/"
    assert parameters(Role.create_from_cloudformation_json)[:4] == [
        "resource_name", "cloudformation_json", "account_id", "region_name"]
    assert parameters(IAMBackend.attach_role_policy) == ["self", "policy_arn", "role_name"]
    assert parameters(IAMBackend.detach_role_policy) == ["self", "policy_arn", "role_name"]
    assert "load_iam_aws_managed_policies" in inspect.getsource(IAMBackend._init_aws_policies)


def test_hook_lambda_function_cloudformation_methods():
    from moto.awslambda.models import LambdaFunction
    assert parameters(LambdaFunction.create_from_cloudformation_json)[:4] == [
        "resource_name", "cloudformation_json", "account_id", "region_name"]
    assert parameters(LambdaFunction.update_from_cloudformation_json) == [
        "original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"]


def test_hook_s3_get_object_answers_none_for_a_missing_key():
    from moto.s3.models import s3_backends
    backend = s3_backends["000000000042"]["aws"]
    backend.create_bucket("gluelab-hook-probe", "us-east-1")
    assert backend.get_object("gluelab-hook-probe", "missing.zip") is None


def test_hook_cognito_backend_pool_and_client_creation():
    from moto.cognitoidp.models import CognitoIdpBackend, CognitoIdpUserPool
    assert parameters(CognitoIdpBackend.create_user_pool) == ["self", "name", "extended_config"]
    assert parameters(CognitoIdpBackend.create_user_pool_client) == [
        "self", "user_pool_id", "generate_secret", "extended_config"]
    assert callable(CognitoIdpUserPool.update_extended_config)


# --- gluelab/cloud/rest_apis.py -----------------------------------------------------------

def test_hook_api_gateway_import_path_and_integration_builders():
    from moto.apigateway.models import APIGatewayBackend, Deployment, RestAPI
    assert parameters(APIGatewayBackend.put_rest_api) == [
        "self", "function_id", "api_doc", "fail_on_warnings", "mode"]
    assert parameters(APIGatewayBackend.import_rest_api) == ["self", "api_doc", "fail_on_warnings"]
    args = APIGatewayBackend._build_integration_args(None, {"type": "aws_proxy", "uri": "u", "httpMethod": "POST"})
    assert (args["integration_type"], args["uri"], args["integration_method"]) == ("aws_proxy", "u", "POST")
    assert APIGatewayBackend._build_integration_responses_args(None, {}) == []
    assert parameters(APIGatewayBackend.create_authorizer)[:4] == ["self", "restapi_id", "name", "authorizer_type"]
    assert parameters(APIGatewayBackend.create_stage)[:4] == ["self", "function_id", "stage_name", "deploymentId"]
    assert "self.stages[name] = Stage(" in inspect.getsource(RestAPI.create_deployment)
    assert "self.deployments" in inspect.getsource(RestAPI.delete_deployment)
    assert parameters(Deployment.__init__) == ["self", "deployment_id", "name", "description"]


# --- gluelab/cloud/seeding.py -------------------------------------------------------------

def test_hook_moto_random_draws_only_through_random_and_getrandbits():
    import random

    from moto.moto_api._internal.moto_random import MotoRandom
    assert issubclass(MotoRandom, random.Random)
    own = {name for name in vars(MotoRandom) if not name.startswith("__")}
    assert own == {"uuid1", "uuid4", "get_random_hex", "get_random_string", "token_urlsafe"}
    for name in own:
        source = inspect.getsource(getattr(MotoRandom, name))
        assert "self.getrandbits" in source or "self.choice" in source, name


def test_hook_backends_are_created_lazily_in_account_specific_getitem():
    from moto.core.base_backend import AccountSpecificBackend
    source = inspect.getsource(AccountSpecificBackend.__getitem__)
    assert "self.backend(region_name, account_id=self.account_id)" in source


def test_hook_execution_details_carry_the_start_time_the_context_object_reads():
    from moto.stepfunctions.parser.backend import execution, execution_worker
    assert "start_time=self.start_date" in inspect.getsource(
        execution.Execution.get_start_execution_details)
    assert "StartTime=self._evaluation_details.execution_details.start_time" in inspect.getsource(
        execution_worker.ExecutionWorker._get_evaluation_environment)


def test_hook_dynamodb_table_has_no_cloudformation_update_and_keeps_what_the_update_sets():
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import GlobalSecondaryIndex, Table
    assert hasattr(Table.update_from_cloudformation_json, "__isabstractmethod__")
    init = inspect.getsource(Table.__init__)
    for attribute in ("self.schema", "self.attr", "self.indexes", "self.global_indexes", "self.billing_mode",
                      "self.throughput", "self.tags", "self.sse_specification",
                      "self.deletion_protection_enabled", "self.table_key_attrs"):
        assert attribute in init, attribute
    assert parameters(Table.set_stream_specification) == ["self", "streams"]
    assert parameters(DynamoDBBackend.update_table_global_indexes) == ["self", "table", "global_index_updates"]
    assert parameters(DynamoDBBackend.delete_table) == ["self", "name"]
    assert "self.projection" in inspect.getsource(GlobalSecondaryIndex.__mro__[1].__init__)


# --- gluelab/cloud/table_keys.py ----------------------------------------------------------

def test_hook_create_table_validation_runs_on_any_self_and_reports_attributes_through_it():
    from moto.dynamodb.responses import DynamoHandler
    assert parameters(DynamoHandler._validate_table_creation) == [
        "self", "billing_mode", "throughput", "key_schema", "global_indexes",
        "local_secondary_indexes", "attr", "warm_throughput"]
    source = inspect.getsource(DynamoHandler._validate_table_creation)
    # table_keys hands it a stand-in self: the only use of self must be this call.
    assert re.findall(r"self\.\w+", source) == [
        "self._throw_attr_error"], re.findall(r"self\.\w+", source)
    assert "self._throw_attr_error(actual_attrs, expected_attrs, has_index)" in source
    assert parameters(DynamoHandler._throw_attr_error) == [
        "self", "actual_attrs", "expected_attrs", "indexes"]
    # Its wrapper (the HASH-then-RANGE rule) takes arguments by name only, as moto passes them.
    for caller in (DynamoHandler.create_table, DynamoHandler.import_table):
        assert "self._validate_table_creation(\n            billing_mode=" in inspect.getsource(caller)
    # UpdateTable's check wraps the backend's update_table, which applies the index changes.
    from moto.dynamodb.models import DynamoDBBackend
    assert parameters(DynamoDBBackend.update_table)[:4] == ["self", "name", "attr_definitions", "global_index"]
    assert "self.update_table_global_indexes(table, global_index)" in inspect.getsource(DynamoDBBackend.update_table)


# --- gluelab/cloud/intrinsics.py ----------------------------------------------------------

def test_hook_clean_json_resolves_the_functions_intrinsics_replaces():
    from moto.cloudformation import parsing
    source = inspect.getsource(parsing.clean_json)
    # intrinsics.py answers Fn::Select itself, the same way, but refuses an index out of range.
    assert 'select_index = int(resource_json["Fn::Select"][0])' in source
    assert 'select_list = clean_json(resource_json["Fn::Select"][1], resources_map)' in source
    assert "return select_list[select_index]" in source
    # It answers Fn::FindInMap, Fn::Join and Fn::Split too, from the same arguments moto reads,
    # with the template's Mappings as the resource map holds them.
    assert 'map_name = resource_json["Fn::FindInMap"][0]' in source
    assert 'return resource_json["Fn::Join"][0].join([str(x) for x in join_list])' in source
    assert 'return to_split.split(resource_json["Fn::Split"][0])' in source
    from moto.cloudformation.parsing import ResourceMap
    assert "self._template = template" in inspect.getsource(ResourceMap.__init__)


def test_hook_clean_json_passes_unresolved_get_att_on_and_recurses_through_the_module():
    from moto.cloudformation import parsing
    source = inspect.getsource(parsing.clean_json)
    assert "resource = resources_map.get(resource_name)" in source
    assert "return resource.get_cfn_attribute(resource_json[\"Fn::GetAtt\"][1])" in source
    assert "except NotImplementedError as n:" in source
    assert "if cleaned_val is None:" in source
    assert "cleaned_val = clean_json(value, resources_map)" in source  # a module global, so patchable
    assert "clean_json(resource_json, resources_map)" in inspect.getsource(parsing.parse_resource)


def test_hook_stack_init_parses_the_template_before_storing_parameters():
    from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
    assert parameters(Stack.__init__)[:5] == ["self", "stack_id", "name", "template", "parameters"]
    init = inspect.getsource(Stack.__init__)
    assert init.index("self._parse_template()") < init.index("self.parameters = parameters")
    assert "stack.has_template(template)" in inspect.getsource(CloudFormationBackend.create_change_set)
    change_set_init = inspect.getsource(ChangeSet.__init__)
    assert change_set_init.index("self.parameters = parameters") < change_set_init.index("self._parse_template()")


def test_hook_lambda_cloudformation_update_applies_only_the_configuration_it_is_given():
    from moto.awslambda.models import LambdaFunction
    assert "original_resource.update_configuration(updated_props)" in inspect.getsource(
        LambdaFunction.update_from_cloudformation_json)
    source = inspect.getsource(LambdaFunction.update_configuration)
    assert "for key, value in config_updates.items():" in source
    for key in ("Description", "MemorySize", "Timeout", "Layers"):
        assert f'key == "{key}"' in source, key
    assert 'self.environment_vars = value["Variables"]' in source


def test_hook_lambda_invoke_answers_event_and_dry_run_by_the_status_alone():
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda.responses import LambdaResponse
    assert 'request_headers.get("x-amz-invocation-type"' in inspect.getsource(LambdaFunction.invoke)
    source = inspect.getsource(LambdaResponse.invoke)
    assert "self.backend.invoke(\n            function_name, qualifier, self.body, self.headers, response_headers" in source
    assert "status_code = 202" in source and "status_code = 204" in source
    assert "if payload is not None:" in source


def test_hook_lambda_delete_function_is_where_every_deletion_goes():
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    assert parameters(LambdaBackend.delete_function) == ["self", "function_name", "qualifier"]
    assert parameters(LambdaBackend.get_function)[:3] == ["self", "function_name_or_arn", "qualifier"]
    assert "get_backend(account_id, region).delete_function(self.function_name)" in inspect.getsource(
        LambdaFunction.delete)


def test_hook_parser_backend_validates_definitions_with_its_own_invalid_definition():
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    source = inspect.getsource(StepFunctionsParserBackend._validate_definition)
    assert "raise InvalidDefinition(" in source
    assert "_validate_definition(" in inspect.getsource(StepFunctionsParserBackend.create_state_machine)


# --- gluelab/cloud/template_validation.py -------------------------------------------------

def test_hook_validate_template_refuses_whatever_the_backend_method_returns():
    from moto.cloudformation.models import CloudFormationBackend
    from moto.cloudformation.responses import CloudFormationResponse
    assert parameters(CloudFormationBackend.validate_template) == ["self", "template"]
    source = inspect.getsource(CloudFormationResponse.validate_template)
    assert "cfn_lint = self.cloudformation_backend.validate_template(template_body)" in source
    assert "raise ValidationError(cfn_lint[0].message)" in source


# --- gluelab/cloud/policy_documents.py ----------------------------------------------------

def test_hook_iam_checks_every_policy_document_through_one_module_global_validator():
    from moto.iam import models
    from moto.iam.policy_validation import BaseIAMPolicyValidator, IAMPolicyDocumentValidator
    assert models.IAMPolicyDocumentValidator is IAMPolicyDocumentValidator
    from moto.iam.policy_validation import IAMTrustPolicyDocumentValidator
    assert models.IAMTrustPolicyDocumentValidator is IAMTrustPolicyDocumentValidator
    assert issubclass(IAMTrustPolicyDocumentValidator, BaseIAMPolicyValidator)
    assert "IAMTrustPolicyDocumentValidator(" in inspect.getsource(models.IAMBackend.update_assume_role_policy)
    for method in (models.IAMBackend.put_role_policy, models.IAMBackend.put_user_policy,
                   models.IAMBackend.put_group_policy, models.IAMBackend.create_policy,
                   models.IAMBackend.create_policy_version):
        assert "IAMPolicyDocumentValidator(" in inspect.getsource(method), method.__name__
    assert "policy_document" in parameters(models.IAMBackend.create_policy)
    assert "policy_document" in parameters(models.IAMBackend.create_policy_version)
    # The corrections override these steps and read these attributes.
    source = inspect.getsource(BaseIAMPolicyValidator)
    assert "self._validate_version()" in source and "self._validate_resource_format(resource)" in source
    assert 'self._resource_error = ""' in source and "self._statements: list" in source
    from moto.iam.exceptions import MalformedPolicyDocument
    assert MalformedPolicyDocument("x").message == "x"


def test_hook_iam_resources_come_from_cloudformation_through_these_classmethods():
    from moto.iam.models import InlinePolicy, ManagedPolicy, Role
    for model in (Role, InlinePolicy, ManagedPolicy):
        assert parameters(model.create_from_cloudformation_json)[:4] == [
            "resource_name", "cloudformation_json", "account_id", "region_name"], model
    for model in (Role, InlinePolicy):
        assert parameters(model.update_from_cloudformation_json) == [
            "original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"], model
    assert "update_from_cloudformation_json" not in ManagedPolicy.__dict__  # replaced on change
    # A role's inline policies went straight on, unchecked, which is why the wrapper checks first.
    assert "role.put_policy(policy_name, policy_json)" in inspect.getsource(
        Role.create_from_cloudformation_json)


# --- gluelab/cloud/iam_enforcement.py ------------------------------------------------------

def test_hook_state_machine_tasks_build_every_client_through_boto_client_for():
    # Every service integration of the interpreter gets its client from this one function, with
    # the state's credentials (the state machine's role): hooking it makes tasks run as the role.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_dynamodb)
    from moto.stepfunctions.parser.asl.utils import boto_client
    assert parameters(boto_client.boto_client_for) == ["region", "service", "state_credentials"]
    for module in (lambda_eval_utils, state_task_service_dynamodb):
        assert "boto_client_for(" in inspect.getsource(module)
    assert "role_arn=env.aws_execution_details.role_arn" in inspect.getsource(
        __import__("moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task",
                   fromlist=["StateTask"]).StateTask._eval_state_credentials)


def test_hook_requests_are_routed_and_parsed_as_moto_does():
    # describe() finds an API request's operation and parameters with moto's own router/parsers.
    from moto.backend_index import backend_url_patterns
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import Request, determine_request_protocol  # noqa: F401
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model  # noqa: F401
    assert {"json", "query", "rest-json", "rest-xml"} <= set(PROTOCOL_PARSERS)
    assert parameters(get_service_router("ssm").match) == ["request"]
    assert any(name == "stepfunctions" for name, _ in backend_url_patterns)


def test_hook_roles_and_lambda_policies_hold_what_the_evaluator_reads():
    from moto.awslambda.policy import Policy
    from moto.iam.models import ManagedPolicy, PolicyVersion, Role
    assert "self.policies" in inspect.getsource(Role.__init__)
    assert "self.managed_policies" in inspect.getsource(Role.__init__)
    from moto.iam.models import Policy as BasePolicy
    assert issubclass(ManagedPolicy, BasePolicy)
    assert "self.versions = [" in inspect.getsource(BasePolicy.__init__)
    assert "self.is_default" in inspect.getsource(PolicyVersion.__init__)
    assert "self.document" in inspect.getsource(PolicyVersion.__init__)
    assert '"Policy"' in inspect.getsource(Policy.get_policy)
    assert "self.statements" in inspect.getsource(Policy.__init__)


# --- gluelab/cloud/sam_resources.py, bucket_policies.py, template_urls.py -----------------

def test_hook_model_registry_lists_direct_subclasses_only():
    from moto.cloudformation.parsing import get_model_list
    assert "CloudFormationModel.__subclasses__()" in inspect.getsource(get_model_list)


def test_hook_s3_sns_sqs_backends_used_by_the_policy_and_subscription_resources():
    from moto.s3.models import S3Backend
    from moto.sns.models import SNSBackend, Topic
    from moto.sqs.models import SQSBackend
    assert parameters(S3Backend.put_bucket_policy) == ["self", "bucket_name", "policy"]
    assert parameters(S3Backend.delete_bucket_policy) == ["self", "bucket_name"]
    assert parameters(SNSBackend.subscribe) == ["self", "topic_arn", "endpoint", "protocol"]
    assert parameters(SNSBackend.unsubscribe) == ["self", "subscription_arn"]
    assert parameters(SNSBackend.set_subscription_attributes) == ["self", "arn", "name", "value"]
    assert parameters(SNSBackend.get_topic) == ["self", "arn"]
    assert parameters(SQSBackend.set_queue_attributes) == ["self", "queue_name", "attributes"]
    # TopicPolicy's deletion gives the topic SNS's default policy back through these.
    assert "self._policy_json = self._create_default_topic_policy(" in inspect.getsource(Topic.__init__)
    assert parameters(Topic._create_default_topic_policy) == ["self", "region_name", "account_id", "name"]
    assert isinstance(Topic.policy, property) and Topic.policy.fset is not None


def test_hook_bucket_policy_is_checked_through_get_permission_with_conditions_unevaluated():
    from moto.iam.access_control import IAMPolicyStatement
    from moto.iam.policy_conditions import CONDITION_OPERATIONS
    from moto.s3 import responses
    from moto.s3.models import FakeBucket
    assert parameters(FakeBucket.get_permission) == ["self", "action", "resource"]
    assert "bucket.get_permission(action, resource)" in inspect.getsource(responses)
    # Why the hook exists: moto knows only StringEquals and ignores every other operator.
    assert set(CONDITION_OPERATIONS) == {"StringEquals"}
    assert "_check_conditions" in inspect.getsource(IAMPolicyStatement.is_action_permitted)


def test_hook_template_urls_are_read_through_the_responses_module_global():
    from moto.cloudformation import responses
    from moto.cloudformation.utils import get_stack_from_s3_url
    assert parameters(get_stack_from_s3_url) == ["template_url", "account_id", "partition"]
    assert "return get_stack_from_s3_url(" in inspect.getsource(
        responses.CloudFormationResponse._get_stack_from_s3_url)
    assert '"localhost" in template_url' in inspect.getsource(get_stack_from_s3_url)


def test_hook_event_bus_model_has_no_physical_id_of_its_own():
    from moto.events.models import EventBus
    assert "physical_resource_id" not in inspect.getsource(EventBus)
    assert "self.name = name" in inspect.getsource(EventBus.__init__)


# --- gluelab/cloud/event_targets.py --------------------------------------------------------

def test_hook_rules_send_to_the_targets_moto_knows_and_raise_for_the_others():
    from moto.events import models
    from moto.events.utils import EventTemplateParser
    assert parameters(models.Rule.send_to_targets) == ["self", "original_event", "transform_input"]
    source = inspect.getsource(models.Rule.send_to_targets)
    assert "self.event_pattern.matches_event(original_event)" in source
    assert "for target in self.targets:" in source
    assert 'raise NotImplementedError(f"Expr not defined for {type(self)}")' in source
    assert "rule.send_to_targets(" in inspect.getsource(models.EventsBackend.put_events)
    assert parameters(EventTemplateParser.parse) == ["input_template", "input_paths_map", "event"]


# --- gluelab/cloud/http_apis.py ------------------------------------------------------------

def test_hook_http_api_import_builds_routes_and_integrations_and_clears_stages():
    from moto.apigatewayv2.models import Api, ApiGatewayV2Backend, Integration, Route
    source = inspect.getsource(Api.import_api)
    assert 'route_key = f"{method.upper()} {path}"' in source
    assert 'target=f"integrations/{integration.id}"' in source
    assert "self.clear()" in source and "self.stages.clear()" in inspect.getsource(Api.clear)
    assert parameters(ApiGatewayV2Backend.create_api) == [
        "self", "api_key_selection_expression", "cors_configuration", "description",
        "disable_schema_validation", "disable_execute_api_endpoint", "name", "protocol_type",
        "route_selection_expression", "tags", "version"]
    assert parameters(ApiGatewayV2Backend.create_stage) == ["self", "api_id", "config"]
    assert parameters(ApiGatewayV2Backend.delete_api) == ["self", "api_id"]
    init = inspect.getsource(Api.__init__)
    for attribute in ("self.api_id", "self.api_endpoint", "self.routes", "self.integrations",
                      "self.stages"):
        assert attribute in init
    assert "self.route_key = route_key" in inspect.getsource(Route.__init__)
    integration = inspect.getsource(Integration.__init__)
    for attribute in ("self.integration_type", "self.integration_uri", "self.payload_format_version"):
        assert attribute in integration


# --- gluelab/cloud/resource_schemas.py, asl_validation.py, lambda_limits.py -----------------

def test_hook_parse_resource_and_generate_name_resolves_properties_for_create_and_update():
    from moto.cloudformation import parsing
    assert parameters(parsing.parse_resource_and_generate_name) == [
        "logical_id", "resource_json", "resources_map"]
    for caller in (parsing.parse_and_create_resource, parsing.parse_and_update_resource):
        assert "parse_resource_and_generate_name(" in inspect.getsource(caller)


def test_hook_cfn_lint_data_files_are_where_the_validators_read_them():
    # The validators read cfn-lint's data files directly (importing cfn-lint costs 3 s); they
    # must be the ones cfn-lint's own schema manager serves.
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    from gluelab.cloud import asl_validation, lambda_limits, resource_schemas
    assert resource_schemas._schema("AWS::Lambda::Function") == PROVIDER_SCHEMA_MANAGER.get_resource_schema(
        "us-east-1", "AWS::Lambda::Function").schema
    assert lambda_limits._runtime_lifecycle()["python3.7"]["create-block"]
    assert "States" in asl_validation._validator().schema["properties"]


def test_hook_update_and_create_state_machine_validate_definitions_in_one_method():
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    from moto.stepfunctions.responses import StepFunctionResponse
    assert "self._validate_definition(definition=definition)" in inspect.getsource(
        StepFunctionsParserBackend.update_state_machine)
    assert not hasattr(StepFunctionResponse, "validate_state_machine_definition")  # ours serves it


def test_hook_lambda_create_update_and_invoke_signatures():
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    assert parameters(LambdaBackend.create_function) == ["self", "spec"]
    assert parameters(LambdaBackend.invoke) == [
        "self", "function_name", "qualifier", "body", "headers", "response_headers"]
    assert parameters(LambdaFunction.update_configuration) == ["self", "config_updates"]
    assert parameters(LambdaFunction.update_function_code) == ["self", "updated_spec"]
    assert "update_configuration(" in inspect.getsource(LambdaBackend.update_function_configuration)
    assert "backend.create_function(spec)" in inspect.getsource(LambdaFunction.create_from_cloudformation_json)


def test_hook_ssm_parameter_cloudformation_reads_its_name_from_the_properties():
    from moto.ssm.models import Parameter
    assert '"name": properties.get("Name")' in inspect.getsource(Parameter.create_from_cloudformation_json)
    assert parameters(Parameter.update_from_cloudformation_json) == [
        "original_resource", "new_resource_name", "cloudformation_json", "account_id", "region_name"]


# --- gluelab/cloud/durable_executions.py ---------------------------------------------------

def test_hook_every_top_level_state_transition_goes_through_common_state_field_eval():
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

    def subclasses(cls):
        return {cls} | {s for sub in cls.__subclasses__() for s in subclasses(sub)}
    import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401  (loads every state class)
    assert [c.__name__ for c in subclasses(CommonStateField) if "eval" in vars(c)] == []
    body = inspect.getsource(Program._eval_body)
    assert "next_state: CommonStateField = self._get_state(env.next_state_name)" in body
    assert "next_state.eval(env)" in body
    assert "env.next_state_name = self.start_at.start_at_name" in inspect.getsource(Program.eval)


def test_hook_an_execution_starts_its_worker_in_start_and_the_worker_builds_its_environment():
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    from moto.stepfunctions.parser.backend import execution, execution_worker
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    assert "execution.start()" in inspect.getsource(StepFunctionsParserBackend.start_execution)
    assert "self.exec_worker.start()" in inspect.getsource(execution.Execution.start)
    logic = inspect.getsource(execution_worker.ExecutionWorker._execution_logic)
    assert "program.eval(self.env)" in logic and "self._get_evaluation_environment()" in logic
    assert parameters(execution.Execution.__init__) == [
        "self", "name", "sm_type", "role_arn", "exec_arn", "account_id", "region_name",
        "state_machine", "start_date", "cloud_watch_logging_session", "activity_store",
        "input_data", "trace_header"]
    manager = EventManager()
    assert manager._history_event_list == [] and manager._event_id_gen._next_id == 1
    assert "self.event_history_context = event_history_context" in inspect.getsource(Environment.__init__)


def test_hook_seconds_waits_sleep_in_wait_interval_with_the_environment():
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import (
        seconds, seconds_path, timestamp, wait_function)
    assert parameters(wait_function.WaitFunction._wait_interval) == ["self", "env", "wait_seconds"]
    assert "self._wait_interval(env=env, wait_seconds=w_sec)" in inspect.getsource(
        wait_function.WaitFunction._eval_body)
    names = {cls.__name__ for module in (seconds, seconds_path)
             for cls in vars(module).values() if isinstance(cls, type)
             and issubclass(cls, wait_function.WaitFunction) and cls is not wait_function.WaitFunction}
    from gluelab.cloud.durable_executions import SECONDS_WAITS
    assert names == set(SECONDS_WAITS)
    assert not set(SECONDS_WAITS) & {c.__name__ for c in vars(timestamp).values() if isinstance(c, type)}



def test_hook_a_workflow_s_timeout_is_the_program_s_timeout_seconds_read_when_it_is_evaluated():
    """durable_executions.py gives a resumed program a copy with what is left of it."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.backend import execution_worker
    evaluating = inspect.getsource(Program.eval)
    assert "timeout = self.timeout_seconds.timeout_seconds if self.timeout_seconds else None" \
        in evaluating and "worker_thread.join(timeout=timeout)" in evaluating
    assert TimeoutSeconds(2.5).timeout_seconds == 2.5
    assert "program = self._get_evaluation_entrypoint()" in inspect.getsource(
        execution_worker.ExecutionWorker._execution_logic)

# --- gluelab/cloud/snapshot.py, first_use.py -----------------------------------------------

def test_hook_snapshot_saves_what_moto_holds_for_the_workshop_services():
    """moto's state for the services the app uses survives snapshot's pickler: locks, weak
    dictionaries, defaultdicts of lambdas and subclasses (SSM), Cognito's RSA signing key."""
    import io
    import pickle

    import boto3
    from moto import mock_aws
    from moto.core.base_backend import AccountSpecificBackend, BackendDict

    from gluelab.cloud import snapshot
    with mock_aws():
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="test",
                                aws_secret_access_key="test")
        session.client("ssm").put_parameter(Name="/p", Value="v", Type="String")
        pool = session.client("cognito-idp").create_user_pool(PoolName="pool")["UserPool"]["Id"]
        dynamodb = session.client("dynamodb")
        dynamodb.create_table(TableName="t", BillingMode="PAY_PER_REQUEST",
                              KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
        item = {"id": {"S": "r1"}, "report": {"M": {"text": {"S": "LIFT"}, "n": {"N": "3"}}}}
        dynamodb.put_item(TableName="t", Item=item)
        session.client("lambda")  # the Lambda backend's WeakValueDictionary of ARNs
        from moto.awslambda.models import lambda_backends
        lambda_backends["123456789012"]["us-east-1"]  # noqa: B018  (creates it)
        backends = snapshot._backend_dicts()
        assert all(isinstance(b, BackendDict) and isinstance(next(iter(b.values())),
                                                             AccountSpecificBackend)
                   for b in backends.values())
        buffer = io.BytesIO()
        snapshot._Pickler(buffer).dump(
            {key: dict(value) for key, value in backends.items()})
        saved = pickle.loads(buffer.getvalue())
    ssm = saved[("moto.ssm.models", "ssm_backends")]["123456789012"]["us-east-1"]
    assert ssm.get_parameter("/p").value == "v"
    cognito = saved[("moto.cognitoidp.models", "cognitoidp_backends")]["123456789012"]["us-east-1"]
    assert cognito.user_pools[pool].json_web_key  # the key came back usable
    assert ("moto.awslambda.models", "lambda_backends") in saved
    table = saved[("moto.dynamodb.models", "dynamodb_backends")]["123456789012"]["us-east-1"] \
        .get_table("t")
    from moto.dynamodb.models.dynamo_type import DynamoType
    restored = table.get_item(DynamoType({"S": "r1"}))
    assert restored.to_json()["Attributes"] == item  # its attributes as written, not re-checked


def test_hook_item_attributes_are_a_dict_that_checks_size_at_each_set_and_holds_nothing_else():
    """snapshot.py puts a DynamoDB item's attributes back with dict.update (as moto's own
    Item.__deepcopy__ does): the checks ran when the item was written."""
    from moto.dynamodb.exceptions import ItemSizeTooLarge
    from moto.dynamodb.models.dynamo_type import DynamoType, LimitedSizeDict
    assert issubclass(LimitedSizeDict, dict) and vars(LimitedSizeDict()) == {}
    with pytest.raises(ItemSizeTooLarge):
        LimitedSizeDict()["big"] = DynamoType({"S": "x" * 410_000})


def test_hook_dispatcher_asks_the_module_list_through_the_backends_module_on_each_request():
    # dispatch_cache.py replaces backends.list_of_moto_modules with a fixed list: that only helps
    # (and stays correct) while the dispatcher looks it up on the module at each request.
    from moto import backends
    from moto.moto_server import werkzeug_app
    source = inspect.getsource(werkzeug_app.DomainDispatcherApplication.get_backend_for_host)
    assert "backends.list_of_moto_modules()" in source
    assert parameters(backends.list_of_moto_modules) == []
    assert {"awslambda", "stepfunctions"} <= set(backends.list_of_moto_modules())


def test_hook_service_models_are_read_through_one_function_with_a_new_loader_each_time():
    # dispatch_cache.py makes moto.core.utils._load_service_model one Loader's
    # load_service_model, which moto's readers must call by that name, with these arguments.
    from moto.core import utils
    source = inspect.getsource(utils)  # the module's own text, whether replaced here or not
    assert "def _load_service_model(service_name: str, model_name: str)" in source
    assert "loader = create_loader()" in source
    for reader in (utils.get_service_model, utils.get_pagination_model):
        assert "_load_service_model(service_name, " in inspect.getsource(reader)


# --- gluelab/cloud/ec2_regions.py ---------------------------------------------------------

def test_hook_ec2_lists_its_regions_at_import_through_new_boto3_sessions():
    """ec2_regions.py answers those three calls from moto's shared session: the same regions."""
    import boto3
    from moto.ec2.models import availability_zones_and_regions as module

    from gluelab.cloud.ec2_regions import MODULE, SharedRegions
    assert module.__name__ == MODULE and "from boto3 import Session" in inspect.getsource(module)
    assert inspect.getsource(module.RegionsAndZonesBackend).count(
        "in Session().get_available_regions(") == 3
    for partition in ("aws", "aws-us-gov", "aws-cn"):
        assert SharedRegions().get_available_regions("ec2", partition_name=partition) == \
            boto3.Session().get_available_regions("ec2", partition_name=partition)


# --- gluelab/cloud/sfn_runtime_errors.py ---------------------------------------------------

def test_hook_dollar_fields_evaluate_their_path_in_one_method_that_raises_no_such_json_path():
    from moto.stepfunctions.parser.asl.component.common.payload.payloadvalue.payloadbinding import (
        payload_binding)
    from moto.stepfunctions.parser.asl.utils import json_path
    binding = payload_binding.PayloadBindingStringExpressionSimple
    assert parameters(binding._eval_val) == ["self", "env"] and "field" in parameters(binding.__init__)
    assert "raise NoSuchJsonPathError(json_path=path, data=data)" in inspect.getsource(json_path.extract_json)


def test_hook_every_intrinsic_runs_in_one_component_naming_its_function_by_an_enum():
    # gluelab/cloud/sfn_intrinsic_errors.py wraps this one method and reads the function's
    # enum member's name (moto's own name() cuts a letter off each end).
    from moto.stepfunctions.parser.asl.component.common.string import string_expression
    from moto.stepfunctions.parser.asl.component.intrinsic.functionname.state_function_name_types import (
        StatesFunctionNameType)
    from gluelab.cloud.sfn_intrinsic_errors import CHECKS
    cls = string_expression.StringIntrinsicFunction
    assert "self.function.eval(env=env)" in inspect.getsource(getattr(cls._eval_body, "__wrapped__", cls._eval_body))
    assert set(CHECKS) <= {member._name_ for member in StatesFunctionNameType}


def test_hook_items_path_samples_its_path_in_eval_body():
    from moto.stepfunctions.parser.asl.component.common.path.items_path import ItemsPath
    assert "self.string_sampler.eval(env=env)" in inspect.getsource(ItemsPath._eval_body)


def test_hook_result_path_applies_its_source_in_eval_body():
    from moto.stepfunctions.parser.asl.component.common.path.result_path import ResultPath
    assert "update_or_create" in inspect.getsource(ResultPath._eval_body)
    assert parameters(ResultPath.__init__) == ["self", "result_path_src"]


def test_hook_retriers_and_catchers_match_error_names_popped_from_the_stack():
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import (
        ErrorEqualsDecl)
    source = inspect.getsource(ErrorEqualsDecl._eval_body)
    assert "env.stack.pop()" in source and "env.stack.append(res)" in source
    assert "self.error_names" in source


def test_hook_failure_events_and_their_decorated_cause():
    from moto.stepfunctions.parser.asl.component.common.error_name import failure_event
    assert parameters(failure_event.FailureEvent.__init__)[:2] == ["self", "env"]
    assert "source_event_id" in inspect.getsource(failure_event.FailureEvent.__init__)
    details = inspect.getsource(failure_event.FailureEventException.get_execution_failed_event_details)
    assert "An error occurred while executing the state" in details
    assert "extract_error_cause_pair" in details


def test_hook_states_read_their_input_right_after_their_entered_event():
    from moto.stepfunctions.parser.asl.component.state.state import CommonStateField
    body = inspect.getsource(CommonStateField._eval_body)
    assert body.index("state_entered_event_type") < body.index("self._eval_state_input(env=env)")
    assert body.count("add_event(") == 2  # entered and exited: nothing in between moves the id


def test_hook_execution_states_run_each_attempt_in_evaluate_with_timeout():
    from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
    assert "self._evaluate_with_timeout(env)" in inspect.getsource(ExecutionState._eval_state)
    assert parameters(ExecutionState._evaluate_with_timeout) == ["self", "env"]


def test_hook_parallel_map_and_fail_name_their_errors_through_a_module_global():
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        iteration_worker)
    from moto.stepfunctions.parser.asl.component.state.exec.state_parallel import branches_decl
    from moto.stepfunctions.parser.asl.component.state.fail import state_fail
    for module in (branches_decl, iteration_worker, state_fail):
        assert "CustomErrorName(" in inspect.getsource(module)
        assert hasattr(module, "CustomErrorName")


# --- gluelab/cloud/asl_validation.py and sfn_integrations.py: the interpreter's refusals -----

def test_hook_interpreter_refusals_are_worded_error_args_and_unknown_integrations_refused():
    # asl_validation._reason unwraps "Error=<type> Args=[<reason>]"; sfn_integrations relies on
    # the interpreter refusing an integration it does not know, one Task at a time.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service)
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    source = inspect.getsource(StepFunctionsParserBackend._validate_definition)
    assert 'f"Error={exception_name} Args={exception_args} in definition' in source
    check = inspect.getsource(state_task_service.StateTaskService._validate_service_integration_is_supported)
    assert "not recognized" in check and "raise ValueError" in check


def test_hook_state_and_context_path_causes_quote_the_input_through_the_module_s_to_json_str():
    from moto.stepfunctions.parser.asl.component.common.string import string_expression
    from moto.stepfunctions.parser.asl.component.state import state
    assert "to_json_str(input_value)" in inspect.getsource(string_expression.StringContextPath._eval_body)
    assert "to_json_str(no_such_json_path_error.data)" in inspect.getsource(state.CommonStateField._eval_body)
    for module in (string_expression, state):
        assert parameters(module.to_json_str) == ["obj", "separators"]


def test_hook_backend_dicts_are_read_and_changed_only_through_the_methods_first_use_wraps():
    """A service's saved state is put back by the first of these calls on its BackendDict
    (first_use.py): moto must reach a service's backends through them (a dict subclass whose
    accounts are made in __getitem__)."""
    from moto.core.base_backend import BackendDict

    from gluelab.cloud.first_use import METHODS
    assert issubclass(BackendDict, dict)
    assert all(callable(getattr(BackendDict, name)) for name in METHODS)
    assert "_create_account_specific_backend" in inspect.getsource(
        inspect.unwrap(BackendDict.__getitem__))
    assert "self.items()" in inspect.getsource(inspect.unwrap(BackendDict.iter_backends))


def test_hook_the_dispatcher_makes_a_service_s_app_under_its_lock_reading_its_backend_dict():
    """first_use.py gives the dispatcher its own lock: restoring a service replays calls through
    the dispatcher, and the dispatcher reads a service's BackendDict while it makes its app."""
    from moto.moto_server import werkzeug_app
    assert "self.lock = Lock()" in inspect.getsource(werkzeug_app.DomainDispatcherApplication.__init__)
    getting = inspect.getsource(werkzeug_app.DomainDispatcherApplication.get_application)
    assert "with self.lock:" in getting and "self.create_app(backend)" in getting
    assert "backend_dict[DEFAULT_ACCOUNT_ID]" in inspect.getsource(werkzeug_app.create_backend_app)


# --- gluelab/cloud/lambda_sdk_data.py (botocore, in the Lambda zygote) ---------------------

def test_hook_botocore_sessions_build_their_data_loader_by_the_module_s_create_loader():
    import botocore.loaders
    import botocore.session
    assert botocore.session.create_loader is botocore.loaders.create_loader
    assert "create_loader(self.get_config_variable('data_path'))" in inspect.getsource(
        botocore.session.Session._register_data_loader)
    assert "self._cache" in inspect.getsource(botocore.loaders.instance_cache)
    assert botocore.loaders.Loader()._cache == {}  # what load_data & co. fill and look in


# --- gluelab/cloud/required_members.py -----------------------------------------------------

def test_hook_dynamodb_tasks_name_their_client_errors_in_one_static_method_and_call_in_another():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_dynamodb)
    from moto.stepfunctions.parser.asl.utils import boto_client
    cls = state_task_service_dynamodb.StateTaskServiceDynamoDB
    assert isinstance(cls.__dict__["_error_cause_from_client_error"], staticmethod)
    assert parameters(cls._error_cause_from_client_error) == ["client_error"]
    original = getattr(cls._error_cause_from_client_error, "__wrapped__", cls._error_cause_from_client_error)
    assert 'f"DynamoDB.{error_code}"' in inspect.getsource(original)
    assert parameters(cls._eval_service_task) == [
        "self", "env", "resource_runtime_part", "normalised_parameters", "state_credentials"]
    # Why a task's request can lack a required member: the interpreter's client checks nothing.
    assert "parameter_validation=False" in inspect.getsource(boto_client.boto_client_for)



# --- gluelab/cloud/finished_executions.py: a timed-out execution's closing event --------------

def test_hook_a_timed_out_execution_s_closing_event_is_written_by_its_state_s_thread():
    """finished_executions._close_timed_out_history writes ExecutionTimedOut when moto has not yet:
    moto's Program.eval returns at the timeout, and only _eval_body (the state's thread, once its
    state returns) adds the event."""
    from moto.stepfunctions.parser.asl.component.program.program import Program
    from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
    assert "env.set_timed_out()" in inspect.getsource(Program.eval)
    assert "ExecutionTimedOut" not in inspect.getsource(Program.eval)
    assert "HistoryEventType.ExecutionTimedOut" in inspect.getsource(Program._eval_body)
    assert parameters(EventManager.add_event)[:4] == ["self", "context", "event_type", "event_details"]


# --- gluelab/cloud/cfn_models.py and deferred_imports.py: imports that wait for their use -----

# Run in a fresh interpreter: what a module's import imports is only seen before anything else
# imported it. Prints what the hooks must make true, as JSON.
_DEFERRED_IMPORTS_PROBE = """
import json, sys
from gluelab.cloud import cfn_models, deferred_imports
deferred_imports.install(None)
cfn_models.install(None)
import moto.cloudformation.models, moto.stepfunctions.parser.models, moto.apigateway.models
from moto.cloudformation import parsing
def stand_ins(module):
    return sorted(n for n, v in vars(module).items() if isinstance(v, deferred_imports.Later))
seen = {"imported": sorted(m for m in ("moto.ec2", "moto.autoscaling", "moto.rds", "moto.ssm",
                                       "moto.batch.models", "openapi_spec_validator",
                                       "moto.stepfunctions.parser.asl.parse.asl_parser",
                                       "moto.stepfunctions.parser.backend.execution")
                           if m in sys.modules),
        "stand_ins": stand_ins(parsing),
        "not_ec2": isinstance(object(), parsing.TaggedEC2Resource)}
from moto.apigateway.exceptions import InvalidOpenAPIDocumentException
try:
    moto.apigateway.models.apigateway_backends["123456789012"]["us-east-1"].import_rest_api(
        {"openapi": "3.0.0", "info": {"title": "t", "description": "d"}, "paths": 5}, True)
except InvalidOpenAPIDocumentException:
    seen["openapi_refused"] = True
from moto.stepfunctions.parser.api import InvalidDefinition
try:  # the interpreter's parser, loaded, and its exception caught by name
    moto.stepfunctions.parser.models.StepFunctionsParserBackend._validate_definition("{")
except InvalidDefinition as refusal:
    seen["definition_refused"] = "ASLParserException" in str(refusal)
seen["types"] = sorted(parsing.get_model_map())  # first: it loads Batch's deferred models too
import moto.batch
seen["batch_backends"] = type(moto.batch.batch_backends).__name__
deferred_imports.load("moto.stepfunctions.parser.models")  # as the warm-up does
seen["left"] = stand_ins(parsing) + stand_ins(moto.stepfunctions.parser.models)
from moto.ec2.models.core import TaggedEC2Resource
seen["tagged_is_real"] = parsing.TaggedEC2Resource is TaggedEC2Resource
print(json.dumps(seen))
"""
_PLAIN_TYPES_PROBE = """
import json
from moto.cloudformation import parsing
print(json.dumps(sorted(parsing.get_model_map())))
"""


def test_hook_cloudformation_and_step_functions_import_what_they_use_when_they_use_it():
    import json
    import subprocess
    import sys
    probes = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
              for code in (_DEFERRED_IMPORTS_PROBE, _PLAIN_TYPES_PROBE)]
    deferred, plain = [json.loads(probe.communicate(timeout=120)[0]) for probe in probes]
    # A stack's DescribeStacks, the interpreter and API Gateway load without EC2 and the rest
    assert deferred["imported"] == []
    # the names parsing.py uses from the services it defers (moto/cloudformation/parsing.py)
    assert {"ec2_models", "TaggedEC2Resource", "ssm_backends"} <= set(deferred["stand_ins"])
    assert deferred["not_ec2"] is False
    assert deferred.get("openapi_refused") is True  # the validator and its exception, loaded
    assert deferred.get("definition_refused") is True
    assert deferred["batch_backends"] == "BackendDict"
    # the registry: every type moto's own import lists, every deferred name then the real one
    assert deferred["types"] == plain and "AWS::EC2::VPC" in plain
    assert deferred["left"] == [] and deferred["tagged_is_real"] is True


def test_hook_the_model_registry_is_read_through_get_model_list():
    """cfn_models.py completes the registry in get_model_list, which the rest must call by name."""
    from moto.cloudformation import parsing
    for reader in (parsing.get_model_map, parsing.get_name_type_map,
                   parsing.resource_name_property_from_type):
        assert "get_model_list()" in inspect.getsource(reader)
    assert "get_model_map()" in inspect.getsource(parsing.resource_class_from_type)
