"""The built-in implementations satisfy the protocols structurally."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from harness.contract import Clock, Target
from harness.reporting import Reporter, TerminalReporter
from harness.targets.reference import ReferenceTarget
from harness_backend.clock import LoopClock, ManualClock


def test_reference_target_is_a_target() -> None:
    assert isinstance(ReferenceTarget(), Target)


def test_terminal_reporter_is_a_reporter() -> None:
    assert isinstance(TerminalReporter(Console(file=io.StringIO())), Reporter)


def test_clocks_are_clocks() -> None:
    assert isinstance(ManualClock(0.0), Clock)
    assert isinstance(LoopClock(), Clock)
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, Clock)
    finally:
        loop.close()


def test_an_object_without_time_is_not_a_clock() -> None:
    assert not isinstance(object(), Clock)
