"""CloudFormation in the local cloud: SAM templates become real resources, or the stack fails.

moto 5.2.5 parses templates itself, creates what it has a model for and reports
CREATE_COMPLETE for everything else, SAM included. Here the local cloud behaves like the real
service instead:
- `Transform: AWS::Serverless-2016-10-31` is applied server-side with aws-sam-translator,
  offline; `GetTemplate(TemplateStage=Processed)` returns the result.
- A resource type the local cloud cannot create fails the stack (or the change set) with a
  reason that names it, before anything is created.
- Resources are created in dependency order with one stack event per step, a failure rolls
  the stack back, updates add/modify/replace/remove, DeleteStack removes everything.
- API URL outputs of the SAM form point at the local front door.
"""
from __future__ import annotations

import copy
import functools
import json
import re
from itertools import groupby
from typing import TYPE_CHECKING, Any, Callable

import yaml
from moto.core.common_models import CloudFormationModel
from samtranslator.yaml_helper import intrinsics_multi_constructor

from gluelab.cloud import intrinsics, policy_documents, table_keys, template_validation
from gluelab.cloud.lazy import when_imported

if TYPE_CHECKING:
    from moto.cloudformation.models import ChangeSet, CloudFormationBackend, Stack
    from moto.cloudformation.responses import CloudFormationResponse
    from moto.core.responses import ActionResult
    from moto.iam.models import Role

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
PACKAGE_ADVICE = ("Code and definition files must be in S3 before CloudFormation sees the template: "
                  "run `gluelab deploy` (or `aws cloudformation package`) and deploy the packaged "
                  "template.")
# Base classes that moto's model registry lists as if they were resource types.
PLACEHOLDER_TYPES = {"?", "AWS::SERVICE::RESOURCE"}
# Created by gluelab.cloud.statemachines (another module), not by moto alone.
DELEGATED_TYPES = {"AWS::StepFunctions::StateMachine"}
# Outputs exist only while the resources behind them do.
STATUSES_WITH_OUTPUTS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
# Names a template may Ref besides its parameters and resources.
PSEUDO_PARAMETERS = frozenset({"AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition",
                               "AWS::Region", "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"})
SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")
API_URL = re.compile(
    r"https://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com/(?P<stage>[^/?#]+)(?P<rest>.*)")


def _validation_error(message: str) -> Exception:
    from moto.cloudformation.exceptions import ValidationError
    return ValidationError(message=message)


class StackFailure(Exception):
    """A stack operation that cannot complete; `failed` lists (logical id, type, reason)."""

    def __init__(self, reason: str, failed: list[tuple[str, str, str]] = ()):
        super().__init__(reason)
        self.reason = reason
        self.failed = list(failed)


class TemplateError(StackFailure):
    """A template CloudFormation rejects when it validates it, before it changes anything."""


# ---------------------------------------------------------------------------------------------
# Templates: parse, transform, check


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics; dates stay strings, as in CloudFormation."""


_TemplateLoader.add_multi_constructor("!", intrinsics_multi_constructor)
_TemplateLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def load_template(text: str | dict) -> dict:
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        json_error = exc
    try:
        template = yaml.load(text, Loader=_TemplateLoader)
    except yaml.YAMLError as exc:
        # CloudFormation's words, with where (1-based) and never the parser's own text.
        if text.lstrip().startswith("{") and isinstance(json_error, json.JSONDecodeError):
            where = (json_error.lineno, json_error.colno)
            raise _validation_error(f"Template format error: JSON not well-formed. (line {where[0]}, "
                                    f"column {where[1]})")
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise _validation_error(f"Template format error: YAML not well-formed.{where}")
    if not isinstance(template, dict):
        raise _validation_error("Template format error: the template is not a JSON or YAML object")
    return template


@functools.cache
def _aws_managed_policies() -> dict[str, str]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data
    return {name: f"arn:aws:iam::aws:policy{data['Path']}{name}"
            for name, data in json.loads(aws_managed_policies_data).items()}


class _ManagedPolicies:
    """SAM's policy-name lookup, answered from moto's copy of the AWS managed policies, not IAM."""

    def load(self) -> dict[str, str]:
        return _aws_managed_policies()


def _transforms(template: dict) -> list[str]:
    transform = template.get("Transform") or []
    return [transform] if isinstance(transform, str) else list(transform)


def _sam_transform(template: dict, parameters: dict[str, str]) -> dict:
    # A deploy transforms its template three times (change set, stack, comparison), and a
    # restart replays every deploy: each distinct template is translated once per process.
    key = json.dumps([template, parameters], default=str)  # key order kept: it orders creation
    return copy.deepcopy(_translated(key))


@functools.lru_cache(maxsize=64)
def _translated(key: str) -> dict:
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform
    template, parameters = json.loads(key)
    try:
        # As CloudFormation does: the translator resolves parameters in the properties it must
        # read itself (an Api's Auth, AutoPublishAlias, policy templates, ...) from the given
        # values, then the defaults.
        return transform(template, dict(parameters), _ManagedPolicies())
    except InvalidDocumentException as exc:
        details = " ".join([exc.message] + [cause.message for cause in exc.causes])
        # SAM says a local path "is not a valid S3 Uri"; other messages merely name CodeUri.
        advice = f" {PACKAGE_ADVICE}" if "valid S3 Uri" in details else ""
        raise StackFailure(f"Transform {SAM_TRANSFORM} failed with: {details}{advice}")


def process_template(text: str | dict, parameters: dict[str, str] | None = None) -> dict:
    """The template CloudFormation would run: parsed and, for SAM, transformed."""
    template = load_template(text)
    for name in _transforms(template):
        if name != SAM_TRANSFORM:
            raise StackFailure(f"Transform {name} is not supported by the local cloud; "
                               f"it supports {SAM_TRANSFORM}.")
        template = _sam_transform(template, parameters or {})
    if not isinstance(template.get("Resources"), dict) or not template["Resources"]:
        raise _validation_error("Template format error: At least one Resources member must be defined.")
    return template


@functools.cache
def supported_types() -> tuple[str, ...]:
    from moto.cloudformation import parsing
    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()  # our models were defined after moto may have filled the caches
    return tuple(sorted((set(parsing.get_model_map()) - PLACEHOLDER_TYPES) | DELEGATED_TYPES))


def _supported_summary() -> str:
    groups = []
    for service, types in groupby(supported_types(), key=lambda t: t.rsplit("::", 1)[0]):
        names = [t.rsplit("::", 1)[1] for t in types]
        groups.append(f"{service}::{names[0]}" if len(names) == 1
                      else f"{service}::{{{','.join(names)}}}")
    return ", ".join(groups)


def check_recognized(template: dict) -> None:
    """A type that exists nowhere (a typo) is refused as CloudFormation refuses it, before anything."""
    from gluelab.cloud.resource_schemas import is_resource_type
    unknown = [kind for kind in (resource.get("Type", "") for resource in template["Resources"].values())
               if not is_resource_type(kind) and not kind.startswith("AWS::Serverless::")]  # check_supported hints
    if unknown:
        raise TemplateError(f"Template format error: Unrecognized resource types: [{', '.join(unknown)}]")


def check_supported(template: dict) -> None:
    failed = []
    for logical_id, resource in template["Resources"].items():
        kind = resource.get("Type", "")
        if kind in supported_types():
            continue
        hint = (f" Add `Transform: {SAM_TRANSFORM}` to the template." if kind.startswith("AWS::Serverless::")
                else "")
        failed.append((logical_id, kind, f"{kind} ({logical_id}) is not supported by the local cloud;"
                                         f"{hint} supported types: {_supported_summary()}"))
    if failed:
        raise StackFailure(failed[0][2], failed)


def _intrinsics(value: Any, where: str):
    """(where, function, argument) for each Ref, Fn::GetAtt and Fn::Sub in a template fragment."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("Ref", "Fn::GetAtt", "Fn::Sub"):
                yield where, key, inner
            yield from _intrinsics(inner, f"{where}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _intrinsics(inner, f"{where}[{index}]")


def _targets(function: str, argument: Any) -> list[tuple[str, Any]]:
    """(name, attribute or None) that one intrinsic points at; intrinsics built at run time are skipped."""
    if function == "Ref":
        return [(argument, None)] if isinstance(argument, str) else []
    if function == "Fn::GetAtt":
        if isinstance(argument, str):
            return [tuple(argument.split(".", 1))] if "." in argument else [(argument, "")]
        return [(argument[0], argument[1])] if isinstance(argument, list) and len(argument) == 2 else []
    text, names = (argument, {}) if isinstance(argument, str) else (
        argument if isinstance(argument, list) and len(argument) == 2 else (None, {}))
    if not isinstance(text, str) or not isinstance(names, dict):
        return []
    return [(name, attribute or None) for name, _, attribute in
            (variable.partition(".") for variable in SUB_VARIABLE.findall(text)) if name not in names]


def _reference_problem(name: str, attribute: Any, template: dict) -> tuple[str, str] | None:
    """CloudFormation's error for a bad reference and how to fix it, or None if it is fine."""
    from moto.cloudformation import parsing

    from gluelab.cloud.resource_schemas import lacks_attribute
    resources = template["Resources"]
    if attribute is None:
        if name in resources or name in PSEUDO_PARAMETERS or name in (template.get("Parameters") or {}):
            return None
        return (f"Template format error: Unresolved resource dependencies [{name}] in the Resources "
                f"block of the template", f"Fix the name, or declare {name} under Parameters or Resources.")
    if name not in resources:
        return (f"Template error: instance of Fn::GetAtt references undefined resource {name}",
                f"Fix the name, or add a resource {name} under Resources.")
    kind = resources[name].get("Type", "")
    model = parsing.resource_class_from_type(kind)
    if isinstance(attribute, str) and (lacks_attribute(kind, attribute) or not (
            model.has_cfn_attr(attribute) and hasattr(model, "get_cfn_attribute"))):
        return (f"Template error: resource {name} does not support attribute type {attribute} in Fn::GetAtt",
                f"Fix the attribute: {kind} has no attribute {attribute} in the local cloud.")
    return None


def check_references(template: dict) -> None:
    """Every Ref, Fn::GetAtt and Fn::Sub variable names something that exists, as CloudFormation
    checks before it changes anything; the error says which reference and where it is."""
    for section in ("Resources", "Outputs"):
        for where, function, argument in _intrinsics(template.get(section) or {}, section):
            for name, attribute in _targets(function, argument):
                problem = _reference_problem(name, attribute, template)
                if problem:
                    raise TemplateError(f"{problem[0]} (in {function} at {where}). {problem[1]}")
    conditions = template.get("Conditions") or {}
    for section in ("Resources", "Outputs"):
        for logical_id, entry in (template.get(section) or {}).items():
            condition = entry.get("Condition") if isinstance(entry, dict) else None
            if condition is not None and not (isinstance(condition, str) and condition in conditions):
                raise TemplateError(f"Template format error: Condition {condition} is not defined. (in "
                                    f"Condition of {logical_id}) Fix the name, or declare it under "
                                    f"Conditions.")
    for logical_id, resource in template["Resources"].items():
        depends_on = resource.get("DependsOn", [])
        for name in [depends_on] if isinstance(depends_on, str) else depends_on:
            if name not in template["Resources"]:
                raise TemplateError(f"Template format error: Unresolved resource dependencies [{name}] in the "
                                    f"Resources block of the template (in DependsOn of {logical_id}). "
                                    f"Fix the name, or add a resource {name} under Resources.")


def _checked(text: str | dict, parameters: dict[str, str] | None = None) -> tuple[dict, StackFailure | None]:
    """The processed template, or a placeholder and the failure that the stack must report."""
    try:
        template = process_template(text, parameters)
        check_recognized(template)
        problem = intrinsics.problem(template, parameters or {})
        if problem:
            raise TemplateError(problem)
        check_supported(template)
        check_references(template)
        creation_order(template["Resources"])  # refuses a circular dependency
        return template, None
    except StackFailure as failure:
        return {"Resources": {}}, failure


# ---------------------------------------------------------------------------------------------
# Dependencies


def references(value: Any) -> set[str]:
    """Logical ids and parameters a template fragment points at (Ref, GetAtt, Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                found.add(inner)
            elif key == "Fn::GetAtt":
                found.add((inner.split(".", 1) if isinstance(inner, str) else inner)[0])
            elif key == "Fn::Sub":
                text, names = (inner, {}) if isinstance(inner, str) else (inner[0], inner[1])
                found |= {m.split(".", 1)[0] for m in SUB_VARIABLE.findall(text)} - set(names)
                found |= references(names)
            else:
                found |= references(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= references(inner)
    return found


def dependencies(resources: dict) -> dict[str, set[str]]:
    graph = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn", [])
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        graph[logical_id] = (references(resource) | set(depends_on)) & set(resources) - {logical_id}
    return graph


def creation_order(resources: dict) -> list[str]:
    graph = dependencies(resources)
    order: list[str] = []
    visiting: list[str] = []

    def visit(node: str) -> None:
        if node in order:
            return
        if node in visiting:
            cycle = visiting[visiting.index(node):]
            raise TemplateError(f"Circular dependency between resources: [{', '.join(sorted(cycle))}]")
        visiting.append(node)
        for dependency in sorted(graph[node]):
            visit(dependency)
        visiting.pop()
        order.append(node)

    for node in resources:
        visit(node)
    return order


# ---------------------------------------------------------------------------------------------
# Resource operations with stack events


def _event(stack: Stack, logical_id: str, kind: str, status: str, reason: str | None = None,
           physical_id: str = "") -> None:
    from moto.cloudformation.models import Event
    event = Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                  physical_resource_id=physical_id, resource_type=kind, resource_status=status,
                  resource_status_reason=reason, resource_properties=None)
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def _physical_id(resource: Any) -> str:
    return str(getattr(resource, "physical_resource_id", "") or "")


# Exceptions that mean the local cloud's own code broke, not that the request was wrong.
INTERNAL_ERRORS = (AttributeError, KeyError, TypeError, IndexError, NameError, NotImplementedError,
                   AssertionError, RecursionError, ZeroDivisionError)


def error_text(exc: Exception) -> str:
    if isinstance(exc, ValueError) and len(exc.args) == 2:  # moto Lambda: (code, message)
        return f"{exc.args[0]}: {exc.args[1]}"
    if isinstance(exc, INTERNAL_ERRORS):  # Python's words would only mislead: say what broke
        return (f"The local cloud itself failed on this resource ({type(exc).__name__} inside the "
                f"local cloud); the template may well be valid on AWS. Please report it to the "
                f"workshop team with the template.")
    return str(getattr(exc, "message", None) or getattr(exc, "description", None) or str(exc))


def _is_enabled(stack: Stack, resource: dict) -> bool:
    condition = resource.get("Condition")
    return not condition or bool(stack.resource_map.lazy_condition_map[condition])


def _create(stack: Stack, logical_id: str) -> None:
    kind = stack.resource_map._resource_json_map[logical_id]["Type"]
    _event(stack, logical_id, kind, "CREATE_IN_PROGRESS")
    try:
        resource = stack.resource_map[logical_id]
    except Exception as exc:  # any error of any model is this resource's failure
        reason = error_text(exc)
        _event(stack, logical_id, kind, "CREATE_FAILED", reason)
        raise StackFailure(f"{kind} ({logical_id}) failed to create: {reason}",
                           [(logical_id, kind, reason)]) from exc
    _event(stack, logical_id, kind, "CREATE_COMPLETE", physical_id=_physical_id(resource))


def _delete(stack: Stack, logical_id: str, resource_json: dict) -> None:
    resource_map = stack.resource_map
    resource = resource_map._parsed_resources.get(logical_id)
    kind = resource_json["Type"]
    if resource is None:
        return
    if resource_json.get("DeletionPolicy") == "Retain":
        _event(stack, logical_id, kind, "DELETE_SKIPPED", physical_id=_physical_id(resource))
        resource_map._parsed_resources.pop(logical_id)
        return
    _event(stack, logical_id, kind, "DELETE_IN_PROGRESS", physical_id=_physical_id(resource))
    try:
        resource_map._delete_resource(resource, resource_json)
    except Exception as exc:
        reason = error_text(exc)
        _event(stack, logical_id, kind, "DELETE_FAILED", reason, _physical_id(resource))
        raise StackFailure(f"{kind} ({logical_id}) failed to delete: {reason}",
                           [(logical_id, kind, reason)]) from exc
    resource_map._parsed_resources.pop(logical_id)
    _event(stack, logical_id, kind, "DELETE_COMPLETE", physical_id=_physical_id(resource))


def _can_update(kind: str) -> bool:
    from moto.cloudformation import parsing
    update = parsing.resource_class_from_type(kind).update_from_cloudformation_json
    return not hasattr(update, "__isabstractmethod__")


def _update(stack: Stack, logical_id: str, old_json: dict) -> bool:
    """Update one resource in place or replace it; True when its physical id changed."""
    from moto.cloudformation import parsing
    resource_map = stack.resource_map
    new_json = resource_map._resource_json_map[logical_id]
    kind = new_json["Type"]
    old = resource_map._parsed_resources.get(logical_id)
    _event(stack, logical_id, kind, "UPDATE_IN_PROGRESS", physical_id=_physical_id(old))
    try:
        if old is not None and old_json["Type"] == kind and _can_update(kind):
            updated = parsing.parse_and_update_resource(
                logical_id, new_json, resource_map, stack.account_id, stack.region_name)
            resource_map._parsed_resources[logical_id] = updated
        else:
            # No in-place update in moto: replace, as CloudFormation does for immutable changes.
            if old is not None:
                resource_map._delete_resource(old, old_json)
                resource_map._parsed_resources.pop(logical_id)
            updated = resource_map[logical_id]
    except Exception as exc:
        reason = error_text(exc)
        _event(stack, logical_id, kind, "UPDATE_FAILED", reason, _physical_id(old))
        raise StackFailure(f"{kind} ({logical_id}) failed to update: {reason}",
                           [(logical_id, kind, reason)]) from exc
    _event(stack, logical_id, kind, "UPDATE_COMPLETE", physical_id=_physical_id(updated))
    return _physical_id(updated) != _physical_id(old)


def _report_precheck(stack: Stack, failure: StackFailure, status: str) -> None:
    for logical_id, kind, reason in failure.failed:
        _event(stack, logical_id, kind, status, reason)


# ---------------------------------------------------------------------------------------------
# Stack operations (installed over moto's Stack and CloudFormationBackend methods)


def _parse_template(self: Stack) -> None:
    self.template_dict, self.template_failure = _checked(self.template, self.parameters)
    if isinstance(self.template_failure, TemplateError):  # CreateStack is refused, nothing made
        raise _validation_error(self.template_failure.reason)


def _has_template(self: Stack, other: str) -> bool:
    self._parse_template()  # again: creating resources adds empty Properties to template_dict
    return self.template_dict == _checked(other, self.parameters)[0]


def _parameters_first(original):
    """Stack.__init__ parses the template before it stores the parameters the SAM transform needs."""
    @functools.wraps(original)
    def init(self: Stack, stack_id, name, template, parameters, *args, **kwargs):
        self.parameters = parameters
        original(self, stack_id, name, template, parameters, *args, **kwargs)
    return init


def _parse_change_set_template(self: ChangeSet) -> None:
    self.template_dict, self.template_failure = _checked(self.template, self.parameters)


def _set_status(stack: Stack, status: str, reason: str | None = None) -> None:
    stack.status = status
    stack.stack_status_reason = reason
    stack._add_stack_event(status, resource_status_reason=reason)


def create_resources(self: Stack) -> None:
    self.status = "CREATE_IN_PROGRESS"
    created: list[str] = []
    try:
        if self.template_failure:
            _report_precheck(self, self.template_failure, "CREATE_FAILED")
            raise self.template_failure
        resources = self.template_dict["Resources"]
        for logical_id in creation_order(resources):
            if _is_enabled(self, resources[logical_id]):
                created.append(logical_id)
                _create(self, logical_id)
    except StackFailure as failure:
        _set_status(self, "ROLLBACK_IN_PROGRESS", failure.reason)
        for logical_id in reversed(created):
            try:
                _delete(self, logical_id, self.template_dict["Resources"][logical_id])
            except StackFailure as rollback_failure:
                _set_status(self, "ROLLBACK_FAILED", f"{failure.reason} Rollback: {rollback_failure.reason}")
                return
        _set_status(self, "ROLLBACK_COMPLETE", failure.reason)
        return
    self.stack_status_reason = None
    self.mark_creation_complete()


def _load_template(stack: Stack, template: dict, parameters: dict[str, Any] | None) -> None:
    """Point the stack's resource map at `template`: its mappings, parameters and conditions."""
    resource_map = stack.resource_map
    resource_map._template = template
    if parameters is not None:
        resource_map.input_parameters = parameters
    resource_map.load_mapping()
    resource_map.load_parameters()
    resource_map.load_conditions()
    resource_map._resource_json_map = template["Resources"]


def _apply_changes(stack: Stack, old_resources: dict, new_resources: dict, changes: dict,
                   touched: list[str]) -> None:
    """Create, update, then delete resources to go from `old_resources` to `new_resources`;
    every logical id this reaches goes into `touched` first, so a rollback knows what to undo."""
    to_modify = set(changes["Modify"])
    graph = dependencies(new_resources)
    for logical_id in creation_order(new_resources):
        if not _is_enabled(stack, new_resources[logical_id]):
            continue
        if logical_id in changes["Add"]:
            touched.append(logical_id)
            _create(stack, logical_id)
        elif logical_id in to_modify:
            touched.append(logical_id)
            if _update(stack, logical_id, old_resources.get(logical_id, new_resources[logical_id])):
                # A new physical id flows into everything that references it.
                to_modify |= {other for other, needs in graph.items() if logical_id in needs}
    for logical_id in reversed(creation_order(old_resources)):
        if logical_id in changes["Remove"]:
            touched.append(logical_id)
            _delete(stack, logical_id, old_resources[logical_id])


def _undo_changes(stack: Stack, old_template: dict, old_parameters: dict | None,
                  new_resources: dict, changes: dict, touched: list[str]) -> None:
    """Bring back the resources an update reached, as they were before it."""
    _load_template(stack, old_template, old_parameters)
    undo = {"Add": [i for i in changes["Remove"] if i in touched],
            "Modify": [i for i in touched if i not in changes["Add"] and i not in changes["Remove"]],
            "Remove": [i for i in changes["Add"] if i in touched]}
    _apply_changes(stack, new_resources, old_template["Resources"], undo, [])


def _roll_back_update(stack: Stack, undo: Callable[[], None], failure: StackFailure) -> None:
    """Undo a failed update as CloudFormation does; what cannot be undone leaves the stack
    UPDATE_ROLLBACK_FAILED, and ContinueUpdateRollback tries again."""
    _set_status(stack, "UPDATE_ROLLBACK_IN_PROGRESS", failure.reason)
    try:
        undo()
    except StackFailure as rollback_failure:
        stack.pending_rollback = (undo, failure)
        _set_status(stack, "UPDATE_ROLLBACK_FAILED",
                    f"{failure.reason} The rollback failed too: {rollback_failure.reason} "
                    f"Continue the rollback (ContinueUpdateRollback) or delete the stack.")
        return
    stack.pending_rollback = None
    _set_status(stack, "UPDATE_ROLLBACK_COMPLETE", failure.reason)


def _refuse_update_while_rollback_failed(stack: Stack) -> None:
    if stack.status == "UPDATE_ROLLBACK_FAILED":
        raise _validation_error(f"Stack:{stack.stack_id} is in UPDATE_ROLLBACK_FAILED state and "
                                f"can not be updated.")


def update(self: Stack, template: str, role_arn: str | None = None,
           parameters: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> None:
    _refuse_update_while_rollback_failed(self)
    new_template, failure = _checked(template, parameters if parameters is not None else self.parameters)
    if isinstance(failure, TemplateError):  # UpdateStack is refused; the stack stays as it was
        raise _validation_error(failure.reason)
    self._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    self.status = "UPDATE_IN_PROGRESS"
    if failure:
        _report_precheck(self, failure, "UPDATE_FAILED")
        _set_status(self, "UPDATE_ROLLBACK_IN_PROGRESS", failure.reason)
        _set_status(self, "UPDATE_ROLLBACK_COMPLETE", failure.reason)
        return
    resource_map = self.resource_map
    old_template, old_parameters = resource_map._template, dict(resource_map.input_parameters)
    old_resources = resource_map._resource_json_map
    changes = resource_map.build_resource_diff(new_template, parameters)
    _load_template(self, new_template, parameters)
    touched: list[str] = []
    try:
        _apply_changes(self, old_resources, new_template["Resources"], changes, touched)
    except StackFailure as failure:
        _roll_back_update(self, functools.partial(
            _undo_changes, self, old_template, old_parameters, new_template["Resources"], changes,
            touched), failure)
        return
    self.template = template
    self.template_dict = new_template
    self.template_failure = None
    self.output_map = self._create_output_map()
    self.role_arn = role_arn
    if parameters:
        self.parameters = parameters
    if tags is not None:
        self.tags = tags
    _set_status(self, "UPDATE_COMPLETE")


def continue_update_rollback(self: CloudFormationBackend, stack_name: str) -> None:
    stack = self.get_stack(stack_name)
    if stack.status != "UPDATE_ROLLBACK_FAILED":
        raise _validation_error(f"Stack {stack_name} is in {stack.status} state; "
                                f"ContinueUpdateRollback works only in UPDATE_ROLLBACK_FAILED.")
    _roll_back_update(stack, *stack.pending_rollback)


def _continue_update_rollback_response(self: CloudFormationResponse) -> ActionResult:
    from moto.core.responses import ActionResult
    self.cloudformation_backend.continue_update_rollback(self._get_param("StackName"))
    return ActionResult({})


def delete_resources(stack: Stack) -> bool:
    """Delete every resource of the stack, newest first; False (and DELETE_FAILED) if one fails."""
    stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "DELETE_IN_PROGRESS"
    resources = stack.resource_map._resource_json_map
    try:
        for logical_id in reversed(creation_order(resources)):
            _delete(stack, logical_id, resources[logical_id])
    except StackFailure as failure:
        _set_status(stack, "DELETE_FAILED", failure.reason)
        return False
    _set_status(stack, "DELETE_COMPLETE")
    return True


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
    stack = self.stacks.get(name_or_stack_id) or next(
        (s for s in self.stacks.values() if s.name == name_or_stack_id), None)
    if stack is None:
        return
    export_names = [export.name for export in stack.exports] if stack.status in STATUSES_WITH_OUTPUTS else []
    if not delete_resources(stack):
        return
    self.stacks.pop(stack.stack_id)
    self.deleted_stacks[stack.stack_id] = stack
    for name in export_names:
        self.exports.pop(name, None)


def _wrap_create_change_set(original):
    @functools.wraps(original)
    def create_change_set(self: CloudFormationBackend, *args, **kwargs):
        change_set_id, stack_id = original(self, *args, **kwargs)
        change_set = self.change_sets[change_set_id]
        if change_set.change_set_type == "UPDATE":
            _refuse_update_while_rollback_failed(self.stacks[stack_id])
        failure = change_set.template_failure
        if isinstance(failure, TemplateError) and not _transforms(load_template(change_set.template)):
            # Without a transform CloudFormation validates the template within CreateChangeSet
            # (ValidationError, no change set, no stack: LocalStack's AWS-validated snapshots);
            # with one, the transform runs first and a failure shows as a FAILED change set.
            self.change_sets.pop(change_set_id)
            if change_set.change_set_type == "CREATE":
                self.stacks.pop(stack_id)
            raise _validation_error(failure.reason)
        if failure:
            change_set.status = "FAILED"
            change_set.execution_status = "UNAVAILABLE"
            change_set.status_reason = failure.reason
        return change_set_id, stack_id
    return create_change_set


def execute_change_set(self: CloudFormationBackend, change_set_name: str,
                       stack_name: str | None = None) -> None:
    change_set = self.describe_change_set(change_set_name)
    if change_set.execution_status != "AVAILABLE":
        raise _validation_error(f"ChangeSet [{change_set.change_set_id}] cannot be executed "
                                f"in its current status of [{change_set.status}]: "
                                f"{change_set.status_reason or 'see DescribeChangeSet'}")
    stack = self.stacks[change_set.stack_id]
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack.parameters = change_set.parameters
        stack._parse_template()
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.create_resources()
    else:
        stack.update(change_set.template, parameters=change_set.parameters)
    change_set.execution_status = "EXECUTE_COMPLETE"


def _stack_resources(self: Stack) -> list:
    """The resources that exist; moto's lazy map would create any other one on first look."""
    resource_map = self.resource_map
    return [resource for logical_id, resource in resource_map._parsed_resources.items()
            if logical_id in resource_map._resource_json_map and resource is not None]


def _outputs_with_local_urls(original, endpoint: str):
    def outputs(self: Stack) -> list[dict] | None:
        if self.status not in STATUSES_WITH_OUTPUTS:
            return None
        return _local_urls(original(self), endpoint)
    return property(outputs)


def _local_urls(outputs: list[dict] | None, endpoint: str) -> list[dict] | None:
    """API Gateway URLs as the local front door serves them."""
    def local(value: Any) -> Any:
        match = API_URL.fullmatch(value) if isinstance(value, str) else None
        if not match:
            return value
        return (f"{endpoint}/restapis/{match['api']}/{match['stage']}/_user_request_"
                f"{match['rest'] or '/'}")
    return [{**output, "OutputValue": local(output["OutputValue"])} for output in outputs] if outputs else outputs


def _get_template_with_stage(original):
    @functools.wraps(original)
    def get_template(self: CloudFormationResponse) -> ActionResult:
        if self._get_param("TemplateStage") != "Processed":
            return original(self)
        from moto.core.responses import ActionResult
        stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
        return ActionResult({"TemplateBody": json.dumps(stack.template_dict),
                             "StagesAvailable": ["Original", "Processed"]})
    return get_template


# ---------------------------------------------------------------------------------------------
# Resource types moto lacks or half-implements


def _cognito(account_id: str, region_name: str):
    from moto.cognitoidp.models import cognitoidp_backends
    return cognitoidp_backends[account_id][region_name]


class CognitoUserPool(CloudFormationModel):
    """AWS::Cognito::UserPool as a real pool in moto's cognito-idp backend."""

    def __init__(self, pool):
        self.pool = pool

    @staticmethod
    def cloudformation_name_type() -> str:
        return "UserPoolName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPool"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("Arn", "ProviderName", "ProviderURL", "UserPoolId")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        provider = f"cognito-idp.{self.pool.region}.amazonaws.com/{self.pool.id}"
        return {"Arn": self.pool.arn, "ProviderName": provider, "ProviderURL": f"https://{provider}",
                "UserPoolId": self.pool.id}[attribute_name]

    @property
    def physical_resource_id(self) -> str:
        return self.pool.id

    @staticmethod
    def _config(properties: dict) -> dict:
        return {k: v for k, v in properties.items() if k not in ("UserPoolName", "UserPoolTags")}

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        return cls(_cognito(account_id, region_name).create_user_pool(properties.get("UserPoolName", resource_name),
                                            cls._config(properties)))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                        cloudformation_json, account_id, region_name):
        original_resource.pool.update_extended_config(cls._config(cloudformation_json["Properties"]))
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name):
        _cognito(account_id, region_name).delete_user_pool(resource_name)


class CognitoUserPoolClient(CloudFormationModel):
    """AWS::Cognito::UserPoolClient as a real app client of its pool."""

    def __init__(self, client):
        self.client = client

    @staticmethod
    def cloudformation_name_type() -> str:
        return "ClientName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Cognito::UserPoolClient"

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in ("ClientId", "ClientSecret", "Name")

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return {"ClientId": self.client.id, "ClientSecret": self.client.secret,
                "Name": self.client.extended_config.get("ClientName")}[attribute_name]

    @property
    def physical_resource_id(self) -> str:
        return self.client.id

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        properties = dict(cloudformation_json["Properties"])
        properties.setdefault("ClientName", resource_name)
        pool_id = properties.pop("UserPoolId")
        generate_secret = bool(properties.pop("GenerateSecret", False))
        return cls(_cognito(account_id, region_name).create_user_pool_client(pool_id, generate_secret, properties))

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                        cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        if properties["UserPoolId"] != original_resource.client.user_pool_id:
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                       account_id, region_name)
        config = {k: v for k, v in properties.items() if k not in ("UserPoolId", "GenerateSecret")}
        original_resource.client.extended_config.update(config)
        return original_resource

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name):
        raise NotImplementedError("app clients are deleted through their instance")

    def delete(self, account_id, region_name):
        pool = _cognito(account_id, region_name).user_pools.get(self.client.user_pool_id)
        if pool is not None:
            pool.clients.pop(self.client.id, None)


def _install_managed_policies_for_aws_only(iam_models) -> None:
    """moto builds an IAM backend for each of its six partitions on the first request and
    parses the 1,000-odd AWS managed policies into each (a second in all). The local cloud
    answers in the aws partition only."""
    original = iam_models.IAMBackend._init_aws_policies

    def init_aws_policies(self):
        return original(self) if self.region_name == "aws" else []

    iam_models.IAMBackend._init_aws_policies = init_aws_policies


def _install_role_policies(iam_models) -> None:
    """IAM roles keep their ManagedPolicyArns and inline Policies in sync with the template."""
    Role, iam_backends = iam_models.Role, iam_models.iam_backends
    original_create = Role.create_from_cloudformation_json.__func__
    original_delete = Role.delete_from_cloudformation_json.__func__

    def sync(role: Role, properties: dict, account_id: str) -> None:
        backend = iam_backends[account_id]["aws"]
        wanted = set(properties.get("ManagedPolicyArns", []))
        for arn in set(role.managed_policies) - wanted:
            backend.detach_role_policy(arn, role.name)
        for arn in wanted - set(role.managed_policies):
            backend.attach_role_policy(arn, role.name)
        inline = {p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies", [])}
        for name in set(role.policies) - set(inline):
            role.delete_policy(name)
        for name, document in inline.items():
            role.put_policy(name, document if isinstance(document, str) else json.dumps(document))
        document = properties["AssumeRolePolicyDocument"]
        role.assume_role_policy_document = document if isinstance(document, str) else json.dumps(document)

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        role = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        sync(role, cloudformation_json["Properties"], account_id)
        return role

    @classmethod
    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        sync(original_resource, cloudformation_json["Properties"], account_id)
        return original_resource

    @classmethod
    def delete(cls, resource_name, cloudformation_json, account_id, region_name):
        backend = iam_backends[account_id]["aws"]
        for arn in list(backend.get_role(resource_name).managed_policies):
            backend.detach_role_policy(arn, resource_name)
        original_delete(cls, resource_name, cloudformation_json, account_id, region_name)

    Role.create_from_cloudformation_json = create
    Role.update_from_cloudformation_json = update
    Role.delete_from_cloudformation_json = delete


# What a function's configuration goes back to when an update leaves a property out.
FUNCTION_DEFAULTS = {"Description": "", "MemorySize": 128, "Timeout": 3, "Layers": []}


def _install_function_checks(lambda_models) -> None:
    """A function whose S3 code is missing fails, as on AWS; moto would create it with no code.
    An update that leaves out Environment (or a variable) or another setting removes it, as on
    AWS; moto kept the old value of everything an update did not mention."""
    Function = lambda_models.LambdaFunction
    original_create = Function.create_from_cloudformation_json.__func__
    original_update = Function.update_from_cloudformation_json.__func__

    def require_code(properties: dict, account_id: str) -> None:
        from moto.s3.models import s3_backends
        code = properties.get("Code", {})
        if "S3Bucket" in code and s3_backends[account_id]["aws"].get_object(
                code["S3Bucket"], code.get("S3Key", "")) is None:
            raise ValueError("InvalidParameterValueException",
                             f"Error occurred while GetObject. S3 Error Code: NoSuchKey. "
                             f"s3://{code['S3Bucket']}/{code.get('S3Key')} does not exist. {PACKAGE_ADVICE}")

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        require_code(cloudformation_json["Properties"], account_id)
        return original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    @classmethod
    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = cloudformation_json["Properties"]
        require_code(properties, account_id)
        variables = (properties.get("Environment") or {}).get("Variables") or {}
        properties = {**FUNCTION_DEFAULTS, **properties, "Environment": {"Variables": variables}}
        updated = original_update(cls, original_resource, new_resource_name,
                                  {**cloudformation_json, "Properties": properties}, account_id, region_name)
        # CloudFormation puts or deletes the function's concurrency; moto's update leaves it.
        updated.reserved_concurrency = properties.get("ReservedConcurrentExecutions")
        return updated

    Function.create_from_cloudformation_json = create
    Function.update_from_cloudformation_json = update


def _install_parameter_names(ssm_models) -> None:
    """An AWS::SSM::Parameter without Name gets a generated one, as on AWS (moto failed with an
    AttributeError on the missing name); an update keeps it."""
    Parameter = ssm_models.Parameter
    original_create = Parameter.create_from_cloudformation_json.__func__

    @classmethod
    def create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = {"Name": resource_name, **cloudformation_json["Properties"]}
        return original_create(cls, resource_name, {**cloudformation_json, "Properties": properties},
                               account_id, region_name, **kwargs)

    @classmethod
    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        properties = {"Name": original_resource.name, **cloudformation_json["Properties"]}
        cls.delete_from_cloudformation_json(original_resource.name, cloudformation_json, account_id,
                                            region_name)
        return original_create(cls, properties["Name"], {**cloudformation_json, "Properties": properties},
                               account_id, region_name)

    Parameter.create_from_cloudformation_json = create
    Parameter.update_from_cloudformation_json = update


def _table_replaced(table, properties: dict) -> bool:
    """Whether AWS would replace the table: a new name, key schema or local indexes."""
    wanted_local = [(index["IndexName"], index["KeySchema"], index["Projection"])
                    for index in properties.get("LocalSecondaryIndexes", [])]
    return (properties.get("TableName", table.name) != table.name
            or properties["KeySchema"] != table.schema
            or wanted_local != [(index.name, index.schema, index.projection) for index in table.indexes])


def _global_index_changes(table, wanted: list[dict]) -> list[dict]:
    """UpdateTable's GlobalSecondaryIndexUpdates that turn the table's indexes into `wanted`."""
    current = {index.name: index for index in table.global_indexes}
    by_name = {index["IndexName"]: index for index in wanted}
    changes = [{"Delete": {"IndexName": name}} for name in current if name not in by_name]
    for name, index in by_name.items():
        if name not in current:
            changes.append({"Create": index})
        elif (index["KeySchema"], index["Projection"]) != (current[name].schema, current[name].projection):
            raise ValueError(
                f"Cannot update GSI's properties other than Provisioned Throughput and Contributor "
                f"Insights Specification. You can create a new GSI with a different name "
                f"(index {name} of table {table.name}).")
        elif "ProvisionedThroughput" in index:
            changes.append({"Update": {"IndexName": name,
                                       "ProvisionedThroughput": index["ProvisionedThroughput"]}})
    return changes


def _install_table_updates(table_models) -> None:
    """DynamoDB tables keep their items through the changes AWS makes in place (indexes, billing,
    throughput, streams, tags); moto has no table update, so every change replaced the table."""
    Table = table_models.Table

    @classmethod
    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        from moto.dynamodb.models import dynamodb_backends
        backend = dynamodb_backends[account_id][region_name]
        table, properties = original_resource, cloudformation_json["Properties"]
        if _table_replaced(table, properties):
            if properties.get("TableName") == table.name:
                raise ValueError(f"CloudFormation cannot update a stack when a custom-named resource "
                                 f"requires replacing. Rename {table.name} and update the stack again.")
            replacement = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                              account_id, region_name)
            backend.delete_table(table.name)
            return replacement
        index_changes = _global_index_changes(table, properties.get("GlobalSecondaryIndexes", []))
        backend.update_table_global_indexes(table, index_changes)
        table.attr = properties["AttributeDefinitions"]
        table.billing_mode = ("PAY_PER_REQUEST" if properties.get("BillingMode") == "PAY_PER_REQUEST"
                              else "PROVISIONED")
        table.throughput = {**(properties.get("ProvisionedThroughput")
                               or {"ReadCapacityUnits": 0, "WriteCapacityUnits": 0}),
                            "NumberOfDecreasesToday": 0}
        stream = properties.get("StreamSpecification")
        if (stream or {}).get("StreamViewType") != (table.stream_specification or {}).get("StreamViewType"):
            table.set_stream_specification(dict(stream) if stream else None)
        table.sse_specification = properties.get("SSESpecification")
        table.deletion_protection_enabled = properties.get("DeletionProtectionEnabled", False)
        table.tags = properties.get("Tags", [])
        return table

    Table.update_from_cloudformation_json = update


# Fn::GetAtt attributes that AWS documents and moto 5.2.5 lacks, for types the workshop uses.
MISSING_ATTRIBUTES = {
    ("moto.stepfunctions.models", "StateMachine"): {"Arn": lambda machine: machine.arn},
    ("moto.apigateway.models", "RestAPI"): {"RestApiId": lambda api: api.id},
    ("moto.ssm.models", "Parameter"): {"Type": lambda parameter: parameter.parameter_type,
                                       "Value": lambda parameter: parameter.value},
}


def _add_attributes(model: type, attributes: dict[str, Callable]) -> None:
    has_attribute = model.has_cfn_attr
    get_attribute = getattr(model, "get_cfn_attribute", None)  # SSM parameters have none

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr in attributes or has_attribute(attr)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in attributes:
            return attributes[attribute_name](self)
        if get_attribute is None:
            from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
            raise UnformattedGetAttTemplateException()
        return get_attribute(self, attribute_name)

    model.has_cfn_attr, model.get_cfn_attribute = has_cfn_attr, get_cfn_attribute


def _install_missing_attributes() -> None:
    for (module, name), attributes in MISSING_ATTRIBUTES.items():
        when_imported(module, lambda loaded, name=name, attributes=attributes:
                     _add_attributes(getattr(loaded, name), attributes))


def _install_loud_get_att(parsing) -> None:
    """A Fn::GetAtt that moto cannot resolve fails the resource that uses it. moto logs a warning
    and passes the unresolved {"Fn::GetAtt": ...} on as the value, drops the property, or fails
    with an AttributeError for models without attributes."""
    original = parsing.clean_json

    def clean_json(resource_json, resources_map):
        if not (isinstance(resource_json, dict) and "Fn::GetAtt" in resource_json):
            return original(resource_json, resources_map)
        name, attribute = resource_json["Fn::GetAtt"][:2]
        resource = resources_map.get(name)
        implemented = resource is None or hasattr(resource, "get_cfn_attribute")
        cleaned = original(resource_json, resources_map) if implemented else None
        if cleaned is None or isinstance(cleaned, dict) and "Fn::GetAtt" in cleaned:
            kind = resources_map._resource_json_map[name]["Type"]
            raise _validation_error(f"The local cloud does not implement Fn::GetAtt {name}.{attribute} "
                                    f"(attribute {attribute} of {kind}). Use a Ref or another "
                                    f"attribute, or deploy this template to AWS.")
        return cleaned

    parsing.clean_json = clean_json


def _install_stacks(models, endpoint: str) -> None:
    Stack, ChangeSet, Backend = models.Stack, models.ChangeSet, models.CloudFormationBackend
    Stack.template_failure = ChangeSet.template_failure = None
    Stack.stack_status_reason = None
    Stack.pending_rollback = None
    Stack.__init__ = _parameters_first(Stack.__init__)
    Stack._parse_template = _parse_template
    Stack.has_template = _has_template
    Stack.create_resources = create_resources
    Stack.update = update
    Stack.outputs = _outputs_with_local_urls(Stack.outputs.fget, endpoint)
    Stack.stack_resources = property(_stack_resources)
    ChangeSet._parse_template = _parse_change_set_template
    Backend.create_change_set = _wrap_create_change_set(Backend.create_change_set)
    Backend.execute_change_set = execute_change_set
    Backend.delete_stack = delete_stack
    Backend.continue_update_rollback = continue_update_rollback
    supported_types.cache_clear()


def _install_processed_templates(responses) -> None:
    Response = responses.CloudFormationResponse
    Response.get_template = _get_template_with_stage(Response.get_template)
    Response.continue_update_rollback = _continue_update_rollback_response


def install(context) -> None:
    from moto.core.config import default_user_config
    # SAM attaches AWS managed policies (AWSLambdaBasicExecutionRole, ...) to every function role.
    default_user_config["iam"] = {"load_aws_managed_policies": True}
    when_imported("moto.iam.models", _install_role_policies)
    when_imported("moto.iam.models", _install_managed_policies_for_aws_only)
    policy_documents.install(context)  # after _install_role_policies: its wrapper checks first
    when_imported("moto.awslambda.models", _install_function_checks)
    when_imported("moto.dynamodb.models.table", _install_table_updates)
    table_keys.install(context)  # after _install_table_updates: its wrapper checks first
    when_imported("moto.ssm.models", _install_parameter_names)
    when_imported("moto.cloudformation.parsing", _install_loud_get_att)
    intrinsics.install()
    template_validation.install(context)
    _install_missing_attributes()
    when_imported("moto.cloudformation.models", lambda models: _install_stacks(models, context.endpoint))
    when_imported("moto.cloudformation.responses", _install_processed_templates)
