"""A flat restart: moto's state saved whole (pickled) so a start does not replay all history.

The journal (persistence.py) stays the record of every change; the snapshot says how much of it
it covers (a byte offset, and a digest of the journal's first line so a different journal is
never taken for this one). A start loads the snapshot and replays only the journal after it; a
snapshot that cannot be read (a moto upgrade, a half-written file from before atomic renames)
means a full replay, which is slower but loses nothing. A snapshot is written with an atomic
rename (a kill -9 leaves the old one or the new one) while the cloud runs, once changes have
settled (no change for IDLE_S) or piled up (MAX_PENDING journal entries); a stop saves nothing,
so it is immediate, and the next start replays what came after the last snapshot.

What is not in a snapshot: running Step Functions executions (durable_executions.py resumes them
from their own files; an ended one is saved as it ended) and the Lambda runtime's worker processes.
Asynchronous Lambda events still queued or running are: the header keeps their journal notes
(persistence.CLOSED_BY), and a start queues them again.

A start reads nothing but the snapshot's header: each service's state is a part of its own,
unpickled after the cloud answers (warm_start.py), or when something first uses that service's
backends (first_use.py), so a start does not import every service moto has state for before
it answers (SSM alone pulls in EC2's models, the Step Functions backend its whole
interpreter). Objects shared between services (a stack's Lambda
function is the Lambda backend's) are saved once, in the first part that reaches them; a later
part refers to them by (part, memo index), so loading it loads that part first and sharing
survives. A snapshot's bytes are checked against their digest at start, so a part that is
unpickled later is one that was read whole.
"""
from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import importlib
import io
import os
import pickle
import re
import signal
import sys
import threading
import time
import types
import uuid
import weakref
from collections import defaultdict
from functools import partial
from pathlib import Path

import moto
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gluelab.cloud import first_use


FILE = "snapshot.pickle"
FORMAT = 2  # 1: one pickle of every backend; 2: a header, then one part per service
# Saved before the others (other services' objects point into them: a Lambda function holds its
# logs backend, a stack every resource it made), and CloudFormation, which reaches all, last.
FIRST = ("moto.iam.models", "moto.sts.models", "moto.logs.models", "moto.s3.models")
LAST = ("moto.cloudformation.models",)
# Values whose identity nothing relies on (or that pickle saves by name): never a reference to
# another part, which would make loading one service load another for nothing.
_UNSHARED = (str, bytes, int, float, complex, bool, type(None), tuple, frozenset, type,
             types.FunctionType, types.BuiltinFunctionType, types.MethodType, types.ModuleType,
             enum.Enum, datetime.date, datetime.time, datetime.timedelta, datetime.tzinfo,
             decimal.Decimal, uuid.UUID, re.Pattern)
IDLE_S = 2.0
MAX_PENDING = 500
_finished_executions = None  # gluelab.cloud.finished_executions, set by Saver (circular import)
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


class _Dropped:
    """Stands in for a running execution, which is resumed from its own file instead."""


def _finished(described: dict, events: bytes) -> object:
    from gluelab.cloud.finished_executions import FinishedExecution  # loading: imports are fine
    return FinishedExecution(described, events)


def _private_key(pem: bytes):
    # a key this cloud made and saved: checking its maths again took 35 ms of each start
    return serialization.load_pem_private_key(pem, None, unsafe_skip_rsa_key_validation=True)


def _public_key(pem: bytes):
    return serialization.load_pem_public_key(pem)


def _defaultdict(cls, factory):
    made = cls.__new__(cls)
    defaultdict.__init__(made, factory)
    return made


def _sized_dict(cls, items: dict):
    """DynamoDB's item attributes, put back as written: their class checks an item's whole size
    at every key set, which made loading 1,000 items take 200 ms (moto's deepcopy skips it too)."""
    made = cls.__new__(cls)
    dict.update(made, items)
    return made


def _named(factory) -> bool:
    return factory is None or "<" not in getattr(factory, "__qualname__", "<")


def _factory(factory):
    """A picklable default_factory making what `factory` (a lambda in moto's code) makes."""
    if _named(factory):
        return factory
    sample = factory()
    if isinstance(sample, defaultdict):
        return partial(defaultdict, _factory(sample.default_factory))
    if type(sample) in (dict, list, set):
        return type(sample)
    raise TypeError(f"cannot save a defaultdict made by {factory.__qualname__}")


class _Pickler(pickle.Pickler):
    """pickle, taught the few things moto holds that pickle cannot save as they are, and to
    refer to objects that an earlier part saved (`earlier`: id -> (part, memo index))."""

    def __init__(self, file, earlier: dict | None = None):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.earlier = earlier or {}

    def persistent_id(self, obj):
        if isinstance(obj, _UNSHARED):
            return None
        return self.earlier.get(id(obj))

    def reducer_override(self, obj):
        if isinstance(obj, _LOCK_TYPES):
            return (threading.RLock, ()) if "RLock" in type(obj).__name__ else (threading.Lock, ())
        if isinstance(obj, weakref.WeakValueDictionary):  # its values are saved where they live
            return (weakref.WeakValueDictionary, (dict(obj),))
        if isinstance(obj, defaultdict) and (type(obj) is not defaultdict
                                             or not _named(obj.default_factory)):
            # moto's subclasses take other arguments (SSM's ParameterDict), or lambdas make values
            return (_defaultdict, (type(obj), _factory(obj.default_factory)),
                    getattr(obj, "__dict__", None) or None, None, iter(obj.items()))
        if type(obj).__name__ == "LimitedSizeDict":
            return (_sized_dict, (type(obj), dict(obj)))
        if isinstance(obj, rsa.RSAPrivateKey):  # Cognito's signing key
            return (_private_key, (obj.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()),))
        if isinstance(obj, rsa.RSAPublicKey):
            return (_public_key, (obj.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),))
        if type(obj).__name__ in ("Execution", "SyncExecution") and hasattr(obj, "exec_worker"):
            if obj.exec_status is None or obj.exec_status.value == "RUNNING":
                return (_Dropped, ())
            described, events = _finished_executions.describe(obj)
            # its history as one string, unpickled when it is asked for (FinishedExecution)
            return (_finished, (described, pickle.dumps(events, pickle.HIGHEST_PROTOCOL)))
        return NotImplemented


def _backend_dicts() -> dict[tuple[str, str], dict]:
    """Every loaded service's BackendDict with something in it, by (module, attribute)."""
    from moto.core.base_backend import BackendDict
    found: dict[int, tuple[tuple[str, str], dict]] = {}
    for name, module in list(sys.modules.items()):
        if module is None or not (name.startswith("moto.") and name.endswith("models")):
            continue
        for attribute, value in list(vars(module).items()):
            if isinstance(value, BackendDict) and value:  # imported elsewhere too: once,
                known = found.get(id(value))  # by the module that defines its backend, whose
                if known is None or name == value.backend.__module__:  # import loads it
                    found[id(value)] = ((name, attribute), value)
    return dict(found.values())


def head_digest(journal: Path) -> str:
    try:
        with journal.open("rb") as file:
            return hashlib.sha256(file.readline()).hexdigest()
    except OSError:
        return ""


def _order(key: tuple[str, str]) -> tuple[int, str]:
    module = key[0]
    return (0 if module in FIRST else 2 if module in LAST else 1, module)


def _parts(backends: dict) -> tuple[list, list[bytes]]:
    """Each BackendDict's accounts pickled on its own, in _order; what they are, their bytes."""
    earlier: dict[int, tuple[int, int]] = {}
    keep = []  # every saved object stays alive until the end: its id is never reused
    keys, blobs = sorted(backends, key=_order), []
    for index, key in enumerate(keys):
        buffer = io.BytesIO()
        pickler = _Pickler(buffer, earlier)
        pickler.dump(dict(backends[key]))
        memo = pickler.memo.copy()
        keep.append(memo)
        for identity, (position, obj) in memo.items():
            if not isinstance(obj, _UNSHARED):
                earlier[identity] = (index, position)
        blobs.append(buffer.getvalue())
    return keys, blobs


def save(state_dir: Path, covers: dict, backends: dict) -> None:
    """Write the snapshot of `backends` (from _backend_dicts) with what of the journal it covers."""
    keys, blobs = _parts(backends)
    digest = hashlib.sha256()
    for blob in blobs:
        digest.update(blob)
    header = pickle.dumps({"format": FORMAT, "moto": moto.__version__, **covers,
                           "parts": [(*key, len(blob)) for key, blob in zip(keys, blobs)],
                           "digest": digest.hexdigest()}, protocol=pickle.HIGHEST_PROTOCOL)
    temporary = state_dir / f".{FILE}.{os.getpid()}"
    with temporary.open("wb") as file:
        file.write(header)
        for blob in blobs:
            file.write(blob)
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(state_dir / FILE)


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: memoryview, parts: "Parts"):
        super().__init__(io.BytesIO(data))
        self.parts = parts

    def persistent_load(self, reference):
        part, position = reference
        return self.parts.memo(part)[position]


class Parts:
    """A read snapshot's parts, each put into moto when its service is first used (first_use)."""

    def __init__(self, header: dict, data: bytes):
        self.keys, self.slices, start = [], [], 0
        for module, attribute, length in header["parts"]:
            self.keys.append((module, attribute))
            self.slices.append(memoryview(data)[start:start + length])
            start += length
        self.memos: dict[int, dict] = {}
        self.lock = threading.RLock()

    def memo(self, index: int) -> dict:
        """Part `index` put into moto (once); what its unpickling made, by memo index."""
        with self.lock:
            if index not in self.memos:
                module, attribute = self.keys[index]
                target = getattr(importlib.import_module(module), attribute)
                unpickler = _Unpickler(self.slices[index], self)
                accounts = unpickler.load()
                for account in accounts.values():
                    for backend in account.values():
                        _drop_running_executions(backend)
                dict.update(target, accounts)
                self.memos[index] = unpickler.memo.copy()
                self.slices[index] = None  # its bytes are not needed again
            return self.memos[index]


def _read(path: Path) -> tuple[dict, bytes]:
    with path.open("rb") as file:
        header = pickle.load(file)
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            return header if isinstance(header, dict) else {}, b""
        data = file.read()
    if hashlib.sha256(data).hexdigest() != header["digest"]:
        raise pickle.UnpicklingError("its parts do not match their digest")
    return header, data


def load(state_dir: Path, journal: Path) -> dict | None:
    """Make the snapshot's state moto's (each service's as it is first read); what it covers,
    or None (then replay everything)."""
    path = state_dir / FILE
    for unfinished in state_dir.glob(f".{FILE}.*"):  # a save cut short by a stop or a crash
        unfinished.unlink()
    if not path.exists():
        return None
    try:
        snapshot, data = _read(path)
        usable = (snapshot.get("format") == FORMAT and snapshot.get("moto") == moto.__version__
                  and journal.exists() and journal.stat().st_size >= snapshot["journal_bytes"]
                  and head_digest(journal) == snapshot["journal_head"])
    except Exception as exc:  # any unreadable snapshot: the journal has everything
        print(f"warning: the saved snapshot {path} cannot be read ({type(exc).__name__}); "
              f"replaying the whole journal instead", flush=True)
        return None
    if not usable:
        cause = (f"is of an older format ({snapshot.get('format', 1)})"
                 if snapshot.get("format") != FORMAT else "does not match this journal or moto version")
        print(f"the saved snapshot {path} {cause}; replaying the whole journal instead (a new "
              f"snapshot is saved once the cloud has been idle for {IDLE_S:g} s)", flush=True)
        return None
    parts = Parts(snapshot, data)
    for index, key in enumerate(parts.keys):
        first_use.on_first_use(key, partial(parts.memo, index))
    return snapshot


def _drop_running_executions(backend) -> None:
    for machine in getattr(backend, "state_machines", None) or ():
        executions = getattr(machine, "executions", None)
        if executions is not None:
            executions[:] = [e for e in executions if not isinstance(e, _Dropped)]


class Saver:
    """Saves a snapshot once changes settle (IDLE_S) or pile up (MAX_PENDING), from a forked
    copy of the process (as Redis's BGSAVE does): requests wait only for the fork, not for
    the pickling, and the copy is the state exactly as the journal's first `lines` made it."""

    def __init__(self, journal, saved_lines: int):
        self.journal = journal
        self.saved_lines = saved_lines  # a journal tail replayed at start is pending too
        global _finished_executions
        from gluelab.cloud import finished_executions  # the forked copy must import nothing
        _finished_executions = finished_executions

    def pending(self) -> int:
        return self.journal.lines - self.saved_lines

    def save_now(self) -> None:
        started = time.perf_counter()
        first_use.restore_everything()  # what waits for its first use goes into the snapshot
        with self.journal.lock, self.journal.file_lock:
            lines, path = self.journal.lines, self.journal.path
            covers = {"count": self.journal.count, "lines": lines,  # measured before the fork:
                      "journal_bytes": path.stat().st_size if path.exists() else 0,  # it goes on
                      "journal_head": head_digest(path),
                      "open_notes": list(self.journal.open_notes.values())}
            backends = _backend_dicts()
            pid = os.fork()
            if pid == 0:  # the copy: save and leave, touching nothing the parent's threads held
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                try:
                    save(path.parent, covers, backends)
                except BaseException:
                    os._exit(1)
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status != 0:  # the journal still has everything; the next attempt may do better
            print(f"warning: saving a snapshot failed (status {status}); a start replays the "
                  f"journal after the last snapshot", flush=True)
            return
        self.saved_lines = lines
        print(f"saved a snapshot of {lines} journal entries in "
              f"{(time.perf_counter() - started) * 1000:.0f} ms", flush=True)

    def run(self) -> None:
        while True:
            time.sleep(0.5)
            pending = self.pending()
            idle = time.monotonic() - self.journal.last_change
            if pending and (idle >= IDLE_S or pending >= MAX_PENDING):
                self.save_now()
