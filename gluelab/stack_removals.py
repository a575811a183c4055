"""Resources of the labs' stack that a deploy would delete, named before it happens.

Going back to an earlier lab rewrites template.yaml with that lab's version (lab 01's first
cell writes the skeleton), and its deploy would then delete what later labs added: tables with
their items, functions, the state machine. A lab's deploy compares the deployed template's
resources with template.yaml's and refuses while any would go, naming each with the lab that
adds it; `lab.deploy(remove=True)` is the attendee's yes. Restore uses the same names to say
what the project holds beyond the lab it opens.
"""
from __future__ import annotations

from pathlib import Path

from botocore.exceptions import ClientError

from gluelab import config
from gluelab.plain_errors import PlainError


class WouldRemoveResources(PlainError, RuntimeError):
    """A lab's deploy would delete resources of the stack that template.yaml no longer has."""


def deployed_resources(stack: str) -> list[str]:
    """The resources of `stack`'s template as deployed (none when there is no stack)."""
    try:
        body = config.client("cloudformation").get_template(
            StackName=stack, TemplateStage="Original")["TemplateBody"]
    except ClientError:  # no such stack: a first deploy removes nothing
        return []
    # gluelab deploys send JSON, which botocore decodes; a stack made otherwise may hold YAML.
    return list(body.get("Resources") or {}) if isinstance(body, dict) else []


def project_resources(project: Path) -> list[str]:
    """The resources template.yaml declares (none while it does not exist)."""
    from gluelab.lab import TEMPLATE, template_resources
    template = project / TEMPLATE
    return template_resources(template.read_text()) if template.is_file() else []


def named(resources: list[str]) -> str:
    """Resources as an attendee knows them: each with the lab that adds it, or as their own."""
    from gluelab.lab import finished_plan
    added_by = finished_plan().added_by
    return ", ".join(f"{name} (lab {added_by[name]})" if name in added_by else f"{name} (yours)"
                     for name in resources)


def refuse_removing(project: Path, stack: str, again: str) -> None:
    """Refuse a deploy of `project` that would delete resources of `stack`, naming them and
    `again`, the call that deletes them."""
    from gluelab.lab import TEMPLATE
    if not (project / TEMPLATE).is_file():
        return  # the deploy itself says that the template is missing
    declared = set(project_resources(project))
    gone = [name for name in deployed_resources(stack) if name not in declared]
    if gone:
        raise WouldRemoveResources(
            f"Not deploying: your template.yaml no longer has {named(gone)}, so this deploy "
            f"would delete them from stack {stack}, with any data they hold. (Going back to an "
            f"earlier lab, its cells rewrite template.yaml with that lab's version.) To delete "
            f"them and go on, run `{again}`; to keep them, put their entries back in "
            f"template.yaml (git has the versions you committed: `git log -p template.yaml`).")


def ahead(project: Path, stack: str, planned: list[str]) -> list[str]:
    """The resources the project's template or its stack has beyond `planned` (a lab's start)."""
    present = dict.fromkeys(project_resources(project) + deployed_resources(stack))
    return [name for name in present if name not in planned]
