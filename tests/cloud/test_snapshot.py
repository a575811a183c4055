"""A snapshot loads each service's state when that service is first used, and what services
share (a Lambda function writes into the Logs backend it holds) is still shared after it."""
from __future__ import annotations

import io
import zipfile

import boto3
import pytest
from moto import mock_aws

from gluelab.cloud import first_use, snapshot

ACCOUNT, REGION = "123456789012", "us-east-1"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture
def saved(tmp_path):
    """A function, its log group and a parameter, saved as a snapshot; then moto emptied, as
    a new process starts. Yields the state folder and the journal the snapshot covers."""
    with mock_aws():
        session = boto3.Session(region_name=REGION, aws_access_key_id="test",
                                aws_secret_access_key="test")
        role = session.client("iam").create_role(
            RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        session.client("lambda").create_function(
            FunctionName="fn", Runtime="python3.12", Role=role, Handler="app.handler",
            Code={"ZipFile": _zip()})
        session.client("logs").create_log_group(logGroupName="/aws/lambda/fn")
        session.client("ssm").put_parameter(Name="/fixit/phone", Value="+15550100", Type="String")
        journal = tmp_path / "journal.jsonl"
        journal.write_text('{"seed": 1}\n')
        backends = snapshot._backend_dicts()
        snapshot.save(tmp_path, {"count": 1, "lines": 1, "journal_bytes": journal.stat().st_size,
                                 "journal_head": snapshot.head_digest(journal)}, backends)
        for backend_dict in backends.values():
            dict.clear(backend_dict)
        yield tmp_path, journal, session
        first_use.restore_everything()  # nothing of this test is left pending for the next one


def test_each_service_loads_at_first_use_and_shared_objects_stay_shared(saved):
    from moto.awslambda.models import lambda_backends
    from moto.logs.models import logs_backends
    from moto.ssm.models import ssm_backends
    state_dir, journal, session = saved

    assert snapshot.load(state_dir, journal)["lines"] == 1
    assert dict.__len__(ssm_backends) == 0  # not unpickled until something reads it

    function = lambda_backends[ACCOUNT][REGION].get_function("fn")
    # the Logs backend the function writes into is the one the Logs API reads
    assert function.logs_backend is logs_backends[ACCOUNT][REGION]
    groups = session.client("logs").describe_log_groups()["logGroups"]
    assert [group["logGroupName"] for group in groups] == ["/aws/lambda/fn"]
    assert session.client("ssm").get_parameter(Name="/fixit/phone")["Parameter"]["Value"] == \
        "+15550100"


def test_a_snapshot_whose_bytes_changed_is_not_used(saved, capsys):
    state_dir, journal, _ = saved
    path = state_dir / snapshot.FILE
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF  # one flipped bit in the last part, which only a digest notices
    path.write_bytes(bytes(data))

    assert snapshot.load(state_dir, journal) is None
    assert "cannot be read (UnpicklingError); replaying the whole journal instead" in \
        capsys.readouterr().out


def test_a_finished_execution_s_history_comes_back_from_a_snapshot():
    import datetime
    import pickle

    from gluelab.cloud.finished_executions import FinishedExecution
    arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:flow:run-1"
    started = datetime.datetime(2026, 11, 27, 9, 0, tzinfo=datetime.timezone.utc)
    described = {"executionArn": arn, "stateMachineArn": arn.replace("execution", "stateMachine")
                 .rsplit(":", 1)[0], "name": "run-1", "status": "SUCCEEDED", "startDate": started,
                 "stopDate": started, "input": "{}", "output": "{}"}
    events = [{"id": 1, "timestamp": started, "type": "ExecutionStarted"},
              {"id": 2, "timestamp": started, "type": "ExecutionSucceeded"}]
    buffer = io.BytesIO()
    snapshot._Pickler(buffer).dump(FinishedExecution(described, events))
    loaded = pickle.loads(buffer.getvalue())  # its history stays one string until asked for
    assert loaded.to_history_output() == {"events": events}
    assert (loaded.status, loaded.name) == ("SUCCEEDED", "run-1")


def test_a_snapshot_of_an_older_format_is_said_and_the_journal_replayed(saved, capsys):
    import pickle
    state_dir, journal, _ = saved
    (state_dir / snapshot.FILE).write_bytes(pickle.dumps({"format": 1, "moto": "5.2.5"}))

    assert snapshot.load(state_dir, journal) is None
    assert "is of an older format (1); replaying the whole journal instead" in \
        capsys.readouterr().out
