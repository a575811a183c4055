"""How many Lambda worker processes this machine can afford, and which of them are idle.

Lambda starts an execution environment for every concurrent invocation; a laptop cannot (twenty
senders once started 101 workers, 4.9 GB, on 2 cores). The pool keeps the number of live worker
processes within a bound derived from the machine (GLUELAB_LAMBDA_WORKERS overrides it):
  - a warm idle worker of the same function configuration is reused;
  - under the bound, a new worker is started;
  - at the bound, the least recently used idle worker of another function is stopped to make room;
    under pressure (other invocations wait too) and if a worker of this function is busy or
    starting, the invocation first waits for it as long as a cold start takes here (the recent
    average, at least EVICT_AFTER_S), then takes only a worker idle for that long: under load,
    stopping and restarting workers in turn took more time than the handlers themselves;
  - when every worker is busy, the invocation WAITS for one (a queue), up to QUEUE_WAIT_S;
    callers who wait for the same function are served in the order they came;
  - one function cold-starts at most one worker per core at a time; more invocations of it wait
    for those workers, which serve them sooner than further cold starts sharing the cores would.
The wait is not charged to the function's timeout: Lambda would have started an environment at
once, so the time spent queued is the local machine's, not the function's. It is charged to the
caller's own clock (a webhook answers later), which is what the load benchmark measures.
Idle workers are stopped after GLUELAB_LAMBDA_IDLE_S seconds (default 300), as Lambda reclaims
idle execution environments; the next invocation cold-starts.

Somebody waits for some invocations (a webhook through API Gateway, a direct Invoke) and for
others nobody does (a state machine's tasks, queued events): checkout(spec, background=True).
Under load the background ones would take every worker and keep the waiting caller queued for
seconds (a webhook p99 of 14 s), so: a background invocation does not start or evict a worker
while a foreground one waits for one; functions invoked in the background hold at most
bound - reserved_for_foreground() of the workers; and while the machine is busy (a worker busy
or another invocation waiting), a background invocation stops the idle worker of a function
called in the foreground only once it has been idle for FOREGROUND_SPARE_S (FOREGROUND_KEEP_S for
that function's last worker), so that the next webhook finds its function warm; at most
reserved_for_foreground() workers are kept so, the most recently used. Neither changes
what an invocation does, only which waiting one the machine serves first.

Background invocations look for a worker in arrival order, at most BACKGROUND_LOOKING at a
time; the others wait their turn, each woken alone. Every worker checked in wakes every
invocation looking for one: with all of a burst's tasks looking (291 of them at once, 200
texts), each check-in woke them all and they spent the cloud's one interpreter (the GIL) on
re-checking the pool, 46,000 times for 800 invocations, while the webhooks waited for it. In
order, the task that has waited longest goes first.

While callers who wait have invocations running, background ones hold at most
beside_foreground() workers (unless they have waited BACKGROUND_PATIENCE_S already): the cloud
is one process, and each task's handler calls back into it (DynamoDB, Twilio, logs), so every
task running beside a webhook takes turns at the cloud's one interpreter with it. Under a
burst the tasks fall behind, and catch up once the callers stop.
"""
from __future__ import annotations

import os
import threading
import time
from collections import Counter, deque

WORKER_MB = 60  # resident size of a worker that imported boto3 (measured: 48-60 MB)
WORKERS_PER_CORE = 4  # handlers mostly wait on HTTP calls to the cloud, so cores are shared
EVICT_AFTER_S = 1.0
# Then the invocation is throttled (the machine, not the function, is full). Long, because a
# throttle AWS would not give loses work a slow success would not; finite, because a handler
# invoking another function synchronously while every worker waits the same way never ends.
QUEUE_WAIT_S = 120.0
REAP_EVERY_S = 10.0
FOREGROUND_SPARE_S = 2.0
FOREGROUND_KEEP_S = 30.0
BACKGROUND_LOOKING = 4  # background invocations looking for a worker at once; the rest queue
BACKGROUND_PATIENCE_S = 30.0  # then a background invocation no longer yields to running callers
RECHECK_S = 0.25  # a waiting invocation looks again at least this often (it is also woken)


def reserved_for_foreground(bound: int) -> int:
    return bound // 4  # none on a pool of 2 or 3: background work must still be able to run


def beside_foreground(bound: int) -> int:
    return max(1, bound // 4)


class PoolFull(Exception):
    """No worker became free within QUEUE_WAIT_S."""


def available_mb() -> int | None:
    """MemAvailable from the kernel, or None where there is no /proc/meminfo."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def default_bound() -> int:
    """A multiple of the cores, and no more workers than half the free memory holds."""
    by_cores = (os.cpu_count() or 1) * WORKERS_PER_CORE
    memory = available_mb()
    by_memory = by_cores if memory is None else memory // 2 // WORKER_MB
    return max(2, min(by_cores, by_memory))


def configured_bound() -> int:
    value = os.environ.get("GLUELAB_LAMBDA_WORKERS")
    return max(1, int(value)) if value else default_bound()


def configured_idle_s() -> float:
    return float(os.environ.get("GLUELAB_LAMBDA_IDLE_S") or 300)


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError):
        return 0.0


class Pool:
    """Live worker processes within `bound`; workers have .spec, .stop() and .process.pid."""

    def __init__(self, bound: int, idle_s: float, on_empty=lambda: None):
        self.bound = bound
        self.idle_s = idle_s
        self.on_empty = on_empty  # called when retiring idle workers has left none
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.turns: deque = deque()  # background invocations waiting to look, oldest first
        self.looking_background = 0
        self.holding = Counter()  # invocations holding a worker (or starting one), by background
        self.held: dict = {}  # worker -> whether a background invocation holds it
        self.slot_kinds: dict = {}  # spec -> [background] of its cold starts under way
        self.idle: dict = {}  # spec -> [(idle since, worker)], most recently used last
        self.busy: set = set()
        self.starting = 0  # slots granted to cold starts not yet checked in
        self.starting_for: Counter = Counter()  # spec -> of those, cold starts for it
        self.waiting = 0
        # spec -> the foreground invocations waiting for a worker of it, oldest first (a spec
        # none waits for has no entry)
        self.lines: dict = {}
        self.foreground: set[str] = set()  # functions ever invoked in the foreground
        # Time invocations spent queued for a worker (not their cold start), by kind.
        self.waits = {kind: {"count": 0, "total_ms": 0.0, "max_ms": 0.0}
                      for kind in ("foreground", "background")}
        self.started = 0  # worker processes started since the cloud started
        self.cold_start_s = EVICT_AFTER_S  # moving average of recent init durations
        self.parallel_starts = os.cpu_count() or 1  # cold starts of one function at a time
        threading.Thread(target=self._reap, name="lambda-reaper", daemon=True).start()

    def live(self) -> int:
        return self.starting + len(self.busy) + sum(len(pool) for pool in self.idle.values())

    def checkout(self, spec, background: bool = False):
        """A warm idle worker for `spec`, or None: the caller may start one (call started())."""
        evicted = None
        with self.changed:
            now = arrived = time.monotonic()
            deadline = now + QUEUE_WAIT_S
            if background:
                try:
                    self._take_turn(deadline)
                except PoolFull:
                    self._count_wait(background, arrived)
                    raise
                now = time.monotonic()
            evict_from = now + max(EVICT_AFTER_S, self.cold_start_s)
            self.waiting += 1
            if not background:
                self.foreground.add(spec.name)
                line, place = self.lines.setdefault(spec, deque()), object()
                line.append(place)
            try:
                while True:
                    now = time.monotonic()
                    if not background and line[0] is not place:
                        # Served in arrival order: woken all at once, whichever thread got
                        # the lock first took the worker, and a webhook waited 1.5 s while
                        # later ones went ahead.
                        if now >= deadline:
                            raise PoolFull()
                        self.changed.wait(min(RECHECK_S, deadline - now))
                        continue
                    if (background and self.holding[False]
                            and self.holding[True] >= beside_foreground(self.bound)
                            and now < min(arrived + BACKGROUND_PATIENCE_S, deadline)):
                        self.changed.wait(min(RECHECK_S, deadline - now))
                        continue
                    pool = self.idle.get(spec)
                    if pool:
                        worker = pool.pop()[1]
                        if not pool:
                            del self.idle[spec]
                        self.busy.add(worker)
                        self.held[worker] = background
                        self.holding[background] += 1
                        return worker
                    now = time.monotonic()
                    if now >= deadline:
                        raise PoolFull()
                    if background and self.lines:
                        self.changed.wait(min(RECHECK_S, deadline - now))
                        continue
                    full = background and self._background_held() >= self._background_share()
                    if self.starting_for[spec] >= self.parallel_starts:
                        # Its workers starting will serve sooner than one more start would
                        # (inits share the cores): twenty webhooks at once waited 5-15 s for
                        # twenty cold starts of the same function.
                        self.changed.wait(min(RECHECK_S, deadline - now))
                        continue
                    if self.live() < self.bound and not full:
                        break
                    # Under pressure (others wait too), a function that has workers waits for
                    # them first, then takes only a worker idle for a cold start's time, which
                    # nobody seems to need; a lone waiter, or a function with no worker at
                    # all, takes the least recently used idle worker at once.
                    pressed = self.waiting > 1 and self._running(spec)
                    patient = pressed and now < evict_from
                    if not patient:
                        # A foreground function's idle workers are kept from background work
                        # only while the machine is busy: on a quiet one a task would wait
                        # 30 s for a worker nobody uses (a cold start from the zygote is quick).
                        busy = self.waiting > 1 or bool(self.busy)
                        evicted = self._pop_oldest_idle(now - self.cold_start_s if pressed
                                                        else now, background and busy, full)
                        if evicted:
                            break
                    self.changed.wait(min(evict_from - now if patient else RECHECK_S,
                                          deadline - now))
                self.starting += 1
                self.starting_for[spec] += 1
                self.started += 1
                self.slot_kinds.setdefault(spec, []).append(background)
                self.holding[background] += 1
            finally:
                self.waiting -= 1
                if background:
                    self.looking_background -= 1
                    self._next_turn()
                else:
                    line.remove(place)
                    if not line:
                        del self.lines[spec]
                    self.changed.notify_all()  # the next in line
                self._count_wait(background, arrived)
        if evicted:
            evicted.stop()
        return None

    def _take_turn(self, deadline: float) -> None:
        """Wait (holding self.lock) until this background invocation may look for a worker:
        it is the oldest waiting and fewer than BACKGROUND_LOOKING look; PoolFull at `deadline`."""
        turn = threading.Condition(self.lock)
        self.turns.append(turn)
        try:
            while self.turns[0] is not turn or self.looking_background >= BACKGROUND_LOOKING:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PoolFull()
                turn.wait(remaining)
            self.looking_background += 1
        finally:
            self.turns.remove(turn)
            self._next_turn()

    def _next_turn(self) -> None:
        if self.turns and self.looking_background < BACKGROUND_LOOKING:
            self.turns[0].notify()

    def _count_wait(self, background: bool, arrived: float) -> None:
        waits = self.waits["background" if background else "foreground"]
        waited_ms = (time.monotonic() - arrived) * 1000
        waits.update(count=waits["count"] + 1, total_ms=waits["total_ms"] + waited_ms,
                     max_ms=max(waits["max_ms"], waited_ms))

    def _live_where(self, of_function) -> int:
        """Live workers (starting, busy or idle) of the functions whose name passes `of_function`."""
        return (sum(count for spec, count in self.starting_for.items() if of_function(spec.name))
                + sum(1 for worker in self.busy if of_function(worker.spec.name))
                + sum(len(pool) for spec, pool in self.idle.items() if of_function(spec.name)))

    def _workers_of(self, name: str) -> int:
        return self._live_where(lambda other: other == name)

    def _background_share(self) -> int:
        return self.bound - reserved_for_foreground(self.bound)

    def _background_held(self) -> int:
        """Workers of functions never invoked in the foreground."""
        return self._live_where(lambda name: name not in self.foreground)

    def started_worker(self, worker) -> None:
        """The cold start for a slot from checkout() produced `worker` (now busy)."""
        with self.changed:
            self.cold_start_s = 0.8 * self.cold_start_s + 0.2 * worker.init_ms / 1000
            self.held[worker] = self._started(worker.spec)
            self.busy.add(worker)
            # One of its cold starts ended: an invocation waiting for a start slot may start
            # now (found by polling, the load benchmark's first wave started 0.2 s late).
            self.changed.notify_all()

    def start_failed(self, spec) -> None:
        with self.changed:
            self.holding[self._started(spec)] -= 1
            self.changed.notify_all()

    def _started(self, spec) -> bool:
        """A cold start of `spec` ended; whether a background invocation asked for it."""
        self.starting -= 1
        self.starting_for[spec] -= 1
        if not self.starting_for[spec]:
            del self.starting_for[spec]
        kinds = self.slot_kinds[spec]
        background = kinds.pop(0)
        if not kinds:
            del self.slot_kinds[spec]
        return background

    def _running(self, spec) -> bool:
        """Whether a worker of `spec` is busy or starting, so one may soon be free."""
        return spec in self.starting_for or any(worker.spec == spec for worker in self.busy)

    def checkin(self, worker, keep: bool) -> None:
        """An invocation ended: keep the worker warm, or stop it (timed out, stale, crashed)."""
        with self.changed:
            self.busy.discard(worker)
            if worker in self.held:
                self.holding[self.held.pop(worker)] -= 1
            if keep:
                self.idle.setdefault(worker.spec, []).append((time.monotonic(), worker))
            self.changed.notify_all()  # a waiter of this spec, or one that may now evict
        if not keep:
            worker.stop()

    def drop(self, specs) -> None:
        """Stop the idle workers of configurations that are no longer deployed."""
        with self.changed:
            stale = [worker for spec in specs for _, worker in self.idle.pop(spec, [])]
            self.changed.notify_all()
        for worker in stale:
            worker.stop()

    def _pop_oldest_idle(self, idle_before: float, background: bool = False,
                         background_only: bool = False):
        """The least recently used idle worker idle since before `idle_before`. For a
        background invocation, a foreground function's only if _kept_for_foreground() does not
        keep it, and none at all when background functions hold their whole share
        (background_only)."""
        kept = self._kept_for_foreground() if background else set()

        def evictable(spec, worker) -> bool:
            return (not background or spec.name not in self.foreground
                    or (not background_only and worker not in kept))
        oldest = min(((since, n, spec) for spec, pool in self.idle.items()
                      for n, (since, worker) in enumerate(pool) if evictable(spec, worker)),
                     key=lambda entry: entry[0], default=None)
        if oldest is None or oldest[0] > idle_before:
            return None
        since, n, spec = oldest
        worker = self.idle[spec].pop(n)[1]
        if not self.idle[spec]:
            del self.idle[spec]
        return worker

    def _kept_for_foreground(self) -> set:
        """Idle workers of foreground functions a background invocation leaves alone: those idle
        for less than FOREGROUND_SPARE_S (FOREGROUND_KEEP_S for a function's last worker), and of
        those only the reserved_for_foreground() most recently used. Unbounded, a shared cloud's
        many functions invoked once each kept the whole pool and a task waited 30 s for a worker."""
        now = time.monotonic()
        recent = []
        for spec, pool in self.idle.items():
            if spec.name in self.foreground:
                keep_s = FOREGROUND_KEEP_S if self._workers_of(spec.name) == 1 else FOREGROUND_SPARE_S
                recent += [(since, worker) for since, worker in pool if now - since < keep_s]
        recent.sort(key=lambda entry: entry[0], reverse=True)
        return {worker for _, worker in recent[:reserved_for_foreground(self.bound)]}

    def _reap(self) -> None:
        while True:
            time.sleep(min(REAP_EVERY_S, self.idle_s / 2))
            self.retire_idle()

    def retire_idle(self) -> None:
        """Stop workers idle for longer than idle_s, as Lambda reclaims idle environments."""
        cutoff = time.monotonic() - self.idle_s
        with self.changed:
            expired = []
            for spec in list(self.idle):
                kept = [(since, worker) for since, worker in self.idle[spec] if since > cutoff]
                expired += [worker for since, worker in self.idle[spec] if since <= cutoff]
                if kept:
                    self.idle[spec] = kept
                else:
                    del self.idle[spec]
            if expired:
                self.changed.notify_all()
        for worker in expired:
            worker.stop()
        if expired and not self.live():
            self.on_empty()

    def stats(self) -> dict:
        with self.changed:
            idle = [worker for pool in self.idle.values() for _, worker in pool]
            busy = list(self.busy)
            figures = {"bound": self.bound, "busy": len(busy), "idle": len(idle),
                       "starting": self.starting,
                       "waiting_for_worker": self.waiting + len(self.turns),
                       "started_total": self.started, "idle_timeout_s": self.idle_s,
                       "waited_for_worker": {kind: {key: round(value, 1) for key, value
                                                    in waits.items()}
                                             for kind, waits in self.waits.items()}}
        per_function = Counter(worker.spec.name for worker in busy + idle)
        figures["rss_mb"] = round(sum(rss_mb(worker.process.pid) for worker in busy + idle), 1)
        figures["functions"] = dict(sorted(per_function.items()))
        return figures
