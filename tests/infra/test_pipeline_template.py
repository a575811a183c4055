"""infra/pipeline/template.yaml: cfn-lint finds nothing, the deploy role grants exactly what the
app stack's resource types' handlers need (create, read, update, delete: a rollback runs the
same handlers), read from the registry schemas cfn-lint bundles, scoped where IAM allows it;
the connection name fits its limit; the buildspec's cfn-lint is pinned and fails on errors only."""
from __future__ import annotations

import re

import yaml
from cfnlint.api import lint
from cfnlint.data import AdditionalSpecs
from cfnlint.decode import decode_str
from cfnlint.helpers import load_resource
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from gluelab.templates import REGIONS, transform
from tests.infra.conftest import INFRA
from tests.test_lock import locked

PIPELINE = INFRA / "pipeline" / "template.yaml"
HANDLERS = ("create", "read", "update", "delete")
# Not a handler's: the role also runs the SAM transform of the packaged template.
TRANSFORM_ACTION = "cloudformation:CreateChangeSet"
IAM_ACTIONS = load_resource(AdditionalSpecs, "Policies.json")  # the Service Authorization Reference


def pipeline() -> dict:
    template, problems = decode_str(PIPELINE.read_text())
    assert not problems
    return template


def deploy_statements() -> list[dict]:
    """The deploy role's statements, with Action and Resource always lists."""
    statements = pipeline()["Resources"]["DeployRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    listed = lambda value: value if isinstance(value, list) else [value]  # noqa: E731
    return [{**s, "Action": listed(s["Action"]), "Resource": listed(s["Resource"])} for s in statements]


def iam_knows(action: str) -> bool:
    service, name = action.lower().split(":")
    return name in IAM_ACTIONS.get(service, {}).get("Actions", {})


def handler_permissions() -> set[str]:
    """What the app stack's resource types' handlers list, in every region the workshop uses."""
    needed = set()
    for region in REGIONS:
        types = {resource["Type"] for resource in transform(INFRA / "template.yaml", region)["Resources"].values()}
        for type_name in types:
            handlers = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, type_name).schema["handlers"]
            for handler in HANDLERS:
                needed.update(handlers.get(handler, {}).get("permissions", []))
    return needed


def test_the_pipeline_template_passes_cfn_lint_without_a_warning():
    assert [f"{m.rule.id} line {m.linenumber}: {m.message[:200]}"
            for m in lint(PIPELINE.read_text(), regions=REGIONS)] == []


def test_the_deploy_role_grants_exactly_what_the_app_stacks_handlers_need():
    granted = {action for statement in deploy_statements() for action in statement["Action"]}
    needed = handler_permissions()
    # Some schemas list actions IAM does not have (cfn-lint's W3037 refuses them): nothing to grant.
    assert granted == {action for action in needed if iam_knows(action)} | {TRANSFORM_ACTION}
    # The gaps issue 13 found: without these, deleting a role (rollback, stack deletion) fails.
    assert {"iam:ListRolePolicies", "iam:ListAttachedRolePolicies"} <= granted


def test_every_action_is_scoped_to_a_resource_where_iam_allows_it():
    for statement in deploy_statements():
        assert statement["Effect"] == "Allow" and "Condition" not in statement
        actions = statement["Action"]
        assert not any(action.endswith("*") for action in actions)
        if statement["Resource"] == ["*"]:
            scoped = [a for a in actions if IAM_ACTIONS[a.split(":")[0]]["Actions"][a.split(":")[1].lower()].get("Resources")]
            assert scoped == [], f"{scoped} can be limited to resources, yet are granted on *"


def test_names_the_stack_creates_are_scoped_to_the_app_stack():
    # CloudFormation names these stack-LogicalId-SUFFIX; a service-linked role is AWS's own.
    for statement in deploy_statements():
        if statement["Action"][0].split(":")[0] in ("lambda", "iam", "dynamodb") \
                and statement["Action"] != ["iam:CreateServiceLinkedRole"]:
            subs = [resource["Fn::Sub"] for resource in statement["Resource"]]
            assert all(re.search(r"[:/]\$\{AppStackName\}-\*$", sub) for sub in subs), subs


def test_the_connection_name_fits_32_characters_for_the_longest_stack_name():
    name = pipeline()["Resources"]["GitHubConnection"]["Properties"]["ConnectionName"]
    stack_id = f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{'s' * 128}/" \
               "0e6f9a70-5b0c-11ef-8a1b-0a1b2c3d4e5f"

    def evaluate(node):
        if isinstance(node, str):
            return node
        (function, argument), = node.items()
        if function == "Ref":
            assert argument == "AWS::StackId", f"the name depends on {argument}"
            return stack_id
        if function == "Fn::Split":
            return evaluate(argument[1]).split(argument[0])
        if function == "Fn::Select":
            return evaluate(argument[1])[argument[0]]
        if function == "Fn::Join":
            return argument[0].join(evaluate(part) for part in argument[1])
        raise AssertionError(f"{function} in the connection name")

    assert evaluate(name) == "fixit-github-0e6f9a70"
    assert len(evaluate(name)) <= 32


def test_the_buildspec_pins_the_locked_cfn_lint_and_fails_on_errors_only():
    phases = yaml.safe_load((INFRA / "buildspec.yml").read_text())["phases"]
    assert f"pip install --quiet cfn-lint=={locked()['cfn-lint']}" in phases["install"]["commands"]
    assert phases["build"]["commands"][0] == "cfn-lint --non-zero-exit-code error template.yaml"
