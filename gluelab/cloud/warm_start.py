"""What a start does once the cloud answers: its saved state, then its warm-up, in the background,
ordered so that an attendee's first calls are served first.

1. The saved state (first_use.py) is put back right away, service by service: CloudFormation
   first (a stack reaches every service it made), then DynamoDB and Step Functions, then the
   rest, each once no request has been served for QUIET_S. The first calls after a restart (the
   stack, the reports, the executions) find their service restored, or being restored, instead
   of each beginning it in turn, and do not wait behind services nobody has asked for yet.
2. Then the warm-up steps (`later`: what the first deploy needs, IAM's reference data), each
   once no request has been served for QUIET_S (or after MAX_WAIT_S): a step would otherwise
   take half of the one interpreter lock from the calls being answered.
3. Python's cyclic garbage collector is off from the start of the process until then (`begin`):
   a start makes a million objects that live as long as the process (modules, the saved
   state), and each collection walked them all again, a quarter of a start's CPU time. At the
   end, once quiet, one full collection (memory.py freezes what survives it). If the cloud is
   still busy then, they are frozen without that walk: it held the interpreter for 0.9 s in the
   middle of the load benchmark's burst, and every webhook being answered waited for it;
   memory.py collects them once the cloud is quiet.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Callable

from gluelab.cloud import first_use, memory

log = logging.getLogger("gluelab.warm_start")

# Likeliest first after a restart: the stack (which restores most services with it), the
# reports table, the executions.
FIRST = (("moto.cloudformation.models", "cloudformation_backends"), first_use.DYNAMODB,
         ("moto.stepfunctions.parser.models", "stepfunctions_parser_backends"))
QUIET_S = 0.5
MAX_WAIT_S = 5.0
USER_AGENT = "gluelab-warm-up"  # the warm-up's own requests, which are not a caller waiting

_steps: list[Callable[[], None]] = []
_lock = threading.Lock()
_busy = 0
_last = 0.0  # time.monotonic() when the last request ended


def begin() -> None:
    """Called first thing in the cloud process: no cyclic collections until start() is done."""
    gc.disable()


def later(step: Callable[[], None], first: bool = False) -> None:
    """Run `step` in the background after the saved state is back, when no request is served."""
    _steps.insert(0 if first else len(_steps), step)


def _quiet(deadline: float) -> bool:
    """Wait until no request has been served for QUIET_S (True) or until `deadline` (False)."""
    while time.monotonic() < deadline:
        with _lock:
            idle = 0.0 if _busy else time.monotonic() - _last
        if idle >= QUIET_S:
            return True
        time.sleep(QUIET_S - idle if idle else 0.05)
    return False


def _run() -> None:
    # A restore holds the dispatcher's lock (first_use.py): every request waits for it. Those a
    # caller needs come first, and a caller's request restores what it uses itself: the others
    # wait for a quiet moment, so a restart's first calls do not queue behind them.
    first_use.restore_everything(first=FIRST, pause=lambda: _quiet(time.monotonic() + MAX_WAIT_S))
    for step in _steps:
        _quiet(time.monotonic() + MAX_WAIT_S)
        try:
            step()
        except Exception:  # a warm-up only saves time later: the cloud serves without it
            log.exception("warming up with %s", getattr(step, "__name__", step))
    if _quiet(time.monotonic() + MAX_WAIT_S):
        gc.collect()
    else:
        gc.freeze()
        memory.collect_when_quiet()
    gc.enable()


def start() -> threading.Thread:
    thread = threading.Thread(target=_run, daemon=True, name="warm-start")
    thread.start()
    return thread


def wrap(app, context):
    """Outermost WSGI layer: knows whether a caller's request is being served."""
    def counting(environ, start_response):
        global _busy, _last
        if USER_AGENT in environ.get("HTTP_USER_AGENT", ""):
            return app(environ, start_response)
        with _lock:
            _busy += 1
        try:
            return app(environ, start_response)
        finally:
            with _lock:
                _busy -= 1
                _last = time.monotonic()
    return counting
