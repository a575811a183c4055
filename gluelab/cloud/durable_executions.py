"""Running Step Functions executions survive `gluelab cloud stop` / `start` and a crash.

On AWS an execution runs on through anything short of its own timeout. Here each running
execution of a standard workflow keeps a file, `executions/<hash>.jsonl` in the state folder:

* its first line is written (and fsync'd) by StartExecution before it answers, so a start that
  was acknowledged is never lost;
* one more line at every completed state transition of the top-level workflow: the history
  events since the last line, the state it goes to next and that state's input;
* the file is deleted once the execution has ended and its end is in the journal
  (finished_executions.py).

On start (see `resume`) every file left behind becomes a running execution again, with its
history, carrying on from its last completed transition (they set off one after another, as
every Lambda worker has to start cold again). A state that was in flight (a Lambda
task, a Parallel with its branches, a Map) runs again: Step Functions tasks are at-least-once
on AWS too, which is why tasks must be idempotent. A Wait resumes with its remaining time. The
cloud log names every execution it resumes. Hooks pinned in tests/test_moto_hooks.py.

A workflow's own `TimeoutSeconds` counts from the execution's start across a resume, as on
AWS (a stop that outlasted it ends the execution TIMED_OUT once resumed). Remaining difference:
workflow variables (`Assign`) are not kept (moto's interpreter cannot read them back anyway).
"""
from __future__ import annotations

import copy
import datetime
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path

from gluelab.cloud.finished_executions import plain, revived
from gluelab.cloud.lazy import when_imported

log = logging.getLogger("gluelab.durable_executions")

FOLDER = "executions"
ENDED = "it ended just before the stop: the journal has its end"
SECONDS_WAITS = ("Seconds", "SecondsPath", "SecondsJSONata")  # Timestamp waits need no credit

_folder: Path | None = None
_written: dict[str, int] = {}  # execution ARN -> history events already in its file
_lock = threading.Lock()
_stepped: dict[str, threading.Event] = {}  # resumed execution ARN -> set at its first step
STEP_WAIT_S = 2.0


def _path(execution_arn: str) -> Path:
    return _folder / f"{hashlib.sha256(execution_arn.encode()).hexdigest()[:32]}.jsonl"


def _append(execution_arn: str, record: dict) -> None:
    """One line, on disk (fsync'd) before the caller goes on."""
    with _path(execution_arn).open("a") as file:
        file.write(json.dumps(plain(record)) + "\n")
        file.flush()
        os.fsync(file.fileno())


def running() -> int:
    """How many executions are running (have a file) now."""
    with _lock:
        return len(_written)


# The fsync of one execution's file is not made under _lock: at 5 ms each on a busy disk, every
# execution's transitions (and every StartExecution) queued behind every other's. One
# execution's own records are written by its one thread, in order.

def _began(execution) -> None:
    machine = execution.state_machine
    with _lock:
        _written[execution.exec_arn] = 0
    _append(execution.exec_arn, {
        "arn": execution.exec_arn, "account": execution.account_id,
        "region": execution.region_name, "machine": machine.arn, "name": execution.name,
        "definition": machine.definition, "role": execution.role_arn,
        "input": execution.execution_input, "trace": execution.trace_header,
        "start": execution.start_date, "at": time.time()})


def _transition(env) -> None:
    """The top-level workflow completed a state and goes on to `env.next_state_name`."""
    arn = env.states.context_object.context_object_data["Execution"]["Id"]
    events = env.event_manager.get_event_history()
    with _lock:
        if arn not in _written:  # a synchronous (express) execution: nothing to resume
            return
        written, _written[arn] = _written[arn], len(events)
    _append(arn, {"next": env.next_state_name, "input": env.states.get_input(),
                  "events": events[written:],
                  "source": env.event_history_context.source_event_id,
                  "last": env.event_history_context.last_published_event_id,
                  "at": time.time()})
    _step(arn)


def _ended(execution) -> None:
    with _lock:
        if _written.pop(execution.exec_arn, None) is not None:
            _path(execution.exec_arn).unlink(missing_ok=True)
    _step(execution.exec_arn)


def _step(arn: str) -> None:
    stepped = _stepped.pop(arn, None)
    if stepped is not None:
        stepped.set()


# --- hooks -----------------------------------------------------------------------------------

def _starting(original):
    def start(self) -> None:
        if type(self).__name__ == "Execution":  # StartSyncExecution answers with the outcome
            _began(self)
        original(self)
    return start


def _ending(original):
    def terminated(self) -> None:
        original(self)  # finished_executions notes the end in the journal first
        _ended(self.execution)
    return terminated


def _checkpointing(original):
    def eval(self, env) -> None:
        original(self, env)
        env.__dict__.pop("gluelab_waited_s", None)  # a resumed wait's credit is for its first state
        if not env.is_frame() and env.is_running():
            _transition(env)
    return eval


def _crediting_resumed_waits(original):
    def wait_interval(self, env, wait_seconds):
        waited = env.__dict__.pop("gluelab_waited_s", 0)
        if type(self).__name__ in SECONDS_WAITS:
            wait_seconds = max(0, wait_seconds - int(waited))
        return original(self, env, wait_seconds)
    return wait_interval


def _patch_execution(module) -> None:
    module.Execution.start = _starting(module.Execution.start)
    channel = module.BaseExecutionWorkerCommunication
    channel.terminated = _ending(channel.terminated)


def _patch_state(module) -> None:
    module.CommonStateField.eval = _checkpointing(module.CommonStateField.eval)


def _patch_wait(module) -> None:
    module.WaitFunction._wait_interval = _crediting_resumed_waits(module.WaitFunction._wait_interval)


def install(context) -> None:
    global _folder
    _folder = context.state_dir / FOLDER
    _folder.mkdir(parents=True, exist_ok=True)
    # after finished_executions (server.PATCHES order): its end is noted before the file goes
    when_imported("moto.stepfunctions.parser.backend.execution", _patch_execution)
    when_imported("moto.stepfunctions.parser.asl.component.state.state", _patch_state)
    when_imported("moto.stepfunctions.parser.asl.component.state.wait.wait_function."
                  "wait_function", _patch_wait)


# --- resume ----------------------------------------------------------------------------------

def _read(path: Path) -> list[dict]:
    """The file's records; a line cut short by a crash is the one transition not yet kept."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(revived(json.loads(line)))
        except ValueError:
            break
    return records


def _timeout_left(program, began_at: float):
    """A copy of `program` whose own TimeoutSeconds counts from the execution's start (time.time()
    `began_at`), not from its resume."""
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    program = copy.copy(program)  # the parsed program may be shared (interpreter_caches.py)
    if program.timeout_seconds is not None:
        left = program.timeout_seconds.timeout_seconds - (time.time() - began_at)
        program.timeout_seconds = TimeoutSeconds(max(left, 0.001))  # it refuses 0
    return program


def _resuming_worker(base, checkpoint: dict, events: list[dict], began_at: float):
    from moto.stepfunctions.parser.asl.component.common.flow.start_at import StartAt

    class ResumingWorker(base):
        """Runs the workflow from `checkpoint["next"]`, with the history it had."""

        def _execution_logic(self):
            program = _timeout_left(self._get_evaluation_entrypoint(), began_at)
            program.start_at = StartAt(checkpoint["next"])
            self.env = env = self._get_evaluation_environment()
            manager = env.event_manager
            manager._history_event_list.extend(events)
            manager._event_id_gen._next_id = max((e["id"] for e in events), default=0) + 1
            env.event_history_context.source_event_id = checkpoint["source"]
            env.event_history_context.last_published_event_id = checkpoint["last"]
            env.states.reset(checkpoint["input"])
            env.gluelab_waited_s = max(0.0, time.time() - checkpoint["at"])
            program.eval(env)
            self._execution_communication.terminated()

    return ResumingWorker


def _resume_one(records: list[dict]):
    """One execution back to running (its worker, to start), or what stopped it, in words."""
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.backend import execution_worker
    from moto.stepfunctions.parser.backend.execution import Execution
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends
    start, transitions = records[0], records[1:]
    backend = stepfunctions_parser_backends[start["account"]][start["region"]]
    machine = next((m for m in backend.state_machines if m.arn == start["machine"]), None)
    if machine is None:
        return f"its state machine {start['machine']} was deleted"
    if any(e.execution_arn == start["arn"] for e in machine.executions):
        return ENDED
    clone = copy.deepcopy(machine, {id(machine.executions): [], id(machine.backend): machine.backend})
    clone.definition = start["definition"]  # an execution runs the definition it started with
    execution = Execution(
        name=start["name"], sm_type=clone.sm_type, role_arn=start["role"],
        exec_arn=start["arn"], account_id=start["account"], region_name=start["region"],
        state_machine=clone, start_date=start["start"], cloud_watch_logging_session=None,
        input_data=start["input"], trace_header=start["trace"], activity_store={})
    events = [event for record in transitions for event in record["events"]]
    worker = execution._get_start_execution_worker()
    if transitions:
        worker.__class__ = _resuming_worker(execution_worker.ExecutionWorker, transitions[-1],
                                            events, start["at"])
    else:  # it had not completed a state yet: begin it again (waiting from its start)
        worker.__class__ = _crediting_first_wait(execution_worker.ExecutionWorker, start["at"])
    with _lock:
        _written[start["arn"]] = len(events)
    execution.exec_worker = worker
    execution.exec_status = ExecutionStatus.RUNNING
    machine.executions.append(execution)
    _stepped[start["arn"]] = threading.Event()
    return worker


def _crediting_first_wait(base, began_at: float):
    class FreshWorker(base):
        def _get_evaluation_entrypoint(self):
            return _timeout_left(super()._get_evaluation_entrypoint(), began_at)

        def _get_evaluation_environment(self):
            env = super()._get_evaluation_environment()
            env.gluelab_waited_s = max(0.0, time.time() - began_at)
            return env
    return FreshWorker


def resume(context) -> list[str]:
    """Every execution that was running when the cloud last stopped runs on; says so in the log."""
    files = sorted(_folder.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    if not files:
        return []
    resumed, workers = [], []
    for path in files:
        records = _read(path)
        if not records:
            path.unlink()
            continue
        start = records[0]
        try:
            outcome = _resume_one(records)
        except Exception:  # one bad file must not stop the others
            log.exception("resuming %s", path)
            outcome = (f"the local cloud failed to run it on from its saved progress (its "
                       f"error is in this log, under 'resuming {path}')")
        if isinstance(outcome, str):
            if outcome != ENDED:
                print(f"warning: could not resume execution {start['arn']}: {outcome}", flush=True)
            path.unlink()
            continue
        workers.append((start["arn"], outcome))
        resumed.append(start["arn"])
        print(f"resumed execution {start['name']} of {start['machine'].rsplit(':', 1)[-1]} at "
              f"{records[-1].get('next', 'its first state')}", flush=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    print(f"{stamp} resumed {len(resumed)} running execution(s) from their last completed "
          f"transition; a task that was in flight runs again (at-least-once)", flush=True)
    threading.Thread(target=_start_one_by_one, args=(workers,), daemon=True,
                     name="resume").start()
    return resumed


def _start_one_by_one(workers: list) -> None:
    """Every Lambda worker died with the cloud: resumed executions all starting at once would
    each cold-start one, more than a small machine affords. Each goes on once the one before
    has taken a step (or STEP_WAIT_S passed); all of them show RUNNING meanwhile."""
    for arn, worker in workers:
        stepped = _stepped.get(arn)
        worker.start()
        if stepped is not None:
            stepped.wait(STEP_WAIT_S)
