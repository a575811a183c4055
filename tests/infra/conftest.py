"""Helpers for testing the Fixit reference application in infra/."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"


def load_function(name: str) -> ModuleType:
    """A fresh import of infra/functions/<name>/app.py (every handler module is called `app`)."""
    path = INFRA / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"fixit_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def aws_local(local, monkeypatch):
    """Plain boto3 clients (as in handler code) reach the local cloud, as in its Lambda runtime."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", local.endpoint)
    return local
