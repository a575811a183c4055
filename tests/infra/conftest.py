"""Helpers for testing the Fixit reference application in infra/."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"


def load_module(path: Path, name: str) -> ModuleType:
    """A fresh import of a file in infra/ (not a package: every handler module is called `app`)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_function(name: str) -> ModuleType:
    return load_module(INFRA / "functions" / name / "app.py", f"fixit_{name}")


def load_seed() -> ModuleType:
    return load_module(INFRA / "seed" / "seed.py", "fixit_seed")


@pytest.fixture
def aws_local(local, monkeypatch):
    """Plain boto3 clients (as in handler code) reach the local cloud, as in its Lambda runtime."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local.endpoint)
    return local
