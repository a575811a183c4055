"""Shared fixtures: a real local cloud process on a free port, with its own state folder."""
from __future__ import annotations

import os
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from gluelab.cloud import process
from gluelab.config import settings


# Tests never reach the attendee's own workshop (port 4747 and .gluelab/): a test that forgets
# the `local` fixture fails the same way on every machine, instead of passing here because a
# workshop cloud happens to run, and nothing a test deletes belongs to the attendee.
os.environ["GLUELAB_STATE_DIR"] = tempfile.mkdtemp(prefix="gluelab-tests-")
os.environ["GLUELAB_PORT"] = "1"  # nothing listens on tcpmux
os.environ["GLUELAB_TARGET"] = "local"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_cloud(state_dir: Path) -> Iterator["CloudHandle"]:
    """A local cloud process of its own on a free port, stopped on leaving the block."""
    handle = CloudHandle(state_dir, free_port())
    process.start(handle.settings, quiet=True)
    try:
        yield handle
    finally:
        process.stop(handle.settings)


def use_cloud(handle: "CloudHandle", monkeypatch) -> "CloudHandle":
    """Point gluelab.client() and subprocesses at `handle`'s cloud for the current test."""
    for key, value in handle.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    return handle


@pytest.fixture(scope="session")
def cloud(tmp_path_factory) -> "CloudHandle":
    """One local cloud process for the whole test session (started once, stopped at the end)."""
    with running_cloud(tmp_path_factory.mktemp("cloud-state")) as handle:
        yield handle


class CloudHandle:
    """Points gluelab (and boto3 through gluelab.client) at one local cloud process."""

    def __init__(self, state_dir: Path, port: int):
        self.state_dir = state_dir
        self.port = port

    def env(self) -> dict[str, str]:
        return {"GLUELAB_STATE_DIR": str(self.state_dir), "GLUELAB_PORT": str(self.port),
                "GLUELAB_TARGET": "local"}

    @property
    def settings(self):
        saved = {k: os.environ.get(k) for k in self.env()}
        os.environ.update(self.env())
        try:
            return settings()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def local(cloud, monkeypatch) -> "CloudHandle":
    """Use inside a test: gluelab.client() and subprocesses talk to the session's local cloud."""
    return use_cloud(cloud, monkeypatch)


# --- Spreading the suite over xdist's workers (`make test`: --dist loadgroup --no-loadscope-reorder:
# each test is a unit of its own, handed out in this order to the worker that is nearly done).
# The longest tests start first, so that no worker is left running one of them alone at the end
# while the others idle. Node id prefixes, longest first, from `pytest --durations` on 2 cores;
# the order only changes when a test starts, never what it checks.
LONGEST_FIRST = (
    "tests/test_nbval_as_typed.py",  # a clone, an install and every solution
    "tests/test_notebooks.py::test_labs_run_with_only",  # every lab
    "tests/infra/test_kill_9_mid_burst.py",
    "tests/samples/test_samples.py",
    "tests/infra/test_app_beside_labs.py",
    "tests/cloud/test_durable_cloud.py",
    "tests/test_labs.py",  # 15 cold starts of about 40 s each, which fill the gaps
)


def pytest_collection_modifyitems(config, items) -> None:
    items.sort(key=lambda item: next((rank for rank, prefix in enumerate(LONGEST_FIRST)
                                      if item.nodeid.startswith(prefix)), len(LONGEST_FIRST)))
