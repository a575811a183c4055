"""The cloud process gives memory back once a burst is over.

CPython frees objects into glibc's malloc, which keeps the pages; with one malloc arena per thread
that ever allocated (up to 8 per core), a burst of webhooks and executions, each on threads of
its own, left the cloud hundreds of MB above what it holds afterwards. So: two arenas (threads
share them; Python holds the GIL while it allocates, so they hardly contend), and once nothing
runs (no Lambda invocation, no execution) a full garbage collection and malloc_trim, which hands
the free pages back to the system.

A full collection scans every object the cloud holds (moto's state, botocore's models, the
schemas a deploy loads): with hundreds of executions running it took the GIL for long enough to
stall every webhook. What survives a full collection is frozen out of the collector's sight
(gc.freeze), so the next full ones scan only what came since; once the cloud is quiet, or the
frozen objects have doubled since, everything is unfrozen and collected again, so cyclic
garbage among them is not kept for good. So is what a start froze uncollected because the cloud
was busy when its warm-up ended (warm_start.py: collect_when_quiet).

moto's Step Functions interpreter appends every thread it starts (an execution's, its
program's, each Parallel branch's, each task's) to a module-level list, TMP_THREADS, which its
own tests join and nothing ever empties: each ended thread kept its name (a branch's is the repr
of its whole program, 6 KB), its locks and events: some 30 KB per execution of the reference
app, for good. Ended threads are dropped from it at every check.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
import threading
import time

ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt parameter
CHECK_EVERY_S = 5.0
QUIET_FOR_S = 10.0  # nothing ran for this long: the burst is over

_libc = None
_owed = threading.Event()  # a full collection put off until the cloud is quiet


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - not glibc (musl, macOS): nothing to tune
        return libc
    except (OSError, AttributeError):
        return None


def trim() -> None:
    """Collect cycles among everything, then return free memory to the system."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    if _libc is not None:
        _libc.malloc_trim(0)


def collect_when_quiet() -> None:
    _owed.set()


def _freeze_survivors(phase: str, info: dict) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def _forget_ended_threads() -> None:
    utils = sys.modules.get("moto.stepfunctions.parser.utils")
    if utils is not None:  # in place: the interpreter's modules imported the list by name
        # (one appended between the copy and the assignment is dropped too: nothing reads it)
        utils.TMP_THREADS[:] = [thread for thread in list(utils.TMP_THREADS) if thread.is_alive()]


def _quiet(busy) -> None:
    """Trim once per quiet spell (after busy() has said False for QUIET_FOR_S), and when the
    frozen objects have doubled since the last trim."""
    last_busy, trimmed, frozen = time.monotonic(), True, 0  # 0: not trimmed yet
    while True:
        time.sleep(CHECK_EVERY_S)
        _forget_ended_threads()
        now = time.monotonic()
        if busy():
            last_busy, trimmed = now, False
        if (frozen and gc.get_freeze_count() > 2 * frozen) or (
                (not trimmed or _owed.is_set()) and now - last_busy >= QUIET_FOR_S):
            _owed.clear()
            trim()
            trimmed, frozen = True, gc.get_freeze_count()


def _busy() -> bool:
    from gluelab.cloud import durable_executions, lambda_runtime
    workers = lambda_runtime.worker_stats()
    return bool(durable_executions.running() or workers.get("busy") or workers.get("starting")
                or workers.get("queued"))


def install(context) -> None:
    global _libc
    _libc = _glibc()
    if _libc is not None:  # before the server's threads allocate: arenas are made on first use
        _libc.mallopt(M_ARENA_MAX, ARENAS)
    gc.callbacks.append(_freeze_survivors)
    threading.Thread(target=_quiet, args=(_busy,), name="memory-trim", daemon=True).start()
