"""After a start, the warm-up waits while a caller is being served (it would take half of the
interpreter from the caller's answer) and runs once nobody is; the collector is back on after it.
So does the restore of the services callers are not likeliest to ask for first: a restore holds
the dispatcher's lock, and a restart's first calls queued behind them."""
from __future__ import annotations

import gc
import threading
import time

import pytest

from gluelab.cloud import first_use, memory, warm_start


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(warm_start, "_steps", [])
    monkeypatch.setattr(warm_start, "_busy", 0)
    monkeypatch.setattr(warm_start, "QUIET_S", 0.05)
    yield
    gc.enable()


def _serving(user_agent: str):
    """A request held in the WSGI layer until the returned event is set."""
    release = threading.Event()
    app = warm_start.wrap(lambda environ, start_response: release.wait(10) and [b""], None)
    caller = threading.Thread(target=app, args=({"HTTP_USER_AGENT": user_agent}, None))
    caller.start()
    return release, caller


def test_the_warm_up_waits_for_a_caller_s_request_to_be_answered(fresh):
    release, caller = _serving("Boto3/1.43 md/Botocore")
    while not warm_start._busy:  # the request is in the layer
        time.sleep(0.01)
    ran = []
    warm_start.later(lambda: ran.append("warm-up"))
    warm_start.begin()
    thread = warm_start.start()
    thread.join(0.5)
    assert ran == [] and thread.is_alive()  # still waiting: the caller is being served

    release.set()
    caller.join(5)
    thread.join(5)
    assert ran == ["warm-up"] and gc.isenabled()


def test_the_warm_up_s_own_requests_do_not_hold_it_back(fresh):
    release, caller = _serving(f"Boto3/1.43 {warm_start.USER_AGENT}")
    ran = []
    warm_start.later(lambda: ran.append("second"))
    warm_start.later(lambda: ran.append("first"), first=True)
    warm_start.start().join(5)
    release.set()
    caller.join(5)
    assert ran == ["first", "second"]


def test_a_warm_up_that_ends_while_a_caller_is_served_leaves_the_full_collection_for_later(
        fresh, monkeypatch):
    """The collection that ends a start walks every object the start made: in the middle of the
    load benchmark's burst it held the interpreter for 0.9 s, and every webhook waited for it.
    While a caller is being served, what the start made is frozen instead, and memory.py is
    told to collect it once the cloud is quiet."""
    monkeypatch.setattr(warm_start, "MAX_WAIT_S", 0.2)
    collections = []
    monkeypatch.setattr(gc, "collect", lambda *generation: collections.append(generation))
    monkeypatch.setattr(memory, "_owed", threading.Event())
    release, caller = _serving("Boto3/1.43 md/Botocore")
    while not warm_start._busy:
        time.sleep(0.01)
    warm_start.begin()
    try:
        warm_start.start().join(5)
        assert collections == [] and gc.get_freeze_count() > 0 and gc.isenabled()
        assert memory._owed.is_set()
    finally:
        release.set()
        caller.join(5)
        gc.unfreeze()


def test_a_warm_up_that_ends_on_a_quiet_cloud_collects_at_once(fresh, monkeypatch):
    collections = []
    monkeypatch.setattr(gc, "collect", lambda *generation: collections.append(generation))
    monkeypatch.setattr(memory, "_owed", threading.Event())
    warm_start.begin()
    warm_start.start().join(5)
    assert collections == [()] and not memory._owed.is_set() and gc.isenabled()


SERVICE = """
from moto.core.base_backend import BackendDict, BaseBackend
things_backends = BackendDict(BaseBackend, "sts")
"""


def test_a_start_restores_the_likeliest_services_first_and_the_others_once_callers_are_served(
        fresh, tmp_path, monkeypatch):
    for module in ("gluelab_fake_stacks", "gluelab_fake_other"):
        (tmp_path / f"{module}.py").write_text(SERVICE)
    monkeypatch.syspath_prepend(str(tmp_path))
    likeliest, other = ("gluelab_fake_stacks", "things_backends"), ("gluelab_fake_other", "things_backends")
    monkeypatch.setattr(warm_start, "FIRST", (likeliest,))
    restored = []
    first_use.on_first_use(other, lambda: restored.append("other"))
    first_use.on_first_use(likeliest, lambda: restored.append("likeliest"))
    release, caller = _serving("Boto3/1.43 md/Botocore")
    while not warm_start._busy:  # the request is in the layer
        time.sleep(0.01)
    thread = warm_start.start()
    thread.join(0.5)
    assert restored == ["likeliest"]  # the other waits: a caller is being served
    release.set()
    caller.join(5)
    thread.join(5)
    assert restored == ["likeliest", "other"]
