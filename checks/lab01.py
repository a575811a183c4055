"""Lab 01 "Start the project and set up git": a committed project, a valid template, a stack
whose receiver answers with the hello the lab asks for."""
from __future__ import annotations

import subprocess

from checks.fixit import STACK, invoke, physical_id, stack, twiml_messages
from checks.runner import Context, Hinted, check_for
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
    # Warnings do not make it invalid, but the attendee sees what cfn-lint would print.
    return "; ".join(f"warning: {w}" for w in problems.warnings)


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


HELLO = "Hello from Fixit!"
ANSWER_HINT = ("Make handler return {\"statusCode\": 200, \"headers\": {\"Content-Type\": "
               "\"text/xml\"}, \"body\": twiml(\"Hello from Fixit!\")}: the keys spelt exactly so, "
               "as API Gateway reads them. Run the app.py cell again, then the pipeline cell.")


@check_for("01", "The deployed receiver answers with a TwiML hello: 200, Content-Type text/xml",
           hint=ANSWER_HINT)
def answers_hello(ctx: Context) -> str:
    try:
        receiver = physical_id("ReceiverFunction", f"the stack {STACK} has no ReceiverFunction yet")
    except AssertionError as exc:
        raise Hinted(str(exc), "Deploy first: run the cell under \"Deploy through the pipeline\".") from None
    error, answer = invoke(receiver, {})
    if error and str(answer.get("errorMessage")).endswith("No module named 'twilio'"):
        raise Hinted(f"the function failed: {answer.get('errorType')}: {answer.get('errorMessage')}",
                     "Run the `%reference functions/receiver/requirements.txt` cell, then the "
                     "pipeline cell: Lambda's Python runtime has boto3 but not twilio, which the "
                     "function gets only when its requirements.txt names it.")
    if error:
        raise Hinted(f"the function failed: {answer.get('errorType')}: {answer.get('errorMessage')}",
                     "Read the error: it names the line of app.py that failed. Fix it, run the "
                     "app.py cell again, then the pipeline cell.")
    assert isinstance(answer, dict), f"the function returned {answer!r}, not a dict"
    wrong = sorted(set(answer) - {"statusCode", "headers", "body", "isBase64Encoded",
                                  "multiValueHeaders", "cookies"})
    assert not wrong, (f"the answer has the key{'s' * (len(wrong) > 1)} {', '.join(map(repr, wrong))}, "
                       f"which API Gateway ignores: it reads statusCode, headers and body")
    assert answer.get("statusCode") == 200, f"statusCode is {answer.get('statusCode')!r}, not 200"
    content_type = (answer.get("headers") or {}).get("Content-Type")
    assert content_type == "text/xml", (
        f"the Content-Type header is {content_type!r}, not 'text/xml' (headers: {answer.get('headers')})")
    messages = twiml_messages(answer.get("body") or "")
    assert messages == [HELLO], f"the TwiML's messages are {messages}, not [{HELLO!r}]"
    return f"200 text/xml <Message>{HELLO}</Message>"
