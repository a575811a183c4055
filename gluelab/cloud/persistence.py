"""Persistence: the local cloud keeps a journal of the AWS API calls that changed something
and replays it on start, so stacks, functions, tables, items, parameters and secrets survive
`gluelab cloud stop` / `start`.

moto keeps everything in memory. Replaying the calls that built that memory is the one
restore path that stays correct across moto's many models. Every journaled call runs with
a recorded seed for moto's random source (see seeding.py), so ids (API ids, hence API URLs)
come back the same. Calls with side effects beyond state (Lambda Invoke, StartExecution) are not replayed:
a restart must not send an SMS twice. What those calls left behind (Lambda logs, finished
executions) goes into the same journal as records, in order with the calls, and is restored
as it was by the module that wrote it (see `note` and `restores`). Every entry is fsync'd before
the call answers, except log lines: those are written (a crash of the cloud process keeps them,
they are in the OS's cache) and reach the disk with the next fsync, so a power cut can lose the
newest ones; the call they belong to was already answered by the function, not by the journal. A start loads the last snapshot (snapshot.py) and replays only what follows it.
"""
from __future__ import annotations

import base64
import io
import json
import logging
import os
import threading
import time
from functools import partial
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs

from werkzeug.test import EnvironBuilder
from werkzeug.wsgi import get_input_stream

from gluelab.cloud import first_use, seeding, snapshot

log = logging.getLogger("gluelab.persistence")

JOURNAL = "journal.jsonl"
READ_PREFIXES = ("Describe", "Get", "List", "Query", "Scan", "BatchGet", "Validate",
                 "Estimate", "Search", "Test", "Head")
SIDE_EFFECTS = {"Invoke", "InvokeAsync", "InvokeWithResponseStream", "StartExecution",
                "StartSyncExecution", "StopExecution", "SendTaskSuccess", "SendTaskFailure",
                "SendTaskHeartbeat", "AdminInitiateAuth", "InitiateAuth",
                "RespondToAuthChallenge"}
NOT_AWS = ("/_gluelab", "/moto-api", "/api/", "/2010-04-01/Accounts", "/twilio/")
LAMBDA_INVOKE_SUFFIXES = ("/invocations", "/invoke-async", "/response-streaming-invocations")

# A note that stays open until its end is noted (a queued asynchronous Lambda event until it
# has run): a snapshot keeps the open ones, which lie before the journal tail a start replays.
CLOSED_BY = {"lambda-event": "lambda-event-done"}
_CLOSING = set(CLOSED_BY.values())

_journal: "Journal | None" = None
_restorers: dict[str, Callable[[dict], None]] = {}


def restores(kind: str):
    """Register the function that puts a `note`d record of `kind` back on start."""
    def register(restore: Callable[[dict], None]) -> Callable[[dict], None]:
        _restorers[kind] = restore
        return restore
    return register


def note(kind: str, record: dict, sync: bool = True) -> None:
    """Keep something that happened outside an API call (JSON-safe `record`) across restarts;
    `sync=False` skips the fsync (see the module's docstring for what that risks)."""
    if _journal is not None:
        _journal.append({"kind": kind, **record}, sync)


def action_of(environ: dict, body: bytes) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1]
    for source in (environ.get("QUERY_STRING", ""), _form_text(environ, body)):
        values = parse_qs(source).get("Action")
        if values:
            return values[0]
    return None


def _form_text(environ: dict, body: bytes) -> str:
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        return body.decode("utf-8", "replace")
    return ""


def changes_state(environ: dict, body: bytes) -> bool:
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "")
    if method in ("GET", "HEAD", "OPTIONS") or path.startswith(NOT_AWS):
        return False
    if path.endswith(LAMBDA_INVOKE_SUFFIXES):
        return False
    action = action_of(environ, body)
    if action is None:  # REST-style services (S3, Lambda, API Gateway): the method says it
        return True
    return action not in SIDE_EFFECTS and not action.startswith(READ_PREFIXES)


def _headers(environ: dict) -> dict[str, str]:
    headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items()
               if k.startswith("HTTP_")}
    for key, name in (("CONTENT_TYPE", "Content-Type"), ("CONTENT_LENGTH", "Content-Length")):
        if environ.get(key):
            headers[name] = environ[key]
    return headers


def buffered_body(environ: dict) -> bytes:
    """The request's body, read once and put back, so that the layers and moto after can read
    it too (every layer that looks at a body reads it through here)."""
    body = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


class Journal:
    def __init__(self, app, path: Path):
        self.app = app
        self.path = path
        self.lock = threading.Lock()  # one call at a time, so each runs with its own seed
        self.file_lock = threading.Lock()  # records are noted while a call holds `lock`
        self.count = 0  # seeds given so far
        self.lines = 0  # entries in the file
        self.last_change = time.monotonic()
        self.open_notes: dict[str, dict] = {}  # id -> a CLOSED_BY note not yet closed

    def track(self, entry: dict) -> None:
        if entry.get("kind") in CLOSED_BY:
            self.open_notes[entry["id"]] = entry
        elif entry.get("kind") in _CLOSING:
            self.open_notes.pop(entry["id"], None)

    def append(self, entry: dict, sync: bool = True) -> None:
        # on disk before the call answers: what was acknowledged survives a crash
        with self.file_lock, self.path.open("a") as journal:
            journal.write(json.dumps(entry) + "\n")
            journal.flush()
            if sync:
                os.fsync(journal.fileno())
            self.lines += 1
            self.track(entry)
            self.last_change = time.monotonic()

    def replay(self, lines: int = 0, offset: int = 0) -> tuple[int, list[str]]:
        """Re-run the journaled calls after the first `lines` (`offset` bytes, which a snapshot
        holds already); returns how many ran and what failed, in words. The entries at the end
        that change one service alone run when that service is first used (first_use.py); what
        they fail at is added to the list then."""
        if not self.path.exists():
            return 0, []
        failures: list[str] = []
        with self.path.open("rb") as file:
            file.seek(offset)
            tail = [json.loads(line) for line in file.read().decode().splitlines()]
        waiting = first_use.waiting_from(tail)
        for number, entry in enumerate(tail, lines + 1):
            if number - lines > waiting:
                first_use.on_first_use(first_use.service_of(entry),
                                       partial(self._replay_later, number, entry, failures))
            else:
                self.count = self.lines = number
                self.track(entry)
                failure = self._replay_one(number, entry)
                if failure:
                    failures.append(failure)
        self.count = self.lines = lines + len(tail)
        return waiting, failures

    def _replay_one(self, number: int, entry: dict) -> str | None:
        if "kind" in entry:
            failure = _restore(entry)
            return failure and f"journal entry {number} ({entry['kind']}): {failure}"
        environ = EnvironBuilder(
            path=entry["path"], method=entry["method"], query_string=entry["query"],
            headers=entry["headers"], data=base64.b64decode(entry["body"])).get_environ()
        status = []
        seeding.seed(entry["seed"])
        chunks = self.app(environ, lambda s, h, e=None: status.append(s))
        b"".join(chunks)
        if not status or not status[0].startswith(("2", "3")):
            return (f"journal entry {number} ({entry['method']} {entry['path']}) "
                    f"answered {status[0] if status else 'nothing'}")
        return None

    def _replay_later(self, number: int, entry: dict, failures: list[str]) -> None:
        with seeding.own_stream():  # in the middle of another call, whose ids must not change
            failure = self._replay_one(number, entry)
        if failure:
            failures.append(failure)
            print(f"warning: could not restore {failure}", flush=True)

    def __call__(self, environ, start_response):
        body = buffered_body(environ)
        if not changes_state(environ, body):
            return self.app(environ, start_response)
        with self.lock:
            self.count += 1
            seed = self.count
            seeding.seed(seed)
            status = []

            def recording_start_response(s, headers, exc_info=None):
                status.append(s)
                return start_response(s, headers, exc_info)

            response = b"".join(self.app(environ, recording_start_response))
            if status and status[0].startswith(("2", "3")):
                self.append({"seed": seed, "method": environ["REQUEST_METHOD"],
                             "path": environ.get("PATH_INFO", ""),
                             "query": environ.get("QUERY_STRING", ""),
                             "headers": _headers(environ),
                             "body": base64.b64encode(body).decode()})
            return [response]


def _restore(entry: dict) -> str | None:
    """Put one noted record back; what went wrong, in words, or None."""
    restore = _restorers.get(entry["kind"])
    if restore is None:
        return "no part of this local cloud restores it"
    try:
        restore(entry)
    except Exception as exc:  # one bad record must not stop the cloud from starting
        log.exception("restoring a %s record", entry["kind"])
        return f"{type(exc).__name__}: {exc}"
    return None


def wrap(app, context):
    global _journal
    journal = Journal(app, context.state_dir / JOURNAL)
    covered = snapshot.load(context.state_dir, journal.path)
    if covered:
        print(f"restored a snapshot of {covered['lines']} saved changes", flush=True)
    reopened = []
    for entry in (covered or {}).get("open_notes", []):  # before the snapshot, still open
        journal.track(entry)
        failure = _restore(entry)
        if failure:
            reopened.append(f"a saved {entry['kind']}: {failure}")
    replayed, failures = journal.replay(*((covered["lines"], covered["journal_bytes"])
                                          if covered else ()))
    failures[:0] = reopened  # the same list: what the tail's later replays fail at joins it
    _journal = journal
    saver = snapshot.Saver(journal, covered["lines"] if covered else 0)
    threading.Thread(target=saver.run, daemon=True, name="snapshots").start()
    if replayed:
        print(f"restored {replayed} saved API calls from {journal.path}", flush=True)
    if journal.lines - (covered["lines"] if covered else 0) > replayed:
        print(f"{journal.lines - (covered['lines'] if covered else 0) - replayed} more are "
              f"restored when their service is first used", flush=True)
    for failure in failures:
        print(f"warning: could not restore {failure}", flush=True)
    context.restored = {"calls": journal.lines, "failures": failures}
    return journal
