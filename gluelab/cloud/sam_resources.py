"""Resource types that SAM templates and the SAM CLI create and moto 5.2.5 has no model for.

`sam deploy --resolve-s3` first creates the stack aws-sam-cli-managed-default, which holds an
`AWS::S3::BucketPolicy`; SAM's SNS, SQS and EventBridge events and the common sample apps add
`AWS::SNS::Subscription`, `AWS::SNS::TopicPolicy` and `AWS::SQS::QueuePolicy`. Each is made here
on moto's own S3, SNS and SQS backends, so that the API (GetBucketPolicy, ListSubscriptions,
GetQueueAttributes) shows what the template asked for and SNS really delivers to the endpoint.
Other missing types still fail the stack by name (cloudformation.check_supported).
"""
from __future__ import annotations

import json
from typing import Any

from moto.core.common_models import CloudFormationModel

from gluelab.cloud.lazy import when_imported


def _document(policy: Any) -> str:
    return policy if isinstance(policy, str) else json.dumps(policy)


def _s3(account_id: str):
    from moto.s3.models import s3_backends
    return s3_backends[account_id]["aws"]


def _sns(account_id: str, region_name: str):
    from moto.sns.models import sns_backends
    return sns_backends[account_id][region_name]


def _sqs(account_id: str, region_name: str):
    from moto.sqs.models import sqs_backends
    return sqs_backends[account_id][region_name]


class _PolicyAttachment:
    """A policy document set on one or more resources of another service. (A mixin: moto lists
    only direct subclasses of CloudFormationModel as resource types.) An update sets the new document on the new targets and clears
    it from targets the template no longer names, as CloudFormation does."""

    targets_property = ""

    def __init__(self, account_id: str, region_name: str, targets: list[str], document: str):
        self.account_id, self.region_name = account_id, region_name
        self.targets, self.document = targets, document

    @property
    def physical_resource_id(self) -> str:
        return ",".join(self.targets)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Id"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.physical_resource_id

    def apply(self, target: str, document: str | None) -> None:
        raise NotImplementedError

    @classmethod
    def _targets(cls, properties: dict) -> list[str]:
        targets = properties[cls.targets_property]
        return [targets] if isinstance(targets, str) else list(targets)

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        attachment = cls(account_id, region_name, cls._targets(properties),
                         _document(properties["PolicyDocument"]))
        for target in attachment.targets:
            attachment.apply(target, attachment.document)
        return attachment

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                        cloudformation_json, account_id, region_name):
        replacement = cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                          account_id, region_name)
        for target in set(original_resource.targets) - set(replacement.targets):
            original_resource.apply(target, None)
        return replacement

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name):
        raise NotImplementedError("policies are removed through their instance")

    def delete(self, account_id: str, region_name: str) -> None:
        for target in self.targets:
            self.apply(target, None)


class BucketPolicy(_PolicyAttachment, CloudFormationModel):
    """AWS::S3::BucketPolicy: PutBucketPolicy on the bucket; deleting it deletes the policy."""

    targets_property = "Bucket"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::S3::BucketPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    def apply(self, target: str, document: str | None) -> None:
        from moto.s3.exceptions import MissingBucket
        try:
            if document is None:
                _s3(self.account_id).delete_bucket_policy(target)
            else:
                _s3(self.account_id).put_bucket_policy(target, document.encode())
        except MissingBucket:
            if document is not None:
                raise ValueError(f"NoSuchBucket: The specified bucket does not exist (Bucket {target})")


class QueuePolicy(_PolicyAttachment, CloudFormationModel):
    """AWS::SQS::QueuePolicy: the Policy attribute of each queue in Queues (queue URLs)."""

    targets_property = "Queues"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SQS::QueuePolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    def apply(self, target: str, document: str | None) -> None:
        from moto.sqs.exceptions import QueueDoesNotExist
        try:
            _sqs(self.account_id, self.region_name).set_queue_attributes(
                target.rstrip("/").rsplit("/", 1)[-1], {"Policy": document or ""})
        except QueueDoesNotExist:
            if document is not None:
                raise ValueError(f"AWS.SimpleQueueService.NonExistentQueue: The specified queue "
                                 f"does not exist (Queues: {target})")


class TopicPolicy(_PolicyAttachment, CloudFormationModel):
    """AWS::SNS::TopicPolicy: the Policy attribute of each topic in Topics (topic ARNs); deleting
    it gives each topic SNS's default policy back."""

    targets_property = "Topics"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    def apply(self, target: str, document: str | None) -> None:
        from moto.sns.exceptions import TopicNotFound
        try:
            topic = _sns(self.account_id, self.region_name).get_topic(target)
        except TopicNotFound:
            if document is None:
                return
            raise ValueError(f"NotFound: Topic does not exist (Topics: {target})")
        if document is None:
            topic._policy_json = topic._create_default_topic_policy(
                self.region_name, topic.account_id, topic.name)
        else:
            topic.policy = document


# Subscription attributes a template may set, in SetSubscriptionAttributes' names.
SUBSCRIPTION_ATTRIBUTES = ("DeliveryPolicy", "FilterPolicyScope", "FilterPolicy", "RawMessageDelivery",
                           "RedrivePolicy", "SubscriptionRoleArn")


class Subscription(CloudFormationModel):
    """AWS::SNS::Subscription as a real subscription: SNS delivers to its endpoint (Lambda, SQS).
    Ref gives the subscription ARN."""

    def __init__(self, subscription):
        self.subscription = subscription

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::Subscription"

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @property
    def physical_resource_id(self) -> str:
        return self.subscription.arn

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return self.subscription.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name, **kwargs):
        from moto.sns.exceptions import TopicNotFound
        properties = cloudformation_json["Properties"]
        backend = _sns(account_id, region_name)
        try:
            subscription = backend.subscribe(properties["TopicArn"], properties.get("Endpoint", ""),
                                             properties["Protocol"])
        except TopicNotFound:
            raise ValueError(f"NotFound: Topic does not exist (TopicArn {properties['TopicArn']})")
        for name in SUBSCRIPTION_ATTRIBUTES:
            if name in properties:
                value = properties[name]
                backend.set_subscription_attributes(
                    subscription.arn, name,
                    str(value).lower() if isinstance(value, bool) else _document(value))
        return cls(subscription)

    @classmethod
    def update_from_cloudformation_json(cls, original_resource, new_resource_name,
                                        cloudformation_json, account_id, region_name):
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id,
                                        region_name):
        raise NotImplementedError("subscriptions are deleted through their instance")

    def delete(self, account_id: str, region_name: str) -> None:
        _sns(account_id, region_name).unsubscribe(self.subscription.arn)


def _event_bus_ref_is_its_name(events_models) -> None:
    """`!Ref` of an AWS::Events::EventBus is the bus name (a rule's EventBusName takes it); moto's
    model has no physical id, so the Ref gave the model object and the rule failed to create."""
    events_models.EventBus.physical_resource_id = property(lambda bus: bus.name)


def install(context) -> None:
    # The resource models above register with moto's CloudFormation by being defined (imported).
    when_imported("moto.events.models", _event_bus_ref_is_its_name)
