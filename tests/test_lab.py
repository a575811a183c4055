"""The lab helpers that write an attendee's project: %%save, %%sam and restore's plan."""
import pytest

from gluelab.lab import BlankNotFilled, apply_cell, merge_section

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
    with pytest.raises(ValueError, match=r"statemachine/fixit.asl.json was not saved: .*line 1"):
        apply_cell(files, '%%save statemachine/fixit.asl.json\n{"StartAt": "A",}')
    assert files == {}
