"""Deterministic scheduling: a seeded event loop, ordering strategies and a virtual clock.

Every in-process run is a pure function of (scenario, seed, strategy): see docs/scheduling.md.
"""

from __future__ import annotations

import typing as _typing

from ._loop import DEFAULT_IO_GRACE as DEFAULT_IO_GRACE
from ._loop import MAX_RECORDED_DECISIONS as MAX_RECORDED_DECISIONS
from ._loop import DeadlockError as DeadlockError
from ._loop import SchedulerStatistics as SchedulerStatistics
from ._loop import SeededEventLoop as SeededEventLoop
from ._loop import StrategyError as StrategyError
from ._run import run as run
from ._strategies import STRATEGY_NAMES as STRATEGY_NAMES
from ._strategies import FifoStrategy as FifoStrategy
from ._strategies import PCTStrategy as PCTStrategy
from ._strategies import RandomStrategy as RandomStrategy
from ._strategies import ReplayStrategy as ReplayStrategy
from ._strategies import SerialStrategy as SerialStrategy
from ._strategies import Strategy as Strategy
from ._strategies import handle_task as handle_task
from ._strategies import make_strategy as make_strategy

__all__ = [
    "SeededEventLoop",
    "SchedulerStatistics",
    "run",
    "Strategy",
    "SerialStrategy",
    "STRATEGY_NAMES",
    "make_strategy",
    "FifoStrategy",
    "RandomStrategy",
    "PCTStrategy",
    "HypothesisStrategy",
    "ReplayStrategy",
    "schedules",
    "handle_task",
    "DeadlockError",
    "StrategyError",
    "MAX_RECORDED_DECISIONS",
    "DEFAULT_IO_GRACE",
]


_LAZY = ("HypothesisStrategy", "schedules")


def __getattr__(name: str) -> _typing.Any:
    # Hypothesis is imported when its strategy is asked for, not with the scheduler: the pytest
    # plugin imports this package in every pytest process of every project that installs the
    # harness, most of which never draw a schedule from Hypothesis.
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from harness.scheduling import _hypothesis

    value = getattr(_hypothesis, name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
