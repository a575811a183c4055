"""S3 bucket policies with their Condition blocks evaluated, not ignored.

moto 5.2.5 checks a bucket policy on every object request, but its condition code knows only
StringEquals: any other operator is skipped, so a statement such as the SAM CLI's managed bucket
policy, `Deny s3:* to * if aws:SecureTransport is false`, denies every upload and
`sam deploy --resolve-s3` fails with 403. Here a statement applies only when its Condition holds,
as IAM's evaluation logic says: an absent context key makes a condition false (except with Null
and ...IfExists). The context the local cloud knows is the transport: its loopback endpoint
stands for AWS's HTTPS endpoint, so aws:SecureTransport is "true". A condition operator not
listed below cannot be evaluated, and the statement then counts only if it is a Deny (never more
lenient than AWS). What applies is then matched (action, resource, principal) by moto.
"""
from __future__ import annotations

import fnmatch
import json
from typing import Any, Callable

from gluelab.cloud.lazy import when_imported

# Request context keys the local cloud can answer for every S3 request, lower-cased as IAM
# compares key names case-insensitively.
REQUEST_CONTEXT = {"aws:securetransport": "true"}


def _like(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]"))


OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "StringEquals": lambda expected, actual: actual == expected,
    "StringNotEquals": lambda expected, actual: actual != expected,
    "StringEqualsIgnoreCase": lambda expected, actual: actual.lower() == expected.lower(),
    "StringNotEqualsIgnoreCase": lambda expected, actual: actual.lower() != expected.lower(),
    "StringLike": lambda expected, actual: _like(expected, actual),
    "StringNotLike": lambda expected, actual: not _like(expected, actual),
    "ArnEquals": lambda expected, actual: actual == expected,
    "ArnLike": lambda expected, actual: _like(expected, actual),
    "ArnNotEquals": lambda expected, actual: actual != expected,
    "ArnNotLike": lambda expected, actual: not _like(expected, actual),
    "Bool": lambda expected, actual: actual.lower() == expected.lower(),
}
NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _listed(value: Any) -> list[str]:
    return [str(v).lower() if isinstance(v, bool) else str(v)
            for v in (value if isinstance(value, list) else [value])]


def condition_holds(condition: dict, context: dict[str, str]) -> bool | None:
    """True or False for a statement's Condition block in `context`; None if an operator is one
    the local cloud cannot evaluate."""
    for operator, tests in condition.items():
        name = operator.removesuffix("IfExists")
        for key, expected in tests.items():
            actual = context.get(key.lower())
            if name == "Null":
                if (actual is None) != (_listed(expected)[0] == "true"):
                    return False
                continue
            if name not in OPERATORS:
                return None
            if actual is None:
                if operator.endswith("IfExists"):
                    continue
                return False
            # Negated operators hold when the value matches none of the listed values.
            matches = [OPERATORS[name](value, actual) for value in _listed(expected)]
            if not (all(matches) if name in NEGATED else any(matches)):
                return False
    return True


def applicable_statements(document: dict, context: dict[str, str]) -> list[dict]:
    """The statements whose conditions hold, without their Condition (it has been evaluated)."""
    statements = document.get("Statement", [])
    applicable = []
    for statement in statements if isinstance(statements, list) else [statements]:
        holds = condition_holds(statement.get("Condition") or {}, context)
        if holds is None:
            holds = statement.get("Effect") == "Deny"
        if holds:
            applicable.append({k: v for k, v in statement.items() if k != "Condition"})
    return applicable


def _install(s3_models) -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult

    def get_permission(self, action: str, resource: str) -> PermissionResult:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy)
        statements = applicable_statements(document, REQUEST_CONTEXT)
        if not statements:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": statements})).is_action_permitted(
            action, resource)

    s3_models.FakeBucket.get_permission = get_permission


def install(context) -> None:
    when_imported("moto.s3.models", _install)
