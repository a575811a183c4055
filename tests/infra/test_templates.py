"""Every template in infra/ is valid before anything is deployed: SAM transform, cfn-lint, ASL."""
from __future__ import annotations

import json
import re

import pytest
from samtranslator.yaml_helper import yaml_parse

from gluelab.templates import lint_errors, transform, validate
from tests.infra.conftest import INFRA

TEMPLATES = [INFRA / "template.yaml", INFRA / "pipeline" / "template.yaml"]
ASL = INFRA / "statemachine" / "fixit.asl.json"


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(INFRA)))
def test_sam_transform_accepts_the_template(path):
    translated = transform(path)
    assert not any(r["Type"].startswith("AWS::Serverless::") for r in translated["Resources"].values())


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(INFRA)))
def test_cfn_lint_finds_no_errors(path):
    errors = lint_errors(path)
    assert not errors, "\n".join(errors)


def test_validate_names_what_the_transform_and_the_linter_find(tmp_path):
    assert validate(INFRA / "template.yaml") == []
    broken = tmp_path / "template.yaml"
    broken.write_text('AWSTemplateFormatVersion: "2010-09-09"\nTransform: AWS::Serverless-2016-10-31\n'
                      "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                      "    Properties:\n      CodeUri: nowhere/\n      Runtime: python3.12\n")
    problems = validate(broken)
    assert problems and problems[0].startswith("SAM transform: Fn.CodeUri is 'nowhere/'")
    assert validate(tmp_path / "missing.yaml") == [f"{tmp_path / 'missing.yaml'} does not exist"]


def test_translated_app_has_the_promised_resources():
    resources = transform(INFRA / "template.yaml")["Resources"]
    types = sorted({r["Type"] for r in resources.values()})
    for wanted in ("AWS::ApiGateway::RestApi", "AWS::Lambda::Function", "AWS::StepFunctions::StateMachine",
                   "AWS::DynamoDB::Table", "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient"):
        assert wanted in types
    body = resources["ServerlessRestApi"]["Properties"]["Body"]
    # Only reading reports needs a signed-in user; Twilio cannot sign in, so /sms stays open.
    assert body["paths"]["/reports/{id}"]["get"]["security"] == [{"CognitoAuthorizer": []}]
    assert "security" not in body["paths"]["/sms"]["post"]


def states_of(machine: dict):
    """Every (name, state, sibling names) in a machine, Parallel branches included."""
    for name, state in machine["States"].items():
        yield name, state, machine["States"]
        for branch in state.get("Branches", []):
            yield from states_of(branch)


def targets(state: dict) -> list[str]:
    found = [state.get("Next"), state.get("Default")]
    found += [c["Next"] for c in state.get("Catch", []) + state.get("Choices", [])]
    return [t for t in found if t]


def reachable(machine: dict) -> set[str]:
    seen, todo = set(), [machine["StartAt"]]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += targets(machine["States"][name])
    return seen


def all_machines(machine: dict):
    yield machine
    for state in machine["States"].values():
        for branch in state.get("Branches", []):
            yield from all_machines(branch)


def test_every_state_transition_lands_on_a_state_and_every_state_is_reachable():
    definition = json.loads(ASL.read_text())
    for machine in all_machines(definition):
        assert machine["StartAt"] in machine["States"]
        for name, state in machine["States"].items():
            for target in targets(state):
                assert target in machine["States"], f"{name} goes to missing state {target}"
            ends = state.get("End") or state["Type"] in ("Fail", "Succeed")
            assert ends or targets(state), f"{name} neither ends nor goes anywhere"
        assert reachable(machine) == set(machine["States"])


def test_every_placeholder_in_the_definition_has_a_substitution():
    template = yaml_parse((INFRA / "template.yaml").read_text())
    substitutions = template["Resources"]["FixitStateMachine"]["Properties"]["DefinitionSubstitutions"]
    assert set(re.findall(r"\$\{(\w+)\}", ASL.read_text())) == set(substitutions)


def test_workflow_retries_briefly_and_ends_in_a_named_failure_without_a_company():
    states = {name: state for name, state, _ in states_of(json.loads(ASL.read_text()))}
    retry = states["Arrange"]["Retry"][0]
    assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]) == (1, 2, 2)
    catch = states["Arrange"]["Catch"][0]
    assert catch["ErrorEquals"] == ["NoCompanyFound"]
    tell = states[catch["Next"]]
    assert tell["Resource"] == "${NotifyFunctionArn}"
    assert states[tell["Next"]] == {**states[tell["Next"]], "Type": "Fail", "Error": "NoCompanyFound"}
    for name in ("NotifyCompany", "NotifyReporter", "TellReporterNoCompany"):
        assert "TwilioTransientError" in states[name]["Retry"][0]["ErrorEquals"]
