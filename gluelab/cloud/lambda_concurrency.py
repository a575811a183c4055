"""Lambda's concurrency limits: reserved concurrency per function and the account's limit.

As on Lambda, an invocation counts from when it is accepted until it ends. A function with
reserved concurrency (PutFunctionConcurrency, ReservedConcurrentExecutions in a template) runs at
most that many at once, 0 stops it; the other functions share what the reservations leave of the
account limit (GLUELAB_LAMBDA_CONCURRENCY, default 1000, Lambda's default quota). Over a limit a
synchronous invoke is refused with 429 TooManyRequestsException, "Rate Exceeded.", and the
Reason Lambda gives; Step Functions sees it as Lambda.TooManyRequestsException, which Retry can
catch. Asynchronous invocations (InvocationType=Event) are not refused: they wait in a queue and
run when the function has capacity again, as Lambda's event queue retries throttled events.
The queue is durable like Lambda's: each accepted event is journaled, and so is its end, so
events still queued or running when the cloud stops run after the next start (at-least-once:
one that was running runs again, as Lambda may deliver an event twice).
"""
from __future__ import annotations

import json
import os
import threading
import uuid
from collections import Counter
from typing import Callable

from moto.core.exceptions import JsonRESTError

from gluelab.cloud import persistence

DEFAULT_ACCOUNT_LIMIT = 1000  # Lambda's default concurrent executions quota per Region
RESERVED = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT = "ConcurrentInvocationLimitExceeded"


class TooManyRequests(JsonRESTError):
    """Lambda's throttling error: HTTP 429 with the body Lambda sends."""

    code = 429

    def __init__(self, reason: str):
        super().__init__("TooManyRequestsException", "Rate Exceeded.")
        self.reason = reason
        self.description = json.dumps({"Reason": reason, "Type": "User",
                                       "message": "Rate Exceeded."})


def account_limit() -> int:
    return int(os.environ.get("GLUELAB_LAMBDA_CONCURRENCY") or DEFAULT_ACCOUNT_LIMIT)


def reservation(fn) -> int | None:
    value = getattr(fn, "reserved_concurrency", None)
    return None if value in (None, "") else int(value)


class Concurrency:
    """Counts running invocations against the limits; admit() answers a release callback."""

    def __init__(self, limit: int, reservations: Callable[[], dict[str, int]]):
        self.limit = limit
        self.reservations = reservations  # function name -> reserved concurrency, all functions
        self.lock = threading.Condition()
        self.running: Counter = Counter()  # function name -> invocations running
        self.unreserved_running = 0
        self.pending: dict = {}  # event id -> (function, event): accepted, not yet running
        self.unfinished = 0  # events restored from the journal that had not ended
        self.throttled = Counter()  # reason -> synchronous invocations refused

    def refusal(self, name: str, reserved: int | None) -> str | None:
        """The Reason Lambda would give for throttling one more invocation, or None."""
        if reserved is not None:
            return RESERVED if self.running[name] >= reserved else None
        unreserved = self.limit - sum(self.reservations().values())
        return ACCOUNT if self.unreserved_running >= unreserved else None

    def try_admit(self, fn) -> Callable[[], None] | None:
        name, reserved = fn.function_name, reservation(fn)
        with self.lock:
            if self.refusal(name, reserved):
                return None
            self.running[name] += 1
            if reserved is None:
                self.unreserved_running += 1
        released = threading.Event()

        def release() -> None:
            if released.is_set():
                return
            released.set()
            with self.lock:
                self.running[name] -= 1
                if not self.running[name]:
                    del self.running[name]
                if reserved is None:
                    self.unreserved_running -= 1
                self.lock.notify_all()
        return release

    def admit(self, fn) -> Callable[[], None]:
        """Admit a synchronous invocation or raise Lambda's TooManyRequestsException."""
        release = self.try_admit(fn)
        if release is None:
            with self.lock:
                reason = self.refusal(fn.function_name, reservation(fn)) or ACCOUNT
                self.throttled[reason] += 1
            raise TooManyRequests(reason)
        return release

    def enqueue(self, fn, event) -> None:
        """Accept an asynchronous invocation; it is journaled before the caller has its 202."""
        event_id = uuid.uuid4().hex
        persistence.note("lambda-event", {"id": event_id, "arn": fn.function_arn,
                                          "event": event})
        with self.lock:
            self.pending[event_id] = (fn, event)
            self.lock.notify_all()

    def requeue(self, event_id: str, fn, event) -> None:
        with self.lock:
            self.pending[event_id] = (fn, event)
            self.lock.notify_all()

    def ended(self, event_id: str) -> None:
        persistence.note("lambda-event-done", {"id": event_id})

    def restore(self, record: dict, function_of: Callable) -> None:
        """A journaled event: queued again, until its end record (if any) is replayed."""
        self.pending[record["id"]] = (function_of(record["arn"]), record["event"])
        self.unfinished += 1

    def restore_end(self, record: dict) -> None:
        if self.pending.pop(record["id"], None) is not None:
            self.unfinished -= 1

    def forget(self, name: str) -> None:
        """A deleted function's queued events are dropped, as Lambda drops them."""
        with self.lock:
            dropped = [key for key, (fn, _) in self.pending.items() if fn.function_name == name]
            for event_id in dropped:
                del self.pending[event_id]
        for event_id in dropped:  # ended: a restart does not queue it again (persistence.py)
            self.ended(event_id)

    def dispatch(self, run: Callable, room: Callable[[], bool]) -> None:
        """Forever: hand each queued event whose function has capacity to run(event_id, fn,
        event, release), in arrival order per function, while room() says a runner is free."""
        if self.unfinished:
            print(f"Lambda: {self.unfinished} asynchronous invocations accepted before the "
                  f"restart had not ended; they run now (any that was running runs again).",
                  flush=True)
        while True:
            with self.lock:
                started = []
                blocked = set()
                for event_id, (fn, event) in list(self.pending.items()):
                    if fn.function_name in blocked or not room():
                        blocked.add(fn.function_name)
                        continue
                    release = self.try_admit(fn)
                    if release is None:
                        blocked.add(fn.function_name)
                        continue
                    del self.pending[event_id]
                    started.append((event_id, fn, event, release))
                if not started:
                    self.lock.wait(1.0)
            for item in started:
                run(*item)

    def stats(self) -> dict:
        with self.lock:
            return {"account_limit": self.limit, "running": sum(self.running.values()),
                    "queued_events": len(self.pending), "throttled": dict(self.throttled),
                    "reserved": self.reservations()}


def _lambda_errors_named_as_step_functions_does(from_error):
    """A Task whose Resource is a function ARN reports a refused Lambda call (a throttle, a
    missing function) as Lambda.<error code>, as Step Functions does, so that a Retry on
    Lambda.TooManyRequestsException catches a throttle; moto 5.2.5 says "Exception"."""
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
        CustomErrorName)
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent)
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_lambda)
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    cause_of = state_task_service_lambda.StateTaskServiceLambda._error_cause_from_client_error

    def patched(self, env, ex):
        if not isinstance(ex, ClientError):
            return from_error(self, env, ex)
        error, cause = cause_of(ex)
        return FailureEvent(
            env=env, error_name=CustomErrorName(error),
            event_type=HistoryEventType.LambdaFunctionFailed,
            event_details=EventDetails(lambdaFunctionFailedEventDetails=(
                LambdaFunctionFailedEventDetails(error=error, cause=cause))))
    patched.__wrapped__ = from_error
    return patched


def _patch_state_task_lambda(module) -> None:
    module.StateTaskLambda._from_error = _lambda_errors_named_as_step_functions_does(
        module.StateTaskLambda._from_error)


def install() -> None:
    from gluelab.cloud.lazy import when_imported
    # Lazily: the Step Functions interpreter takes about a second to import, which a start of
    # the cloud must not pay; importing it here also bound its boto client before IAM's patch.
    when_imported("moto.stepfunctions.parser.asl.component.state.exec.state_task."
                  "state_task_lambda", _patch_state_task_lambda)
    # moto refuses a PutFunctionConcurrency that leaves the account under 100 unreserved
    # executions, with Lambda's wording, once it knows the account's limit.
    os.environ.setdefault("MOTO_LAMBDA_CONCURRENCY_QUOTA", str(account_limit()))
