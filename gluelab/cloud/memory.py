"""The cloud process gives memory back once a burst is over.

CPython frees objects into glibc's malloc, which keeps the pages; with one malloc arena per thread
that ever allocated (up to 8 per core), a burst of webhooks and executions, each on threads of
its own, left the cloud hundreds of MB above what it holds afterwards. So: two arenas (threads
share them; Python holds the GIL while it allocates, so they hardly contend), and once nothing
runs (no Lambda invocation, no execution) a full garbage collection and malloc_trim, which hands
the free pages back to the system.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc
import threading
import time

ARENAS = 2
M_ARENA_MAX = -8  # glibc's mallopt parameter
CHECK_EVERY_S = 5.0
QUIET_FOR_S = 10.0  # nothing ran for this long: the burst is over

_libc = None


def _glibc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - not glibc (musl, macOS): nothing to tune
        return libc
    except (OSError, AttributeError):
        return None


def trim() -> None:
    """Collect cycles, then return free memory to the system."""
    gc.collect()
    if _libc is not None:
        _libc.malloc_trim(0)


def _quiet(busy) -> None:
    """Trim once per quiet spell: after busy() has said False for QUIET_FOR_S."""
    last_busy, trimmed = time.monotonic(), True
    while True:
        time.sleep(CHECK_EVERY_S)
        now = time.monotonic()
        if busy():
            last_busy, trimmed = now, False
        elif not trimmed and now - last_busy >= QUIET_FOR_S:
            trim()
            trimmed = True


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
    threading.Thread(target=_quiet, args=(_busy,), name="memory-trim", daemon=True).start()
