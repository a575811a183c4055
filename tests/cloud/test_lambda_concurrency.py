"""Lambda's concurrency limits, its throttling errors and event queue, a worker pool this machine
can afford, idle workers retired, and an init phase with its own budget."""
from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

# aws: the runtime tests' clients, with a state machine role that may invoke functions (IAM is
# enforced for the interpreter's calls too).
from tests.cloud.test_lambda_runtime import (MACHINE_ROLE, _workers, aws, clients,  # noqa: F401
                                             deploy, invoke, tail, wait_until)
from gluelab.cloud import process
from tests.conftest import running_cloud

# One attempt: botocore retries a 429 by itself, which would hide the throttle from the test.
NO_RETRIES = Config(retries={"total_max_attempts": 1}, read_timeout=120)

SLEEPER = """
    import os, time
    def handler(event, context):
        time.sleep(event.get("sleep", 0))
        if event.get("marker"):
            open(event["marker"], "a").write(context.aws_request_id + "\\n")
        return {"pid": os.getpid()}
"""


def lambda_client(endpoint: str):
    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=NO_RETRIES)


def throttle(call) -> dict:
    with pytest.raises(ClientError) as refused:
        call()
    return refused.value.response


def stats(endpoint: str) -> dict:
    with urllib.request.urlopen(f"{endpoint}/_gluelab/workers", timeout=10) as reply:
        return json.loads(reply.read())


def marks(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_reserved_concurrency_throttles_sync_invokes_with_lambdas_error(aws, local):
    name = deploy(aws, SLEEPER)
    aws["lambda"].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    # Lambda: 0 reserved stops every invocation; the Invoke API answers 429 with this body
    # (API reference, Invoke errors: TooManyRequestsException, Reason
    # ReservedFunctionConcurrentInvocationLimitExceeded, message "Rate Exceeded.").
    refused = throttle(lambda: lambda_client(local.endpoint).invoke(FunctionName=name))
    assert refused["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert refused["Error"] == {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}
    assert (refused["Reason"], refused["Type"]) == (
        "ReservedFunctionConcurrentInvocationLimitExceeded", "User")
    # Reserved 1: a second invocation while the first runs is throttled, then one fits again.
    aws["lambda"].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    with ThreadPoolExecutor(1) as background:
        first = background.submit(invoke, aws, name, {"sleep": 2})
        assert wait_until(lambda: stats(local.endpoint)["concurrency"]["running"] >= 1)
        second = throttle(lambda: lambda_client(local.endpoint).invoke(FunctionName=name))
        assert second["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert "FunctionError" not in first.result()[1]
    assert "FunctionError" not in invoke(aws, name)[1]
    # moto checks the reservation against the account's limit with Lambda's wording.
    with pytest.raises(aws["lambda"].exceptions.InvalidParameterValueException,
                       match=r"UnreservedConcurrentExecution below its minimum value of \[100\]"):
        aws["lambda"].put_function_concurrency(FunctionName=name,
                                               ReservedConcurrentExecutions=950)


def test_a_throttled_task_is_lambda_too_many_requests_which_retry_catches(aws):
    name = deploy(aws, SLEEPER)
    arn = aws["lambda"].get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    aws["lambda"].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    # Step Functions' own advice: retry Lambda.TooManyRequestsException on Lambda tasks.
    definition = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": arn, "End": True,
        "Retry": [{"ErrorEquals": ["Lambda.TooManyRequestsException"], "IntervalSeconds": 1,
                   "MaxAttempts": 5, "BackoffRate": 1}]}}}
    sfn = aws["stepfunctions"]
    machine = sfn.create_state_machine(
        name=f"throttled-{name}", definition=json.dumps(definition),
        roleArn=MACHINE_ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, name="throttled",
                                    input="{}")["executionArn"]

    def failures() -> list[dict]:
        return [event["lambdaFunctionFailedEventDetails"]
                for event in sfn.get_execution_history(executionArn=execution)["events"]
                if event["type"] == "LambdaFunctionFailed"]
    assert wait_until(failures, timeout=10)
    assert failures()[0]["error"] == "Lambda.TooManyRequestsException"
    assert failures()[0]["cause"].startswith("Rate Exceeded. (Service: AWSLambda; Status Code: 429")
    aws["lambda"].delete_function_concurrency(FunctionName=name)
    assert wait_until(lambda: sfn.describe_execution(executionArn=execution)["status"] != "RUNNING",
                      timeout=15)
    assert sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED"


def test_event_invocations_wait_for_capacity_instead_of_failing(aws, local, tmp_path):
    name = deploy(aws, SLEEPER)
    marker = tmp_path / "ran"
    aws["lambda"].put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    reply = aws["lambda"].invoke(FunctionName=name, InvocationType="Event",
                                 Payload=json.dumps({"marker": str(marker)}))
    assert reply["StatusCode"] == 202  # accepted: Lambda queues it, it does not refuse it
    assert wait_until(lambda: stats(local.endpoint)["queued_by_kind"]["events"] >= 1)
    time.sleep(1)
    assert not marker.exists()  # throttled: still waiting in the queue
    aws["lambda"].delete_function_concurrency(FunctionName=name)
    assert wait_until(lambda: marks(marker) == 1, timeout=10)


def slow_init(aws, init_s: float, timeout: int) -> str:
    """A function whose module-level code takes init_s seconds."""
    return deploy(aws, f"""
        import time
        time.sleep({init_s})
        def handler(event, context):
            return "ready"
    """, Timeout=timeout)


def test_init_has_its_own_budget_and_is_not_charged_to_the_timeout(aws):
    # Lambda: "The Init phase is limited to 10 seconds"; the function's timeout covers Invoke.
    result, reply = invoke(aws, slow_init(aws, 1.5, timeout=1))
    assert result == "ready" and "FunctionError" not in reply
    init_ms = float(tail(reply).split("Init Duration: ")[1].split(" ms")[0])
    assert init_ms >= 1500


def test_init_over_ten_seconds_is_retried_within_the_function_timeout(aws):
    # Lambda: "If all three tasks do not complete within 10 seconds, Lambda retries the Init
    # phase at the time of the first function invocation with the configured function timeout",
    # logging INIT_REPORT ... Status: timeout. This costs the test 12 s, the rule's own length.
    result, reply = invoke(aws, slow_init(aws, 11, timeout=2))
    assert reply["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Sandbox.Timedout"
    assert result["errorMessage"].endswith("Task timed out after 2.00 seconds")
    assert "Phase: init\tStatus: timeout" in tail(reply)
    assert "Status: timeout" in tail(reply).split("REPORT RequestId")[1]


def test_missing_module_missing_handler_and_syntax_error_fail_as_lambdas_python_runtime_does(aws):
    # The Python runtime's words (awslambdaric bootstrap.py), seen in every CloudWatch log of a
    # function packaged without its dependency or with a misspelled handler.
    dependency = deploy(aws, """
        import requests_oauthlib_missing
        def handler(event, context):
            return 1
    """)
    result, reply = invoke(aws, dependency)
    assert reply["FunctionError"] == "Unhandled"
    assert result == {"errorMessage": "Unable to import module 'app': No module named "
                                      "'requests_oauthlib_missing'",
                      "errorType": "Runtime.ImportModuleError", "requestId": "", "stackTrace": []}
    misnamed = deploy(aws, "def handler(event, context): return 1", Handler="app.nope")
    result, reply = invoke(aws, misnamed)
    assert result == {"errorMessage": "Handler 'nope' missing on module 'app'",
                      "errorType": "Runtime.HandlerNotFound", "requestId": "", "stackTrace": []}
    assert "[ERROR] Runtime.HandlerNotFound: Handler 'nope' missing on module 'app'" in tail(reply)
    # A typo that is no Python (lab 04's `from=from_`): SyntaxError was the error type.
    typo = deploy(aws, "def handler(event, context):\n    return dict(from=1)\n")
    result, reply = invoke(aws, typo)
    assert reply["FunctionError"] == "Unhandled"
    assert result["errorType"] == "Runtime.UserCodeSyntaxError"
    # (Python's wording of the syntax error itself differs between versions.)
    assert result["errorMessage"].startswith("Syntax error in module 'app': invalid syntax")
    assert result["errorMessage"].endswith("(app.py, line 2)")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A cloud with 2 worker processes at most, 3 concurrent executions, workers idle 2 s."""
    with contextlib.ExitStack() as cloud:
        with pytest.MonkeyPatch.context() as patch:  # for this cloud's process only
            patch.setenv("GLUELAB_LAMBDA_WORKERS", "2")
            patch.setenv("GLUELAB_LAMBDA_CONCURRENCY", "3")
            patch.setenv("GLUELAB_LAMBDA_IDLE_S", "2")
            handle = cloud.enter_context(running_cloud(tmp_path_factory.mktemp("small-cloud")))
        yield handle


def test_account_limit_throttles_a_sync_burst_past_it(small):
    aws = clients(small.endpoint)
    name = deploy(aws, SLEEPER, Timeout=10)
    client = lambda_client(small.endpoint)

    def call(_):
        try:
            client.invoke(FunctionName=name, Payload=json.dumps({"sleep": 2}))
            return "ran"
        except ClientError as error:
            return error.response["Reason"]
    with ThreadPoolExecutor(6) as burst:
        outcomes = sorted(burst.map(call, range(6)))
    # 3 admitted (2 run, 1 waits for a worker: waiting is not throttling), 3 refused.
    assert outcomes == ["ConcurrentInvocationLimitExceeded"] * 3 + ["ran"] * 3
    assert stats(small.endpoint)["concurrency"]["throttled"] == {
        "ConcurrentInvocationLimitExceeded": 3}


def test_a_burst_of_events_stays_within_the_worker_bound_and_idle_workers_retire(small, tmp_path):
    aws = clients(small.endpoint)
    names = [deploy(aws, SLEEPER) for _ in range(3)]
    marker = tmp_path / "ran"
    for n in range(6):
        aws["lambda"].invoke(FunctionName=names[n % 3], InvocationType="Event",
                             Payload=json.dumps({"sleep": 0.2, "marker": str(marker)}))
    most, done = 0, threading.Event()

    def count_workers():
        nonlocal most
        while not done.is_set():
            most = max(most, len(_workers(small)))
            time.sleep(0.05)
    counter = threading.Thread(target=count_workers)
    counter.start()
    try:
        assert wait_until(lambda: marks(marker) == 6, timeout=60)
    finally:
        done.set()
        counter.join()
    assert 1 <= most <= 2  # worker processes, counted in /proc, never above the bound
    assert stats(small.endpoint)["bound"] == 2
    # Idle for GLUELAB_LAMBDA_IDLE_S (2 s): retired, as Lambda reclaims idle environments.
    assert wait_until(lambda: not _workers(small), timeout=8)
    workers = stats(small.endpoint)
    assert (workers["busy"], workers["idle"], workers["queued"], workers["rss_mb"]) == (0, 0, 0, 0)
    assert "FunctionError" not in invoke(aws, names[0])[1]  # and the next call cold-starts


def test_reserved_concurrency_in_a_template_applies_on_create_and_update(local):
    from tests.cloud.test_cloudformation import Cloud, function_template
    aws, stack = Cloud(local.endpoint), f"reserved-{uuid.uuid4().hex[:6]}"
    reserved = function_template().replace("      Timeout: 3\n",
                                           "      Timeout: 3\n      ReservedConcurrentExecutions: 0\n")
    name = aws.create(stack, reserved) and aws.resources(stack)["Fn"]
    assert aws.lambda_.get_function_concurrency(FunctionName=name)[
        "ReservedConcurrentExecutions"] == 0
    assert throttle(lambda: lambda_client(local.endpoint).invoke(FunctionName=name))["Reason"] == (
        "ReservedFunctionConcurrentInvocationLimitExceeded")
    aws.cloudformation.update_stack(StackName=stack, TemplateBody=aws.template(function_template()),
                                    Capabilities=["CAPABILITY_IAM"])
    assert "ReservedConcurrentExecutions" not in aws.lambda_.get_function_concurrency(
        FunctionName=name)
    assert aws.lambda_.invoke(FunctionName=name)["StatusCode"] == 200


def test_accepted_events_survive_a_restart_and_finished_ones_do_not_run_again(tmp_path):
    ran, queued = tmp_path / "ran", tmp_path / "queued"
    with running_cloud(tmp_path / "cloud") as cloud:
        aws = clients(cloud.endpoint)
        done, waiting = deploy(aws, SLEEPER), deploy(aws, SLEEPER)
        aws["lambda"].invoke(FunctionName=done, InvocationType="Event",
                             Payload=json.dumps({"marker": str(ran)}))
        assert wait_until(lambda: marks(ran) == 1, timeout=10)
        aws["lambda"].put_function_concurrency(FunctionName=waiting,
                                               ReservedConcurrentExecutions=0)
        aws["lambda"].invoke(FunctionName=waiting, InvocationType="Event",
                             Payload=json.dumps({"marker": str(queued)}))
        process.stop(cloud.settings)
        process.start(cloud.settings, quiet=True)
        # Lambda keeps an accepted (202) event until it has run: so does the local cloud.
        assert stats(cloud.endpoint)["queued_by_kind"]["events"] == 1
        aws["lambda"].delete_function_concurrency(FunctionName=waiting)
        assert wait_until(lambda: marks(queued) == 1, timeout=10)
        assert marks(ran) == 1  # the event that had ended is not run again
