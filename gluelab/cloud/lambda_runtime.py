"""The local cloud's Lambda runtime: runs Python handlers from the deployed zip in worker
processes, without Docker, with Lambda's timeouts, error shape, warm reuse and CloudWatch logs.

install() replaces moto's LambdaFunction._invoke_lambda, whose one caller (LambdaFunction.invoke)
serves the Invoke API, the Step Functions interpreter and event sources alike, so they all run
real code here. `InvocationType=Event` answers 202 at once and runs the handler in the background,
`DryRun` answers 204 without running it, and DeleteFunction stops the function's idle workers.
Invocations are admitted against Lambda's concurrency limits (lambda_concurrency) and run in
worker processes pooled within what this machine affords (lambda_pool); worker_stats() reports
both, at GET /_gluelab/workers.
wrap() adds `/_gluelab/faults`: make a function fail its next N invocations.
"""
from __future__ import annotations

import io
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from multiprocessing.connection import Connection
from pathlib import Path

from gluelab.cloud import (iam_enforcement, interpreter_caches, lambda_concurrency, lambda_pool,
                           lambda_worker, lambda_zygote, persistence, warm_start, worker_priority)
from gluelab.cloud.lambda_concurrency import ACCOUNT, Concurrency, TooManyRequests
from gluelab.cloud.lambda_pool import Pool, PoolFull
from gluelab.cloud import lambda_packages  # what a function may import
from gluelab.config import LOCAL_ACCOUNT, LOCAL_REGION

INIT_TIMEOUT_S = 10  # Lambda's limit for the init phase
EVENT_CONCURRENCY = 8  # asynchronous invocations running at once; the rest wait in the queue
TAIL_BYTES = 4096  # LogType=Tail returns the last 4 KB of the invocation's log
WORKER_SCRIPT = Path(lambda_worker.__file__)
FAULTS_PATH = "/_gluelab/faults"
WORKERS_PATH = "/_gluelab/workers"

_runtime: Runtime | None = None
# Whether this thread's invocation is one nobody waits for (a state machine's task, a queued
# event): the pool serves waiting callers first (lambda_pool).
_caller = threading.local()


@dataclass(frozen=True)
class FunctionSpec:
    """What a worker is built from: a change to any of it means a cold start."""

    name: str
    arn: str
    version: str
    handler: str
    runtime: str
    timeout: int
    memory: int
    role: str
    env: tuple
    code_digest: str
    region: str
    code: bytes = field(repr=False, compare=False)

    @classmethod
    def of(cls, fn) -> FunctionSpec:
        return cls(name=fn.function_name, arn=fn.function_arn, version=str(fn.version),
                   handler=fn.handler or "", runtime=fn.run_time or "", timeout=int(fn.timeout),
                   memory=int(fn.memory_size), role=fn.role,
                   env=tuple(sorted(fn.environment_vars.items())), code_digest=fn.code_digest,
                   region=fn.region, code=fn.code_bytes)

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    def unsupported(self, package_type: str) -> str | None:
        """Why the local cloud cannot run this function, in words, or None."""
        if package_type != "Zip":
            return (f"Function {self.name} is a container image (PackageType {package_type}); "
                    f"the local cloud runs zip packages only. Deploy it as a zip with a python3.x "
                    f"runtime.")
        if not self.runtime.startswith("python3"):
            return (f"Function {self.name} uses runtime {self.runtime or '(none)'}; the local cloud "
                    f"runs Python functions only. Set Runtime to a python3.x runtime "
                    f"(e.g. python3.{sys.version_info.minor}).")
        if not self.code:
            return (f"Function {self.name} has no code: its zip (or the S3 object it names) is "
                    f"missing or empty. Deploy it again with its code.")
        if not zipfile.is_zipfile(io.BytesIO(self.code)):
            return (f"The code of function {self.name} is not a zip archive. Package the handler "
                    f"folder as a .zip (sam build / aws cloudformation package do) and deploy "
                    f"it again.")
        return None


class Worker:
    """One worker process serving one FunctionSpec, one invocation at a time."""

    def __init__(self, spec: FunctionSpec, runtime: Runtime, init_budget_s: float):
        self.spec = spec
        self.stream = new_stream(spec)
        self.memory_mb = 0
        ours, theirs = socket.socketpair()
        self.channel = Connection(ours.detach())
        task_root = runtime.code_dir(spec)
        started = time.perf_counter()
        try:
            self.process = runtime.start_worker(theirs.fileno(), task_root,
                                                runtime.environment(spec, self.stream, task_root))
        finally:
            theirs.close()
        self.init_logs: list[list] = []
        self.init_timed_out = False
        self.init_error = self.initialise(init_budget_s)
        self.init_ms = (time.perf_counter() - started) * 1000

    def initialise(self, budget_s: float) -> dict | None:
        """Wait for the init phase (the handler's import); Lambda's error payload if it failed."""
        try:
            reply = self.receive(time.monotonic() + budget_s, self.init_logs)
        except (EOFError, OSError):  # module-level code ended the process
            self.stop()
            error = {"errorType": "Runtime.ExitError",
                     "errorMessage": f"Runtime exited during init: {self.exit_description()}"}
        else:
            if reply is not None:
                return reply.get("error")  # the worker logged it already
            self.init_timed_out = True
            return None
        self.init_logs.append([_now_ms(), f"[ERROR] {error['errorType']}: {error['errorMessage']}"])
        return error

    def receive(self, deadline: float, logs: list) -> dict | None:
        """The next non-log message, collecting log events on the way; None at the deadline.

        Raises EOFError if the worker process died."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.channel.poll(remaining):
                return None
            message = json.loads(self.channel.recv_bytes())
            if "log" not in message:
                return message
            logs.append(message["log"])

    def call(self, request: dict, deadline: float, logs: list) -> dict | None:
        self.channel.send_bytes(json.dumps(request).encode())
        return self.receive(deadline, logs)

    def exit_description(self) -> str:
        code = self.process.wait(timeout=5)
        return f"signal: {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"

    def stop(self) -> None:
        self.channel.close()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class Faults:
    """Pending injected failures: function name -> [{"count", "errorType", "errorMessage"}]."""

    def __init__(self):
        self.lock = threading.Lock()
        self.pending: dict[str, list[dict]] = {}

    def add(self, function: str, count: int, error_type: str, error_message: str) -> None:
        with self.lock:
            self.pending.setdefault(function, []).append(
                {"count": count, "errorType": error_type, "errorMessage": error_message})

    def take(self, function: str) -> dict | None:
        with self.lock:
            queue = self.pending.get(function)
            if not queue:
                return None
            fault = queue[0]
            fault["count"] -= 1
            if fault["count"] == 0:
                queue.pop(0)
            if not queue:
                del self.pending[function]
            return fault

    def listing(self) -> list[dict]:
        with self.lock:
            return self._listing()

    def clear(self) -> list[dict]:
        with self.lock:
            cleared = self._listing()
            self.pending.clear()
        return cleared

    def _listing(self) -> list[dict]:
        return [{"function": name, **fault}
                for name, queue in sorted(self.pending.items()) for fault in queue]


class Runtime:
    def __init__(self, endpoint: str, state_dir: Path):
        self.endpoint = endpoint
        self.code_root = state_dir / "lambda"
        self.lock = threading.Lock()
        self.pool = Pool(lambda_pool.configured_bound(), lambda_pool.configured_idle_s(),
                         on_empty=lambda: self.zygotes.stop())
        self.concurrency = Concurrency(lambda_concurrency.account_limit(), _reservations)
        self.current: dict[str, FunctionSpec] = {}  # function ARN -> the spec now deployed
        self.faults = Faults()
        self.logs_lock = threading.Lock()
        # Workers die with the thread that started them (PR_SET_PDEATHSIG is per thread), and
        # request threads are short-lived, so one long-lived thread starts them all.
        self.spawner = ThreadPoolExecutor(1, thread_name_prefix="lambda-spawner")
        # Init phases are imports, CPU-bound: one per core at a time, so that each gets the CPU
        # its 10 s assume (Lambda gives every environment its own). Waiting here is not charged.
        self.init_slots = threading.BoundedSemaphore(os.cpu_count() or 1)
        self.event_queue = ThreadPoolExecutor(EVENT_CONCURRENCY, thread_name_prefix="lambda-event")
        self.events_running = 0  # asynchronous invocations handed to event_queue, not yet ended
        self.zygotes = lambda_zygote.Keeper(self.spawn, lambda_zygote.environment,
                                            self.pool.idle_s, self.pool.live)
        self.serving = False  # the journal has been replayed
        self.extracting: dict[str, threading.Lock] = {}  # code digest -> held while extracting

    def start_events(self) -> None:
        """Run queued asynchronous invocations, from now on (after the journal's replay)."""
        self.serving = True
        threading.Thread(target=self.concurrency.dispatch, args=(self.run_event, self.event_room),
                         name="lambda-event-dispatch", daemon=True).start()

    def spawn(self, args: list[str], **kwargs) -> subprocess.Popen:
        # The worker's own stdout/stderr only ever carry output written below Python's
        # sys.stdout (C extensions, child processes): it goes to the cloud's log.
        return self.spawner.submit(subprocess.Popen, args, stdin=subprocess.DEVNULL,
                                   **kwargs).result()

    def start_worker(self, channel_fd: int, task_root: Path, env: dict[str, str]):
        """A worker process: forked from the zygote, else started anew, as is the worker of a
        zip that brings its own copy of what the zygote preloaded (boto3, twilio, ...)."""
        zygote = self.zygotes.ready()
        if zygote is not None and not zygote.shadowed_by(task_root):
            try:
                return zygote.fork(env, task_root, channel_fd)
            except OSError:  # it died: the next cold start starts another
                pass
        return self.spawn([sys.executable, str(WORKER_SCRIPT), str(channel_fd),
                           str(os.getpid())], pass_fds=(channel_fd,), cwd=task_root, env=env)

    def code_dir(self, spec: FunctionSpec) -> Path:
        """The deployed zip, extracted once per code version: by one thread, the others wait
        for it (the receiver's zip, twilio inside, takes 0.6 s to extract, and a burst's first
        cold starts each extracted it)."""
        target = self.code_root / spec.code_digest
        if target.is_dir():
            return target
        with self.lock:
            extracting = self.extracting.setdefault(spec.code_digest, threading.Lock())
        with extracting:
            if not target.is_dir():
                self._extract(spec, target)
        return target

    def _extract(self, spec: FunctionSpec, target: Path) -> None:
        staging = self.code_root / f".{spec.code_digest}.{uuid.uuid4().hex}"
        with zipfile.ZipFile(io.BytesIO(spec.code)) as archive:
            archive.extractall(staging)
        try:
            staging.rename(target)
        except OSError:  # another cloud process on the same state folder extracted it first
            shutil.rmtree(staging, ignore_errors=True)

    def prepare_code(self, fn) -> None:
        """Extract a new function's code ahead of its first cold start (a cache of the
        runtime's: no worker starts, no init runs, nothing of the function is observable)."""
        spec = FunctionSpec.of(fn)
        if spec.unsupported(fn.package_type) is None:
            try:
                lambda_packages.resolve(self.code_dir(spec))  # what it may import, worked out
            except (OSError, zipfile.BadZipFile):  # the first cold start meets it and says so
                pass

    def environment(self, spec: FunctionSpec, stream: str, task_root: Path) -> dict[str, str]:
        role = iam_enforcement.role_credentials(spec.role, spec.name)  # as Lambda does
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            **dict(spec.env),
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ACCESS_KEY_ID": role.access_key,
            "AWS_SECRET_ACCESS_KEY": role.secret,
            "AWS_SESSION_TOKEN": role.token,
            # Plain boto3 in handler code reaches the local cloud; the Twilio stand-in keys on
            # GLUELAB_CLOUD_URL. Handler code itself stays free of local wiring.
            "AWS_ENDPOINT_URL": self.endpoint,
            "GLUELAB_CLOUD_URL": self.endpoint,
            **lambda_packages.worker_environment(task_root),  # what the function may import
        }

    def acquire(self, spec: FunctionSpec, call: Invocation) -> Worker:
        """A warm worker for exactly this spec, or a cold-started one once the pool has room;
        stale idle workers of the function's previous configuration are stopped."""
        with self.lock:
            previous = self.current.get(spec.arn)
            self.current[spec.arn] = spec
        if previous not in (None, spec):
            self.pool.drop([previous])
        try:
            worker = self.pool.checkout(spec, getattr(_caller, "background", False))
        except PoolFull:
            print(f"Lambda: {spec.name} throttled: all {self.pool.bound} worker processes stayed "
                  f"busy for {lambda_pool.QUEUE_WAIT_S:.0f} s. Raise GLUELAB_LAMBDA_WORKERS if "
                  f"this machine has room.", flush=True)
            raise TooManyRequests(ACCOUNT) from None
        if worker:
            return worker
        try:
            worker = self.cold_start(spec, call)
        except BaseException:
            self.pool.start_failed(spec)
            raise
        self.pool.started_worker(worker)
        return worker

    def release(self, worker: Worker) -> None:
        with self.lock:
            current = self.current.get(worker.spec.arn) == worker.spec
        self.pool.checkin(worker, keep=current)

    def discard(self, worker: Worker) -> None:
        """Stop a worker that must not serve again (timed out, exited, failed its init)."""
        self.pool.checkin(worker, keep=False)

    def retire(self, name: str, version: str | None = None) -> None:
        """Forget a deleted function (or one version of it) and stop its idle workers; a busy
        worker stops when its invocation ends, as release() no longer finds its spec current."""
        with self.lock:
            deleted = [spec for spec in self.current.values()
                       if spec.name == name and version in (None, spec.version)]
            for spec in deleted:
                del self.current[spec.arn]
        self.pool.drop(deleted)
        if version is None:
            self.concurrency.forget(name)

    def cold_start(self, spec: FunctionSpec, call: Invocation) -> Worker:
        """Start a worker and run its init phase within Lambda's 10 s. Past that, Lambda logs
        INIT_REPORT ... Status: timeout and runs init again as part of the invocation, charged to
        the function's timeout; so does this."""
        with self.init_slots:
            worker = Worker(spec, self, INIT_TIMEOUT_S)
        call.events.extend(worker.init_logs)
        call.init_ms = worker.init_ms
        if worker.init_timed_out:
            worker.stop()
            call.log(f"INIT_REPORT Init Duration: {worker.init_ms:.2f} ms\tPhase: init"
                     f"\tStatus: timeout")
            with self.init_slots:
                worker = Worker(spec, self, spec.timeout)
            call.events.extend(worker.init_logs)
            call.init_ms, call.init_charged_ms = None, worker.init_ms
        return worker

    def invoke(self, fn, event, release=None) -> tuple[str, bool, str]:
        """Run one invocation; a synchronous one is first admitted against the concurrency
        limits (or refused with TooManyRequestsException), an event one comes admitted."""
        release = release or self.concurrency.admit(fn)
        try:
            return self.invoke_admitted(fn, event)
        finally:
            release()

    def invoke_admitted(self, fn, event) -> tuple[str, bool, str]:
        spec = FunctionSpec.of(fn)
        call = Invocation(spec)
        problem = spec.unsupported(fn.package_type)
        if problem:
            call.begin(new_stream(spec))
            error = call.error("Runtime.InvalidRuntime", problem)
            call.log(lambda_worker.error_log_line(error))
            return self.finish(call, (json.dumps(error), True))
        worker = self.acquire(spec, call)
        call.begin(worker.stream)
        if worker.init_timed_out:  # the init retried within the invocation ran out of time too
            self.discard(worker)
            call.duration_ms, call.status = call.init_charged_ms, "timeout"
            return self.finish(call, self.timed_out(call))
        if worker.init_error:  # already in the log, before START, as Lambda shows it
            self.discard(worker)
            return self.finish(call, (json.dumps(worker.init_error), True))
        fault = self.faults.take(spec.name)
        if fault:
            self.release(worker)
            error = call.error(fault["errorType"], fault["errorMessage"])
            call.log(lambda_worker.error_log_line(error))
            return self.finish(call, (json.dumps(error), True))
        return self.finish(call, self.run(worker, call, event))

    def queue(self, fn, event) -> None:
        """An asynchronous invocation: the caller has its 202; it runs once the function has
        capacity (see lambda_concurrency), and its outcome goes to the logs."""
        self.concurrency.enqueue(fn, event)

    def event_room(self) -> bool:
        return self.events_running < EVENT_CONCURRENCY

    def run_event(self, event_id: str, fn, event, release) -> None:
        def run() -> None:
            requeued = False
            _caller.background = True  # this pool thread only ever runs queued events
            try:
                self.invoke(fn, event, release)
            except TooManyRequests:  # no worker came free: back in the queue, as Lambda retries
                self.concurrency.requeue(event_id, fn, event)
                requeued = True
            except Exception:  # nobody waits for this call: say so in the cloud's own log
                traceback.print_exc()
            finally:
                if not requeued:
                    self.concurrency.ended(event_id)
                with self.concurrency.lock:
                    self.events_running -= 1
                    self.concurrency.lock.notify_all()
        with self.concurrency.lock:
            self.events_running += 1
        self.event_queue.submit(run)

    def run(self, worker: Worker, call: Invocation, event) -> tuple[str, bool]:
        # The function's timeout starts when its worker takes the invocation (time queued for a
        # worker is not the function's), less an init that Lambda would have retried within it.
        budget = call.spec.timeout - call.init_charged_ms / 1000
        worker_priority.prioritise(worker, getattr(_caller, "background", False)
                                   and call.spec.name not in self.pool.foreground)
        started = time.monotonic()
        request = {"request_id": call.request_id, "event": json.dumps(event),
                   "invoked_function_arn": call.spec.arn,
                   "deadline_ms": _now_ms() + int(budget * 1000)}
        try:
            reply = worker.call(request, started + budget, call.events)
        except (EOFError, OSError):  # the handler ended its own process (os._exit, a crash)
            self.discard(worker)
            call.duration_ms = (time.monotonic() - started) * 1000
            message = (f"RequestId: {call.request_id} Error: Runtime exited with error: "
                       f"{worker.exit_description()}")
            call.log(f"{message}\nRuntime.ExitError")
            return json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}), True
        if reply is None:
            self.discard(worker)
            call.duration_ms = call.init_charged_ms + (time.monotonic() - started) * 1000
            call.memory_mb, call.status = worker.memory_mb, "timeout"
            return self.timed_out(call)
        worker.memory_mb = call.memory_mb = reply["max_memory_mb"]
        call.duration_ms = reply["duration_ms"]
        self.release(worker)
        return reply["payload"], reply["errored"]

    @staticmethod
    def timed_out(call: Invocation) -> tuple[str, bool]:
        timeout = call.spec.timeout
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        call.log(f"{stamp} {call.request_id} Task timed out after {timeout:.2f} seconds")
        return json.dumps({
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {call.request_id} Error: Task timed out after "
                            f"{timeout:.2f} seconds"}), True

    def finish(self, call: Invocation, outcome: tuple[str, bool]) -> tuple[str, bool, str]:
        """Close the invocation's log with END and REPORT, store it, and answer moto."""
        call.log(f"END RequestId: {call.request_id}")
        call.log(call.report())
        self.write_logs(call)
        tail = "\n".join(line for _, line in call.events).encode()[-TAIL_BYTES:]
        return outcome[0], outcome[1], tail.decode(errors="ignore")

    def write_logs(self, call: Invocation) -> None:
        events, last = [], 0
        for stamp, message in call.events:  # CloudWatch needs non-decreasing timestamps
            last = max(last, stamp)
            events.append({"timestamp": last, "message": message})
        record = {"region": call.spec.region, "group": call.spec.log_group,
                  "stream": call.stream, "events": events}
        with self.logs_lock:
            put_log_events(record)
            # a log line is not something an API call acknowledged: no fsync of its own
            # (half of a warm invoke's time went to it)
            persistence.note("logs", record, sync=False)


@persistence.restores("logs")
def put_log_events(record: dict) -> None:
    from moto.logs.models import logs_backends
    backend = logs_backends[LOCAL_ACCOUNT][record["region"]]
    group, stream = record["group"], record["stream"]
    backend.ensure_log_group(group)
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    backend.put_log_events(group, stream, record["events"])


class Invocation:
    """One invocation's log events and figures, for its START/END/REPORT lines."""

    def __init__(self, spec: FunctionSpec):
        self.spec = spec
        self.request_id = str(uuid.uuid4())
        self.events: list[list] = []
        self.stream = ""
        self.init_ms: float | None = None
        self.init_charged_ms = 0.0  # an init retried within the invocation, as Lambda does
        self.duration_ms = 0.0
        self.memory_mb = 0
        self.status: str | None = None

    def log(self, text: str) -> None:
        self.events.append([_now_ms(), text])

    def begin(self, stream: str) -> None:
        self.stream = stream
        self.log(f"START RequestId: {self.request_id} Version: {self.spec.version}")

    def error(self, error_type: str, message: str) -> dict:
        return lambda_worker.error_payload(error_type, message, request_id=self.request_id)

    def report(self) -> str:
        line = (f"REPORT RequestId: {self.request_id}\tDuration: {self.duration_ms:.2f} ms"
                f"\tBilled Duration: {max(1, math.ceil(self.duration_ms))} ms"
                f"\tMemory Size: {self.spec.memory} MB\tMax Memory Used: {self.memory_mb} MB")
        if self.init_ms is not None:
            line += f"\tInit Duration: {self.init_ms:.2f} ms"
        if self.status:
            line += f"\tStatus: {self.status}"
        return line


def new_stream(spec: FunctionSpec) -> str:
    """A log stream name as Lambda gives each execution environment."""
    return f"{datetime.now(timezone.utc):%Y/%m/%d}/[{spec.version}]{uuid.uuid4().hex}"


def _reservations() -> dict[str, int]:
    """Reserved concurrency of every function that has one (PutFunctionConcurrency or
    ReservedConcurrentExecutions in a template)."""
    from moto.awslambda.models import lambda_backends
    functions = lambda_backends[LOCAL_ACCOUNT][LOCAL_REGION].list_functions()
    return {fn.function_name: lambda_concurrency.reservation(fn) for fn in functions
            if lambda_concurrency.reservation(fn) is not None}


def _function(arn: str):
    from moto.awslambda.models import lambda_backends
    return lambda_backends[LOCAL_ACCOUNT][LOCAL_REGION].get_function(arn)


@persistence.restores("lambda-event")
def _restore_event(record: dict) -> None:
    _runtime.concurrency.restore(record, _function)


@persistence.restores("lambda-event-done")
def _restore_event_end(record: dict) -> None:
    _runtime.concurrency.restore_end(record)


def worker_stats() -> dict:
    """What the Lambda runtime holds now, for `gluelab cloud status` (GET /_gluelab/workers):
    worker processes (bound, busy, idle, starting, rss_mb, started_total, idle_timeout_s, per
    function), invocations queued (waiting for a worker, or asynchronous ones waiting for
    capacity) and concurrency (account_limit, running, throttled by reason, reserved)."""
    if _runtime is None:
        return {}
    workers, concurrency = _runtime.pool.stats(), _runtime.concurrency.stats()
    queued = {"waiting_for_worker": workers.pop("waiting_for_worker"),
              "events": concurrency.pop("queued_events")}
    return {**workers, "queued": sum(queued.values()), "queued_by_kind": queued,
            "concurrency": concurrency}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _event(event):
    # moto hands over the string "{}" when an Invoke carries no payload; Lambda passes {}.
    return {} if event == "{}" else event


def _invoke_lambda(self, event=None) -> tuple[str, bool, str]:
    return _runtime.invoke(self, _event(event))


def _reporting_unhandled(invoke):
    """moto marks every error "Handled"; Lambda says "Unhandled" for an error the function
    raised or a timeout, which is what callers and Step Functions see."""
    def patched(self, body, request_headers, response_headers):
        result = invoke(self, body, request_headers, response_headers)
        if response_headers.get("x-amz-function-error") == "Handled":
            response_headers["x-amz-function-error"] = "Unhandled"
        return result
    patched.__wrapped__ = invoke
    return patched


def _by_invocation_type(invoke):
    """As on Lambda, an Event invocation is queued and answered at once (moto ran the handler
    first), and a DryRun only checks that the function exists and may be called."""
    def patched(self, body, request_headers, response_headers):
        kind = request_headers.get("x-amz-invocation-type", "RequestResponse")
        if kind == "DryRun":
            return b""
        if kind == "Event":
            _runtime.queue(self, json.loads(body) if body else {})
            return b""
        _caller.background = (request_headers.get(interpreter_caches.BACKGROUND_HEADER)
                              == interpreter_caches.BACKGROUND)
        try:
            return invoke(self, body, request_headers, response_headers)
        finally:
            _caller.background = False
    patched.__wrapped__ = invoke
    return patched


def _preparing_forks(create_function):
    def patched(self, spec):
        created = create_function(self, spec)
        if _runtime.serving:  # not while a start replays the journal: it would slow the start
            _runtime.zygotes.start()
            threading.Thread(target=_runtime.prepare_code, args=(created,),
                             name="lambda-code-extract", daemon=True).start()
        return created
    patched.__wrapped__ = create_function
    return patched


def _retiring_workers(delete_function):
    def patched(self, function_name: str, qualifier: str | None = None) -> None:
        name = self.get_function(function_name, qualifier).function_name
        delete_function(self, function_name, qualifier)
        _runtime.retire(name, qualifier)
    patched.__wrapped__ = delete_function
    return patched


def install(context) -> None:
    global _runtime
    from moto.awslambda.models import LambdaBackend, LambdaFunction
    _runtime = Runtime(context.endpoint, context.state_dir)
    # Once the cloud is up and quiet: a zygote ready (botocore parsed, package metadata read)
    # before the first invocation, not started by the first CreateFunction, whose invocation
    # then waited for it. Nothing a function runs, or when, changes.
    warm_start.later(_runtime.zygotes.start)
    lambda_concurrency.install()
    LambdaFunction._invoke_lambda = _invoke_lambda
    LambdaFunction.invoke = _by_invocation_type(_reporting_unhandled(LambdaFunction.invoke))
    LambdaBackend.delete_function = _retiring_workers(LambdaBackend.delete_function)
    LambdaBackend.create_function = _preparing_forks(LambdaBackend.create_function)


def _fault_request(body: dict) -> tuple[str, int, str, str]:
    """Validate a POST to /_gluelab/faults; raise ValueError saying what to fix."""
    from moto.awslambda.exceptions import UnknownFunctionException
    from moto.awslambda.models import lambda_backends
    function = body.get("function")
    count = body.get("count", 1)
    error_type = body.get("errorType", "States.TaskFailed")
    if not isinstance(function, str) or not function:
        raise ValueError('"function" must name a Lambda function, e.g. {"function": "fixit-intake"}')
    name = function.split(":function:")[-1].split(":")[0]  # a name or an ARN
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f'"count" must be a whole number of invocations, 1 or more; got {count!r}')
    if not isinstance(error_type, str) or not error_type:
        raise ValueError(f'"errorType" must be a non-empty string; got {error_type!r}')
    message = body.get("errorMessage") or f"Injected failure ({error_type}) by gluelab.faults"
    backend = lambda_backends[LOCAL_ACCOUNT][LOCAL_REGION]
    try:
        backend.get_function(name)
    except UnknownFunctionException:
        known = ", ".join(sorted(fn.function_name for fn in backend.list_functions()))
        raise ValueError(f"No Lambda function named {name!r} in the local cloud (functions: "
                         f"{known or 'none yet'}). Deploy it first, or check the name.") from None
    return name, count, error_type, str(message)


def _json(start_response, status: str, payload) -> list[bytes]:
    body = json.dumps(payload, indent=2).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(body)))])
    return [body]


def wrap(app, context):
    _runtime.start_events()  # the journal has been replayed: the queue holds what it restored
    def faults(environ, start_response):
        if environ.get("PATH_INFO") == WORKERS_PATH:
            return _json(start_response, "200 OK", worker_stats())
        if environ.get("PATH_INFO") != FAULTS_PATH:
            return app(environ, start_response)
        method = environ["REQUEST_METHOD"]
        if method == "GET":
            return _json(start_response, "200 OK", {"faults": _runtime.faults.listing()})
        if method == "DELETE":
            return _json(start_response, "200 OK", {"cleared": _runtime.faults.clear()})
        if method != "POST":
            return _json(start_response, "405 Method Not Allowed",
                         {"error": f"{FAULTS_PATH} takes GET, POST or DELETE, not {method}"})
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length) or b"null")
            if not isinstance(body, dict):
                raise ValueError('send a JSON object: {"function": ..., "count": ..., '
                                 '"errorType": ..., "errorMessage": ...}')
            name, count, error_type, message = _fault_request(body)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError too
            return _json(start_response, "400 Bad Request", {"error": str(exc)})
        _runtime.faults.add(name, count, error_type, message)
        return _json(start_response, "200 OK", {"faults": _runtime.faults.listing()})
    return faults
