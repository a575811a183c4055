"""Finished Step Functions executions survive `gluelab cloud stop` / `start`.

StartExecution is not replayed on start: that would run the workflow, and send its SMS, again.
Instead each execution is noted in the journal when it ends, with its description and whole
history, and comes back after a restart as it ended: DescribeExecution, ListExecutions and
GetExecutionHistory (hence `gluelab executions`, the graphs and the cost ledger) answer as
before. An execution still running when the cloud stops runs on after the start
(durable_executions.py).

The same stand-in replaces an execution as soon as it ends, not only after a restart, so an
ended execution answers alike before and after one, and moto's interpreter of it (its
evaluation environment, its copy of the state machine, its worker) is freed: the 300 ended
executions of a load test took 6 MB instead of 8. An execution that ran a distributed Map
stays moto's, whose map runs DescribeMapRun and ListMapRuns read.
"""
from __future__ import annotations

import datetime
import json
import pickle
from typing import Any

from gluelab.cloud import persistence
from gluelab.cloud.lazy import when_imported

DATE_MARK = "$datetime"


def plain(value: Any) -> Any:
    """JSON-safe copy of moto's describe and history output (datetimes marked)."""
    if isinstance(value, datetime.datetime):
        return {DATE_MARK: value.isoformat()}
    if isinstance(value, dict):
        return {key: plain(inner) for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(inner) for inner in value]
    return value


def revived(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {DATE_MARK}:
            return datetime.datetime.fromisoformat(value[DATE_MARK])
        return {key: revived(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [revived(inner) for inner in value]
    return value


class FinishedExecution:
    """An execution that ended before the last restart, with what moto's backend reads of one."""

    exec_worker = None  # nothing runs any more

    def __init__(self, described: dict, events: list[dict] | bytes):
        from moto.stepfunctions.parser.api import ExecutionStatus
        self.execution_arn = self.exec_arn = described["executionArn"]
        self.state_machine_arn = described["stateMachineArn"]
        self.name = described["name"]
        self.execution_input = described.get("input")
        self.start_date, self.stop_date = described["startDate"], described.get("stopDate")
        self.exec_status = ExecutionStatus(described["status"])
        self.status = self.exec_status.value
        self.output = described.get("output")
        self.output_details = described.get("outputDetails")
        self.error, self.cause = described.get("error"), described.get("cause")
        self.events = events

    def to_history_output(self) -> dict:
        if isinstance(self.events, bytes):  # as a snapshot keeps it: read when first asked for
            self.events = pickle.loads(self.events)
        return {"events": self.events}

    def __getstate__(self) -> dict:
        """A snapshot keeps the history pickled on its own: a start then unpickles one string
        per execution (a day's 1,000 histories took 150 ms as objects), not what is in it."""
        events = self.events
        return {**self.__dict__, "events": events if isinstance(events, bytes)
                else pickle.dumps(events, pickle.HIGHEST_PROTOCOL)}

    def stop(self, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        """It has ended already; stopping it changes nothing, as on AWS."""


def describe(execution) -> tuple[dict, list[dict]]:
    """What a FinishedExecution is made of: an ended execution's description and history."""
    output = execution.output
    return ({**execution.to_describe_output(),
             # as moto's DescribeExecution answers: the input as sent, the output as dumped
             "input": execution.execution_input,
             "output": output if isinstance(output, str) or output is None else json.dumps(output)},
            execution.to_history_output()["events"])


def _noting_terminated(original):
    def terminated(self) -> None:
        _close_timed_out_history(self.execution)  # before its status says TIMED_OUT
        original(self)
        execution = self.execution
        described, events = describe(execution)
        persistence.note("execution", {
            "account": execution.account_id, "region": execution.region_name,
            "described": plain(described), "events": plain(events)})
        if type(execution).__name__ == "Execution":  # StartSyncExecution answers from its own
            _settle(execution, FinishedExecution(described, events))
    return terminated


def _close_timed_out_history(execution) -> None:
    """moto ends a timed-out execution at once, but its ExecutionTimedOut event is written by the
    state's own thread when that state notices (a Wait: when its wait is over), after the history
    is kept here: on AWS the history of a TIMED_OUT execution ends with that event."""
    from moto.stepfunctions.parser.api import ExecutionTimedOutEventDetails, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramTimedOut
    env = getattr(execution.exec_worker, "env", None)
    if env is None or not isinstance(env.program_state(), ProgramTimedOut):
        return
    events = execution.to_history_output()["events"]
    if not events or events[-1]["type"] != HistoryEventType.ExecutionTimedOut:
        env.event_manager.add_event(
            context=env.event_history_context, event_type=HistoryEventType.ExecutionTimedOut,
            event_details=EventDetails(
                executionTimedOutEventDetails=ExecutionTimedOutEventDetails()))


def _settle(execution, finished: FinishedExecution) -> None:
    """Put `finished` where the backend lists `execution`, unless map runs are read from it."""
    env = getattr(execution.exec_worker, "env", None)
    if env is None or env.map_run_record_pool_manager.get_all():
        return
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    backend = stepfunctions_parser_backends[execution.account_id][execution.region_name]
    for machine in backend.state_machines:
        for index, listed in enumerate(machine.executions):
            if listed is execution:
                machine.executions[index] = finished
                return


@persistence.restores("execution")
def restore(record: dict) -> None:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    backend = stepfunctions_parser_backends[record["account"]][record["region"]]
    execution = FinishedExecution(revived(record["described"]), revived(record["events"]))
    machine = next((m for m in backend.state_machines if m.arn == execution.state_machine_arn), None)
    if machine is not None:  # None: the machine was deleted while this execution still ran
        # a snapshot (snapshot.py) may hold it already, saved as it ended
        machine.executions[:] = [e for e in machine.executions
                                 if e.execution_arn != execution.execution_arn] + [execution]


def _running_executions_only(original):
    """Callbacks, map runs and task tokens look through live executions; finished ones have none."""
    def get_executions(self, execution_status=None):
        return [e for e in original(self, execution_status) if not isinstance(e, FinishedExecution)]
    return get_executions


def _patch_worker_communication(module) -> None:
    channel = module.BaseExecutionWorkerCommunication
    channel.terminated = _noting_terminated(channel.terminated)


def _patch_parser_backend(parser_models) -> None:
    backend = parser_models.StepFunctionsParserBackend
    backend._get_executions = _running_executions_only(backend._get_executions)


def install(context) -> None:
    when_imported("moto.stepfunctions.parser.backend.execution", _patch_worker_communication)
    when_imported("moto.stepfunctions.parser.models", _patch_parser_backend)
