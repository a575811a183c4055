"""Which project a stack was made from, so that a deploy never replaces another project's stack.

Every stack gluelab creates (`gluelab deploy`, a lab's deploy, `gluelab pipeline run`) carries
the tag `gluelab:project`: the folder of the project deployed. A later deploy to the same stack
name from another folder (the finished app in infra/ over the labs' project, or the reverse), or
to a stack some other tool made, is refused before anything changes: updating it would replace
that project's functions, state machine and tables, items included.
"""
from __future__ import annotations

from pathlib import Path

PROJECT_TAG = "gluelab:project"
MAX_TAG_VALUE = 256  # CloudFormation's limit for a stack tag's value


def identity(project: str | Path) -> str:
    """A project's identity: its folder's absolute path (the end of it, if very long)."""
    return str(Path(project).resolve())[-MAX_TAG_VALUE:]


def tag(project: str | Path) -> dict:
    return {"Key": PROJECT_TAG, "Value": identity(project)}


def owner(stack: dict) -> str | None:
    """The project a described stack was made from, or None if no gluelab deploy made it."""
    return next((t["Value"] for t in stack.get("Tags") or [] if t["Key"] == PROJECT_TAG), None)


def foreign(stack: dict, project: str | Path) -> str | None:
    """Why `project` must not update `stack` (which project made it, how to proceed), or None
    when the stack was made from `project`."""
    made_from = owner(stack)
    if made_from == identity(project):
        return None
    name = stack["StackName"]
    made = (f"from the project in {made_from}" if made_from else
            f"by another tool (it has no {PROJECT_TAG} tag, which gluelab deploys set)")
    return (
        f"Stack {name} was made {made}, not from {identity(project)}. Deploying here would "
        f"replace that project's resources, its tables and their items included, so nothing "
        f"was changed. Deploy under another name (e.g. `--stack {name}-2`), or, if that "
        f"stack is no longer wanted, delete it first: `aws cloudformation delete-stack "
        f"--stack-name {name}` (after `eval \"$(gluelab env)\"` on the local cloud).")
