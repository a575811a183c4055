"""Against a real local cloud: a failed-then-caught execution, function logs and the ledger."""
from __future__ import annotations

import json
import time
import uuid

import pytest

from gluelab import config, cost, executions, graph, logs
from gluelab.cli import main

pytestmark = pytest.mark.cloud

# Fetch fails (no such table), is retried once, fails again and is caught; the Parallel's
# Fail branch is caught by the Parallel's Catch; the execution then ends in a Fail state.
# The failing branch waits a second first: a failed branch cancels the others, and without the
# pause whether Ok had run yet was a race.
CAUGHT_MACHINE = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": {"id": "x"}, "ResultPath": "$.item", "Next": "Fetch"},
        "Fetch": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
                  "Parameters": {"TableName": "NoSuchTable", "Key": {"id": {"S": "x"}}},
                  "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 1, "IntervalSeconds": 1}],
                  "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Fanout"}],
                  "Next": "Done"},
        "Fanout": {"Type": "Parallel", "Next": "Done",
                   "Branches": [
                       {"StartAt": "Pause", "States": {
                           "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Boom"},
                           "Boom": {"Type": "Fail", "Error": "NoCompanyFound"}}},
                       {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": True}}}],
                   "Catch": [{"ErrorEquals": ["NoCompanyFound"], "Next": "Apologise"}]},
        "Apologise": {"Type": "Pass", "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "NoCompanyFound"},
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture(scope="module")
def caught_run(cloud):
    """One real execution of CAUGHT_MACHINE (module-scoped: the retry sleeps one second)."""
    env = {**cloud.env(), "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        sfn = config.client("stepfunctions")
        name = f"caught-{uuid.uuid4().hex[:8]}"
        # IAM is enforced: the role may read items, so Fetch meets the missing table itself.
        role = config.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")
        config.client("iam").put_role_policy(
            RoleName=name, PolicyName="read", PolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"}]}))
        arn = sfn.create_state_machine(name=name, definition=json.dumps(CAUGHT_MACHINE),
                                       roleArn=role["Role"]["Arn"])["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, name="run-1", input="{}")["executionArn"]
        deadline = time.time() + 20
        while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
            assert time.time() < deadline, "the execution did not finish in 20 s"
            time.sleep(0.1)
    return name, arn, execution


def test_failed_then_caught_execution_colours_the_right_states(local, caught_run):
    name, _, execution = caught_run
    diagram = executions.machine_diagram(name, execution)
    assert diagram.outcomes == {
        "Prepare": "succeeded", "Fetch": "caught", "Fanout": "caught", "Pause": "succeeded",
        "Boom": "failed",
        "Ok": "succeeded", "Apologise": "succeeded", "Failed": "failed", "Done": "not taken"}
    assert "  class s_Fanout,s_Fetch caught" in diagram.mermaid()
    fetch = graph.state_io(executions.fetch_history(execution), "Fetch")
    assert fetch[0]["output"]["error"]["Error"] == "DynamoDB.ResourceNotFoundException"


def test_execution_list_and_history_table(local, caught_run):
    name, _, execution = caught_run
    listed = executions.executions(name).records()
    assert [(r["execution"], r["status"]) for r in listed] == [("run-1", "FAILED")]
    assert 1.9 < listed[0]["duration s"] < 11  # the one-second retry interval and pause
    table = executions.history_table(executions.fetch_history(execution))
    rows = table.records()
    failed = [r for r in rows if r["type"] == "TaskFailed"]
    assert [r["state"] for r in failed] == ["Fetch", "Fetch"]
    assert failed[0]["detail"].startswith("DynamoDB.ResourceNotFoundException")
    assert next(r for r in rows if r["type"] == "ParallelStateFailed")["state"] == "Fanout"
    assert "TaskFailed" in str(table) and "<table>" in table._repr_html_()


def test_cli_graph_and_executions(local, caught_run, capsys):
    name, _, execution = caught_run
    assert main(["graph", name, "--execution", execution]) == 0
    assert "Fetch (Task: dynamodb:getItem)  [caught]" in capsys.readouterr().out
    assert main(["executions", name]) == 0
    assert "run-1" in capsys.readouterr().out
    assert main(["graph", "no-such-machine"]) == 1
    assert "No state machine named 'no-such-machine'" in capsys.readouterr().err


def put_lines(function: str, lines: list[str]) -> None:
    client = config.client("logs")
    group = logs.log_group(function)
    client.create_log_group(logGroupName=group)
    client.create_log_stream(logGroupName=group, logStreamName="2025/06/01/[$LATEST]abc")
    start = int(time.time() * 1000)
    client.put_log_events(logGroupName=group, logStreamName="2025/06/01/[$LATEST]abc",
                          logEvents=[{"timestamp": start + i, "message": m} for i, m in enumerate(lines)])


def report(request_id: str, duration: float, billed: int, memory: int, init: float | None = None) -> str:
    line = (f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: {billed} ms"
            f"\tMemory Size: {memory} MB\tMax Memory Used: 45 MB")
    return line + (f"\tInit Duration: {init:.2f} ms" if init else "")


KNOWN_RUN = [
    "importing handler",
    "START RequestId: r-1 Version: $LATEST", "arranging LIFT", "END RequestId: r-1",
    report("r-1", 12.34, 13, 128, init=210.55),
    "START RequestId: r-2 Version: $LATEST",
    "[ERROR]\t2025-06-01T00:00:00.000Z\tr-2\tNoCompanyFound: no company for HEAT",
    "Traceback (most recent call last):\n  File \"app.py\", line 3, in handler",
    "END RequestId: r-2", report("r-2", 999.5, 1000, 512),
    "START RequestId: r-3 Version: $LATEST",
    "2025-06-01T00:00:03.000Z r-3 Task timed out after 3.00 seconds",
    "END RequestId: r-3", report("r-3", 3000.0, 3000, 256),
]


def test_logs_group_lines_per_invocation_and_mark_errors(local, capsys):
    function = f"arrange-{uuid.uuid4().hex[:6]}"
    put_lines(function, KNOWN_RUN)
    found = logs.recent_invocations(function)
    assert [i.request_id for i in found] == ["r-1", "r-2", "r-3"]
    first, second, third = found
    assert first.lines == ["importing handler", "arranging LIFT"] and first.cold_start
    assert first.metrics["Init Duration"] == 210.55 and not first.errors
    assert len(second.errors) == 2 and not second.cold_start
    assert third.errors == ["2025-06-01T00:00:03.000Z r-3 Task timed out after 3.00 seconds"]
    assert main(["logs", function]) == 0
    out = capsys.readouterr().out
    assert "RequestId r-1  12.34 ms (billed 13 ms), 45/128 MB, cold start 210.55 ms" in out
    assert "  ! [ERROR]" in out
    with pytest.raises(LookupError, match="does not exist"):
        logs.recent_invocations("never-invoked")


def test_ledger_totals_match_known_invocations_and_executions(local, caught_run):
    function = f"notify-{uuid.uuid4().hex[:6]}"
    put_lines(function, KNOWN_RUN)
    name, _, _ = caught_run
    used = cost.ledger(functions=[function], state_machines=[name], sms_sent=6)
    use = used.functions[function]
    assert (use.invocations, use.billed_ms, use.cold_starts, use.errors) == (3, 4013, 1, 2)
    expected_gb_s = 0.013 * 128 / 1024 + 1.0 * 512 / 1024 + 3.0 * 256 / 1024
    assert use.gb_seconds == pytest.approx(expected_gb_s)
    # 7 states entered (Prepare, Fetch, Fanout, Boom, Ok, Apologise, Failed) + Fetch's one retry
    assert used.state_machines[name].executions == 1
    assert used.state_machines[name].transitions == 9
    projection = used.project(reports_run=2, reports_per_day=100, days=30)
    scale = 100 * 30 / 2
    assert projection.subtotal("Step Functions") == pytest.approx(9 * scale / 1000 * 0.025)
    assert projection.subtotal("Twilio") == pytest.approx((3000 + 6 * scale) * cost.TWILIO_SMS_US_2025)
    compute = next(l for l in projection.lines if l.item == "compute")
    assert compute.usd == pytest.approx(expected_gb_s * scale * cost.PRICES_2025.lambda_per_gb_second)
