"""CloudFormation in the local cloud: SAM stacks create, update and delete real resources, and
anything the local cloud cannot build fails the stack with a reason that names it."""
from __future__ import annotations

import io
import json
import uuid
import zipfile

import boto3
import pytest
from botocore.exceptions import ClientError

from gluelab.cloud import process
from tests.conftest import CloudHandle, free_port

HEADER = "AWSTemplateFormatVersion: 2010-09-09\nTransform: AWS::Serverless-2016-10-31\n"
FIXIT = HEADER + """
Globals:
  Function:
    Runtime: python3.11
    Handler: app.handler
    Timeout: 10
  Api:
    Auth:
      Authorizers:
        CognitoAuthorizer:
          UserPoolArn: !GetAtt Users.Arn
Resources:
  Users:
    Type: AWS::Cognito::UserPool
    Properties:
      UserPoolName: !Sub "${AWS::StackName}-users"
  UsersClient:
    Type: AWS::Cognito::UserPoolClient
    Properties:
      UserPoolId: !Ref Users
  ReceiverFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://BUCKET/receiver.zip
      MemorySize: 256
      Environment:
        Variables:
          COMPANIES: !Ref Companies
      Policies:
        - DynamoDBCrudPolicy: {TableName: !Ref Companies}
        - AmazonDynamoDBReadOnlyAccess
      Events:
        Sms:
          Type: Api
          Properties: {Path: /sms, Method: post}
  ReportFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://BUCKET/receiver.zip
      Events:
        Report:
          Type: Api
          Properties:
            Path: /items/{id}
            Method: get
            Auth: {Authorizer: CognitoAuthorizer}
  Companies:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: id, AttributeType: S}
        - {AttributeName: category, AttributeType: S}
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: byCategory
          KeySchema: [{AttributeName: category, KeyType: HASH}]
          Projection: {ProjectionType: ALL}
  Reports:
    Type: AWS::Serverless::SimpleTable
Outputs:
  SmsUrl:
    Value: !Sub "https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/sms"
  ReceiverArn:
    Value: !GetAtt ReceiverFunction.Arn
"""


def function_template(key: str = "receiver.zip", memory: int = 128, timeout: int = 3,
                      extra: str = "") -> str:
    return HEADER + f"""
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://BUCKET/{key}
      Runtime: python3.11
      Handler: app.handler
      MemorySize: {memory}
      Timeout: {timeout}
      Environment:
        Variables: {{GREETING: hello-{memory}}}
{extra}"""


TABLE = """
  Scratch:
    Type: AWS::Serverless::SimpleTable
"""


def zipped(body: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", body)
    return buffer.getvalue()


class Cloud:
    """boto3 clients for one local cloud and a code bucket with two versions of a handler."""

    def __init__(self, endpoint: str):
        options = dict(endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
        for service in ("cloudformation", "s3", "lambda", "iam", "dynamodb", "apigateway",
                        "cognito-idp"):
            setattr(self, {"lambda": "lambda_"}.get(service, service.replace("-", "_")),
                    boto3.client(service, **options))
        self.bucket = f"code-{uuid.uuid4().hex[:8]}"
        self.s3.create_bucket(Bucket=self.bucket)
        for key, answer in (("receiver.zip", "v1"), ("receiver-v2.zip", "v2")):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=zipped(
                f"def handler(event, context):\n    return {{'statusCode': 200, 'body': '{answer}'}}\n"))

    def template(self, text: str) -> str:
        return text.replace("BUCKET", self.bucket)

    def create(self, name: str, text: str) -> dict:
        self.cloudformation.create_stack(StackName=name, TemplateBody=self.template(text),
                                         Capabilities=["CAPABILITY_IAM"])
        return self.stack(name)

    def stack(self, name: str) -> dict:
        return self.cloudformation.describe_stacks(StackName=name)["Stacks"][0]

    def resources(self, name: str) -> dict[str, str]:
        summaries = self.cloudformation.list_stack_resources(StackName=name)["StackResourceSummaries"]
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in summaries}

    def events(self, name: str) -> list[tuple[str, str, str | None]]:
        events = self.cloudformation.describe_stack_events(StackName=name)["StackEvents"]
        return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
                for e in reversed(events)]

    def outputs(self, name: str) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.stack(name).get("Outputs", [])}

    def change_set(self, name: str, text: str, kind: str) -> dict:
        change_set = self.cloudformation.create_change_set(
            StackName=name, ChangeSetName=f"cs-{uuid.uuid4().hex[:8]}", ChangeSetType=kind,
            TemplateBody=self.template(text), Capabilities=["CAPABILITY_IAM"])
        return self.cloudformation.describe_change_set(ChangeSetName=change_set["Id"])


@pytest.fixture
def aws(local) -> Cloud:
    return Cloud(local.endpoint)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_sam_stack_creates_the_workshop_resources_for_real(aws, local):
    name = unique("fixit")
    assert aws.create(name, FIXIT)["StackStatus"] == "CREATE_COMPLETE"
    physical = aws.resources(name)

    receiver = aws.lambda_.get_function(FunctionName=physical["ReceiverFunction"])["Configuration"]
    assert (receiver["Runtime"], receiver["Handler"], receiver["MemorySize"], receiver["Timeout"]) == (
        "python3.11", "app.handler", 256, 10)
    assert receiver["Environment"]["Variables"] == {"COMPANIES": physical["Companies"]}
    role = receiver["Role"].rsplit("/", 1)[1]
    attached = {p["PolicyName"] for p in aws.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
    assert attached == {"AWSLambdaBasicExecutionRole", "AmazonDynamoDBReadOnlyAccess"}
    assert aws.iam.list_role_policies(RoleName=role)["PolicyNames"] == ["ReceiverFunctionRolePolicy0"]

    companies = aws.dynamodb.describe_table(TableName=physical["Companies"])["Table"]
    assert [i["IndexName"] for i in companies["GlobalSecondaryIndexes"]] == ["byCategory"]
    assert aws.dynamodb.describe_table(TableName=physical["Reports"])["Table"]["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"}]

    api_id = physical["ServerlessRestApi"]
    methods = {r["path"]: r.get("resourceMethods", {})
               for r in aws.apigateway.get_resources(restApiId=api_id, embed=["methods"])["items"]}
    report_method = aws.apigateway.get_method(
        restApiId=api_id, resourceId=next(r["id"] for r in aws.apigateway.get_resources(
            restApiId=api_id)["items"] if r["path"] == "/items/{id}"), httpMethod="GET")
    assert {"/sms", "/items/{id}"} <= set(methods)
    assert report_method["authorizationType"] == "COGNITO_USER_POOLS"
    assert report_method["methodIntegration"]["type"] == "AWS_PROXY"
    assert physical["ReportFunction"] in report_method["methodIntegration"]["uri"]
    authorizer = aws.apigateway.get_authorizer(restApiId=api_id, authorizerId=report_method["authorizerId"])
    pool = aws.cognito_idp.describe_user_pool(UserPoolId=physical["Users"])["UserPool"]
    assert authorizer["providerARNs"] == [pool["Arn"]]
    assert pool["Name"] == f"{name}-users"
    assert aws.cognito_idp.describe_user_pool_client(
        UserPoolId=pool["Id"], ClientId=physical["UsersClient"])["UserPoolClient"]["ClientId"]
    assert "Prod" in {s["stageName"] for s in aws.apigateway.get_stages(restApiId=api_id)["item"]}

    assert aws.outputs(name)["SmsUrl"] == f"{local.endpoint}/restapis/{api_id}/Prod/_user_request_/sms"
    assert aws.outputs(name)["ReceiverArn"].endswith(f":function:{physical['ReceiverFunction']}")


def test_stack_events_show_each_resource_in_progress_then_complete(aws):
    name = unique("events")
    aws.create(name, function_template(extra=TABLE))
    events = aws.events(name)
    for logical_id in ("Fn", "FnRole", "Scratch"):
        steps = [status for resource, status, _ in events if resource == logical_id]
        assert steps == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    role_done = events.index(("FnRole", "CREATE_COMPLETE", None))
    assert role_done < events.index(("Fn", "CREATE_IN_PROGRESS", None))  # dependency order
    assert events[-1][:2] == (name, "CREATE_COMPLETE")


def test_processed_template_is_plain_cloudformation(aws):
    name = unique("processed")
    aws.create(name, function_template())
    original = aws.cloudformation.get_template(StackName=name)["TemplateBody"]
    processed = aws.cloudformation.get_template(StackName=name, TemplateStage="Processed")["TemplateBody"]
    assert "AWS::Serverless::Function" in str(original)
    assert {r["Type"] for r in processed["Resources"].values()} == {"AWS::Lambda::Function", "AWS::IAM::Role"}


def test_local_code_uri_fails_the_stack_and_says_to_package_first(aws):
    name = unique("unpackaged")
    stack = aws.create(name, function_template().replace("s3://BUCKET/receiver.zip", "./src"))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Transform AWS::Serverless-2016-10-31 failed" in stack["StackStatusReason"]
    assert "gluelab deploy" in stack["StackStatusReason"]
    assert aws.resources(name) == {}


def test_unsupported_type_fails_the_stack_naming_type_and_id_and_creates_nothing(aws):
    name = unique("appsync")
    text = function_template(extra=TABLE + "  MyApi:\n    Type: AWS::AppSync::GraphQLApi\n"
                                           "    Properties: {Name: x, AuthenticationType: API_KEY}\n")
    tables_before = set(aws.dynamodb.list_tables()["TableNames"])
    stack = aws.create(name, text)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"].startswith(
        "AWS::AppSync::GraphQLApi (MyApi) is not supported by the local cloud; supported types: ")
    assert "AWS::Lambda::{" in stack["StackStatusReason"]
    assert ("MyApi", "CREATE_FAILED", stack["StackStatusReason"]) in aws.events(name)
    assert set(aws.dynamodb.list_tables()["TableNames"]) == tables_before


def test_serverless_type_without_the_transform_gets_a_hint(aws):
    stack = aws.create(unique("notransform"), function_template().replace(
        "Transform: AWS::Serverless-2016-10-31\n", ""))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert "Add `Transform: AWS::Serverless-2016-10-31`" in stack["StackStatusReason"]


def test_change_set_with_unsupported_type_fails_with_the_reason(aws):
    text = function_template(extra="  Queue:\n    Type: AWS::AppSync::DataSource\n    Properties: {}\n")
    change_set = aws.change_set(unique("cs-appsync"), text, "CREATE")
    assert change_set["Status"] == "FAILED"
    assert change_set["ExecutionStatus"] == "UNAVAILABLE"
    assert "AWS::AppSync::DataSource (Queue) is not supported" in change_set["StatusReason"]


def test_failing_resource_rolls_back_what_was_created(aws):
    name = unique("missing-code")
    stack = aws.create(name, function_template(key="nowhere.zip", extra=TABLE))
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"].startswith("AWS::Lambda::Function (Fn) failed to create:")
    assert "NoSuchKey" in stack["StackStatusReason"]
    events = aws.events(name)
    assert ("Fn", "CREATE_FAILED") in [e[:2] for e in events]
    assert ("FnRole", "DELETE_COMPLETE") in [e[:2] for e in events]
    assert not [t for t in aws.dynamodb.list_tables()["TableNames"] if t.startswith(f"{name}-Scratch")]


def test_update_stack_applies_new_code_configuration_and_removals(aws):
    name = unique("update")
    aws.create(name, function_template(extra=TABLE))
    before = aws.resources(name)
    code_before = aws.lambda_.get_function(FunctionName=before["Fn"])["Configuration"]["CodeSha256"]

    aws.cloudformation.update_stack(StackName=name, Capabilities=["CAPABILITY_IAM"],
                                    TemplateBody=aws.template(function_template(
                                        key="receiver-v2.zip", memory=512, timeout=30)))
    assert aws.stack(name)["StackStatus"] == "UPDATE_COMPLETE"
    config = aws.lambda_.get_function(FunctionName=before["Fn"])["Configuration"]
    assert config["CodeSha256"] != code_before
    assert (config["MemorySize"], config["Timeout"]) == (512, 30)
    assert config["Environment"]["Variables"] == {"GREETING": "hello-512"}
    assert before["Scratch"] not in aws.dynamodb.list_tables()["TableNames"]
    assert "Scratch" not in aws.resources(name)


def test_change_sets_create_then_update_the_stack(aws):
    name = unique("changesets")
    created = aws.change_set(name, function_template(), "CREATE")
    assert {c["ResourceChange"]["LogicalResourceId"] for c in created["Changes"]} == {"Fn", "FnRole"}
    aws.cloudformation.execute_change_set(ChangeSetName=created["ChangeSetId"])
    assert aws.stack(name)["StackStatus"] == "CREATE_COMPLETE"
    function = aws.resources(name)["Fn"]
    assert aws.lambda_.get_function(FunctionName=function)["Configuration"]["Environment"]["Variables"] == {
        "GREETING": "hello-128"}

    updated = aws.change_set(name, function_template(memory=1024, extra=TABLE), "UPDATE")
    assert {(c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"])
            for c in updated["Changes"]} == {("Modify", "Fn"), ("Add", "Scratch")}
    aws.cloudformation.execute_change_set(ChangeSetName=updated["ChangeSetId"])
    assert aws.stack(name)["StackStatus"] == "UPDATE_COMPLETE"
    assert aws.lambda_.get_function(FunctionName=function)["Configuration"]["MemorySize"] == 1024
    assert aws.resources(name)["Scratch"] in aws.dynamodb.list_tables()["TableNames"]


def test_update_with_unsupported_type_leaves_the_stack_as_it_was(aws):
    name = unique("bad-update")
    aws.create(name, function_template())
    aws.cloudformation.update_stack(StackName=name, Capabilities=["CAPABILITY_IAM"], TemplateBody=aws.template(
        function_template(memory=512, extra="  Bus:\n    Type: AWS::Pipes::Pipe\n    Properties: {}\n")))
    stack = aws.stack(name)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert "AWS::Pipes::Pipe (Bus) is not supported" in stack["StackStatusReason"]
    assert aws.lambda_.get_function(FunctionName=aws.resources(name)["Fn"])["Configuration"]["MemorySize"] == 128


BROKEN_WORKFLOW = """
  Flow:
    Type: AWS::Serverless::StateMachine
    DependsOn: Fn
    Properties:
      Definition: {StartAt: Go, States: {Go: {Type: Task, End: true}}}
"""


def test_update_that_fails_part_way_rolls_back_what_it_had_changed(aws):
    """An invalid workflow after a function change and a new table: the function gets its old
    configuration back, the new table goes, and the items of the old one stay."""
    name = unique("half-update")
    aws.create(name, function_template(extra=TABLE))
    before = aws.resources(name)
    aws.dynamodb.put_item(TableName=before["Scratch"], Item={"id": {"S": "keep-me"}})
    tables_before = set(aws.dynamodb.list_tables()["TableNames"])

    aws.cloudformation.update_stack(StackName=name, Capabilities=["CAPABILITY_IAM"], TemplateBody=aws.template(
        function_template(memory=512, extra=TABLE + TABLE.replace("Scratch", "Extra")
                          + BROKEN_WORKFLOW.replace("DependsOn: Fn", "DependsOn: [Fn, Extra]"))))

    stack = aws.stack(name)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert "AWS::StepFunctions::StateMachine (Flow) failed to create" in stack["StackStatusReason"]
    assert "These fields are required: [Resource] at /States/Go" in stack["StackStatusReason"]
    assert aws.resources(name) == before
    assert aws.lambda_.get_function(FunctionName=before["Fn"])["Configuration"]["MemorySize"] == 128
    assert set(aws.dynamodb.list_tables()["TableNames"]) == tables_before
    assert aws.dynamodb.get_item(TableName=before["Scratch"], Key={"id": {"S": "keep-me"}})["Item"]
    statuses = [(logical, status) for logical, status, _ in aws.events(name)]
    rollback = statuses[statuses.index((name, "UPDATE_ROLLBACK_IN_PROGRESS")):]
    assert ("Flow", "CREATE_FAILED") in statuses[:len(statuses) - len(rollback)]
    assert {("Fn", "UPDATE_COMPLETE"), ("Extra", "DELETE_COMPLETE"),
            ("FlowRole", "DELETE_COMPLETE")} <= set(rollback)
    assert rollback[-1] == (name, "UPDATE_ROLLBACK_COMPLETE")

    aws.cloudformation.update_stack(StackName=name, Capabilities=["CAPABILITY_IAM"], TemplateBody=aws.template(
        function_template(memory=512, extra=TABLE)))
    assert aws.stack(name)["StackStatus"] == "UPDATE_COMPLETE"
    assert aws.lambda_.get_function(FunctionName=before["Fn"])["Configuration"]["MemorySize"] == 512


def test_rollback_that_fails_waits_for_continue_update_rollback(aws):
    """A table created by the failed update has deletion protection, so the rollback cannot
    delete it: the stack refuses updates until the rollback is continued, as on AWS."""
    name = unique("stuck-rollback")
    aws.create(name, function_template())
    protected = TABLE.replace("Scratch", "Guarded").replace(
        "AWS::Serverless::SimpleTable", "AWS::DynamoDB::Table\n    DeletionPolicy: Delete\n"
        "    Properties:\n      DeletionProtectionEnabled: true\n      BillingMode: PAY_PER_REQUEST\n"
        "      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]\n"
        "      KeySchema: [{AttributeName: id, KeyType: HASH}]")
    aws.cloudformation.update_stack(StackName=name, Capabilities=["CAPABILITY_IAM"], TemplateBody=aws.template(
        function_template(memory=512, extra=protected + BROKEN_WORKFLOW.replace("DependsOn: Fn", "DependsOn: [Fn, Guarded]"))))

    stack = aws.stack(name)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_FAILED"
    assert "The rollback failed too" in stack["StackStatusReason"]
    with pytest.raises(ClientError, match="UPDATE_ROLLBACK_FAILED state and can not be updated"):
        aws.cloudformation.update_stack(StackName=name, Capabilities=["CAPABILITY_IAM"],
                                        TemplateBody=aws.template(function_template(memory=256)))

    guarded = next(t for t in aws.dynamodb.list_tables()["TableNames"] if "-Guarded-" in t)
    aws.dynamodb.update_table(TableName=guarded, DeletionProtectionEnabled=False)
    aws.cloudformation.continue_update_rollback(StackName=name)
    assert aws.stack(name)["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert guarded not in aws.dynamodb.list_tables()["TableNames"]
    assert aws.lambda_.get_function(FunctionName=aws.resources(name)["Fn"])["Configuration"]["MemorySize"] == 128
    with pytest.raises(ClientError, match="ContinueUpdateRollback works only in UPDATE_ROLLBACK_FAILED"):
        aws.cloudformation.continue_update_rollback(StackName=name)


def test_delete_stack_removes_everything_it_created(aws):
    name = unique("doomed")
    aws.create(name, FIXIT)
    physical = aws.resources(name)
    aws.cloudformation.delete_stack(StackName=name)

    assert physical["ReceiverFunction"] not in {f["FunctionName"] for f in aws.lambda_.list_functions()["Functions"]}
    assert not {physical["Companies"], physical["Reports"]} & set(aws.dynamodb.list_tables()["TableNames"])
    assert not {physical["ReceiverFunctionRole"], physical["ReportFunctionRole"]} & {
        r["RoleName"] for r in aws.iam.list_roles()["Roles"]}
    assert physical["ServerlessRestApi"] not in {a["id"] for a in aws.apigateway.get_rest_apis()["items"]}
    assert physical["Users"] not in {p["Id"] for p in aws.cognito_idp.list_user_pools(MaxResults=60)["UserPools"]}
    deleted = aws.cloudformation.list_stacks(StackStatusFilter=["DELETE_COMPLETE"])["StackSummaries"]
    assert name in {s["StackName"] for s in deleted}


WORKSHOP_SIZE = FIXIT.replace("Outputs:", """  ArrangeFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://BUCKET/receiver.zip
  Workflow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition:
        StartAt: Arrange
        States:
          Arrange: {Type: Task, Resource: "${ArrangeArn}", End: true}
      DefinitionSubstitutions:
        ArrangeArn: !GetAtt ArrangeFunction.Arn
      Policies:
        - LambdaInvokePolicy: {FunctionName: !Ref ArrangeFunction}
Outputs:""")


def test_workshop_sized_stack_creates_and_takes_a_code_only_update(aws):
    # How fast is measured in benchmarks/run.py, not asserted here.
    name = unique("workshop")
    stack = aws.create(name, WORKSHOP_SIZE)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    aws.cloudformation.update_stack(StackName=name, Capabilities=["CAPABILITY_IAM"], TemplateBody=aws.template(
        WORKSHOP_SIZE.replace("receiver.zip", "receiver-v2.zip")))
    assert aws.stack(name)["StackStatus"] == "UPDATE_COMPLETE"


def test_stack_api_id_and_url_survive_a_restart(tmp_path):
    handle = CloudHandle(tmp_path, free_port())
    settings = handle.settings
    process.start(settings, quiet=True)
    try:
        aws = Cloud(handle.endpoint)
        aws.create("kept", FIXIT)
        api_id, url = aws.resources("kept")["ServerlessRestApi"], aws.outputs("kept")["SmsUrl"]
        process.stop(settings)
        process.start(settings, quiet=True)
        assert aws.stack("kept")["StackStatus"] == "CREATE_COMPLETE"
        assert aws.resources("kept")["ServerlessRestApi"] == api_id
        assert aws.outputs("kept")["SmsUrl"] == url
        assert api_id in {a["id"] for a in aws.apigateway.get_rest_apis()["items"]}
    finally:
        process.stop(settings)


def test_json_templates_without_transform_still_work(aws):
    template = {"Resources": {"Plain": {"Type": "AWS::DynamoDB::Table", "Properties": {
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}}},
        "Outputs": {"Table": {"Value": {"Ref": "Plain"}}}}
    name = unique("json")
    aws.create(name, json.dumps(template))
    assert aws.outputs(name)["Table"] in aws.dynamodb.list_tables()["TableNames"]


def test_api_url_output_serves_the_function_and_an_update_swaps_its_code(aws):
    import urllib.request
    name = unique("served")
    events = "      Events:\n        Hi:\n          Type: Api\n          Properties: {Path: /hi, Method: get}\n"
    text = function_template().replace("      Environment:", events + "      Environment:") + (
        "Outputs:\n  Url:\n    Value: !Sub "
        "'https://${ServerlessRestApi}.execute-api.${AWS::Region}.amazonaws.com/Prod/hi'\n")
    aws.create(name, text)
    url = aws.outputs(name)["Url"]
    assert urllib.request.urlopen(url).read() == b"v1"
    aws.cloudformation.update_stack(StackName=name, Capabilities=["CAPABILITY_IAM"],
                                    TemplateBody=aws.template(text.replace("receiver.zip", "receiver-v2.zip")))
    assert urllib.request.urlopen(url).read() == b"v2"


def table_template(**properties) -> str:
    table = {"BillingMode": "PAY_PER_REQUEST",
             "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], **properties}
    # Exactly the attributes the keys use: DynamoDB refuses an undefined or unused one.
    keys = [table["KeySchema"], *(index["KeySchema"] for index in table.get("GlobalSecondaryIndexes", []))]
    table["AttributeDefinitions"] = [{"AttributeName": name, "AttributeType": "S"}
                                     for name in sorted({key["AttributeName"] for schema in keys for key in schema})]
    return json.dumps({"Resources": {"Reports": {"Type": "AWS::DynamoDB::Table", "Properties": table}}})


BY_CITY = {"IndexName": "byCity", "KeySchema": [{"AttributeName": "city", "KeyType": "HASH"}],
           "Projection": {"ProjectionType": "ALL"}}


def test_table_updates_that_aws_makes_in_place_keep_the_table_and_its_items(aws):
    name = unique("table-in-place")
    aws.create(name, table_template())
    table = aws.resources(name)["Reports"]
    aws.dynamodb.put_item(TableName=table, Item={"id": {"S": "r1"}, "city": {"S": "Leeds"}})

    def update(**properties) -> dict:
        aws.cloudformation.update_stack(StackName=name, TemplateBody=table_template(**properties))
        assert aws.stack(name)["StackStatus"] == "UPDATE_COMPLETE", aws.stack(name).get("StackStatusReason")
        assert aws.resources(name)["Reports"] == table
        assert aws.dynamodb.scan(TableName=table)["Count"] == 1
        return aws.dynamodb.describe_table(TableName=table)["Table"]

    described = update(GlobalSecondaryIndexes=[BY_CITY], Tags=[{"Key": "lab", "Value": "03"}])
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["byCity"]
    assert aws.dynamodb.query(TableName=table, IndexName="byCity", KeyConditionExpression="city = :c",
                              ExpressionAttributeValues={":c": {"S": "Leeds"}})["Count"] == 1
    assert aws.dynamodb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"] == [
        {"Key": "lab", "Value": "03"}]

    described = update(BillingMode="PROVISIONED",
                       ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    assert described["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert described["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert described.get("GlobalSecondaryIndexes", []) == []
    assert aws.dynamodb.list_tags_of_resource(ResourceArn=described["TableArn"])["Tags"] == []


def test_table_key_changes_replace_the_table_as_on_aws_and_a_named_one_is_refused(aws):
    name = unique("table-replace")
    aws.create(name, table_template())
    table = aws.resources(name)["Reports"]
    new_key = [{"AttributeName": "city", "KeyType": "HASH"}]
    aws.cloudformation.update_stack(StackName=name, TemplateBody=table_template(KeySchema=new_key))
    assert aws.stack(name)["StackStatus"] == "UPDATE_COMPLETE"
    replacement = aws.resources(name)["Reports"]
    assert replacement != table and table not in aws.dynamodb.list_tables()["TableNames"]
    assert aws.dynamodb.describe_table(TableName=replacement)["Table"]["KeySchema"] == new_key

    named = unique("named")
    aws.create(named, table_template(TableName=f"{named}-reports"))
    aws.cloudformation.update_stack(StackName=named, TemplateBody=table_template(
        TableName=f"{named}-reports", KeySchema=new_key))
    stack = aws.stack(named)
    assert "CloudFormation cannot update a stack when a custom-named resource requires replacing. " \
           f"Rename {named}-reports and update the stack again." in stack["StackStatusReason"]
    assert aws.dynamodb.describe_table(TableName=f"{named}-reports")["Table"]["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"}]


def refused(call) -> str:
    """The message of the ValidationError that a CloudFormation call must be refused with."""
    with pytest.raises(ClientError) as refusal:
        call()
    assert refusal.value.response["Error"]["Code"] == "ValidationError"
    return refusal.value.response["Error"]["Message"]


def test_create_stack_with_a_dangling_get_att_is_refused_naming_it_before_anything_is_made(aws):
    name = unique("dangling")
    tables_before = set(aws.dynamodb.list_tables()["TableNames"])
    text = function_template(extra=TABLE).replace("{GREETING: hello-128}", "{TABLE: !GetAtt Scratchh.Arn}")
    message = refused(lambda: aws.create(name, text))
    assert message == ("Template error: instance of Fn::GetAtt references undefined resource Scratchh "
                       "(in Fn::GetAtt at Resources.Fn.Properties.Environment.Variables.TABLE). "
                       "Fix the name, or add a resource Scratchh under Resources.")
    assert name not in {s["StackName"] for s in aws.cloudformation.list_stacks()["StackSummaries"]}
    assert set(aws.dynamodb.list_tables()["TableNames"]) == tables_before


def test_change_set_with_a_ref_to_nothing_fails_naming_the_ref_and_where_it_is(aws):
    text = function_template() + "Outputs:\n  Where:\n    Value: !Sub '${Nowhere}/x'\n"
    change_set = aws.change_set(unique("cs-dangling"), text, "CREATE")
    assert change_set["Status"] == "FAILED"
    assert change_set["StatusReason"].startswith(
        "Template format error: Unresolved resource dependencies [Nowhere] in the Resources block of "
        "the template (in Fn::Sub at Outputs.Where.Value).")


def test_update_with_a_bad_attribute_is_refused_and_the_stack_stays_as_it_was(aws):
    name = unique("bad-attribute")
    aws.create(name, function_template(extra=TABLE))
    function = aws.resources(name)["Fn"]
    broken = function_template(memory=512, extra=TABLE).replace("{GREETING: hello-512}",
                                                                "{TABLE: !GetAtt Scratch.Name}")
    message = refused(lambda: aws.cloudformation.update_stack(
        StackName=name, Capabilities=["CAPABILITY_IAM"], TemplateBody=aws.template(broken)))
    assert message.startswith("Template error: resource Scratch does not support attribute type Name "
                              "in Fn::GetAtt (in Fn::GetAtt at Resources.Fn.Properties.Environment.")
    assert "AWS::DynamoDB::Table has no attribute Name" in message
    planned = aws.change_set(name, broken, "UPDATE")
    assert planned["Status"] == "FAILED" and planned["StatusReason"] == message
    assert aws.stack(name)["StackStatus"] == "CREATE_COMPLETE"
    assert [e for e in aws.events(name) if e[1].startswith("UPDATE")] == []

    fixed = aws.change_set(name, broken.replace("Scratch.Name", "Scratch.Arn"), "UPDATE")
    assert fixed["Status"] == "CREATE_COMPLETE"
    aws.cloudformation.execute_change_set(ChangeSetName=fixed["ChangeSetId"])
    config = aws.lambda_.get_function(FunctionName=function)["Configuration"]
    assert config["MemorySize"] == 512
    assert config["Environment"]["Variables"]["TABLE"].endswith(f":table/{aws.resources(name)['Scratch']}")


def test_get_att_of_an_attribute_the_local_cloud_lacks_is_refused_not_dropped(aws):
    text = function_template(extra="""  Perm:
    Type: AWS::Lambda::Permission
    Properties: {FunctionName: !Ref Fn, Action: lambda:InvokeFunction, Principal: sns.amazonaws.com}
  Marker:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !GetAtt Perm.Id}
""")
    message = refused(lambda: aws.create(unique("lacking"), text))
    assert "resource Perm does not support attribute type Id in Fn::GetAtt" in message
    assert "at Resources.Marker.Properties.Value" in message
    assert "AWS::Lambda::Permission has no attribute Id in the local cloud" in message


def test_get_att_attributes_aws_documents_for_the_workshop_types_resolve(aws):
    """What real CloudFormation answers for StateMachine.Arn, RestApi.RestApiId and an SSM
    parameter's Type and Value, which moto alone lacks."""
    name = unique("attributes")
    aws.create(name, function_template(extra="""  Flow:
    Type: AWS::Serverless::StateMachine
    Properties:
      Definition: {StartAt: Done, States: {Done: {Type: Succeed}}}
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: !Sub "${AWS::StackName}-api"}
  Setting:
    Type: AWS::SSM::Parameter
    Properties: {Name: !Sub "/${AWS::StackName}/setting", Type: String, Value: kept}
Outputs:
  FlowArn: {Value: !GetAtt Flow.Arn}
  ApiId: {Value: !GetAtt Api.RestApiId}
  SettingType: {Value: !GetAtt Setting.Type}
  SettingValue: {Value: !GetAtt Setting.Value}
"""))
    physical, outputs = aws.resources(name), aws.outputs(name)
    assert outputs == {"FlowArn": physical["Flow"], "ApiId": physical["Api"],
                       "SettingType": "String", "SettingValue": "kept"}
    assert outputs["FlowArn"].startswith("arn:aws:states:us-east-1:123456789012:stateMachine:")


def test_get_att_that_moto_leaves_unresolved_fails_the_resource_instead_of_passing_it_on(monkeypatch):
    from moto.cloudformation import parsing
    from moto.cloudformation.exceptions import ValidationError
    from gluelab.cloud.cloudformation import _install_loud_get_att
    monkeypatch.setattr(parsing, "clean_json", parsing.clean_json)  # undone after the test

    class HalfDone:
        def get_cfn_attribute(self, attribute):
            raise NotImplementedError('"Fn::GetAtt" : [ "{0}" , "Id" ]"')

    class Resources(dict):
        _resource_json_map = {"Perm": {"Type": "AWS::Lambda::Permission"}}

    _install_loud_get_att(parsing)
    with pytest.raises(ValidationError) as failure:
        parsing.clean_json({"Value": {"Fn::GetAtt": ["Perm", "Id"]}}, Resources(Perm=HalfDone()))
    assert "does not implement Fn::GetAtt Perm.Id (attribute Id of AWS::Lambda::Permission)" in str(
        failure.value.message)


PARAMETERIZED = HEADER + """
Parameters:
  ReadAuth: {Type: String, Default: AWS_IAM, AllowedValues: [AWS_IAM, CognitoAuthorizer]}
  Greeting: {Type: String}
Resources:
  Users:
    Type: AWS::Cognito::UserPool
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: Prod
      Auth:
        DefaultAuthorizer: !Ref ReadAuth
        Authorizers:
          CognitoAuthorizer: {UserPoolArn: !GetAtt Users.Arn}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: s3://BUCKET/receiver.zip
      Runtime: python3.11
      Handler: app.handler
      Environment:
        Variables: {GREETING: !Ref Greeting}
      Events:
        Read:
          Type: Api
          Properties: {RestApiId: !Ref Api, Path: /items, Method: get}
"""


@pytest.mark.parametrize("given, authorization", [
    ({"ReadAuth": "CognitoAuthorizer"}, "COGNITO_USER_POOLS"), ({}, "AWS_IAM")])
def test_sam_properties_see_the_stacks_parameter_values_then_defaults(aws, given, authorization):
    name = unique("parameters")
    aws.cloudformation.create_stack(
        StackName=name, TemplateBody=aws.template(PARAMETERIZED), Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in {"Greeting": "hi", **given}.items()])
    assert aws.stack(name)["StackStatus"] == "CREATE_COMPLETE", aws.stack(name).get("StackStatusReason")
    physical = aws.resources(name)
    api = physical["Api"]
    items = next(r["id"] for r in aws.apigateway.get_resources(restApiId=api)["items"] if r["path"] == "/items")
    method = aws.apigateway.get_method(restApiId=api, resourceId=items, httpMethod="GET")
    assert method["authorizationType"] == authorization
    config = aws.lambda_.get_function(FunctionName=physical["Fn"])["Configuration"]
    assert config["Environment"]["Variables"] == {"GREETING": "hi"}


def test_update_that_removes_a_variable_or_the_environment_removes_it(aws):
    aws.s3.put_object(Bucket=aws.bucket, Key="env.zip", Body=zipped(
        "import os\ndef handler(event, context):\n"
        "    return {k: os.environ.get(k) for k in ('GREETING', 'TABLE')}\n"))
    both = function_template(key="env.zip").replace("{GREETING: hello-128}", "{GREETING: hi, TABLE: t}")
    name = unique("environment")
    aws.create(name, both)
    function = aws.resources(name)["Fn"]

    def deploy(text: str) -> tuple[dict, dict]:
        aws.cloudformation.update_stack(StackName=name, Capabilities=["CAPABILITY_IAM"],
                                        TemplateBody=aws.template(text))
        assert aws.stack(name)["StackStatus"] == "UPDATE_COMPLETE"
        config = aws.lambda_.get_function(FunctionName=function)["Configuration"]
        seen = json.loads(aws.lambda_.invoke(FunctionName=function)["Payload"].read())
        return config.get("Environment", {}).get("Variables", {}), seen

    assert deploy(both.replace("GREETING: hi, ", "")) == ({"TABLE": "t"}, {"GREETING": None, "TABLE": "t"})
    without = both.replace("      Environment:\n        Variables: {GREETING: hi, TABLE: t}\n", "")
    assert deploy(without) == ({}, {"GREETING": None, "TABLE": None})
