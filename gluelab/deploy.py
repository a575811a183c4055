"""`gluelab deploy`: package a SAM or CloudFormation project and deploy it as one stack.

What `aws cloudformation package` + `aws cloudformation deploy` do, in one step and with
plain-words errors: local code folders and definition files named in the template are
zipped (byte-for-byte reproducibly, so unchanged code keeps its S3 key and causes no update),
uploaded to an artifacts bucket named after the account and region, and replaced by their
S3 locations; then a change set is created, executed and followed resource by resource.
On AWS, a function folder with a requirements.txt goes up with those packages installed for
Lambda's platform, as `sam build` does (gluelab/function_build.py).
Only public CloudFormation, S3 and STS calls go through `gluelab.config.client()`, so the
same command deploys to the local cloud and to real AWS.

    from gluelab.deploy import deploy
    outputs = deploy("sam_app", "fixit", {"Stage": "dev"})
"""
from __future__ import annotations

import copy
import functools
import hashlib
import io
import json
import re
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable

import yaml
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from gluelab import config, stack_owner
from gluelab.function_build import BuildError, FunctionBuilder, needs_build, platform_of
from gluelab.plain_errors import PlainError

TEMPLATE_NAMES = ("template.yaml", "template.yml", "template.json")
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
MAX_TEMPLATE_BODY = 51_200  # bytes; larger templates must go through S3
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no clock in the bytes
SKIPPED_NAMES = {"__pycache__", ".ipynb_checkpoints", ".DS_Store"}
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# Stacks left by a failed first deploy: CloudFormation can only delete them.
DEAD_ON_ARRIVAL = {"REVIEW_IN_PROGRESS", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"}
WAIT_LIMIT_S = 1800
# Every stack gluelab deploys carries this tag, so that `gluelab teardown` can find it.
WORKSPACE_TAG = {"Key": "gluelab:workshop", "Value": "true"}
SEED_FOLDER = "seed"


class DeployError(PlainError, RuntimeError):
    """The deploy did not happen or did not finish; the message says what to fix."""


@dataclass(frozen=True)
class Artifact:
    """A template property that may name a local file or folder to upload."""
    resource_type: str
    prop: str
    zipped: bool  # code: a folder (or file) goes up as a zip
    form: str  # how the S3 location is written back: "uri", "code" or "location"
    function: bool = False  # a function's code: its requirements.txt is installed with it


ARTIFACTS = (
    Artifact("AWS::Serverless::Function", "CodeUri", True, "uri", function=True),
    Artifact("AWS::Serverless::LayerVersion", "ContentUri", True, "uri"),
    Artifact("AWS::Lambda::Function", "Code", True, "code", function=True),
    Artifact("AWS::Lambda::LayerVersion", "Content", True, "code"),
    Artifact("AWS::Serverless::StateMachine", "DefinitionUri", False, "location"),
    Artifact("AWS::StepFunctions::StateMachine", "DefinitionS3Location", False, "location"),
    Artifact("AWS::Serverless::Api", "DefinitionUri", False, "uri"),
    Artifact("AWS::Serverless::HttpApi", "DefinitionUri", False, "uri"),
    Artifact("AWS::ApiGateway::RestApi", "BodyS3Location", False, "location"),
)


def client(service: str):
    return _cached_client(service, config.settings())


@functools.lru_cache(maxsize=16)
def _cached_client(service: str, settings: config.Settings):
    # Building a boto3 client loads its service model: ~0.25 s, a quarter of a redeploy.
    return config.client(service)


# --- reading templates --------------------------------------------------------------------

class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (!Ref, !GetAtt, !Sub ...) read as long forms."""


def _intrinsic(loader: yaml.Loader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def template_path(path: str | Path) -> Path:
    path = Path(path)
    if path.is_file():
        return path
    for name in TEMPLATE_NAMES:
        if (path / name).is_file():
            return path / name
    raise DeployError(f"No template found at {path}: expected a template file or a folder "
                      f"holding one of {', '.join(TEMPLATE_NAMES)}.")


def load_template(path: Path) -> dict:
    try:
        template = yaml.load(path.read_text(), Loader=_TemplateLoader)
    except yaml.YAMLError as exc:
        raise DeployError(f"{path} is not valid YAML/JSON: {exc}") from exc
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise DeployError(f"{path} has no Resources section: a template needs at least one "
                          f"resource under `Resources:`.")
    return template


# --- packaging ----------------------------------------------------------------------------

def zip_bytes(source: Path) -> bytes:
    """A zip of a folder (or one file) that depends only on names, contents and modes."""
    files = [source] if source.is_file() else sorted(
        p for p in source.rglob("*")
        if p.is_file() and not SKIPPED_NAMES.intersection(p.relative_to(source).parts)
        and p.suffix != ".pyc")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            name = file.name if file == source else file.relative_to(source).as_posix()
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = file.stat().st_mode & 0o111
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def _is_local_reference(value) -> bool:
    return isinstance(value, str) and not value.startswith(("s3://", "http://", "https://"))


def _location(form: str, bucket: str, key: str):
    if form == "uri":
        return f"s3://{bucket}/{key}"
    if form == "code":
        return {"S3Bucket": bucket, "S3Key": key}
    return {"Bucket": bucket, "Key": key}


class Packager:
    """Rewrites local references in a template to S3 locations, uploading what is missing.

    With a `builder`, a function folder holding a requirements.txt goes up with its packages
    installed for Lambda, as `sam build` leaves it; without one, every folder goes up as is."""

    def __init__(self, base: Path, upload: Callable[[bytes, str], str],
                 builder: FunctionBuilder | None = None):
        self.base = base
        self.upload = upload  # (content, file extension) -> key in the artifacts bucket
        self.builder = builder

    def source(self, where: str, reference: str, zipped: bool) -> Path:
        source = (self.base / reference).resolve()
        if not source.exists():
            raise DeployError(f"{where} is '{reference}', but {source} does not exist. "
                              f"Fix the path (it is relative to the template's folder).")
        if source.is_dir() and not zipped:
            raise DeployError(f"{where} is '{reference}', a folder; it must name one file.")
        return source

    def artifact_key(self, where: str, reference: str, zipped: bool) -> str:
        source = self.source(where, reference, zipped)
        if zipped and (source.is_dir() or not zipfile.is_zipfile(source)):
            return self.upload(zip_bytes(source), ".zip")
        return self.upload(source.read_bytes(), source.suffix)

    def function_key(self, where: str, reference: str, properties: dict,
                     function_globals: dict) -> str:
        source = self.source(where, reference, zipped=True)
        if self.builder is None or not needs_build(source):
            return self.artifact_key(where, reference, zipped=True)
        try:
            platform = platform_of(where, properties, function_globals)
            with tempfile.TemporaryDirectory(prefix="gluelab-build-") as build:
                built = self.builder.build(where, source, platform, Path(build) / "function")
                return self.upload(zip_bytes(built), ".zip")
        except BuildError as exc:
            raise DeployError(str(exc)) from exc

    def package(self, template: dict, bucket: str) -> dict:
        packaged = copy.deepcopy(template)
        # SAM's Globals apply to AWS::Serverless::Function only, never to AWS::Lambda::Function.
        sam_globals = (packaged.get("Globals") or {}).get("Function") or {}
        for logical_id, resource in packaged["Resources"].items():
            properties = resource.get("Properties") or {}
            for artifact in ARTIFACTS:
                value = properties.get(artifact.prop)
                if resource.get("Type") == artifact.resource_type and _is_local_reference(value):
                    where = f"{logical_id}.{artifact.prop}"
                    if artifact.function:
                        function_globals = sam_globals if artifact.prop == "CodeUri" else {}
                        key = self.function_key(where, value, properties, function_globals)
                    else:
                        key = self.artifact_key(where, value, artifact.zipped)
                    properties[artifact.prop] = _location(artifact.form, bucket, key)
        self._package_includes(packaged, bucket)
        return packaged

    def _package_includes(self, node, bucket: str) -> None:
        # Fn::Transform AWS::Include may sit anywhere (e.g. an API's DefinitionBody).
        if isinstance(node, list):
            for item in node:
                self._package_includes(item, bucket)
        elif isinstance(node, dict):
            transform = node.get("Fn::Transform")
            if isinstance(transform, dict) and transform.get("Name") == "AWS::Include":
                parameters = transform.get("Parameters") or {}
                if _is_local_reference(parameters.get("Location")):
                    key = self.artifact_key("AWS::Include Location", parameters["Location"], False)
                    parameters["Location"] = _location("uri", bucket, key)
            for value in node.values():
                self._package_includes(value, bucket)


class ArtifactsBucket:
    """One bucket per account and region, created on first use; objects keyed by content."""

    def __init__(self, s3, name: str, region: str):
        self.s3, self.name, self.region = s3, name, region
        self.ready = False

    @classmethod
    def for_account(cls) -> "ArtifactsBucket":
        return _bucket_for(config.settings())

    def ensure(self, recheck: bool = False) -> None:
        """Create the bucket if missing. Checked once per process unless `recheck`: a tool that
        uploads on its own (the pipeline's `aws cloudformation package`) cannot recreate a bucket
        that `gluelab teardown` deleted in the meantime."""
        if self.ready and not recheck:
            return
        try:
            self.s3.head_bucket(Bucket=self.name)
        except ClientError:
            extra = {} if self.region == "us-east-1" else {
                "CreateBucketConfiguration": {"LocationConstraint": self.region}}
            try:
                self.s3.create_bucket(Bucket=self.name, **extra)
            except ClientError as exc:
                raise DeployError(
                    f"Could not create the artifacts bucket {self.name}: "
                    f"{exc.response['Error']['Message']}. Check your S3 permissions.") from exc
        self.ready = True

    def upload(self, content: bytes, extension: str) -> str:
        self.ensure()
        key = hashlib.md5(content, usedforsecurity=False).hexdigest() + extension
        try:
            self.s3.head_object(Bucket=self.name, Key=key)
        except ClientError:
            try:
                self.s3.put_object(Bucket=self.name, Key=key, Body=content)
            except self.s3.exceptions.NoSuchBucket:  # deleted since (gluelab teardown): recreate
                self.ready = False
                self.ensure()
                self.s3.put_object(Bucket=self.name, Key=key, Body=content)
        return key

    def url(self, key: str) -> str:
        return f"https://s3.{self.region}.amazonaws.com/{self.name}/{key}"


@functools.lru_cache(maxsize=4)
def _bucket_for(settings: config.Settings) -> ArtifactsBucket:
    s3 = client("s3")
    region = s3.meta.region_name
    account = client("sts").get_caller_identity()["Account"]
    return ArtifactsBucket(s3, f"gluelab-artifacts-{account}-{region}", region)


def function_builder(settings: config.Settings) -> FunctionBuilder | None:
    """What builds function folders with their requirements for the target. None on the local
    cloud: its Lambda runtime lends each function the workshop's own copies of the packages
    its requirements.txt names (lambda_packages), so a local deploy zips each folder as it is
    and needs no internet."""
    if settings.is_local:
        return None
    return FunctionBuilder(settings.state_dir / "function-packages")


def package(path: str | Path, bucket: ArtifactsBucket) -> dict:
    """The template at `path` with its local files uploaded and replaced by S3 locations."""
    source = template_path(path)
    packager = Packager(source.parent, bucket.upload, function_builder(config.settings()))
    return packager.package(load_template(source), bucket.name)


# --- deploying ----------------------------------------------------------------------------

def _error_message(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Message") or str(exc)


class StackDeployment:
    """Creates, executes and follows one change set."""

    def __init__(self, stack: str, echo: Callable[[str], None] = print, poll_s: float = 0.02):
        self.cfn = client("cloudformation")
        self.stack = stack
        self.echo = echo
        self.poll_s = poll_s
        self.seen_events: set[str] = set()
        self.new_events: list[dict] = []  # shown since the change set was executed

    def describe(self) -> dict | None:
        try:
            return self.cfn.describe_stacks(StackName=self.stack)["Stacks"][0]
        except ClientError as exc:
            if "does not exist" in _error_message(exc):
                return None
            raise

    def _sleep(self, started: float) -> None:
        # Short polls first (the local cloud answers at once), then back off for AWS.
        time.sleep(min(self.poll_s * (1 + (time.monotonic() - started) * 5), 5))

    def wait_stack(self) -> dict:
        started = time.monotonic()
        while True:
            stack = self.describe()
            self.show_events()
            if stack is None or not stack["StackStatus"].endswith("_IN_PROGRESS"):
                return stack
            if time.monotonic() - started > WAIT_LIMIT_S:
                raise DeployError(f"Stack {self.stack} is still {stack['StackStatus']} after "
                                  f"{WAIT_LIMIT_S} s; see its events in the console.")
            self._sleep(started)

    def events(self) -> list[dict]:
        try:
            pages = self.cfn.get_paginator("describe_stack_events").paginate(StackName=self.stack)
            return [event for page in pages for event in page["StackEvents"]]
        except ClientError:
            return []

    def remember_events(self) -> None:
        self.seen_events.update(event["EventId"] for event in self.events())

    def show_events(self) -> None:
        new = [e for e in reversed(self.events()) if e["EventId"] not in self.seen_events]
        for event in new:
            self.seen_events.add(event["EventId"])
            reason = event.get("ResourceStatusReason")
            self.echo(f"  {event['ResourceStatus']:<28}{event['ResourceType']:<40}"
                      f"{event['LogicalResourceId']}" + (f"  ({reason})" if reason else ""))
        self.new_events += new

    def clear_dead_stack(self, stack: dict | None) -> dict | None:
        if stack and stack["StackStatus"].endswith("_IN_PROGRESS") \
                and stack["StackStatus"] != "REVIEW_IN_PROGRESS":
            self.echo(f"Stack {self.stack} is {stack['StackStatus']}; waiting for it to finish.")
            stack = self.wait_stack()
        if stack and stack["StackStatus"] == "UPDATE_ROLLBACK_FAILED":
            # CloudFormation accepts no update until the failed rollback is finished.
            self.echo(f"Stack {self.stack} is UPDATE_ROLLBACK_FAILED; continuing its rollback.")
            try:
                self.cfn.continue_update_rollback(StackName=self.stack)
            except (ClientError, BotoCoreError, ResponseParserError) as exc:
                why = _error_message(exc) if isinstance(exc, ClientError) else "not supported here"
                raise DeployError(
                    f"Stack {self.stack} is UPDATE_ROLLBACK_FAILED and its rollback cannot be "
                    f"continued ({why}). Delete it (`aws cloudformation "
                    f"delete-stack --stack-name {self.stack}`) and deploy again.") from exc
            stack = self.wait_stack()
            if stack["StackStatus"] == "UPDATE_ROLLBACK_FAILED":
                raise DeployError(
                    f"Stack {self.stack} is still UPDATE_ROLLBACK_FAILED: "
                    f"{stack.get('StackStatusReason')}\nFix what stops the rollback (named above), "
                    f"then deploy again; or delete the stack (`aws cloudformation delete-stack "
                    f"--stack-name {self.stack}`) and deploy again.")
        if stack and stack["StackStatus"] in DEAD_ON_ARRIVAL:
            self.echo(f"Stack {self.stack} is {stack['StackStatus']} from an earlier failed "
                      f"deploy; deleting it first.")
            self.cfn.delete_stack(StackName=self.stack)
            self.wait_stack()
            return None
        return stack

    def unchanged(self, stack: dict, body: str, parameters: list[dict]) -> bool:
        if not stack["StackStatus"].endswith("_COMPLETE") or "ROLLBACK" in stack["StackStatus"]:
            return False
        deployed = self.cfn.get_template(StackName=self.stack,
                                         TemplateStage="Original")["TemplateBody"]
        if isinstance(deployed, str):  # botocore decodes JSON bodies but not YAML ones
            deployed = yaml.load(deployed, Loader=_TemplateLoader)
        current = {p["ParameterKey"]: p.get("ParameterValue") for p in stack.get("Parameters", [])}
        wanted = {p["ParameterKey"]: p["ParameterValue"] for p in parameters
                  if not p.get("UsePreviousValue")}
        return deployed == json.loads(body) and all(current.get(k) == v for k, v in wanted.items())

    def create_change_set(self, change_type: str, template: dict, parameters: list[dict],
                          project: Path) -> str:
        name = f"gluelab-deploy-{int(time.time() * 1000)}"
        try:
            reply = self.cfn.create_change_set(
                StackName=self.stack, ChangeSetName=name, ChangeSetType=change_type,
                Capabilities=CAPABILITIES, Parameters=parameters,
                Tags=[WORKSPACE_TAG, stack_owner.tag(project)], **template)
        except ClientError as exc:
            message = _error_message(exc)
            if any(words in message for words in NO_CHANGES):
                return ""
            raise DeployError(f"CloudFormation rejected the template for stack {self.stack}: "
                              f"{message}") from exc
        started = time.monotonic()
        while True:
            change_set = self.cfn.describe_change_set(ChangeSetName=reply["Id"],
                                                      StackName=self.stack)
            if change_set["Status"] == "CREATE_COMPLETE":
                return reply["Id"]
            if change_set["Status"] == "FAILED":
                reason = change_set.get("StatusReason", "")
                self.cfn.delete_change_set(ChangeSetName=reply["Id"], StackName=self.stack)
                if any(words in reason for words in NO_CHANGES):
                    return ""
                raise DeployError(f"CloudFormation could not plan the deploy of stack "
                                  f"{self.stack}: {reason}")
            self._sleep(started)

    def execute(self, change_set_id: str) -> dict:
        try:
            self.cfn.execute_change_set(ChangeSetName=change_set_id, StackName=self.stack)
        except ClientError as exc:
            self.show_events()
            raise DeployError(self.failure_text(_error_message(exc))) from exc
        stack = self.wait_stack()
        status = stack["StackStatus"] if stack else "DELETED"
        if "FAILED" in status or "ROLLBACK" in status or status == "DELETED":
            raise DeployError(self.failure_text(stack.get("StackStatusReason") if stack else None,
                                                status))
        return stack

    def failure_text(self, reason: str | None, status: str | None = None) -> str:
        failed = [e for e in self.new_events if e["ResourceStatus"].endswith("FAILED")
                  and e.get("ResourceStatusReason")
                  and e["ResourceType"] != "AWS::CloudFormation::Stack"]
        lines = [f"Deploy of stack {self.stack} failed" + (f" ({status})" if status else "") + "."]
        lines += [f"  {e['LogicalResourceId']} ({e['ResourceType']}): {e['ResourceStatusReason']}"
                  for e in failed]
        if reason and not any(e["ResourceStatusReason"] in reason for e in failed):
            lines.append(f"  {reason}")
        lines.append("Fix the template or code named above, then deploy again.")
        return "\n".join(lines)


def _parameters(given: dict[str, str], template: dict, stack: dict | None) -> list[dict]:
    declared = template.get("Parameters") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise DeployError(f"The template declares no parameter {', '.join(unknown)}; it "
                          f"declares: {', '.join(declared) or 'none'}.")
    previous = {p["ParameterKey"] for p in (stack or {}).get("Parameters", [])}
    parameters = [{"ParameterKey": k, "ParameterValue": str(v)} for k, v in given.items()]
    parameters += [{"ParameterKey": k, "UsePreviousValue": True}
                   for k in declared if k not in given and k in previous]
    return parameters


def _template_argument(body: str, bucket: ArtifactsBucket) -> dict:
    if len(body.encode()) <= MAX_TEMPLATE_BODY:
        return {"TemplateBody": body}
    return {"TemplateURL": bucket.url(bucket.upload(body.encode(), ".template.json"))}


def deploy(path: str | Path, stack: str, parameters: dict[str, str] | None = None,
           echo: Callable[[str], None] = print) -> dict[str, str]:
    """Package the project at `path`, deploy it as `stack` and return the stack's outputs.

    Afterwards the project's seed data (seed/<name>.json) is loaded into its tables."""
    outputs = _deploy(path, stack, parameters, echo)
    seed_tables(template_path(path).parent, outputs, echo)
    return outputs


def _deploy(path: str | Path, stack: str, parameters: dict[str, str] | None,
            echo: Callable[[str], None]) -> dict[str, str]:
    bucket = ArtifactsBucket.for_account()
    return deploy_packaged(package(path, bucket), stack, parameters, echo, bucket,
                           project=template_path(path).parent)


def deploy_packaged(packaged: dict, stack: str, parameters: dict[str, str] | None = None,
                    echo: Callable[[str], None] = print,
                    bucket: ArtifactsBucket | None = None, *, project: Path) -> dict[str, str]:
    """Deploy an already packaged template (its code in S3) as `stack` through one change set
    and return the stack's outputs. `bucket` takes the template if it is too big to send inline.
    The stack is tagged with `project` (its folder) at creation; a stack made from another
    project is refused (gluelab/stack_owner.py)."""
    bucket = bucket or ArtifactsBucket.for_account()
    body = json.dumps(packaged, indent=1)
    run = StackDeployment(stack, echo)
    found = run.describe()
    if found and found["StackStatus"] not in DEAD_ON_ARRIVAL:  # a dead stack holds nothing
        problem = stack_owner.foreign(found, project)
        if problem:
            raise DeployError(problem)
    existing = run.clear_dead_stack(found)
    stack_parameters = _parameters(parameters or {}, packaged, existing)
    if existing and run.unchanged(existing, body, stack_parameters):
        echo(f"No changes: stack {stack} is already up to date.")
        return _outputs(existing, echo)
    run.remember_events()
    change_type = "UPDATE" if existing else "CREATE"
    echo(f"Deploying stack {stack} ({'update' if existing else 'create'})...")
    change_set = run.create_change_set(change_type, _template_argument(body, bucket),
                                       stack_parameters, project)
    if not change_set:
        echo(f"No changes: stack {stack} is already up to date.")
        return _outputs(existing, echo)
    final = run.execute(change_set)
    echo(f"Stack {stack}: {final['StackStatus']}")
    return _outputs(final, echo)


def _outputs(stack: dict, echo: Callable[[str], None]) -> dict[str, str]:
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
    if outputs:
        echo("Outputs:")
        for key, value in outputs.items():
            echo(f"  {key} = {value}")
    return outputs


# --- seed data ------------------------------------------------------------------------------

def seed_output(seed_file: Path) -> str:
    """The stack output naming the table a seed file fills: seed/work_orders.json ->
    WorkOrdersTableName."""
    return "".join(part.capitalize() for part in re.split(r"[-_\s]+", seed_file.stem) if part) \
        + "TableName"


def seed_tables(project: Path, outputs: dict[str, str],
                echo: Callable[[str], None] = print) -> dict[str, int]:
    """Load each seed/<name>.json (a JSON list of items) of the project into the table the
    stack output <Name>TableName names. Items are put by key, so loading again changes
    nothing. Returns the number of items loaded per seed file."""
    loaded: dict[str, int] = {}
    for seed_file in sorted((Path(project) / SEED_FOLDER).glob("*.json")):
        where = f"{SEED_FOLDER}/{seed_file.name}"
        output = seed_output(seed_file)
        table = outputs.get(output)
        if not table:
            echo(f"Seed data {where} not loaded: the stack has no output {output} naming its table.")
            continue
        try:
            items = json.loads(seed_file.read_text(), parse_float=Decimal)
        except ValueError as exc:
            raise DeployError(f"{where} is not valid JSON: {exc}") from exc
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise DeployError(f"{where} must hold a JSON list of items (objects).")
        put_items(table, items)
        loaded[where] = len(items)
        echo(f"Seed data: loaded {len(items)} items from {where} into {table}.")
    return loaded


def put_items(table: str, items: list[dict]) -> None:
    from boto3.dynamodb.types import TypeSerializer
    serialize = TypeSerializer().serialize
    dynamodb = client("dynamodb")
    for start in range(0, len(items), 25):  # BatchWriteItem takes at most 25 items
        requests = [{"PutRequest": {"Item": {k: serialize(v) for k, v in item.items()}}}
                    for item in items[start:start + 25]]
        for attempt in range(8):
            try:
                reply = dynamodb.batch_write_item(RequestItems={table: requests})
            except ClientError as exc:
                raise DeployError(f"Could not load seed data into {table}: "
                                  f"{_error_message(exc)}") from exc
            requests = reply.get("UnprocessedItems", {}).get(table, [])
            if not requests:
                break
            time.sleep(0.1 * 2 ** attempt)
        else:
            raise DeployError(f"DynamoDB kept refusing {len(requests)} seed items for {table}; "
                              "deploy again to retry.")


# --- command line -------------------------------------------------------------------------

def _parse_param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise DeployError(f"--param {text!r} is not KEY=VALUE, e.g. --param Stage=dev")
    return key, value


def add_commands(subparsers) -> None:
    command = subparsers.add_parser(
        "deploy", help="package a SAM/CloudFormation project and deploy it as a stack")
    command.add_argument("path", help="project folder (with template.yaml) or template file")
    command.add_argument("--stack", required=True, help="stack name")
    command.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                         help="template parameter (repeatable)")
    command.set_defaults(func=_deploy_command)


def _deploy_command(args) -> int:
    from gluelab import infra_app
    from gluelab.twilio_local import TwilioSetupError
    try:
        deploy(args.path, args.stack, dict(_parse_param(p) for p in args.param))
        if infra_app.is_reference_app(args.path):
            infra_app.connect(args.stack)
    except DeployError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except TwilioSetupError as exc:
        print(f"error: stack {args.stack} is deployed, but the app is not connected to Twilio: "
              f"{exc}\nThen run the same `gluelab deploy` again.", file=sys.stderr)
        return 1
    return 0
