"""Every benchmark in one go, its figures as JSON data and the goals they are held to."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from harness.bench._fault import FaultRun, fault_run
from harness.bench._measures import (
    ExploreRate,
    Overhead,
    RunTiming,
    detector_overhead,
    explore_rate,
    scheduler_overhead,
    throughput,
)
from harness.bench._memory import MemoryScaling, memory_per_user
from harness.bench._race import RaceSearch, race_search
from harness.bench._websocket import WebSocketRun, websocket_throughput

__all__ = ["GOALS", "BenchReport", "BenchSizes", "machine", "run_all"]

T = TypeVar("T")

#: The goals of issue 6: name -> (what, limit).
GOALS: dict[str, tuple[str, float]] = {
    "memory_10000_users_bytes": ("peak RSS of one run with 10,000 users at most", 2 * 1024**3),
    "detector_overhead": ("all detectors / none at most", 1.3),
    "scheduler_overhead": ("seeded loop / stock asyncio at most", 1.5),
    "throughput_scaling": ("turns/s at the largest size / at the smallest at least", 0.75),
}


@dataclass(frozen=True, slots=True)
class BenchSizes:
    """How big each benchmark runs. ``quick()``, ``full()`` and ``tiny()`` (for tests)."""

    throughput: tuple[int, ...]
    overhead_users: int
    repetitions: int
    memory: tuple[int, ...]
    memory_traced: tuple[int, ...]
    explore_budget: float
    websocket_users: int  #: 0 skips the WebSocket benchmark
    race_starts: tuple[int, ...]
    race_limit: int
    fault_users: int = 0  #: 0 skips the fault run (``harness run --fault shared-engine``)

    @classmethod
    def quick(cls) -> BenchSizes:
        return cls((100, 1000), 300, 3, (100, 300, 1000), (100, 300), 2.0, 200, (0, 1000, 2000), 30)

    @classmethod
    def full(cls) -> BenchSizes:
        return cls(
            (100, 1000, 10_000),
            1000,
            5,
            (100, 1000, 10_000),
            (100, 1000),
            5.0,
            200,
            (0, 1000, 2000, 3000, 4000),
            60,
            100,
        )

    @classmethod
    def tiny(cls) -> BenchSizes:
        return cls((3, 4), 3, 1, (3,), (3,), 0.05, 0, (0,), 2)


@dataclass(frozen=True, slots=True)
class BenchReport:
    """Every figure measured by :func:`run_all`, with the seconds each benchmark took."""

    quick: bool
    machine: dict[str, Any]
    throughput: tuple[RunTiming, ...]
    detector_overhead: Overhead
    scheduler_overhead: Overhead
    memory: MemoryScaling
    explore: tuple[ExploreRate, ...]
    websocket: WebSocketRun | None
    race: RaceSearch
    elapsed: dict[str, float] = field(default_factory=dict)
    fault: FaultRun | None = None

    def turns_per_second(self) -> float:
        """Turns per second at the largest throughput size."""
        return max(self.throughput, key=lambda t: t.users).turns_per_second

    def goals(self) -> dict[str, dict[str, Any]]:
        """Each goal: its limit, the measured value (None: not measured) and whether it is met."""
        largest = max(self.memory.points, key=lambda p: p.users)
        ten_thousand = next((p for p in self.memory.points if p.users >= 10_000), None)
        if ten_thousand is not None:
            memory: float = ten_thousand.peak_rss_bytes
            how = "measured"
        else:  # quick mode: extrapolated linearly from the largest size measured
            memory = largest.baseline_rss_bytes + largest.rss_per_user * 10_000
            how = f"extrapolated from {largest.users} users"
        ordered = sorted(self.throughput, key=lambda t: t.users)
        scaling = ordered[-1].turns_per_second / ordered[0].turns_per_second
        ratios = self.scheduler_overhead.ratios
        values = {
            "memory_10000_users_bytes": (memory, how),
            "detector_overhead": (self.detector_overhead.ratios["detectors"], "measured"),
            "scheduler_overhead": (max(ratios.values()), "worst of " + ", ".join(ratios)),
            "throughput_scaling": (
                scaling,
                f"{ordered[-1].users} vs {ordered[0].users} users",
            ),
        }
        goals = {}
        for name, (what, limit) in GOALS.items():
            value, how = values[name]
            met = value >= limit if name == "throughput_scaling" else value <= limit
            goals[name] = {"goal": what, "limit": limit, "value": value, "met": met, "how": how}
        return goals

    def summary(self) -> dict[str, Any]:
        """Plain JSON data: the headline numbers first, then every figure in detail."""
        race = self.race
        return {
            "schema": 1,
            "quick": self.quick,
            "turns_per_second": self.turns_per_second(),
            "detector_overhead": self.detector_overhead.ratios["detectors"],
            "scheduler_overhead": self.scheduler_overhead.ratios["random"],
            "scheduler_overhead_pct": self.scheduler_overhead.ratios["pct"],
            "turns_per_second_by_users": {
                str(t.users): t.turns_per_second for t in self.throughput
            },
            "rss_per_user_bytes": {str(p.users): p.rss_per_user for p in self.memory.points},
            "memory_linear": self.memory.linear,
            "explore_schedules_per_second": {e.strategy: e.per_second for e in self.explore},
            "websocket_turns_per_second": None
            if self.websocket is None
            else self.websocket.turns_per_second,
            "race_search_ratios": race.ratios(),
            "fault_run": None
            if self.fault is None
            else {
                "ratio": self.fault.ratio,
                "largest_trace_bytes": self.fault.largest_trace_bytes,
                "most_groups": self.fault.most_groups,
                "command": self.fault.command,
            },
            "goals": self.goals(),
            "machine": self.machine,
            "elapsed_seconds": self.elapsed,
            "details": {
                "throughput": [
                    {**asdict(t), "turns_per_second": t.turns_per_second} for t in self.throughput
                ],
                "detector_overhead": asdict(self.detector_overhead),
                "scheduler_overhead": asdict(self.scheduler_overhead),
                "memory": [
                    {**asdict(p), "rss_per_user": p.rss_per_user} for p in self.memory.points
                ],
                "memory_growth": self.memory.growth,
                "memory_marginal_bytes_per_user": list(self.memory.marginal),
                "explore": [{**asdict(e), "per_second": e.per_second} for e in self.explore],
                "websocket": None
                if self.websocket is None
                else {
                    **asdict(self.websocket),
                    "turns_per_second": self.websocket.turns_per_second,
                },
                "race": {
                    **asdict(race),
                    "means": {name: race.mean(name) for name in race.needed},
                },
            },
        }


def machine() -> dict[str, Any]:
    """The machine the figures were measured on."""
    memory = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as meminfo:
            first = meminfo.readline().split()
            memory = int(first[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return {
        "nproc": os.cpu_count(),
        "memory_bytes": memory,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def run_all(
    *,
    quick: bool = True,
    sizes: BenchSizes | None = None,
    progress: Callable[[str], None] | None = None,
) -> BenchReport:
    """Run every benchmark at ``sizes`` (default: quick or full) and gather the report."""
    chosen = sizes or (BenchSizes.quick() if quick else BenchSizes.full())
    elapsed: dict[str, float] = {}

    def timed(name: str, work: Callable[[], T]) -> T:
        if progress is not None:
            progress(name)
        began = time.perf_counter()
        value = work()
        elapsed[name] = time.perf_counter() - began
        return value

    ws_users = chosen.websocket_users
    return BenchReport(
        quick=quick,
        machine=machine(),
        throughput=tuple(timed("throughput", lambda: throughput(chosen.throughput))),
        detector_overhead=timed(
            "detector_overhead",
            lambda: detector_overhead(chosen.overhead_users, repetitions=chosen.repetitions),
        ),
        scheduler_overhead=timed(
            "scheduler_overhead",
            lambda: scheduler_overhead(chosen.overhead_users, repetitions=chosen.repetitions),
        ),
        memory=timed(
            "memory", lambda: memory_per_user(chosen.memory, traced_sizes=chosen.memory_traced)
        ),
        explore=timed(
            "explore",
            lambda: tuple(
                explore_rate(strategy=s, budget=chosen.explore_budget) for s in ("pct", "random")
            ),
        ),
        websocket=timed("websocket", lambda: websocket_throughput(ws_users) if ws_users else None),
        race=timed(
            "race",
            lambda: race_search(start_seeds=chosen.race_starts, limit=chosen.race_limit),
        ),
        fault=timed("fault_run", lambda: fault_run(chosen.fault_users))
        if chosen.fault_users
        else None,
        elapsed=elapsed,
    )
