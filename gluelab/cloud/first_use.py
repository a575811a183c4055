"""Saved state put back after the cloud answers: right after, in the background (warm_start.py),
or earlier for a service something uses first.

A start used to import and fill every service moto had state for (SSM alone pulls in EC2's
models, the Step Functions backend its whole interpreter) before it answered. Now the parts of
a restore that belong to one service (its part of the snapshot, the journal's tail of item
writes, Lambda logs and finished executions) are registered here under that service's
BackendDict, and run, in order, the first time anything reads or changes that BackendDict: a
request, another service's code, the background restore, the snapshot's saver. Every
path to a service's backends goes through its BackendDict (`xxx_backends[account][region]`),
so nothing sees a service before its state is back. Pinned in tests/test_moto_hooks.py.
"""
from __future__ import annotations

import importlib
import logging
import sys
import threading
from functools import partial, wraps
from typing import Callable

from gluelab.cloud.lazy import when_imported

log = logging.getLogger("gluelab.first_use")

PENDING = "_gluelab_restore"  # on a BackendDict with restore steps still to run
# Every way moto and gluelab read or change a BackendDict: each runs the steps first.
METHODS = ("__getitem__", "__setitem__", "__delitem__", "__iter__", "__len__", "__contains__",
           "keys", "values", "items", "get", "pop", "setdefault", "clear", "copy", "iter_backends")

# One restore at a time; a step may use another service (re-entrant). It is also the lock moto's
# dispatcher holds while it makes a service's app, which reads that service's BackendDict: with
# two locks, a restore replaying a call (which needs the dispatcher) and the dispatcher making
# an app (which waits for the restore) each held what the other waited for.
_lock = threading.RLock()
_steps: dict[tuple[str, str], list[Callable[[], None]]] = {}  # (module, attribute) -> steps
_attributes: dict[str, set[str]] = {}  # module -> its BackendDicts with steps (never shrinks)
_running: set[tuple[str, str]] = set()


def on_first_use(key: tuple[str, str], step: Callable[[], None]) -> None:
    """Run `step` before the BackendDict `key` (module, attribute) is first read or changed."""
    module, attribute = key
    _patch_backend_dicts()
    with _lock:
        _steps.setdefault(key, []).append(step)
        first = module not in _attributes
        _attributes.setdefault(module, set()).add(attribute)
    if first:
        when_imported(module, _mark)  # at once if it is imported already
    elif module in sys.modules:
        _mark(sys.modules[module])


def _mark(module) -> None:
    # Runs inside the module's import: takes no lock (a restore holding _lock may be importing).
    for attribute in _attributes.get(module.__name__, ()):
        key = (module.__name__, attribute)
        # _running too: a restore (the snapshot saver's) may be what imports the module, after
        # taking its steps; until it ends, readers must still come in to wait for it.
        if key in _steps or key in _running:
            setattr(getattr(module, attribute), PENDING, partial(restore, key))


def restore(key: tuple[str, str]) -> None:
    """Run what is registered for `key`, once; other threads wait until it is done."""
    with _lock:
        if key in _running:  # a step of this very restore reads the service it restores
            return
        steps = _steps.pop(key, None)
        if steps:
            _running.add(key)
            try:
                for step in steps:
                    _run(key, step)
            finally:
                _running.discard(key)
        target = getattr(importlib.import_module(key[0]), key[1])
        target.__dict__.pop(PENDING, None)  # last: until here, every reader comes in to wait


# What a journal entry after the snapshot changes, when that is one service alone: the app's
# steady traffic (item writes, Lambda logs, finished executions), so a day's tail waits too.
_NOTES = {"logs": ("moto.logs.models", "logs_backends"),
          "execution": ("moto.stepfunctions.parser.models", "stepfunctions_parser_backends")}
_DYNAMODB_ITEM_WRITES = {f"DynamoDB_20120810.{action}" for action in (
    "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")}
DYNAMODB = ("moto.dynamodb.models", "dynamodb_backends")


def service_of(entry: dict) -> tuple[str, str] | None:
    """The one BackendDict a journal entry changes, or None if it may change more (or other
    things: queued Lambda events), so it is replayed at start."""
    if "kind" in entry:
        return _NOTES.get(entry["kind"])
    if entry["headers"].get("X-Amz-Target") in _DYNAMODB_ITEM_WRITES:
        return DYNAMODB
    return None


def waiting_from(entries: list[dict]) -> int:
    """Where the entries that can wait for their service's first use begin: after the last
    one that cannot (which may depend on any before it, so they all run before it)."""
    index = len(entries)
    while index and service_of(entries[index - 1]) is not None:
        index -= 1
    return index


def _run(key: tuple[str, str], step: Callable[[], None]) -> None:
    try:
        step()
    except Exception as exc:  # the call that came for the service still gets an answer
        log.exception("restoring %s", key[0])
        print(f"warning: part of the saved state of {key[0].split('.')[1]} could not be "
              f"restored ({type(exc).__name__}); what it held is missing. `gluelab cloud "
              f"reset` starts from an empty cloud.", flush=True)


def restore_everything(first: tuple[tuple[str, str], ...] = (),
                       pause: Callable[[], None] = lambda: None) -> None:
    """Every registered step run (before a snapshot is saved: it must hold everything), those
    of the BackendDicts in `first` first, then each of the others after `pause()`."""
    for key in first:
        if key in _steps:
            restore(key)
    while _steps:
        with _lock:
            keys = list(_steps)
        for key in keys:
            if key in _steps:  # not restored by a request during the pause
                pause()
                restore(key)


def _loading_first(method):
    def restored_first(self, *args, **kwargs):
        pending = self.__dict__.get(PENDING)
        if pending is not None:
            pending()
        return method(self, *args, **kwargs)
    restored_first.__wrapped__ = method
    return restored_first


def _patch_backend_dicts() -> None:
    from moto.core.base_backend import BackendDict
    if getattr(BackendDict.__getitem__, "__wrapped__", None) is None:
        for name in METHODS:
            setattr(BackendDict, name, _loading_first(getattr(BackendDict, name)))


def _share_the_dispatchers_lock(werkzeug_app) -> None:
    dispatcher = werkzeug_app.DomainDispatcherApplication
    made = dispatcher.__init__

    @wraps(made)
    def __init__(self, *args, **kwargs):
        made(self, *args, **kwargs)
        self.lock = _lock
    dispatcher.__init__ = __init__


def install(context) -> None:
    when_imported("moto.moto_server.werkzeug_app", _share_the_dispatchers_lock)
