"""The local cloud process: starts, answers boto3 over HTTP, keeps state across restarts."""
import subprocess
import sys

import boto3

from gluelab.cloud import process
from gluelab.config import local_environment
from tests.conftest import CloudHandle, free_port


def test_start_is_idempotent_and_status_lists_tables_and_state_machines(local):
    first = process.start(local.settings, quiet=True)
    again = process.start(local.settings, quiet=True)
    assert first["pid"] == again["pid"]
    ddb = boto3.client("dynamodb", endpoint_url=local.endpoint)
    ddb.create_table(TableName="StatusProbe", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    sfn = boto3.client("stepfunctions", endpoint_url=local.endpoint)
    sfn.create_state_machine(name="StatusProbeMachine", roleArn="arn:aws:iam::123456789012:role/r",
                             definition='{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}')
    deployed = process.status(local.settings)["deployed"]
    assert "StatusProbe" in deployed["tables"]
    assert "StatusProbeMachine" in deployed["state_machines"]  # the machines that execute


def test_items_survive_stop_and_start_and_reset_wipes_them(tmp_path):
    handle = CloudHandle(tmp_path, free_port())
    s = handle.settings
    process.start(s, quiet=True)
    try:
        ddb = boto3.client("dynamodb", endpoint_url=handle.endpoint, region_name="us-east-1",
                           aws_access_key_id="test", aws_secret_access_key="test")
        ddb.create_table(TableName="Kept", BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        ddb.put_item(TableName="Kept", Item={"id": {"S": "r-1"}, "body": {"S": "LIFT stuck"}})
        process.stop(s)
        process.start(s, quiet=True)
        item = ddb.get_item(TableName="Kept", Key={"id": {"S": "r-1"}})["Item"]
        assert item["body"]["S"] == "LIFT stuck"
        process.reset(s)
        assert ddb.list_tables()["TableNames"] == []
    finally:
        process.stop(s)


def test_env_command_exports_point_the_aws_cli_at_the_local_cloud(local):
    out = subprocess.run([sys.executable, "-m", "gluelab.cli", "env"], capture_output=True,
                         text=True, check=True, env={**local.env(), "PATH": ""}).stdout
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{local.port}" in out
    assert set(local_environment()) <= {line.split()[1].split("=")[0] for line in out.splitlines()}


def test_port_taken_by_another_program_gives_advice(tmp_path):
    import socket
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        handle = CloudHandle(tmp_path, squatter.getsockname()[1])
        try:
            process.start(handle.settings, quiet=True)
        except process.CloudError as exc:
            assert "GLUELAB_PORT" in str(exc)
        else:
            raise AssertionError("start succeeded on a taken port")


def test_api_ids_survive_a_restart_even_when_reads_come_in_between(tmp_path):
    handle = CloudHandle(tmp_path, free_port())
    s = handle.settings
    process.start(s, quiet=True)
    try:
        apigw = boto3.client("apigateway", endpoint_url=handle.endpoint, region_name="us-east-1",
                             aws_access_key_id="test", aws_secret_access_key="test")
        api = apigw.create_rest_api(name="fixit")["id"]
        root = apigw.get_resources(restApiId=api)["items"][0]["id"]
        boto3.client("iam", endpoint_url=handle.endpoint, region_name="us-east-1",
                     aws_access_key_id="test", aws_secret_access_key="test").list_roles()
        child = apigw.create_resource(restApiId=api, parentId=root, pathPart="sms")["id"]
        before = sorted((r["id"], r["path"]) for r in apigw.get_resources(restApiId=api)["items"])
        process.stop(s)
        process.start(s, quiet=True)
        after = sorted((r["id"], r["path"]) for r in apigw.get_resources(restApiId=api)["items"])
        assert after == before and (child, "/sms") in after
    finally:
        process.stop(s)
