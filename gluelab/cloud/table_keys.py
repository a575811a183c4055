"""A DynamoDB table made or changed by CloudFormation is checked as DynamoDB's CreateTable checks it.

moto builds a CloudFormation table straight from the template, skipping the checks its own
CreateTable makes, so a KeySchema naming an attribute missing from AttributeDefinitions (or an
AttributeDefinitions entry no key uses) deployed. On AWS the AWS::DynamoDB::Table resource
handler refuses it and the stack rolls back. This runs moto's CreateTable validation (the same
code a direct CreateTable runs) on the table's whole desired state, at create and at update, and
words a refusal as the handler does: its own words for the key/attribute mismatch, DynamoDB's
words (with the Java SDK's suffix) for the rest. It also adds to that validation, for
CloudFormation and a direct CreateTable alike, DynamoDB's rule that moto lacks: a key schema is a
HASH key, then optionally a RANGE key; and to a direct UpdateTable, that a new global index's keys
must be defined in the request.
"""
from __future__ import annotations

import uuid

# The AWS::DynamoDB::Table handler's own wording (event reasons quoted in
# aws-amplify/amplify-category-api#1924 and pulumi/pulumi-aws-native#729).
UNDEFINED_KEY = "An attribute referenced in a KeySchema element is not defined in AttributeDefinitions"
UNUSED_DEFINITION = ("Number of attributes in KeySchema does not exactly match number of "
                     "attributes defined in AttributeDefinitions")


def handler_message(message: str) -> str:
    """A stack event's reason for a resource its registry handler refused, as CloudFormation
    words it."""
    return (f'Resource handler returned message: "{message}" (RequestToken: {uuid.uuid4()}, '
            f"HandlerErrorCode: InvalidRequest)")


class KeyMismatch(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _AttributeCheck:
    """Stands in for moto's DynamoHandler in its CreateTable validation, which calls
    self._throw_attr_error(defined, used, has_index) when the attributes do not match."""

    @staticmethod
    def _throw_attr_error(defined: list[str], used: list[str], indexes: bool) -> None:
        raise KeyMismatch(UNDEFINED_KEY if set(used) - set(defined) else UNUSED_DEFINITION)


def refusal(properties: dict) -> str | None:
    """The reason CloudFormation fails a table with these properties, or None if DynamoDB takes it."""
    from moto.dynamodb.exceptions import MockValidationException
    from moto.dynamodb.responses import DynamoHandler
    billing = "PAY_PER_REQUEST" if properties.get("BillingMode") == "PAY_PER_REQUEST" else "PROVISIONED"
    try:
        DynamoHandler._validate_table_creation(
            _AttributeCheck(), billing_mode=billing,
            throughput=properties.get("ProvisionedThroughput"),
            key_schema=properties.get("KeySchema") or [],
            global_indexes=properties.get("GlobalSecondaryIndexes"),
            local_secondary_indexes=properties.get("LocalSecondaryIndexes"),
            attr=properties.get("AttributeDefinitions") or [],
            warm_throughput=properties.get("WarmThroughput"))
    except KeyMismatch as mismatch:
        return handler_message(mismatch.message)
    except MockValidationException as exc:
        request_id = uuid.uuid4().hex[:32].upper()
        return handler_message(f"{exc.exception_msg} (Service: DynamoDb, Status Code: 400, "
                               f"Request ID: {request_id})")
    return None


def _refuse(cloudformation_json: dict) -> None:
    reason = refusal(cloudformation_json.get("Properties") or {})
    if reason:
        from moto.cloudformation.exceptions import ValidationError
        raise ValidationError(message=reason)


def _hash_first(validate):
    """moto's CreateTable validation, then DynamoDB's rule that moto lacks: a key schema is a
    HASH key, optionally followed by a RANGE key."""
    def validate_table_creation(self, **kwargs):  # moto passes every argument by name
        validate(self, **kwargs)
        from moto.dynamodb.exceptions import MockValidationException
        for element, (ordinal, wanted) in zip(kwargs["key_schema"], (("first", "HASH"), ("second", "RANGE"))):
            if element.get("KeyType") != wanted:
                raise MockValidationException(
                    f"Invalid KeySchema: The {ordinal} KeySchemaElement is not a {wanted} key type")
    return validate_table_creation


def _install_key_order(responses) -> None:
    handler = responses.DynamoHandler
    handler._validate_table_creation = _hash_first(handler._validate_table_creation)


def _index_keys_defined(update_table):
    """moto's UpdateTable, after DynamoDB's check that moto lacks: a new global index's key
    attributes must be in the request's AttributeDefinitions (UpdateTable reference)."""
    def checked(self, name, attr_definitions, global_index, *args, **kwargs):
        defined = {attribute["AttributeName"] for attribute in attr_definitions or []}
        for change in global_index or []:
            keys = (change.get("Create") or {}).get("KeySchema", [])
            if any(key["AttributeName"] not in defined for key in keys):
                from moto.dynamodb.exceptions import MockValidationException
                raise MockValidationException("Invalid KeySchema: Some index key attribute have no definition")
        return update_table(self, name, attr_definitions, global_index, *args, **kwargs)
    return checked


def _install_index_check(models) -> None:
    backend = models.DynamoDBBackend
    backend.update_table = _index_keys_defined(backend.update_table)


def install(context) -> None:
    from gluelab.cloud.lazy import when_imported
    when_imported("moto.dynamodb.responses", _install_key_order)
    when_imported("moto.dynamodb.models", _install_index_check)
    when_imported("moto.dynamodb.models.table", _install_table_checks)


def _install_table_checks(table_module) -> None:
    """Check the table's CloudFormation create and update first (install after other wrappers)."""
    Table = table_module.Table
    create, update = Table.create_from_cloudformation_json, Table.update_from_cloudformation_json

    @classmethod
    def checked_create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        _refuse(cloudformation_json)
        return create.__func__(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    @classmethod
    def checked_update(cls, original_resource, new_resource_name, cloudformation_json, account_id,
                       region_name):
        _refuse(cloudformation_json)
        return update.__func__(cls, original_resource, new_resource_name, cloudformation_json,
                               account_id, region_name)

    Table.create_from_cloudformation_json = checked_create
    Table.update_from_cloudformation_json = checked_update
