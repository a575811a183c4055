"""A state machine (Amazon States Language) as a diagram, coloured by what one execution did.

`diagram(definition, history=None)` returns a `Diagram`. In JupyterLab 4.1+ it displays as a
Mermaid flowchart (JupyterLab renders `text/vnd.mermaid` and ```mermaid fences itself); anywhere
else it prints as an indented outline. `Diagram.to_html()` writes a standalone page.

Why the HTML export is an outline and not a drawing: Mermaid lays the graph out in JavaScript and
the workshop runs offline; JupyterLab's copy of Mermaid is a webpack chunk that a standalone page
cannot load, and vendoring Mermaid (~3 MB) for one export is not worth it. So the page shows the
same indented outline as the text view, coloured by outcome, plus the Mermaid source, which pastes
into any Mermaid renderer.

Node ids are derived from state names (stable across runs); everything is emitted in a fixed order,
so the same definition and history always give the same text.

Outcomes, from an execution history (as boto3's get_execution_history returns it):
succeeded, failed, caught (the last attempt failed and one of the state's Catch rules moved on),
retried (failed at least once, then an attempt succeeded), running, not taken.
"""
from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field

OUTCOMES = ("succeeded", "failed", "caught", "retried", "running", "not taken")
COLOURS = {  # fill, stroke
    "succeeded": ("#d3f4d6", "#2e8540"),
    "failed": ("#f9d0d0", "#c62828"),
    "caught": ("#ffe3c2", "#e65100"),
    "retried": ("#fff5b8", "#b08800"),
    "running": ("#d6e6ff", "#1565c0"),
    "not taken": ("#eeeeee", "#9e9e9e"),
}

_COMPARATORS = {
    "Equals": "==", "LessThan": "<", "GreaterThan": ">",
    "LessThanEquals": "<=", "GreaterThanEquals": ">=",
}
_TYPE_TESTS = ("IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp")


class DefinitionError(ValueError):
    """The definition is not ASL this module can read; the message says where."""


# ---------------------------------------------------------------------------------------------
# Reading the definition


@dataclass
class State:
    name: str
    spec: dict
    node_id: str
    scope: tuple[str, ...]  # enclosing Parallel/Map names and branch labels

    @property
    def type(self) -> str:
        return self.spec["Type"]


def load_definition(definition) -> dict:
    """Accept a dict, JSON text or a path-like to a JSON file; return the parsed definition."""
    if isinstance(definition, dict):
        return definition
    text = str(definition)
    if not text.lstrip().startswith("{"):
        with open(text, encoding="utf-8") as handle:
            text = handle.read()
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise DefinitionError(f"The state machine definition is not valid JSON: {exc}. "
                              "Check for a trailing comma or a missing quote near that spot.") from exc
    _check_machine(parsed, "the definition")
    return parsed


def _check_machine(machine: dict, where: str) -> None:
    if not isinstance(machine, dict) or "States" not in machine or "StartAt" not in machine:
        raise DefinitionError(f"{where} needs both 'StartAt' and 'States' (Amazon States Language).")
    if machine["StartAt"] not in machine["States"]:
        raise DefinitionError(f"{where}: StartAt names {machine['StartAt']!r}, which is not one of "
                              f"its States ({', '.join(sorted(machine['States']))}).")
    for name, spec in machine["States"].items():
        if "Type" not in spec:
            raise DefinitionError(f"State {name!r} in {where} has no 'Type'.")
        for what, rule, needs in ([("choice rule", r, "Next") for r in spec.get("Choices", [])]
                                  + [("Catch rule", c, "Next") for c in spec.get("Catch", [])]
                                  + [("Catch rule", c, "ErrorEquals") for c in spec.get("Catch", [])]):
            if needs not in rule:
                raise DefinitionError(f"State {name!r} in {where}: a {what} has no {needs!r} "
                                      f"({json.dumps(rule)}).")
        for target, _, kind in _transitions(spec):  # e.g. a typo in Next
            if target not in machine["States"]:
                raise DefinitionError(
                    f"State {name!r} in {where}: its {kind} names {target!r}, which is not one "
                    f"of its States ({', '.join(sorted(machine['States']))}).")


def _slug(name: str) -> str:
    return "s_" + (re.sub(r"[^A-Za-z0-9_]", "_", name) or "_")


def _children(spec: dict) -> list[tuple[str, dict]]:
    """Nested machines of a Parallel (branches) or a Map (iterator / item processor)."""
    if spec["Type"] == "Parallel":
        return [(f"branch {i}", branch) for i, branch in enumerate(spec.get("Branches", []), 1)]
    if spec["Type"] == "Map":
        inner = spec.get("ItemProcessor") or spec.get("Iterator")
        return [("iterator", inner)] if inner else []
    return []


def flatten(definition: dict) -> dict[str, State]:
    """Every state in the machine, nested ones included, by name, with unique node ids."""
    states: dict[str, State] = {}
    used: set[str] = set()

    def visit(machine: dict, scope: tuple[str, ...]) -> None:
        _check_machine(machine, " > ".join(scope) or "the definition")
        for name, spec in machine["States"].items():
            node_id = _slug(name)
            while node_id in used:  # names that differ only in punctuation
                node_id += "_"
            used.add(node_id)
            states[name] = State(name, spec, node_id, scope)
            for label, inner in _children(spec):
                visit(inner, scope + (name, label))

    visit(definition, ())
    return states


def _transitions(spec: dict) -> list[tuple[str, str, str]]:
    """(target, label, kind) for every way out of a state; kind is next|choice|default|catch."""
    out = []
    if spec["Type"] == "Choice":
        for rule in spec.get("Choices", []):
            out.append((rule["Next"], rule_text(rule), "choice"))
        if "Default" in spec:
            out.append((spec["Default"], "Default", "default"))
    elif "Next" in spec:
        out.append((spec["Next"], "", "next"))
    for catcher in spec.get("Catch", []):
        out.append((catcher["Next"], "catch " + ", ".join(catcher["ErrorEquals"]), "catch"))
    return out


def rule_text(rule: dict) -> str:
    """A Choice rule in plain notation, e.g. `$.category == "LIFT"` or `not ($.n > 3)`."""
    if "Condition" in rule:  # JSONata
        return rule["Condition"]
    for combinator, joiner in (("And", " and "), ("Or", " or ")):
        if combinator in rule:
            return joiner.join(f"({rule_text(r)})" for r in rule[combinator])
    if "Not" in rule:
        return f"not ({rule_text(rule['Not'])})"
    variable = rule.get("Variable", "?")
    for test in _TYPE_TESTS:
        if test in rule:
            return f"{variable} {test[2:].lower()}" if rule[test] else f"{variable} not {test[2:].lower()}"
    if "StringMatches" in rule:
        return f"{variable} matches {json.dumps(rule['StringMatches'])}"
    for key, value in rule.items():
        is_path = key.endswith("Path")
        base = key[:-4] if is_path else key
        for value_type in ("String", "Numeric", "Boolean", "Timestamp"):
            symbol = _COMPARATORS.get(base[len(value_type):]) if base.startswith(value_type) else None
            if symbol:
                return f"{variable} {symbol} {value if is_path else json.dumps(value)}"
    raise DefinitionError(f"A Choice rule has no comparison this module knows: {json.dumps(rule)}")


def _retry_text(retrier: dict) -> str:
    return f"retry x{retrier.get('MaxAttempts', 3)}"


def _retry_detail(retrier: dict) -> str:
    # On the node, not on the retry loop: a long loop label lands under the neighbouring boxes.
    return f"{_retry_text(retrier)} on {', '.join(retrier['ErrorEquals'])}"


def _detail(spec: dict) -> str:
    kind = spec["Type"]
    if kind == "Task":
        resource = spec.get("Resource", "")
        short = resource.split(":::", 1)[1] if ":::" in resource else resource.rsplit(":", 1)[-1]
        return f"Task: {short}"
    if kind == "Fail":
        return f"Fail: {spec['Error']}" if "Error" in spec else "Fail"
    if kind == "Wait":
        for key in ("Seconds", "Timestamp", "SecondsPath", "TimestampPath"):
            if key in spec:
                return f"Wait: {key} {spec[key]}"
    return kind


# ---------------------------------------------------------------------------------------------
# Reading an execution history


@dataclass
class Visit:
    state: str
    entered_event: dict
    exited_event: dict | None = None
    attempts: list[str] = field(default_factory=list)  # "ok" / "failed", in order
    event_ids: list[int] = field(default_factory=list)  # every event that belongs to this visit

    @property
    def kind(self) -> str:
        """The state's type, read from the event (e.g. TaskStateEntered -> Task)."""
        return self.entered_event["type"].removesuffix("StateEntered")


_ATTEMPT_START = {"Task": ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"),
                  "Parallel": ("ParallelStateStarted",), "Map": ("MapStateStarted",)}
_ATTEMPT_OK = {"Task": ("TaskSucceeded", "LambdaFunctionSucceeded", "ActivitySucceeded"),
               "Parallel": ("ParallelStateSucceeded",), "Map": ("MapStateSucceeded",)}
# Events inside an attempt that change nothing about its outcome.
_ATTEMPT_PROGRESS = {
    "Task": ("TaskStarted", "TaskSubmitted", "LambdaFunctionStarted", "ActivityStarted"),
    "Map": ("MapIterationStarted", "MapIterationSucceeded", "MapIterationFailed",
            "MapIterationAborted"),
}
_ATTEMPT_FAIL = {
    "Task": ("TaskFailed", "TaskTimedOut", "TaskStartFailed", "TaskSubmitFailed",
             "LambdaFunctionFailed", "LambdaFunctionTimedOut", "LambdaFunctionStartFailed",
             "LambdaFunctionScheduleFailed", "ActivityFailed", "ActivityTimedOut",
             "ActivityScheduleFailed"),
    "Parallel": ("ParallelStateFailed", "ParallelStateAborted"),
    "Map": ("MapStateFailed", "MapStateAborted"),
}


def _kind_of(event_type: str, table: dict) -> str | None:
    for kind, names in table.items():
        if event_type in names:
            return kind
    return None


def visits(history) -> list[Visit]:
    """Each time a state was entered, with its attempts, in the order they started.

    Task/Parallel/Map events do not name their state, and with parallel branches the open states
    interleave, so an event is given to the state its previousEventId chain leads back to when
    that state has the right type, else to the most recently entered open state of that type.
    """
    events = history["events"] if isinstance(history, dict) else history
    by_id = {e["id"]: e for e in events}
    entered_state: dict[int, str] = {}
    open_visits: list[Visit] = []
    done: list[Visit] = []

    def owner(event: dict, kind: str) -> Visit | None:
        seen, cursor = set(), event.get("previousEventId")
        while cursor and cursor not in seen:
            seen.add(cursor)
            if cursor in entered_state:
                match = [v for v in open_visits if v.entered_event["id"] == cursor]
                if match and match[0].kind == kind:
                    return match[0]
                break
            cursor = by_id.get(cursor, {}).get("previousEventId")
        candidates = [v for v in open_visits if v.kind == kind]
        return candidates[-1] if candidates else None

    for event in sorted(events, key=lambda e: e["id"]):
        kind_name = event["type"]
        if "stateEnteredEventDetails" in event:
            name = event["stateEnteredEventDetails"]["name"]
            entered_state[event["id"]] = name
            visit = Visit(name, event, event_ids=[event["id"]])
            open_visits.append(visit)
            done.append(visit)
        elif "stateExitedEventDetails" in event:
            name = event["stateExitedEventDetails"]["name"]
            for visit in reversed(open_visits):
                if visit.state == name:
                    visit.exited_event = event
                    visit.event_ids.append(event["id"])
                    open_visits.remove(visit)
                    break
        elif kind := _kind_of(kind_name, _ATTEMPT_PROGRESS):
            if visit := owner(event, kind):
                visit.event_ids.append(event["id"])
        elif kind := _kind_of(kind_name, _ATTEMPT_START):
            if visit := owner(event, kind):
                visit.attempts.append("running")
                visit.event_ids.append(event["id"])
        else:
            for table, result in ((_ATTEMPT_OK, "ok"), (_ATTEMPT_FAIL, "failed")):
                kind = _kind_of(kind_name, table)
                if kind and (visit := owner(event, kind)):
                    visit.event_ids.append(event["id"])
                    if visit.attempts and visit.attempts[-1] == "running":
                        visit.attempts[-1] = result
                    else:
                        visit.attempts.append(result)
    return done


def outcomes(definition, history) -> dict[str, str]:
    """State name -> outcome (see OUTCOMES) for every state in the definition."""
    states = flatten(load_definition(definition))
    result = {name: "not taken" for name in states}
    all_visits = visits(history)
    entered_later = [(v.entered_event["id"], v.state) for v in all_visits]
    for visit in all_visits:
        spec = states[visit.state].spec if visit.state in states else {"Type": "?"}
        result[visit.state] = _visit_outcome(visit, spec, entered_later)
    return result


def _visit_outcome(visit: Visit, spec: dict, entered: list[tuple[int, str]]) -> str:
    if spec["Type"] == "Fail":
        return "failed"
    failures = visit.attempts.count("failed")
    last = visit.attempts[-1] if visit.attempts else ("ok" if visit.exited_event else "running")
    if last == "failed":
        targets = {c["Next"] for c in spec.get("Catch", [])}
        after = visit.entered_event["id"]
        caught = any(event_id > after and name in targets for event_id, name in entered)
        return "caught" if caught else "failed"
    if last == "running" or not visit.exited_event:
        return "running"
    return "retried" if failures else "succeeded"


def state_io(history, state_name: str) -> list[dict]:
    """Input and output (parsed JSON) of each visit to one state, in order."""
    events = history["events"] if isinstance(history, dict) else history
    found, current = [], None
    for event in sorted(events, key=lambda e: e["id"]):
        entered = event.get("stateEnteredEventDetails")
        exited = event.get("stateExitedEventDetails")
        if entered and entered["name"] == state_name:
            current = {"input": _json(entered.get("input")), "output": None}
            found.append(current)
        elif exited and exited["name"] == state_name and current is not None:
            current["output"] = _json(exited.get("output"))
            current = None
    if not found:
        raise KeyError(f"State {state_name!r} never ran in this execution; "
                       "only states that were entered have input and output.")
    return found


def _json(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# ---------------------------------------------------------------------------------------------
# Emitting


def _escape(text: str) -> str:
    # "#" first: Mermaid reads "#1;" as character 1, which breaks the whole picture.
    return (text.replace("#", "#35;").replace("&", "#amp;").replace('"', "#quot;")
            .replace("<", "#lt;").replace(">", "#gt;"))


def _label(*lines: str) -> str:
    return '"' + "<br/>".join(_escape(line) for line in lines) + '"'


def _node(state: State) -> str:
    lines = [state.name] + ([_detail(state.spec)] if state.type != "Pass" else [])
    label = _label(*lines, *(_retry_detail(r) for r in state.spec.get("Retry", [])))
    shapes = {"Choice": "{%s}", "Succeed": "([%s])", "Fail": "[[%s]]", "Wait": "[/%s/]"}
    return state.node_id + shapes.get(state.type, "[%s]") % label


class Diagram:
    """A state machine diagram; displays as Mermaid in JupyterLab, as an outline elsewhere."""

    def __init__(self, definition, history=None):
        self.definition = load_definition(definition)
        self.states = flatten(self.definition)
        self.history = history
        self.outcomes = outcomes(self.definition, history) if history is not None else {}

    # Mermaid -----------------------------------------------------------------------------
    def mermaid(self) -> str:
        lines = ["flowchart TD", "  start_((start))", "  end_((end))"]
        edges = [f"  start_ --> {self.states[self.definition['StartAt']].node_id}"]
        branches: list[str] = []
        self._emit_machine(self.definition, lines, edges, branches, "  ", top=True)
        lines += edges
        if branches:  # Mermaid's default fill for them is the yellow of "retried"
            lines.append("  classDef branch fill:#ffffff,stroke:#bbbbbb,stroke-dasharray:4 3")
            lines.append(f"  class {','.join(branches)} branch")
        if self.outcomes:
            # A legend: one node per outcome in its own colours, so the colours need no guessing.
            lines.append("  subgraph legend_[colours]")
            lines.append("    direction LR")
            lines += [f"    legend_{_class(outcome)}[{outcome}]" for outcome in OUTCOMES]
            lines.append("  end")
            for outcome in OUTCOMES:
                fill, stroke = COLOURS[outcome]
                lines.append(f"  classDef {_class(outcome)} fill:{fill},stroke:{stroke}")
            for outcome in OUTCOMES:
                ids = sorted(self.states[n].node_id for n, o in self.outcomes.items() if o == outcome)
                if ids:
                    lines.append(f"  class {','.join(ids)} {_class(outcome)}")
            lines += [f"  class legend_{_class(outcome)} {_class(outcome)}" for outcome in OUTCOMES]
        return "\n".join(lines) + "\n"

    def _emit_machine(self, machine: dict, lines: list, edges: list, branches: list, indent: str,
                      top: bool):
        for name in machine["States"]:
            state = self.states[name]
            children = _children(state.spec)
            if children:
                title = _label(f"{name} ({state.type})",
                               *(_retry_detail(r) for r in state.spec.get("Retry", [])))
                lines.append(f"{indent}subgraph {state.node_id}[{title}]")
                for label, inner in children:
                    sub_id = f"{state.node_id}__{_slug(label)[2:]}"
                    branches.append(sub_id)
                    lines.append(f"{indent}  subgraph {sub_id}[{_label(label)}]")
                    lines.append(f"{indent}    direction TB")
                    self._emit_machine(inner, lines, edges, branches, indent + "    ", top=False)
                    lines.append(f"{indent}  end")
                lines.append(f"{indent}end")
            else:
                lines.append(indent + _node(state))
            for target, label, kind in _transitions(state.spec):
                arrow = "-.->" if kind == "catch" else "-->"
                text = f"|{_label(label)}|" if label else ""
                edges.append(f"  {state.node_id} {arrow}{text} {self.states[target].node_id}")
            for retrier in state.spec.get("Retry", []):
                edges.append(f"  {state.node_id} -.->|{_label(_retry_text(retrier))}| "
                             f"{state.node_id}")
            if top and (state.spec.get("End") or state.type in ("Succeed", "Fail")):
                edges.append(f"  {state.node_id} --> end_")

    # Outline -----------------------------------------------------------------------------
    def outline(self) -> str:
        return "\n".join(text for _, text, _ in self._outline_rows(self.definition, 0)) + "\n"

    def _outline_rows(self, machine: dict, depth: int):
        """(depth, text, outcome or None) rows, states in definition order."""
        pad = "  " * depth
        for name, spec in machine["States"].items():
            outcome = self.outcomes.get(name)
            mark = f"  [{outcome}]" if outcome else ""
            ways = [f"-> {t}" + (f" if {label}" if kind == "choice" else "")
                    for t, label, kind in _transitions(spec) if kind in ("next", "choice")]
            ways += [f"-> {t} (default)" for t, _, kind in _transitions(spec) if kind == "default"]
            end = " (end)" if spec.get("End") or spec["Type"] in ("Succeed", "Fail") else ""
            start = "start: " if name == machine["StartAt"] else ""
            yield depth, f"{pad}{start}{name} ({_detail(spec)}){end}{mark}", outcome
            for way in ways:
                yield depth + 1, f"{pad}    {way}", None
            for retrier in spec.get("Retry", []):
                yield depth + 1, f"{pad}    {_retry_detail(retrier)}", None
            for target, label, kind in _transitions(spec):
                if kind == "catch":
                    yield depth + 1, f"{pad}    {label} -> {target}", None
            for label, inner in _children(spec):
                yield depth + 1, f"{pad}  {label}:", None
                yield from self._outline_rows(inner, depth + 2)

    # Display -----------------------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        source = self.mermaid()
        return {"text/vnd.mermaid": source,
                "text/markdown": f"```mermaid\n{source}```\n",
                "text/plain": self.outline()}

    def __str__(self) -> str:
        return self.outline()

    def __repr__(self) -> str:
        return self.outline()

    def to_html(self) -> str:
        rows = []
        for depth, text, outcome in self._outline_rows(self.definition, 0):
            style = ""
            if outcome:
                fill, stroke = COLOURS[outcome]
                style = f' style="background:{fill};border-left:4px solid {stroke}"'
            rows.append(f'<div class="row"{style}>{html.escape(text)}</div>')
        legend = "".join(f'<span style="background:{COLOURS[o][0]};border:1px solid {COLOURS[o][1]};'
                         f'padding:0 6px;margin-right:6px">{o}</span>' for o in OUTCOMES)
        return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>State machine</title>"
                "<style>body{font-family:sans-serif}.row{font-family:monospace;white-space:pre;"
                "padding:1px 4px;margin:1px 0}</style></head><body>\n"
                f"<p>{legend if self.outcomes else ''}</p>\n" + "\n".join(rows) +
                "\n<details><summary>Mermaid source (paste into any Mermaid renderer)</summary>"
                f"<pre>{html.escape(self.mermaid())}</pre></details>\n</body></html>\n")


def _class(outcome: str) -> str:
    return outcome.replace(" ", "_")


def diagram(definition, history=None) -> Diagram:
    """The diagram of a definition (dict, JSON text or file path), optionally coloured by a history."""
    return Diagram(definition, history)
