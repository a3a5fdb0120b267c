"""The loop's serial fast path (ReadyQueue, PCTStrategy.enqueue/pick) against the reference.

The reference is the path every strategy has: the loop rebuilds the ready batch each iteration
and PCTStrategy.choose scans it. The fast path must make the same decisions.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import pytest

from harness.scheduling import (
    PCTStrategy,
    SeededEventLoop,
    SerialStrategy,
    Strategy,
    StrategyError,
    run,
)
from harness.scheduling._queue import ReadyQueue

from .programs import chatter, racy_counter, random_program, stock_sample


class ChooseOnly:
    """Hides a strategy's fast path, so the loop takes the reference path through choose()."""

    def __init__(self, inner: Strategy) -> None:
        self.inner = inner
        self.name = inner.name

    def task_created(self, task: asyncio.Task[Any]) -> None:
        self.inner.task_created(task)

    def choose(self, ready: Sequence[asyncio.Handle], step: int) -> Sequence[int]:
        return self.inner.choose(ready, step)


def both_ways(program: Any, seed: int, **options: int) -> list[tuple[Any, ...]]:
    """Run ``program(log)`` with PCT through the fast path and through choose()."""
    outcomes = []
    for wrap in (False, True):
        pct = PCTStrategy(random.Random(seed), **options)
        log: list[str] = []
        strategy: Strategy = ChooseOnly(pct) if wrap else pct
        _, record = run(program(log), strategy=strategy, seed=seed)
        outcomes.append((record, pct.changes, pct.task_steps, log))
    return outcomes


def test_pct_offers_the_fast_path_and_the_wrapper_hides_it() -> None:
    pct = PCTStrategy(random.Random(0))
    assert isinstance(pct, SerialStrategy)
    assert not isinstance(ChooseOnly(pct), SerialStrategy)
    loop = SeededEventLoop(pct)
    reference = SeededEventLoop(ChooseOnly(pct))
    try:
        assert loop._queue is not None
        assert reference._queue is None
    finally:
        loop.close()
        reference.close()


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize(("depth", "steps"), [(1, 100), (3, 60), (6, 20)])
def test_fast_path_decides_as_choose_on_random_programs(seed: int, depth: int, steps: int) -> None:
    fast, reference = both_ways(
        lambda log: random_program(seed, log), seed, depth=depth, steps=steps
    )
    assert fast[0].decisions  # the programs do make decisions
    assert fast == reference


def test_random_programs_exercise_what_the_fast_path_must_handle() -> None:
    """The programs do queue cancelled, foreign, system and unseen-task callbacks."""
    seen = {"cancelled": 0, "foreign": 0, "unseen": 0, "dead-task": 0}

    class Spy(PCTStrategy):
        def enqueue(self, key: int, handle: asyncio.Handle) -> None:
            owner = getattr(handle._callback, "__self__", None)  # type: ignore[attr-defined]
            if type(handle) is asyncio.Handle:
                seen["foreign"] += 1
            if isinstance(owner, asyncio.Task):
                if owner.done():
                    seen["dead-task"] += 1
                elif self.priority(owner) is None:
                    seen["unseen"] += 1
            super().enqueue(key, handle)

    for seed in range(10):
        spy = Spy(random.Random(seed), depth=3, steps=60)

        async def main(seed: int = seed) -> None:
            loop = asyncio.get_running_loop()
            assert isinstance(loop, SeededEventLoop)
            original = loop._queued_handle_cancelled

            def counted(handle: Any) -> None:
                if loop._queue is not None and handle._key in loop._queue:
                    seen["cancelled"] += 1
                original(handle)

            loop._queued_handle_cancelled = counted  # type: ignore[method-assign]
            await random_program(seed, [])

        run(main(), strategy=spy, seed=seed)
    assert all(count > 0 for count in seen.values()), seen


@pytest.mark.parametrize("seed", range(10))
def test_fast_path_decides_as_choose_on_the_sample_programs(seed: int) -> None:
    for program in (chatter, stock_sample, lambda log: racy_counter()):
        fast, reference = both_ways(program, seed, depth=3, steps=30)
        assert fast == reference


def test_many_tasks_renumber_the_queue_and_keep_deciding_as_choose() -> None:
    """Over 1,024 queue positions: the queue renumbers its entries without changing decisions."""

    async def crowd(log: list[str]) -> None:
        async def worker(index: int) -> None:
            for round_ in range(3):
                log.append(f"{index}.{round_}")
                await asyncio.sleep(0)

        await asyncio.gather(*(worker(index) for index in range(700)))

    fast, reference = both_ways(crowd, 5, depth=4, steps=2000)
    assert fast == reference
    assert len(fast[1]) == 3


# -- ReadyQueue ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_ready_queue_ranks_match_a_list(seed: int) -> None:
    rng = random.Random(seed)
    queue = ReadyQueue()
    model: list[int] = []
    loop = asyncio.new_event_loop()
    try:
        handle = asyncio.Handle(print, (), loop)
        key = 0
        for _ in range(6000):
            if model and rng.random() < 0.45 + 0.1 * (len(model) > 300):
                victim = rng.choice(model)
                assert queue.rank(victim) == model.index(victim)
                assert queue.remove(victim) == model.index(victim)
                model.remove(victim)
            else:
                key += rng.randrange(1, 3)
                queue.append(key, handle)
                model.append(key)
            assert len(queue) == len(model)
            assert list(queue.handles) == model
        assert all(queue.rank(k) == i for i, k in enumerate(model))
        queue.clear()
        assert len(queue) == 0
    finally:
        loop.close()


# -- a failing fast path ---------------------------------------------------------------------


class BadPick(PCTStrategy):
    """Picks a key nobody queued after ``after`` good picks."""

    def __init__(self, after: int) -> None:
        super().__init__(random.Random(0), depth=1)
        self.after = after

    def pick(self, count: int, step: int) -> int:
        if self.after == 0:
            return -1
        self.after -= 1
        return super().pick(count, step)


def test_a_bad_pick_is_an_error_and_the_loop_finishes_in_fifo() -> None:
    log: list[str] = []

    async def main() -> None:
        await chatter(log)

    with pytest.raises(StrategyError, match=r"strategy='pct' picked key=-1"):
        run(main(), strategy=BadPick(after=10))
    # Cleanup ran: every worker was cancelled or finished, nothing was left queued.
    assert log


def test_a_raising_pick_propagates_and_leftover_tasks_are_cancelled() -> None:
    class Boom(PCTStrategy):
        def pick(self, count: int, step: int) -> int:
            if step >= 5:
                raise RuntimeError("boom")
            return super().pick(count, step)

    tasks: list[asyncio.Task[None]] = []

    async def spinner() -> None:
        for _ in range(1_000_000):
            await asyncio.sleep(0)

    async def main() -> None:
        tasks.extend(asyncio.create_task(spinner()) for _ in range(3))
        await asyncio.gather(*tasks)

    with pytest.raises(RuntimeError, match="boom"):
        run(main(), strategy=Boom(random.Random(0)))
    # The loop went on in fifo order with every live callback, so cleanup could cancel them.
    assert [task.cancelled() for task in tasks] == [True, True, True]
