"""Ordering strategies for :class:`~harness.scheduling.SeededEventLoop`.

At every iteration the loop hands its strategy the batch of ready handles (the ones queued when
the iteration began, cancelled ones removed) and runs the indices the strategy returns, in that
order. Handles the strategy leaves out stay queued, ahead of anything scheduled meanwhile.

- ``fifo``: every handle, in queue order. The loop then behaves exactly like the stock loop.
- ``random``: every handle, in an order shuffled by a seeded :class:`random.Random`.
- ``pct``: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte,
  "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010). One handle
  per step: the one of the highest-priority task, after callbacks bound to no task.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from harness.errors import UsageError, did_you_mean

__all__ = [
    "STRATEGY_NAMES",
    "Strategy",
    "SerialStrategy",
    "FifoStrategy",
    "RandomStrategy",
    "PCTStrategy",
    "ReplayStrategy",
    "handle_task",
    "make_strategy",
]

#: Fields of a PCT heap entry.
_KEY, _HANDLE, _TASK, _ALIVE = 1, 2, 3, 4
_LOWEST = float("-inf")

#: The names :func:`make_strategy` accepts, as in ``--strategy``.
STRATEGY_NAMES: tuple[str, ...] = ("fifo", "random", "pct")


class Strategy(Protocol):
    """Decides which ready callbacks the loop runs next, and in which order."""

    #: Short name recorded in :class:`~harness.model.ScheduleRecord`.
    name: str

    def task_created(self, task: asyncio.Task[Any]) -> None:
        """Called by the loop's task factory for every task it creates, in creation order."""
        ...

    def choose(self, ready: Sequence[asyncio.Handle], step: int) -> Sequence[int]:
        """Return distinct indices into ``ready`` (at least one) to run now, in that order.

        ``step`` is the number of callbacks the loop has run so far.
        """
        ...


@runtime_checkable
class SerialStrategy(Strategy, Protocol):
    """A strategy that runs one callback per iteration and keeps its own view of the queue.

    An optional fast path: when the strategy offers ``enqueue`` and ``pick``, the loop keeps
    the ready queue itself, across iterations, and calls these instead of :meth:`choose`, so
    that a step need not cost O(ready). The loop records the same decision :meth:`choose` would
    have given: the picked callback's index among the live ready ones, and their count.
    ``choose`` must still work (and agree) for use without the loop's fast path.
    """

    def enqueue(self, key: int, handle: asyncio.Handle) -> None:
        """``handle`` joined the tail of the ready queue under ``key`` (increasing, in order).

        Called at the start of the iteration after it was queued, for each new handle in
        queue order, before :meth:`pick`.
        """
        ...

    def pick(self, count: int, step: int) -> int:
        """Return the key of the one queued callback to run now.

        ``count`` is the number of queued callbacks (at least one); a queued handle whose
        ``_cancelled`` is set has left the queue, is not counted and must not be picked. The
        picked callback leaves the queue. ``step`` is as in :meth:`Strategy.choose`.
        """
        ...


def handle_task(handle: asyncio.Handle) -> asyncio.Task[Any] | None:
    """Return the task whose step or wake-up ``handle`` runs, or None for any other callback.

    ``Task.__step`` and ``Task.__wakeup`` are bound to their task (``handle._callback.__self__``);
    future callbacks, timer callbacks and plain ``call_soon`` functions are bound to no task.
    """
    owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
    return owner if isinstance(owner, asyncio.Task) else None


class FifoStrategy:
    """Stock asyncio order: every ready handle, first queued first run."""

    name = "fifo"

    def task_created(self, task: asyncio.Task[Any]) -> None:
        """Nothing to do: fifo ignores tasks."""

    def choose(self, ready: Sequence[asyncio.Handle], step: int) -> Sequence[int]:
        """Run the whole batch in queue order."""
        return range(len(ready))


class RandomStrategy:
    """Every ready handle, in an order shuffled by ``rng`` at every iteration."""

    name = "random"

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def task_created(self, task: asyncio.Task[Any]) -> None:
        """Nothing to do: the shuffle ignores tasks."""

    def choose(self, ready: Sequence[asyncio.Handle], step: int) -> Sequence[int]:
        """Run the whole batch in a seeded random order."""
        order = list(range(len(ready)))
        self._rng.shuffle(order)
        return order


class PCTStrategy:
    """Probabilistic concurrency testing with bug depth ``depth`` over about ``steps`` task steps.

    - Each task gets a distinct random priority when it is created, drawn in ``[depth, depth+1)``
      (a task the factory never saw gets one when it is first seen ready).
    - ``depth - 1`` change points are drawn without replacement from the scheduling points
      ``1..steps`` (the task steps where two or more tasks were ready: a step with one ready
      task decides nothing); :attr:`change_points` maps each to a priority ``1..depth-1``, in
      draw order.
    - Each step runs one handle. Callbacks bound to no task (future callbacks, timer wake-ups,
      ``call_soon`` functions) form a "system" group and run first, in queue order. Otherwise the
      highest-priority ready task runs; before task step ``n`` runs, if ``n`` is a change point
      the task that would run gets the change point's priority (below every initial priority) and
      the highest-priority ready task is chosen again.

    Set ``steps`` near the program's number of scheduling points (e.g. the number of decisions
    of a PCT run with ``depth=1``, which is what :func:`harness.runner.estimate_steps` measures):
    change points past the end are never reached.
    A bug of depth ``d`` is then found with probability at least ``1 / (n * steps**(d-1))`` per
    run, for ``n`` tasks.

    :meth:`choose` scans the ready batch, O(ready) per step. The loop uses the
    :class:`SerialStrategy` fast path instead (:meth:`enqueue`, :meth:`pick`): a queue of
    system callbacks and a heap of task callbacks kept across steps, O(log ready) per step,
    with the same decisions.
    """

    name = "pct"

    def __init__(self, rng: random.Random, *, depth: int = 3, steps: int = 1000) -> None:
        if not isinstance(depth, int) or depth < 1:
            raise UsageError(
                f"depth={depth!r} ({type(depth).__name__}) is not a valid PCT depth. "
                "Expected an int >= 1 (1 = no change points, the default is 3)."
            )
        if not isinstance(steps, int) or steps < 1:
            raise UsageError(
                f"steps={steps!r} ({type(steps).__name__}) is not a valid PCT step estimate. "
                "Expected an int >= 1: about how many task steps the program takes."
            )
        self._rng = rng
        self.depth = depth
        self.steps = steps
        drawn = rng.sample(range(1, steps + 1), min(depth - 1, steps))
        #: task step number (1-based) -> the priority the running task drops to there.
        self.change_points: Mapping[int, int] = {step: i for i, step in enumerate(drawn, 1)}
        # Plain dict for speed; a task leaves it when done (see _remember), so finished tasks
        # and what they hold are not kept alive by the strategy.
        self._priorities: dict[asyncio.Task[Any], float] = {}
        self._used: set[float] = set()
        self._task_steps = 0
        #: (task step, task name, new priority) for every change point reached, in order.
        self.changes: list[tuple[int, str, int]] = []
        # The loop's fast path (enqueue/pick) keeps, across steps: the queued system callbacks,
        # in queue order; a heap of the queued task callbacks, entries [-priority, key, handle,
        # task, alive] (key breaks ties in queue order; an entry whose task's priority changed
        # is marked dead and replaced); each queued task's live entries; and the callbacks of
        # tasks not seen yet, which get a priority at the next scheduling point, in queue order.
        self._system: deque[tuple[int, asyncio.Handle]] = deque()
        self._heap: list[list[Any]] = []
        self._queued: dict[asyncio.Task[Any], list[list[Any]]] = {}
        self._unseen: list[tuple[int, asyncio.Handle, asyncio.Task[Any]]] = []

    def task_created(self, task: asyncio.Task[Any]) -> None:
        """Give ``task`` a fresh, distinct initial priority."""
        self._remember(task)

    def _remember(self, task: asyncio.Task[Any]) -> None:
        self._priorities[task] = self._initial_priority()
        task.add_done_callback(self._forget)
        if task in self._queued:
            self._rekey(task)

    def _forget(self, task: asyncio.Future[Any]) -> None:
        self._priorities.pop(task, None)  # type: ignore[call-overload]
        if task in self._queued:
            self._rekey(task)  # type: ignore[arg-type]

    def priority(self, task: asyncio.Task[Any]) -> float | None:
        """The current priority of ``task``, or None if it has none yet."""
        return self._priorities.get(task)

    @property
    def task_steps(self) -> int:
        """How many task steps (not system callbacks) this strategy has chosen."""
        return self._task_steps

    def choose(self, ready: Sequence[asyncio.Handle], step: int) -> Sequence[int]:
        """Run one handle: the first system callback, else the highest-priority task's."""
        priorities = self._priorities
        tasks: list[asyncio.Task[Any]] = []
        for index, handle in enumerate(ready):
            owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
            if not isinstance(owner, asyncio.Task):
                return (index,)
            tasks.append(owner)
        for task in tasks:
            if task not in priorities and not task.done():
                self._remember(task)
        best = self._best(tasks)
        if len(tasks) < 2:
            # Only a choice between tasks is a scheduling point: counting the steps where one
            # task was ready would spread the change points over steps that decide nothing.
            return (best,)
        self._task_steps += 1
        new_priority = self.change_points.get(self._task_steps)
        if new_priority is not None:
            task = tasks[best]
            if task in priorities:
                priorities[task] = new_priority
            self.changes.append((self._task_steps, task.get_name(), new_priority))
            best = self._best(tasks)
        return (best,)

    # -- the loop's fast path: O(log n) per step ------------------------------------------------

    def enqueue(self, key: int, handle: asyncio.Handle) -> None:
        """File a newly queued callback: system group, priority heap, or unseen task."""
        owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
        if not isinstance(owner, asyncio.Task):
            self._system.append((key, handle))
            return
        priority = self._priorities.get(owner)
        if priority is None:
            if not owner.done():
                self._unseen.append((key, handle, owner))
                return
            priority = _LOWEST
        self._push(key, handle, owner, priority)

    def pick(self, count: int, step: int) -> int:
        """Run one callback, as :meth:`choose` would: the first system one, else the best task's."""
        system = self._system
        while system:
            key, handle = system.popleft()
            if not handle._cancelled:  # type: ignore[attr-defined]
                return key
        if self._unseen:
            self._see_unseen()
        if count < 2:
            return self._take()
        self._task_steps += 1
        new_priority = self.change_points.get(self._task_steps)
        if new_priority is not None:
            task = self._top()[_TASK]
            if task in self._priorities:
                self._priorities[task] = new_priority
                self._rekey(task)
            self.changes.append((self._task_steps, task.get_name(), new_priority))
        return self._take()

    def _push(
        self, key: int, handle: asyncio.Handle, task: asyncio.Task[Any], priority: float
    ) -> None:
        entry = [-priority, key, handle, task, True]
        heapq.heappush(self._heap, entry)
        entries = self._queued.get(task)
        if entries is None:
            self._queued[task] = [entry]
        else:
            entries.append(entry)

    def _see_unseen(self) -> None:
        # choose() gives unseen tasks a priority at a scheduling point, in queue order: the
        # unseen callbacks were queued in key order, and every one of them is in that batch.
        unseen, self._unseen = self._unseen, []
        priorities = self._priorities
        for key, handle, task in unseen:
            if handle._cancelled:  # type: ignore[attr-defined]
                continue
            if task not in priorities and not task.done():
                self._remember(task)
            self._push(key, handle, task, priorities.get(task, _LOWEST))

    def _rekey(self, task: asyncio.Task[Any]) -> None:
        priority = self._priorities.get(task, _LOWEST)
        fresh: list[list[Any]] = []
        for entry in self._queued.pop(task):
            entry[_ALIVE] = False
            if not entry[_HANDLE]._cancelled:
                fresh.append([-priority, entry[_KEY], entry[_HANDLE], task, True])
        if fresh:
            self._queued[task] = fresh
            for entry in fresh:
                heapq.heappush(self._heap, entry)

    def _top(self) -> list[Any]:
        heap = self._heap
        while True:
            entry = heap[0]
            if entry[_ALIVE]:
                if not entry[_HANDLE]._cancelled:
                    return entry
                self._drop(entry)
            heapq.heappop(heap)

    def _take(self) -> int:
        entry = self._top()
        heapq.heappop(self._heap)
        self._drop(entry)
        key: int = entry[_KEY]
        return key

    def _drop(self, entry: list[Any]) -> None:
        entry[_ALIVE] = False
        task = entry[_TASK]
        entries = self._queued[task]
        entries.remove(entry)
        if not entries:
            del self._queued[task]

    # -- choose(): the reference, O(ready) per step ----------------------------------------------

    def _best(self, tasks: Sequence[asyncio.Task[Any]]) -> int:
        priorities = self._priorities
        best, best_priority = 0, float("-inf")
        for index, task in enumerate(tasks):
            priority = priorities.get(task, float("-inf"))
            if priority > best_priority:
                best, best_priority = index, priority
        return best

    def _initial_priority(self) -> float:
        while True:
            priority = self.depth + self._rng.random()
            if priority not in self._used:
                self._used.add(priority)
                return priority


class ReplayStrategy:
    """Replays recorded one-at-a-time choices, e.g. :attr:`HypothesisStrategy.choices`.

    Like :class:`~harness.scheduling.HypothesisStrategy`, one callback runs per step and a choice
    is consumed only when more than one callback is ready; once the choices run out (or one is
    out of range) the head of the queue runs, as in fifo order.
    """

    name = "replay"

    def __init__(self, choices: Sequence[int]) -> None:
        self.choices = tuple(choices)
        self._next = 0

    def task_created(self, task: asyncio.Task[Any]) -> None:
        """Nothing to do: the choices are fixed."""

    def choose(self, ready: Sequence[asyncio.Handle], step: int) -> Sequence[int]:
        """Run the next recorded choice."""
        if len(ready) == 1:
            return (0,)
        index = self.choices[self._next] if self._next < len(self.choices) else 0
        self._next += 1
        return (index if 0 <= index < len(ready) else 0,)


def make_strategy(name: str, rng: random.Random, **options: Any) -> Strategy:
    """Build the strategy called ``name`` (one of :data:`STRATEGY_NAMES`) drawing from ``rng``.

    Options: ``pct`` takes ``depth`` (default 3) and ``steps`` (default 1000); the others take
    none.

    Raises:
        UsageError: an unknown name or an option the strategy does not take.

    Example:
        >>> make_strategy("pct", random.Random(7), depth=2, steps=50).name
        'pct'
    """
    if name not in STRATEGY_NAMES:
        raise UsageError(
            f"strategy={name!r} is not a scheduling strategy. "
            f"Expected one of {', '.join(STRATEGY_NAMES)}.{did_you_mean(str(name), STRATEGY_NAMES)}"
        )
    accepted = {"fifo": (), "random": (), "pct": ("depth", "steps")}[name]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = ", ".join(accepted) if accepted else "no options"
        raise UsageError(
            f"strategy={name!r} got options={unknown!r} it does not take. "
            f"{name} takes {takes}.{did_you_mean(unknown[0], accepted)}"
        )
    if name == "fifo":
        return FifoStrategy()
    if name == "random":
        return RandomStrategy(rng)
    return PCTStrategy(rng, **options)
