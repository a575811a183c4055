"""Policies and subscriptions that SAM templates and the SAM CLI create: real on the local cloud
(GetQueueAttributes, GetTopicAttributes and SNS delivery show them) and gone with the stack;
bucket policy conditions evaluated as IAM evaluates them."""
from __future__ import annotations

import json
import uuid

import pytest

from gluelab.cloud.bucket_policies import applicable_statements, condition_holds
from gluelab.config import client

POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
    "Resource": "*"}]}
TEMPLATE = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Topic": {"Type": "AWS::SNS::Topic"},
        "QueuePolicy": {"Type": "AWS::SQS::QueuePolicy",
                        "Properties": {"Queues": [{"Ref": "Queue"}], "PolicyDocument": POLICY}},
        "TopicPolicy": {"Type": "AWS::SNS::TopicPolicy",
                        "Properties": {"Topics": [{"Ref": "Topic"}], "PolicyDocument": POLICY}},
        "ToQueue": {"Type": "AWS::SNS::Subscription",
                    "Properties": {"TopicArn": {"Ref": "Topic"}, "Protocol": "sqs",
                                   "Endpoint": {"Fn::GetAtt": ["Queue", "Arn"]},
                                   "RawMessageDelivery": True,
                                   "FilterPolicy": {"kind": ["urgent"]}}},
    },
    "Outputs": {"Queue": {"Value": {"Ref": "Queue"}}, "Topic": {"Value": {"Ref": "Topic"}},
                "Subscription": {"Value": {"Ref": "ToQueue"}}},
}


@pytest.mark.cloud
def test_policies_and_subscription_are_made_used_and_removed_with_the_stack(local):
    cloudformation, sqs, sns = client("cloudformation"), client("sqs"), client("sns")
    stack = f"policies-{uuid.uuid4().hex[:6]}"
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps(TEMPLATE))
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    queue, topic = outputs["Queue"], outputs["Topic"]
    assert json.loads(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["Policy"])
                      ["Attributes"]["Policy"]) == POLICY
    assert json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]) == POLICY
    assert outputs["Subscription"].startswith(topic + ":")

    # The filter policy lets only urgent messages through; raw delivery sends the bare message.
    for kind, text in (("routine", "not for the queue"), ("urgent", "lift stuck")):
        sns.publish(TopicArn=topic, Message=text,
                    MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}})
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    assert [message["Body"] for message in received] == ["lift stuck"]

    cloudformation.delete_stack(StackName=stack)
    assert outputs["Subscription"] not in [s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]]
    assert cloudformation.describe_stacks(StackName=described["StackId"])["Stacks"][0][
        "StackStatus"] == "DELETE_COMPLETE"


@pytest.mark.cloud
def test_a_policy_for_a_bucket_that_does_not_exist_fails_the_stack_naming_it(local):
    cloudformation = client("cloudformation")
    stack = f"nobucket-{uuid.uuid4().hex[:6]}"
    cloudformation.create_stack(StackName=stack, TemplateBody=json.dumps({"Resources": {
        "Policy": {"Type": "AWS::S3::BucketPolicy",
                   "Properties": {"Bucket": "no-such-bucket-here", "PolicyDocument": POLICY}}}}))
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert described["StackStatus"] == "ROLLBACK_COMPLETE"
    assert described["StackStatusReason"] == (
        "AWS::S3::BucketPolicy (Policy) failed to create: NoSuchBucket: The specified bucket does "
        "not exist (Bucket no-such-bucket-here)")


# --- bucket policy conditions (IAM's evaluation logic) --------------------------------------

SECURE = {"aws:securetransport": "true"}
DENY_INSECURE = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


def test_the_sam_cli_buckets_deny_of_insecure_transport_does_not_apply_to_the_local_endpoint():
    assert condition_holds(DENY_INSECURE["Condition"], SECURE) is False
    assert applicable_statements({"Statement": [DENY_INSECURE]}, SECURE) == []


def test_a_condition_on_a_key_the_request_lacks_is_false_unless_if_exists_or_null():
    assert condition_holds({"StringEquals": {"aws:SourceAccount": "123456789012"}}, SECURE) is False
    assert condition_holds({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, SECURE) is True
    assert condition_holds({"Null": {"aws:SourceAccount": "true"}}, SECURE) is True
    assert condition_holds({"StringNotLike": {"aws:SecureTransport": ["f*", "no"]}}, SECURE) is True


def test_an_operator_the_local_cloud_cannot_evaluate_keeps_denies_and_drops_allows():
    unknown = {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}
    deny, allow = ({"Effect": effect, "Action": "s3:*", "Condition": unknown} for effect in ("Deny", "Allow"))
    assert condition_holds(unknown, SECURE) is None
    assert applicable_statements({"Statement": [deny, allow]}, SECURE) == [
        {"Effect": "Deny", "Action": "s3:*"}]
