"""Measure the local cloud and write BENCHMARKS.md (run with `make bench`).

Each figure is the median of several runs on a private local cloud process (free port, temporary
state folder), so a running workshop is not disturbed.
"""
from __future__ import annotations

import datetime
import io
import json
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gluelab.cloud import process  # noqa: E402
from gluelab.config import settings  # noqa: E402

APP = ROOT / "tests" / "fixtures" / "sam_app"
RUNS = 5
HANDLER = "def handler(event, context):\n    return {'echo': event}\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def use_private_cloud() -> Path:
    state = Path(tempfile.mkdtemp(prefix="gluelab-bench-"))
    os.environ.update(GLUELAB_STATE_DIR=str(state), GLUELAB_PORT=str(free_port()),
                      GLUELAB_TARGET="local", AWS_ACCESS_KEY_ID="test",
                      AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1")
    return state


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def bench_start() -> dict:
    samples = []
    for _ in range(RUNS):
        state = use_private_cloud()
        s = settings()
        samples.append(timed(lambda: process.start(s, quiet=True)))
        process.stop(s)
        shutil.rmtree(state, ignore_errors=True)
    return {"start to ready (ms)": median_ms(samples)}


def _client(service):
    from gluelab.config import client
    return client(service)


def bench_invoke() -> dict:
    lam, iam = _client("lambda"), _client("iam")
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER)
    cold, warm = [], []
    for n in range(RUNS):
        name = f"bench-{n}"
        lam.create_function(FunctionName=name, Runtime="python3.11", Role=role,
                            Handler="app.handler", Code={"ZipFile": buffer.getvalue()})
        payload = json.dumps({"n": n})
        cold.append(timed(lambda: lam.invoke(FunctionName=name, Payload=payload)))
        warm.extend(timed(lambda: lam.invoke(FunctionName=name, Payload=payload))
                    for _ in range(10))
    namespace: dict = {}
    exec(HANDLER, namespace)
    in_process = [timed(lambda: namespace["handler"]({"n": 1}, None)) for _ in range(100)]
    return {"invoke cold (ms)": median_ms(cold), "invoke warm (ms)": median_ms(warm),
            "handler in-process (ms)": round(statistics.median(in_process) * 1000, 3),
            "warm invoke overhead (ms)": round(median_ms(warm) - statistics.median(in_process) * 1000, 1)}


def bench_deploy() -> dict:
    from gluelab.deploy import deploy
    first, update = [], []
    for n in range(RUNS):
        work = Path(tempfile.mkdtemp(prefix="gluelab-app-"))
        app = work / "app"
        shutil.copytree(APP, app)
        stack = f"bench-app-{n}"
        first.append(timed(lambda: deploy(app, stack, echo=lambda line: None)))
        handler = next(app.glob("functions/*/app.py"))
        handler.write_text(handler.read_text() + f"\n# edit {n}\n")
        update.append(timed(lambda: deploy(app, stack, echo=lambda line: None)))
        shutil.rmtree(work, ignore_errors=True)
    return {"full template deploy (ms)": median_ms(first),
            "code-only redeploy (ms)": median_ms(update)}


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def write_report(results: dict[str, float]) -> None:
    targets = {"start to ready (ms)": 2000, "warm invoke overhead (ms)": 20,
               "full template deploy (ms)": 3000, "code-only redeploy (ms)": 1000}
    lines = ["# Benchmarks", "",
             f"Measured {datetime.date.today().isoformat()} by `make bench` on {machine()}.",
             f"Each figure is the median of {RUNS} runs (warm invokes: {RUNS * 10}).", "",
             "| measurement | median | target | met |", "| --- | --- | --- | --- |"]
    for name, value in results.items():
        target = targets.get(name)
        verdict = "" if target is None else ("yes" if value <= target else "no")
        lines.append(f"| {name} | {value} | {'' if target is None else f'<= {target}'} | {verdict} |")
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    results = bench_start()
    use_private_cloud()
    s = settings()
    process.start(s, quiet=True)
    try:
        results.update(bench_invoke())
        results.update(bench_deploy())
    finally:
        process.stop(s)
    for name, value in results.items():
        print(f"{name:32} {value}")
    write_report(results)


if __name__ == "__main__":
    main()
