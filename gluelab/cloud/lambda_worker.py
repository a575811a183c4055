"""What runs inside one Lambda worker process: the init phase (import the handler once), then
invocations sent by the local cloud, one at a time, as Lambda's Python runtime does in its sandbox.

The cloud talks to the worker over a private socket (argv[1]) with length-prefixed JSON messages,
never over stdout/stderr, so whatever a handler prints cannot corrupt the protocol:
  worker -> cloud, once:  {"ready": true} or {"error": {...}}
  cloud -> worker:        {"request_id", "event" (JSON text), "deadline_ms", "invoked_function_arn"}
  worker -> cloud:        {"payload" (JSON text), "errored", "duration_ms", "max_memory_mb"}
Log events go out as they happen, {"log": [epoch_ms, text]}, so a handler killed at its timeout
still leaves the lines it printed.
"""
from __future__ import annotations

import decimal
import importlib
import io
import json
import logging
import os
import resource
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection

if __package__:  # imported by the cloud
    from gluelab.cloud import lambda_packages
else:  # a worker, run by path (or forked from the zygote): this file's folder is on sys.path
    import lambda_packages


class LogChannel:
    """Sends each log event to the cloud at once; handler threads may log concurrently."""

    def __init__(self, channel: Connection):
        self.channel = channel
        self.lock = threading.Lock()

    def send(self, message: dict) -> None:
        data = json.dumps(message).encode()
        with self.lock:
            self.channel.send_bytes(data)

    def add(self, text: str) -> None:
        self.send({"log": [int(time.time() * 1000), text]})


class LineStream(io.TextIOBase):
    """Stands in for sys.stdout/sys.stderr: each printed line becomes one log event."""

    encoding = "utf-8"

    def __init__(self, sink: LogChannel):
        self.sink = sink
        self.partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            self.sink.add(line)
        return len(text)

    def end_phase(self) -> None:
        if self.partial:
            self.sink.add(self.partial)
            self.partial = ""


class RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


class SinkHandler(logging.Handler):
    """Lambda's root log handler: one event per record, in the runtime's tab-separated format."""

    def __init__(self, sink: LogChannel):
        super().__init__()
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.add(self.format(record))


class LambdaContext:
    """The context object Lambda passes to Python handlers (same attribute names and types)."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str):
        env = os.environ
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = env["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = env["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]  # a str in Lambda too
        self.log_group_name = env["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = env["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)


def error_payload(error_type: str, message: str, tb=None, request_id: str | None = None) -> dict:
    """Lambda's error shape; the stack trace shows the function's frames, not the runtime's."""
    frames = [frame for frame in traceback.extract_tb(tb)
              if frame.filename != __file__ and not frame.filename.startswith("<frozen")]
    payload = {"errorMessage": message, "errorType": error_type}
    if request_id is not None:
        payload["requestId"] = request_id
    payload["stackTrace"] = traceback.format_list(frames)
    return payload


def error_log_line(payload: dict) -> str:
    """The single log event Lambda's Python runtime writes for an unhandled error."""
    line = f"[ERROR] {payload['errorType']}: {payload['errorMessage']}"
    if payload["stackTrace"]:
        line += "\nTraceback (most recent call last):\n" + "".join(payload["stackTrace"])
    return line.rstrip("\n")


def _decimal_default(value):
    # Lambda's runtime serialises Decimal (what DynamoDB returns for numbers) the same way.
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class HandlerError(Exception):
    """The handler cannot be loaded; error_type is the one Lambda reports for the same case."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


def load_handler(handler: str):
    """Import the handler as Lambda does, failing with Lambda's error types and messages."""
    try:
        module_path, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise HandlerError("Runtime.MalformedHandlerName", f"Bad handler '{handler}': {exc}")
    module_name = module_path.replace("/", ".")
    if module_path.split(".")[0] in sys.builtin_module_names:  # `sys.handler` would find sys
        raise HandlerError("Runtime.BuiltInModuleConflict",
                           f"Cannot use built-in module {module_path} as a handler module")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise HandlerError("Runtime.ImportModuleError",
                           f"Unable to import module '{module_name}': {exc}")
    except SyntaxError as exc:  # "invalid syntax (app.py, line 44)", as Lambda words it
        raise HandlerError("Runtime.UserCodeSyntaxError",
                           f"Syntax error in module '{module_name}': {exc}")
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise HandlerError("Runtime.HandlerNotFound",
                           f"Handler '{function_name}' missing on module '{module_name}'")


def die_with_parent(parent_pid: int) -> None:
    """Never outlive the local cloud, even if it is killed with SIGKILL."""
    try:
        import ctypes
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the closed socket still ends the worker once it is idle
    if os.getppid() != parent_pid:  # the cloud died before prctl took effect
        os._exit(0)


def max_memory_mb() -> int:
    """Peak memory of this process. Linux keeps ru_maxrss across exec (it would report the
    cloud's own peak), so read the kernel's high-water mark where there is one."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # bytes on macOS
    return peak // (1024 * 1024) if sys.platform == "darwin" else peak // 1024


def invoke(handler, request: dict, log: LogChannel, streams, request_filter) -> dict:
    request_id = request["request_id"]
    request_filter.request_id = request_id
    context = LambdaContext(request_id, request["deadline_ms"], request["invoked_function_arn"])
    error = None
    started = time.perf_counter()
    try:
        result = handler(json.loads(request["event"]), context)
    except Exception as exc:  # noqa: BLE001 - every handler failure becomes Lambda's error shape
        error = error_payload(type(exc).__name__, str(exc), exc.__traceback__, request_id)
    duration_ms = (time.perf_counter() - started) * 1000
    if error is None:
        try:
            payload = json.dumps(result, default=_decimal_default)
        except (TypeError, ValueError) as exc:
            error = error_payload("Runtime.MarshalError", f"Unable to marshal response: {exc}",
                                  request_id=request_id)
    for stream in streams:
        stream.end_phase()
    if error is not None:
        log.add(error_log_line(error))
        payload = json.dumps(error)
    return {"payload": payload, "errored": error is not None, "duration_ms": duration_ms,
            "max_memory_mb": max_memory_mb()}


def route_output(log: LogChannel, streams) -> RequestIdFilter:
    """Send prints and logging records to the function's log, formatted as Lambda does."""
    sys.stdout, sys.stderr = streams
    request_filter = RequestIdFilter()
    log_handler = SinkHandler(log)
    log_handler.addFilter(request_filter)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    log_handler.setFormatter(formatter)
    logging.getLogger().addHandler(log_handler)
    return request_filter


def init():
    """Lambda's init phase: import the handler's module. Returns (handler, error payload)."""
    # Run by file path so that starting a worker imports nothing of gluelab (nor boto3);
    # Lambda puts the task root, not the runtime's own folder, first on sys.path.
    sys.path[0] = os.environ["LAMBDA_TASK_ROOT"]
    lambda_packages.guard(sys.path[0])  # it imports only what Lambda would let it import
    # An init error has no request to belong to: Lambda's Python runtimes send "requestId": "".
    try:
        return load_handler(os.environ["_HANDLER"]), None
    except HandlerError as exc:
        return None, error_payload(exc.error_type, str(exc), request_id="")
    except Exception as exc:  # noqa: BLE001 - module-level code failed: Lambda's init error
        return None, error_payload(type(exc).__name__, str(exc), exc.__traceback__, "")


_install_redirect = None


def twilio_redirect():
    """gluelab.twilio_local.install_redirect, which sends the official twilio client to the
    Twilio stand-in; imported once per process (the zygote imports it for what it forks)."""
    global _install_redirect
    if _install_redirect is None:
        with lambda_packages.runtime_imports():  # not the function's: hidden from it after
            from gluelab.twilio_local import install_redirect
        _install_redirect = install_redirect
    return _install_redirect


def main() -> None:
    channel_fd, parent_pid = int(sys.argv[1]), int(sys.argv[2])
    die_with_parent(parent_pid)
    log = LogChannel(Connection(channel_fd))
    streams = (LineStream(log), LineStream(log))
    request_filter = route_output(log, streams)
    handler, error = init()
    if os.environ.get("GLUELAB_CLOUD_URL") and "twilio" in sys.modules:  # only twilio users pay the import
        twilio_redirect()(os.environ["GLUELAB_CLOUD_URL"])
    for stream in streams:
        stream.end_phase()
    if error:
        log.add(error_log_line(error))
        log.send({"error": error})
        return
    log.send({"ready": True})
    while True:
        try:
            request = json.loads(log.channel.recv_bytes())
        except EOFError:  # the cloud closed our channel: this worker is retired
            return
        log.send(invoke(handler, request, log, streams, request_filter))


if __name__ == "__main__":
    main()
