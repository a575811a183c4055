"""The API Gateway front door: deployed REST APIs answer over HTTP as they do on AWS."""
from __future__ import annotations

import base64
import io
import json
import re
import time
import uuid
import zipfile

import boto3
import pytest
import requests
from moto import mock_aws
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gluelab.cloud import api_auth, api_front
from gluelab.config import client

LAMBDA_URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations"


class Api:
    """A REST API built with boto3, as an attendee's deploy would build it."""

    def __init__(self, apigw, name: str = "fixit"):
        self.apigw = apigw
        self.id = apigw.create_rest_api(name=name)["id"]
        self.ids = {"/": apigw.get_resources(restApiId=self.id)["items"][0]["id"]}

    def resource(self, path: str) -> str:
        if path not in self.ids:
            parent, part = path.rsplit("/", 1)
            parent_id = self.resource(parent or "/")
            self.ids[path] = self.apigw.create_resource(
                restApiId=self.id, parentId=parent_id, pathPart=part)["id"]
        return self.ids[path]

    def method(self, verb: str, path: str, **auth) -> dict:
        ids = {"restApiId": self.id, "resourceId": self.resource(path), "httpMethod": verb}
        self.apigw.put_method(**ids, authorizationType=auth.pop("authorizationType", "NONE"),
                              **auth)
        return ids

    def mock(self, verb: str, path: str, body: dict, status: int = 200, **auth) -> None:
        ids = self.method(verb, path, **auth)
        self.apigw.put_integration(**ids, type="MOCK", requestTemplates={
            "application/json": json.dumps({"statusCode": status})})
        self.apigw.put_method_response(**ids, statusCode=str(status), responseParameters={
            "method.response.header.Access-Control-Allow-Origin": False})
        self.apigw.put_integration_response(
            **ids, statusCode=str(status),
            responseParameters={"method.response.header.Access-Control-Allow-Origin": "'*'"},
            responseTemplates={"application/json": json.dumps(body)})

    def proxy(self, verb: str, path: str, function_arn: str, permit: bool = True, **auth) -> None:
        ids = self.method(verb, path, **auth)
        self.apigw.put_integration(**ids, type="AWS_PROXY", integrationHttpMethod="POST",
                                   uri=LAMBDA_URI.format(function_arn))
        if not permit:
            return
        # The permission the console (or a SAM event) adds: without it API Gateway answers 500.
        client("lambda").add_permission(
            FunctionName=function_arn, StatementId=f"{self.id}-{verb}-{uuid.uuid4().hex[:6]}",
            Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
            SourceArn=f"arn:aws:execute-api:us-east-1:123456789012:{self.id}/*/"  # as SAM writes it:
                      + ("*" if verb == "ANY" else verb) + re.sub(r"\{[^}]+\}", "*", path))

    def deploy(self, stage: str = "Prod", **variables) -> None:
        self.apigw.create_deployment(restApiId=self.id, stageName=stage, variables=variables)

    def url(self, endpoint: str, path: str, stage: str = "Prod") -> str:
        return f"{endpoint}/restapis/{self.id}/{stage}/_user_request_{path}"


def lambda_function(name: str, code: str) -> str:
    """A deployed Python function (created once per cloud session)."""
    lam = client("lambda")
    try:
        return lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    except lam.exceptions.ResourceNotFoundException:
        pass
    role = client("iam").create_role(RoleName=f"{name}-role",
                                     AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", code)
    return lam.create_function(
        FunctionName=name, Runtime="python3.11", Role=role, Handler="app.handler",
        Code={"ZipFile": archive.getvalue()})["FunctionArn"]


def log_text(handle) -> str:
    time.sleep(0.1)  # the cloud prints after it answers
    return (handle.state_dir / "cloud.log").read_text()


# --- routing, stages and API Gateway's own answers (over HTTP) -----------------------------

def test_most_specific_resource_wins_and_both_url_shapes_answer(local):
    api = Api(client("apigateway"))
    api.mock("GET", "/reports", {"route": "list"})
    api.mock("GET", "/reports/{id}", {"route": "one"})
    api.mock("GET", "/reports/latest", {"route": "latest"})
    api.mock("ANY", "/{proxy+}", {"route": "proxy"})
    api.deploy()
    route = {path: requests.get(api.url(local.endpoint, path)).json()["route"]
             for path in ("/reports", "/reports/42", "/reports/latest", "/a/b/c")}
    assert route == {"/reports": "list", "/reports/42": "one", "/reports/latest": "latest",
                     "/a/b/c": "proxy"}
    alias = requests.delete(f"{local.endpoint}/api/{api.id}/Prod/reports/42/x")
    assert alias.json() == {"route": "proxy"}
    assert alias.headers["Access-Control-Allow-Origin"] == "*"


def test_unknown_route_method_stage_and_api_answer_as_api_gateway(local):
    api = Api(client("apigateway"))
    api.mock("GET", "/reports/{id}", {"route": "one"})
    api.deploy("v1")
    unknown_route = requests.get(api.url(local.endpoint, "/nothing/here", "v1"))
    unknown_method = requests.post(api.url(local.endpoint, "/reports/7", "v1"))
    for reply in (unknown_route, unknown_method):
        assert (reply.status_code, reply.json()) == (
            403, {"message": "Missing Authentication Token"})
    unknown_stage = requests.get(api.url(local.endpoint, "/reports/7", "Prod"))
    assert unknown_stage.status_code == 404
    assert api.id in unknown_stage.json()["message"]
    assert requests.get(f"{local.endpoint}/api/nosuchapi/v1/x").status_code == 404
    assert "has no stage 'Prod' (its stages: ['v1'])" in log_text(local)


# --- the Lambda proxy integration --------------------------------------------------------

def test_function_errors_answer_502_and_the_log_says_why(local):
    arn = lambda_function("broken", "def handler(event, context):\n"
                                    "    raise ValueError('no category in the SMS')\n")
    api = Api(client("apigateway"))
    api.proxy("POST", "/sms", arn)
    api.deploy()
    reply = requests.post(api.url(local.endpoint, "/sms"), data={"Body": "hello"})
    assert (reply.status_code, reply.json()) == (502, {"message": "Internal server error"})
    assert f"POST /restapis/{api.id}/Prod/_user_request_/sms -> 502: function {arn} failed: " \
        "ValueError: no category in the SMS" in log_text(local)


ECHO = """import base64, json
def handler(event, context):
    if event["path"] == "/logo.png":
        return {"statusCode": 200, "headers": {"Content-Type": "image/png"},
                "isBase64Encoded": True, "body": base64.b64encode(b"\\x89PNG\\x00").decode()}
    if event["path"] == "/broken":
        return {"statusCode": 200, "body": {"not": "a string"}}
    return {"statusCode": 201, "headers": {"Content-Type": "application/json"},
            "multiValueHeaders": {"X-Seen": ["twice", "really"]}, "body": json.dumps(event)}
"""


@pytest.fixture
def echo_api(local):
    """ANY /{proxy+} and POST /sms/{kind} proxied to a function that returns its event."""
    arn = lambda_function("echo", ECHO)
    api = Api(client("apigateway"))
    api.proxy("ANY", "/{proxy+}", arn)
    api.proxy("POST", "/sms/{kind}", arn)
    api.deploy("Prod", table="Reports")
    return api


def test_the_function_gets_api_gateways_event_and_its_answer_reaches_the_caller(echo_api, local):
    twilio_form = {"From": "+15551234567", "Body": "LIFT stuck", "NumMedia": "0"}
    reply = requests.post(echo_api.url(local.endpoint, "/sms/inbound") + "?lang=it&tag=a&tag=b",
                          data=twilio_form, headers={"X-Twilio-Signature": "sig"})
    assert reply.status_code == 201
    assert reply.headers["X-Seen"] == "twice, really"
    event = reply.json()
    assert event["body"] == "From=%2B15551234567&Body=LIFT+stuck&NumMedia=0"
    assert event["isBase64Encoded"] is False
    assert event["resource"] == "/sms/{kind}"
    assert event["pathParameters"] == {"kind": "inbound"}
    assert event["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert event["stageVariables"] == {"table": "Reports"}
    assert event["headers"]["X-Twilio-Signature"] == "sig"
    assert event["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert event["requestContext"]["path"] == "/Prod/sms/inbound"
    assert event["requestContext"]["apiId"] == echo_api.id


def test_base64_results_reach_the_caller_as_bytes(echo_api, local):
    reply = requests.get(f"{local.endpoint}/api/{echo_api.id}/Prod/logo.png")
    assert (reply.status_code, reply.headers["Content-Type"], reply.content) == (
        200, "image/png", b"\x89PNG\x00")


def test_a_malformed_result_answers_502_and_the_log_names_the_key(echo_api, local):
    reply = requests.get(echo_api.url(local.endpoint, "/broken"))
    assert (reply.status_code, reply.json()) == (502, {"message": "Internal server error"})
    assert "malformed Lambda proxy response: body is a dict; it must be a string" \
        in log_text(local)


def test_proxy_integration_to_missing_function_answers_502(local):
    api = Api(client("apigateway"))
    api.proxy("GET", "/gone", "arn:aws:lambda:us-east-1:123456789012:function:gone", permit=False)
    api.deploy()
    reply = requests.get(api.url(local.endpoint, "/gone"))
    assert (reply.status_code, reply.json()) == (502, {"message": "Internal server error"})
    assert "invoking arn:aws:lambda:us-east-1:123456789012:function:gone failed" \
        in log_text(local)


@pytest.fixture
def moto_api():
    """An API in an in-process moto, to build events from moto's own stored objects."""
    with mock_aws():
        apigw = boto3.client("apigateway", region_name="us-east-1")
        api = Api(apigw)
        api.proxy("POST", "/sms/{kind}", "arn:aws:lambda:us-east-1:123456789012:function:f",
                  permit=False)  # events are built here, nothing is invoked
        api.deploy("Prod", table="Reports")
        yield api_front.find_api(api.id)


def event_for(api, path, **request):
    builder = EnvironBuilder(path=f"/restapis/{api.id}/Prod/_user_request_{path}",
                             base_url="http://127.0.0.1:4999", **request)
    request = Request(builder.get_environ())
    route = api_front.find_route(api, api.stages["Prod"], request.method, path)
    return api_front.proxy_event(route, request, None)


def test_proxy_event_has_api_gateways_shape(moto_api):
    twilio_form = "From=%2B15551234567&Body=LIFT+stuck&Empty="
    event = event_for(moto_api, "/sms/inbound", method="POST", data=twilio_form,
                      query_string="lang=it&tag=a&tag=b",
                      headers={"Content-Type": "application/x-www-form-urlencoded",
                               "X-Twilio-Signature": "sig"})
    assert event["resource"] == "/sms/{kind}"
    assert event["path"] == "/sms/inbound"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"kind": "inbound"}
    assert event["queryStringParameters"] == {"lang": "it", "tag": "b"}
    assert event["multiValueQueryStringParameters"] == {"lang": ["it"], "tag": ["a", "b"]}
    assert event["headers"]["X-Twilio-Signature"] == "sig"
    assert event["multiValueHeaders"]["X-Twilio-Signature"] == ["sig"]
    assert "Content-Length" not in event["headers"]
    assert event["stageVariables"] == {"table": "Reports"}
    assert (event["body"], event["isBase64Encoded"]) == (twilio_form, False)
    context = event["requestContext"]
    assert {k: context[k] for k in ("accountId", "apiId", "stage", "path", "resourcePath",
                                    "httpMethod", "protocol", "domainName")} == {
        "accountId": "123456789012", "apiId": moto_api.id, "stage": "Prod",
        "path": "/Prod/sms/inbound", "resourcePath": "/sms/{kind}", "httpMethod": "POST",
        "protocol": "HTTP/1.1", "domainName": "127.0.0.1:4999"}
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 5
    assert context["requestId"]


def test_proxy_event_nulls_when_nothing_was_sent(moto_api):
    moto_api.stages["Prod"].variables.clear()
    event = event_for(moto_api, "/sms/x", method="POST")
    assert [event[k] for k in ("queryStringParameters", "multiValueQueryStringParameters",
                               "stageVariables", "body")] == [None] * 4
    assert event["isBase64Encoded"] is False


def test_binary_bodies_travel_base64_encoded(moto_api):
    moto_api.binaryMediaTypes = ["image/*"]
    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    event = event_for(moto_api, "/sms/mms", method="POST", data=png,
                      headers={"Content-Type": "image/png"})
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == png


@pytest.mark.parametrize("result, expected", [
    ({"statusCode": 201, "headers": {"Content-Type": "text/xml"}, "body": "<Response/>"},
     (201, [("Content-Type", "text/xml")], b"<Response/>")),
    ({"body": "{}"}, (200, [("Content-Type", "application/json")], b"{}")),
    ({"statusCode": "404", "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
      "headers": {"Set-Cookie": "ignored", "X-Ok": True}},
     (404, [("X-Ok", "true"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
            ("Content-Type", "application/json")], b"")),
    ({"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(),
      "isBase64Encoded": True, "headers": {"Content-Type": "image/png"}},
     (200, [("Content-Type", "image/png")], b"\x00\x01")),
])
def test_proxy_results_map_to_http_responses(result, expected):
    assert api_front.http_response(json.dumps(result).encode()) == expected


@pytest.mark.parametrize("payload, why", [
    (b"not json", "not JSON"),
    (b'"just a string"', "a str, not an object"),
    (json.dumps({"statusCode": 200, "message": "hi"}).encode(), "unexpected key(s) ['message']"),
    (json.dumps({"statusCode": "OK"}).encode(), "statusCode is 'OK'"),
    (json.dumps({"statusCode": 200, "body": {"id": 1}}).encode(), "body is a dict"),
    (json.dumps({"statusCode": 200, "headers": {"X": ["a"]}}).encode(), "headers must map"),
])
def test_malformed_proxy_results_answer_502_naming_the_problem(payload, why):
    with pytest.raises(api_front.Answer) as refused:
        api_front.http_response(payload)
    assert (refused.value.status, refused.value.payload) == (
        502, {"message": "Internal server error"})
    assert why in refused.value.why


# --- Cognito authorizers -----------------------------------------------------------------

def cognito_pool(name: str) -> tuple[str, str, str]:
    """A user pool with one confirmed user; returns (pool arn, ID token, access token)."""
    idp = client("cognito-idp")
    pool = idp.create_user_pool(PoolName=name)["UserPool"]
    app = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="labs",
                                      ExplicitAuthFlows=["USER_PASSWORD_AUTH"])["UserPoolClient"]
    idp.admin_create_user(UserPoolId=pool["Id"], Username="ada",
                          UserAttributes=[{"Name": "email", "Value": "ada@example.com"}])
    idp.admin_set_user_password(UserPoolId=pool["Id"], Username="ada",
                                Password="Sup3r-secret!", Permanent=True)
    tokens = idp.initiate_auth(ClientId=app["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": "ada", "PASSWORD": "Sup3r-secret!"})
    result = tokens["AuthenticationResult"]
    return pool["Arn"], result["IdToken"], result["AccessToken"]


@pytest.fixture
def guarded_api(local):
    """GET /reports/{id} behind a Cognito authorizer (MOCK integration), and tokens."""
    pool_arn, id_token, access_token = cognito_pool("fixit-staff")
    apigw = client("apigateway")
    api = Api(apigw)
    authorizer = apigw.create_authorizer(
        restApiId=api.id, name="staff", type="COGNITO_USER_POOLS", providerARNs=[pool_arn],
        identitySource="method.request.header.Authorization")["id"]
    api.mock("GET", "/reports/{id}", {"report": "r-1"}, authorizationType="COGNITO_USER_POOLS",
             authorizerId=authorizer)
    api.proxy("GET", "/me", lambda_function("echo", ECHO),
              authorizationType="COGNITO_USER_POOLS", authorizerId=authorizer)
    api.deploy()
    return api.url(local.endpoint, "/reports/r-1"), id_token, access_token


def test_cognito_authorizer_lets_a_valid_id_token_through(guarded_api):
    url, id_token, _ = guarded_api
    reply = requests.get(url, headers={"Authorization": id_token})
    assert (reply.status_code, reply.json()) == (200, {"report": "r-1"})


def test_cognito_authorizer_refuses_missing_forged_and_foreign_tokens(guarded_api, local):
    url, id_token, access_token = guarded_api
    _, foreign_token, _ = cognito_pool("another-pool")
    head, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["cognito:username"] = "mallory"
    forged = ".".join([head, base64.urlsafe_b64encode(json.dumps(claims).encode())
                       .decode().rstrip("="), signature])
    for headers in ({}, {"Authorization": "not-a-jwt"}, {"Authorization": forged},
                    {"Authorization": foreign_token}, {"Authorization": access_token}):
        reply = requests.get(url, headers=headers)
        assert (reply.status_code, reply.json()) == (401, {"message": "Unauthorized"}), headers
    log = log_text(local)
    assert "no token in the Authorization header" in log
    assert "not by a user pool of authorizer staff" in log
    assert "wants the ID token (IdToken), not the access token" in log


def test_cognito_authorizer_refuses_an_expired_token(guarded_api):
    from joserfc import jwk, jwt
    from moto.utilities.utils import load_resource
    url, id_token, _ = guarded_api
    claims = jwt.decode(id_token, api_auth._public_keys()).claims
    key = jwk.RSAKey.import_key(load_resource("cognitoidp/resources/jwks-private.json"))
    expired = jwt.encode({"kid": "dummy", "alg": "RS256"},
                         {**claims, "exp": int(time.time()) - 60}, key)
    reply = requests.get(url, headers={"Authorization": expired})
    assert reply.status_code == 401


def test_cognito_claims_reach_the_function_as_api_gateway_passes_them(guarded_api):
    url, id_token, _ = guarded_api
    reply = requests.get(url.replace("/reports/r-1", "/me"), headers={"Authorization": id_token})
    claims = reply.json()["requestContext"]["authorizer"]["claims"]
    assert (claims["cognito:username"], claims["token_use"]) == ("ada", "id")
    assert claims["iss"].startswith("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_")
    assert re.fullmatch(r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d UTC \d{4}", claims["exp"])
    assert all(isinstance(value, str) for value in claims.values())


# --- the journal -------------------------------------------------------------------------

def test_front_door_calls_stay_out_of_the_journal(local):
    api = Api(client("apigateway"))
    api.mock("POST", "/sms", {"ok": True})
    api.deploy()
    journal = local.state_dir / "journal.jsonl"
    before = journal.read_text()
    assert requests.post(api.url(local.endpoint, "/sms"), data="Body=x").json() == {"ok": True}
    assert requests.post(f"{local.endpoint}/api/{api.id}/Prod/sms").json() == {"ok": True}
    assert journal.read_text() == before
    assert f"/restapis/{api.id}/deployments" in before  # API Gateway's own calls are journaled
