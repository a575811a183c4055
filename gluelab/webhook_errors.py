"""Why an SMS webhook failed, in the words of the function behind it.

When a webhook answers an error (API Gateway's 502 for a function that raised), the reason is in
the function's log, not in the answer. `explain(url)` finds the function behind the webhook URL
(the REST API's resource for the path and its Lambda integration, through public API Gateway
calls, a path parameter such as /reports/{id} matching any value) and returns the error lines of
its latest invocation, with the `gluelab logs` command that shows the rest.
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from gluelab import config, stack_names
from gluelab.logs import recent_invocations

# The local cloud's two URL forms and API Gateway's own: (api id, stage, path).
_URLS = (re.compile(r"/restapis/(?P<api>[^/]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/[^?]*)?$"),
         re.compile(r"/api/(?P<api>[^/]+)/(?P<stage>[^/]+)(?P<path>/[^?]*)?$"),
         re.compile(r"^(?P<api>[a-z0-9]+)\.execute-api\.[^/]+/(?P<stage>[^/]+)(?P<path>/[^?]*)?$"))
_FUNCTION = re.compile(r"functions/(arn:[^/]+)/invocations")


def _route(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    for pattern in _URLS:
        match = pattern.search(parts.netloc + parts.path if pattern is _URLS[2] else parts.path)
        if match:
            return match["api"], match["path"] or "/"
    return None


def _matches(template: str, path: str) -> bool:
    """Does a resource path such as /reports/{id} match the path /reports/SM123?"""
    wanted, given = template.strip("/").split("/"), path.strip("/").split("/")
    return len(wanted) == len(given) and all(
        w == g or (w.startswith("{") and w.endswith("}")) for w, g in zip(wanted, given))


def function_behind(url: str, method: str = "POST") -> str | None:
    """The name of the Lambda function an API Gateway URL invokes, or None if none is found."""
    route = _route(url)
    if route is None:
        return None
    api, path = route
    apigateway = config.client("apigateway")
    resources = apigateway.get_resources(restApiId=api, limit=500)["items"]
    resource = next((r for r in resources if _matches(r["path"], path)), None)
    methods = (resource or {}).get("resourceMethods") or {}
    chosen = method if method in methods else "ANY" if "ANY" in methods else None
    if chosen is None:
        return None
    uri = apigateway.get_integration(restApiId=api, resourceId=resource["id"],
                                     httpMethod=chosen).get("uri", "")
    match = _FUNCTION.search(uri)
    return match[1].split(":")[6] if match else None


def explain(url: str, method: str = "POST") -> str:
    """Where to look and what the function said, for a webhook at `url` that failed."""
    try:
        function = function_behind(url, method)
    except (ClientError, BotoCoreError) as exc:
        return f"Its function could not be found ({exc})."
    if function is None:
        return f"No Lambda function answers {url}: check the webhook URL."
    return logged_error(function)


def logs_command(function: str) -> str:
    """The `gluelab logs` command for a function, by its name in the template when a stack made it."""
    made_by = stack_names.logical(function, stack_names.FUNCTION)
    return f"gluelab logs {made_by[1]} --stack {made_by[0]}" if made_by else f"gluelab logs {function}"


def error_lines(function: str) -> list[str]:
    """The lines that say why the function's latest invocation failed; none if it did not."""
    invocations = recent_invocations(function, limit=1)
    errors = invocations[-1].errors if invocations else []
    if not errors:
        return []
    # The runtime's "[ERROR] Type: message" line says it; a bare traceback ends with it.
    return [e.splitlines()[0] for e in errors if e.startswith("[ERROR]")] or [errors[-1].splitlines()[-1]]


def logged_error(function: str) -> str:
    """The error lines of the function's latest invocation, and the command that shows all."""
    try:
        said = error_lines(function)
        command = logs_command(function)
    except (ClientError, BotoCoreError, LookupError) as exc:
        return f"Its function's log could not be read ({exc})."
    if not said:
        return f"Function {function} logged no error; see `{command}`."
    shown = "\n".join(f"    {line}" for line in said)
    return f"Function {function} failed; its log says:\n{shown}\n(all of it: `{command}`)"
