"""The seeded event loop: pluggable ordering, a virtual clock, recorded decisions."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import heapq
import selectors
from collections.abc import Coroutine, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.model import ScheduleRecord

from ._strategies import FifoStrategy, Strategy

__all__ = [
    "DeadlockError",
    "StrategyError",
    "SchedulerStatistics",
    "SeededEventLoop",
    "MAX_RECORDED_DECISIONS",
]

#: At most this many decision indices are kept in a ScheduleRecord; the digest covers all.
MAX_RECORDED_DECISIONS = 10_000

# Same thresholds as CPython 3.11 asyncio.base_events.
_MIN_SCHEDULED_TIMER_HANDLES = 100
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5
_MAXIMUM_SELECT_TIMEOUT = 24 * 3600


class DeadlockError(HarnessError):
    """Nothing can ever run again, yet tasks are pending.

    Raised by a :class:`SeededEventLoop` with a virtual clock when no callback is ready, no timer
    is scheduled, no executor job is running and no file descriptor but the loop's own is watched.
    Causes: a future nobody resolves, an event nobody sets, a lock never released, a queue nobody
    feeds. Fix: the message lists the pending tasks; resolve what they await, add a timeout
    (``asyncio.timeout``), or use ``virtual_time=False`` if a thread outside the loop's executor
    will wake it with ``call_soon_threadsafe``.
    """

    def __init__(self, message: str, pending: tuple[str, ...]) -> None:
        super().__init__(message)
        #: Names of the tasks still pending, sorted.
        self.pending = pending


class StrategyError(HarnessError):
    """A strategy's ``choose`` returned something the loop cannot run.

    Fix: return distinct indices into the ready batch, at least one.
    """


@dataclass(frozen=True, slots=True)
class SchedulerStatistics:
    """What a :class:`SeededEventLoop` has done so far."""

    strategy: str
    #: callbacks run
    steps: int
    #: iterations where more than one callback was ready (each recorded)
    decisions: int
    #: ``loop.time()`` now
    time: float
    virtual_time: bool
    #: tasks made by the loop's task factory
    tasks_created: int
    #: times the virtual clock jumped forward to the next timer
    clock_jumps: int


class SeededEventLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose run order comes from a :class:`Strategy`.

    Args:
        strategy: the ordering; :class:`FifoStrategy` (stock order) when None.
        seed: recorded in :meth:`schedule_record`; the strategy holds the randomness.
        virtual_time: ``time()`` starts at 0.0 and jumps to the next timer when nothing is
            ready, so sleeps and timeouts cost no wall time; ``False`` uses the real clock.
        selector: passed to :class:`asyncio.SelectorEventLoop`.

    Tasks made through the loop are named ``task-<n>`` from a per-loop counter unless the caller
    names them. :meth:`statistics` and :meth:`schedule_record` report what happened. If the
    strategy raises (or returns an invalid order), the error propagates and the loop continues
    in fifo order, so that leftover tasks can still be cancelled.
    """

    def __init__(
        self,
        strategy: Strategy | None = None,
        *,
        seed: int = 0,
        virtual_time: bool = True,
        selector: selectors.BaseSelector | None = None,
    ) -> None:
        self._virtual = virtual_time
        self._now = 0.0
        super().__init__(selector)
        self._strategy: Strategy = strategy if strategy is not None else FifoStrategy()
        self._chooser: Strategy = self._strategy  # fifo once the strategy has raised
        self._seed = seed
        self._steps = 0
        self._decision_count = 0
        self._decisions: list[int] = []
        self._digest = hashlib.sha256()
        self._tasks_created = 0
        self._clock_jumps = 0
        self._executor_jobs: set[asyncio.Future[Any]] = set()
        self._shutdowns_running = 0
        self.set_task_factory(self._make_task)  # type: ignore[arg-type]

    @property
    def strategy(self) -> Strategy:
        """The ordering strategy this loop consults."""
        return self._strategy

    def time(self) -> float:
        """Virtual time (from 0.0) or, with ``virtual_time=False``, the monotonic clock."""
        return self._now if self._virtual else super().time()

    def statistics(self) -> SchedulerStatistics:
        """A frozen snapshot of steps, decisions, time, tasks and clock jumps."""
        return SchedulerStatistics(
            strategy=self._strategy.name,
            steps=self._steps,
            decisions=self._decision_count,
            time=self.time(),
            virtual_time=self._virtual,
            tasks_created=self._tasks_created,
            clock_jumps=self._clock_jumps,
        )

    def schedule_record(self) -> ScheduleRecord:
        """The decisions so far: strategy, seed, steps, sha256 of every choice, first choices."""
        return ScheduleRecord(
            strategy=self._strategy.name,
            seed=self._seed,
            steps=self._steps,
            digest=self._digest.hexdigest(),
            decisions=tuple(self._decisions),
        )

    # -- tasks and threads -------------------------------------------------------------------

    def _make_task(
        self,
        loop: asyncio.AbstractEventLoop,
        coro: Coroutine[Any, Any, Any] | Generator[Any, None, Any],
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[Any]:
        # create_task() renames the task afterwards when the caller gave a name.
        self._tasks_created += 1
        task = asyncio.Task(coro, loop=self, name=f"task-{self._tasks_created}", context=context)
        self._strategy.task_created(task)
        return task

    def run_in_executor(  # type: ignore[override]
        self, executor: Any, func: Any, *args: Any
    ) -> asyncio.Future[Any]:
        """As the stock loop; the virtual clock waits for the job instead of jumping past it."""
        future = super().run_in_executor(executor, func, *args)
        self._executor_jobs.add(future)
        return future

    async def shutdown_default_executor(self) -> None:
        """As the stock loop; the shutdown thread counts as a running executor job."""
        self._shutdowns_running += 1
        try:
            await super().shutdown_default_executor()
        finally:
            self._shutdowns_running -= 1

    # -- the iteration -----------------------------------------------------------------------

    def _run_once(self) -> None:
        # Mirrors CPython 3.11 BaseEventLoop._run_once (Lib/asyncio/base_events.py), changed in
        # three places: (1) with a virtual clock the selector is always polled with timeout 0
        # and, when nothing is ready, _advance_clock() jumps to the next timer (or waits for an
        # executor job, or raises DeadlockError); (2) the ready batch is ordered by the strategy
        # (_run_ready); (3) debug-mode slow-callback timing is dropped.
        base: Any = self  # the base loop's private state, untyped in typeshed
        sched_count = len(base._scheduled)
        if (
            sched_count > _MIN_SCHEDULED_TIMER_HANDLES
            and base._timer_cancelled_count / sched_count > _MIN_CANCELLED_TIMER_HANDLES_FRACTION
        ):
            kept = []
            for handle in base._scheduled:
                if handle._cancelled:
                    handle._scheduled = False
                else:
                    kept.append(handle)
            heapq.heapify(kept)
            base._scheduled = kept
            base._timer_cancelled_count = 0
        else:
            while base._scheduled and base._scheduled[0]._cancelled:
                base._timer_cancelled_count -= 1
                handle = heapq.heappop(base._scheduled)
                handle._scheduled = False

        timeout: float | None = None
        if base._ready or base._stopping or self._virtual:
            timeout = 0
        elif base._scheduled:
            when = base._scheduled[0]._when
            timeout = min(max(0, when - self.time()), _MAXIMUM_SELECT_TIMEOUT)
        base._process_events(base._selector.select(timeout))

        if self._virtual and not base._ready and not base._stopping:
            self._advance_clock()

        end_time = self.time() + base._clock_resolution
        while base._scheduled:
            handle = base._scheduled[0]
            if handle._when >= end_time:
                break
            handle = heapq.heappop(base._scheduled)
            handle._scheduled = False
            base._ready.append(handle)

        self._run_ready()

    def _advance_clock(self) -> None:
        """Nothing is ready: wait for threads, else jump to the next timer, else real I/O."""
        base: Any = self
        while not base._ready:
            self._executor_jobs = {job for job in self._executor_jobs if not job.done()}
            if self._executor_jobs or self._shutdowns_running:
                # A thread takes no virtual time: block until it reports through the self-pipe.
                base._process_events(base._selector.select(None))
            elif base._scheduled:
                when = base._scheduled[0]._when
                if when > self._now:
                    self._now = when
                    self._clock_jumps += 1
                return
            elif self._watched_fds():
                base._process_events(base._selector.select(None))
            else:
                raise self._deadlock()

    def _watched_fds(self) -> int:
        base: Any = self
        own = 1 if base._ssock is not None else 0
        return len(base._selector.get_map()) - own

    def _deadlock(self) -> DeadlockError:
        tasks = sorted(asyncio.all_tasks(self), key=lambda task: task.get_name())
        names = tuple(task.get_name() for task in tasks)
        described = ", ".join(
            f"{task.get_name()!r} ({getattr(task.get_coro(), '__qualname__', '?')})"
            for task in tasks
        )
        return DeadlockError(
            f"deadlock at virtual time={self._now!r}: no callback is ready, no timer is "
            f"scheduled and no thread or I/O can wake the loop, but {len(tasks)} task(s) are "
            f"pending: {described or 'none (a bare future is awaited)'}. Resolve or cancel what "
            "they await, add a timeout (asyncio.timeout), or use virtual_time=False if a foreign "
            "thread will wake the loop.",
            names,
        )

    def _run_ready(self) -> None:
        base: Any = self
        ready = base._ready
        batch: list[Any] = []
        for _ in range(len(ready)):
            handle = ready.popleft()
            if not handle._cancelled:
                batch.append(handle)
        if not batch:
            return
        try:
            order = self._chooser.choose(batch, self._steps)
            self._check_order(order, len(batch))
        except BaseException:
            # Keep the loop consistent and fall back to fifo, so cleanup can cancel the tasks.
            ready.extendleft(reversed(batch))
            self._chooser = FifoStrategy()
            raise
        if len(batch) > 1:
            self._record(len(batch), order)
        if len(order) < len(batch):
            chosen = set(order)
            ready.extendleft(
                reversed([handle for index, handle in enumerate(batch) if index not in chosen])
            )
        for index in order:
            handle = batch[index]
            if handle._cancelled:
                continue
            self._steps += 1
            if base._debug:
                try:
                    base._current_handle = handle
                    handle._run()
                finally:
                    base._current_handle = None
            else:
                handle._run()
        handle = None  # Needed to break cycles when an exception occurs (as CPython).

    def _check_order(self, order: Sequence[int], size: int) -> None:
        if len(order) == 0 or len(set(order)) != len(order) or min(order) < 0 or max(order) >= size:
            raise StrategyError(
                f"strategy={self._strategy.name!r} chose order={list(order)!r} for {size} ready "
                f"callback(s). Expected distinct indices in range({size}), at least one."
            )

    def _record(self, size: int, order: Sequence[int]) -> None:
        self._decision_count += 1
        self._digest.update(f"{size}:{','.join(map(str, order))};".encode())
        room = MAX_RECORDED_DECISIONS - len(self._decisions)
        if room > 0:
            self._decisions.extend(list(order)[:room])
