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


def status() -> dict:
    cloud = psutil.Process()
    workers = lambda_runtime.pool_status()
    children = cloud.children(recursive=True)
    return {"executions": {"running": durable_executions.running()},
            "workers": {key: workers[key] for key in ("busy", "idle")},
            "queued_invocations": workers["queued"],
            "memory_mb": {"cloud": round(_rss_mb(cloud)),
                          "workers": round(sum(_rss_mb(child) for child in children))}}
