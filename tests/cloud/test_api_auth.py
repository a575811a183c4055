"""Lambda authorizers (TOKEN and REQUEST) and AWS_IAM in front of deployed REST APIs, as API
Gateway runs them (Cognito authorizers: test_api_front.py)."""
from __future__ import annotations

import re
import uuid

import pytest
import requests

from gluelab.iam_policy import policy_effect
from gluelab.config import client
from tests.cloud.test_api_front import ECHO, LAMBDA_URI, Api, lambda_function, log_text

TOKEN_AUTHORIZER = """
def handler(event, context):
    token, arn = event["authorizationToken"], event["methodArn"]
    if token == "boom":
        raise RuntimeError("the token service is down")
    if token == "shapeless":
        return {"policyDocument": {"Statement": []}}
    if token not in ("staff", "this-method-only", "banned"):
        raise Exception("Unauthorized")
    api_and_stage = arn.split("/")[0] + "/" + arn.split("/")[1]
    resource = arn if token == "this-method-only" else api_and_stage + "/*"
    return {"principalId": f"user-{token}",
            "policyDocument": {"Version": "2012-10-17", "Statement": [{
                "Action": "execute-api:Invoke", "Resource": resource,
                "Effect": "Deny" if token == "banned" else "Allow"}]},
            "context": {"team": "lifts", "level": 3, "admin": False}}
"""

REQUEST_AUTHORIZER = """
def handler(event, context):
    allowed = (event["type"] == "REQUEST" and event["headers"].get("X-Team") == "lifts"
               and event["queryStringParameters"].get("key") == "k-1"
               and event["pathParameters"] == {"id": "r-7"})
    return {"principalId": "team-lifts",
            "policyDocument": {"Version": "2012-10-17", "Statement": [{
                "Action": "execute-api:Invoke", "Resource": event["methodArn"],
                "Effect": "Allow" if allowed else "Deny"}]}}
"""


LAMBDA_URI_FUNCTION = re.compile(r"/functions/(.+)/invocations")


def guarded(local, authorizer: dict, *paths: str) -> dict[str, str]:
    """An API whose GET `paths` go to the echo function behind `authorizer`; their URLs."""
    apigw = client("apigateway")
    api = Api(apigw, name=f"custom-{uuid.uuid4().hex[:6]}")
    authorizer_id = apigw.create_authorizer(restApiId=api.id, **authorizer)["id"]
    # The permission SAM adds for a Lambda authorizer: API Gateway may call it from any of them.
    client("lambda").add_permission(
        FunctionName=LAMBDA_URI_FUNCTION.search(authorizer["authorizerUri"])[1],
        StatementId=f"{api.id}-authorizers", Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{api.id}/authorizers/*")
    echo = lambda_function("echo", ECHO)
    for path in paths:
        api.proxy("GET", path, echo, authorizationType="CUSTOM", authorizerId=authorizer_id)
    api.deploy()
    return {path: api.url(local.endpoint, path) for path in paths}


def token_authorizer(ttl: int = 300, **extra) -> dict:
    arn = lambda_function("token-authorizer", TOKEN_AUTHORIZER)
    return {"name": "staff", "type": "TOKEN", "authorizerUri": LAMBDA_URI.format(arn),
            "identitySource": "method.request.header.Authorization",
            "authorizerResultTtlInSeconds": ttl, **extra}


@pytest.fixture
def staff_api(local):
    return guarded(local, token_authorizer(), "/reports/{id}", "/companies")


def get(url: str, token: str | None = None) -> requests.Response:
    return requests.get(url, headers={"Authorization": token} if token else {}, timeout=30)


def test_an_allowing_policy_lets_the_call_through_with_its_principal_and_context(staff_api):
    reply = get(staff_api["/reports/{id}"].replace("{id}", "r-1"), "staff")
    assert reply.status_code == 201  # the echo function answered
    authorizer = reply.json()["requestContext"]["authorizer"]
    assert {k: v for k, v in authorizer.items() if k != "integrationLatency"} == {
        "principalId": "user-staff", "team": "lifts", "level": "3", "admin": "false"}
    assert isinstance(authorizer["integrationLatency"], int)


def test_refusals_answer_as_api_gateway_and_the_log_says_why(staff_api, local):
    url = staff_api["/companies"]
    cases = {None: (401, {"message": "Unauthorized"}),
             "stranger": (401, {"message": "Unauthorized"}),
             "banned": (403, {"Message": "User is not authorized to access this resource with "
                                         "an explicit deny"}),
             "boom": (500, {"message": None}),
             "shapeless": (500, {"message": None})}
    for token, expected in cases.items():
        reply = get(url, token)
        assert (reply.status_code, reply.json()) == expected, token
    assert get(url, "boom").headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    log = log_text(local)
    assert "the request lacks an identity source of authorizer staff" in log
    assert "authorizer staff refused the caller" in log
    assert "authorizer staff failed: the token service is down" in log
    assert "authorizer staff answered badly: no principalId" in log


def test_a_cached_policy_for_one_method_denies_the_next_method(staff_api):
    """The classic surprise: the policy names the first method's ARN and is reused for 300 s."""
    report = staff_api["/reports/{id}"].replace("{id}", "r-1")
    assert get(report, "this-method-only").status_code == 201
    reply = get(staff_api["/companies"], "this-method-only")
    assert (reply.status_code, reply.json()) == (
        403, {"Message": "User is not authorized to access this resource"})


def test_with_caching_off_each_call_asks_the_authorizer_again(local):
    urls = guarded(local, token_authorizer(ttl=0), "/reports/{id}", "/companies")
    assert get(urls["/reports/{id}"].replace("{id}", "r-1"), "this-method-only").status_code == 201
    assert get(urls["/companies"], "this-method-only").status_code == 201


def test_a_token_that_fails_the_validation_expression_never_reaches_the_function(local):
    urls = guarded(local, token_authorizer(identityValidationExpression="[a-z-]+"), "/companies")
    assert get(urls["/companies"], "staff").status_code == 201
    reply = get(urls["/companies"], "Staff 42")
    assert (reply.status_code, reply.json()) == (401, {"message": "Unauthorized"})
    assert "does not match authorizer staff's validation expression" in log_text(local)


def test_a_request_authorizer_sees_headers_query_and_path(local):
    arn = lambda_function("request-authorizer", REQUEST_AUTHORIZER)
    urls = guarded(local, {"name": "teams", "type": "REQUEST", "authorizerUri": LAMBDA_URI.format(arn),
                           "identitySource": "method.request.header.X-Team, method.request.querystring.key"},
                   "/reports/{id}")
    url = urls["/reports/{id}"].replace("{id}", "r-7")
    allowed = requests.get(url + "?key=k-1", headers={"X-Team": "lifts"}, timeout=30)
    assert allowed.status_code == 201
    assert allowed.json()["requestContext"]["authorizer"]["principalId"] == "team-lifts"
    assert requests.get(url + "?key=k-2", headers={"X-Team": "lifts"}, timeout=30).status_code == 403
    missing = requests.get(url, headers={"X-Team": "lifts"}, timeout=30)
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})


@pytest.mark.parametrize("statements, effect", [
    ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:api/Prod/GET/*"}], "Allow"),
    ([{"Effect": "Allow", "Action": ["execute-api:*"], "Resource": ["arn:api/Prod/*/companies"]}], "Allow"),
    ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:api/Prod/POST/*"}], None),
    ([{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
      {"Effect": "Deny", "Action": "execute-api:Invoke", "Resource": "arn:api/Prod/GET/companies"}], "Deny"),
    ([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}], None),
])
def test_policies_are_evaluated_with_wildcards_and_deny_wins(statements, effect):
    assert policy_effect({"Statement": statements}, "execute-api:Invoke", "arn:api/Prod/GET/companies") == effect


SAM_TEMPLATE = """\
Transform: AWS::Serverless-2016-10-31
Globals:
  Function: {Runtime: python3.12, Handler: app.handler}
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        DefaultAuthorizer: StaffAuthorizer
        Authorizers:
          StaffAuthorizer:
            FunctionArn: !GetAtt AuthorizerFunction.Arn
            Identity: {Header: X-Staff-Token, ValidationExpression: "staff|banned|stranger"}
  AuthorizerFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: authorizer}
  ReportsFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo
      Events:
        Get:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: "/reports/{id}", Method: get}
Outputs:
  ApiUrl: {Value: !Sub "https://${Api}.execute-api.${AWS::Region}.amazonaws.com/Prod/"}
"""


def test_a_sam_lambda_authorizer_guards_the_deployed_api(local, tmp_path):
    from gluelab.deploy import deploy
    for folder, code in (("authorizer", TOKEN_AUTHORIZER), ("echo", ECHO)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "app.py").write_text(code)
    (tmp_path / "template.yaml").write_text(SAM_TEMPLATE)
    url = deploy(tmp_path, f"sam-authorizer-{uuid.uuid4().hex[:6]}", echo=lambda line: None)[
        "ApiUrl"] + "reports/r-1"

    def status(token):
        return requests.get(url, headers={"X-Staff-Token": token}, timeout=30).status_code

    # this-method-only: the function would allow it, the validation expression stops it first
    assert (status("staff"), status("banned"), status("stranger"), status("this-method-only")) == (
        201, 403, 401, 401)
    assert requests.get(url, timeout=30).status_code == 401


# --- AWS_IAM -----------------------------------------------------------------------------

def signed(method: str, url: str, secret: str = "test", body: bytes = b"") -> dict:
    """The headers of a request signed with SigV4 for execute-api, as an AWS SDK signs it."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    request = AWSRequest(method=method, url=url, data=body)
    SigV4Auth(Credentials("test", secret), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers)


@pytest.fixture
def iam_api(local):
    api = Api(client("apigateway"), name=f"iam-{uuid.uuid4().hex[:6]}")
    api.proxy("GET", "/reports/{id}", lambda_function("echo", ECHO), authorizationType="AWS_IAM")
    api.deploy()
    return api.url(local.endpoint, "/reports/r-1")


def test_aws_iam_methods_let_signed_requests_through_with_the_caller_identity(iam_api):
    reply = requests.get(iam_api + "?full=1", headers=signed("GET", iam_api + "?full=1"), timeout=30)
    assert reply.status_code == 201
    identity = reply.json()["requestContext"]["identity"]
    assert (identity["accessKey"], identity["userArn"]) == ("test", "arn:aws:iam::123456789012:root")


def test_aws_iam_methods_refuse_unsigned_and_wrongly_signed_requests(iam_api, local):
    unsigned = requests.get(iam_api, timeout=30)
    assert (unsigned.status_code, unsigned.json()) == (403, {"message": "Missing Authentication Token"})
    wrong_secret = requests.get(iam_api, headers=signed("GET", iam_api, secret="guess"), timeout=30)
    other_url = requests.get(iam_api.replace("r-1", "r-2"), headers=signed("GET", iam_api), timeout=30)
    for reply in (wrong_secret, other_url):
        assert reply.status_code == 403
        assert reply.json()["message"].startswith("The request signature we calculated does not match")
    assert "the SigV4 signature does not match this request" in log_text(local)
