"""What an operator sees in `gluelab cloud status`: running executions, Lambda workers (busy,
idle), queued asynchronous invocations and memory (the cloud process and its workers)."""
from __future__ import annotations

import psutil

from gluelab.cloud import durable_executions, lambda_runtime


def _rss_mb(process: psutil.Process) -> float:
    try:
        return process.memory_info().rss / 2**20
    except psutil.Error:  # a worker that ended meanwhile
        return 0.0


def _workers(children: list[psutil.Process]) -> dict[str, int]:
    """The Lambda runtime's numbers: its worker processes are this process's children."""
    runtime = lambda_runtime._runtime
    with runtime.lock:
        idle = sum(len(pool) for pool in runtime.idle.values())
    live = sum(1 for child in children if _runs_worker(child))
    return {"busy": max(0, live - idle), "idle": idle,
            "queued": runtime.event_queue._work_queue.qsize()}


def _runs_worker(process: psutil.Process) -> bool:
    try:
        return str(lambda_runtime.WORKER_SCRIPT) in process.cmdline()
    except psutil.Error:
        return False


def status() -> dict:
    cloud = psutil.Process()
    children = cloud.children(recursive=True)
    workers = _workers(children)
    return {"executions": {"running": durable_executions.running()},
            "workers": {key: workers[key] for key in ("busy", "idle")},
            "queued_invocations": workers["queued"],
            "memory_mb": {"cloud": round(_rss_mb(cloud)),
                          "workers": round(sum(_rss_mb(child) for child in children))}}
