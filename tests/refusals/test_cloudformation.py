"""CloudFormation mistakes the local cloud refuses as CloudFormation does.

Template-level errors fail the change set before anything is made; property errors fail the
resource (CREATE_FAILED / UPDATE_FAILED) with the registry schema's verdict and roll the stack
back. Each test cites the AWS documentation or error text that shows AWS refuses the mistake.
"""
from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.cloud.test_cloudformation import Cloud, function_template, unique

HEADER = "AWSTemplateFormatVersion: 2010-09-09\n"
SAM = HEADER + "Transform: AWS::Serverless-2016-10-31\n"


@pytest.fixture
def aws(local) -> Cloud:
    return Cloud(local.endpoint)


def failed_resource(aws: Cloud, name: str, text: str, logical_id: str) -> str:
    """Create a stack that must roll back; the reason its `logical_id` failed with."""
    stack = aws.create(name, text)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [reason for resource, status, reason in aws.events(name)
               if resource == logical_id and status == "CREATE_FAILED"]
    assert reasons, aws.events(name)
    return reasons[0]


def parameter(properties: str) -> str:
    return HEADER + f"Resources:\n  Setting:\n    Type: AWS::SSM::Parameter\n    Properties: {properties}\n"


# --- Properties, against the registry schemas --------------------------------------------

def test_environment_without_variables_fails_the_function_naming_the_key(aws):
    # Issue 10's report, as CloudFormation words it: "Properties validation failed for resource
    # ReceiverFunction with message: #/Environment: extraneous key [WEBHOOK_URL_PARAMETER] is not
    # permitted" (AWS::Lambda::Function's Environment has only Variables).
    text = function_template().replace("  Fn:\n", "  ReceiverFunction:\n").replace(
        "Variables: {GREETING: hello-128}", "WEBHOOK_URL_PARAMETER: /fixit/webhook")
    reason = failed_resource(aws, unique("envvars"), text, "ReceiverFunction")
    assert reason == ("Properties validation failed for resource ReceiverFunction with message: "
                      "#/Environment: extraneous key [WEBHOOK_URL_PARAMETER] is not permitted")


def test_a_typo_in_a_property_name_is_an_unsupported_property(aws):
    # Issue 10's report: CloudFormation says "Encountered unsupported property Nmae" for a
    # property AWS::SSM::Parameter's schema does not have.
    name = unique("nmae")
    reason = failed_resource(aws, name, parameter("{Nmae: /fixit/x, Type: String, Value: v}"), "Setting")
    assert reason == "Encountered unsupported property Nmae"
    assert "NoneType" not in aws.stack(name)["StackStatusReason"]


def test_a_missing_required_property_is_named(aws):
    # AWS::SSM::Parameter requires Type and Value ("Required: Yes" in the resource reference);
    # CloudFormation: "#: required key [Value] not found".
    reason = failed_resource(aws, unique("novalue"), parameter("{Type: String}"), "Setting")
    assert reason == ("Properties validation failed for resource Setting with message: "
                      "#: required key [Value] not found")


def test_a_value_outside_the_enum_is_named(aws):
    # AWS::SSM::Parameter Type "Allowed values: String | StringList" (resource reference);
    # CloudFormation: "#/Type: Strin is not a valid enum value".
    reason = failed_resource(aws, unique("enum"), parameter("{Type: Strin, Value: v}"), "Setting")
    assert reason == ("Properties validation failed for resource Setting with message: "
                      "#/Type: Strin is not a valid enum value")


def test_a_value_of_the_wrong_type_is_named(aws):
    # AWS::Lambda::Function MemorySize is "Type: Integer"; CloudFormation: "#/MemorySize:
    # expected type: Integer, found: String".
    text = function_template().replace("MemorySize: 128", "MemorySize: lots")
    reason = failed_resource(aws, unique("type"), text, "Fn")
    assert reason == ("Properties validation failed for resource Fn with message: "
                      "#/MemorySize: expected type: Integer, found: String")


def test_a_value_below_the_minimum_is_named(aws):
    # AWS::Lambda::Function Timeout "Minimum: 1"; CloudFormation: "#/Timeout: 0 is not greater
    # or equal to 1".
    text = function_template(timeout=0)
    reason = failed_resource(aws, unique("range"), text, "Fn")
    assert reason == ("Properties validation failed for resource Fn with message: "
                      "#/Timeout: 0 is not greater or equal to 1")


def test_an_unknown_key_deep_inside_a_property_is_named_with_its_path(aws):
    # AWS::DynamoDB::Table ProvisionedThroughput has only ReadCapacityUnits and
    # WriteCapacityUnits; CloudFormation: "#/ProvisionedThroughput: extraneous key [Burst] is
    # not permitted".
    text = HEADER + """Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1, Burst: 2}
"""
    reason = failed_resource(aws, unique("deep"), text, "Orders")
    assert reason == ("Properties validation failed for resource Orders with message: "
                      "#/ProvisionedThroughput: extraneous key [Burst] is not permitted")


def test_an_invalid_property_in_an_update_fails_the_resource_and_rolls_back(aws):
    # On update CloudFormation validates the new properties the same way: the resource is
    # UPDATE_FAILED with the schema's message and the stack ends UPDATE_ROLLBACK_COMPLETE.
    name = unique("update")
    assert aws.create(name, parameter("{Type: String, Value: v1}"))["StackStatus"] == "CREATE_COMPLETE"
    aws.cloudformation.update_stack(StackName=name, TemplateBody=parameter("{Type: String, Value: v2, Tier: Cheap}"))
    stack = aws.stack(name)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    reason = "Properties validation failed for resource Setting with message: #/Tier: Cheap is not a valid enum value"
    assert ("Setting", "UPDATE_FAILED", reason) in aws.events(name)


def test_an_index_past_the_end_of_a_select_list_fails_the_resource(aws):
    # CloudFormation fails the resource with "Template error: Fn::Select cannot select
    # nonexistent value at index 2" (aws-samples/1click-hpc#1, a CREATE_FAILED event); the
    # local cloud said an IndexError broke it. An index inside the list still selects.
    text = parameter("{Type: String, Value: !Select [2, [a, b]], Description: !Select [1, [a, b]]}")
    assert failed_resource(aws, unique("select"), text, "Setting") == (
        "Template error: Fn::Select cannot select nonexistent value at index 2")
    name = unique("select")
    assert aws.create(name, parameter("{Type: String, Value: !Select [1, [a, b]]}"))["StackStatus"] == "CREATE_COMPLETE"
    ssm = boto3.client("ssm", endpoint_url=aws.cloudformation.meta.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    assert ssm.get_parameter(Name=aws.resources(name)["Setting"])["Parameter"]["Value"] == "b"


def test_values_written_as_text_and_refs_are_read_as_cloudformation_reads_them(aws):
    # No false refusal: CloudFormation accepts "256" for an Integer and a Ref for any value.
    text = SAM + """Parameters:
  Memory: {Type: Number, Default: 256}
Resources:
  Setting:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !Ref Memory, Description: "256"}
"""
    assert aws.create(unique("lenient"), text)["StackStatus"] == "CREATE_COMPLETE"


# --- DynamoDB tables, as the AWS::DynamoDB::Table handler checks them ----------------------

def table(definitions: str, key: str = "[{AttributeName: id, KeyType: HASH}]", more: str = "") -> str:
    """A template with one on-demand table, CompaniesTable."""
    return HEADER + f"""Resources:
  CompaniesTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: {definitions}
      KeySchema: {key}
{more}"""


def companies(definitions: str) -> str:
    """The table with lab 07's index on category."""
    return table(definitions, more="""      GlobalSecondaryIndexes:
        - IndexName: byCategory
          KeySchema: [{AttributeName: category, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
""")


def handler_said(reason: str) -> str:
    """The handler's message inside CloudFormation's 'Resource handler returned message' frame."""
    assert reason.startswith('Resource handler returned message: "'), reason
    assert reason.endswith(", HandlerErrorCode: InvalidRequest)"), reason
    return reason.split('"')[1]


def test_an_index_key_missing_from_attribute_definitions_fails_the_table(aws):
    # Issue 12's newcomer trial (lab 07): a GSI keyed on an attribute that AttributeDefinitions
    # lacks deployed. On AWS the table is CREATE_FAILED with "Resource handler returned message:
    # "An attribute referenced in a KeySchema element is not defined in AttributeDefinitions"
    # (RequestToken: ..., HandlerErrorCode: InvalidRequest)" (aws-amplify/amplify-category-api#1924)
    # and the stack rolls back: no table is left behind.
    name = unique("gsikey")
    reason = failed_resource(aws, name, companies("[{AttributeName: id, AttributeType: S}]"),
                             "CompaniesTable")
    assert handler_said(reason) == ("An attribute referenced in a KeySchema element is not defined "
                                    "in AttributeDefinitions")
    assert not [t for t in aws.dynamodb.list_tables()["TableNames"] if t.startswith(name)]


def test_an_attribute_definition_no_key_uses_fails_the_table(aws):
    # DynamoDB types only key attributes; the handler refuses an unused one with "Number of
    # attributes in KeySchema does not exactly match number of attributes defined in
    # AttributeDefinitions" (pulumi/pulumi-aws-native#729, aws-amplify/amplify-category-api#1924).
    text = companies("[{AttributeName: id, AttributeType: S}, {AttributeName: category, AttributeType: S},"
                     " {AttributeName: name, AttributeType: S}]")
    reason = failed_resource(aws, unique("unused"), text, "CompaniesTable")
    assert handler_said(reason) == ("Number of attributes in KeySchema does not exactly match number "
                                    "of attributes defined in AttributeDefinitions")


def test_other_create_table_rules_come_back_in_dynamodb_words(aws):
    # What the handler passes on from CreateTable keeps DynamoDB's words and the SDK's suffix:
    # "ProvisionedThroughput cannot be specified when BillingMode is PAY_PER_REQUEST (Service:
    # DynamoDb, Status Code: 400, Request ID: ...)" (AWS::DynamoDB::Table ProvisionedThroughput:
    # "If you set BillingMode as PAY_PER_REQUEST, you cannot specify this property").
    text = table("[{AttributeName: id, AttributeType: S}]",
                 more="      ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}\n")
    said = handler_said(failed_resource(aws, unique("billing"), text, "CompaniesTable"))
    assert said.startswith("ProvisionedThroughput cannot be specified when BillingMode is "
                           "PAY_PER_REQUEST (Service: DynamoDb, Status Code: 400, Request ID: ")


def test_a_key_schema_that_does_not_start_with_its_hash_key_is_refused_here_and_by_create_table(aws):
    # DynamoDB: "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"
    # (aws-cloudformation/cfn-lint#3132 quotes it for AWS::DynamoDB::Table); moto took it.
    text = table("[{AttributeName: id, AttributeType: S}, {AttributeName: city, AttributeType: S}]",
                 key="[{AttributeName: city, KeyType: RANGE}, {AttributeName: id, KeyType: HASH}]")
    said = handler_said(failed_resource(aws, unique("order"), text, "CompaniesTable"))
    assert said.startswith("Invalid KeySchema: The first KeySchemaElement is not a HASH key type "
                           "(Service: DynamoDb, Status Code: 400")
    with pytest.raises(ClientError) as refusal:
        aws.dynamodb.create_table(
            TableName=unique("order"), BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "RANGE"}])
    assert refusal.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "Invalid KeySchema: The first KeySchemaElement is not a HASH key type"}


def test_update_table_refuses_a_new_index_whose_key_is_not_defined(aws):
    # UpdateTable reference: "If you are adding a new global secondary index to the table,
    # AttributeDefinitions must include the key element(s) of the new index"; DynamoDB: "Invalid
    # KeySchema: Some index key attribute have no definition" (alexdebrie/dynamodbguide.com#16).
    name = unique("direct")
    aws.dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    index = {"IndexName": "byCategory", "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": "category", "KeyType": "HASH"}]}
    with pytest.raises(ClientError) as refusal:
        aws.dynamodb.update_table(TableName=name, AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                  GlobalSecondaryIndexUpdates=[{"Create": index}])
    assert refusal.value.response["Error"]["Message"] == "Invalid KeySchema: Some index key attribute have no definition"
    aws.dynamodb.update_table(TableName=name, AttributeDefinitions=[{"AttributeName": "category", "AttributeType": "S"}],
                              GlobalSecondaryIndexUpdates=[{"Create": index}])
    assert [i["IndexName"] for i in aws.dynamodb.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]] == [
        "byCategory"]


def test_an_update_adding_an_index_on_an_undefined_attribute_rolls_back_and_keeps_the_items(aws):
    # The handler checks the table's whole new state on update too (pulumi-aws-native#729 is an
    # UPDATE): UPDATE_FAILED, the stack rolls back, the table and its items stay.
    name = unique("gsiupdate")
    assert aws.create(name, table("[{AttributeName: id, AttributeType: S}]"))["StackStatus"] == "CREATE_COMPLETE"
    made = aws.resources(name)["CompaniesTable"]
    aws.dynamodb.put_item(TableName=made, Item={"id": {"S": "acme"}})
    aws.cloudformation.update_stack(StackName=name, TemplateBody=companies(
        "[{AttributeName: id, AttributeType: S}]"))
    assert aws.stack(name)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [reason for resource, status, reason in aws.events(name) if status == "UPDATE_FAILED"]
    assert [handler_said(reason) for reason in failed] == [
        "An attribute referenced in a KeySchema element is not defined in AttributeDefinitions"]
    assert aws.dynamodb.scan(TableName=made)["Items"] == [{"id": {"S": "acme"}}]
    assert not aws.dynamodb.describe_table(TableName=made)["Table"].get("GlobalSecondaryIndexes")


# --- The template, at change set creation ------------------------------------------------
# A template without a transform is refused within CreateChangeSet (ValidationError), as the
# LocalStack snapshots recorded on AWS show (engine/test_references: DependsOn on a resource that
# does not exist; engine/test_mappings; test_change_set_fn_split); with the SAM transform the
# change set is made and FAILED (aws-samples/serverless-patterns#96: "Status: FAILED. Reason:
# Circular dependency between resources: [...]").

def failed_change_set(aws: Cloud, text: str) -> str:
    change_set = aws.change_set(unique("cs"), text, "CREATE")
    assert (change_set["Status"], change_set["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    return change_set["StatusReason"]


def refused_change_set(aws: Cloud, text: str) -> str:
    """CreateChangeSet of a template without a transform: refused in the call, nothing left."""
    name = unique("cs")
    with pytest.raises(ClientError) as refusal:
        aws.change_set(name, text, "CREATE")
    assert refusal.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(ClientError, match="does not exist"):
        aws.cloudformation.describe_stacks(StackName=name)
    return refusal.value.response["Error"]["Message"]


def refused_stack(aws: Cloud, text: str) -> str:
    with pytest.raises(ClientError) as refusal:
        aws.cloudformation.create_stack(StackName=unique("parse"), TemplateBody=text)
    assert refusal.value.response["Error"]["Code"] == "ValidationError"
    return refusal.value.response["Error"]["Message"]


def test_depends_on_a_resource_that_does_not_exist(aws):
    # CloudFormation: "Template format error: Unresolved resource dependencies [Ghost] in the
    # Resources block of the template" (DependsOn attribute documentation).
    text = parameter("{Type: String, Value: v}") + "    DependsOn: Ghost\n"
    assert refused_change_set(aws, text).startswith(
        "Template format error: Unresolved resource dependencies [Ghost] in the Resources block of "
        "the template (in DependsOn of Setting)")


def test_a_condition_that_is_not_defined(aws):
    # CloudFormation: "Template format error: Condition ListenForHttps is not defined."
    # (aws-cloudformation/cfn-lint#92); the local cloud answered HTTP 500.
    text = parameter("{Type: String, Value: v}") + "    Condition: IsProd\n"
    assert refused_change_set(aws, text).startswith(
        "Template format error: Condition IsProd is not defined. (in Condition of Setting)")


def test_a_circular_dependency_names_the_resources(aws):
    # CloudFormation: "Circular dependency between resources: [A, B]" (troubleshooting guide,
    # "Circular dependency errors").
    text = HEADER + """Resources:
  A:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !GetAtt B.Value}
  B:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !GetAtt A.Value}
"""
    assert refused_change_set(aws, text) == "Circular dependency between resources: [A, B]"


def test_get_att_of_an_attribute_the_type_does_not_have(aws):
    # CloudFormation: "Template error: resource Setting does not support attribute type Color in
    # Fn::GetAtt" (Fn::GetAtt reference lists each type's attributes).
    text = parameter("{Type: String, Value: v}") + "Outputs:\n  C:\n    Value: !GetAtt Setting.Color\n"
    assert refused_change_set(aws, text).startswith(
        "Template error: resource Setting does not support attribute type Color in Fn::GetAtt")


def test_a_resource_type_that_does_not_exist(aws):
    # CloudFormation: "Template format error: Unrecognized resource types: [AWS::Lambda::Functoin]".
    text = HEADER + "Resources:\n  Fn:\n    Type: AWS::Lambda::Functoin\n    Properties: {}\n"
    assert refused_change_set(aws, text) == (
        "Template format error: Unrecognized resource types: [AWS::Lambda::Functoin]")


def test_a_template_that_does_not_parse_says_where_in_cloudformations_words(aws):
    # CloudFormation: "Template format error: YAML not well-formed. (line 4, column 4)" (the
    # message attendees meet in aws-samples/csv-to-dynamodb#6, Netflix/metaflow-tools#31), and
    # "JSON not well-formed" for a JSON one; never the parser's own text.
    misindented = parameter("{Type: String, Value: v}").replace("    Properties:", "   Properties:")
    assert refused_stack(aws, misindented) == "Template format error: YAML not well-formed. (line 5, column 4)"
    broken_json = '{\n  "Resources": {"Setting": [1, }\n}'
    assert refused_stack(aws, broken_json) == "Template format error: JSON not well-formed. (line 2, column 32)"


# --- The SAM transform -------------------------------------------------------------------

def test_a_local_code_uri_is_refused_with_the_advice_to_package(aws):
    # CloudFormation runs the SAM transform on S3 locations only; SAM's words: "'CodeUri' is not
    # a valid S3 Uri of the form 's3://bucket/key'". The local cloud adds what to do about it.
    text = SAM + ("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                  "      CodeUri: functions/hello\n      Handler: app.handler\n      Runtime: python3.11\n")
    reason = failed_change_set(aws, text)
    assert "'CodeUri' is not a valid S3 Uri" in reason and "gluelab deploy" in reason


def test_a_sam_mistake_that_only_names_code_uri_gets_no_packaging_advice(aws):
    # Lab 01's nesting mistake (CodeUri beside Properties instead of under it): SAM answers "Only
    # one of 'InlineCode' or 'CodeUri' can be set." The template is packaged; advising to package
    # it sent a newcomer the wrong way.
    text = SAM + ("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
                  "    CodeUri: s3://bucket/code.zip\n    Properties:\n"
                  "      Handler: app.handler\n      Runtime: python3.11\n")
    reason = failed_change_set(aws, text)
    assert "CodeUri" in reason and "gluelab deploy" not in reason


# --- Intrinsic functions, refused at CreateStack / CreateChangeSet in CloudFormation's words --
# The wordings are AWS's as recorded in LocalStack's AWS-validated snapshots
# (tests/aws/services/cloudformation/*.snapshot.json) or quoted from CloudFormation by its users.

COLORS = "Mappings:\n  Colors:\n    red: {Code: ff0000}\n"
AT_VALUE = "Resources.Setting.Properties.Value"
MISUSED = {
    # LocalStack engine/test_mappings snapshot: "Template error: Unable to get mapping for
    # TopicSuffixMap::C::Suffix" (CreateChangeSet ValidationError), for either level's key.
    "missing-top-key": (COLORS, "!FindInMap [Colors, blue, Code]",
                        "Template error: Unable to get mapping for Colors::blue::Code", "Fn::FindInMap"),
    "missing-second-key": (COLORS, "!FindInMap [Colors, red, Hex]",
                           "Template error: Unable to get mapping for Colors::red::Hex", "Fn::FindInMap"),
    # aws-quickstart/quickstart-tableau-server#83: "Template error: Mapping named
    # 'AWSAMIRegionMap' is not present in the 'Mappings' section of template."
    "missing-mapping": (COLORS, "!FindInMap [Colours, red, Code]",
                        "Template error: Mapping named 'Colours' is not present in the 'Mappings' section of "
                        "template.", "Fn::FindInMap"),
    # aws/aws-cdk#27987, cloudtools/troposphere#479.
    "find-in-map-two-arguments": (COLORS, "!FindInMap [Colors, red]",
                                  "Template error: every Fn::FindInMap object requires three parameters, the "
                                  "map name, map key and the attribute for return value.", "Fn::FindInMap"),
    # bazaarvoice/cloudformation-ruby-dsl#131 (CreateStack ValidationError); LocalStack snapshot
    # test_change_set_fn_split.
    "join-one-argument": ("", "!Join [',']",
                          "Template error: every Fn::Join object requires two parameters, (1) a string "
                          "delimiter and (2) a list of strings to be joined or a function that returns a list of "
                          "strings (such as Fn::GetAZs) to be joined.", "Fn::Join"),
    # LocalStack snapshot test_change_set_fn_split ("validation": CreateChangeSet ValidationError).
    "split-not-a-string": ("", "!Join ['', !Split [',', [a, b]]]",
                           "Template error: every Fn::Split object requires two parameters, (1) a string "
                           "delimiter and (2) a string to be split or a function that returns a string to be "
                           "split.", "Fn::Split"),
    # LocalStack engine/test_references.py quotes AWS for a Fn::Sub list without its mapping.
    "sub-list-of-one": ("", "!Sub ['${AWS::Region}']",
                        "Template error: One or more Fn::Sub intrinsic functions don't specify expected "
                        "arguments. Specify a string as first argument, and an optional second argument to "
                        "specify a mapping of values to replace in the string", "Fn::Sub"),
    # LocalStack snapshot test_change_set_fn_get_attr.
    "get-att-without-attribute": ("", "!GetAtt [Setting]",
                                  "Template error: every Fn::GetAtt object requires two non-empty parameters, "
                                  "the resource name and the resource attribute", "Fn::GetAtt"),
    # LocalStack snapshot test_change_set_fn_select.
    "select-index-not-a-number": ("", "!Select [first, [a, b]]",
                                  "Template error: Fn::Select requires a list argument with two elements: an "
                                  "integer index and a list", "Fn::Select"),
    # LocalStack snapshot test_change_set_conditions: "Template error: unresolved condition
    # dependency MissingCondition in Fn::If".
    "if-undefined-condition": ("", "!If [IsProd, a, b]",
                               "Template error: unresolved condition dependency IsProd in Fn::If", "Fn::If"),
}


@pytest.mark.parametrize("name", MISUSED)
def test_a_misused_intrinsic_function_is_refused_naming_it_and_where(aws, name):
    before, value, message, function = MISUSED[name]
    text = HEADER + before + f"Resources:\n  Setting:\n    Type: AWS::SSM::Parameter\n" \
                             f"    Properties: {{Type: String, Value: {value}}}\n"
    where = "Resources.Setting.Properties.Value.Fn::Join[1]" if name == "split-not-a-string" else AT_VALUE
    assert refused_stack(aws, text) == f"{message} (in {function} at {where})"
    assert refused_change_set(aws, text) == f"{message} (in {function} at {where})"


def test_an_equals_without_two_parameters_is_refused_naming_the_condition(aws):
    # LocalStack snapshot engine/test_conditions: "Template error: every Fn::Equals object
    # requires a list of 2 string parameters." (CreateStack ValidationError).
    text = parameter("{Type: String, Value: v}").replace("Resources:", "Conditions:\n  IsProd: !Equals [prod]\nResources:")
    assert refused_stack(aws, text) == ("Template error: every Fn::Equals object requires a list of 2 string "
                                        "parameters. (in Fn::Equals at Conditions.IsProd)")


def test_a_mapping_key_known_only_at_creation_fails_the_resource_in_the_same_words(aws):
    # A key from a pseudo parameter resolves as the resource is made: the resource fails with
    # CloudFormation's words (not a KeyError), and the stack rolls back.
    text = parameter("{Type: String, Value: !FindInMap [Colors, !Ref 'AWS::Region', Code]}").replace(
        "Resources:", COLORS + "Resources:")
    assert failed_resource(aws, unique("regionmap"), text, "Setting") == (
        "Template error: Unable to get mapping for Colors::us-east-1::Code")


def test_a_join_over_a_string_parameter_fails_instead_of_joining_its_letters(aws):
    # Fn::Join's second parameter must be a list (Fn::Join reference); moto joined "abc" into "a,b,c".
    text = HEADER + "Parameters:\n  Names: {Type: String, Default: abc}\n" + parameter(
        "{Type: String, Value: !Join [',', !Ref Names]}").removeprefix(HEADER)
    assert failed_resource(aws, unique("joinstr"), text, "Setting") == MISUSED["join-one-argument"][2]


def test_mappings_that_are_not_two_levels_of_maps_are_refused(aws):
    # LocalStack engine/test_mappings snapshots: "Template format error: Every Mappings member A
    # must be a map" (one level) and "Every Mappings attribute must be a String or a List." (three).
    flat = parameter("{Type: String, Value: v}").replace("Resources:", "Mappings:\n  Colors: {red: ff}\nResources:")
    deep = parameter("{Type: String, Value: v}").replace(
        "Resources:", "Mappings:\n  Colors: {red: {Code: {x: y}}}\nResources:")
    assert refused_stack(aws, flat) == "Template format error: Every Mappings member Colors must be a map (in Mappings.Colors)"
    assert refused_stack(aws, deep) == ("Template format error: Every Mappings attribute must be a String or a "
                                        "List. (in Mappings.Colors)")


def test_intrinsic_functions_used_well_still_resolve(aws):
    # No false refusal: each function above, used as its reference describes, deploys and resolves.
    text = HEADER + "Parameters:\n  Color: {Type: String, Default: red}\n" + COLORS + """Resources:
  Setting:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !Join ['-', [!FindInMap [Colors, !Ref Color, Code], !Select [1, !Split [',', 'a,b']], !Sub '${AWS::Region}']]
"""
    name = unique("wellused")
    assert aws.create(name, text)["StackStatus"] == "CREATE_COMPLETE"
    ssm = boto3.client("ssm", endpoint_url=aws.cloudformation.meta.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    assert ssm.get_parameter(Name=aws.resources(name)["Setting"])["Parameter"]["Value"] == "ff0000-b-us-east-1"


def test_validate_template_refuses_what_create_stack_refuses_and_takes_what_it_takes(aws):
    # ValidateTemplate checks the template as CreateStack does ("Template error: every Fn::Join
    # object requires two parameters..." reached users from validate-template too, e.g.
    # org-formation/org-formation-cli#412); moto answered with cfn-lint's rules and words.
    text = parameter("{Type: String, Value: !Join [',']}")
    with pytest.raises(ClientError) as refusal:
        aws.cloudformation.validate_template(TemplateBody=text)
    assert refusal.value.response["Error"]["Code"] == "ValidationError"
    assert refusal.value.response["Error"]["Message"] == f"{MISUSED['join-one-argument'][2]} (in Fn::Join at {AT_VALUE})"
    with pytest.raises(ClientError) as refusal:
        aws.cloudformation.validate_template(TemplateBody=parameter("{Type: String, Value: !GetAtt Ghost.Value}"))
    assert refusal.value.response["Error"]["Message"].startswith(
        "Template error: instance of Fn::GetAtt references undefined resource Ghost")
    # Valid for CloudFormation, though cfn-lint warns (an unused parameter), and a SAM template
    # as written, before packaging: both validate.
    unused = HEADER + "Parameters:\n  Unused: {Type: String, Default: x}\n" + parameter(
        "{Type: String, Value: v}").removeprefix(HEADER)
    assert aws.cloudformation.validate_template(TemplateBody=unused)["ResponseMetadata"]["HTTPStatusCode"] == 200
    sam = SAM + ("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n"
                 "      CodeUri: functions/hello\n      Handler: app.handler\n      Runtime: python3.11\n"
                 "Outputs:\n  Role:\n    Value: !GetAtt FnRole.Arn\n")
    assert aws.cloudformation.validate_template(TemplateBody=sam)["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_a_mapping_key_from_an_ssm_parameter_is_looked_up_by_its_value(aws):
    # No false refusal: an AWS::SSM::Parameter::Value<String> parameter holds a parameter's name;
    # the mapping key is the value CloudFormation reads from SSM when the stack is made.
    ssm = boto3.client("ssm", endpoint_url=aws.cloudformation.meta.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    setting = f"/{unique('env')}"
    ssm.put_parameter(Name=setting, Value="red", Type="String")
    text = HEADER + f"Parameters:\n  Env: {{Type: 'AWS::SSM::Parameter::Value<String>', Default: '{setting}'}}\n" + \
        COLORS + parameter("{Type: String, Value: !FindInMap [Colors, !Ref Env, Code]}").removeprefix(HEADER)
    name = unique("envkey")
    assert aws.create(name, text)["StackStatus"] == "CREATE_COMPLETE"
    assert ssm.get_parameter(Name=aws.resources(name)["Setting"])["Parameter"]["Value"] == "ff0000"
