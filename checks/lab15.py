"""Lab 15 "Let only signed-in users read reports": GET /reports/{id} answers 401 without a token
and with a forged one, 200 with a user pool ID token."""
from __future__ import annotations

import re
import uuid

from checks.fixit import stack_outputs
from checks.lab14 import check_user_token, request_report
from checks.runner import Context, check_for
from gluelab.config import client

FORGED = ("eyJhbGciOiJSUzI1NiIsImtpZCI6ImZvcmdlZCJ9.eyJzdWIiOiJmb3JnZWQiLCJ0b2tlbl91c2UiOiJpZCJ9."
          "Zm9yZ2VkLXNpZ25hdHVyZQ")


def auth_outputs(ctx: Context) -> dict[str, str]:
    outputs = stack_outputs()
    missing = [name for name in ("UserPoolId", "UserPoolClientId") if name not in outputs]
    template = ctx.settings.workspace / "template.yaml"
    text = template.read_text() if template.is_file() else ""
    # The likely mistake first: Run All stops at the unfilled authorizer cell, so the user pool
    # and its outputs after it were never added; missing outputs are only the consequence.
    assert not missing or re.search(r"^\s+Authorizers:\s*\n\s+CognitoAuthorizer:", text, re.M), (
        "template.yaml declares no CognitoAuthorizer yet: it goes in Globals > Api > Auth > "
        "Authorizers, with its UserPoolArn (this lab's first task). Fill that cell and run it, "
        "then the cells after it (the user pool and its outputs) and the deploy cell")
    assert not missing, (f"the deployed stack has no {' or '.join(missing)} output yet: run "
                         "this lab's cells that add the user pool, its app client and their "
                         "outputs, then the deploy cell")
    return outputs


def a_report(outputs: dict[str, str]) -> str:
    """The id of a report the checks put in the table."""
    report_id = f"check15-{uuid.uuid4().hex[:12]}"
    client("dynamodb").put_item(TableName=outputs["ReportsTableName"], Item={
        "id": {"S": report_id}, "summary": {"S": "DOOR problem: lock broken"}})
    return report_id


def answers(ctx: Context, expected: int, token_for, sent: str) -> str:
    """Check that GET /reports/{id} of a fresh report answers `expected` with the token
    `token_for(outputs)` (None: no Authorization header); `sent` says what was sent."""
    outputs = auth_outputs(ctx)
    code = request_report(outputs, a_report(outputs), token_for(outputs)).status_code
    assert code == expected, f"the API answered {code} to {sent}"
    return str(expected)


@check_for("15", "Without a token, GET /reports/{id} answers 401",
           hint="Declare CognitoAuthorizer in Globals > Api > Auth > Authorizers with UserPoolArn "
                "!GetAtt UserPool.Arn, give the GetReport event Auth: {Authorizer: "
                "CognitoAuthorizer}, and deploy again.")
def no_token(ctx: Context) -> str:
    return answers(ctx, 401, lambda outputs: None, "a request without a token")


@check_for("15", "With a forged token, GET /reports/{id} answers 401",
           hint="The route must use the Cognito authorizer (Auth: {Authorizer: CognitoAuthorizer} "
                "on the GetReport event), which checks the token's signature.")
def forged_token(ctx: Context) -> str:
    return answers(ctx, 401, lambda outputs: FORGED, "a forged token")


@check_for("15", "With a signed-in user's ID token, GET /reports/{id} answers 200",
           hint="The authorizer's UserPoolArn must be the Fixit user pool's (!GetAtt UserPool.Arn) "
                "and the app client must allow ALLOW_USER_PASSWORD_AUTH; deploy again.")
def valid_token(ctx: Context) -> str:
    return answers(ctx, 200, check_user_token, "a valid ID token")
