"""Authorizers in front of deployed REST APIs, enforced as API Gateway enforces them.

COGNITO_USER_POOLS methods want a token signed by the local Cognito for one of the
authorizer's pools. CUSTOM methods ask a Lambda authorizer first: a TOKEN authorizer gets the
identity header's value, a REQUEST authorizer the request's headers, query string, path and
stage. The function answers with an IAM policy; the call goes through when the policy allows
execute-api:Invoke on the method's ARN, and the function's principalId and context reach the
integration as requestContext.authorizer. Policies are cached per identity for the
authorizer's TTL (300 s unless set), as on AWS: a policy that allows only the method called
first is reused, and denies, when the same token calls another method.

AWS_IAM methods want a request signed with Signature Version 4 by a local access key (the
`test` key the notebooks and `gluelab env` use, or a key made in the local IAM); the signature
is checked, the caller's IAM policies are not: every local identity may invoke.

Failures answer what API Gateway answers (401, 403, 500); why goes to the local cloud's log.
"""
from __future__ import annotations

import json
import re
import threading
import time
from datetime import datetime, timezone
from typing import Callable

from gluelab.iam_policy import policy_effect

INTERNAL_ERROR = {"message": "Internal server error"}
UNAUTHORIZED = {"message": "Unauthorized"}
# API Gateway's own spelling of these two bodies, capital M included.
DENIED = {"Message": "User is not authorized to access this resource with an explicit deny"}
NOT_ALLOWED = {"Message": "User is not authorized to access this resource"}
# A Lambda authorizer that fails answers this, with x-amzn-ErrorType AuthorizerConfigurationException.
AUTHORIZER_FAILED = {"message": None}
CONFIGURATION_ERROR = {"x-amzn-ErrorType": "AuthorizerConfigurationException"}
DEFAULT_TTL_S = 300
LOCAL_ACCESS_KEY = "test"


class Answer(Exception):
    """An API Gateway answer that ends the request early (auth failures, unknown routes...)."""

    def __init__(self, status: int, payload: dict, why: str = "", headers: dict | None = None):
        super().__init__(why or payload.get("message") or "")
        self.status = status
        self.payload = payload
        self.why = why
        self.headers = headers or {}



# --- Cognito user pools -------------------------------------------------------------------

def _public_keys():
    from joserfc.jwk import KeySet
    from moto.utilities.utils import load_resource
    # moto signs every Cognito token with this one key pair.
    return KeySet.import_key_set(load_resource("cognitoidp/resources/jwks-public.json"))


def as_text(value) -> str:
    """A value as API Gateway hands it on: booleans in JSON's spelling, the rest as str()."""
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _claim_text(name: str, value) -> str:
    if name in ("exp", "iat") and isinstance(value, (int, float)):
        # API Gateway hands these two to the function as dates, the rest as plain strings.
        return datetime.fromtimestamp(value, timezone.utc).strftime("%a %b %d %H:%M:%S UTC %Y")
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return as_text(value)


def _pool_issuers(authorizer) -> set[str]:
    issuers = set()
    for arn in authorizer.provider_arns or []:
        region, pool = arn.split(":")[3], arn.rsplit("/", 1)[-1]
        issuers.add(f"https://cognito-idp.{region}.amazonaws.com/{pool}")
    return issuers


def cognito_claims(authorizer, method, headers) -> dict[str, str]:
    """The verified claims of the request's Cognito token, or Answer 401 as API Gateway does."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    source = (authorizer.identity_source or "method.request.header.Authorization")
    header = source.rsplit(".", 1)[-1]
    token = headers.get(header, "")
    if token.lower().startswith("bearer "):
        token = token[7:]
    if not token:
        raise Answer(401, UNAUTHORIZED, f"no token in the {header} header "
                     f"(authorizer {authorizer.name} protects this method)")
    try:
        claims = jwt.decode(token, _public_keys(), algorithms=["RS256"]).claims
    except (JoseError, ValueError) as exc:
        raise Answer(401, UNAUTHORIZED, f"the {header} token is not a token signed by the "
                     f"local Cognito ({type(exc).__name__}: {exc})")
    if claims.get("iss") not in _pool_issuers(authorizer):
        raise Answer(401, UNAUTHORIZED, f"the token was issued by {claims.get('iss')}, not by a "
                     f"user pool of authorizer {authorizer.name} ({authorizer.provider_arns})")
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < time.time():
        raise Answer(401, UNAUTHORIZED, "the token has expired; sign in again for a new one")
    scopes = method.authorization_scopes or []
    if scopes:
        granted = set(str(claims.get("scope", "")).split())
        if claims.get("token_use") != "access" or not granted & set(scopes):
            raise Answer(401, UNAUTHORIZED, f"the method needs an access token with one of the "
                         f"scopes {scopes}")
    elif claims.get("token_use") != "id":
        raise Answer(401, UNAUTHORIZED, "the method has no OAuth scopes, so API Gateway wants "
                     "the ID token (IdToken), not the access token")
    return {name: _claim_text(name, value) for name, value in claims.items()}


# --- Lambda authorizers -------------------------------------------------------------------

def method_arn(route, http_method: str) -> str:
    api = route.api
    return (f"arn:aws:execute-api:{api.region_name}:{api.account_id}:{api.id}/"
            f"{route.stage.name}/{http_method}{route.path}")


def _identity(authorizer, request, route) -> list[str] | None:
    """The values of the authorizer's identity sources, or None when one is missing."""
    sources = [s.strip() for s in (authorizer.identity_source or "").split(",") if s.strip()]
    values = []
    for source in sources:
        if source.startswith("method.request.header."):
            value = request.headers.get(source.rsplit(".", 1)[1])
        elif source.startswith("method.request.querystring."):
            value = request.args.get(source.rsplit(".", 1)[1])
        elif source.startswith("stageVariables."):
            value = route.stage.variables.get(source.split(".", 1)[1])
        else:
            value = source  # context variables: the same for every call here
        if not value:
            return None
        values.append(value)
    return values


def json_object(payload: bytes, fail: Callable[[str], Answer]) -> dict:
    """A function's answer as a JSON object; raises `fail(why)` when it is anything else."""
    try:
        value = json.loads(payload)
    except ValueError:
        raise fail(f"the function returned {payload[:200]!r}, which is not JSON")
    if not isinstance(value, dict):
        raise fail(f"the function returned a {type(value).__name__}, not an object")
    return value


def _checked_answer(payload: bytes, name: str) -> dict:
    """The authorizer's answer if it has API Gateway's shape; Answer 500 saying what is wrong."""
    def broken(why: str) -> Answer:
        return Answer(500, AUTHORIZER_FAILED, f"authorizer {name} answered badly: {why}. Return "
                      '{"principalId": "...", "policyDocument": {"Version": "2012-10-17", '
                      '"Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", '
                      '"Resource": event["methodArn"]}]}}', CONFIGURATION_ERROR)
    answer = json_object(payload, broken)
    if not answer.get("principalId"):
        raise broken("no principalId")
    policy = answer.get("policyDocument")
    if not isinstance(policy, dict) or not isinstance(policy.get("Statement"), list):
        raise broken("no policyDocument with a Statement list")
    context = answer.get("context") or {}
    if not isinstance(context, dict) or any(isinstance(v, (dict, list)) for v in context.values()):
        raise broken("context values must be strings, numbers or booleans")
    return answer


class PolicyCache:
    """Authorizer answers by (authorizer, identity), kept for the authorizer's TTL."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answers: dict[tuple, tuple[float, dict]] = {}

    def get(self, key: tuple) -> dict | None:
        with self.lock:
            expires, answer = self.answers.get(key, (0.0, None))
            return answer if expires > time.monotonic() else None

    def put(self, key: tuple, answer: dict, ttl_s: int) -> None:
        if ttl_s > 0:
            with self.lock:
                self.answers[key] = (time.monotonic() + ttl_s, answer)


policies = PolicyCache()


Invoke = Callable[[str, dict], "tuple[bytes, bool]"]  # (function uri, event) -> payload, failed


def lambda_authorizer(authorizer, route, request, invoke: Invoke,
                      request_event: Callable[[], dict]) -> dict:
    """The requestContext.authorizer entry after a Lambda authorizer allowed the call."""
    name = authorizer.name
    identity = _identity(authorizer, request, route)
    if identity is None:
        raise Answer(401, UNAUTHORIZED, f"the request lacks an identity source of authorizer "
                     f"{name} ({authorizer.identity_source}); API Gateway does not call it")
    kind = (authorizer.type or "TOKEN").upper()
    expression = authorizer.identity_validation_expression
    if kind == "TOKEN" and expression and not re.fullmatch(expression, identity[0]):
        raise Answer(401, UNAUTHORIZED, f"the token does not match authorizer {name}'s "
                     f"validation expression {expression!r}")
    arn = method_arn(route, request.method)
    key = (route.api.id, authorizer.id, tuple(identity))
    answer = policies.get(key)
    if answer is None:
        event = {"type": kind, "methodArn": arn}
        if kind == "TOKEN":
            event["authorizationToken"] = identity[0]
        else:
            event.update({k: v for k, v in request_event().items()
                          if k not in ("body", "isBase64Encoded")})
        started = time.monotonic()
        payload, failed = invoke(authorizer.authorizer_uri or "", event)
        if failed and _error_message(payload) == "Unauthorized":
            raise Answer(401, UNAUTHORIZED, f"authorizer {name} refused the caller "
                         f"(it raised Exception('Unauthorized'))")
        if failed:
            raise Answer(500, AUTHORIZER_FAILED, f"authorizer {name} failed: "
                         f"{_error_message(payload)}", CONFIGURATION_ERROR)
        answer = _checked_answer(payload, name)
        answer["latency_ms"] = int((time.monotonic() - started) * 1000)
        ttl = authorizer.authorizer_result_ttl
        policies.put(key, answer, DEFAULT_TTL_S if ttl is None else int(ttl))
    effect = policy_effect(answer["policyDocument"], "execute-api:Invoke", arn)
    if effect != "Allow":
        raise Answer(403, DENIED if effect == "Deny" else NOT_ALLOWED,
                     f"authorizer {name}'s policy for {answer['principalId']} "
                     f"{'denies' if effect else 'does not allow'} {arn}")
    return {"principalId": answer["principalId"], "integrationLatency": answer["latency_ms"],
            **{key: as_text(value) for key, value in (answer.get("context") or {}).items()}}


def _error_message(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("errorMessage"))
    except (ValueError, AttributeError):
        return payload.decode("utf-8", "replace")[:500]


# --- AWS_IAM: Signature Version 4 -------------------------------------------------------

SIGNATURE = re.compile(r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
                       r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<headers>[^,]+), ?"
                       r"Signature=(?P<signature>[0-9a-f]{64})")


def _secret_for(access_key: str, account_id: str) -> tuple[str | None, str]:
    """The secret of a local access key and the ARN of whom it belongs to."""
    from moto.iam.models import iam_backends
    for key in iam_backends[account_id]["aws"].access_keys.values():
        if key.access_key_id == access_key:
            return key.secret_access_key, f"arn:aws:iam::{account_id}:user/{key.user_name}"
    if access_key == LOCAL_ACCESS_KEY:  # `gluelab env` and the notebooks sign with it
        return LOCAL_ACCESS_KEY, f"arn:aws:iam::{account_id}:root"
    return None, ""


def signed_identity(request, account_id: str) -> dict:
    """The caller of a SigV4-signed request, after checking its signature as API Gateway does.
    The caller's IAM policies are not evaluated: every valid local identity may invoke."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    header = request.headers.get("Authorization", "")
    if not header:
        raise Answer(403, {"message": "Missing Authentication Token"}, "the method wants AWS_IAM "
                     "auth and the request is not signed; sign it with SigV4 for execute-api")
    parts = SIGNATURE.fullmatch(header.strip())
    if parts is None:
        raise Answer(403, {"message": "Authorization header requires 'Credential', "
                                      "'Signature' and 'SignedHeaders' parameters."},
                     "the Authorization header is not a SigV4 signature")
    secret, arn = _secret_for(parts["key"], account_id)
    if secret is None:
        raise Answer(403, {"message": "The security token included in the request is invalid."},
                     f"no local access key {parts['key']}")
    signed = parts["headers"].split(";")
    query = request.query_string.decode("latin-1")
    copy = AWSRequest(method=request.method,
                      url=f"http://{request.host}{request.path}" + (f"?{query}" if query else ""),
                      headers={name: request.headers.get(name, "") for name in signed},
                      data=request.get_data())
    copy.context["timestamp"] = request.headers.get("X-Amz-Date", "")
    signer = SigV4Auth(Credentials(parts["key"], secret), parts["service"], parts["region"])
    expected = signer.signature(signer.string_to_sign(copy, signer.canonical_request(copy)), copy)
    if expected != parts["signature"]:
        raise Answer(403, {"message": "The request signature we calculated does not match the "
                                      "signature you provided. Check your AWS Secret Access Key "
                                      "and signing method. Consult the service documentation for "
                                      "details."},
                     "the SigV4 signature does not match this request (signed for another URL, "
                     "body or secret?)")
    return {"accessKey": parts["key"], "accountId": account_id, "caller": parts["key"],
            "user": parts["key"], "userArn": arn}


# --- per method ---------------------------------------------------------------------------

def authorize(route, request, invoke: Invoke, request_event: Callable[[], dict]) -> dict | None:
    """What the method's authorization adds to the event's requestContext, once it let the
    call through."""
    kind = (route.method.authorization_type or "NONE").upper()
    if kind == "NONE":
        return None
    if kind == "AWS_IAM":
        return {"identity": signed_identity(request, route.api.account_id)}
    if kind in ("COGNITO_USER_POOLS", "CUSTOM"):
        authorizer = route.api.authorizers.get(route.method.authorizer_id)
        if authorizer is None:
            raise Answer(500, INTERNAL_ERROR, f"the method's authorizer "
                         f"{route.method.authorizer_id} does not exist in API {route.api.id}")
        if kind == "CUSTOM":
            return {"authorizer": lambda_authorizer(authorizer, route, request, invoke, request_event)}
        return {"authorizer": {"claims": cognito_claims(authorizer, route.method, request.headers)}}
    raise Answer(500, INTERNAL_ERROR, f"authorization type {kind} is not served by the local "
                 f"cloud; use AWS_IAM, COGNITO_USER_POOLS, a Lambda authorizer (CUSTOM) or NONE")
