"""The Step Functions interpreter without its per-execution rebuilds.

Profiled under load (20 handsets texting the reference app), the cloud process spent most of its
CPU, and so of its one GIL, rebuilding the same things for every execution and every state:
  - the parse of the state machine definition into evaluation components, for each execution
    (two ANTLR grammars: ASL's and, for each States.Format, the intrinsic functions'; a third);
  - a boto3 client for each Lambda task, built from botocore's service model (a sixth);
  - a JSONPath parser (a yacc table) for each path in Parameters, InputPath, ResultPath...
Each is now built once and reused. What is reused never changes once built: the components of
one definition text, one client per region, service and state machine role (role credentials
are the same for the same role, see iam_enforcement.role_credentials; botocore clients are
thread-safe), and parsed JSONPath expressions (find() does not change them).

The interpreter's clients also mark their requests as a state machine's (BACKGROUND_HEADER), so
that the Lambda runtime lets a caller who waits (API Gateway, a direct Invoke) have a worker first;
see lambda_pool.
"""
from __future__ import annotations

import functools
import threading

from gluelab.cloud.lazy import when_imported

BACKGROUND_HEADER = "X-Gluelab-Caller"
BACKGROUND = "states"
PARSED_DEFINITIONS = 64  # state machine definitions kept parsed
PARSED_PATHS = 4096


def _parse_definitions(module) -> None:
    """AmazonStateLanguageParser.parse: once per definition text. Its evaluation components keep
    nothing of an evaluation (that lives in the Environment each execution builds), which is
    why the interpreter itself runs one component tree in many threads at once: a Map state's
    iterations, a Parallel state's branches."""
    parser_class = module.AmazonStateLanguageParser
    parse = parser_class.parse
    cached = functools.lru_cache(maxsize=PARSED_DEFINITIONS)(parse)
    parser_class.parse = staticmethod(cached)


def _parse_paths(module) -> None:
    module.parse = functools.lru_cache(maxsize=PARSED_PATHS)(module.parse)


def _mark_background(request, **_) -> None:
    request.headers[BACKGROUND_HEADER] = BACKGROUND


def _cache_clients(module) -> None:
    """boto_client_for: one client per (region, service, role); iam_enforcement wraps this and
    signs each with the role's credentials, which are the same for the same role."""
    build = module.boto_client_for
    clients: dict = {}
    lock = threading.Lock()

    def client_for(region: str, service: str, state_credentials=None):
        key = (region, service, getattr(state_credentials, "role_arn", None))
        with lock:  # built by one thread: ten executions starting at once built ten each
            client = clients.get(key)
            if client is None:
                client = clients[key] = build(region, service, state_credentials)
                client.meta.events.register("before-sign", _mark_background)
        return client
    client_for.__wrapped__ = build
    module.boto_client_for = client_for


def install(context) -> None:
    # Lazily, as every hook into the interpreter (it takes a second to import). The client
    # cache must be installed before iam_enforcement's wrapper, which goes around it.
    when_imported("moto.stepfunctions.parser.asl.parse.asl_parser", _parse_definitions)
    when_imported("moto.stepfunctions.parser.asl.utils.json_path", _parse_paths)
    when_imported("moto.stepfunctions.parser.asl.component.common.path.result_path", _parse_paths)
    when_imported("moto.stepfunctions.parser.asl.utils.boto_client", _cache_clients)
