from __future__ import annotations

import asyncio
import dataclasses
import socket

import pytest

from harness.errors import HarnessError
from harness.scheduling import (
    MAX_RECORDED_DECISIONS,
    DeadlockError,
    FifoStrategy,
    RandomStrategy,
    SchedulerStatistics,
    SeededEventLoop,
    StrategyError,
    run,
)


def run_on(loop: SeededEventLoop, coro: object) -> object:
    try:
        return loop.run_until_complete(coro)  # type: ignore[arg-type]
    finally:
        loop.close()


def test_sleep_an_hour_jumps_the_virtual_clock() -> None:
    loop = SeededEventLoop()

    async def nap() -> float:
        await asyncio.sleep(3600)
        return asyncio.get_running_loop().time()

    assert loop.time() == 0.0
    assert run_on(loop, nap()) == 3600.0
    stats = loop.statistics()
    assert stats.time == 3600.0
    assert stats.virtual_time is True
    assert stats.clock_jumps == 1


def test_timeouts_fire_on_virtual_time() -> None:
    async def main() -> tuple[float, float]:
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(5):
                await asyncio.sleep(60)
        first = loop.time()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=2.5)
        return first, loop.time()

    (first, second), _ = run(main())
    assert first == 5.0
    assert second == 7.5


def test_timers_fire_in_deadline_order() -> None:
    async def main() -> list[str]:
        log: list[str] = []
        loop = asyncio.get_running_loop()

        def note(delay: float) -> None:
            log.append(f"{delay}@{loop.time()}")

        for delay in (30.0, 10.0, 20.0):
            loop.call_later(delay, note, delay)
        await asyncio.sleep(40)
        return log

    log, _ = run(main())
    assert log == ["10.0@10.0", "20.0@20.0", "30.0@30.0"]


def test_real_clock_when_virtual_time_is_off() -> None:
    loop = SeededEventLoop(virtual_time=False)

    async def nap() -> None:
        await asyncio.sleep(0.001)

    run_on(loop, nap())
    stats = loop.statistics()
    assert stats.virtual_time is False
    assert stats.clock_jumps == 0


def test_deadlock_names_the_pending_tasks() -> None:
    async def stuck_worker(event: asyncio.Event) -> None:
        await event.wait()

    async def main() -> None:
        event = asyncio.Event()
        worker = asyncio.create_task(stuck_worker(event))
        await asyncio.get_running_loop().create_future()
        await worker

    with pytest.raises(DeadlockError) as info:
        run(main())
    assert isinstance(info.value, HarnessError)
    assert info.value.pending == ("task-1", "task-2")
    message = str(info.value)
    assert "'task-1' (test_deadlock_names_the_pending_tasks.<locals>.main)" in message
    assert "stuck_worker)" in message
    assert "asyncio.timeout" in message


def test_executor_jobs_are_waited_for_not_deadlocked() -> None:
    def blocking(value: int) -> int:
        return value * 2

    async def main() -> tuple[int, int, float]:
        loop = asyncio.get_running_loop()
        first = await loop.run_in_executor(None, blocking, 21)
        second = await asyncio.to_thread(blocking, 4)
        return first, second, loop.time()

    assert run(main())[0] == (42, 8, 0.0)


def test_real_file_descriptors_keep_working() -> None:
    async def main() -> bytes:
        loop = asyncio.get_running_loop()
        left, right = socket.socketpair()
        left.setblocking(False)
        right.setblocking(False)
        try:
            loop.call_later(0.25, right.send, b"ping")
            data = await loop.sock_recv(left, 4)
            return data + f"@{loop.time()}".encode()
        finally:
            left.close()
            right.close()

    # sock_recv awaits real I/O: virtual time runs at real pace up to the timer.
    assert run(main(), io_grace=0)[0] == b"ping@0.25"


def test_tasks_get_per_loop_names() -> None:
    async def main() -> list[str]:
        async def child() -> str:
            await asyncio.sleep(0)
            return asyncio.current_task().get_name()  # type: ignore[union-attr]

        named = asyncio.create_task(child(), name="explicit")
        anonymous = [asyncio.create_task(child()) for _ in range(3)]
        return [await named] + [await task for task in anonymous]

    first, _ = run(main())
    second, _ = run(main())
    assert first == ["explicit", "task-3", "task-4", "task-5"]
    assert second == first


def test_statistics_is_a_frozen_record() -> None:
    loop = SeededEventLoop()

    async def main() -> None:
        await asyncio.gather(*(asyncio.sleep(0) for _ in range(3)))

    run_on(loop, main())
    stats = loop.statistics()
    assert isinstance(stats, SchedulerStatistics)
    assert stats.tasks_created == 4  # the main task and three sleeps wrapped by gather
    assert stats.steps > stats.tasks_created
    assert stats.decisions >= 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.steps = 0  # type: ignore[misc]


def test_record_keeps_the_first_decisions_and_digests_all() -> None:
    import random

    async def spin() -> None:
        for _ in range(4000):
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(spin(), spin(), spin())

    loop = SeededEventLoop(RandomStrategy(random.Random(1)), seed=1)
    run_on(loop, main())
    record = loop.schedule_record()
    assert record.strategy == "random"
    assert record.seed == 1
    assert len(record.decisions) == MAX_RECORDED_DECISIONS
    assert loop.statistics().decisions * 3 > MAX_RECORDED_DECISIONS
    assert len(record.digest) == 64
    assert record.steps == loop.statistics().steps


def test_fifo_records_identity_orders() -> None:
    loop = SeededEventLoop(FifoStrategy())

    async def main() -> None:
        await asyncio.gather(asyncio.sleep(0), asyncio.sleep(0))

    run_on(loop, main())
    decisions = loop.schedule_record().decisions
    assert decisions
    assert decisions[:2] == (0, 1)


class EmptyChoice:
    name = "empty"

    def task_created(self, task: asyncio.Task[object]) -> None:
        pass

    def choose(self, ready: object, step: int) -> list[int]:
        return []


def test_a_strategy_that_chooses_nothing_is_an_error() -> None:
    async def main() -> None:
        await asyncio.sleep(0)

    with pytest.raises(StrategyError, match=r"strategy='empty' chose order=\[\]"):
        run(main(), strategy=EmptyChoice())
