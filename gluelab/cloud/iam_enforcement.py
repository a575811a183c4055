"""IAM enforced as on AWS for the code the workshop runs: Lambda handlers and state machines.

* Each Lambda function's handler gets credentials of its execution role, as Lambda does
  (role_credentials): an access key that this module maps to
  `arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION`.
* A state machine's task integrations (lambda:invoke, dynamodb:putItem, ...) call the services
  with credentials of the state machine's role (install() hooks moto's interpreter client).
* Every AWS API request signed with such a key is evaluated (wrap()): its action and the
  resource ARN(s) that AWS's Service Authorization Reference gives for it (the policy-sentry
  package ships that reference as data) against the role's identity policies (inline, customer
  managed, AWS managed; SAM policy templates arrive expanded as inline policies), by the
  project's one evaluator, gluelab.iam_policy. A refusal is the service's own error, with AWS's
  wording, and the cloud's log says it too.
* may_invoke(): a function's resource policy (AWS::Lambda::Permission, SAM events) decides
  whether a service principal such as API Gateway may invoke it.

Requests with the account's own credentials (the `test` key: notebooks, the CLI, the checks)
are an administrator's and are not evaluated. `gluelab cloud start --no-iam` (or
GLUELAB_IAM=off in its environment) turns enforcement off.
"""
from __future__ import annotations

import functools
import hashlib
import io
import json
import re
import threading
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from gluelab.iam_policy import DENY, documents_effect, policy_effect

# In the Authorization header, or (a presigned URL) URL-encoded in X-Amz-Credential.
CREDENTIAL = re.compile(r"Credential=(?P<key>[^/%]+)(?:/|%2F)\d{8}(?:/|%2F)(?P<region>[^/%]+)"
                        r"(?:/|%2F)(?P<service>[^/%]+)(?:/|%2F)", re.IGNORECASE)
VARIABLE = re.compile(r"\$\{([^}]+)\}")
# Where a Service Authorization Reference ARN variable is not spelled like the API parameter
# that carries its value (ParameterNameWithoutLeadingSlash is SSM's Name, ...).
PARAMETER_NAMES = {
    "ParameterNameWithoutLeadingSlash": ("Name", "Names", "Path"),
    "BucketName": ("Bucket",),
    "ObjectName": ("Key",),
    "TableName": ("TableName", "RequestItems", "TableArn"),
    "QueueName": ("QueueUrl",),
}
# What the API uses where the request names no resource (PutEvents without EventBusName).
API_DEFAULTS = {"EventBusName": "default"}
# "No permissions are required to perform this operation" (STS API reference, GetCallerIdentity).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}

_enabled = True
_keys: dict[str, Identity] = {}  # access key id -> whose it is
_keys_lock = threading.Lock()


def say(message: str) -> None:
    print(f"iam: {message}", flush=True)


@dataclass(frozen=True)
class Identity:
    role_arn: str
    session: str
    access_key: str
    secret: str
    token: str

    @property
    def account(self) -> str:
        return self.role_arn.split(":")[4]

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account}:assumed-role/{self.role_name}/{self.session}"


def enabled() -> bool:
    return _enabled


def role_credentials(role_arn: str, session: str) -> Identity:
    """Temporary credentials of `role_arn` for one session (a function name), as STS gives a
    Lambda function; the same ones for the same pair."""
    seed = hashlib.sha256(f"{role_arn}\0{session}".encode()).hexdigest().upper()
    key = "ASIA" + seed[:16]
    with _keys_lock:
        identity = _keys.get(key)
        if identity is None:
            identity = _keys[key] = Identity(role_arn, session, key, uuid.uuid4().hex,
                                             uuid.uuid4().hex)
    return identity


# --- what a request asks: action and resource ARNs ---------------------------------------

@dataclass
class Call:
    service: str  # the IAM service prefix (the SigV4 signing name)
    protocol: str
    operation: str
    action: str
    resources: list[str]


@functools.cache
def _service_data(prefix: str) -> dict | None:
    from policy_sentry.shared.iam_data import get_service_prefix_data
    try:
        return get_service_prefix_data(prefix)
    except Exception:  # policy-sentry raises a bare Exception for an unknown prefix
        return None


@functools.cache
def _privilege_by_operation(prefix: str) -> dict[str, str]:
    """API operation -> IAM action name, read from each action's API documentation link in the
    Service Authorization Reference (Lambda's Invoke is lambda:InvokeFunction, S3's
    ListObjectsV2 is s3:ListBucket); an action named like its operation wins."""
    data = _service_data(prefix) or {}
    found: dict[str, str] = {}
    for name, privilege in data.get("privileges", {}).items():
        link = re.search(r"API_(\w+)\.html", privilege.get("api_documentation_link") or "")
        if link and (link.group(1) not in found or link.group(1) == name):
            found[link.group(1)] = name
    return found


@functools.cache
def _botocore_service(signing_name: str) -> str | None:
    """The botocore service that a SigV4 signing name serves (states -> stepfunctions)."""
    from moto.backend_index import backend_url_patterns
    url = f"https://{signing_name}.us-east-1.amazonaws.com"
    backends = [name for name, pattern in backend_url_patterns if pattern.match(url)]
    # moto names its Lambda backend awslambda; its other backends carry botocore's names.
    candidates = [{"awslambda": "lambda"}.get(name, name) for name in backends] + [signing_name]
    from moto.core.utils import get_service_model
    for candidate in candidates:
        try:
            get_service_model(candidate)
        except Exception:  # botocore's UnknownServiceError and friends
            continue
        return candidate
    return None


def _operation(environ, body: bytes, service: str):
    """(protocol, operation name, parameters) of an AWS API request, parsed as moto parses it."""
    from moto.core.parse import PROTOCOL_PARSERS
    from moto.core.request import Request, determine_request_protocol
    from moto.core.routing import get_service_router
    from moto.core.utils import get_service_model
    model = get_service_model(service)
    request = Request(dict(environ, **{"wsgi.input": io.BytesIO(body)}))
    operation, uri_params = get_service_router(service).match(request)
    protocol = determine_request_protocol(model, request.content_type)
    parser = PROTOCOL_PARSERS[protocol](operation, map_type=dict)
    params = parser.parse({"method": request.method, "values": request.values,
                           "headers": request.headers, "body": body, "url_path": request.path,
                           "url_params": uri_params})
    return protocol, operation.name, params


def _values(params: dict, variable: str) -> list[str]:
    """The values a request gives an ARN variable (several for a batch), looking one level into
    lists of entries (PutEvents' Entries), else the API's default."""
    found = _named_values(params, variable)
    for entries in params.values():
        if not found and isinstance(entries, list) and entries and isinstance(entries[0], dict):
            found = [v for entry in entries for v in _named_values(entry, variable)
                     or [API_DEFAULTS.get(variable)] if v]
    return found or ([API_DEFAULTS[variable]] if variable in API_DEFAULTS else [])


def _named_values(params: dict, variable: str) -> list[str]:
    wanted = {n.lower() for n in PARAMETER_NAMES.get(variable, ()) + (variable,)}
    for name, value in params.items():
        if name.lower() not in wanted or value in (None, ""):
            continue
        if isinstance(value, dict):  # BatchWriteItem's RequestItems: table name -> writes
            return [str(key) for key in value]
        values = [str(v) for v in value] if isinstance(value, list) else [str(value)]
        if variable == "ParameterNameWithoutLeadingSlash":
            values = [v.removeprefix("/") for v in values]
        if variable == "QueueName" or values[0].startswith("arn:"):
            values = [v.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for v in values]
        return values
    return []


def _arns_for(template: str, params: dict, region: str, account: str) -> list[str] | None:
    """The ARNs of one resource type that the request names, or None if it names none."""
    pattern = re.escape(template)
    for variable in VARIABLE.findall(template):
        pattern = pattern.replace(re.escape(f"${{{variable}}}"), ".+")
    arns = [v for value in params.values() for v in (value if isinstance(value, list) else [value])
            if isinstance(v, str) and v.startswith("arn:") and re.fullmatch(pattern, v)]
    if arns:  # the request names the resource by its ARN (stateMachineArn, TopicArn, ...)
        return arns
    arns = [template.replace("${Partition}", "aws").replace("${Region}", region)
            .replace("${Account}", account)]
    for variable in VARIABLE.findall(arns[0]):
        values = _values(params, variable)
        if not values:
            return None
        arns = [arn.replace(f"${{{variable}}}", value) for arn in arns for value in values]
    return arns


def describe(environ, body: bytes, signing_name: str, region: str, account: str) -> Call | None:
    """The IAM action and resource ARNs of a request, or None if it is no AWS API call."""
    service = _botocore_service(signing_name)
    try:
        protocol, operation, params = _operation(environ, body, service)
    except Exception as exc:  # not an operation moto knows: moto answers it as it does
        say(f"could not tell which {signing_name} action {environ.get('REQUEST_METHOD')} "
            f"{environ.get('PATH_INFO')} is ({type(exc).__name__}); not evaluated")
        return None
    data = _service_data(signing_name)
    action_name = _privilege_by_operation(signing_name).get(operation, operation)
    call = Call(signing_name, protocol, operation, f"{signing_name}:{action_name}", ["*"])
    privilege = (data or {}).get("privileges", {}).get(action_name)
    if privilege is None:
        return call
    best: tuple[int, list[str]] | None = None
    for kind, details in privilege["resource_types"].items():
        resource = data["resources"].get(kind) if kind else None
        if resource is None:
            continue
        arns = _arns_for(resource["arn"], params, region, account)
        if arns is None:
            continue
        # The most specific resource type the request names wins (a Query on an index is
        # checked against the index ARN); a required one before an optional one.
        score = (len(VARIABLE.findall(resource["arn"])), details.get("required", False))
        if best is None or score > best[0]:
            best = (score, arns)
    if best is not None:
        call.resources = best[1]
    return call


# --- whose policies ----------------------------------------------------------------------

def _role(role_arn: str):
    """moto's IAM role with this ARN, or None."""
    from moto.iam.models import iam_backends
    backend = iam_backends[role_arn.split(":")[4]]["aws"]
    return next((r for r in backend.roles.values() if r.arn == role_arn), None)


def role_policies(role_arn: str) -> list:
    """Every identity policy of a role: inline, customer managed and AWS managed."""
    role = _role(role_arn)
    if role is None:
        return []
    documents = list(role.policies.values())
    for policy in role.managed_policies.values():
        documents.append(next(v.document for v in policy.versions if v.is_default))
    return documents


def refusal_message(who: str, action: str, resource: str, denied: bool) -> str:
    """AWS's words for an identity-policy refusal."""
    because = ("with an explicit deny in an identity-based policy" if denied
               else f"because no identity-based policy allows the {action} action")
    return f"User: {who} is not authorized to perform: {action} on resource: {resource} {because}"


def evaluate(identity: Identity, call: Call) -> str | None:
    """AWS's refusal message for the call, or None when the role's policies allow it."""
    if call.action in NEEDS_NO_PERMISSION:
        return None
    documents = role_policies(identity.role_arn)
    for resource in call.resources:
        effect = documents_effect(documents, call.action, resource)
        if effect != "Allow":
            return refusal_message(identity.arn, call.action, resource, effect == DENY)
    return None


# --- the refusal, in each protocol's shape -----------------------------------------------

def error_response(call: Call, message: str) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    if call.protocol in ("query", "ec2"):
        code = "AuthorizationError" if call.service == "sns" else "AccessDenied"
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId>"
                f"</ErrorResponse>").encode()
        return "403 Forbidden", [("Content-Type", "text/xml")], body
    if call.protocol == "rest-xml":
        body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AccessDenied</Code>"
                f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>"
                ).encode()
        return "403 Forbidden", [("Content-Type", "application/xml")], body
    headers = [("x-amzn-ErrorType", "AccessDeniedException"), ("x-amzn-RequestId", request_id)]
    if call.protocol == "rest-json":  # Lambda, API Gateway
        body = json.dumps({"Type": "User", "Message": message}).encode()
        return "403 Forbidden", headers + [("Content-Type", "application/json")], body
    body = json.dumps({"__type": "AccessDeniedException", "message": message}).encode()
    return "400 Bad Request", headers + [("Content-Type", "application/x-amz-json-1.0")], body


def wrap(app, context):
    def enforcing(environ, start_response):
        found = CREDENTIAL.search(environ.get("HTTP_AUTHORIZATION", "")
                                  or environ.get("QUERY_STRING", ""))
        identity = _keys.get(found["key"]) if found and _enabled else None
        if identity is None:
            return app(environ, start_response)
        from gluelab.cloud.persistence import buffered_body
        body = buffered_body(environ)
        call = describe(environ, body, found["service"], found["region"], identity.account)
        if call and call.action == "sts:GetCallerIdentity" and call.protocol == "query":
            return caller_identity(identity, start_response)
        refusal = evaluate(identity, call) if call else None
        if refusal is None:
            return app(environ, start_response)
        say(f"refused {call.operation}: {refusal}")
        status, headers, payload = error_response(call, refusal)
        start_response(status, headers + [("Content-Length", str(len(payload)))])
        return [payload]
    return enforcing


def caller_identity(identity: Identity, start_response) -> list[bytes]:
    """STS GetCallerIdentity as a function's code sees it on AWS: its role's session."""
    role_id = getattr(_role(identity.role_arn), "id", "")
    body = (f'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult><Arn>{escape(identity.arn)}</Arn>"
            f"<UserId>{role_id}:{escape(identity.session)}</UserId>"
            f"<Account>{identity.account}</Account></GetCallerIdentityResult><ResponseMetadata>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            f"</GetCallerIdentityResponse>").encode()
    start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


# --- resource policies: who may invoke a function -----------------------------------------

def may_invoke(function, service_principal: str, source_arn: str) -> str | None:
    """Why the function's resource policy does not let `service_principal` invoke it from
    `source_arn`, or None when it does."""
    if not _enabled:
        return None
    document = function.policy.get_policy()["Policy"] if function.policy.statements else None
    effect = policy_effect(document, "lambda:InvokeFunction", function.function_arn,
                           principal={"Service": service_principal},
                           context={"aws:SourceArn": source_arn,
                                    "aws:SourceAccount": source_arn.split(":")[4]}) \
        if document else None
    if effect == "Allow":
        return None
    return (f"the resource policy of function {function.function_name} "
            f"{'denies' if effect == DENY else 'does not allow'} {service_principal} to call "
            f"lambda:InvokeFunction from {source_arn}: add an AWS::Lambda::Permission "
            f"(a SAM Api event adds one)")


# --- state machines run as their role ----------------------------------------------------

def _as_state_machine_role(boto_client_for):
    def client_for(region: str, service: str, state_credentials=None):
        client = boto_client_for(region, service, state_credentials)
        role = getattr(state_credentials, "role_arn", None)
        if role and _enabled:
            identity = role_credentials(role, f"states-{hashlib.sha1(role.encode()).hexdigest()[:12]}")
            from botocore.credentials import Credentials
            client._request_signer._credentials = Credentials(
                identity.access_key, identity.secret, identity.token)
        return client
    client_for.__wrapped__ = boto_client_for
    return client_for


def _patch_boto_client(module) -> None:
    module.boto_client_for = _as_state_machine_role(module.boto_client_for)


def install(context) -> None:
    global _enabled
    from gluelab.cloud import warm_start
    from gluelab.cloud.lazy import when_imported
    _enabled = context.iam
    # Patched before any interpreter module imports the name (they `from ... import` it).
    when_imported("moto.stepfunctions.parser.asl.utils.boto_client", _patch_boto_client)
    if _enabled:  # reading AWS's reference takes seconds: not during a function's first call
        warm_start.later(_preload)  # nor during a restart's first calls


def _preload() -> None:
    for prefix in ("ssm", "dynamodb", "states", "lambda", "s3", "logs", "sns", "sqs", "events"):
        _privilege_by_operation(prefix)
        _botocore_service(prefix)
