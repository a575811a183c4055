"""The project's one IAM policy evaluator (gluelab/iam_policy.py), on the cases AWS's policy
evaluation logic documents: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
from __future__ import annotations

import json

import pytest

from gluelab.iam_policy import documents_effect, policy_effect

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:fixit-ArrangeFunction-ABC123"


def document(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


@pytest.mark.parametrize("statement, effect", [
    # what SAM's LambdaInvokePolicy expands to
    ({"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
      "Resource": ["arn:aws:lambda:us-east-1:123456789012:function:fixit-ArrangeFunction-ABC123*"]}, "Allow"),
    ({"Effect": "Allow", "Action": "lambda:*", "Resource": "*"}, "Allow"),
    # action names are case-insensitive, resources are not
    ({"Effect": "Allow", "Action": "Lambda:invokefunction", "Resource": FUNCTION}, "Allow"),
    ({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FUNCTION.upper()}, None),
    # the notify function's policy only: the lab 09 mistake
    ({"Effect": "Allow", "Action": ["lambda:InvokeFunction"],
      "Resource": ["arn:aws:lambda:us-east-1:123456789012:function:fixit-NotifyFunction-XYZ*"]}, None),
    ({"Effect": "Deny", "Action": "lambda:InvokeFunction", "Resource": "*"}, "Deny"),
    ({"Effect": "Allow", "Action": "states:StartExecution", "Resource": "*"}, None),
    ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, "Allow"),
    ({"Effect": "Allow", "Action": "lambda:*", "NotResource": FUNCTION}, None),
    # `?` is one character; a regex dot is a dot
    ({"Effect": "Allow", "Action": "lambda:InvokeFunctio?", "Resource": FUNCTION.replace(".", "?")}, "Allow"),
    ({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": FUNCTION.replace("-ABC", ".ABC")}, None),
])
def test_one_statement(statement, effect):
    assert policy_effect(document(statement), "lambda:InvokeFunction", FUNCTION) == effect
    assert policy_effect(json.dumps(document(statement)), "lambda:InvokeFunction", FUNCTION) == effect


def test_an_explicit_deny_in_any_policy_beats_an_allow_in_another():
    allow = document({"Effect": "Allow", "Action": "*", "Resource": "*"})
    deny = document({"Effect": "Deny", "Action": "lambda:Invoke*", "Resource": FUNCTION})
    assert documents_effect([allow, deny], "lambda:InvokeFunction", FUNCTION) == "Deny"
    assert documents_effect([allow], "lambda:InvokeFunction", FUNCTION) == "Allow"
    assert documents_effect([], "lambda:InvokeFunction", FUNCTION) is None


API_GATEWAY = {"Service": "apigateway.amazonaws.com"}
PERMISSION = document({"Effect": "Allow", "Principal": API_GATEWAY, "Action": "lambda:InvokeFunction",
                       "Resource": FUNCTION, "Condition": {"ArnLike": {
                           "AWS:SourceArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/*/POST/sms"}}})


@pytest.mark.parametrize("principal, source, effect", [
    (API_GATEWAY, "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/POST/sms", "Allow"),
    (API_GATEWAY, "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/GET/sms", None),
    (API_GATEWAY, "arn:aws:execute-api:us-east-1:123456789012:other/Prod/POST/sms", None),
    ({"Service": "events.amazonaws.com"}, "arn:aws:execute-api:us-east-1:123456789012:abc123/Prod/POST/sms", None),
    (API_GATEWAY, None, None),  # a condition key the request lacks does not hold
])
def test_a_resource_policy_names_the_principal_and_the_source(principal, source, effect):
    context = {"aws:SourceArn": source} if source else {}
    assert policy_effect(PERMISSION, "lambda:InvokeFunction", FUNCTION, principal, context) == effect


def test_an_unknown_condition_operator_never_favours_the_caller():
    condition = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}
    assert policy_effect(document(allow), "lambda:InvokeFunction", FUNCTION) is None
    assert policy_effect(document(deny), "lambda:InvokeFunction", FUNCTION) == "Deny"
