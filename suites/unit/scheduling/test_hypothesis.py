"""Hypothesis drives the interleaving: it finds the race fifo hides, and shrinks it."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from hypothesis import find, given, settings

from harness.scheduling import HypothesisStrategy, ReplayStrategy, Strategy, run, schedules


def load_programs() -> Any:
    path = Path(__file__).with_name("programs.py")
    spec = importlib.util.spec_from_file_location("scheduling_programs_hypothesis", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


programs = load_programs()
REPRODUCIBLE = settings(database=None, derandomize=True, max_examples=200, deadline=None)


def test_given_finds_the_race_that_fifo_misses() -> None:
    # The documented example (docs/scheduling.md): a property over every interleaving.
    @REPRODUCIBLE
    @given(schedule=schedules())
    def test_counter_is_never_incremented_twice(schedule: Strategy) -> None:
        count, _ = run(programs.racy_counter(), strategy=schedule)
        assert count == 1

    assert run(programs.racy_counter(), strategy="fifo")[0] == 1
    with pytest.raises(AssertionError):
        test_counter_is_never_incremented_twice()


def test_find_shrinks_the_interleaving() -> None:
    def breaks(schedule: Strategy) -> bool:
        count: int = run(programs.racy_counter(), strategy=schedule)[0]
        return count == 2

    found = find(schedules(), breaks, settings=REPRODUCIBLE)
    assert isinstance(found, HypothesisStrategy)
    choices = found.choices
    # The shrunk schedule replays; with every choice at the queue head (fifo-like) the race
    # vanishes; and shrinking pulled the choices toward the head: each is 0 or 1, few are 1.
    assert breaks(ReplayStrategy(choices))
    assert not breaks(ReplayStrategy([]))
    assert set(choices) == {0, 1}
    assert sum(choices) <= 2


def test_a_correct_program_passes_every_schedule() -> None:
    @REPRODUCIBLE
    @given(schedule=schedules())
    def test_locked_counter(schedule: Strategy) -> None:
        async def main() -> int:
            counter = 0
            lock = asyncio.Lock()

            async def worker() -> None:
                nonlocal counter
                async with lock:
                    if counter < 1:
                        await asyncio.sleep(0)
                        counter += 1

            await asyncio.gather(worker(), worker(), worker())
            return counter

        assert run(main(), strategy=schedule)[0] == 1

    test_locked_counter()
