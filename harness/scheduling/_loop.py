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

from ._queue import ReadyQueue, TrackedHandle, TrackedTimerHandle
from ._strategies import FifoStrategy, SerialStrategy, Strategy

__all__ = [
    "DeadlockError",
    "StrategyError",
    "SchedulerStatistics",
    "SeededEventLoop",
    "MAX_RECORDED_DECISIONS",
]

#: At most this many decision indices are kept in a ScheduleRecord; the digest covers all.
MAX_RECORDED_DECISIONS = 10_000

_TRACKED = (TrackedHandle, TrackedTimerHandle)

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

    A :class:`SerialStrategy` (one offering ``enqueue`` and ``pick``, as ``pct`` does) runs one
    callback per iteration through the loop's own ready queue (:class:`ReadyQueue`), kept across
    iterations: O(log n) per step instead of rebuilding the batch, same decisions recorded.
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
        # The serial fast path: the queue outlives iterations; keys number queued callbacks in
        # order; untracked keys are handles the loop did not make (e.g. I/O readers), checked
        # for cancellation at every step since they cannot report it.
        self._serial: SerialStrategy | None = None
        self._queue: ReadyQueue | None = None
        if isinstance(self._strategy, SerialStrategy):
            self._serial = self._strategy
            self._queue = ReadyQueue()
        self._next_key = 0
        self._untracked: list[int] = []
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

    # -- handles -------------------------------------------------------------------------------

    def _call_soon(self, callback: Any, args: Any, context: Any) -> asyncio.Handle:
        if self._queue is None:
            handle: asyncio.Handle = super()._call_soon(  # type: ignore[misc]
                callback, args, context
            )
            return handle
        # As BaseEventLoop._call_soon, with a handle that reports its cancellation.
        tracked = TrackedHandle(callback, args, self, context)
        tracked._key = 0
        if tracked._source_traceback:  # type: ignore[attr-defined]
            del tracked._source_traceback[-1]  # type: ignore[attr-defined]
        self._ready.append(tracked)  # type: ignore[attr-defined]
        return tracked

    def call_at(  # type: ignore[override]
        self, when: float, callback: Any, *args: Any, context: contextvars.Context | None = None
    ) -> asyncio.TimerHandle:
        """As the stock loop; with a serial strategy the handle reports its cancellation."""
        if self._queue is None:
            return super().call_at(when, callback, *args, context=context)
        # As BaseEventLoop.call_at (CPython 3.11).
        if when is None:
            raise TypeError("when cannot be None")
        base: Any = self
        base._check_closed()
        if base._debug:
            base._check_thread()
            base._check_callback(callback, "call_at")
        timer = TrackedTimerHandle(when, callback, args, self, context)
        timer._key = 0
        if timer._source_traceback:  # type: ignore[attr-defined]
            del timer._source_traceback[-1]  # type: ignore[attr-defined]
        heapq.heappush(base._scheduled, timer)
        timer._scheduled = True  # type: ignore[attr-defined]
        return timer

    def _queued_handle_cancelled(self, handle: TrackedHandle | TrackedTimerHandle) -> None:
        """A tracked handle was cancelled: it leaves the serial queue, if it is queued."""
        queue = self._queue
        if queue is not None and handle._key in queue:
            queue.remove(handle._key)
            handle._key = 0

    def close(self) -> None:
        """As the stock loop; also drops the callbacks left in the serial queue."""
        if self._queue is not None and not self.is_running():
            self._queue.clear()
            self._untracked.clear()
        super().close()

    def _has_ready(self) -> bool:
        base: Any = self
        return bool(base._ready) or bool(self._queue)

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
        if self._has_ready() or base._stopping or self._virtual:
            timeout = 0
        elif base._scheduled:
            when = base._scheduled[0]._when
            timeout = min(max(0, when - self.time()), _MAXIMUM_SELECT_TIMEOUT)
        base._process_events(base._selector.select(timeout))

        if self._virtual and not base._stopping and not self._has_ready():
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
        if self._queue is not None:
            self._run_serial(self._queue)
            return
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
            self._run_handle(batch[index])

    def _run_serial(self, queue: ReadyQueue) -> None:
        # The one-at-a-time iteration without rebuilding the batch: the queue holds what the
        # batch would (the live callbacks, in queue order), and the rank of the picked one is
        # the index choose() would have returned.
        base: Any = self
        ready = base._ready
        strategy: Any = self._serial
        handle: Any
        try:
            while ready:
                handle = ready.popleft()
                if handle._cancelled:
                    continue
                self._next_key += 1
                key = self._next_key
                if type(handle) in _TRACKED and not handle._key:
                    handle._key = key
                else:
                    self._untracked.append(key)
                queue.append(key, handle)
                strategy.enqueue(key, handle)
            if self._untracked:
                self._sweep_untracked(queue)
            count = len(queue)
            if not count:
                return
            key = strategy.pick(count, self._steps)
            if key not in queue:
                raise StrategyError(
                    f"strategy={self._strategy.name!r} picked key={key!r}, which is not queued "
                    f"({count} ready callback(s)). Expected the key of a queued, live callback."
                )
        except BaseException:
            self._leave_serial(queue)
            raise
        handle = queue.handles[key]
        index = queue.remove(key)
        if type(handle) in _TRACKED:
            handle._key = 0
        if count > 1:
            self._record(count, (index,))
        self._run_handle(handle)

    def _run_handle(self, handle: asyncio.Handle) -> None:
        """Run one chosen callback, as the stock loop's ``_run_once`` does (unless cancelled)."""
        if handle._cancelled:  # type: ignore[attr-defined]
            return
        self._steps += 1
        base: Any = self
        if base._debug:
            try:
                base._current_handle = handle
                handle._run()  # type: ignore[attr-defined]
            finally:
                base._current_handle = None
        else:
            handle._run()  # type: ignore[attr-defined]

    def _sweep_untracked(self, queue: ReadyQueue) -> None:
        kept = []
        for key in self._untracked:
            handle = queue.handles.get(key)
            if handle is None:
                continue
            if handle._cancelled:  # type: ignore[attr-defined]
                queue.remove(key)
            else:
                kept.append(key)
        self._untracked = kept

    def _leave_serial(self, queue: ReadyQueue) -> None:
        # The strategy failed: put the live callbacks back in queue order and go on in fifo.
        base: Any = self
        live = [handle for handle in queue.handles.values() if not handle._cancelled]  # type: ignore[attr-defined]
        base._ready.extendleft(reversed(live))
        queue.clear()
        self._untracked.clear()
        self._queue = None
        self._serial = None
        self._chooser = FifoStrategy()

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
