"""The local cloud process: one WSGI app on 127.0.0.1 that serves moto and our additions.

Run as `python -m gluelab.cloud.server --port N --state-dir DIR`; `gluelab cloud start`
does that in the background (see process.py).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from functools import partial
from pathlib import Path

from gluelab.cloud import warm_start

# Modules that patch moto in place; each exposes install(context).
PATCHES = (
    "gluelab.cloud.memory",  # first: malloc's arenas are tuned before other threads allocate
    "gluelab.cloud.ec2_offerings",
    "gluelab.cloud.interpreter_caches",  # before iam_enforcement, whose client wrapper goes around it
    "gluelab.cloud.seeding",
    "gluelab.cloud.dispatch_cache",
    "gluelab.cloud.ec2_regions",  # before anything imports EC2's models (CloudFormation's do)
    "gluelab.cloud.deferred_imports",  # before anything imports what it defers
    "gluelab.cloud.cfn_models",  # before anything imports CloudFormation's parsing
    "gluelab.cloud.first_use",  # before the dispatcher is made: it shares the dispatcher's lock
    # Before every patch that imports the Step Functions interpreter: its patch of the
    # interpreter's boto client must precede those imports (its modules bind the function by name).
    "gluelab.cloud.iam_enforcement",
    "gluelab.cloud.statemachines",
    "gluelab.cloud.asl_validation",
    "gluelab.cloud.sfn_runtime_errors",
    "gluelab.cloud.sfn_intrinsic_errors",
    "gluelab.cloud.required_members",
    "gluelab.cloud.finished_executions",
    "gluelab.cloud.durable_executions",  # after finished_executions: it wraps the same hook
    "gluelab.cloud.lambda_runtime",
    "gluelab.cloud.lambda_limits",
    "gluelab.cloud.rest_apis",
    "gluelab.cloud.cloudformation",
    "gluelab.cloud.resource_schemas",
    "gluelab.cloud.cognito",
    "gluelab.cloud.sam_resources",
    "gluelab.cloud.bucket_policies",
    "gluelab.cloud.template_urls",
    "gluelab.cloud.event_targets",
    "gluelab.cloud.http_apis",
)
# WSGI layers, innermost first; each exposes wrap(app, context) -> app.
# persistence sits next to moto so that it journals AWS API calls only.
LAYERS = (
    "gluelab.cloud.lambda_limits",  # the request's day, for runtime deprecation dates
    "gluelab.cloud.persistence",
    "gluelab.cloud.required_members",  # outside persistence: a refused call is not journaled
    "gluelab.cloud.iam_enforcement",  # outside persistence: a refused call is not journaled
    "gluelab.cloud.event_targets",  # marks the end of the replay: targets run from then on
    "gluelab.cloud.api_front",
    "gluelab.cloud.http_apis",  # HTTP APIs first; REST APIs and the rest go on to api_front
    "gluelab.cloud.admin",
    "gluelab.cloud.twilio_standin",
    "gluelab.cloud.lambda_runtime",  # outside admin, which answers 404 for /_gluelab/ paths it lacks
    "gluelab.cloud.warm_start",  # outermost: it sees every caller's request
)


class CloudContext:
    """What the parts of the local cloud need to know about the process they run in."""

    def __init__(self, port: int, state_dir: Path, iam: bool = True):
        self.port = port
        self.iam = iam  # IAM enforced for Lambda and Step Functions roles (iam_enforcement.py)
        self.state_dir = state_dir
        self.started = time.time()
        self.warmed_up = False  # set when warm_up has loaded what the first deploy needs
        self.endpoint = f"http://127.0.0.1:{port}"

    def status(self) -> dict:
        return {"endpoint": self.endpoint, "pid": os.getpid(),
                "uptime_s": round(time.time() - self.started, 1), "iam": self.iam,
                "warmed_up": self.warmed_up}


def configure_moto(context: CloudContext) -> None:
    # jsonschema (under moto's API Gateway and the SAM translator) imports rfc3987_syntax when it
    # is installed (JupyterLab brings it), which builds 38 grammars in 0.8 s for an "iri" format
    # check no template here uses. Every first deploy, and every restart with state, paid it.
    sys.modules.setdefault("rfc3987_syntax", None)
    # The Step Functions interpreter calls Lambda back over HTTP on MOTO_PORT.
    os.environ["MOTO_PORT"] = str(context.port)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(key, "test")
    from moto.core.config import default_user_config
    default_user_config["stepfunctions"] = {"execute_state_machine": True}


def build_app(context: CloudContext):
    configure_moto(context)
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    for name in PATCHES:
        importlib.import_module(name).install(context)
    app = DomainDispatcherApplication(create_backend_app)
    for name in LAYERS:
        app = importlib.import_module(name).wrap(app, context)
    return app


# Read-only calls that make moto load each service the workshop uses, so that the first
# deploy after a start does not pay seconds of imports (CloudFormation, the SAM translator,
# the Step Functions interpreter).
WARM_UP_CALLS = (
    ("cloudformation", "list_stacks", {}),
    ("lambda", "list_functions", {}),
    ("stepfunctions", "list_state_machines", {}),
    ("dynamodb", "list_tables", {}),
    ("apigateway", "get_rest_apis", {}),
    ("iam", "list_roles", {}),
    ("s3", "list_buckets", {}),
    ("ssm", "describe_parameters", {}),
    ("logs", "describe_log_groups", {}),
    ("cognito-idp", "list_user_pools", {"MaxResults": 1}),
)


def warm_up(context: CloudContext) -> None:
    import boto3
    from botocore.config import Config
    import samtranslator.translator.transform  # noqa: F401  (loaded by the first SAM deploy)
    session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test",
                            region_name="us-east-1")
    config = Config(user_agent_extra=warm_start.USER_AGENT)
    for service, call, kwargs in WARM_UP_CALLS:
        getattr(session.client(service, endpoint_url=context.endpoint, config=config), call)(**kwargs)
    context.warmed_up = True


def serve(port: int, state_dir: Path, host: str = "127.0.0.1", iam: bool = True) -> None:
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from gluelab.cloud import durable_executions
    state_dir.mkdir(parents=True, exist_ok=True)
    context = CloudContext(port, state_dir, iam)
    app = build_app(context)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    (state_dir / "cloud.json").write_text(json.dumps(context.status()))
    durable_executions.resume(context)  # the socket listens: resumed tasks can call Lambda
    print(f"gluelab local cloud ready on {context.endpoint}", flush=True)
    warm_start.later(partial(warm_up, context), first=True)
    warm_start.start()
    server.serve_forever()


def main() -> None:
    warm_start.begin()  # before the imports: they are most of a start
    parser = argparse.ArgumentParser(description="Run the gluelab local cloud in the foreground")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--no-iam", action="store_true",
                        help="do not enforce IAM for functions' and state machines' roles")
    args = parser.parse_args()
    serve(args.port, args.state_dir, iam=not args.no_iam and os.environ.get("GLUELAB_IAM") != "off")


if __name__ == "__main__":
    main()
