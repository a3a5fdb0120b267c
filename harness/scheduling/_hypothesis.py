"""Schedules drawn by Hypothesis, so a failing test shrinks the interleaving too."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from ._strategies import Strategy

__all__ = ["HypothesisStrategy", "schedules"]


class HypothesisStrategy:
    """Each choice between ready callbacks is drawn from Hypothesis ``data``.

    One callback runs per step: index ``data.draw(st.integers(0, n - 1))`` of the ``n`` ready
    ones (no draw when only one is ready). Hypothesis shrinks integers toward 0, the head of the
    queue, so a shrunk schedule is as close to fifo order as the failure allows.
    """

    name = "hypothesis"

    def __init__(self, data: st.DataObject) -> None:
        self._data = data
        #: Every drawn index, in order (what Hypothesis will shrink).
        self.choices: list[int] = []
        self._stopped = False

    def task_created(self, task: asyncio.Task[Any]) -> None:
        """Nothing to do: choices come from the data."""

    def choose(self, ready: Sequence[asyncio.Handle], step: int) -> Sequence[int]:
        """Run one ready callback, drawn by Hypothesis."""
        if len(ready) == 1 or self._stopped:
            return (0,)
        try:
            index = self._data.draw(st.integers(0, len(ready) - 1), label="schedule")
        except BaseException:
            # Hypothesis stopped this example; cleanup (cancelling tasks) runs in fifo order.
            self._stopped = True
            raise
        self.choices.append(index)
        return (index,)

    def __repr__(self) -> str:
        return f"HypothesisStrategy(choices={self.choices!r})"


@st.composite
def _schedules(draw: st.DrawFn) -> Strategy:
    return HypothesisStrategy(draw(st.data()))


def schedules() -> st.SearchStrategy[Strategy]:
    """A Hypothesis strategy of schedules, for ``@given(schedule=schedules())``.

    Each example is a :class:`HypothesisStrategy` that draws its choices lazily while the test
    runs it, e.g. ``harness.scheduling.run(main(), strategy=schedule)``.
    """
    return _schedules()
