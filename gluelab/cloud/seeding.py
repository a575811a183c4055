"""Repeatable ids: moto's random source, one stream per thread.

The journal (persistence.py) replays each state-changing call with the seed it was first run
with, so the ids it makes (API ids, hence API URLs) come back the same after a restart. Two
things would break that with moto's single shared generator: other requests drawing from it at
the same time, and a service's backend being created lazily (IAM draws thousands of numbers
for its managed policies) inside whichever call happens to touch it first. So each thread gets
its own stream, and creating a backend draws from a stream of its own.
"""
from __future__ import annotations

import contextlib
import random
import threading

_local = threading.local()


def _stream() -> random.Random:
    stream = getattr(_local, "stream", None)
    if stream is None:
        stream = _local.stream = random.Random()
    return stream


def seed(value: int) -> None:
    """Make this thread's next moto ids a function of `value` alone."""
    _stream().seed(value)


@contextlib.contextmanager
def own_stream():
    """Draws inside come from a stream of their own: this thread's goes on as if they had not
    happened (a journal entry replayed in the middle of another call, see first_use.py)."""
    saved = getattr(_local, "stream", None)
    _local.stream = random.Random()
    try:
        yield
    finally:
        _local.stream = saved


def install(context) -> None:
    from moto.core.base_backend import AccountSpecificBackend
    from moto.moto_api._internal.moto_random import MotoRandom

    # Every other Random method (choice, choices, sample, uuid4, ...) draws through these two.
    MotoRandom.random = lambda self: _stream().random()
    MotoRandom.getrandbits = lambda self, k: _stream().getrandbits(k)
    MotoRandom.seed = lambda self, a=None, version=2: _stream().seed(a, version)

    create_or_get = AccountSpecificBackend.__getitem__

    def getitem(self, region_name):
        key = "aws" if region_name == "global" else region_name
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        saved = getattr(_local, "stream", None)
        _local.stream = random.Random(f"{self.account_id}/{key}")
        try:
            return create_or_get(self, region_name)
        finally:
            _local.stream = saved

    AccountSpecificBackend.__getitem__ = getitem
