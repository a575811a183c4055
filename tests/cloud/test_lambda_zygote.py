"""The cloud's one Lambda zygote (lambda_zygote.Keeper): ready before the first cold start,
waited for rather than duplicated while it starts, and gone from an idle cloud after the idle
timeout. Real zygote processes, no cloud: the keeper is the part under test."""
from __future__ import annotations

import subprocess
import time

import pytest

from gluelab.cloud.lambda_zygote import Keeper, environment
from tests.cloud.test_lambda_runtime import wait_until

IDLE_S = 2.0


def keeper(in_use) -> Keeper:
    return Keeper(lambda args, **kwargs: subprocess.Popen(args, **kwargs), environment, IDLE_S,
                  in_use)


@pytest.fixture
def zygotes():
    made = []
    yield lambda in_use: made.append(keeper(in_use)) or made[-1]
    for kept in made:
        kept.stop()


def test_a_cold_start_that_finds_the_zygote_starting_waits_for_it(zygotes):
    # A cold start right after a CreateFunction (or a start) gets the zygote once its preloads
    # are done, not None (which meant a second Python importing boto3 beside it).
    kept = zygotes(lambda: 0)
    kept.start()
    zygote = kept.ready()
    assert zygote is not None and zygote.process.poll() is None
    assert kept.ready() is zygote  # one zygote, however many cold starts ask


def test_a_lone_cold_start_that_finds_no_zygote_starts_one_and_does_not_wait(zygotes):
    kept = zygotes(lambda: 0)
    assert kept.ready() is None  # this one is started anew (0.7 s, against 1 s of preloads)
    assert kept.ready() is not None  # the next ones wait for the zygote it started


def test_a_zygote_nobody_forked_from_retires_after_the_idle_timeout(zygotes):
    # Started ahead (the warm-up), never used: an idle cloud does not keep its 50 MB for good.
    kept = zygotes(lambda: 0)
    kept.start()
    zygote = kept.ready()
    assert wait_until(lambda: zygote.process.poll() is not None, IDLE_S + 5)
    assert kept.ready() is None and kept.ready() not in (None, zygote)  # it starts another


def test_a_zygote_stays_while_workers_live(zygotes):
    # Workers (forked from it, or started anew) still live: the pool retires it with the last.
    kept = zygotes(lambda: 1)
    kept.start()
    zygote = kept.ready()
    time.sleep(IDLE_S + 1)
    assert zygote.process.poll() is None and kept.ready() is zygote
