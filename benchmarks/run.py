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
from gluelab.executions import execution_arn, wait_for_end  # noqa: E402

APP = ROOT / "infra"  # the full workshop template
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
        template = app / "template.yaml"  # a template this process has not translated yet
        template.write_text(template.read_text() + f"\nMetadata:\n  BenchRun: {n}\n")
        stack = f"bench-app-{n}"
        first.append(timed(lambda: deploy(app, stack, echo=lambda line: None)))
        handler = next(app.glob("functions/*/app.py"))
        handler.write_text(handler.read_text() + f"\n# edit {n}\n")
        update.append(timed(lambda: deploy(app, stack, echo=lambda line: None)))
        shutil.rmtree(work, ignore_errors=True)
    return {"full template deploy (ms)": median_ms(first),
            "code-only redeploy (ms)": median_ms(update)}


def _load_seed():
    import importlib.util
    spec = importlib.util.spec_from_file_location("fixit_seed", ROOT / "infra" / "seed" / "seed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _finished(execution_arn: str) -> dict:
    # Polled every 10 ms: the end-to-end figure below would otherwise include the poll interval.
    return wait_for_end(execution_arn, poll_s=0.01)


def bench_workflow() -> dict:
    """One SMS through the reference app, against the sum of its handlers' own durations."""
    from gluelab import logs, twilio_local
    from gluelab.deploy import deploy
    outputs = deploy(ROOT / "infra", "bench-fixit", echo=lambda line: None)
    seed = _load_seed()
    seed.seed(boto3.resource("dynamodb", endpoint_url=settings().endpoint)
              .Table(outputs["CompaniesTableName"]), seed.companies())
    twilio_local.store_credentials()
    _client("ssm").put_parameter(Name="/fixit/twilio/webhook_url", Value=outputs["WebhookUrl"],
                                 Type="String", Overwrite=True)
    twilio_local.set_webhook(outputs["WebhookUrl"])
    functions = [f["FunctionName"] for f in _client("lambda").list_functions()["Functions"]
                 if f["FunctionName"].startswith("bench-fixit-")]
    machine = outputs["StateMachineArn"]
    def invocations():
        return [i for f in functions if f in logs.logged_functions()
                for i in logs.recent_invocations(f, limit=None, streams=None)]

    end_to_end, handlers = [], []
    for n in range(RUNS + 1):  # the first run warms every function
        seen = {i.request_id for i in invocations()}
        start = time.perf_counter()
        sid = twilio_local.text_app(f"+44770090020{n}", "LIFT stuck between floors 3 and 4")["message"]["sid"]
        execution = _finished(execution_arn(machine, sid))
        elapsed = time.perf_counter() - start
        assert execution["status"] == "SUCCEEDED", execution
        own = sum(i.metrics.get("Duration", 0) for i in invocations()
                  if i.request_id not in seen) / 1000
        if n:
            end_to_end.append(elapsed)
            handlers.append(own)
    return {"SMS to stored report, end to end (ms)": median_ms(end_to_end),
            "sum of the handlers' own durations (ms)": median_ms(handlers)}


def bench_restart(deploys: int = 10, reports: int = 1000, senders: int = 4) -> dict:
    """Stop and start after a day's use: 10 deploys, 1,000 reports through the app, their logs.

    Runs on a cloud of its own (a fresh state folder)."""
    from concurrent.futures import ThreadPoolExecutor

    from gluelab import twilio_local
    from gluelab.deploy import deploy
    use_private_cloud()
    s = settings()
    process.start(s, quiet=True)
    try:
        with tempfile.TemporaryDirectory(prefix="gluelab-day-") as work:
            app = Path(work) / "app"
            shutil.copytree(APP, app)
            handler = next(app.glob("functions/*/app.py"))
            for n in range(deploys):  # a day of edits: each deploy changes one handler
                handler.write_text(handler.read_text() + f"\n# edit {n}\n")
                outputs = deploy(app, "day-fixit", echo=lambda line: None)
        seed = _load_seed()
        seed.seed(boto3.resource("dynamodb", endpoint_url=s.endpoint)
                  .Table(outputs["CompaniesTableName"]), seed.companies())
        twilio_local.store_credentials()
        _client("ssm").put_parameter(Name="/fixit/twilio/webhook_url", Value=outputs["WebhookUrl"],
                                     Type="String", Overwrite=True)
        twilio_local.set_webhook(outputs["WebhookUrl"])

        def report(n: int) -> str:
            sid = twilio_local.text_app(f"+4477009{n:05d}", "LIFT stuck between floors 3 and 4")["message"]["sid"]
            return wait_for_end(execution_arn(outputs["StateMachineArn"], sid))["status"]
        with ThreadPoolExecutor(senders) as pool:
            statuses = list(pool.map(report, range(reports)))
        stops, starts = [], []
        for _ in range(RUNS):
            stops.append(timed(lambda: process.stop(s)))
            starts.append(timed(lambda: process.start(s, quiet=True)))
        stored = _client("dynamodb").scan(TableName=outputs["ReportsTableName"], Select="COUNT")
        assert stored["Count"] == statuses.count("SUCCEEDED"), (stored["Count"], statuses)
    finally:
        process.stop(s)
    return {f"restart with a day's state (ms)": median_ms(starts),
            "stop with a day's state (ms)": median_ms(stops),
            "day's state: reports stored": stored["Count"],
            "day's state: journal (MB)": round((s.state_dir / "journal.jsonl").stat().st_size / 1e6, 1),
            "day's state: snapshot (MB)": round((s.state_dir / "snapshot.pickle").stat().st_size / 1e6, 1)}


def bench_solutions() -> dict:
    """Every solution notebook in order, in one fresh project, as an instructor would run them."""
    import nbformat

    from gluelab import notebooks
    from gluelab.lab import lab_number
    results = {}
    with tempfile.TemporaryDirectory(prefix="gluelab-bench-labs-") as tmp:
        cloud, env = notebooks.private_cloud_env(Path(tmp))
        start = time.perf_counter()
        try:
            for lab in notebooks.sources():
                nb = nbformat.read(notebooks.SOLUTIONS_DIR / f"{lab.name}.ipynb", as_version=4)
                notebooks.execute(nb, cwd=cloud.workspace, env=env)
                if lab_number(lab.name) == "07":
                    results["solutions 00-07 in sequence (s)"] = round(time.perf_counter() - start, 1)
            results[f"solutions 00-{lab_number(lab.name)} in sequence (s)"] = round(
                time.perf_counter() - start, 1)
        finally:
            process.stop(cloud)
    return results


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")


def write_report(results: dict[str, float]) -> None:
    targets = {"start to ready (ms)": 2000, "restart with a day's state (ms)": 1500,
               "stop with a day's state (ms)": 1000, "warm invoke overhead (ms)": 20,
               "full template deploy (ms)": 3000, "code-only redeploy (ms)": 1000,
               "solutions 00-07 in sequence (s)": 90, "solutions 00-15 in sequence (s)": 180}
    lines = ["# Benchmarks", "",
             f"Measured {datetime.date.today().isoformat()} by `make bench` on {machine()}.",
             f"Each figure is the median of {RUNS} runs (warm invokes: {RUNS * 10}).", "",
             "| measurement | median | target | met |", "| --- | --- | --- | --- |"]
    for name, value in results.items():
        target = targets.get(name)
        verdict = "" if target is None else ("yes" if value <= target else "no")
        lines.append(f"| {name} | {value} | {'' if target is None else f'<= {target}'} | {verdict} |")
    lines += ["", "What the figures mean:", "",
              "- *start to ready*: `gluelab cloud start` until the endpoint answers, fresh state folder.",
              "- *restart with a day's state*: on a cloud of its own, the reference app deployed 10 times",
              "  (one handler edited each time) and 1,000 texts through it (4 handsets at once); then",
              "  `gluelab cloud stop` and `start` until the endpoint answers. The start loads the snapshot",
              "  (snapshot.py) and replays only the journal after it, so it does not grow with history.",
              "- *invoke*: `lambda.invoke` over HTTP of a one-line Python handler; *cold* is the first call",
              "  of a new function (a new worker process), *warm* the calls after it. The overhead is warm",
              "  invoke minus calling the same handler in-process.",
              "- *deploy*: `gluelab deploy` of the reference app in `infra/` (19 resources) from a process",
              "  that has deployed before (a notebook kernel after its first deploy), then again after a",
              "  one-line edit of one handler.",
              "- *SMS to stored report*: a simulated handset texts the deployed reference app; from the",
              "  text until its execution has SUCCEEDED (webhook, receiver, arrange, two notifies, glue,",
              "  putItem), against the sum of the Duration of the REPORT lines of the invocations it made.",
              "- *solutions in sequence*: every solution notebook run in order by nbclient against one",
              "  fresh local cloud and an empty project, as an instructor would run them."]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    if sys.argv[1:] == ["restart"]:  # this benchmark alone: figures printed, BENCHMARKS.md kept
        for name, value in bench_restart().items():
            print(f"{name:44} {value}")
        return
    results = bench_start()
    use_private_cloud()
    s = settings()
    process.start(s, quiet=True)
    try:
        results.update(bench_invoke())
        results.update(bench_deploy())
        results.update(bench_workflow())
    finally:
        process.stop(s)
    results.update(bench_restart())
    results.update(bench_solutions())
    for name, value in results.items():
        print(f"{name:44} {value}")
    write_report(results)


if __name__ == "__main__":
    main()
