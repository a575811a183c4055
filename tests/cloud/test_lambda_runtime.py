"""The local cloud runs Lambda functions like Lambda does: real handler code from the deployed zip,
in warm worker processes, with Lambda's context, timeouts, errors, logs and concurrency."""
from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import re
import signal
import textwrap
import threading
import time
import uuid
import zipfile

import boto3
import pytest
from botocore.exceptions import BotoCoreError

from gluelab import faults
from gluelab.cloud import process
from tests.conftest import CloudHandle, free_port


def clients(endpoint: str):
    options = dict(endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
    return {name: boto3.client(name, **options)
            for name in ("iam", "lambda", "logs", "ssm", "stepfunctions")}


def zipped(source: str, files: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", textwrap.dedent(source))
        for path, text in (files or {}).items():
            archive.writestr(path, text)
    return buffer.getvalue()


# IAM is enforced: these handlers read and write SSM parameters, the state machines call them.
# (What a role without the policy meets is tests/cloud/test_refusals_iam.py's subject.)
SSM_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:PutParameter"], "Resource": "*"}]})
INVOKE_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"}]})
MACHINE_ROLE = "arn:aws:iam::123456789012:role/sfn"


def deploy(aws, source: str, name: str | None = None, files: dict[str, str] | None = None,
           **config) -> str:
    name = name or f"fn-{uuid.uuid4().hex[:8]}"
    role = aws["iam"].create_role(RoleName=f"role-{name}", AssumeRolePolicyDocument="{}")
    aws["iam"].put_role_policy(RoleName=f"role-{name}", PolicyName="ssm",
                               PolicyDocument=SSM_POLICY)
    aws["lambda"].create_function(
        FunctionName=name, Role=role["Role"]["Arn"], Code={"ZipFile": zipped(source, files)},
        **{"Runtime": "python3.11", "Handler": "app.handler", **config})
    return name


def invoke(aws, name: str, event=None) -> tuple[dict, dict]:
    reply = aws["lambda"].invoke(FunctionName=name, Payload=json.dumps(event or {}),
                                 LogType="Tail")
    return json.loads(reply["Payload"].read()), reply


def tail(reply: dict) -> str:
    return base64.b64decode(reply["LogResult"]).decode()


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_until(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


PID_HANDLER = """
    import os, time
    def handler(event, context):
        started = time.time()
        time.sleep(event.get("sleep", 0))
        return {"pid": os.getpid(), "greeting": os.environ.get("GREETING"), "code": "v1",
                "ran": [started, time.time()]}
"""


@pytest.fixture
def aws(local):
    aws = clients(local.endpoint)
    try:
        aws["iam"].get_role(RoleName="sfn")
    except aws["iam"].exceptions.NoSuchEntityException:
        aws["iam"].create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")
        aws["iam"].put_role_policy(RoleName="sfn", PolicyName="invoke", PolicyDocument=INVOKE_POLICY)
    return aws


def test_handler_gets_lambda_environment_and_context(aws, local):
    name = deploy(aws, """
        import os
        def handler(event, context):
            keys = ["AWS_ENDPOINT_URL", "GLUELAB_CLOUD_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
                    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_LAMBDA_FUNCTION_NAME",
                    "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "TABLE_NAME"]
            return {"event": event, "env": {key: os.environ.get(key) for key in keys},
                    "context": {"request_id": context.aws_request_id,
                                "remaining_ms": context.get_remaining_time_in_millis(),
                                "name": context.function_name,
                                "version": context.function_version,
                                "arn": context.invoked_function_arn,
                                "memory": context.memory_limit_in_mb,
                                "group": context.log_group_name,
                                "stream": context.log_stream_name}}
    """, MemorySize=256, Timeout=7, Environment={"Variables": {"TABLE_NAME": "Tickets"}})
    result, reply = invoke(aws, name, {"body": "LIFT stuck"})
    assert result["event"] == {"body": "LIFT stuck"}
    # The function's role credentials, as Lambda hands them (STS temporary keys start ASIA).
    assert result["env"].pop("AWS_ACCESS_KEY_ID").startswith("ASIA")
    assert result["env"].pop("AWS_SECRET_ACCESS_KEY") not in (None, "", "test")
    assert result["env"] == {
        "AWS_ENDPOINT_URL": local.endpoint, "GLUELAB_CLOUD_URL": local.endpoint,
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": name, "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "TABLE_NAME": "Tickets"}
    context = result["context"]
    assert 0 < context["remaining_ms"] <= 7000
    assert context["name"] == name and context["version"] == "$LATEST"
    assert context["arn"] == f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
    assert context["memory"] == "256"
    assert context["group"] == f"/aws/lambda/{name}"
    assert f"START RequestId: {context['request_id']} Version: $LATEST" in tail(reply)
    assert context["stream"] in {s["logStreamName"] for s in aws["logs"].describe_log_streams(
        logGroupName=f"/aws/lambda/{name}")["logStreams"]}


def test_handler_code_imports_what_lambda_provides_and_what_its_requirements_name(aws):
    # Lambda's Python runtime has the standard library, boto3 and its dependencies; a function
    # imports anything else only from its package (what `sam build` installs from its
    # requirements.txt): "Runtime.ImportModuleError: Unable to import module 'app': No module
    # named 'twilio'" (AWS Lambda Developer Guide, Troubleshoot deployment/invocation issues).
    source = """
        import importlib
        import boto3, twilio, requests
        def handler(event, context):
            boto3.client("ssm").put_parameter(Name=event["name"], Value="on call", Type="String")
            refused = {}
            for module in ("gluelab", "moto", "jwt"):
                try:
                    importlib.import_module(module)
                except ModuleNotFoundError as exc:
                    refused[module] = str(exc)
            import yaml
            return {"twilio": twilio.__version__, "refused": refused, "yaml": yaml.VENDORED}
    """
    forgot = deploy(aws, source)
    result, reply = invoke(aws, forgot)
    assert reply["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Runtime.ImportModuleError"
    assert result["errorMessage"] == "Unable to import module 'app': No module named 'twilio'"

    parameter = f"/fixit/{uuid.uuid4().hex[:8]}"
    named = deploy(aws, source, files={
        "requirements.txt": "# what Lambda lacks\ntwilio>=9.0,<10  # SMS\nno-such-dist-here\n",
        "yaml/__init__.py": "VENDORED = True\n"})  # a package the zip brings is its own
    result, reply = invoke(aws, named, {"name": parameter})
    assert "FunctionError" not in reply, result
    # twilio's own dependencies (requests, PyJWT's jwt) come with it, as pip installs them;
    # gluelab, which the runtime loads for the Twilio stand-in, and moto are not the function's.
    assert result["refused"] == {"gluelab": "No module named 'gluelab'",
                                 "moto": "No module named 'moto'"}
    assert result["twilio"] and result["yaml"] is True
    # What the workshop's environment lacks the local cloud cannot install offline: it says so.
    assert ("[WARNING] requirements.txt names no-such-dist-here, which the workshop's "
            "environment does not have") in tail(reply)
    assert aws["ssm"].get_parameter(Name=parameter)["Parameter"]["Value"] == "on call"


def test_other_runtimes_and_missing_modules_give_clear_errors(aws):
    node = deploy(aws, "exports.handler = async () => 1", Runtime="nodejs20.x",
                  Handler="index.handler")
    result, reply = invoke(aws, node)
    assert reply["FunctionError"] == "Unhandled"
    assert "nodejs20.x" in result["errorMessage"] and "python3" in result["errorMessage"]
    typo = deploy(aws, "def handler(event, context): return 1", Handler="ap.handler")
    result, reply = invoke(aws, typo)
    assert reply["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Runtime.ImportModuleError"
    assert result["errorMessage"] == "Unable to import module 'ap': No module named 'ap'"


def test_failing_init_and_a_process_that_exits_are_reported_like_lambda(aws):
    broken = deploy(aws, """
        raise RuntimeError("TABLE_NAME is not set")
        def handler(event, context):
            return 1
    """)
    result, reply = invoke(aws, broken)
    assert reply["FunctionError"] == "Unhandled"
    assert (result["errorType"], result["errorMessage"]) == ("RuntimeError",
                                                             "TABLE_NAME is not set")
    assert "[ERROR] RuntimeError: TABLE_NAME is not set" in tail(reply)
    exits = deploy(aws, """
        import os
        def handler(event, context):
            if event.get("exit"):
                os._exit(3)
            return os.getpid()
    """)
    result, reply = invoke(aws, exits, {"exit": True})
    assert result["errorType"] == "Runtime.ExitError"
    assert result["errorMessage"].endswith("Runtime exited with error: exit status 3")
    assert isinstance(invoke(aws, exits)[0], int)


def test_unhandled_exception_comes_back_in_lambdas_error_shape(aws):
    name = deploy(aws, """
        class TicketRejected(Exception):
            pass
        def handler(event, context):
            print("checking", event["body"])
            raise TicketRejected("no site code in " + repr(event["body"]))
    """)
    result, reply = invoke(aws, name, {"body": "hello"})
    assert reply["FunctionError"] == "Unhandled"
    assert result["errorType"] == "TicketRejected"
    assert result["errorMessage"] == "no site code in 'hello'"
    assert "raise TicketRejected" in "".join(result["stackTrace"])
    log = tail(reply)
    assert "checking hello" in log
    assert "[ERROR] TicketRejected: no site code in 'hello'\nTraceback (most recent call last):" in log


def test_timeout_kills_the_worker_and_the_next_invoke_cold_starts(aws):
    name = deploy(aws, PID_HANDLER, Timeout=1)
    first, _ = invoke(aws, name)
    started = time.monotonic()
    result, reply = invoke(aws, name, {"sleep": 5})
    assert time.monotonic() - started < 4.5  # killed at its 1 s timeout, not after its 5 s sleep
    assert reply["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Sandbox.Timedout"
    assert result["errorMessage"].endswith("Error: Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in tail(reply)
    assert wait_until(lambda: not alive(first["pid"]))
    again, reply = invoke(aws, name)
    assert again["pid"] != first["pid"]
    assert "Init Duration:" in tail(reply)


def test_logs_carry_lambdas_start_end_report_lines_per_worker_stream(aws):
    name = deploy(aws, """
        import logging
        logger = logging.getLogger()
        logger.setLevel(logging.INFO)
        print("cold start")
        def handler(event, context):
            print("ticket", event["n"])
            logger.info("stored")
            return event["n"]
    """)
    replies = [invoke(aws, name, {"n": n})[1] for n in (1, 2)]
    streams = aws["logs"].describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1
    stream = streams[0]["logStreamName"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream)
    lines = [event["message"] for event in aws["logs"].get_log_events(
        logGroupName=f"/aws/lambda/{name}", logStreamName=stream)["events"]]
    ids = [re.search(r"START RequestId: (\S+)", tail(reply)).group(1) for reply in replies]
    assert lines[:4] == ["cold start", f"START RequestId: {ids[0]} Version: $LATEST",
                         "ticket 1", lines[3]]
    assert re.fullmatch(rf"\[INFO\]\t\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z\t{ids[0]}\tstored",
                        lines[3])
    assert lines[4] == f"END RequestId: {ids[0]}"
    report = r"REPORT RequestId: {}\tDuration: (\d+\.\d\d) ms\tBilled Duration: (\d+) ms" \
             r"\tMemory Size: 128 MB\tMax Memory Used: \d+ MB"
    cold = re.fullmatch(report.format(ids[0]) + r"\tInit Duration: \d+\.\d\d ms", lines[5])
    warm = re.fullmatch(report.format(ids[1]), lines[-1])
    assert cold and warm, lines
    for match in (cold, warm):
        assert int(match.group(2)) == max(1, math.ceil(float(match.group(1))))
    assert lines[6:9] == [f"START RequestId: {ids[1]} Version: $LATEST", "ticket 2", lines[8]]
    assert tail(replies[1]).endswith(lines[-1])


def test_warm_worker_is_reused_until_code_or_configuration_changes(aws):
    name = deploy(aws, PID_HANDLER)
    first, _ = invoke(aws, name)
    assert invoke(aws, name)[0]["pid"] == first["pid"]
    aws["lambda"].update_function_configuration(
        FunctionName=name, Environment={"Variables": {"GREETING": "hi"}})
    configured, _ = invoke(aws, name)
    assert configured["pid"] != first["pid"] and configured["greeting"] == "hi"
    assert wait_until(lambda: not alive(first["pid"]))
    aws["lambda"].update_function_code(FunctionName=name,
                                       ZipFile=zipped(PID_HANDLER.replace('"v1"', '"v2"')))
    updated, _ = invoke(aws, name)
    assert updated["code"] == "v2" and updated["pid"] != configured["pid"]
    assert wait_until(lambda: not alive(configured["pid"]))


def test_concurrent_invocations_run_in_separate_workers(aws):
    name = deploy(aws, PID_HANDLER)

    def invoke_twice_at_once(sleep: float) -> list[dict]:
        results = []
        threads = [threading.Thread(target=lambda: results.append(
            invoke(aws, name, {"sleep": sleep})[0])) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    warmed = invoke_twice_at_once(0.2)  # two cold starts, so the pair below runs warm
    first, second = invoke_twice_at_once(0.5)
    assert first["pid"] != second["pid"]
    assert {first["pid"], second["pid"]} == {w["pid"] for w in warmed}
    # Both handlers were running at the same moment: their run intervals overlap.
    assert max(first["ran"][0], second["ran"][0]) < min(first["ran"][1], second["ran"][1])


def test_step_functions_retry_and_catch_match_the_handlers_error_type(aws):
    counter = f"/fixit/attempts-{uuid.uuid4().hex[:8]}"
    aws["ssm"].put_parameter(Name=counter, Value="0", Type="String")
    name = deploy(aws, """
        import boto3
        class SiteUnknown(Exception):
            pass
        class Flaky(Exception):
            pass
        def handler(event, context):
            if event["site"] == "nowhere":
                raise SiteUnknown("no site " + event["site"])
            ssm = boto3.client("ssm")
            if ssm.get_parameter(Name=event["counter"])["Parameter"]["Value"] == "0":
                ssm.put_parameter(Name=event["counter"], Value="1", Overwrite=True)
                raise Flaky("first call fails")
            return {"routed": event["site"]}
    """)
    arn = aws["lambda"].get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    definition = {"StartAt": "Route", "States": {
        "Route": {"Type": "Task", "Resource": arn, "End": True,
                  "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                  "Catch": [{"ErrorEquals": ["SiteUnknown"], "Next": "Rejected"}]},
        "Rejected": {"Type": "Pass", "End": True}}}
    machine = aws["stepfunctions"].create_state_machine(
        name=f"route-{name}", definition=json.dumps(definition),
        roleArn=MACHINE_ROLE)["stateMachineArn"]

    def run(site: str) -> dict:
        execution = aws["stepfunctions"].start_execution(
            stateMachineArn=machine, name=f"{site}-{uuid.uuid4().hex[:6]}",
            input=json.dumps({"site": site, "counter": counter}))["executionArn"]
        assert wait_until(lambda: aws["stepfunctions"].describe_execution(
            executionArn=execution)["status"] != "RUNNING", timeout=20)
        return aws["stepfunctions"].describe_execution(executionArn=execution)

    retried = run("depot-7")
    assert retried["status"] == "SUCCEEDED", retried
    assert json.loads(retried["output"]) == {"routed": "depot-7"}
    caught = run("nowhere")
    assert caught["status"] == "SUCCEEDED", caught
    assert json.loads(caught["output"])["Error"] == "SiteUnknown"


def test_injected_faults_fail_the_next_invocations_like_handler_errors(aws, local):
    name = deploy(aws, PID_HANDLER)
    pending = faults.fail_next(name, count=2, error_type="Twilio.Unavailable",
                               error_message="SMS gateway down")
    assert {"function": name, "count": 2, "errorType": "Twilio.Unavailable",
            "errorMessage": "SMS gateway down"} in pending
    for _ in range(2):
        result, reply = invoke(aws, name)
        assert reply["FunctionError"] == "Unhandled"
        assert (result["errorType"], result["errorMessage"]) == ("Twilio.Unavailable",
                                                                 "SMS gateway down")
        assert "[ERROR] Twilio.Unavailable: SMS gateway down" in tail(reply)
    assert all(fault["function"] != name for fault in faults.pending())
    assert "pid" in invoke(aws, name)[0]


def test_fault_requests_with_bad_input_are_refused_with_advice(local):
    with pytest.raises(faults.FaultError, match="No Lambda function named 'no-such-fn'"):
        faults.fail_next("no-such-fn")
    with pytest.raises(faults.FaultError, match='"count" must be a whole number'):
        faults.fail_next("no-such-fn", count=0)


def test_workers_stop_when_the_cloud_process_is_killed(tmp_path):
    handle = CloudHandle(tmp_path, free_port())
    process.start(handle.settings, quiet=True)
    try:
        aws = clients(handle.endpoint)
        idle, busy = (deploy(aws, PID_HANDLER, Timeout=30) for _ in range(2))
        invoke(aws, idle)

        def invoke_until_the_cloud_dies():
            with contextlib.suppress(BotoCoreError):
                invoke(aws, busy, {"sleep": 20})
        threading.Thread(target=invoke_until_the_cloud_dies, daemon=True).start()
        assert wait_until(lambda: len(_workers(handle)) == 2)
        workers = _workers(handle)
        os.kill(int((tmp_path / "cloud.pid").read_text()), signal.SIGKILL)
        assert wait_until(lambda: not any(alive(pid) for pid in workers))
    finally:
        process.stop(handle.settings)


def _workers(handle: CloudHandle) -> list[int]:
    # A worker runs in its function's code folder (forked ones too, whose /proc environ is
    # the zygote's: the kernel keeps a process's first environment there).
    marker = f"{handle.state_dir}/lambda/"
    pids = []
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.readlink(f"/proc/{entry}/cwd").startswith(marker):
                pids.append(int(entry))
        except OSError:
            continue
    return [pid for pid in pids if alive(pid)]


def test_cloudformation_stack_update_cold_starts_the_new_version(aws, local):
    s3 = boto3.client("s3", endpoint_url=local.endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    cloudformation = boto3.client("cloudformation", endpoint_url=local.endpoint,
                                  region_name="us-east-1", aws_access_key_id="test",
                                  aws_secret_access_key="test")
    bucket, stack = f"artifacts-{uuid.uuid4().hex[:8]}", f"stack-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="v1.zip", Body=zipped(PID_HANDLER))
    s3.put_object(Bucket=bucket, Key="v2.zip", Body=zipped(PID_HANDLER.replace('"v1"', '"v2"')))
    role = aws["iam"].create_role(RoleName=f"role-{stack}", AssumeRolePolicyDocument="{}")

    def template(key: str, greeting: str) -> str:
        return json.dumps({"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": stack, "Runtime": "python3.11", "Handler": "app.handler",
            "Role": role["Role"]["Arn"], "Code": {"S3Bucket": bucket, "S3Key": key},
            "Environment": {"Variables": {"GREETING": greeting}}}}}})
    cloudformation.create_stack(StackName=stack, TemplateBody=template("v1.zip", "hi"))
    first, _ = invoke(aws, stack)
    assert (first["code"], first["greeting"]) == ("v1", "hi")
    cloudformation.update_stack(StackName=stack, TemplateBody=template("v2.zip", "hello"))
    updated, reply = invoke(aws, stack)
    assert (updated["code"], updated["greeting"]) == ("v2", "hello")
    assert updated["pid"] != first["pid"] and "Init Duration:" in tail(reply)


MARKER_HANDLER = """
    import time
    def handler(event, context):
        time.sleep(event.get("sleep", 0))
        with open(event["mark"], "w") as mark:
            mark.write("ran")
        return "ran"
"""


@pytest.fixture
def marker(tmp_path) -> dict:
    """Where the handler marks that it ran."""
    return {"mark": str(tmp_path / "ran")}


def marker_set(marker: dict) -> bool:
    return os.path.exists(marker["mark"])


def test_event_invocation_answers_202_at_once_and_runs_the_handler_in_the_background(aws, marker):
    name = deploy(aws, MARKER_HANDLER)
    reply = aws["lambda"].invoke(FunctionName=name, InvocationType="Event",
                                 Payload=json.dumps({**marker, "sleep": 2}))
    assert reply["StatusCode"] == 202 and reply["Payload"].read() == b""
    assert not marker_set(marker)  # the call answered before the handler finished
    assert wait_until(lambda: marker_set(marker), timeout=10)
    assert wait_until(lambda: any("REPORT RequestId" in line for line in log_lines(aws, name)))


def log_lines(aws, name: str) -> list[str]:
    """The function's log so far: none until the invocation that ended first has written it
    (its handler's marker shows before that, and the log group does not exist yet)."""
    try:
        events = aws["logs"].filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except aws["logs"].exceptions.ResourceNotFoundException:
        return []
    return [event["message"] for event in events]


def test_dry_run_answers_204_without_running_the_handler(aws, marker):
    name = deploy(aws, MARKER_HANDLER)
    reply = aws["lambda"].invoke(FunctionName=name, InvocationType="DryRun", Payload=json.dumps(marker))
    assert reply["StatusCode"] == 204 and reply["Payload"].read() == b""
    time.sleep(0.5)
    assert not marker_set(marker)
    assert aws["logs"].describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"] == []


def test_delete_function_stops_its_idle_workers(aws):
    name = deploy(aws, PID_HANDLER)
    pid = invoke(aws, name)[0]["pid"]
    assert alive(pid)
    aws["lambda"].delete_function(FunctionName=name)
    assert wait_until(lambda: not alive(pid))


def test_failing_timing_out_and_retried_tasks_leave_the_history_step_functions_would(aws):
    """The three ways a Lambda task goes wrong, as a workflow's history records them."""
    counter = f"/fixit/tries-{uuid.uuid4().hex[:8]}"
    aws["ssm"].put_parameter(Name=counter, Value="0", Type="String")
    name = deploy(aws, """
        import time
        import boto3
        class NoCompanyFound(Exception):
            pass
        def handler(event, context):
            if event["mode"] == "raise":
                raise NoCompanyFound("nobody fixes GAS")
            if event["mode"] == "hang":
                time.sleep(5)
            ssm = boto3.client("ssm")
            if ssm.get_parameter(Name=event["counter"])["Parameter"]["Value"] == "0":
                ssm.put_parameter(Name=event["counter"], Value="1", Overwrite=True)
                raise ConnectionError("Twilio did not answer")
            return {"ok": True}
    """, Timeout=1)
    arn = aws["lambda"].get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    definition = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": arn, "End": True,
        "Retry": [{"ErrorEquals": ["ConnectionError"], "IntervalSeconds": 1, "MaxAttempts": 1}]}}}
    machine = aws["stepfunctions"].create_state_machine(
        name=f"modes-{name}", definition=json.dumps(definition),
        roleArn=MACHINE_ROLE)["stateMachineArn"]

    def history(mode: str) -> tuple[str, list[tuple[str, str]]]:
        execution = aws["stepfunctions"].start_execution(
            stateMachineArn=machine, name=f"{mode}-{uuid.uuid4().hex[:6]}",
            input=json.dumps({"mode": mode, "counter": counter}))["executionArn"]
        assert wait_until(lambda: aws["stepfunctions"].describe_execution(
            executionArn=execution)["status"] != "RUNNING", timeout=20)
        events = aws["stepfunctions"].get_execution_history(executionArn=execution)["events"]
        lambda_events = [(e["type"], e.get("lambdaFunctionFailedEventDetails", {}).get("error", ""))
                         for e in events if e["type"].startswith("LambdaFunction")
                         and e["type"] not in ("LambdaFunctionScheduled", "LambdaFunctionStarted")]
        status = aws["stepfunctions"].describe_execution(executionArn=execution)["status"]
        return status, lambda_events

    assert history("raise") == ("FAILED", [("LambdaFunctionFailed", "NoCompanyFound")])
    assert history("hang") == ("FAILED", [("LambdaFunctionFailed", "Sandbox.Timedout")])
    assert history("retry") == ("SUCCEEDED", [("LambdaFunctionFailed", "ConnectionError"),
                                              ("LambdaFunctionSucceeded", "")])


def test_workers_forked_from_the_zygote_run_as_their_function_and_a_bundled_boto3_wins(aws):
    # Cold starts fork from a process that imported the runtime's boto3 (lambda_zygote.py),
    # started in the cloud's warm-up (or when a function is created), and waited for while it
    # starts: even a function invoked as soon as it is created gets a forked worker. The
    # worker still has its own environment, folder and module path, and a zip that brings its
    # own boto3 gets its own copy, as on Lambda.
    probe = """
        import os, sys
        import boto3
        def handler(event, context):
            with open(f"/proc/{os.getppid()}/cmdline", "rb") as parent:
                forked = b"lambda_zygote.py" in parent.read()
            return {"function": os.environ["AWS_LAMBDA_FUNCTION_NAME"], "cwd": os.getcwd(),
                    "path": sys.path[0], "boto3": getattr(boto3, "BUNDLED", "runtime's"),
                    "forked": forked}
    """

    def cold_start() -> dict:
        name = deploy(aws, probe)
        return {**invoke(aws, name)[0], "name": name}
    result = cold_start()
    assert result["forked"] and result["function"] == result["name"]
    assert result["boto3"] == "runtime's"
    assert result["cwd"] == result["path"] and "/lambda/" in result["cwd"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", textwrap.dedent(probe))
        archive.writestr("boto3/__init__.py", 'BUNDLED = "the function\'s own"\n')
    aws["lambda"].update_function_code(FunctionName=result["name"], ZipFile=buffer.getvalue())
    bundled = invoke(aws, result["name"])[0]
    assert (bundled["boto3"], bundled["forked"]) == ("the function's own", False)


def test_twilio_comes_preloaded_from_the_zygote_unless_the_zip_brings_its_own(aws):
    # The zygote imports twilio too (the receiver and notify do: 70-350 ms of each of a burst's
    # cold starts); a function whose requirements.txt names it gets it in a forked worker, one
    # whose zip brings its own copy gets that copy (in a worker started anew), and one that
    # names it nowhere still cannot import it (test_handler_code_imports_what_lambda_provides...).
    probe = """
        import os
        import twilio
        def handler(event, context):
            with open(f"/proc/{os.getppid()}/cmdline", "rb") as parent:
                forked = b"lambda_zygote.py" in parent.read()
            return {"twilio": getattr(twilio, "BUNDLED", "borrowed"), "forked": forked}
    """
    named = {"requirements.txt": "twilio>=9\n"}
    assert invoke(aws, deploy(aws, probe, files=named))[0] == {"twilio": "borrowed",
                                                               "forked": True}
    bundled = {**named, "twilio/__init__.py": 'BUNDLED = "its own"\n',  # what the stand-in hooks
               "twilio/base/__init__.py": "", "twilio/base/client_base.py": (
                   "class ClientBase:\n    def get_hostname(self, uri):\n        return uri\n")}
    assert invoke(aws, deploy(aws, probe, files=bundled))[0] == {"twilio": "its own",
                                                                 "forked": False}


def test_a_task_s_worker_yields_the_cpu_to_callers_who_wait(aws):
    # Nobody waits for a state machine's task; a webhook's caller does: on a busy laptop the
    # task's worker process runs at a lower priority than the cloud and the webhook's workers.
    from gluelab.cloud.worker_priority import BACKGROUND_NICE
    probe = """
        import os
        def handler(event, context):
            return os.getpriority(os.PRIO_PROCESS, 0)
    """
    called, task = deploy(aws, probe), deploy(aws, probe)
    foreground = invoke(aws, called)[0]
    arn = aws["lambda"].get_function(FunctionName=task)["Configuration"]["FunctionArn"]
    machine = aws["stepfunctions"].create_state_machine(
        name=f"priority-{task}", roleArn=MACHINE_ROLE, definition=json.dumps(
            {"StartAt": "Task", "States": {"Task": {"Type": "Task", "Resource": arn, "End": True}}})
    )["stateMachineArn"]
    execution = aws["stepfunctions"].start_execution(
        stateMachineArn=machine, name=f"run-{uuid.uuid4().hex[:8]}")["executionArn"]
    assert wait_until(lambda: aws["stepfunctions"].describe_execution(
        executionArn=execution)["status"] != "RUNNING", timeout=20)
    described = aws["stepfunctions"].describe_execution(executionArn=execution)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == foreground + BACKGROUND_NICE
    assert invoke(aws, called)[0] == foreground  # the called function's worker keeps its own


def test_a_new_function_s_code_is_extracted_before_its_first_cold_start(aws, local):
    # The receiver's zip (twilio inside) took 0.6 s to extract, in the first webhooks' cold
    # starts, twice when two started at once. It is the runtime's own cache: nothing runs.
    marker = uuid.uuid4().hex
    name = deploy(aws, f"def handler(event, context):\n    return {marker!r}\n")

    def extracted() -> bool:
        return any(marker in handler.read_text()
                   for handler in (local.state_dir / "lambda").glob("*/app.py"))
    assert wait_until(extracted, timeout=10)  # not invoked yet
    assert invoke(aws, name)[0] == marker
