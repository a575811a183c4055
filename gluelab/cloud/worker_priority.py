"""Lambda workers that run background invocations yield the CPU to those somebody waits for.

The pool (lambda_pool.py) decides which waiting invocation gets a worker; once they run, the
operating system decides which process gets a core. A state machine's tasks (nobody waits for
them) and a webhook's function (Twilio waits, and so does the texter) run side by side on a
laptop's two cores; so a worker of a function only ever invoked in the background runs at a
lower priority (nice +BACKGROUND_NICE, relative to the cloud's own), and gets it back if a caller
who waits invokes that function later, where the system lets a process raise a priority again
(an unprivileged user may not: then it stays lower). Nothing an invocation does or returns
changes, only how soon it gets a core when the machine is busy.
"""
from __future__ import annotations

import os

BACKGROUND_NICE = 10


def prioritise(worker, background: bool) -> None:
    """Set `worker`'s process priority for an invocation of its function (see the docstring)."""
    base = os.getpriority(os.PRIO_PROCESS, 0)
    wanted = base + BACKGROUND_NICE if background else base
    if getattr(worker, "nice", base) == wanted:
        return
    try:
        os.setpriority(os.PRIO_PROCESS, worker.process.pid, wanted)
    except OSError:  # not allowed to raise it again, or the process has just ended
        return
    worker.nice = wanted
