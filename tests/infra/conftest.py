"""Helpers for testing the Fixit reference application in infra/."""
from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest

INFRA = Path(__file__).resolve().parents[2] / "infra"
STACK = "fixit-test"  # one stack for every test that deploys the app: later deploys are no-ops
# The Twilio auth token and webhook URL the receiver is configured with when tests call it in-process.
TOKEN = "12345678901234567890123456789012"
URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/Prod/sms"


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


@pytest.fixture
def fixit(aws_local):
    """The deployed app, seeded, with Twilio credentials in SSM and the number's webhook set."""
    import boto3
    from gluelab import twilio_local
    from gluelab.config import client
    from gluelab.deploy import deploy

    outputs = deploy(INFRA, STACK, echo=lambda line: None)
    seed = load_seed()
    seed.seed(boto3.resource("dynamodb").Table(outputs["CompaniesTableName"]), seed.companies())
    twilio_local.store_credentials()
    client("ssm").put_parameter(Name="/fixit/twilio/webhook_url", Value=outputs["WebhookUrl"],
                                Type="String", Overwrite=True)
    previous = twilio_local.rest_client().incoming_phone_numbers.list(
        phone_number=twilio_local.credentials().phone_number)[0].sms_url
    twilio_local.set_webhook(outputs["WebhookUrl"])
    yield outputs
    twilio_local.set_webhook(previous or "")


@pytest.fixture
def webhook(aws_local, monkeypatch):
    """The receiver configured as in its stack, starting a real (one Pass state) workflow."""
    from gluelab.config import client

    prefix = f"/fixit-test/{uuid.uuid4().hex[:8]}"
    ssm = client("ssm")
    ssm.put_parameter(Name=f"{prefix}/webhook_url", Value=URL, Type="String")
    ssm.put_parameter(Name=f"{prefix}/auth_token", Value=TOKEN, Type="SecureString")
    machine = client("stepfunctions").create_state_machine(
        name=f"fixit-receiver-{uuid.uuid4().hex[:8]}",
        roleArn="arn:aws:iam::123456789012:role/fixit-test",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))
    monkeypatch.setenv("WEBHOOK_URL_PARAMETER", f"{prefix}/webhook_url")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN_PARAMETER", f"{prefix}/auth_token")
    monkeypatch.setenv("STATE_MACHINE_ARN", machine["stateMachineArn"])
    return load_function("receiver"), machine["stateMachineArn"]
