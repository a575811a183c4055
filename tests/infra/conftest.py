"""Helpers for testing the Fixit reference application in infra/."""
from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"
STACK = "fixit-test"  # one stack for every test that deploys the app: later deploys are no-ops


def load_module(path: Path, name: str) -> ModuleType:
    """A fresh import of a file in infra/ (not a package: every handler module is called `app`)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
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


def create_table_as_in_template(logical_id: str) -> str:
    """A real table in the local cloud, defined by the app template's own table resource."""
    from samtranslator.yaml_helper import yaml_parse
    from gluelab.config import client

    resource = yaml_parse((INFRA / "template.yaml").read_text())["Resources"][logical_id]
    name = f"{logical_id}-{uuid.uuid4().hex[:8]}"
    if resource["Type"] == "AWS::Serverless::SimpleTable":
        key = resource["Properties"]["PrimaryKey"]
        definition = {"BillingMode": "PAY_PER_REQUEST",
                      "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": "S"}],
                      "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}]}
    else:
        definition = resource["Properties"]
    client("dynamodb").create_table(TableName=name, **definition)
    return name
