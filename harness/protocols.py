"""The protocols that implementations satisfy structurally, without inheriting.

``Backend`` is the system under test as the harness drives it (the pinned Target contract of
DESIGN.md section 4, re-exported under the name the style guide uses); ``Clock`` is where core
code reads time; ``Reporter`` receives a run's progress and results; ``Scheduler`` orders the
seeded loop's ready callbacks. Test doubles and third-party implementations plug in through
these, as the reference backend does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from harness.model import RunResult
from harness.scheduling import Strategy as Scheduler
from harness.target import Session as Session
from harness.target import Target as Backend

__all__ = ["Backend", "Clock", "Reporter", "Scheduler", "Session"]


@runtime_checkable
class Clock(Protocol):
    """Where time comes from: the running loop's ``time()`` (virtual on the seeded loop)."""

    def time(self) -> float: ...


@runtime_checkable
class Reporter(Protocol):
    """Receives progress and results of runs (``harness.reporting.TerminalReporter``)."""

    def run_started(
        self, scenario: str, seed: int, strategy: str, users: int, turns: int
    ) -> None: ...

    def turn_finished(self, n_done: int, n_total: int) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...

    def summary(self, results: Sequence[RunResult]) -> None: ...

    def message(self, text: str) -> None: ...
