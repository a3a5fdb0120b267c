from __future__ import annotations

import asyncio
import random

import pytest

import harness.scheduling as scheduling
from harness.model import ScheduleRecord
from harness.scheduling import RandomStrategy, run


def test_run_returns_the_result_and_the_schedule() -> None:
    async def main() -> str:
        await asyncio.gather(asyncio.sleep(1), asyncio.sleep(2))
        return "done"

    result, record = run(main(), strategy="random", seed=4)
    assert result == "done"
    assert isinstance(record, ScheduleRecord)
    assert (record.strategy, record.seed) == ("random", 4)
    assert record.steps > 0
    assert len(record.digest) == 64


def test_a_strategy_object_is_used_as_is() -> None:
    async def main() -> None:
        await asyncio.gather(*(asyncio.sleep(0) for _ in range(4)))

    by_object = run(main(), strategy=RandomStrategy(random.Random(9)), seed=9)[1]
    by_name = run(main(), strategy="random", seed=9)[1]
    assert by_object == by_name


def test_exceptions_propagate_with_the_schedule_noted() -> None:
    async def main() -> None:
        await asyncio.sleep(5)
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom") as info:
        run(main(), strategy="pct", seed=2)
    notes = getattr(info.value, "__notes__", [])
    assert len(notes) == 1
    assert "strategy='pct' seed=2" in notes[0]


def test_leftover_tasks_are_cancelled() -> None:
    cancelled: list[str] = []

    async def background() -> None:
        try:
            await asyncio.sleep(10_000)
        except asyncio.CancelledError:
            cancelled.append(asyncio.current_task().get_name())  # type: ignore[union-attr]
            raise

    async def main() -> asyncio.Task[None]:
        task = asyncio.create_task(background(), name="background")
        await asyncio.sleep(1)
        return task

    task, _ = run(main())
    assert task.cancelled()
    assert cancelled == ["background"]


def test_real_clock_run() -> None:
    async def main() -> bool:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0)
        return isinstance(loop, scheduling.SeededEventLoop) and loop.statistics().clock_jumps == 0

    assert run(main(), virtual_time=False)[0] is True


def test_all_lists_exactly_the_public_names() -> None:
    # dir(), not vars(): the Hypothesis strategy is re-exported lazily (PEP 562).
    public = {
        name
        for name in dir(scheduling)
        if getattr(getattr(scheduling, name), "__module__", "").startswith("harness.scheduling.")
        or (name.isupper() and not name.startswith("_"))
    }
    assert set(scheduling.__all__) == public
    assert len(scheduling.__all__) == len(set(scheduling.__all__))
