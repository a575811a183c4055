"""Start, stop and inspect the local cloud process (`gluelab cloud ...`)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings

from gluelab.config import Settings, local_environment, settings

READY_TIMEOUT_S = 120  # a restart replays the saved state first: a second or more per ten deploys


class CloudError(RuntimeError):
    """The local cloud could not be started or reached; the message says what to do."""


def _pidfile(s: Settings):
    return s.state_dir / "cloud.pid"


def _logfile(s: Settings):
    return s.state_dir / "cloud.log"


def _get(s: Settings, name: str, timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(f"{s.endpoint}/_gluelab/{name}", timeout=timeout) as reply:
            return json.loads(reply.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _pid(s: Settings) -> int | None:
    try:
        pid = int(_pidfile(s).read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _log_tail(s: Settings, lines: int = 15) -> str:
    try:
        return "\n".join(_logfile(s).read_text().splitlines()[-lines:])
    except OSError:
        return "(no log yet)"


def start(s: Settings | None = None, quiet: bool = False, iam: bool = True) -> dict:
    """Start the local cloud unless it already runs; return its health once it answers.
    iam=False starts it with IAM enforcement off (an instructor's demo)."""
    s = s or settings()
    health = _get(s, "health")
    if health:
        return health
    if _port_taken(s.port):
        raise CloudError(
            f"Port {s.port} is taken by another program, so the local cloud cannot start. "
            f"Pick a free port with `export GLUELAB_PORT=4750` (or `gluelab cloud start --port 4750`).")
    s.state_dir.mkdir(parents=True, exist_ok=True)
    log = _logfile(s).open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "gluelab.cloud.server", "--port", str(s.port),
         "--state-dir", str(s.state_dir)] + ([] if iam else ["--no-iam"]),
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True, env={**os.environ, **local_environment(s)})
    _pidfile(s).write_text(str(process.pid))
    (s.state_dir / "cloud.port").write_text(str(s.port))  # read by config.running_port
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        health = _get(s, "health", timeout=0.5)
        if health:
            if not quiet:
                print(f"Local cloud ready on {s.endpoint}")
            problem = restore_problem(health)
            if problem:
                warnings.warn(problem, RestoreWarning, stacklevel=2)
            return health
        if process.poll() is not None:
            raise CloudError(f"The local cloud stopped while starting. Its log says:\n"
                             f"{_log_tail(s)}\nFix what it names, then run `gluelab cloud start`.")
        time.sleep(0.02)
    raise CloudError(f"The local cloud did not answer within {READY_TIMEOUT_S} s. "
                     f"See `gluelab cloud logs`; `gluelab cloud stop` then start to retry.")


class RestoreWarning(UserWarning):
    """Part of the saved state could not be restored when the local cloud started."""


def restore_problem(health: dict) -> str | None:
    """What a start could not restore, in words, or None when everything came back."""
    failures = (health.get("restored") or {}).get("failures") or []
    if not failures:
        return None
    shown = "\n".join(f"  - {failure}" for failure in failures[:5])
    more = f"\n  ... and {len(failures) - 5} more" if len(failures) > 5 else ""
    return (f"The local cloud started, but {len(failures)} saved change(s) could not be restored:\n"
            f"{shown}{more}\nWhat they made is missing. Deploy again (the lab's deploy cell or "
            f"`gluelab deploy`) to make it again, or `gluelab cloud reset` to start from an empty "
            f"cloud. The whole story is in `gluelab cloud logs`.")


def stop(s: Settings | None = None) -> bool:
    """Stop the local cloud; True if one was running. State stays on disk."""
    s = s or settings()
    pid = _pid(s)
    if pid is None:
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _pid(s) is not None:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.02)
    if _pid(s) is not None:
        os.killpg(pid, signal.SIGKILL)
    _pidfile(s).unlink(missing_ok=True)
    (s.state_dir / "cloud.port").unlink(missing_ok=True)
    return True


def reset(s: Settings | None = None) -> None:
    """Wipe everything the local cloud holds; restart it if it was running."""
    s = s or settings()
    was_running = stop(s)
    for name in ("journal.jsonl", "snapshot.pickle", "twilio.json", "twilio.changes.jsonl"):
        (s.state_dir / name).unlink(missing_ok=True)
    for folder in ("lambda", "executions"):
        shutil.rmtree(s.state_dir / folder, ignore_errors=True)
    if was_running:
        start(s)


def running(s: Settings | None = None) -> bool:
    return _get(s or settings(), "health") is not None


def status(s: Settings | None = None) -> dict | None:
    return _get(s or settings(), "status", timeout=10)


def connect() -> Settings:
    """One call for notebooks: make sure the active target is reachable and say which it is."""
    s = settings()
    if s.is_local:
        start(s, quiet=True)
        from gluelab.twilio_local import install_redirect  # the notebook's twilio Client -> stand-in
        install_redirect(s.endpoint)
    return s


def add_commands(subparsers) -> None:
    cloud = subparsers.add_parser("cloud", help="start, stop and inspect the local cloud")
    cloud.add_argument("action", choices=["start", "stop", "status", "logs", "reset"])
    cloud.add_argument("--port", type=int, help="port to serve on (default: GLUELAB_PORT or 4747)")
    cloud.add_argument("--no-iam", action="store_true",
                       help="start without enforcing IAM for functions' and state machines' roles")
    cloud.set_defaults(func=_cloud_command)
    env = subparsers.add_parser("env", help="print shell exports that point tools at the local cloud")
    env.add_argument("--unset", action="store_true",
                     help="print the shell commands that clear those settings instead")
    env.set_defaults(func=_env_command)


def _cloud_command(args) -> int:
    if args.port:
        os.environ["GLUELAB_PORT"] = str(args.port)
    s = settings()
    if args.port and args.port != s.port:
        print(f"The local cloud already runs on port {s.port}, so this talks to it; to move it "
              f"to {args.port}, run `gluelab cloud stop` first.", file=sys.stderr)
    try:
        if args.action == "start":
            was_running = _get(s, "health") is not None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RestoreWarning)  # said below, in the same words
                health = start(s, quiet=True, iam=not args.no_iam)
            print(f"Local cloud ready on {s.endpoint} (pid {health['pid']}); {_iam_words(health)}")
            if was_running and health.get("iam", True) == args.no_iam:
                print("It was already running: `gluelab cloud stop`, then start it again to "
                      "change IAM enforcement.")
            problem = None if was_running else restore_problem(health)
            if problem:
                print(f"warning: {problem}", file=sys.stderr)
        elif args.action == "stop":
            print("Local cloud stopped." if stop(s) else "The local cloud was not running.")
        elif args.action == "reset":
            reset(s)
            print("Local cloud reset: every stack, function, table and message is gone.")
        elif args.action == "logs":
            print(_log_tail(s, lines=200))
        else:
            info = status(s)
            if info is None:
                print(f"The local cloud is not running on {s.endpoint}. Start it with `gluelab cloud start`.")
                return 1
            print(f"endpoint: {info['endpoint']}\nuptime:   {info['uptime_s']} s\n"
                  f"iam:      {_iam_words(info)}")
            restored = info.get("restored") or {}
            failed = len(restored.get("failures") or [])
            print(f"restored: {restored.get('calls', 0)} saved changes at start"
                  + (f", {failed} of them could not be (`gluelab cloud logs`)" if failed else ""))
            workers, memory = info["workers"], info["memory_mb"]
            print(f"running:  {info['executions']['running']} executions, "
                  f"{workers['busy']} busy and {workers['idle']} idle Lambda workers, "
                  f"{info['queued_invocations']} queued invocations")
            print(f"memory:   {memory['cloud']} MB the cloud, {memory['workers']} MB its workers")
            for kind, names in info["deployed"].items():
                print(f"{kind + ':':16}{', '.join(names) if names else '-'}")
    except CloudError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _iam_words(info: dict) -> str:
    if info.get("iam", True):
        return "IAM enforced: functions and state machines get only what their roles allow"
    return "IAM not enforced (started with --no-iam): every call is allowed"


def _env_command(args) -> int:
    if args.unset:
        # Names only: built without settings(), which the aws target refuses while they are set.
        from gluelab import aws_target
        from gluelab.config import DEFAULT_PORT, ROOT
        names = local_environment(Settings("local", DEFAULT_PORT, ROOT, ROOT))
        print("\n".join(aws_target.unset_commands(names)))
        return 0
    for key, value in local_environment().items():
        print(f"export {key}={value}")
    return 0
