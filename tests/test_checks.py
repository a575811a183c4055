"""Lab checks as the attendee meets them: in a notebook, from pytest and from `gluelab check`."""
from __future__ import annotations

import json
import os

import nbformat
import pytest

from checks import CheckFailed, check, progress
from gluelab import notebooks
from gluelab.cli import main
from gluelab.cloud import process

PHONE = "+393331234567"


@pytest.fixture
def fresh_state(local, monkeypatch, tmp_path):
    """The session's local cloud, but a state folder with no saved number and no progress."""
    monkeypatch.setenv("GLUELAB_STATE_DIR", str(tmp_path))
    return tmp_path


def test_lab00_passes_and_saves_the_phone_number(fresh_state):
    report = check("00", MY_PHONE=PHONE)
    assert report.passed
    assert "6 of 6 checks passed" in repr(report)
    assert json.loads((fresh_state / "config.json").read_text())["my_phone"] == PHONE
    assert json.loads((fresh_state / "progress.json").read_text()) == {"00": True}
    assert ("00-welcome", "passed") in progress().rows


@pytest.mark.parametrize("phone, why", [
    ("3331234567", "'3331234567' is not in E.164 format"),
    ("+39 333 123 4567", "'+39 333 123 4567' is not in E.164 format"),
    (393331234567, "MY_PHONE is 393331234567, not a text in quotes"),
])
def test_bad_phone_number_fails_with_the_reason_and_a_hint(fresh_state, phone, why):
    with pytest.raises(CheckFailed) as caught:
        check("00", MY_PHONE=phone)
    text = str(caught.value)
    assert "Lab 00: 5 of 6 checks passed" in text
    assert f"✗ MY_PHONE is your handset number in E.164 format, now saved for later labs: {why}" in text
    assert 'hint: Set MY_PHONE to a "+", your country code' in text
    assert not (fresh_state / "config.json").exists()
    assert ("00-welcome", "failed") in progress().rows


def test_html_report_escapes_what_the_attendee_typed(fresh_state):
    with pytest.raises(CheckFailed) as caught:
        check("00", MY_PHONE="<b>me</b>")
    html = caught.value.report._repr_html_()
    assert "&#x27;&lt;b&gt;me&lt;/b&gt;&#x27; is not in E.164 format" in html
    assert "<b>me</b>" not in html
    assert "<em>Hint:</em>" in html


def test_command_line_uses_the_saved_number(fresh_state, capsys):
    assert main(["check", "00"]) == 1
    out = capsys.readouterr().out
    assert "✗ MY_PHONE is your handset number in E.164 format, now saved for later labs: " \
           "no MY_PHONE was given and no number is saved yet" in out

    check("00", MY_PHONE=PHONE)
    assert main(["check", "00"]) == 0
    assert "Lab 00: 6 of 6 checks passed" in capsys.readouterr().out


def test_unknown_lab_says_which_labs_have_checks(fresh_state, capsys):
    assert main(["check", "0"]) == 2
    assert "There are no checks for lab '0'. Labs with checks: 00" in capsys.readouterr().err


def test_cloud_that_does_not_answer_fails_its_check(fresh_state, monkeypatch):
    def refuse(*args, **kwargs):
        raise process.CloudError("Port 4750 is taken by another program")

    monkeypatch.setattr(process, "start", refuse)
    with pytest.raises(CheckFailed, match="✗ The cloud you work against answers: CloudError: Port 4750 is taken by another program"):
        check("00", MY_PHONE=PHONE)


def test_notebook_shows_the_list_and_a_one_line_error(local, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('from checks import check\ncheck("00", MY_PHONE="12")')]
    env = {**os.environ, **local.env(), "GLUELAB_STATE_DIR": str(tmp_path)}
    outputs = notebooks.execute(nb, cwd=tmp_path, env=env, allow_errors=True).cells[0].outputs

    shown, error = outputs
    assert "✗" in shown.data["text/html"] and "Hint:" in shown.data["text/html"]
    assert error.ename == "CheckFailed"
    assert error.traceback == ["CheckFailed: 1 of 6 checks for lab 00 failed. "
                               "Fix the items marked ✗ above, then run this cell again."]


def test_later_labs_read_the_saved_number_or_the_example(fresh_state):
    from gluelab import config
    assert config.my_phone() == config.EXAMPLE_PHONE
    check("00", MY_PHONE="+447700900123")
    assert config.my_phone() == "+447700900123"


def test_lab02b_does_not_pass_on_a_webhook_left_by_another_run(tmp_path, monkeypatch):
    """Lab 03's restore sets the webhook as lab 02b's solution does; opening lab 02b afterwards
    must not pass its check before the attendee's own cell runs."""
    from gluelab.config import Settings
    from gluelab.lab import Lab, plan_before
    from tests.conftest import running_cloud, use_cloud
    with running_cloud(tmp_path / "state") as handle:
        use_cloud(handle, monkeypatch)
        monkeypatch.chdir(tmp_path)
        settings = Settings("local", handle.port, handle.state_dir, tmp_path / "workspace")
        Lab("03", settings).restore(echo=lambda line: None)  # sets the webhook: a leftover
        lab = Lab("02b", settings)
        lab.restore(echo=lambda line: None)
        with pytest.raises(CheckFailed, match="set before this lab's restore cell ran"):
            check("02b")
        own_cell = plan_before("02b", including=True).setup[-1]
        assert own_cell[0] == "02b-configure-twilio"
        exec(compile(own_cell[1], "<02b solution>", "exec"), {"lab": lab})
        assert check("02b").passed


def test_lab15_first_reason_names_the_missing_authorizer_not_the_outputs(tmp_path, monkeypatch):
    """Run All stops at lab 15's unfilled authorizer cell, so the user pool's outputs are
    missing too; the first failing reason must name the authorizer, the attendee's mistake."""
    from checks import lab15
    from gluelab.lab import plan_before
    monkeypatch.setenv("GLUELAB_WORKSPACE", str(tmp_path))
    (tmp_path / "template.yaml").write_text(plan_before("15").files["template.yaml"])
    monkeypatch.setattr(lab15, "stack_outputs", lambda: {"ApiUrl": "http://127.0.0.1:1/api"})
    with pytest.raises(CheckFailed, match=r"declares no CognitoAuthorizer yet: it goes in "
                       r"Globals > Api > Auth > Authorizers"):
        check("15")


def test_lab07_refuses_the_tables_arn_as_its_name_output(tmp_path, monkeypatch):
    """A newcomer wrote the CompaniesTableName output as !GetAtt CompaniesTable.Arn; DynamoDB
    calls accept an ARN for a name, so the table checks passed. The output must be the name."""
    from gluelab.config import client
    from gluelab.lab import STACK
    from tests.conftest import running_cloud, use_cloud
    template = json.dumps({"Resources": {"CompaniesTable": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "BillingMode": "PAY_PER_REQUEST", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}]}}},
        "Outputs": {"CompaniesTableName": {"Value": {"Fn::GetAtt": ["CompaniesTable", "Arn"]}}}})
    with running_cloud(tmp_path / "state") as handle:
        use_cloud(handle, monkeypatch)
        client("cloudformation").create_stack(StackName=STACK, TemplateBody=template)
        name = client("cloudformation").describe_stack_resource(
            StackName=STACK, LogicalResourceId="CompaniesTable")["StackResourceDetail"]["PhysicalResourceId"]
        with pytest.raises(CheckFailed) as caught:
            check("07")
    text = str(caught.value)
    assert (f"✗ The CompaniesTableName output is the table's name: CompaniesTableName is the table's "
            f"ARN (arn:aws:dynamodb:us-east-1:123456789012:table/{name}), not the table's name {name}") in text
    assert "hint: Write the output as `Value: !Ref CompaniesTable`" in text


def test_after_a_failed_deploy_no_check_judges_the_previous_version(fresh_state):
    # Checks that invoke a function (lab 04's) would pass or fail on what the failed deploy
    # left running; every check says the deploy failed instead, and what to do.
    from gluelab import lab_failures
    lab_failures.failed(lab_failures.DEPLOY, "Policy at index 0 in the 'Policies' property is not valid")
    try:
        with pytest.raises(CheckFailed) as caught:
            check("00", MY_PHONE=PHONE)
    finally:
        lab_failures.forget_all()
    results = caught.value.report.results
    assert {(r.passed, r.hint) for r in results} == {
        (False, "Do what the reason says first, then run the checks again.")}
    assert results[0].detail.startswith("Not checking: your last deploy failed (Policy at index 0 "
                                        "in the 'Policies' property is not valid). The cloud still "
                                        "runs the previous version")
    assert not (fresh_state / "config.json").exists()
