"""Which waiting invocation gets a Lambda worker first (lambda_pool.Pool), with stand-in workers.

A webhook's caller waits for its answer; a state machine's task does not: under load the pool
serves the first before the second, and keeps the webhook's function warm (issue 11's load
benchmark had a webhook p99 of 14 s while tasks held every worker).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from gluelab.cloud import lambda_pool
from gluelab.cloud.lambda_pool import Pool


@dataclass(frozen=True)
class Spec:
    name: str


@dataclass(eq=False)
class Worker:
    spec: Spec
    init_ms: float = 10.0
    stopped: bool = False
    process: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(pid=0))

    def stop(self) -> None:
        self.stopped = True


RECEIVER, NOTIFY, ARRANGE = Spec("receiver"), Spec("notify"), Spec("arrange")


def start(pool: Pool, spec: Spec, background: bool = False) -> Worker:
    """An invocation that gets a worker: a warm one, or one it cold-starts."""
    worker = pool.checkout(spec, background)
    if worker is None:
        worker = Worker(spec)
        pool.started_worker(worker)
    return worker


def in_thread(call) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


@pytest.fixture
def pool() -> Pool:
    return Pool(bound=4, idle_s=300)


def test_a_waiting_webhook_gets_the_next_worker_before_a_task_that_waited_longer(pool):
    busy = [start(pool, NOTIFY, background=True) for _ in range(3)]
    busy.append(start(pool, RECEIVER))
    task, task_got = in_thread(lambda: start(pool, ARRANGE, background=True))
    time.sleep(0.3)  # the task queues first
    webhook, webhook_got = in_thread(lambda: start(pool, RECEIVER))
    time.sleep(0.3)
    pool.checkin(busy[0], keep=True)  # one notify worker is free: the webhook may evict it
    webhook.join(2)
    assert webhook_got and webhook_got[0].spec == RECEIVER
    assert task.is_alive()  # still waiting: the webhook went first
    pool.checkin(webhook_got[0], keep=True)
    pool.checkin(busy[3], keep=True)
    pool.checkin(busy[1], keep=True)  # a notify worker idle: the task may take its place
    task.join(5)
    assert task_got and task_got[0].spec == ARRANGE


def test_background_tasks_leave_a_quarter_of_the_workers_to_callers_who_wait(pool):
    tasks = [start(pool, NOTIFY, background=True) for _ in range(3)]
    waiting, got = in_thread(lambda: start(pool, NOTIFY, background=True))
    time.sleep(0.5)
    assert waiting.is_alive() and pool.live() == 3  # 4 workers, 1 kept for callers who wait
    webhook = start(pool, RECEIVER)  # at once, without a queue
    assert webhook.spec == RECEIVER and pool.live() == 4
    pool.checkin(tasks[0], keep=True)
    time.sleep(0.5)
    # Two tasks still run beside the webhook, more than beside_foreground(4): the third waits.
    assert waiting.is_alive()
    pool.checkin(webhook, keep=True)
    waiting.join(2)
    assert got and got[0] is tasks[0]  # the task reuses a warm worker of its function


def test_tasks_do_not_stop_the_webhook_function_s_last_idle_worker(pool, monkeypatch):
    monkeypatch.setattr(lambda_pool, "QUEUE_WAIT_S", 1.0)
    receiver = start(pool, RECEIVER)
    pool.checkin(receiver, keep=True)
    tasks = [start(pool, NOTIFY, background=True) for _ in range(3)]
    pool.checkin(tasks[0], keep=True)
    # The pool is full (3 notify, 1 idle receiver): an arrange task may replace the idle notify
    # worker, never the receiver's only one, which the next webhook needs warm.
    arrange = start(pool, ARRANGE, background=True)
    assert tasks[0].stopped and not receiver.stopped
    with pytest.raises(lambda_pool.PoolFull):  # nothing else may go: it waits, then gives up
        pool.checkout(Spec("glue"), background=True)
    assert not receiver.stopped
    assert start(pool, RECEIVER) is receiver  # warm
    assert arrange.spec == ARRANGE


def test_one_function_cold_starts_at_most_one_worker_per_core_at_once(pool):
    pool.parallel_starts = 1
    assert pool.checkout(RECEIVER) is None  # a cold start is under way (not yet checked in)
    second, got = in_thread(lambda: start(pool, RECEIVER))
    time.sleep(0.4)
    assert second.is_alive() and pool.starting == 1  # waits for that worker, starts none
    first = Worker(RECEIVER)
    pool.started_worker(first)
    pool.checkin(first, keep=True)
    second.join(2)
    assert got and got[0] is first
    stats = pool.stats()["waited_for_worker"]["foreground"]
    assert stats["count"] == 2 and stats["max_ms"] >= 300


def test_when_one_of_its_cold_starts_ends_the_next_caller_starts_another_at_once(
        pool, monkeypatch):
    monkeypatch.setattr(lambda_pool, "RECHECK_S", 30.0)  # woken, not found by looking again
    pool.parallel_starts = 1
    assert pool.checkout(RECEIVER) is None  # a cold start under way
    second, got = in_thread(lambda: pool.checkout(RECEIVER))
    time.sleep(0.3)
    assert second.is_alive()  # waits for a start slot
    pool.started_worker(Worker(RECEIVER))  # started: busy with the first invocation
    second.join(5)
    assert not second.is_alive() and got == [None] and pool.starting == 1  # its own cold start


def test_on_a_quiet_machine_a_task_takes_the_idle_worker_of_a_webhook_function_at_once(pool):
    # Nothing busy, nobody else waiting: keeping the receiver's worker warm would make the task
    # wait FOREGROUND_KEEP_S (30 s) for a worker nobody uses (an execution's first task).
    workers = [start(pool, Spec(f"fn-{n}")) for n in range(4)]  # foreground, fills the pool
    for worker in workers:
        pool.checkin(worker, keep=True)
    started = time.monotonic()
    assert start(pool, ARRANGE, background=True).spec == ARRANGE
    assert time.monotonic() - started < 1
    assert sum(worker.stopped for worker in workers) == 1


def test_on_a_busy_machine_tasks_keep_only_a_quarter_of_the_pool_warm_for_callers(pool):
    # Many functions invoked once each (a shared cloud, several attendees' stacks) leave the
    # pool full of last idle workers; keeping every one warm for FOREGROUND_KEEP_S made an
    # execution's task wait 30 s for a worker while the machine stayed busy.
    busy = start(pool, Spec("fn-0"))
    idle = [start(pool, Spec(f"fn-{n}")) for n in (1, 2, 3)]
    for worker in idle:
        pool.checkin(worker, keep=True)
    started = time.monotonic()
    assert start(pool, ARRANGE, background=True).spec == ARRANGE
    assert time.monotonic() - started < 1
    assert idle[0].stopped  # the least recently used goes
    assert not idle[2].stopped and not busy.stopped  # the newest stays warm (bound 4 keeps 1)


def test_tasks_waiting_for_a_worker_get_one_in_the_order_they_came(pool, monkeypatch):
    # A burst's tasks all looking at once, each check-in woke every one of them (291 in a
    # 200-text load run) to race for the worker: the GIL went on the race, and which task
    # won was chance. They now look a few at a time, the longest waiting first.
    monkeypatch.setattr(lambda_pool, "BACKGROUND_LOOKING", 1)
    worker = start(pool, NOTIFY, background=True)
    others = [start(pool, Spec(f"fn-{n}")) for n in range(3)]  # the rest of the pool, busy
    order: list[int] = []
    tasks = []
    for n in range(5):
        def task(n=n):
            got = start(pool, NOTIFY, background=True)
            order.append(n)
            pool.checkin(got, keep=True)
        tasks.append(in_thread(task)[0])
        time.sleep(0.05)  # they arrive in this order
    assert pool.waiting == 1 and pool.stats()["waiting_for_worker"] == 5  # one looks, four queue
    pool.checkin(worker, keep=True)
    for thread in tasks:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert all(not other.stopped for other in others)


def test_while_a_webhook_runs_tasks_run_a_few_at_a_time_until_they_have_waited_long(
        monkeypatch):
    # Each task's handler calls back into the cloud (one process, one GIL) while webhooks wait
    # for it: beside a running webhook, tasks hold at most beside_foreground() workers.
    monkeypatch.setattr(lambda_pool, "BACKGROUND_PATIENCE_S", 1.5)
    pool = Pool(bound=8, idle_s=300)
    webhook = start(pool, RECEIVER)
    tasks = [start(pool, NOTIFY, background=True) for _ in range(2)]
    third, got = in_thread(lambda: start(pool, ARRANGE, background=True))
    time.sleep(0.5)
    assert third.is_alive() and pool.live() == 3  # free room, yet it waits
    third.join(3)  # past its patience it takes its share again
    assert got and got[0].spec == ARRANGE
    pool.checkin(webhook, keep=True)
    assert start(pool, NOTIFY, background=True).spec == NOTIFY  # nobody waits: at once
    assert all(not task.stopped for task in tasks)


def test_webhooks_waiting_for_their_function_s_worker_get_one_in_the_order_they_came(pool):
    # Woken all at once by a check-in, whichever webhook's thread took the lock first got the
    # worker: under load one waited 1.5 s while later ones went ahead of it.
    workers = [start(pool, RECEIVER) for _ in range(4)]  # the whole pool, busy
    order: list[int] = []
    webhooks = []
    for n in range(6):
        def webhook(n=n):
            got = start(pool, RECEIVER)
            order.append(n)
            time.sleep(0.01)  # its handler runs
            pool.checkin(got, keep=True)
        webhooks.append(in_thread(webhook)[0])
        time.sleep(0.05)  # they arrive in this order
    for worker in workers[1:]:
        pool.checkin(worker, keep=False)  # stopped (a new configuration, say): one is left
    pool.checkin(workers[0], keep=True)
    for thread in webhooks:
        thread.join(5)
    assert order == [0, 1, 2, 3, 4, 5]
