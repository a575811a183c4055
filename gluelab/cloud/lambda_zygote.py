"""Lambda workers forked from a Python that has imported boto3 already, instead of started anew.

Every Lambda Python runtime provides boto3, and nearly every handler imports it: on a busy
2-core machine that import was 0.9 s of a 1.5 s cold start, and twenty handsets texting at once
queued behind twenty of them. The zygote (this file, run by path: it imports nothing of
gluelab) imports boto3 and the botocore modules a client needs, then forks one child per worker;
the child takes the worker's environment, folder and channel and runs lambda_worker.main(), so
the handler's own init (its module) still runs in the child, as Lambda's init phase does.

It also imports what the workshop's functions borrow from the workshop's environment (BORROWED:
twilio, which the receiver and notify import, with requests), and the Twilio stand-in's redirect
that a twilio user's worker installs: in each of a burst's first cold starts those imports took
70-350 ms. A worker's guard (lambda_packages) forgets what its function may not import, as it
forgets the rest of what the zygote loaded; a zip that brings its own copy of any module the
zygote loaded (boto3, twilio, requests, ...: the top-level names it reports when ready) gets a
worker started anew, so that its copy wins, as on Lambda.

What the zygote imported is frozen out of the garbage collector's sight (gc.freeze) before the
first fork: a child's collections would otherwise write to every inherited object's header, and
each page written is copied into the child. Frozen, a child that builds two boto3 clients (and
imports twilio) keeps 7-8 MB less of its own (private) memory, 22 MB instead of 30 without
twilio; the rest stays shared with the zygote.

The cloud keeps one zygote (Keeper): started in the cloud's warm-up, or by the first
CreateFunction or cold start after it retired, so that its preloads are done before the first
invocation. A cold start that finds it still starting waits for it (up to READY_WAIT_S) rather
than start a Python of its own, which would import boto3 again beside the zygote's preloads,
on the same cores: a burst's cold starts all wait for one preload, and fork in milliseconds.
Only the cold start that finds no zygote at all starts anew (and starts the zygote). It
retires with the last idle worker, or after the idle timeout if no worker was forked from it
(about 50 MB on an idle cloud until then).

Protocol over a SOCK_SEQPACKET socket (argv[1]): zygote -> cloud {"ready": true, "modules":
[top-level names it loaded]} once preloaded; cloud -> zygote {"env", "cwd"} with the worker's
channel as the one passed descriptor; zygote -> cloud {"pid"} for it, and {"exited": pid,
"code": returncode} when a worker ends (negative: the signal, as Popen says).
"""
from __future__ import annotations

import gc
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

MESSAGE_BYTES = 1 << 20
READY_WAIT_S = 5.0  # then a cold start is started anew; the zygote is ready in about 1 s
# Distribution -> the modules of it that the workshop's functions import; preloaded where the
# environment has it.
BORROWED = {"twilio": ("twilio.rest", "twilio.request_validator",
                       "twilio.twiml.messaging_response")}
PRELOADED = ("boto3", "botocore.client", "botocore.endpoint", "botocore.parsers",
             "botocore.serialize", "botocore.httpsession", "botocore.regions",
             "botocore.credentials", "botocore.auth", "botocore.retries.standard")


# --- the cloud's side ------------------------------------------------------------------------

def environment() -> dict[str, str]:
    """The zygote's: its guard lets it import the runtime's boto3 and what BORROWED names."""
    from gluelab.cloud import lambda_packages
    guard = lambda_packages.worker_environment(None, tuple(BORROWED))
    guard.pop(lambda_packages.MISSING_VAR, None)  # not installed here: not preloaded either
    return {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "TZ": ":UTC", **guard}


class Forked:
    """A worker process forked by the zygote, with what the runtime uses of subprocess.Popen."""

    def __init__(self, pid: int, zygote: Zygote):
        self.pid = pid
        self.zygote = zygote

    def poll(self) -> int | None:
        return self.zygote.exits.get(self.pid)

    def wait(self, timeout: float | None = None) -> int:
        zygote = self.zygote
        with zygote.ended:  # a zygote that died took its workers with it (PR_SET_PDEATHSIG)
            if not zygote.ended.wait_for(lambda: self.pid in zygote.exits or zygote.gone,
                                         timeout):
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            return zygote.exits.get(self.pid, -signal.SIGKILL)

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Zygote:
    """The cloud's handle on the zygote process; fork() fails with OSError once it is gone."""

    def __init__(self, spawn, env: dict[str, str]):
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            self.process = spawn([sys.executable, __file__, str(theirs.fileno()),
                                  str(os.getpid())], pass_fds=(theirs.fileno(),), env=env)
        finally:
            theirs.close()
        self.channel = ours
        self.lock = threading.Lock()  # one fork request at a time: replies come in order
        self.pids: queue.Queue = queue.Queue()
        self.exits: dict[int, int] = {}
        self.ended = threading.Condition()
        self.ready = threading.Event()  # preloads done (or the zygote gone): fork, or not
        self.forked = 0  # workers forked so far
        self.modules: frozenset[str] = frozenset()  # top-level names it loaded, once ready
        self.gone = False
        threading.Thread(target=self._read, name="lambda-zygote", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = self.channel.recv(MESSAGE_BYTES)
            except OSError:
                data = b""
            if not data:  # the zygote ended: waiting forks fail, exits will not come
                self.pids.put(None)
                with self.ended:
                    self.gone = True
                    self.ended.notify_all()
                self.ready.set()  # cold starts waiting for it find it gone
                return
            message = json.loads(data)
            if "ready" in message:
                self.modules = frozenset(message["modules"])
                self.ready.set()
            elif "pid" in message:
                self.pids.put(message["pid"])
            else:
                with self.ended:
                    self.exits[message["exited"]] = message["code"]
                    self.ended.notify_all()

    def shadowed_by(self, task_root: Path) -> bool:
        """Whether the function's package brings its own copy of a module this zygote loaded:
        that copy must win, as on Lambda (a folder, a .py, an extension module)."""
        return any(entry.name.partition(".")[0] in self.modules for entry in os.scandir(task_root))

    def fork(self, env: dict[str, str], cwd: Path, channel_fd: int) -> Forked:
        with self.lock:
            socket.send_fds(self.channel, [json.dumps({"env": env, "cwd": str(cwd)}).encode()],
                            [channel_fd])
            try:
                pid = self.pids.get(timeout=10)
            except queue.Empty:
                pid = None
        if pid is None:
            raise OSError("the Lambda zygote process did not fork a worker")
        self.forked += 1
        return Forked(pid, self)

    def stop(self) -> None:
        self.channel.close()
        self.process.kill()
        self.process.wait()


class Keeper:
    """The cloud's one zygote: start() it ahead of need, ready() it for a cold start, stop() it
    when the last worker retires. `environment()` is the zygote's; `in_use()` says whether any
    worker lives."""

    def __init__(self, spawn, environment, idle_s: float, in_use):
        self.spawn, self.environment, self.idle_s, self.in_use = spawn, environment, idle_s, in_use
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.zygote: Zygote | str | None = None  # "starting" while it starts

    def start(self) -> None:
        """Start a zygote (in the background) unless there is one."""
        with self.lock:
            self._start()

    def _start(self) -> bool:
        """Whether there was no zygote: it is starting now."""
        if isinstance(self.zygote, Zygote) and self.zygote.gone:
            self.zygote = None  # it died (its workers with it): start another
        if self.zygote is not None:
            return False
        self.zygote = "starting"
        threading.Thread(target=self._run, name="lambda-zygote-start", daemon=True).start()
        return True

    def _run(self) -> None:
        zygote = None
        try:
            zygote = Zygote(self.spawn, self.environment())
        except OSError as exc:  # workers are started anew; the next cold start tries again
            print(f"Lambda: the zygote process could not start ({exc.strerror or exc}); "
                  f"workers start anew.", flush=True)
        finally:  # nobody waits for a zygote that is not coming
            with self.changed:
                self.zygote = zygote
                self.changed.notify_all()
        if zygote is not None:
            retire = threading.Timer(self.idle_s, self._retire_unused, args=(zygote,))
            retire.daemon = True
            retire.start()

    def ready(self, wait_s: float = READY_WAIT_S) -> Zygote | None:
        """The zygote to fork from, waited for while it starts; None if it is not ready within
        wait_s, or if there was none (it is started, and this lone cold start, after the
        zygote retired with the last idle worker, is quicker started anew)."""
        deadline = time.monotonic() + wait_s
        with self.changed:
            if self._start():
                return None
            self.changed.wait_for(lambda: self.zygote != "starting", wait_s)
            zygote = self.zygote
        if not isinstance(zygote, Zygote):
            return None
        zygote.ready.wait(max(0.0, deadline - time.monotonic()))
        return zygote if zygote.ready.is_set() and not zygote.gone else None

    def _retire_unused(self, zygote: Zygote) -> None:
        """Started ahead and never forked from: it retires as an idle worker would."""
        with self.lock:
            unused = self.zygote is zygote and not zygote.forked and not self.in_use()
        if unused:
            self.stop()

    def stop(self) -> None:
        """Every worker has retired for idleness: so does the zygote (about 50 MB); the next
        cold start starts another."""
        with self.lock:
            zygote = self.zygote
            if isinstance(zygote, Zygote):
                self.zygote = None
        if isinstance(zygote, Zygote):  # one still starting stays: it retires unused later
            zygote.stop()


# --- the zygote's side -----------------------------------------------------------------------

def _run_worker(channel: socket.socket, worker_fd: int, request: dict) -> None:
    """In the forked child: become the worker, as if started with its env and folder."""
    channel.close()
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.path.insert(0, request["cwd"])  # lambda_worker.init() puts the task root first
    import lambda_worker
    sys.argv = [lambda_worker.__file__, str(worker_fd), str(os.getppid())]
    lambda_worker.main()
    raise SystemExit(0)  # through the interpreter's own exit, as a worker started anew


def _zygote() -> None:
    import importlib
    channel = socket.socket(fileno=int(sys.argv[1]))
    import lambda_worker  # this file's folder is first on sys.path (run by path)
    import lambda_sdk_data
    lambda_worker.die_with_parent(int(sys.argv[2]))
    del sys.path[0]  # nothing of gluelab's folder shadows what boto3 imports
    lambda_worker.lambda_packages.guard(None)  # boto3 as Lambda's runtime has it (no awscrt)
    for name in PRELOADED:
        importlib.import_module(name)
    lambda_sdk_data.preload()  # botocore's data files, parsed once for every worker
    for modules in BORROWED.values():
        try:
            for name in modules:
                importlib.import_module(name)
        except ImportError:  # not in this environment: no function borrows it either
            pass
    if "twilio" in sys.modules:
        lambda_worker.twilio_redirect()  # what a twilio user's worker installs (not done here)
    gc.collect()  # garbage frozen would never be freed
    gc.freeze()
    loaded = ({name.partition(".")[0] for name, module in sys.modules.items()
               if getattr(module, "__file__", None)} - set(sys.stdlib_module_names)
              - lambda_worker.lambda_packages.RUNTIME_MODULES)
    channel.send(json.dumps({"ready": True, "modules": sorted(loaded)}).encode())

    def reap(signum, frame) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            channel.send(json.dumps({"exited": pid,
                                     "code": os.waitstatus_to_exitcode(status)}).encode())
    signal.signal(signal.SIGCHLD, reap)
    while True:
        # SIGCHLD held back until the new worker's pid is sent: its exit is never told first.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        message, fds, _, _ = socket.recv_fds(channel, MESSAGE_BYTES, 1)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        if not message:  # the cloud closed the channel
            return
        pid = os.fork()
        if pid == 0:
            _run_worker(channel, fds[0], json.loads(message))
        os.close(fds[0])
        channel.send(json.dumps({"pid": pid}).encode())


if __name__ == "__main__":
    _zygote()
