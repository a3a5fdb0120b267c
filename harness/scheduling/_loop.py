"""The seeded event loop: pluggable ordering, a virtual clock, recorded decisions."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import heapq
import selectors
import time
import weakref
from collections import deque
from collections.abc import Coroutine, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import UsageError
from harness.model import ScheduleRecord

from ._errors import DeadlockError, StrategyError
from ._ordering import in_asyncio_order
from ._queue import ReadyQueue, TrackedHandle, TrackedTimerHandle
from ._real_io import AWAITED, IDLE, pending_io
from ._serial import SerialPath
from ._strategies import FifoStrategy, SerialStrategy, Strategy

__all__ = [
    "DeadlockError",
    "StrategyError",
    "SchedulerStatistics",
    "SeededEventLoop",
    "MAX_RECORDED_DECISIONS",
    "DEFAULT_IO_GRACE",
]

#: At most this many decision indices are kept in a ScheduleRecord; the digest covers all.
MAX_RECORDED_DECISIONS = 10_000

#: Real seconds the loop waits for awaited I/O before virtual time may move (docs/scheduling.md).
DEFAULT_IO_GRACE = 1.0

# Same thresholds as CPython 3.11 asyncio.base_events.
_MIN_SCHEDULED_TIMER_HANDLES = 100
_MIN_CANCELLED_TIMER_HANDLES_FRACTION = 0.5
_MAXIMUM_SELECT_TIMEOUT = 24 * 3600


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
    #: real I/O reached the loop (sockets, pipes, child processes, executor threads)
    real_io: bool = False
    #: times the loop blocked in the selector for real I/O while a timer was pending
    io_waits: int = 0
    #: virtual seconds that passed at real-time pace while real I/O was pending
    paced_seconds: float = 0.0


def _check_io_grace(io_grace: object) -> None:
    if not isinstance(io_grace, int | float) or isinstance(io_grace, bool) or io_grace < 0:
        raise UsageError(
            f"io_grace={io_grace!r} ({type(io_grace).__name__}) is not a grace period. "
            f"Expected seconds >= 0 of real waiting for awaited I/O before virtual time "
            f"moves (default {DEFAULT_IO_GRACE})."
        )


class SeededEventLoop(SerialPath, asyncio.SelectorEventLoop):
    """A selector event loop whose run order comes from a :class:`Strategy`.

    Args:
        strategy: the ordering; :class:`FifoStrategy` (stock order) when None.
        seed: recorded in :meth:`schedule_record`; the strategy holds the randomness.
        virtual_time: ``time()`` starts at 0.0 and jumps to the next timer when nothing is
            ready, so sleeps and timeouts cost no wall time; ``False`` uses the real clock.
        selector: passed to :class:`asyncio.SelectorEventLoop`.
        io_grace: real seconds the loop waits for awaited real I/O (a reply, a thread, a child
            process) before virtual time may move; past it, virtual time runs at real pace.

    Raises:
        UsageError: ``io_grace`` is not a number of seconds >= 0.

    Strategies order task steps only; every other callback keeps asyncio's order, and virtual
    time never runs ahead of real I/O that may still arrive (docs/scheduling.md, Real I/O).
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
        io_grace: float = DEFAULT_IO_GRACE,
    ) -> None:
        try:
            _check_io_grace(io_grace)
        except UsageError:
            self._closed = True  # never opened: nothing for __del__ to close
            raise
        self._io_grace = float(io_grace)
        self._real_io = False
        self._io_waits = 0
        self._paced = 0.0
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
        # Weak: a finished job's future (its result or traceback holds the target's frames)
        # must not outlive whoever awaited it.
        self._executor_jobs: weakref.WeakSet[asyncio.Future[Any]] = weakref.WeakSet()
        self._subprocesses: weakref.WeakSet[Any] = weakref.WeakSet()
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
        # Keys of queued callbacks bound to no task, in queue order (serial path only).
        self._system_keys: deque[int] = deque()
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
            real_io=self._real_io,
            io_waits=self._io_waits,
            paced_seconds=self._paced,
        )

    def schedule_record(self) -> ScheduleRecord:
        """The decisions so far: strategy, seed, steps, sha256 of every choice, first choices."""
        return ScheduleRecord(
            strategy=self._strategy.name,
            seed=self._seed,
            steps=self._steps,
            digest=self._digest.hexdigest(),
            decisions=tuple(self._decisions),
            real_io=self._real_io,
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
            self._system_keys.clear()
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
        self._real_io = True
        return future

    async def _make_subprocess_transport(self, *args: Any, **kwargs: Any) -> Any:
        """As the stock loop; a running child process counts as pending real I/O."""
        self._real_io = True
        transport = await super()._make_subprocess_transport(*args, **kwargs)  # type: ignore[misc]
        self._subprocesses.add(transport)
        return transport

    def _process_events(self, event_list: Any) -> None:
        # Events on any fd but the self-pipe are real I/O (executor threads and child watchers
        # are counted where they start).
        if event_list and not self._real_io:
            base: Any = self
            own = base._ssock.fileno() if base._ssock is not None else -1
            self._real_io = any(key.fd != own for key, _mask in event_list)
        super()._process_events(event_list)  # type: ignore[misc]

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
        """Nothing is ready: wait for real I/O that may come, else jump to the next timer.

        The rule (docs/scheduling.md, Real I/O): while real I/O is awaited (:data:`AWAITED`)
        the loop first blocks up to ``io_grace`` real seconds for it, at no virtual cost; past
        that, and at once when I/O is only possible (:data:`UNSURE`), virtual time runs no
        faster than real time up to the next timer. Only when no real I/O can be pending does
        the clock jump straight to the next timer.
        """
        base: Any = self
        grace = self._io_grace
        while not base._ready:
            running = any(not job.done() for job in self._executor_jobs)
            children = any(child.get_returncode() is None for child in self._subprocesses)
            level = pending_io(self, (running, children, self._shutdowns_running > 0))
            gap: float | None = None
            if base._scheduled:
                when = base._scheduled[0]._when
                gap = when - self._now
                if gap <= 0:
                    return
            if level == IDLE:
                if gap is not None:
                    self._now = when
                    self._clock_jumps += 1
                    return
                if not self._watched_fds():
                    raise self._deadlock()
                base._process_events(base._selector.select(None))
                continue
            if gap is None:
                # No timer to protect: wait as long as it takes, as the stock loop would.
                base._process_events(base._selector.select(None))
                continue
            self._io_waits += 1
            if level == AWAITED and grace > 0:
                started = time.monotonic()
                events = base._selector.select(min(grace, _MAXIMUM_SELECT_TIMEOUT))
                grace = max(0.0, grace - (time.monotonic() - started)) if events else 0.0
                base._process_events(events)
                continue
            started = time.monotonic()
            events = base._selector.select(min(gap, _MAXIMUM_SELECT_TIMEOUT))
            if not events:
                self._paced += gap
                self._now = when
                self._clock_jumps += 1
                return
            self._advance_paced(min(gap, time.monotonic() - started))
            base._process_events(events)

    def _advance_paced(self, seconds: float) -> None:
        """Move the clock by real seconds that passed while real I/O was pending."""
        self._now += seconds
        self._paced += seconds

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
        run_order = in_asyncio_order(batch, order)
        if len(run_order) < len(batch):
            chosen = set(run_order)
            ready.extendleft(
                reversed([handle for index, handle in enumerate(batch) if index not in chosen])
            )
        for index in run_order:
            self._run_handle(batch[index])

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
