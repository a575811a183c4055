"""State machine diagrams: every state type, labels, colouring from recorded histories."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from gluelab import graph

EVERY_TYPE = {
    "StartAt": "Parse",
    "States": {
        "Parse": {"Type": "Pass", "Next": "Route"},
        "Route": {"Type": "Choice", "Choices": [
            {"Variable": "$.category", "StringEquals": "LIFT", "Next": "Arrange"},
            {"And": [{"Variable": "$.floor", "NumericGreaterThan": 3},
                     {"Variable": "$.urgent", "BooleanEquals": True}], "Next": "Hold"},
            {"Not": {"Variable": "$.city", "IsPresent": True}, "Next": "NoCompany"}],
            "Default": "NoCompany"},
        "Hold": {"Type": "Wait", "Seconds": 5, "Next": "Arrange"},
        "Arrange": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                    "Retry": [{"ErrorEquals": ["Twilio.Transient"], "MaxAttempts": 2}],
                    "Catch": [{"ErrorEquals": ["NoCompanyFound", "States.Timeout"], "Next": "NoCompany"}],
                    "Next": "Notify"},
        "Notify": {"Type": "Parallel", "Next": "Each", "Branches": [
            {"StartAt": "NotifyCompany", "States": {"NotifyCompany": {"Type": "Task",
             "Resource": "arn:aws:lambda:us-east-1:123456789012:function:notify", "End": True}}},
            {"StartAt": "NotifyReporter", "States": {"NotifyReporter": {"Type": "Pass", "End": True}}}]},
        "Each": {"Type": "Map", "ItemsPath": "$.photos", "Next": "Done",
                 "Iterator": {"StartAt": "Store", "States": {"Store": {"Type": "Pass", "End": True}}}},
        "Done": {"Type": "Succeed"},
        "NoCompany": {"Type": "Fail", "Error": "NoCompanyFound", "Cause": "no company"},
    },
}

EDGE = re.compile(r'^\s*(\S+) (-->|-\.->)(?:\|"(.*?)"\|)? (\S+)$')


def edges(mermaid: str) -> set[tuple[str, str, str, str]]:
    """(from, arrow, label, to) for every edge in the emitted Mermaid text."""
    return {(m[1], m[2], m[3] or "", m[4]) for m in map(EDGE.match, mermaid.splitlines()) if m}


def test_every_state_type_becomes_nodes_edges_and_labels():
    text = graph.diagram(EVERY_TYPE).mermaid()
    found = edges(text)
    assert text.startswith("flowchart TD\n")
    assert ("start_", "-->", "", "s_Parse") in found
    assert ("s_Route", "-->", '$.category == #quot;LIFT#quot;', "s_Arrange") in found
    assert ("s_Route", "-->", "($.floor #gt; 3) and ($.urgent == true)", "s_Hold") in found
    assert ("s_Route", "-->", "not ($.city present)", "s_NoCompany") in found
    assert ("s_Route", "-->", "Default", "s_NoCompany") in found
    assert ("s_Hold", "-->", "", "s_Arrange") in found
    assert ("s_Arrange", "-.->", "catch NoCompanyFound, States.Timeout", "s_NoCompany") in found
    assert ("s_Arrange", "-.->", "retry x2", "s_Arrange") in found
    assert ("s_Notify", "-->", "", "s_Each") in found
    assert ("s_Done", "-->", "", "end_") in found
    assert ("s_NoCompany", "-->", "", "end_") in found
    # shapes: Choice diamond, Succeed stadium, Fail subroutine, Wait parallelogram
    assert 's_Route{"Route<br/>Choice"}' in text
    assert 's_Done(["Done<br/>Succeed"])' in text
    assert 's_NoCompany[["NoCompany<br/>Fail: NoCompanyFound"]]' in text
    assert 's_Hold[/"Hold<br/>Wait: Seconds 5"/]' in text
    # what a retry catches sits on the node: a long label on the loop hides under other boxes
    assert 's_Arrange["Arrange<br/>Task: lambda:invoke<br/>retry x2 on Twilio.Transient"]' in text
    assert 's_NotifyCompany["NotifyCompany<br/>Task: notify"]' in text


def test_labels_that_mermaid_would_misread_are_escaped():
    """Mermaid reads "#1;" as character 1, which no SVG may hold: the picture would not show."""
    machine = {"StartAt": "Check #1; a|b", "States": {"Check #1; a|b": {
        "Type": "Pass", "Comment": "<x> & \"y\"", "End": True}}}
    text = graph.diagram(machine).mermaid()
    assert '["Check #35;1; a|b"]' in text
    assert "#1;" not in text.replace("#35;1;", "")


def test_parallel_branches_and_map_iterator_are_subgraphs_holding_their_states():
    lines = [line.strip() for line in graph.diagram(EVERY_TYPE).mermaid().splitlines()]
    notify = lines.index('subgraph s_Notify["Notify (Parallel)"]')
    branch1 = lines.index('subgraph s_Notify__branch_1["branch 1"]')
    branch2 = lines.index('subgraph s_Notify__branch_2["branch 2"]')
    assert notify < branch1 < lines.index('s_NotifyCompany["NotifyCompany<br/>Task: notify"]') < branch2
    assert branch2 < lines.index('s_NotifyReporter["NotifyReporter"]')
    # branch boxes are neutral: Mermaid's default yellow reads like the "retried" colour
    assert "class s_Notify__branch_1,s_Notify__branch_2,s_Each__iterator branch" in lines
    each = lines.index('subgraph s_Each["Each (Map)"]')
    assert each < lines.index('subgraph s_Each__iterator["iterator"]') < lines.index('s_Store["Store"]')


def test_output_is_deterministic_and_ids_come_from_names():
    first = graph.diagram(EVERY_TYPE).mermaid()
    reordered = json.loads(json.dumps(EVERY_TYPE))
    assert graph.diagram(json.dumps(reordered)).mermaid() == first
    assert {s.node_id for s in graph.flatten(EVERY_TYPE).values()} >= {"s_Parse", "s_Store"}


def test_jupyter_bundle_has_mermaid_markdown_and_a_readable_outline():
    bundle = graph.diagram(EVERY_TYPE)._repr_mimebundle_()
    assert bundle["text/vnd.mermaid"].startswith("flowchart TD")
    assert bundle["text/markdown"].startswith("```mermaid\nflowchart TD")
    outline = bundle["text/plain"]
    assert "start: Parse (Pass)" in outline
    assert "    -> Arrange if $.category == \"LIFT\"" in outline
    assert "    catch NoCompanyFound, States.Timeout -> NoCompany" in outline
    assert "  branch 2:\n    start: NotifyReporter (Pass) (end)" in outline


def test_bad_definitions_say_what_is_wrong(tmp_path):
    with pytest.raises(graph.DefinitionError, match="StartAt names 'Nope'"):
        graph.diagram({"StartAt": "Nope", "States": {"A": {"Type": "Pass", "End": True}}})
    with pytest.raises(graph.DefinitionError, match="'A'.*: its next names 'Bee', which is not one"):
        graph.diagram({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Bee"},
                                                  "B": {"Type": "Pass", "End": True}}})
    with pytest.raises(graph.DefinitionError, match="'A'.*: a Catch rule has no 'Next'"):
        graph.diagram({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Resource": "x", "End": True,
                  "Catch": [{"ErrorEquals": ["States.ALL"], "Nxt": "B"}]},
            "B": {"Type": "Pass", "End": True}}})
    with pytest.raises(graph.DefinitionError, match="'A'.*: a choice rule has no 'Next'"):
        graph.diagram({"StartAt": "A", "States": {
            "A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True}],
                  "Default": "B"},
            "B": {"Type": "Pass", "End": True}}})
    broken = tmp_path / "machine.asl.json"
    broken.write_text('{"StartAt": "A",}')
    with pytest.raises(graph.DefinitionError, match="not valid JSON"):
        graph.diagram(str(broken))


# ---- recorded histories ------------------------------------------------------------------

RETRY_MACHINE = {
    "StartAt": "Arrange",
    "States": {
        "Arrange": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:arrange",
                    "Retry": [{"ErrorEquals": ["Transient"], "MaxAttempts": 2}],
                    "Catch": [{"ErrorEquals": ["NoCompanyFound"], "Next": "Apologise"}],
                    "Next": "Store"},
        "Store": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True},
        "Apologise": {"Type": "Pass", "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "NoCompanyFound"},
    },
}


def recorded(*steps) -> dict:
    """A history shaped as boto3 returns it, from (type, details-or-None) steps."""
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    events = []
    for index, (kind, details) in enumerate(steps, 1):
        event = {"id": index, "previousEventId": index - 1, "type": kind,
                 "timestamp": start + timedelta(milliseconds=100 * index)}
        if kind.endswith("StateEntered"):
            event["stateEnteredEventDetails"] = {"name": details, "input": '{"n": 1}'}
        elif kind.endswith("StateExited"):
            event["stateExitedEventDetails"] = {"name": details, "output": '{"n": 2}'}
        elif details:
            event["lambdaFunctionFailedEventDetails"] = {"error": details, "cause": "x"}
        events.append(event)
    return {"events": events}


def test_failed_then_retried_task_is_retried_and_next_states_succeed():
    history = recorded(("ExecutionStarted", None), ("TaskStateEntered", "Arrange"),
                       ("LambdaFunctionScheduled", None), ("LambdaFunctionStarted", None),
                       ("LambdaFunctionFailed", "Transient"),
                       ("LambdaFunctionScheduled", None), ("LambdaFunctionStarted", None),
                       ("LambdaFunctionSucceeded", None), ("TaskStateExited", "Arrange"),
                       ("TaskStateEntered", "Store"), ("TaskScheduled", None), ("TaskStarted", None),
                       ("TaskSucceeded", None), ("TaskStateExited", "Store"),
                       ("ExecutionSucceeded", None))
    assert graph.outcomes(RETRY_MACHINE, history) == {
        "Arrange": "retried", "Store": "succeeded", "Apologise": "not taken", "Failed": "not taken"}
    assert graph.state_io(history, "Store") == [{"input": {"n": 1}, "output": {"n": 2}}]


def test_caught_failure_colours_task_caught_and_handler_path():
    history = recorded(("ExecutionStarted", None), ("TaskStateEntered", "Arrange"),
                       ("LambdaFunctionScheduled", None), ("LambdaFunctionFailed", "NoCompanyFound"),
                       ("TaskStateExited", "Arrange"), ("PassStateEntered", "Apologise"),
                       ("PassStateExited", "Apologise"), ("FailStateEntered", "Failed"),
                       ("ExecutionFailed", None))
    diagram = graph.diagram(RETRY_MACHINE, history)
    assert diagram.outcomes == {"Arrange": "caught", "Apologise": "succeeded", "Failed": "failed",
                                "Store": "not taken"}
    text = diagram.mermaid()
    assert "  class s_Arrange caught" in text
    assert "  class s_Failed failed" in text
    assert "  class s_Store not_taken" in text
    assert "Arrange (Task: arrange)  [caught]" in diagram.outline()


def test_uncaught_failure_is_failed_and_state_io_explains_states_that_never_ran():
    history = recorded(("ExecutionStarted", None), ("TaskStateEntered", "Arrange"),
                       ("LambdaFunctionScheduled", None), ("LambdaFunctionFailed", "Boom"),
                       ("ExecutionFailed", None))
    assert graph.outcomes(RETRY_MACHINE, history)["Arrange"] == "failed"
    with pytest.raises(KeyError, match="never ran"):
        graph.state_io(history, "Store")


def test_html_export_is_standalone_and_coloured(tmp_path):
    history = recorded(("ExecutionStarted", None), ("TaskStateEntered", "Arrange"),
                       ("LambdaFunctionScheduled", None), ("LambdaFunctionFailed", "Boom"),
                       ("ExecutionFailed", None))
    page = graph.diagram(RETRY_MACHINE, history).to_html()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert 'background:#f9d0d0' in page and "Arrange (Task: arrange)  [failed]" in page
    assert "flowchart TD" in page  # the Mermaid source, for pasting elsewhere


def test_a_coloured_diagram_carries_a_legend_of_every_outcome_colour():
    history = recorded(("ExecutionStarted", None), ("TaskStateEntered", "Arrange"),
                       ("LambdaFunctionScheduled", None), ("LambdaFunctionFailed", "Boom"),
                       ("ExecutionFailed", None))
    text = graph.diagram(RETRY_MACHINE, history).mermaid()
    assert "  subgraph legend_[colours]" in text
    for outcome in graph.OUTCOMES:
        assert f"    legend_{outcome.replace(' ', '_')}[{outcome}]" in text
    assert "  class s_Arrange failed" in text
    assert "  class legend_failed failed" in text
    assert "  class legend_running running" in text  # shown even when no state has it
    assert "legend_" not in graph.diagram(RETRY_MACHINE).mermaid()  # nothing coloured, no legend
