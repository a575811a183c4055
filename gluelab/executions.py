"""Execution explorer: a state machine's executions and one execution's history, as tables.

Everything goes through `gluelab.config.client("stepfunctions")`, so it reads the local cloud or
AWS alike. Tables print as aligned text and display as HTML in Jupyter.
"""
from __future__ import annotations

import html
import json
import time
from datetime import datetime
from pathlib import Path

from gluelab import config, graph, lab_failures
from gluelab.plain_errors import PlainError

DETAIL_WIDTH = 70


class Table:
    """Rows of values under named columns; text when printed, HTML in Jupyter."""

    def __init__(self, columns: list[str], rows: list[list], title: str = "",
                 highlight: set[int] | None = None):
        self.columns, self.rows, self.title = columns, rows, title
        self.highlight = highlight or set()  # row indexes drawn as errors

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def __str__(self) -> str:
        cells = [self.columns] + [[_cell(v) for v in row] for row in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = [self.title] if self.title else []
        for index, row in enumerate(cells):
            mark = "!" if index - 1 in self.highlight else " "
            lines.append(mark + "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
            if index == 0:
                lines.append(" " + "  ".join("-" * w for w in widths))
        return "\n".join(lines) + "\n"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.columns)
        body = []
        for index, row in enumerate(self.rows):
            style = ' style="background:#f9d0d0"' if index in self.highlight else ""
            body.append(f"<tr{style}>" + "".join(
                f'<td style="text-align:left">{html.escape(_cell(v))}</td>' for v in row) + "</tr>")
        caption = f"<caption>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _shorten(text: str, width: int = DETAIL_WIDTH) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[:width - 3] + "..."


class Execution(dict):
    """describe_execution's answer. Asking a failed execution for its output raises an error
    that shows the failure, where a plain dict would raise `KeyError: 'output'`."""

    def __missing__(self, key):
        if key != "output":
            raise KeyError(key)
        name = self.get("name") or self.get("executionArn", "").rsplit(":", 1)[-1]
        failure = ": ".join(filter(None, (self.get("error"), self.get("cause"))))
        # The command names the ARN itself: the cell that failed may hold it in no variable.
        raise ExecutionHasNoOutput(
            f"Execution {name} has no output: it is {self.get('status')}"
            f"{' with ' + _shorten(failure, 300) if failure else ''}. Its history says which "
            "state failed: `executions.history_table(executions.fetch_history("
            f"{self.get('executionArn')!r}))`.")


class ExecutionHasNoOutput(PlainError, LookupError):
    """The output of an execution that did not succeed."""


def wait_for_end(execution_arn: str, timeout_s: float = 60, poll_s: float = 0.1) -> Execution:
    """The execution's description once it no longer runs, or as it is after `timeout_s`.

    In a lab whose last file cell or deploy failed, it refuses: the execution would run the
    previous version (see gluelab.lab_failures)."""
    lab_failures.refuse_if_failed("showing this execution")
    sfn = config.client("stepfunctions")
    deadline = time.monotonic() + timeout_s
    while (execution := sfn.describe_execution(executionArn=execution_arn))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            break
        time.sleep(poll_s)
    return Execution(execution)


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN of a state machine's execution with the given name (a Twilio MessageSid here)."""
    return state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name


def state_machine_arn(name_or_arn: str) -> str:
    """The ARN of a state machine given its ARN or its name."""
    if name_or_arn.startswith("arn:"):
        return name_or_arn
    machines = _paged(config.client("stepfunctions"), "list_state_machines", "stateMachines")
    for machine in machines:
        if machine["name"] == name_or_arn:
            return machine["stateMachineArn"]
    known = ", ".join(sorted(m["name"] for m in machines)) or "none yet"
    raise LookupError(f"No state machine named {name_or_arn!r}. Known state machines: {known}. "
                      "Deploy it first, or pass its full ARN.")


def _paged(client, operation: str, key: str, **kwargs) -> list[dict]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]


def executions(state_machine: str | None = None) -> Table:
    """Executions of one state machine (name or ARN), or of all, newest first, with durations."""
    sfn = config.client("stepfunctions")
    if state_machine:
        arns = [state_machine_arn(state_machine)]
    else:
        arns = [m["stateMachineArn"] for m in _paged(sfn, "list_state_machines", "stateMachines")]
    found = []
    for arn in arns:
        found += _paged(sfn, "list_executions", "executions", stateMachineArn=arn)
    found.sort(key=lambda e: (e["startDate"], e["name"]), reverse=True)
    rows, failed = [], set()
    for index, ex in enumerate(found):
        stop = ex.get("stopDate")
        duration = (stop - ex["startDate"]).total_seconds() if stop else None
        machine = ex["stateMachineArn"].rsplit(":", 1)[-1]
        rows.append([machine, ex["name"], ex["status"], ex["startDate"], duration])
        if ex["status"] in ("FAILED", "TIMED_OUT", "ABORTED"):
            failed.add(index)
    title = f"Executions of {state_machine}" if state_machine else "Executions of all state machines"
    return Table(["state machine", "execution", "status", "started", "duration s"], rows,
                 title, failed)


def fetch_history(execution_arn: str) -> dict:
    """The whole history of one execution, as get_execution_history returns it (all pages)."""
    events = _paged(config.client("stepfunctions"), "get_execution_history", "events",
                    executionArn=execution_arn)
    return {"events": events}


def history_table(history: dict) -> Table:
    """One execution's events: id, seconds since start, type, state, a short detail."""
    events = sorted(history["events"], key=lambda e: e["id"])
    owners = _event_states(events)
    start = events[0]["timestamp"] if events else None
    rows, errors = [], set()
    for index, event in enumerate(events):
        offset = (event["timestamp"] - start).total_seconds()
        detail = _event_detail(event)
        rows.append([event["id"], offset, event["type"], owners.get(event["id"], ""), detail])
        if "Failed" in event["type"] or "TimedOut" in event["type"] or "Aborted" in event["type"]:
            errors.add(index)
    return Table(["id", "t+ s", "type", "state", "detail"], rows, highlight=errors)


def _event_states(events: list[dict]) -> dict[int, str]:
    """Event id -> name of the state it belongs to."""
    return {event_id: visit.state for visit in graph.visits(events) for event_id in visit.event_ids}


def _event_detail(event: dict) -> str:
    for key, value in event.items():
        if not key.endswith("EventDetails") or not isinstance(value, dict):
            continue
        if "error" in value:
            return _shorten(": ".join(filter(None, (value["error"], value.get("cause")))))
        for field in ("output", "input", "parameters"):
            if field in value:
                return _shorten(f"{field} {value[field]}")
        if "resource" in value:
            return f"{value.get('resourceType', '')}:{value['resource']}"
    return ""


def machine_diagram(source: str, execution_arn: str | None = None) -> graph.Diagram:
    """The diagram of a definition file or a deployed state machine (name or ARN),
    coloured by one execution when execution_arn is given."""
    if Path(source).is_file():
        definition = graph.load_definition(Path(source).read_text(encoding="utf-8"))
    else:
        described = config.client("stepfunctions").describe_state_machine(
            stateMachineArn=state_machine_arn(source))
        definition = json.loads(described["definition"])
    history = fetch_history(execution_arn) if execution_arn else None
    return graph.diagram(definition, history)
