"""Benchmarks of the harness: throughput, overheads, memory, search rates and race search.

Not timed tests: every figure here is measured on the machine that runs it and printed with
the command that made it. ``harness bench`` and ``python -m harness.bench`` drive :func:`run_all`.

Example:
    >>> from harness.bench import run_all
    >>> report = run_all(quick=True)  # doctest: +SKIP
    >>> report.summary()["turns_per_second"]  # doctest: +SKIP
"""

from __future__ import annotations

from harness.bench._fault import FaultRun, fault_run
from harness.bench._measures import (
    RunTiming,
    detector_overhead,
    explore_rate,
    scheduler_overhead,
    throughput,
    time_run,
)
from harness.bench._memory import measure_memory, memory_per_user
from harness.bench._race import race_search
from harness.bench._suite import GOALS, BenchReport, BenchSizes, run_all
from harness.bench._websocket import websocket_throughput

__all__ = [
    "GOALS",
    "BenchReport",
    "BenchSizes",
    "FaultRun",
    "RunTiming",
    "detector_overhead",
    "explore_rate",
    "fault_run",
    "measure_memory",
    "memory_per_user",
    "race_search",
    "run_all",
    "scheduler_overhead",
    "throughput",
    "time_run",
    "websocket_throughput",
]
