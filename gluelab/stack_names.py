"""Names as a template writes them (`ReceiverFunction`, `FixitStateMachine`), turned into the
physical names the service APIs take (`fixit-ReceiverFunction-N5LOWFBFUH5Z`, an ARN), through
the stacks' resources. `gluelab logs` and `gluelab executions` use it, with or without --stack.
"""
from __future__ import annotations

from botocore.exceptions import ClientError

from gluelab import config

FUNCTION = "AWS::Lambda::Function"
STATE_MACHINE = "AWS::StepFunctions::StateMachine"
_KIND = {FUNCTION: "function", STATE_MACHINE: "state machine"}


def _stacks() -> list[str]:
    pages = config.client("cloudformation").get_paginator("describe_stacks").paginate()
    return [s["StackName"] for page in pages for s in page["Stacks"]
            if s["StackStatus"] != "DELETE_COMPLETE"]


def _resources(stack: str, resource_type: str) -> dict[str, str]:
    """Logical id -> physical id of a stack's resources of one type."""
    try:
        resources = config.client("cloudformation").describe_stack_resources(
            StackName=stack)["StackResources"]
    except ClientError as exc:
        raise LookupError(f"No stack {stack!r}: {exc.response['Error']['Message']}. "
                          f"Stacks: {', '.join(_stacks()) or 'none yet'}.") from None
    return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources
            if r["ResourceType"] == resource_type and r.get("PhysicalResourceId")}


def in_stack(stack: str, resource_type: str) -> list[str]:
    """The physical ids of a stack's resources of one type (e.g. its state machines' ARNs)."""
    return list(_resources(stack, resource_type).values())


def physical(name: str, resource_type: str, stack: str | None = None) -> str:
    """The physical id for `name`: a logical id in `stack` (or in the one stack that has it),
    else `name` itself (already a physical name or an ARN)."""
    kind = _KIND[resource_type]
    if stack:
        resources = _resources(stack, resource_type)
        if name in resources:
            return resources[name]
        if name in resources.values():
            return name
        raise LookupError(f"Stack {stack} has no {kind} {name!r}; its {kind}s: "
                          f"{', '.join(resources) or 'none'}.")
    found = {s: r[name] for s in _stacks() if name in (r := _resources(s, resource_type))}
    if len(found) > 1:
        raise LookupError(f"{name} is a {kind} of stacks {', '.join(found)}: say which, e.g. "
                          f"--stack {next(iter(found))}.")
    return next(iter(found.values()), name)


def logical(physical_id: str, resource_type: str) -> tuple[str, str] | None:
    """(stack, logical id) of the stack resource with this physical id; None if no stack made it."""
    for stack in _stacks():
        for logical_id, physical_name in _resources(stack, resource_type).items():
            if physical_name == physical_id:
                return stack, logical_id
    return None
