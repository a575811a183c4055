"""EventBridge rules deliver to Lambda functions, Step Functions state machines and SNS topics.

moto 5.2.5 matches events against rules and delivers to log groups, SQS queues, archives and
other buses only: a PutEvents that matched a rule with a Lambda, Step Functions or SNS target
(SAM's `EventBridgeRule` events make them) failed with a 500 (NotImplementedError). Here such a
target gets the event as EventBridge sends it (after the target's Input, InputPath or
InputTransformer): a function is invoked asynchronously (InvocationType Event, as EventBridge
does), a state machine gets a new execution, a topic a message. All go through the local
cloud's own API, so they run as a call from AWS would. Scheduled rules are not run on their
schedule.
"""
from __future__ import annotations

import copy
import functools
import json
import sys
import threading
import uuid
from typing import Any

from gluelab.cloud import iam_enforcement
from gluelab.cloud.lazy import when_imported

# False while the cloud replays its journal on start (persistence.py): a replayed PutEvents
# rebuilds state but does not run its targets again, as replayed Invoke and StartExecution
# calls do not; a restart must not repeat side effects.
_serving = False
# Target services moto does not deliver to, and the local cloud does.
DELIVERED_HERE = ("lambda", "states", "sns")
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def _client(endpoint: str, service: str):
    with _lock:
        if service not in _clients:
            import boto3
            _clients[service] = boto3.client(service, endpoint_url=endpoint, region_name="us-east-1",
                                             aws_access_key_id="test", aws_secret_access_key="test")
        return _clients[service]


def _at_path(event: dict, path: str) -> Any:
    """EventBridge's InputPath: `$` or a dotted path such as `$.detail.order`."""
    value: Any = event
    for key in [part for part in path.removeprefix("$").split(".") if part]:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def target_input(target: dict, transformed: Any, original: dict) -> str:
    """What the target receives: Input verbatim, else the InputPath part of the event, else the
    event (moto has applied any InputTransformer to `transformed` already)."""
    if "Input" in target:
        return target["Input"]
    if "InputPath" in target:
        return json.dumps(_at_path(original, target["InputPath"]))
    return transformed if isinstance(transformed, str) else json.dumps(transformed)


def _deliver(endpoint: str, rule: str, target: dict, payload: str) -> None:
    from botocore.exceptions import ClientError
    service = target["Arn"].split(":")[2]
    try:
        if service == "lambda":
            _client(endpoint, "lambda").invoke(FunctionName=target["Arn"], InvocationType="Event",
                                               Payload=payload.encode())
        elif service == "sns":
            _client(endpoint, "sns").publish(TopicArn=target["Arn"], Message=payload)
        else:
            _client(endpoint, "stepfunctions").start_execution(
                stateMachineArn=target["Arn"], name=uuid.uuid4().hex, input=payload)
    except ClientError as exc:  # EventBridge counts a FailedInvocation; the cloud's log says why
        error = exc.response["Error"]
        print(f"EventBridge rule {rule}: delivery to {target['Arn']} failed: "
              f"{error.get('Code')}: {error.get('Message')}", file=sys.stderr, flush=True)


def _refusal(rule_arn: str, target: dict) -> str | None:
    """Why EventBridge may not invoke a Lambda target: as on AWS, the function's resource policy
    must let events.amazonaws.com call it from the rule (SAM's EventBridgeRule event adds that)."""
    if target["Arn"].split(":")[2] != "lambda":
        return None
    from moto.awslambda.models import lambda_backends
    account, region = target["Arn"].split(":")[4], target["Arn"].split(":")[3]
    function = lambda_backends[account][region].get_function(target["Arn"])
    return iam_enforcement.may_invoke(function, "events.amazonaws.com", rule_arn)


def _with_lambda_and_state_machine_targets(original, endpoint: str):
    @functools.wraps(original)
    def send_to_targets(self, original_event: dict, transform_input: bool = True) -> None:
        ours = [target for target in self.targets if target["Arn"].split(":")[2] in DELIVERED_HERE]
        # moto raises NotImplementedError (a 500 for PutEvents) for a target it does not know:
        # it sees only its own, on a copy so that concurrent PutEvents see the rule whole.
        theirs = copy.copy(self)
        theirs.targets = [target for target in self.targets if target not in ours]
        original(theirs, original_event, transform_input)
        if not (ours and _serving) or not self.event_pattern.matches_event(original_event):
            return
        from moto.events.utils import EventTemplateParser
        for target in ours:
            transformer = target.get("InputTransformer", {}) if transform_input else {}
            transformed = EventTemplateParser.parse(
                input_template=transformer.get("InputTemplate"),
                input_paths_map=transformer.get("InputPathsMap", {}), event=original_event)
            payload = target_input(target, transformed, original_event)
            # Delivery is asynchronous on AWS: PutEvents answers before any target runs.
            refusal = _refusal(self.arn, target)
            if refusal:  # EventBridge counts a FailedInvocation; the cloud's log says why
                print(f"EventBridge rule {self.name}: delivery to {target['Arn']} failed: "
                      f"{refusal}", file=sys.stderr, flush=True)
                continue
            threading.Thread(target=_deliver, args=(endpoint, self.name, target, payload), daemon=True,
                             name="eventbridge-target").start()
    return send_to_targets


def wrap(app, context):
    """A layer only to learn when the journal has been replayed (the layers inside it have been
    built by then); it passes every request on unchanged."""
    global _serving
    _serving = True
    return app


def install(context) -> None:
    when_imported("moto.events.models", lambda models: setattr(
        models.Rule, "send_to_targets",
        _with_lambda_and_state_machine_targets(models.Rule.send_to_targets, context.endpoint)))
