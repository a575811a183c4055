"""`gluelab graph | executions | logs | cost`: see what the app did, as text."""
from __future__ import annotations

import sys

from botocore.exceptions import BotoCoreError, ClientError


def add_commands(subparsers) -> None:
    graph = subparsers.add_parser("graph", help="a state machine as a diagram (Mermaid or outline)")
    graph.add_argument("source", help="a definition file (.json/.asl.json), or a state machine name or ARN")
    graph.add_argument("--execution", help="colour the states by what this execution (ARN) did")
    graph.add_argument("--mermaid", action="store_true", help="print Mermaid text instead of the outline")
    graph.set_defaults(func=_graph)

    runs = subparsers.add_parser("executions", help="executions of a state machine, or one's history")
    runs.add_argument("state_machine", nargs="?",
                      help="logical name (FixitStateMachine), name or ARN (default: all, or the stack's)")
    runs.add_argument("--stack", help="the stack whose state machine this is")
    runs.add_argument("--history", metavar="EXECUTION_ARN", help="show one execution's events")
    runs.set_defaults(func=_executions)

    logs = subparsers.add_parser("logs", help="a function's recent invocations from CloudWatch Logs")
    logs.add_argument("function", help="logical name (ReceiverFunction) or function name")
    logs.add_argument("--stack", help="the stack whose function this is")
    logs.add_argument("--limit", type=int, default=20)
    logs.set_defaults(func=_logs)

    cost = subparsers.add_parser("cost", help="cost estimate, ledger of local usage and projection")
    cost.add_argument("--slides-example", action="store_true",
                      help="the 2018 slides' monthly example recomputed, with notes on its arithmetic")
    cost.add_argument("--reports-run", type=int, default=1,
                      help="how many reports the local usage was measured on (default 1)")
    cost.add_argument("--reports-per-day", type=float, default=100)
    cost.add_argument("--sms-sent", type=int, help="SMS the app sent during those reports")
    cost.add_argument("--free-tier", action="store_true")
    cost.set_defaults(func=_cost)


def _run(action) -> int:
    try:
        print(action(), end="")
        return 0
    except (LookupError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except (BotoCoreError, ClientError) as exc:
        print(f"error: the cloud refused or could not be reached: {exc}. "
              "Is it running? Try `gluelab cloud status`.", file=sys.stderr)
    return 1


def _graph(args) -> int:
    from gluelab.executions import machine_diagram

    def show():
        diagram = machine_diagram(args.source, args.execution)
        return diagram.mermaid() if args.mermaid else diagram.outline()
    return _run(show)


def _executions(args) -> int:
    from gluelab import executions
    if args.history:
        return _run(lambda: str(executions.history_table(executions.fetch_history(args.history))))

    def table():
        from gluelab import stack_names
        machine = args.state_machine and stack_names.physical(
            args.state_machine, stack_names.STATE_MACHINE, args.stack)
        if args.stack and not machine:
            machines = stack_names.in_stack(args.stack, stack_names.STATE_MACHINE)
            if len(machines) != 1:
                raise LookupError(f"Stack {args.stack} has {len(machines)} state machines: "
                                  "name one (its logical name or ARN).")
            machine = machines[0]
        return str(executions.executions(machine))
    return _run(table)


def _logs(args) -> int:
    from gluelab import stack_names
    from gluelab.logs import function_logs
    return _run(lambda: str(function_logs(
        stack_names.physical(args.function, stack_names.FUNCTION, args.stack), args.limit)))


def _cost(args) -> int:
    from gluelab import cost
    if args.slides_example:
        return _run(lambda: str(cost.slides_example()))

    def report():
        used = cost.ledger(sms_sent=args.sms_sent)
        projection = used.project(args.reports_run, args.reports_per_day, free_tier=args.free_tier)
        return f"{used}\n{projection}"
    return _run(report)
