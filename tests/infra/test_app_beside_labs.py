"""A newcomer's day: the finished app deployed with the README's one command works at once, and
the labs' project lives beside it without harming it (issue 12).

One private local cloud for the module: the labs' stack `fixit` made here must not meet another
test's project of the same stack name in the session's shared cloud.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from checks.fixit import signed_in_token
from gluelab import twilio_local
from gluelab.cli import main
from gluelab.config import ROOT, Settings, client
from gluelab.executions import execution_arn, wait_for_end
from gluelab.lab import STACK as LABS_STACK, Lab, plan_before
from tests.conftest import running_cloud

REPORTER = "+447700900172"  # Ofcom's drama range: never a real phone
SID = re.compile(r"\((SM[0-9a-f]{32})\)")
# The README's command, read from the README itself, so the test follows what a newcomer types.
README_DEPLOY = next(line.split("`")[1] for line in (ROOT / "README.md").read_text().splitlines()
                     if "`gluelab deploy infra --stack" in line)
APP_STACK = shlex.split(README_DEPLOY)[-1]


@pytest.fixture(scope="module")
def own_cloud(tmp_path_factory):
    with running_cloud(tmp_path_factory.mktemp("beside-labs")) as handle, \
            pytest.MonkeyPatch.context() as patch:
        for key, value in handle.env().items():
            patch.setenv(key, value)
        patch.setenv("GLUELAB_WORKSPACE", str(tmp_path_factory.mktemp("labs-workspace")))
        yield handle


@pytest.fixture
def app(own_cloud, monkeypatch, capsys) -> dict[str, str]:
    """The README's command, run from the repository's root as the README says; its outputs.
    Run again by each test: it is idempotent, and a lab's restore takes the number back."""
    monkeypatch.chdir(ROOT)
    assert main(shlex.split(README_DEPLOY)[1:]) == 0, capsys.readouterr().err
    capsys.readouterr()
    stack = client("cloudformation").describe_stacks(StackName=APP_STACK)["Stacks"][0]
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def test_the_readme_names_a_stack_of_its_own():
    assert APP_STACK != LABS_STACK


def test_the_readme_command_gives_an_app_that_answers_texts_and_serves_reports(app, capsys):
    assert main(["sms", "send", "--from", REPORTER, "LIFT stuck between floors 3 and 4, Via Roma 12"]) == 0
    sid = SID.search(capsys.readouterr().out)[1]
    execution = wait_for_end(execution_arn(app["StateMachineArn"], sid))
    assert execution["status"] == "SUCCEEDED", execution
    texts = [m["body"] for m in twilio_local.conversation(REPORTER)]
    assert any("is on the way" in text for text in texts)
    company = client("dynamodb").get_item(TableName=app["ReportsTableName"],
                                          Key={"id": {"S": sid}})["Item"]["companyPhone"]["S"]
    assert any(sid in m["body"] for m in twilio_local.conversation(company))
    token = signed_in_token(app, "staff@example.com", "Fixit-staff-2026!")
    reply = requests.get(f"{app['ApiUrl']}reports/{sid}", headers={"Authorization": token},
                         timeout=10)
    assert reply.status_code == 200 and reply.json()["id"] == sid


def test_sms_send_fails_with_the_functions_own_error_when_the_webhook_fails(app, capsys):
    receiver = client("cloudformation").describe_stack_resource(
        StackName=APP_STACK, LogicalResourceId="ReceiverFunction")["StackResourceDetail"]
    function = receiver["PhysicalResourceId"]
    lambda_ = client("lambda")
    environment = lambda_.get_function_configuration(FunctionName=function)["Environment"]
    # The receiver reads its webhook URL from a parameter its role may not read (its policy
    # names the app's parameters only): AccessDenied, as on AWS, and the function raises.
    broken = {**environment["Variables"], "WEBHOOK_URL_PARAMETER": "/fixit/twilio/missing"}
    lambda_.update_function_configuration(FunctionName=function,
                                          Environment={"Variables": broken})
    try:
        assert main(["sms", "send", "--from", REPORTER, "LIFT stuck again"]) == 1
    finally:
        lambda_.update_function_configuration(FunctionName=function, Environment=environment)
    err = capsys.readouterr().err
    assert f"Function {function} failed; its log says:" in err
    assert "not authorized to perform: ssm:GetParameter on resource: " \
        "arn:aws:ssm:us-east-1:123456789012:parameter/fixit/twilio/missing" in " ".join(err.split())


def snapshot(stack: str, outputs: dict[str, str]) -> dict:
    """What a user of the app would miss: its resources and every item of its tables."""
    resources = client("cloudformation").describe_stack_resources(StackName=stack)["StackResources"]
    tables = {name: client("dynamodb").scan(TableName=outputs[name])["Items"]
              for name in ("CompaniesTableName", "ReportsTableName")}
    return {"resources": sorted((r["LogicalResourceId"], r.get("PhysicalResourceId"), r["ResourceStatus"])
                                for r in resources), "tables": tables}


@pytest.fixture(scope="module")
def labs(own_cloud, tmp_path_factory):
    """The labs' project restored to where lab 14 starts, after the app was deployed and had a
    report stored; with the app's state before and after the restore."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.chdir(ROOT)
    assert main(shlex.split(README_DEPLOY)[1:]) == 0
    outputs = {o["OutputKey"]: o["OutputValue"] for o in client("cloudformation").describe_stacks(
        StackName=APP_STACK)["Stacks"][0]["Outputs"]}
    client("dynamodb").put_item(TableName=outputs["ReportsTableName"],
                                Item={"id": {"S": "SM-kept"}, "category": {"S": "LIFT"}})
    before = snapshot(APP_STACK, outputs)
    workspace = tmp_path_factory.mktemp("labs-project")
    monkeypatch.chdir(workspace)
    lab = Lab("14", Settings("local", own_cloud.port, own_cloud.state_dir, workspace))
    lab.restore(echo=lambda line: None)
    yield lab, before, snapshot(APP_STACK, outputs)
    monkeypatch.undo()


def test_restoring_a_lab_leaves_the_finished_app_untouched(labs):
    lab, before, after = labs
    assert after == before
    assert any(item["id"] == {"S": "SM-kept"} for item in after["tables"]["ReportsTableName"])
    assert lab.outputs()["ReportsTableName"] not in str(before)


def test_deploying_the_app_over_the_labs_stack_is_refused_and_says_how_to_proceed(labs, capsys):
    lab = labs[0]
    resources = client("cloudformation").describe_stack_resources(
        StackName=LABS_STACK)["StackResources"]
    assert main(["deploy", str(ROOT / "infra"), "--stack", LABS_STACK]) == 1
    err = capsys.readouterr().err
    assert f"Stack {LABS_STACK} was made from the project in {lab.project.resolve()}" in err
    assert f"--stack {LABS_STACK}-2" in err and f"delete-stack --stack-name {LABS_STACK}" in err
    assert client("cloudformation").describe_stack_resources(
        StackName=LABS_STACK)["StackResources"] == resources


def test_an_attendees_file_that_passes_the_earlier_labs_checks_is_kept_and_named(labs):
    lab = labs[0]
    receiver = lab.project / "functions" / "receiver" / "app.py"
    mine = receiver.read_text() + "\n# my own improvement, not committed yet\n"
    receiver.write_text(mine)
    lines = []
    lab.restore(echo=lines.append)
    assert "  kept your functions/receiver/app.py: it passes the checks of lab 06, which wrote it " \
        "last" in lines, lines
    assert "(0 rewritten, 1 of yours kept)" in lines[0] and not any("rewrote" in line for line in lines)
    assert receiver.read_text() == mine
    # Committed as it was, under a message of its own (lab 01's setup commit would swallow it).
    assert lab.git("log", "-1", "--format=%s").strip() == (
        "Restore the labs before lab 14: your functions/receiver/app.py as you left them, "
        "before checking them")
    assert lab.git("status", "--porcelain", "--untracked-files=no") == ""


def test_an_attendees_file_that_fails_the_earlier_labs_checks_is_saved_aside_and_named(labs):
    lab = labs[0]
    receiver = lab.project / "functions" / "receiver" / "app.py"
    # Executions no longer named after the MessageSid: lab 06's first check fails.
    mine = receiver.read_text().replace("name=name,", 'name=name + "-mine",')
    receiver.write_text(mine)
    lab.git("commit", "--quiet", "-am", "My own receiver")
    lines = []
    lab.restore(echo=lines.append)
    why = "yours fails lab 06's check: A good report starts one execution, named after its MessageSid"
    saved = [line for line in lines if line.startswith(f"  rewrote functions/receiver/app.py "
                                                       f"with the labs' version ({why}); ")]
    assert len(saved) == 1, lines
    where = saved[0].split("your version is in ")[1]
    assert (lab.project / where).read_text() == mine
    assert receiver.read_text() == lab.git("show", "HEAD:functions/receiver/app.py") != mine
    messages = lab.git("log", "-2", "--format=%s").splitlines()
    assert messages[0] == (f"Restore the labs before lab 14: rewrote functions/receiver/app.py "
                           f"({why}) (your versions are in {where.rsplit('/functions/', 1)[0]}/)")
    assert messages[1] == "My own receiver"
    assert lab.git("status", "--porcelain", "--untracked-files=no") == ""


def test_an_earlier_labs_version_is_replaced_without_being_tried_and_named(labs):
    # A project left at an earlier lab (labs skipped since): its receiver is lab 03's. Tried as
    # the attendee's own, it failed lab 06's checks, or a later setup step, and restore advised
    # a cloud reset.
    lab = labs[0]
    receiver = lab.project / "functions" / "receiver" / "app.py"
    earlier = plan_before("03", including=True).files["functions/receiver/app.py"]
    receiver.write_text(earlier)
    lab.git("commit", "--quiet", "-am", "Where I stopped")
    lines = []
    lab.restore(echo=lines.append)
    assert "(1 rewritten)" in lines[0], lines
    [line] = lines[1:]
    assert line.startswith("  rewrote functions/receiver/app.py with the labs' version (it was an "
                           "earlier lab's version); your version is in saved-by-restore/"), line
    assert receiver.read_text() == plan_before("14").files["functions/receiver/app.py"]
    assert lab.git("log", "-1", "--format=%s").strip().startswith(
        "Restore the labs before lab 14: rewrote functions/receiver/app.py (it was an earlier "
        "lab's version)")
    assert lab.git("status", "--porcelain", "--untracked-files=no") == ""


def test_logs_and_executions_take_logical_names_and_stacks(labs, app, capsys):
    assert main(["sms", "send", "--from", REPORTER, "WATER leak under the sink, Via Po 3"]) == 0
    sid = SID.search(capsys.readouterr().out)[1]
    wait_for_end(execution_arn(app["StateMachineArn"], sid))
    receiver = client("cloudformation").describe_stack_resource(
        StackName=APP_STACK, LogicalResourceId="ReceiverFunction")["StackResourceDetail"]
    assert main(["logs", "ReceiverFunction", "--stack", APP_STACK]) == 0
    assert capsys.readouterr().out.startswith(f"{receiver['PhysicalResourceId']}: ")
    for command in (["executions", "FixitStateMachine", "--stack", APP_STACK],
                    ["executions", "--stack", APP_STACK]):
        assert main(command) == 0
        assert sid in capsys.readouterr().out
    # The labs' stack has a ReceiverFunction too: without --stack, gluelab asks which.
    assert main(["logs", "ReceiverFunction"]) == 1
    assert "ReceiverFunction is a function of stacks" in capsys.readouterr().err


def readme_blocks(section: str, until: str) -> list[str]:
    text = (ROOT / "infra" / "README.md").read_text()
    part = text[text.index(section):text.index(until)]
    return [block.split("```", 1)[0] for block in part.split("```bash\n")[1:]]


def test_infra_readmes_local_commands_work_as_written(own_cloud):
    """The local deploy, the report read through the API, the Twilio set-up by hand: run as
    written, with the AWS CLI v1 the package installs, in one shell."""
    blocks = readme_blocks("## Deploy on the local cloud", "## Deploy on real AWS")
    assert len(blocks) == 3
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-xeuo", "pipefail", "-c", "\n".join(blocks)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr  # -x: stderr shows each command
    assert '"category": "LIFT"' in done.stdout.replace('":"', '": "')
    stored = client("ssm").get_parameter(Name="/fixit/twilio/webhook_url")["Parameter"]["Value"]
    assert stored.startswith("http://127.0.0.1:") and stored.endswith("/sms")


def test_going_back_to_lab_01_says_what_the_project_holds_and_its_deploy_asks_before_deleting(labs):
    """Last in the module: it deletes the later labs' resources from the labs' stack."""
    from gluelab.lab import TEMPLATE, plan_before
    from gluelab.stack_removals import WouldRemoveResources
    later, _, _ = labs
    first = Lab("01", later.settings)
    lines = []
    first.restore(echo=lines.append)
    assert lines[0] == "Lab 01 starts from scratch: nothing to restore, and nothing was changed"
    assert lines[1].startswith("Your project is ahead of the start of lab 01: template.yaml or "
                               f"stack {LABS_STACK} has ReceiverFunction (lab 01), NotifyFunction "
                               "(lab 04), FixitStateMachine (lab 05), CompaniesTable (lab 07), ArrangeFunction (lab 08), "
                               "ReportsTable (lab 13), and restore kept them."), lines
    # Lab 01's first cell writes its skeleton template, as %%save does; the deploy refuses.
    (first.project / TEMPLATE).write_text(plan_before("01", including=True).files[TEMPLATE])
    kept = client("cloudformation").describe_stack_resources(StackName=LABS_STACK)["StackResources"]
    with pytest.raises(WouldRemoveResources) as refused:
        first.deploy()
    assert str(refused.value).startswith(
        "Not deploying: your template.yaml no longer has NotifyFunction (lab 04), "
        "FixitStateMachine (lab 05), CompaniesTable (lab 07), ArrangeFunction (lab 08), "
        f"ReportsTable (lab 13), so this deploy would delete them from stack {LABS_STACK}")
    assert "run `lab.deploy(remove=True)`" in str(refused.value)
    assert client("cloudformation").describe_stack_resources(
        StackName=LABS_STACK)["StackResources"] == kept
    # The attendee's yes.
    first.deploy(remove=True)
    left = {r["LogicalResourceId"] for r in client("cloudformation").describe_stack_resources(
        StackName=LABS_STACK)["StackResources"]}
    assert "ReceiverFunction" in left and "ReportsTable" not in left
