"""`gluelab teardown`: delete everything the workshop created on the active target, then verify.

"Created by the workshop" means:
- the stacks gluelab deployed: the `fixit` stack, and every stack tagged `gluelab:workshop`
  (gluelab.deploy tags each stack it deploys);
- the S3 buckets inside those stacks and gluelab's artifacts bucket, emptied first;
- the log groups `/aws/lambda/<function>` of those stacks' functions;
- the SSM parameters under `/fixit/`.

Running state machine executions of those stacks are stopped before their stacks go. After
deleting, teardown looks again and names anything that is still there.

    from gluelab.teardown import teardown
    teardown()            # returns what remains: [] when everything is gone
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Callable

from botocore.exceptions import ClientError

from gluelab import config, deploy
from gluelab.deploy import WORKSPACE_TAG
from gluelab.lab import STACK

PARAMETER_PATH = "/fixit"
LOG_GROUP_PREFIX = "/aws/lambda/"
ARTIFACTS_PREFIX = "gluelab-artifacts-"
GONE = "DELETE_COMPLETE"
WAIT_LIMIT_S = 900


class TeardownError(RuntimeError):
    """Something could not be deleted; the message says what and why."""


@dataclass
class Inventory:
    """What the workshop created and still exists on the target."""
    stacks: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    log_groups: list[str] = field(default_factory=list)
    parameters: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)  # of the stacks, for their log groups
    state_machines: list[str] = field(default_factory=list)  # ARNs, of the stacks
    owners: dict[str, str] = field(default_factory=dict)  # bucket -> stack holding it

    def lines(self) -> list[str]:
        return ([f"stack {name}" for name in self.stacks]
                + [f"bucket {name}" for name in self.buckets]
                + [f"log group {name}" for name in self.log_groups]
                + [f"parameter {name}" for name in self.parameters])

    def __bool__(self) -> bool:
        return bool(self.lines())


def _clients() -> dict:
    return {name: config.client(name) for name in
            ("cloudformation", "s3", "sts", "logs", "ssm", "stepfunctions")}


def _paged(client, operation: str, key: str, **kwargs) -> list:
    return [item for page in client.get_paginator(operation).paginate(**kwargs)
            for item in page.get(key, [])]


def _workshop_stacks(cfn) -> list[dict]:
    stacks = _paged(cfn, "describe_stacks", "Stacks")
    return sorted((s for s in stacks if s["StackStatus"] != GONE and (
        s["StackName"] == STACK or WORKSPACE_TAG in s.get("Tags", []))),
        key=lambda s: s["StackName"])


def _artifacts_bucket(clients: dict) -> str:
    account = clients["sts"].get_caller_identity()["Account"]
    return f"{ARTIFACTS_PREFIX}{account}-{clients['s3'].meta.region_name}"


def _bucket_exists(s3, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
        return True
    except ClientError:
        return False


def inventory(clients: dict | None = None) -> Inventory:
    """Everything the workshop created that exists now on the active target."""
    clients = clients or _clients()
    cfn = clients["cloudformation"]
    found = Inventory()
    buckets = set()
    for stack in _workshop_stacks(cfn):
        found.stacks.append(stack["StackName"])
        resources = _paged(cfn, "list_stack_resources", "StackResourceSummaries",
                           StackName=stack["StackId"])
        for resource in resources:
            physical = resource.get("PhysicalResourceId")
            if not physical or resource.get("ResourceStatus") == GONE:
                continue
            kind = resource["ResourceType"]
            if kind == "AWS::Lambda::Function":
                found.functions.append(physical)
            elif kind == "AWS::StepFunctions::StateMachine":
                found.state_machines.append(physical)
            elif kind == "AWS::S3::Bucket":
                buckets.add(physical)
                found.owners[physical] = stack["StackName"]
    artifacts = _artifacts_bucket(clients)
    if _bucket_exists(clients["s3"], artifacts):
        buckets.add(artifacts)
    found.buckets = sorted(b for b in buckets if _bucket_exists(clients["s3"], b))
    groups = {g["logGroupName"] for g in _paged(clients["logs"], "describe_log_groups", "logGroups",
                                                 logGroupNamePrefix=LOG_GROUP_PREFIX)}
    wanted = {LOG_GROUP_PREFIX + name for name in found.functions}
    found.log_groups = sorted(groups & wanted)
    found.functions.sort()
    found.parameters = sorted(p["Name"] for p in _paged(
        clients["ssm"], "get_parameters_by_path", "Parameters", Path=PARAMETER_PATH, Recursive=True))
    return found


def _stop_executions(sfn, machines: list[str], echo) -> int:
    stopped = 0
    for arn in machines:
        try:
            running = _paged(sfn, "list_executions", "executions", stateMachineArn=arn,
                             statusFilter="RUNNING")
        except ClientError:
            continue
        for execution in running:
            sfn.stop_execution(executionArn=execution["executionArn"],
                               error="gluelab.Teardown", cause="Stopped by gluelab teardown.")
            stopped += 1
    if stopped:
        echo(f"Stopped {stopped} running executions.")
    return stopped


def _empty_bucket(s3, name: str) -> int:
    removed = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        objects = [{"Key": o["Key"], "VersionId": o["VersionId"]}
                   for o in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        if objects:
            s3.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})
            removed += len(objects)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        objects = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if objects:
            s3.delete_objects(Bucket=name, Delete={"Objects": objects, "Quiet": True})
            removed += len(objects)
    return removed


def _delete_stacks(cfn, names: list[str], echo) -> list[str]:
    """Delete the stacks and wait; returns a problem line for each that did not go."""
    ids = {}
    for name in names:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        ids[name] = stack["StackId"]
        cfn.delete_stack(StackName=stack["StackId"])
        echo(f"Deleting stack {name}...")
    problems = []
    started = time.monotonic()
    pending = dict(ids)
    while pending:
        for name, stack_id in list(pending.items()):
            try:
                stack = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]
            except ClientError:
                stack = {"StackStatus": GONE}
            status = stack["StackStatus"]
            if status == GONE:
                echo(f"Deleted stack {name}.")
                del pending[name]
            elif not status.endswith("_IN_PROGRESS"):
                reason = stack.get("StackStatusReason") or "see the stack's events"
                problems.append(f"stack {name} is {status}: {reason}")
                del pending[name]
        if pending and time.monotonic() - started > WAIT_LIMIT_S:
            problems += [f"stack {name} is still being deleted after {WAIT_LIMIT_S} s"
                         for name in pending]
            break
        if pending:
            time.sleep(0.1 if time.monotonic() - started < 10 else 5)
    return problems


def teardown(echo: Callable[[str], None] = print) -> list[str]:
    """Delete what the workshop created on the active target; returns what still remains
    afterwards, one line per item (empty when everything is gone)."""
    clients = _clients()
    s3, ssm, logs = clients["s3"], clients["ssm"], clients["logs"]
    found = inventory(clients)
    if not found:
        echo("Nothing to delete: the workshop left nothing on this target.")
        return []
    _stop_executions(clients["stepfunctions"], found.state_machines, echo)
    # A stack cannot delete a bucket that still holds objects: empty its buckets first.
    for bucket in found.buckets:
        removed = _empty_bucket(s3, bucket)
        echo(f"Emptied bucket {bucket} ({removed} objects).")
    problems = _delete_stacks(clients["cloudformation"], found.stacks, echo)
    kept = {s["StackName"] for s in _workshop_stacks(clients["cloudformation"])}
    for bucket in found.buckets:
        # A bucket of a stack that is still there stays with it: the stack is reported.
        if found.owners.get(bucket) not in kept and _bucket_exists(s3, bucket):
            _empty_bucket(s3, bucket)  # a stack update may have written to it meanwhile
            try:
                s3.delete_bucket(Bucket=bucket)
                echo(f"Deleted bucket {bucket}.")
            except ClientError as exc:
                problems.append(f"bucket {bucket}: {exc.response['Error']['Message']}")
    # gluelab deploy remembers that its artifacts bucket exists: make the next deploy recreate it.
    deploy._bucket_for.cache_clear()
    groups = sorted(set(found.log_groups) | {LOG_GROUP_PREFIX + f for f in found.functions})
    for group in groups:
        try:
            logs.delete_log_group(logGroupName=group)
            echo(f"Deleted log group {group}.")
        except logs.exceptions.ResourceNotFoundException:
            pass
    for start in range(0, len(found.parameters), 10):  # DeleteParameters takes up to 10 names
        ssm.delete_parameters(Names=found.parameters[start:start + 10])
    if found.parameters:
        echo(f"Deleted {len(found.parameters)} parameters under {PARAMETER_PATH}/.")
    remaining = inventory(clients)
    left = remaining.lines()
    # Log groups a late invocation wrote after the first pass: look for the deleted functions'.
    existing = {g["logGroupName"] for g in _paged(logs, "describe_log_groups", "logGroups",
                                                   logGroupNamePrefix=LOG_GROUP_PREFIX)}
    left += [f"log group {g}" for g in groups if g in existing and f"log group {g}" not in left]
    for problem in problems:
        echo(f"Could not delete {problem}")
    if left:
        echo("Still there after teardown:")
        for line in left:
            echo(f"  {line}")
    else:
        echo("Verified: nothing the workshop created remains on this target.")
    return left


# --- command line -------------------------------------------------------------------------

def add_commands(subparsers) -> None:
    command = subparsers.add_parser(
        "teardown", help="delete every stack, bucket, log group and parameter the workshop created")
    command.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    command.set_defaults(func=_teardown_command)


def _teardown_command(args) -> int:
    target = config.settings().target
    try:
        found = inventory()
    except ClientError as exc:
        print(f"error: cannot list the workshop's resources on {target}: {exc}", file=sys.stderr)
        return 1
    if not found:
        print(f"Nothing to delete: the workshop left nothing on the {target} target.")
        return 0
    print(f"On the {target} target, this deletes:")
    for line in found.lines():
        print(f"  {line}")
    if not args.yes:
        try:
            answer = input("Delete all of this? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    return 1 if teardown() else 0
