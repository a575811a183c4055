"""The project's one IAM policy evaluator: which effect a set of policy documents has for one
request (action, resource, and optionally the calling principal and condition context).

Used by the local cloud's IAM enforcement (a Lambda function's or a state machine's role,
a function's resource policy), by Lambda authorizers' policies and by the labs' checks.
It follows AWS's policy evaluation logic for one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins, otherwise an Allow is needed, otherwise the request is implicitly denied.
Statements use Action/NotAction, Resource/NotResource, Principal and Condition. A condition
operator it does not know is never in the caller's favour: such an Allow does not apply and such
a Deny does.
"""
from __future__ import annotations

import functools
import json
import re

ALLOW, DENY = "Allow", "Deny"


@functools.lru_cache(maxsize=4096)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern:
    """IAM's wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def _matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    return _pattern(pattern, ignore_case).fullmatch(value) is not None


def _listed(value) -> list:
    return [value] if isinstance(value, (str, dict, bool, int)) else list(value or [])


def _any_matches(patterns, value: str, ignore_case: bool = False) -> bool:
    return any(_matches(str(p), value, ignore_case) for p in _listed(patterns))


def _action_applies(statement: dict, action: str) -> bool:
    # Action names are case-insensitive in IAM ("dynamodb:putitem" grants dynamodb:PutItem).
    if "NotAction" in statement:
        return not _any_matches(statement["NotAction"], action, ignore_case=True)
    return _any_matches(statement.get("Action"), action, ignore_case=True)


def _resource_applies(statement: dict, resource: str) -> bool:
    if "NotResource" in statement:
        return not _any_matches(statement["NotResource"], resource)
    if "Resource" not in statement:  # resource-based policies name no resource
        return True
    return _any_matches(statement["Resource"], resource)


def _principal_applies(statement: dict, principal: dict | None) -> bool:
    """principal: {"AWS": arn} or {"Service": "apigateway.amazonaws.com"}; None for identity
    policies, which have no Principal element."""
    if principal is None:
        return True
    wanted = statement.get("Principal")
    if wanted == "*" or (isinstance(wanted, dict) and wanted.get("AWS") == "*"):
        return True
    if not isinstance(wanted, dict):
        return False
    for kind, value in principal.items():
        for candidate in _listed(wanted.get(kind)):
            if candidate == value:
                return True
            # An account (its id or its root ARN) as principal stands for every identity in it.
            account = value.split(":")[4] if value.startswith("arn:") else ""
            if kind == "AWS" and account and candidate in (account, f"arn:aws:iam::{account}:root"):
                return True
    return False


_STRING_TESTS = {
    "StringEquals": lambda want, have: want == have,
    "StringEqualsIgnoreCase": lambda want, have: want.lower() == have.lower(),
    "StringLike": lambda want, have: _matches(want, have),
    "ArnEquals": lambda want, have: want == have,
    "ArnLike": lambda want, have: _matches(want, have),
    "Bool": lambda want, have: want.lower() == have.lower(),
}
_NEGATED = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
            "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike"}


def _condition_holds(operator: str, key: str, wanted, context: dict) -> bool | None:
    """Whether one condition holds; None when the operator is not one this evaluator knows."""
    values = context.get(key.lower())
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    if operator == "Null":
        return (values is None) == (str(_listed(wanted)[0]).lower() == "true")
    negated = operator in _NEGATED
    test = _STRING_TESTS.get(_NEGATED.get(operator, operator))
    if test is None:
        return None
    if values is None:  # a missing key: only negated and ...IfExists operators hold
        return if_exists or negated
    found = any(test(str(want), str(have)) for want in _listed(wanted) for have in _listed(values))
    return not found if negated else found


def _conditions_hold(statement: dict, context: dict, unknown: bool) -> bool:
    for operator, tests in (statement.get("Condition") or {}).items():
        for key, wanted in (tests or {}).items():
            holds = _condition_holds(operator, key, wanted, context)
            if not (unknown if holds is None else holds):
                return False
    return True


def statement_effect(statement: dict, action: str, resource: str, principal: dict | None = None,
                     context: dict | None = None) -> str | None:
    """The statement's Effect if it applies to the request, else None."""
    effect = statement.get("Effect")
    if not (_action_applies(statement, action) and _resource_applies(statement, resource)
            and _principal_applies(statement, principal)):
        return None
    context = {key.lower(): value for key, value in (context or {}).items()}
    # An unknown condition operator makes a Deny apply and an Allow not: never more lenient.
    return effect if _conditions_hold(statement, context, unknown=effect == DENY) else None


def policy_effect(document: dict | str, action: str, resource: str, principal: dict | None = None,
                  context: dict | None = None) -> str | None:
    """"Deny" if a statement denies `action` on `resource`, else "Allow" if one allows it."""
    return documents_effect([document], action, resource, principal, context)


def documents_effect(documents, action: str, resource: str, principal: dict | None = None,
                     context: dict | None = None) -> str | None:
    """The combined effect of several policies (a role's inline and attached ones)."""
    allowed = False
    for document in documents:
        document = json.loads(document) if isinstance(document, str) else document
        for statement in _listed(document.get("Statement")):
            effect = statement_effect(statement, action, resource, principal, context)
            if effect == DENY:
                return DENY
            allowed = allowed or effect == ALLOW
    return ALLOW if allowed else None
