"""Each gluelab hook into moto's private internals, checked against the pinned moto.

When one of these fails after a moto upgrade, the hook no longer matches moto's code: fix the
hook (or pin moto back) before anything else, or the local cloud silently stops behaving.
"""
from __future__ import annotations

import inspect

import moto


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
