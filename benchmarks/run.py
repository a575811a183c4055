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
import re
import shutil
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
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


def use_private_cloud(state: Path | None = None) -> Path:
    state = state or Path(tempfile.mkdtemp(prefix="gluelab-bench-"))
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


def wait_until_warmed_up(s) -> None:
    # The cloud answers before its warm-up thread has loaded CloudFormation, the SAM translator
    # and the Step Functions interpreter; an attendee's warm invokes come long after that.
    deadline = time.monotonic() + 60
    while not process.status(s).get("warmed_up") and time.monotonic() < deadline:
        time.sleep(0.1)


def bench_invoke() -> dict:
    wait_until_warmed_up(settings())
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


# One AWS call made twice from a warm handler: with the function's role credentials (evaluated
# against its policies) and with the account's own key (not evaluated): the difference is what
# IAM enforcement adds to each call a handler makes.
IAM_HANDLER = """import time, boto3
role = boto3.client("dynamodb")
admin = boto3.client("dynamodb", aws_access_key_id="test", aws_secret_access_key="test",
                     aws_session_token="")
def handler(event, context):
    timings = {}
    for name, client in (("role", role), ("admin", admin)):
        started = time.perf_counter()
        client.describe_table(TableName=event["table"])
        timings[name] = time.perf_counter() - started
    return timings
"""


def bench_iam() -> dict:
    lam, iam = _client("lambda"), _client("iam")
    _client("dynamodb").create_table(
        TableName="bench-iam", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    iam.create_role(RoleName="bench-iam", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="bench-iam", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:DescribeTable",
                                                "Resource": "arn:aws:dynamodb:*:*:table/bench-iam"}]}))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", IAM_HANDLER)
    lam.create_function(FunctionName="bench-iam", Runtime="python3.11", Handler="app.handler",
                        Role="arn:aws:iam::123456789012:role/bench-iam", Timeout=30,
                        Code={"ZipFile": buffer.getvalue()})
    payload = json.dumps({"table": "bench-iam"})
    added = []
    for _ in range(RUNS * 10 + 1):
        timings = json.loads(lam.invoke(FunctionName="bench-iam", Payload=payload)["Payload"].read())
        added.append(timings["role"] - timings["admin"])
    return {"IAM check per AWS call (ms)": median_ms(added[1:])}  # the first call is cold


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


def _deploy_fixit(stack: str) -> dict:
    """The reference app deployed, seeded and wired to the Twilio stand-in's number."""
    from gluelab import twilio_local
    from gluelab.deploy import deploy
    outputs = deploy(ROOT / "infra", stack, echo=lambda line: None)
    seed = _load_seed()
    seed.seed(boto3.resource("dynamodb", endpoint_url=settings().endpoint)
              .Table(outputs["CompaniesTableName"]), seed.companies())
    twilio_local.store_credentials()
    _client("ssm").put_parameter(Name="/fixit/twilio/webhook_url", Value=outputs["WebhookUrl"],
                                 Type="String", Overwrite=True)
    twilio_local.set_webhook(outputs["WebhookUrl"])
    return outputs


def bench_workflow() -> dict:
    """One SMS through the reference app, against the sum of its handlers' own durations."""
    from gluelab import logs, twilio_local
    outputs = _deploy_fixit("bench-fixit")
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


def bench_restart(deploys: int = 10, reports: int = 1000, senders: int = 4,
                  state: Path | None = None) -> dict:
    """Stop and start after a day's use: 10 deploys, 1,000 reports through the app, their logs.

    Runs on a cloud of its own: a fresh state folder, or `state` (built there when it has no
    journal yet, reused as it is otherwise: building a day takes minutes)."""
    reuse = state is not None and (state / "journal.jsonl").exists()
    use_private_cloud(state)
    s = settings()
    process.start(s, quiet=True)
    try:
        if reuse:
            outputs = {o["OutputKey"]: o["OutputValue"] for o in _client("cloudformation")
                       .describe_stacks(StackName="day-fixit")["Stacks"][0]["Outputs"]}
            succeeded = None
        else:
            outputs, statuses = _build_day(s, deploys, reports, senders)
            succeeded = statuses.count("SUCCEEDED")
        _wait_for_the_snapshot(s.state_dir)
        stops, starts, answers = [], [], []
        for _ in range(RUNS):
            stops.append(timed(lambda: process.stop(s)))
            started = time.perf_counter()
            process.start(s, quiet=True)
            starts.append(time.perf_counter() - started)
            # an attendee's first calls: the stack, the reports, the executions
            _client("cloudformation").describe_stacks(StackName="day-fixit")
            stored = _client("dynamodb").scan(TableName=outputs["ReportsTableName"],
                                              Select="COUNT")
            _client("stepfunctions").list_executions(stateMachineArn=outputs["StateMachineArn"])
            answers.append(time.perf_counter() - started)
        assert succeeded in (None, stored["Count"]), (stored["Count"], succeeded)
    finally:
        process.stop(s)
    return {"restart with a day's state (ms)": median_ms(starts),
            "restart with a day's state, to its stack, reports and executions read (ms)":
                median_ms(answers),
            "stop with a day's state (ms)": median_ms(stops),
            "day's state: reports stored": stored["Count"],
            "day's state: journal (MB)": round((s.state_dir / "journal.jsonl").stat().st_size / 1e6, 1),
            "day's state: snapshot (MB)": round(_snapshot_bytes(s.state_dir) / 1e6, 1)}


def _wait_for_the_snapshot(state_dir: Path, timeout_s: float = 120) -> None:
    """Until the cloud's snapshot covers its whole journal, as it does 2 s after the last change
    (snapshot.IDLE_S): a day's state as an attendee's cloud holds it, not a start that must also
    replay the minute before a stop."""
    import pickle
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with (state_dir / "snapshot.pickle").open("rb") as file:
                covered = pickle.load(file).get("lines")
            with (state_dir / "journal.jsonl").open("rb") as file:
                if covered == sum(1 for _ in file):
                    return
        except (OSError, EOFError, pickle.UnpicklingError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the cloud saved no snapshot of its whole journal in {timeout_s} s")


def _snapshot_bytes(state_dir: Path) -> int:
    return sum(path.stat().st_size for path in state_dir.glob("snapshot*") if path.is_file())


def _build_day(s, deploys: int, reports: int, senders: int) -> tuple[dict, list[str]]:
    """The reference app deployed `deploys` times and `reports` texts through it."""
    from concurrent.futures import ThreadPoolExecutor

    from gluelab import twilio_local
    from gluelab.deploy import deploy
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
        return outputs, list(pool.map(report, range(reports)))


def _process_memory_mb(pid: int) -> dict[str, float]:
    """One process's resident memory: RSS (every page it maps), PSS (each page divided by the
    number of processes sharing it) and USS (its private pages, freed if it ended)."""
    sizes = {}
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            name, _, value = line.partition(":")
            if name in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                sizes[name] = int(value.split()[0]) / 1024
    return {"rss": sizes["Rss"], "pss": sizes["Pss"],
            "uss": sizes["Private_Clean"] + sizes["Private_Dirty"]}


def _tree_memory(root: int) -> list[dict[str, float]]:
    """The memory of a process and of all its descendants (the cloud, the Lambda zygote and
    the workers forked from it, a forked snapshot writer), one dict per process; "lambda" marks
    the zygote and the workers."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit():
                ppid = int(open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
        except (OSError, ValueError, IndexError):
            continue
    processes, todo = [], [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            lambda_process = b"lambda_" in open(f"/proc/{pid}/cmdline", "rb").read()
            processes.append({"pid": pid, "lambda": lambda_process, **_process_memory_mb(pid)})
        except (OSError, KeyError, ValueError):  # it ended meanwhile
            continue
    return processes


def _total_mb(processes: list[dict[str, float]], kind: str) -> float:
    return round(sum(process[kind] for process in processes), 1)


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _stored_report_ids(table: str) -> set[str]:
    pages = _client("dynamodb").get_paginator("scan").paginate(
        TableName=table, ProjectionExpression="id")
    return {item["id"]["S"] for page in pages for item in page["Items"]}


def bench_load(texts: int = 500, senders: int = 20, idle_s: int = 60, after_s: int = 300,
               store_wait_s: int = 300) -> dict:
    """Many handsets text the deployed reference app at once (issue 11's load test), through the
    Twilio stand-in, which signs and posts each webhook as Twilio does. Counts acknowledged texts
    ("Thanks! ..." replies) whose report is never stored, webhook answers of 5xx or none, the
    webhook's own latency (the stand-in's timing of each POST), and the resident memory of the
    cloud and its Lambda workers during the run and `after_s` after it (idle workers retire
    after GLUELAB_LAMBDA_IDLE_S = `idle_s`, shortened from Lambda-like 300 s)."""
    from concurrent.futures import ThreadPoolExecutor
    import threading
    from gluelab import twilio_local
    os.environ["GLUELAB_LAMBDA_IDLE_S"] = str(idle_s)
    state = use_private_cloud()
    s = settings()
    process.start(s, quiet=True)
    try:
        outputs = _deploy_fixit("load-fixit")
        cloud_pid = int((state / "cloud.pid").read_text())
        peak_rss, peak, done = [0.0], [[]], threading.Event()

        def sample() -> None:
            while not done.wait(0.5):
                processes = _tree_memory(cloud_pid)
                peak_rss[0] = max(peak_rss[0], _total_mb(processes, "rss"))
                if _total_mb(processes, "pss") > _total_mb(peak[0], "pss"):
                    peak[0] = processes

        def text(handset: str, body: str) -> dict | None:
            try:
                return twilio_local.text_app(handset, body)
            except (OSError, twilio_local.TwilioSetupError):  # the stand-in itself gave up
                return None

        def sender(n: int) -> list[dict | None]:
            return [text(f"+44770091{n:04d}", f"LIFT stuck between floors {i % 9} and "
                                              f"{i % 9 + 1}, sender {n} text {i}")
                    for i in range(n, texts, senders)]
        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.perf_counter()
        try:
            with ThreadPoolExecutor(senders) as pool:
                batches = list(pool.map(sender, range(senders)))
        finally:
            elapsed = time.perf_counter() - started
        sent = [result for batch in batches for result in batch]
        results = [result for result in sent if result is not None]
        acknowledged = {r["message"]["sid"] for r in results
                        if any(reply["body"].startswith("Thanks!") for reply in r["replies"])}
        attempts = [a for r in results for a in r["delivery"]["attempts"]]
        latencies = sorted(a["ms"] for a in attempts)
        # Each handset's first text finds the app cold (all twenty at once, as Lambda would
        # cold-start them); the texts after it show the app under sustained load.
        first = [a["ms"] for batch in batches if batch and batch[0]
                 for a in batch[0]["delivery"]["attempts"]]
        later = sorted(a["ms"] for batch in batches for r in batch[1:] if r
                       for a in r["delivery"]["attempts"])
        failed_answers = sum(1 for a in attempts if a["status"] is None or a["status"] >= 500)
        deadline = time.monotonic() + store_wait_s
        while time.monotonic() < deadline:
            lost = acknowledged - _stored_report_ids(outputs["ReportsTableName"])
            if not lost:
                break
            time.sleep(2)
        done.set()
        sampler.join()
        workers = json.loads(urllib.request.urlopen(f"{s.endpoint}/_gluelab/workers").read())
        waited = workers["waited_for_worker"]
        failed = _client("stepfunctions").list_executions(
            stateMachineArn=outputs["StateMachineArn"], statusFilter="FAILED")["executions"]
        time.sleep(after_s)
        after = _tree_memory(cloud_pid)
        lambdas = [p for p in peak[0] if p["lambda"]]  # the workers and the zygote they fork from
        return {"load: texts sent": len(sent),
                "load: texts the stand-in could not deliver in time": len(sent) - len(results),
                "load: texts acknowledged": len(acknowledged),
                "load: acknowledged reports lost": len(lost),
                "load: webhook 5xx or no answer": failed_answers,
                "load: webhook p50 (ms)": latencies[len(latencies) // 2],
                "load: webhook p99 (ms)": _percentile(latencies, 0.99),
                "load: webhook, each handset's first text, slowest (ms)": max(first),
                "load: webhook p99 after each handset's first text (ms)": _percentile(later, 0.99),
                "load: webhook's function queued for a worker, mean (ms)": round(
                    waited["foreground"]["total_ms"] / max(1, waited["foreground"]["count"])),
                "load: webhook's function queued for a worker, longest (ms)": round(
                    waited["foreground"]["max_ms"]),
                "load: tasks queued for a worker, mean (ms)": round(
                    waited["background"]["total_ms"] / max(1, waited["background"]["count"])),
                "load: acknowledgements per second": round(len(acknowledged) / elapsed, 2),
                "load: executions failed": len(failed),
                "load: worker processes started": workers["started_total"],
                "load: worker bound": workers["bound"],
                "load: peak cloud + workers PSS (MB)": _total_mb(peak[0], "pss"),
                "load: peak cloud + workers RSS (MB)": peak_rss[0],
                "load: at the PSS peak, the cloud's PSS (MB)": _total_mb(
                    [p for p in peak[0] if p["pid"] == cloud_pid], "pss"),
                "load: at the PSS peak, Lambda processes (workers and zygote)": len(lambdas),
                "load: at the PSS peak, a Lambda process's private memory (USS), mean (MB)": round(
                    _total_mb(lambdas, "uss") / max(1, len(lambdas)), 1),
                f"load: cloud + workers PSS {after_s} s after (MB)": _total_mb(after, "pss"),
                f"load: cloud + workers RSS {after_s} s after (MB)": _total_mb(after, "rss")}
    finally:
        process.stop(s)
        os.environ.pop("GLUELAB_LAMBDA_IDLE_S", None)
        shutil.rmtree(state, ignore_errors=True)


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


def recorded_results() -> dict[str, float]:
    """The figures BENCHMARKS.md holds now, in its order."""
    rows = {}
    for line in (ROOT / "BENCHMARKS.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 4 and cells[0] not in ("measurement", "---"):
            rows[cells[0]] = int(cells[1]) if cells[1].isdigit() else float(cells[1])
    return rows


def write_report(results: dict[str, float], alone: str | None = None) -> None:
    targets = {"start to ready (ms)": 2000, "restart with a day's state (ms)": 1500,
               "restart with a day's state, to its stack, reports and executions read (ms)": 1500,
               "stop with a day's state (ms)": 1000, "warm invoke overhead (ms)": 10,
               "IAM check per AWS call (ms)": 10,
               "full template deploy (ms)": 300, "code-only redeploy (ms)": 1000,
               "solutions 00-07 in sequence (s)": 90, "solutions 00-15 in sequence (s)": 180,
               "load: acknowledged reports lost": 0, "load: webhook 5xx or no answer": 0,
               "load: webhook p99 (ms)": 1000, "load: peak cloud + workers PSS (MB)": 1500,
               "load: cloud + workers PSS 300 s after (MB)": 400}
    lines = ["# Benchmarks", "",
             f"Measured {datetime.date.today().isoformat()} by `make bench` on {machine()}."
             if alone is None else f"Measured by `make bench` on {machine()}; the {alone} figures "
             f"rerun alone on {datetime.date.today().isoformat()} (`benchmarks/run.py NAME --write`).",
             f"Each figure is the median of {RUNS} runs (warm invokes: {RUNS * 10}).", "",
             "| measurement | median | target | met |", "| --- | --- | --- | --- |"]
    for name, value in results.items():
        target = targets.get(name)
        verdict = "" if target is None else ("yes" if value <= target else "no")
        lines.append(f"| {name} | {value} | {'' if target is None else f'<= {target}'} | {verdict} |")
    lines += ["", "What the figures mean:", "",
              "- *start to ready*: `gluelab cloud start` until the endpoint answers, fresh state folder.",
              "- *restart with a day's state*: on a cloud of its own, the reference app deployed 10 times",
              "  (one handler edited each time) and 1,000 texts through it (4 handsets at once); then, once",
              "  its snapshot covers the whole journal (2 s after the last change), `gluelab cloud stop` and",
              "  `start` until the endpoint answers. The start reads the snapshot's",
              "  header (snapshot.py); each service's state, and the journal's tail of item writes, logs and",
              "  finished executions, is put back right after, in the background, CloudFormation's first",
              "  (warm_start.py; a call that comes first restores its service itself, first_use.py), so a",
              "  start does not grow with history. *to its stack, reports and executions read*: the same",
              "  start, then an attendee's first calls: DescribeStacks, a Scan of the reports and",
              "  ListExecutions (which need CloudFormation's state, with every service its stack made).",
              "  `--day-state DIR` builds the day in DIR once and reuses it after.",
              "- *invoke*: `lambda.invoke` over HTTP of a one-line Python handler; *cold* is the first call",
              "  of a new function (a new worker process), *warm* the calls after it. The overhead is warm",
              "  invoke minus calling the same handler in-process, with IAM enforced (as always).",
              "- *IAM check per AWS call*: a warm handler's DescribeTable with its role's credentials",
              "  (evaluated against the role's policies) minus the same call with the account's key.",
              "- *deploy*: `gluelab deploy` of the reference app in `infra/` (19 resources) from a process",
              "  that has deployed before (a notebook kernel after its first deploy), then again after a",
              "  one-line edit of one handler.",
              "- *SMS to stored report*: a simulated handset texts the deployed reference app; from the",
              "  text until its execution has SUCCEEDED (webhook, receiver, arrange, two notifies, glue,",
              "  putItem), against the sum of the Duration of the REPORT lines of the invocations it made.",
              "- *solutions in sequence*: every solution notebook run in order by nbclient against one",
              "  fresh local cloud and an empty project, as an instructor would run them.",
              "- *load*: 20 simulated handsets text the reference app at once, 500 texts in all, through",
              "  the Twilio stand-in (each webhook signed and posted as Twilio does) on a cloud of its own;",
              "  one run, not a median. *lost*: texts answered \"Thanks! ...\" whose report is not in the",
              "  Reports table 5 minutes later. *webhook* figures are the stand-in's timing of each POST.",
              "  Each handset's first text finds the app cold (twenty at once wait for the receiver's",
              "  cold starts, as on Lambda); *after each handset's first text* is the sustained load.",
              "  *queued for a worker*: time an invocation waited for a Lambda worker process, apart",
              "  from any cold start (the webhook's function is served before state machine tasks).",
              "  Memory is the cloud process plus its Lambda zygote, workers and any forked snapshot",
              "  writer, sampled every 0.5 s. The targets are on PSS, the memory these processes take",
              "  from the machine: each page counted once, split between the processes that share it.",
              "  RSS, shown beside it, counts a shared page once per process: the workers share what",
              "  the zygote imported (boto3) and a snapshot writer, forked from the cloud, shares the",
              "  cloud's whole heap, so summed RSS counts that heap twice while a snapshot is written.",
              "  *at the PSS peak*: the cloud's share, and each Lambda process's private (USS) memory.",
              "  Idle workers retire after 60 s in this run (GLUELAB_LAMBDA_IDLE_S; 300 s by default).",
              "  `python benchmarks/run.py load --texts 100 --senders 5 --after 30` runs a smaller one."]
    (ROOT / "BENCHMARKS.md").write_text("\n".join(lines) + "\n")


def on_private_cloud(*benches):
    """Run benchmarks that share one cloud (as `make bench` does) alone."""
    def run() -> dict:
        use_private_cloud()
        s = settings()
        process.start(s, quiet=True)
        try:
            return {name: value for bench in benches for name, value in bench().items()}
        finally:
            process.stop(s)
    return run


def main(argv: list[str] | None = None) -> None:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="?", choices=["start", "invoke", "deploy", "load", "restart"],
                        help="run one benchmark alone and print it (BENCHMARKS.md untouched)")
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--idle", type=int, default=60, help="GLUELAB_LAMBDA_IDLE_S for the run")
    parser.add_argument("--after", type=int, default=300, help="seconds before the memory after")
    parser.add_argument("--write", action="store_true",
                        help="with a benchmark run alone: put its figures into BENCHMARKS.md")
    parser.add_argument("--day-state", type=Path, metavar="DIR",
                        help="restart: build the day's state in DIR, or reuse the one built there")
    args = parser.parse_args(argv)
    load = dict(texts=args.texts, senders=args.senders, idle_s=args.idle, after_s=args.after)
    if args.only:
        alone = {"start": bench_start, "invoke": on_private_cloud(bench_invoke, bench_iam),
                 "deploy": on_private_cloud(bench_deploy, bench_workflow),
                 "restart": lambda: bench_restart(state=args.day_state and args.day_state.resolve()),
                 "load": lambda: bench_load(**load)}[args.only]()
        for name, value in alone.items():
            print(f"{name:44} {value}")
        if args.write:
            earlier = re.search(r"; the (.+) figures rerun alone on " + datetime.date.today().isoformat(),
                                (ROOT / "BENCHMARKS.md").read_text())
            names = sorted({args.only, *(earlier[1].split(", ") if earlier else ())})
            write_report({**recorded_results(), **alone}, alone=", ".join(names))
        return
    results = bench_start()
    results.update(on_private_cloud(bench_invoke, bench_iam, bench_deploy, bench_workflow)())
    results.update(bench_restart())
    results.update(bench_solutions())
    results.update(bench_load(**load))
    for name, value in results.items():
        print(f"{name:44} {value}")
    write_report(results)


if __name__ == "__main__":
    main()
