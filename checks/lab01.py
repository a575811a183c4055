"""Lab 01 "Start the project and set up git": a committed project, a valid template, a stack."""
from __future__ import annotations

import subprocess

from checks.fixit import STACK, stack
from checks.runner import Context, check_for
from gluelab import config
from gluelab.templates import validate


def _git(ctx: Context, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ctx.settings.workspace, capture_output=True, text=True)


@check_for("01", "Your project is a git repository with a commit that tracks template.yaml",
           hint="Fill the blanks for template.yaml and app.py, run their cells, then run the "
                "`lab.git(...)` cell under \"Put the project in git\".")
def committed(ctx: Context) -> str:
    top = _git(ctx, "rev-parse", "--show-toplevel")
    project = ctx.settings.workspace.resolve()
    assert top.returncode == 0 and top.stdout.strip() == str(project), \
        "the project folder is not a git repository of its own (no `git init` yet)"
    assert _git(ctx, "rev-parse", "--verify", "--quiet", "HEAD").returncode == 0, \
        "the repository has no commit yet"
    tracked = _git(ctx, "ls-files", "--", "template.yaml").stdout.strip()
    assert tracked, "template.yaml is not committed"
    count = _git(ctx, "rev-list", "--count", "HEAD").stdout.strip()
    return f"{count} commit{'s' * (count != '1')}"


@check_for("01", "template.yaml is valid: the SAM transform and cfn-lint accept it",
           hint="Read the problems listed: most often ReceiverFunction is indented wrongly "
                "(two spaces under Resources:, four for Type and Properties) or CodeUri does "
                "not name functions/receiver/.")
def template_valid(ctx: Context) -> str:
    problems = validate(ctx.settings.workspace / "template.yaml")
    assert not problems, "; ".join(problems)
    return ""


@check_for("01", "The stack fixit is deployed, with its ReceiverFunction",
           hint="Run the cell under \"Deploy through the pipeline\" and read the phase that "
                "failed; fix the file it names and run it again.")
def deployed(ctx: Context) -> str:
    status = stack(f"there is no stack {STACK} yet")["StackStatus"]
    assert status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"), f"the stack is {status}"
    resources = config.client("cloudformation").describe_stack_resources(StackName=STACK)["StackResources"]
    assert any(r["LogicalResourceId"] == "ReceiverFunction" for r in resources), \
        "the stack has no ReceiverFunction"
    return status
