from __future__ import annotations

import asyncio
import importlib.util
import random
from collections.abc import Callable
from itertools import groupby
from pathlib import Path
from typing import Any

import pytest

from harness.errors import UsageError
from harness.scheduling import (
    STRATEGY_NAMES,
    FifoStrategy,
    PCTStrategy,
    RandomStrategy,
    SeededEventLoop,
    handle_task,
    make_strategy,
    run,
)


def load_programs() -> Any:
    """The sibling programs.py (test files are imported by path, not as a package)."""
    path = Path(__file__).with_name("programs.py")
    spec = importlib.util.spec_from_file_location("scheduling_programs", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


programs = load_programs()


def chatter_run(strategy: str, seed: int) -> tuple[list[str], str]:
    log: list[str] = []
    _, record = run(programs.chatter(log), strategy=strategy, seed=seed)
    return log, record.digest


def test_fifo_reproduces_stock_asyncio_order() -> None:
    stock_log: list[str] = []
    stock = asyncio.new_event_loop()
    try:
        stock.run_until_complete(programs.stock_sample(stock_log))
    finally:
        stock.close()
    seeded_log: list[str] = []
    run(programs.stock_sample(seeded_log), strategy="fifo")
    assert len(stock_log) > 20
    assert seeded_log == stock_log


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_same_seed_same_schedule_and_output(strategy: str) -> None:
    first_log, first_digest = chatter_run(strategy, seed=11)
    for _ in range(19):
        log, digest = chatter_run(strategy, seed=11)
        assert digest == first_digest
        assert log == first_log


@pytest.mark.parametrize("strategy", ["random", "pct"])
def test_different_seeds_give_different_interleavings(strategy: str) -> None:
    logs = {tuple(chatter_run(strategy, seed)[0]) for seed in range(6)}
    digests = {chatter_run(strategy, seed)[1] for seed in range(6)}
    assert len(logs) >= 2
    assert len(digests) >= 2


def test_fifo_never_breaks_the_racy_counter() -> None:
    results = {run(programs.racy_counter(), strategy="fifo", seed=seed)[0] for seed in range(50)}
    assert results == {1}


@pytest.mark.parametrize(
    ("strategy", "options"), [("random", {}), ("pct", {"steps": 12})], ids=["random", "pct"]
)
def test_racy_counter_breaks_within_50_seeds(strategy: str, options: dict[str, int]) -> None:
    breaking = [
        seed
        for seed in range(50)
        if run(programs.racy_counter(), strategy=strategy, seed=seed, strategy_options=options)[0]
        == 2
    ]
    assert breaking, f"{strategy} found no breaking seed in 0..49"
    # The breaking seed replays.
    replayed = run(
        programs.racy_counter(), strategy=strategy, seed=breaking[0], strategy_options=options
    )
    assert replayed[0] == 2


# -- pct ------------------------------------------------------------------------------------


def with_tasks(
    count: int, body: Callable[[SeededEventLoop, list[asyncio.Task[Any]]], None]
) -> None:
    """Make ``count`` idle tasks on a loop, hand them to ``body``, then cancel and close."""
    loop = SeededEventLoop()

    async def idle() -> None:
        await asyncio.sleep(3600)

    tasks = [loop.create_task(idle()) for _ in range(count)]
    try:
        body(loop, tasks)
    finally:
        for task in tasks:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        loop.close()


def step_handle(loop: SeededEventLoop, task: asyncio.Task[Any]) -> asyncio.Handle:
    return asyncio.Handle(task.get_name, (), loop)


def test_pct_runs_the_highest_priority_task_and_demotes_at_change_points() -> None:
    pct = PCTStrategy(random.Random(5), depth=3, steps=6)
    assert len(pct.change_points) == 2
    assert set(pct.change_points.values()) == {1, 2}
    assert all(1 <= step <= 6 for step in pct.change_points)

    def body(loop: SeededEventLoop, tasks: list[asyncio.Task[Any]]) -> None:
        for task in tasks:
            pct.task_created(task)
        initial = [pct.priority(task) for task in tasks]
        assert len(set(initial)) == 3
        assert all(3 <= p < 4 for p in initial)  # type: ignore[operator]
        handles = [step_handle(loop, task) for task in tasks]
        for number in range(1, 7):
            before = {task: pct.priority(task) for task in tasks}
            top = max(tasks, key=lambda task: before[task])  # type: ignore[arg-type,return-value]
            (chosen,) = pct.choose(handles, number - 1)
            if number in pct.change_points:
                assert pct.priority(top) == pct.change_points[number]
                assert pct.changes[-1] == (number, top.get_name(), pct.change_points[number])
            else:
                assert pct.priority(top) == before[top]
            now = {task: pct.priority(task) for task in tasks}
            assert tasks[chosen] is max(tasks, key=lambda task: now[task])  # type: ignore[arg-type,return-value]
        assert [change[0] for change in pct.changes] == sorted(pct.change_points)
        assert pct.task_steps == 6

    with_tasks(3, body)


def test_pct_runs_callbacks_bound_to_no_task_first() -> None:
    pct = PCTStrategy(random.Random(1), depth=1)

    def body(loop: SeededEventLoop, tasks: list[asyncio.Task[Any]]) -> None:
        system = asyncio.Handle(print, (), loop)
        handles = [step_handle(loop, tasks[0]), system, step_handle(loop, tasks[1])]
        assert handle_task(handles[0]) is tasks[0]
        assert handle_task(system) is None
        assert pct.choose(handles, 0) == (1,)
        assert pct.task_steps == 0
        assert pct.priority(tasks[0]) is None  # never created through the strategy
        del handles[1]
        (chosen,) = pct.choose(handles, 1)
        assert pct.task_steps == 1
        # Tasks first seen ready get a priority then, in queue order.
        assert pct.priority(tasks[0]) is not None
        assert pct.priority(tasks[1]) is not None
        assert tasks[chosen] is max(tasks, key=pct.priority)  # type: ignore[arg-type]

    with_tasks(2, body)


def test_pct_without_change_points_runs_tasks_to_completion_by_priority() -> None:
    pct = PCTStrategy(random.Random(3), depth=1)
    log: list[str] = []

    async def worker() -> None:
        for _ in range(5):
            log.append(asyncio.current_task().get_name())  # type: ignore[union-attr]
            await asyncio.sleep(0)

    async def main() -> dict[str, float | None]:
        tasks = [asyncio.create_task(worker()) for _ in range(3)]
        priorities = {task.get_name(): pct.priority(task) for task in tasks}
        await asyncio.gather(*tasks)
        # Finished tasks are forgotten, so the strategy keeps nothing they hold alive.
        assert [pct.priority(task) for task in tasks] == [None, None, None]
        return priorities

    priorities, _ = run(main(), strategy=pct)
    blocks = [(name, len(list(group))) for name, group in groupby(log)]
    by_priority = sorted(priorities, key=priorities.__getitem__, reverse=True)  # type: ignore[arg-type]
    assert blocks == [(name, 5) for name in by_priority]
    assert pct.changes == []


# -- make_strategy --------------------------------------------------------------------------


def test_make_strategy_builds_each_name() -> None:
    rng = random.Random(0)
    assert isinstance(make_strategy("fifo", rng), FifoStrategy)
    assert isinstance(make_strategy("random", rng), RandomStrategy)
    pct = make_strategy("pct", rng, depth=2, steps=9)
    assert isinstance(pct, PCTStrategy)
    assert (pct.depth, pct.steps) == (2, 9)
    assert STRATEGY_NAMES == ("fifo", "random", "pct")


def test_unknown_strategy_names_value_choices_and_guess() -> None:
    with pytest.raises(UsageError) as info:
        make_strategy("rnadom", random.Random(0))
    message = str(info.value)
    assert "strategy='rnadom'" in message
    assert "fifo, random, pct" in message
    assert "Did you mean 'random'?" in message


def test_unknown_strategy_through_run_closes_the_coroutine() -> None:
    async def main() -> None:
        pass

    with pytest.raises(UsageError, match=r"strategy='pcd'.*Did you mean 'pct'"):
        run(main(), strategy="pcd")


def test_unknown_option_is_named() -> None:
    with pytest.raises(UsageError, match=r"options=\['dept'\].*Did you mean 'depth'"):
        make_strategy("pct", random.Random(0), dept=2)
    with pytest.raises(UsageError, match="fifo takes no options"):
        make_strategy("fifo", random.Random(0), steps=3)


@pytest.mark.parametrize("bad", [{"depth": 0}, {"steps": 0}, {"depth": "3"}])
def test_pct_rejects_bad_parameters(bad: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match=f"{next(iter(bad))}="):
        PCTStrategy(random.Random(0), **bad)
