"""The protocol a reporter satisfies structurally (:class:`TerminalReporter` is one)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from harness.model import RunResult

__all__ = ["Reporter"]


@runtime_checkable
class Reporter(Protocol):
    """Receives progress and results of runs."""

    def run_started(
        self, scenario: str, seed: int, strategy: str, users: int, turns: int
    ) -> None: ...

    def turn_finished(self, n_done: int, n_total: int) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...

    def summary(self, results: Sequence[RunResult]) -> None: ...

    def message(self, text: str) -> None: ...
