"""Bounds on adapter calls: timeouts name the call, steps that block the loop are measured."""

from __future__ import annotations

import asyncio
import math
import time

import pytest

from harness.runner._bounds import AdapterCallTimeout, Bounds, StepTimer, bounded_call, sync_call
from harness.scheduling import run as run_seeded

pytestmark = [pytest.mark.unit, pytest.mark.timeout(60)]


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf])
def test_bounds_must_be_finite_and_positive(value: float) -> None:
    with pytest.raises(ValueError, match="call_timeout"):
        Bounds(call_timeout=value)


@pytest.mark.parametrize("own_task", [True, False])
def test_a_call_that_never_returns_times_out_naming_the_call(own_task: bool) -> None:
    async def never() -> None:
        await asyncio.get_running_loop().create_future()

    async def call() -> str:
        try:
            await bounded_call("Target.start()", never(), 7, own_task=own_task)
        except AdapterCallTimeout as exc:
            return str(exc)
        return "returned"

    message, _ = run_seeded(call(), strategy="fifo", seed=0)  # virtual clock: no real wait
    assert message.startswith("Target.start() did not return within 7s (--call-timeout 7)")


def test_a_call_within_its_bound_returns_its_value() -> None:
    async def quick() -> int:
        await asyncio.sleep(1)
        return 42

    value, _ = run_seeded(bounded_call("open_session()", quick(), 5), strategy="fifo", seed=0)
    assert value == 42


def test_a_sync_call_past_its_bound_is_reported_and_one_within_passes() -> None:
    # Under pytest-timeout's alarm the bound is measured, not enforced by an alarm of ours.
    with pytest.raises(AdapterCallTimeout, match=r"events\(\) took 0\.\ds, past its bound"):
        sync_call("events()", lambda: time.sleep(0.3), 0.1)
    assert sync_call("events()", lambda: [1, 2], 5) == [1, 2]


def test_a_step_that_blocks_is_recorded_and_awaiting_is_not() -> None:
    timer = StepTimer(block_limit=0.1)

    async def blocks() -> str:
        time.sleep(0.3)  # noqa: ASYNC251 (the misbehaviour under test)
        await asyncio.sleep(10)  # virtual: no real time
        return "done"

    async def both() -> list[str]:
        return [
            await timer.wrap("run_turn()", blocks()),
            await timer.wrap("close()", asyncio.sleep(10, result="closed")),
        ]

    results, _ = run_seeded(both(), strategy="fifo", seed=0)
    assert results == ["done", "closed"]
    assert [call for call, _ in timer.blocks] == ["run_turn()"]
    assert timer.blocks[0][1] >= 0.3


def test_the_harness_time_inside_a_step_is_not_the_adapters() -> None:
    timer = StepTimer(block_limit=0.1)

    async def hooked() -> None:
        started = time.perf_counter()
        time.sleep(0.3)  # noqa: ASYNC251 (stands for the harness's own hook)
        timer.harness_seconds += time.perf_counter() - started

    async def main() -> None:
        await timer.wrap("run_turn()", hooked())

    run_seeded(main(), strategy="fifo", seed=0)
    assert timer.blocks == []


def test_cancellation_reaches_the_wrapped_coroutine() -> None:
    timer = StepTimer(block_limit=10)
    seen: list[str] = []

    async def waits() -> None:
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            seen.append("cancelled inside")

    async def cancel_it() -> bool:
        task = asyncio.ensure_future(timer.wrap("run_turn()", waits()))
        await asyncio.sleep(1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return task.cancelled()

    cancelled, _ = run_seeded(cancel_it(), strategy="fifo", seed=0)
    assert cancelled
    assert seen == ["cancelled inside"]
