"""The lab helpers that write an attendee's project: %%save, %%sam and restore's plan."""
from types import SimpleNamespace

import pytest

from IPython.core.interactiveshell import InteractiveShell

from gluelab import lab_failures
from gluelab.deploy import DeployError
from gluelab.executions import Execution, ExecutionHasNoOutput, wait_for_end
from gluelab.lab import (TEMPLATE, BlankNotFilled, InvalidJson, Lab, _reference_magic, _sam_magic,
                         _save_magic, apply_cell, merge_section, plan_before, reference_text)

SKELETON = """AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31

Resources:
  ReceiverFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/receiver/
"""


def test_sam_cell_adds_a_resource_after_a_blank_line_and_replaces_one_in_place():
    added = merge_section(SKELETON, "Resources", "NotifyFunction:\n  Type: AWS::Serverless::Function\n")
    assert added.endswith("      CodeUri: functions/receiver/\n\n  NotifyFunction:\n"
                          "    Type: AWS::Serverless::Function\n")
    replaced = merge_section(added, "Resources",
                             "ReceiverFunction:\n  Type: AWS::Serverless::Function\n"
                             "  Properties:\n    CodeUri: functions/receiver_v2/\n")
    assert replaced.index("receiver_v2") < replaced.index("NotifyFunction")
    assert "functions/receiver/\n" not in replaced


def test_sam_cell_keeps_comments_above_the_sections_first_entry():
    # They are the attendee's notes; merging a cell into the section dropped them silently.
    noted = SKELETON.replace("Resources:\n", "Resources:\n  # the receiver answers Twilio\n")
    out = merge_section(noted, "Resources", "NotifyFunction:\n  Type: AWS::Serverless::Function\n")
    assert out.startswith(noted.rstrip("\n"))


def test_sam_cell_creates_a_missing_section_at_the_end():
    out = merge_section(SKELETON, "Outputs", "ApiUrl:\n  Value: x\n")
    assert out.endswith("functions/receiver/\n\nOutputs:\n  ApiUrl:\n    Value: x\n")


def test_sam_cell_creates_a_missing_parameters_section_before_resources():
    out = merge_section(SKELETON, "Parameters", "Token:\n  Type: String\n")
    assert "Transform: AWS::Serverless-2016-10-31\n\nParameters:\n  Token:\n    Type: String\n\n" \
           "Resources:\n" in out
    assert merge_section(out, "Parameters", "Url:\n  Type: String\n").count("Parameters:") == 1


def test_cells_with_a_blank_refuse_to_write_anything():
    files = {"template.yaml": SKELETON}
    with pytest.raises(BlankNotFilled, match="YOUR CODE HERE"):
        apply_cell(files, "%%save functions/notify/app.py\n# YOUR CODE HERE\nraise NotImplementedError()")
    with pytest.raises(BlankNotFilled):
        apply_cell(files, "%%sam Resources\nX:\n  # YOUR CODE HERE\n  raise NotImplementedError()")
    assert files == {"template.yaml": SKELETON}


def test_save_cell_writes_the_file_with_one_final_newline_and_plain_code_is_ignored():
    files = {}
    assert apply_cell(files, "%%save functions/notify/app.py\ndef handler(e, c):\n    return 1\n\n") \
        == "functions/notify/app.py"
    assert files["functions/notify/app.py"] == "def handler(e, c):\n    return 1\n"
    assert apply_cell(files, "print('not a file cell')") is None


def test_sam_cell_before_the_template_exists_says_which_lab_creates_it():
    with pytest.raises(FileNotFoundError, match="lab 01"):
        apply_cell({}, "%%sam Resources\nX:\n  Type: T\n")


def test_reference_cell_copies_the_finished_apps_file():
    files = {}
    assert apply_cell(files, "%reference seed/companies.json") == "seed/companies.json"
    assert '"category"' in files["seed/companies.json"]
    with pytest.raises(FileNotFoundError, match="reference app"):
        apply_cell(files, "%reference seed/nothing.json")


def test_save_cell_refuses_invalid_json_and_says_where():
    files = {}
    with pytest.raises(ValueError, match=r"^statemachine/fixit.asl.json not saved: line 2 column 17 "):
        apply_cell(files, '%%save statemachine/fixit.asl.json\n{"StartAt": "A",}')
    assert files == {}


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An open lab's project folder (the repository's workspace/), with nothing remembered
    from another test."""
    monkeypatch.setattr("gluelab.lab.ROOT", tmp_path)
    (tmp_path / "workspace").mkdir()
    monkeypatch.chdir(tmp_path / "workspace")
    lab_failures.forget_all()
    yield tmp_path / "workspace"
    lab_failures.forget_all()


def test_invalid_json_save_keeps_the_old_file_puts_the_text_aside_and_stops_the_demos(project):
    (project / "statemachine").mkdir()
    (project / "statemachine/fixit.asl.json").write_text('{"StartAt": "A"}\n')
    typed = '{\n  "StartAt": "A",\n}'
    # Run as Jupyter runs the cell, whose line 4 is the `}` after a trailing comma.
    shell = InteractiveShell.instance()
    shell.register_magic_function(_save_magic, magic_kind="cell", magic_name="save")
    cell = f"%%save statemachine/fixit.asl.json\n{typed}"
    assert cell.splitlines()[3] == "}"
    with pytest.raises(InvalidJson) as refused:
        shell.run_cell(cell).raise_error()
    assert str(refused.value).startswith(
        "workspace/statemachine/fixit.asl.json not saved: line 4 column 1 of the cell is not valid "
        "JSON: expecting property name enclosed in double quotes. The previous "
        "statemachine/fixit.asl.json is unchanged; your text is kept in "
        "workspace/not-saved/statemachine/fixit.asl.json. Fix the cell")
    assert (project / "statemachine/fixit.asl.json").read_text() == '{"StartAt": "A"}\n'
    assert (project / "not-saved/statemachine/fixit.asl.json").read_text() == typed + "\n"

    # The deploy and the demo cells after it would run the previous version: they refuse.
    lab = Lab("10", SimpleNamespace(workspace=project))
    with pytest.raises(lab_failures.LastStepFailed, match=r"Not deploying: your last %%save "
                       r"statemachine/fixit.asl.json failed .*line 4 column 1"):
        lab.deploy()
    with pytest.raises(lab_failures.LastStepFailed, match="previous version"):
        wait_for_end("arn:aws:states:us-east-1:123456789012:execution:m:e")

    # Another invalid text: the one kept before is not overwritten but copied, and named.
    with pytest.raises(InvalidJson) as again:
        _save_magic("statemachine/fixit.asl.json", '{"StartAt": "B",}')
    earlier = str(again.value).split("what an earlier refusal kept there is now in workspace/")[1]
    earlier = earlier.split(")")[0]
    assert earlier.startswith("replaced-by-save/")
    assert (project / earlier).read_text() == typed + "\n"
    assert (project / "not-saved/statemachine/fixit.asl.json").read_text() == '{"StartAt": "B",}\n'

    _save_magic("statemachine/fixit.asl.json", '{"StartAt": "B"}')
    lab_failures.refuse_if_failed("deploying")  # fixed: nothing refused any more


def test_a_failed_deploy_makes_the_demo_cells_say_so(project, monkeypatch):
    def rolled_back(*args, **kwargs):  # what gluelab.deploy raises when a stack rolls back
        raise DeployError("Stack fixit rolled back: ArrangeFunction: Handler is required.")
    monkeypatch.setattr("gluelab.deploy.deploy", rolled_back)
    lab = Lab("05", SimpleNamespace(workspace=project))
    with pytest.raises(DeployError):
        lab.deploy()
    with pytest.raises(lab_failures.LastStepFailed, match=r"your last deploy failed \(Stack fixit "
                       r"rolled back: ArrangeFunction.*run `lab.deploy\(\)` again"):
        wait_for_end("arn:aws:states:us-east-1:123456789012:execution:m:e")


def test_a_failed_execution_shows_its_failure_instead_of_a_key_error():
    arn = "arn:aws:states:us-east-1:123456789012:execution:fixit-FixitStateMachine:SM1"
    failed = Execution({"name": "SM1", "status": "FAILED", "error": "States.TaskFailed",
                        "cause": "NoCompanyFound: no company for LIFT in Atlantis", "executionArn": arn})
    with pytest.raises(ExecutionHasNoOutput, match="SM1 has no output: it is FAILED with "
                       "States.TaskFailed: NoCompanyFound: no company for LIFT in Atlantis") as caught:
        failed["output"]
    # The history command it suggests runs as written: it names the ARN, not a variable.
    assert f"`executions.history_table(executions.fetch_history('{arn}'))`" in str(caught.value)
    assert failed.get("output") is None


def test_gluelab_errors_show_as_their_message_alone_in_a_notebook(capsys):
    # A refused deploy or save says what to do; a traceback through gluelab's code buried it.
    shell = InteractiveShell.instance()
    shell.run_cell("from gluelab.deploy import DeployError\n"
                   "raise DeployError('Stack fixit was made elsewhere: deploy under another --stack')")
    shown = capsys.readouterr().out
    assert shown.strip() == "DeployError: Stack fixit was made elsewhere: deploy under another --stack"


def test_save_keeps_a_copy_of_the_attendees_file_it_replaces_and_says_where(project, capsys):
    shell = InteractiveShell.instance()
    shell.register_magic_function(_save_magic, magic_kind="cell", magic_name="save")
    app = project / "functions/receiver/app.py"
    app.parent.mkdir(parents=True)
    app.write_text("# my own receiver\n")

    shell.run_cell("%%save functions/receiver/app.py\ndef handler(event, context):\n    return 1\n")
    [said] = capsys.readouterr().out.splitlines()
    copy = said.split("which is kept in workspace/")[1].split(" (copy it back")[0]
    assert said == (f"Saved functions/receiver/app.py; it replaced your own version, which is kept "
                    f"in workspace/{copy} (copy it back to undo).")
    assert copy.startswith("replaced-by-save/") and copy.endswith("/functions/receiver/app.py")
    assert (project / copy).read_text() == "# my own receiver\n"
    assert app.read_text() == "def handler(event, context):\n    return 1\n"

    # The same cell again changes nothing: no copy, no noise.
    shell.run_cell("%%save functions/receiver/app.py\ndef handler(event, context):\n    return 1\n")
    assert capsys.readouterr().out == "Saved functions/receiver/app.py\n"
    # Another version within the same second: a second copy, the first one left as it was.
    shell.run_cell("%%save functions/receiver/app.py\ndef handler(event, context):\n    return 2\n")
    second = capsys.readouterr().out.split("which is kept in workspace/")[1].split(" (copy")[0]
    assert second != copy and (project / second).read_text().endswith("return 1\n")
    assert (project / copy).read_text() == "# my own receiver\n"

    # A version the labs wrote (restore's, an earlier lab's cell) is no work of the attendee's:
    # restore can write it back, so replacing it keeps no copy.
    app.write_text(plan_before("01", including=True).files["functions/receiver/app.py"])
    shell.run_cell("%%save functions/receiver/app.py\ndef handler(event, context):\n    return 3\n")
    assert capsys.readouterr().out == "Saved functions/receiver/app.py\n"
    assert sorted(p.relative_to(project).as_posix() for p in (project / "replaced-by-save").rglob("*.py")) \
        == sorted([copy, second])


def _copy_named(said: str) -> str:
    """The project path of the copy a cell's line names (after `kept in workspace/`)."""
    return said.split("kept in workspace/")[1].split(" (copy it back")[0]


def test_sam_keeps_a_copy_of_the_template_when_it_replaces_an_entry_of_the_attendees(project, capsys):
    shell = InteractiveShell.instance()
    shell.register_magic_function(_sam_magic, magic_kind="cell", magic_name="sam")
    template = project / TEMPLATE
    edited = SKELETON + "      Timeout: 10\n"  # the attendee's own change to the receiver
    template.write_text(edited)

    # Adding an entry loses nothing of the attendee's: no copy, the usual line.
    shell.run_cell("%%sam Resources\nNotifyFunction:\n  Type: AWS::Serverless::Function\n")
    assert capsys.readouterr().out == "template.yaml: Resources now has NotifyFunction\n"
    assert not (project / "replaced-by-sam").exists()
    added = template.read_text()
    assert "Timeout: 10" in added

    # Replacing their edited receiver keeps the template as it was, and says where.
    shell.run_cell("%%sam Resources\nReceiverFunction:\n  Type: AWS::Serverless::Function\n")
    [said] = capsys.readouterr().out.splitlines()
    copy = _copy_named(said)
    assert said == ("template.yaml: Resources now has ReceiverFunction; it replaced your own "
                    f"ReceiverFunction: the template as it was is kept in workspace/{copy} (copy "
                    "it back to undo).")
    assert copy.startswith("replaced-by-sam/") and copy.endswith("/template.yaml")
    assert (project / copy).read_text() == added
    assert "Timeout: 10" not in template.read_text()

    # An entry as the labs write it is no work of the attendee's: replacing it keeps no copy,
    # as in the solutions, where every entry a cell replaces is an earlier lab's.
    labs = plan_before("03", including=True).files[TEMPLATE]
    assert "\n  ReceiverFunction:\n" in labs
    template.write_text(labs)
    shell.run_cell("%%sam Resources\nReceiverFunction:\n  Type: AWS::Serverless::Function\n")
    assert capsys.readouterr().out == "template.yaml: Resources now has ReceiverFunction\n"
    assert [p.relative_to(project).as_posix()
            for p in (project / "replaced-by-sam").rglob("*.yaml")] == [copy]


def test_reference_keeps_a_copy_of_the_attendees_file_it_replaces_and_says_where(project, capsys):
    seed = project / "seed/companies.json"
    seed.parent.mkdir()
    seed.write_text('[{"name": "my own company"}]\n')

    _reference_magic("seed/companies.json")
    [said] = capsys.readouterr().out.splitlines()
    copy = _copy_named(said)
    assert said == ("Copied seed/companies.json from the reference app; it replaced your own "
                    f"version, which is kept in workspace/{copy} (copy it back to undo).")
    assert copy.startswith("replaced-by-reference/") and copy.endswith("/seed/companies.json")
    assert (project / copy).read_text() == '[{"name": "my own company"}]\n'
    assert seed.read_text() == reference_text("seed/companies.json")

    # Copying it again over the reference's own text: nothing to keep, nothing said.
    _reference_magic("seed/companies.json")
    assert capsys.readouterr().out == "Copied seed/companies.json from the reference app\n"
    assert len(list((project / "replaced-by-reference").rglob("*.json"))) == 1
