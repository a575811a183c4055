"""The finished Fixit app deploys on the local cloud with `gluelab deploy`, as attendees will."""
from __future__ import annotations

from gluelab.config import client
from gluelab.deploy import deploy
from tests.infra.conftest import INFRA, STACK


def test_fixit_deploys_and_its_outputs_name_live_resources(local):
    outputs = deploy(INFRA, STACK, echo=lambda line: None)
    assert set(outputs) == {"ApiUrl", "WebhookUrl", "StateMachineArn", "CompaniesTableName",
                            "ReportsTableName", "UserPoolId", "UserPoolClientId"}
    assert outputs["WebhookUrl"] == outputs["ApiUrl"] + "sms"
    assert client("stepfunctions").describe_state_machine(
        stateMachineArn=outputs["StateMachineArn"])["status"] == "ACTIVE"
    indexes = client("dynamodb").describe_table(
        TableName=outputs["CompaniesTableName"])["Table"]["GlobalSecondaryIndexes"]
    assert [index["IndexName"] for index in indexes] == ["ByCategory"]
    assert client("cognito-idp").describe_user_pool_client(
        UserPoolId=outputs["UserPoolId"], ClientId=outputs["UserPoolClientId"])
