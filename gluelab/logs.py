"""A function's recent invocations, read from CloudWatch Logs (/aws/lambda/<name>).

Lambda writes `START RequestId: ...`, the handler's own lines, `END RequestId: ...` and a
`REPORT RequestId: ...` line with durations and memory; the local cloud's runtime writes the same
lines. Lines are grouped per invocation; error lines ([ERROR], tracebacks, time-outs) are marked.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from gluelab import config

_START = re.compile(r"^START RequestId: (\S+)")
_END = re.compile(r"^END RequestId: (\S+)")
_REPORT = re.compile(r"^REPORT RequestId: (\S+)")
_METRIC = re.compile(r"([A-Za-z ]+): ([\d.]+) (ms|MB)")
# Python runtime log lines: "[LEVEL]\t<timestamp>\t<request id>\t<message>"
_TAGGED = re.compile(r"^\[[A-Z]+\]\t\S+\t([0-9a-f-]{8,})\t")
_ERROR_MARKS = ("[ERROR]", "Traceback (most recent call last)", "Task timed out")


def is_error_line(message: str) -> bool:
    return any(mark in message for mark in _ERROR_MARKS)


@dataclass
class Invocation:
    request_id: str
    started_ms: int
    lines: list[str] = field(default_factory=list)  # the handler's own lines
    metrics: dict[str, float] = field(default_factory=dict)  # from the REPORT line
    ended: bool = False

    @property
    def reported(self) -> bool:
        return "Billed Duration" in self.metrics

    @property
    def errors(self) -> list[str]:
        return [line for line in self.lines if is_error_line(line)]

    @property
    def cold_start(self) -> bool:
        return "Init Duration" in self.metrics

    @property
    def gb_seconds(self) -> float:
        """Billed GB-seconds: billed duration times configured memory."""
        return (self.metrics.get("Billed Duration", 0) / 1000) * (self.metrics.get("Memory Size", 0) / 1024)

    def summary(self) -> str:
        m = self.metrics
        if not self.reported:
            return f"RequestId {self.request_id}  (no REPORT line yet: still running or cut short)"
        text = (f"RequestId {self.request_id}  {m['Duration']:.2f} ms "
                f"(billed {m['Billed Duration']:.0f} ms), "
                f"{m.get('Max Memory Used', 0):.0f}/{m.get('Memory Size', 0):.0f} MB")
        if self.cold_start:
            text += f", cold start {m['Init Duration']:.2f} ms"
        if self.errors:
            text += f", {len(self.errors)} error line(s)"
        return text


def parse(messages: list[tuple[int, str]]) -> list[Invocation]:
    """Group (timestamp ms, message) pairs of one log stream into invocations, in order.

    Lines logged before a START (e.g. module import during a cold start) belong to the
    invocation that follows them.
    """
    invocations: dict[str, Invocation] = {}
    current: Invocation | None = None
    pending: list[str] = []
    for timestamp, raw in messages:
        message = raw.rstrip("\n")
        if match := _START.match(message):
            current = Invocation(match.group(1), timestamp, lines=pending)
            invocations[current.request_id] = current
            pending = []
        elif match := _END.match(message):
            if match.group(1) in invocations:
                invocations[match.group(1)].ended = True
        elif match := _REPORT.match(message):
            owner = invocations.setdefault(match.group(1), Invocation(match.group(1), timestamp))
            owner.metrics = {name.strip(): float(value) for name, value, _ in _METRIC.findall(message)}
            if owner is current:
                current = None
        else:
            tagged = _TAGGED.match(message)
            owner = invocations.get(tagged.group(1)) if tagged else None
            if owner is None:
                owner = current
            if owner is None:
                pending.append(message)
            else:
                owner.lines.append(message)
    return list(invocations.values())


def log_group(function: str) -> str:
    return f"/aws/lambda/{function}"


def recent_invocations(function: str, limit: int | None = 20,
                       streams: int | None = 10) -> list[Invocation]:
    """The function's latest invocations (oldest first) from its newest log streams;
    limit=None and streams=None read everything."""
    logs = config.client("logs")
    group = log_group(function)
    found: list[Invocation] = []
    for stream in _newest_streams(logs, group, streams):
        messages, token = [], None
        while True:
            kwargs = {"nextToken": token} if token else {}
            page = logs.get_log_events(logGroupName=group, logStreamName=stream,
                                       startFromHead=True, **kwargs)
            messages += [(e["timestamp"], e["message"]) for e in page["events"]]
            if not page["events"] or page.get("nextForwardToken") == token:
                break
            token = page.get("nextForwardToken")
        found += parse(messages)
    found.sort(key=lambda inv: inv.started_ms)
    return found[-limit:] if limit else found


def _newest_streams(logs, group: str, count: int | None) -> list[str]:
    names, token = [], None
    try:
        while count is None or len(names) < count:
            kwargs = {"nextToken": token} if token else {}
            page = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime",
                                             descending=True, **kwargs)
            names += [s["logStreamName"] for s in page["logStreams"]]
            token = page.get("nextToken")
            if not token:
                break
    except logs.exceptions.ResourceNotFoundException:
        raise LookupError(f"No logs for function {group.rsplit('/', 1)[-1]!r}: log group {group} "
                          "does not exist. Invoke the function once (logs appear after the first "
                          "invocation), and check the name with `aws lambda list-functions`.") from None
    return names[:count] if count else names


def logged_functions() -> list[str]:
    """Names of all functions that have a log group."""
    logs = config.client("logs")
    prefix = log_group("")
    groups = [g["logGroupName"] for page in logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix=prefix) for g in page["logGroups"]]
    return sorted(g[len(prefix):] for g in groups)


class FunctionLogs:
    """Recent invocations of one function; text when printed, HTML with errors in red in Jupyter."""

    def __init__(self, function: str, invocations: list[Invocation]):
        self.function, self.invocations = function, invocations

    def __str__(self) -> str:
        if not self.invocations:
            return f"{self.function}: no invocations in the log yet\n"
        out = [f"{self.function}: {len(self.invocations)} recent invocation(s), oldest first"]
        for inv in self.invocations:
            out.append("")
            out.append(("!! " if inv.errors else "") + inv.summary())
            out += [("  ! " if is_error_line(line) else "    ") + line for line in inv.lines]
        return "\n".join(out) + "\n"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        parts = [f"<h4>{html.escape(self.function)}</h4>"]
        for inv in self.invocations:
            colour = "#c62828" if inv.errors else "#333"
            parts.append(f'<div style="color:{colour};font-weight:bold">{html.escape(inv.summary())}</div>')
            body = "".join(
                f'<span style="background:#f9d0d0">{html.escape(line)}</span>\n' if is_error_line(line)
                else html.escape(line) + "\n" for line in inv.lines)
            parts.append(f'<pre style="margin:2px 0 10px 16px">{body}</pre>')
        return "".join(parts)


def function_logs(function: str, limit: int = 20) -> FunctionLogs:
    """Display-ready recent invocations of one function."""
    return FunctionLogs(function, recent_invocations(function, limit))
