"""What an operator sees in `gluelab cloud status`: running executions, Lambda workers (busy,
idle), queued invocations and memory (the cloud process and its workers)."""
from __future__ import annotations

import os

from gluelab.cloud import durable_executions, lambda_runtime
from gluelab.cloud.lambda_pool import rss_mb


def status() -> dict:
    workers = lambda_runtime.worker_stats()
    return {"executions": {"running": durable_executions.running()},
            "workers": {"busy": workers.get("busy", 0), "idle": workers.get("idle", 0)},
            "queued_invocations": workers.get("queued", 0),
            "memory_mb": {"cloud": round(rss_mb(os.getpid())),
                          "workers": round(workers.get("rss_mb", 0))}}
