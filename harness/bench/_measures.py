"""Timed runs through the reference target: throughput and the overhead ratios.

Wall time comes from ``time.perf_counter`` and CPU time from ``time.process_time``: these are
measurements of the harness on this machine, never inputs to a run (a run stays a pure function
of scenario, seed and strategy). Overheads are measured side by side in one process, the
variants interleaved repetition by repetition, and compared by their medians, so drift of the
machine (frequency scaling, a neighbour's load) hits both sides alike.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.model import Scenario

__all__ = [
    "BENCH_SCENARIO",
    "ExploreRate",
    "Overhead",
    "RunTiming",
    "detector_overhead",
    "explore_rate",
    "scheduler_overhead",
    "throughput",
    "time_run",
]

#: Every user active at once: one tab each, opened at time 0, one turn with pauses.
BENCH_SCENARIO = "burst"


@dataclass(frozen=True, slots=True)
class RunTiming:
    """One timed run: its size, what it did and how long it took."""

    users: int
    turns: int
    events: int
    walks: int
    findings: int
    wall_seconds: float
    cpu_seconds: float
    command: str

    @property
    def turns_per_second(self) -> float:
        """User-turns per wall-clock second."""
        return self.turns / self.wall_seconds if self.wall_seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Overhead:
    """Median seconds of each variant over interleaved repetitions, and ratios to a baseline."""

    users: int
    repetitions: int
    baseline: str
    medians: dict[str, float]
    ratios: dict[str, float]
    clock: str
    command: str


@dataclass(frozen=True, slots=True)
class ExploreRate:
    """Schedules ``harness explore`` tried in its budget."""

    scenario: str
    users: int
    strategy: str
    tried: int
    seconds: float
    command: str

    @property
    def per_second(self) -> float:
        """Schedules tried per wall-clock second."""
        return self.tried / self.seconds if self.seconds > 0 else 0.0


def _scenario(users: int, seed: int = 0, name: str = BENCH_SCENARIO) -> Scenario:
    from harness.scenarios import build

    return build(name, seed, users)


def time_run(
    users: int,
    *,
    detectors: bool = True,
    strategy: str = "random",
    seed: int = 0,
    scenario: str = BENCH_SCENARIO,
) -> RunTiming:
    """Run ``scenario`` with ``users`` users through a fresh reference target, timed.

    The scenario is built before the clock starts; the timed part is ``harness.runner.run``:
    the seeded loop, the observer's walks, the detectors and the trace digest.
    """
    from harness.runner import run

    built = _scenario(users, seed, scenario)
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run("reference", built, strategy=strategy, detectors=detectors)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    stats = result.stats
    return RunTiming(
        users=users,
        turns=int(stats["turns"]),
        events=int(stats["events"]),
        walks=int(stats.get("observed_walks", 0)),
        findings=len(result.findings),
        wall_seconds=wall,
        cpu_seconds=cpu,
        command=result.replay,
    )


def throughput(sizes: Sequence[int], *, strategy: str = "random") -> list[RunTiming]:
    """User-turns per second with every detector on, one run per size."""
    return [time_run(users, strategy=strategy) for users in sizes]


def _interleaved(variants: dict[str, Callable[[], float]], repetitions: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for repetition in range(repetitions):
        # Alternate the order too, so neither variant always runs on a warm cache.
        names = list(variants) if repetition % 2 == 0 else list(reversed(variants))
        for name in names:
            samples[name].append(variants[name]())
    return {name: statistics.median(values) for name, values in samples.items()}


def detector_overhead(users: int, *, repetitions: int = 5, strategy: str = "random") -> Overhead:
    """Wall time of a run with every detector on over the same run with none (medians)."""
    medians = _interleaved(
        {
            "detectors": lambda: time_run(users, strategy=strategy).wall_seconds,
            "none": lambda: time_run(users, detectors=False, strategy=strategy).wall_seconds,
        },
        repetitions,
    )
    return Overhead(
        users=users,
        repetitions=repetitions,
        baseline="none",
        medians=medians,
        ratios={"detectors": medians["detectors"] / medians["none"]},
        clock="wall",
        command=f"python -m harness.bench --only detector_overhead --users {users}",
    )


def _seeded(scenario: Scenario, strategy: str, steps: int) -> float:
    from harness.runner import run_async
    from harness.scheduling import run as run_seeded
    from harness.targets import load_target

    options = {"steps": steps} if strategy == "pct" else {}
    target = load_target("reference")
    began = time.process_time()
    run_seeded(
        run_async(target, scenario, strategy=strategy, observe=False),
        strategy=strategy,
        seed=scenario.seed,
        strategy_options=options,
    )
    return time.process_time() - began


def _stock(scenario: Scenario) -> float:
    from harness.runner import run_async
    from harness.targets import load_target

    target = load_target("reference")
    began = time.process_time()
    asyncio.run(run_async(target, scenario, strategy="asyncio", observe=False))
    return time.process_time() - began


def scheduler_overhead(users: int, *, repetitions: int = 5, seed: int = 0) -> Overhead:
    """CPU seconds of the seeded loop (random, pct) over the stock asyncio loop, same scenario.

    CPU time, not wall time: on the stock loop the scenario's pauses are real sleeps, while
    the seeded loop's virtual clock skips them; what is compared is the work of scheduling.
    Observation is off on both sides, so only the loops differ.
    """
    from harness.runner import estimate_steps
    from harness.targets import load_target

    scenario = _scenario(users, seed)
    steps = estimate_steps(load_target("reference"), scenario)
    medians = _interleaved(
        {
            "asyncio": lambda: _stock(scenario),
            "random": lambda: _seeded(scenario, "random", steps),
            "pct": lambda: _seeded(scenario, "pct", steps),
        },
        repetitions,
    )
    return Overhead(
        users=users,
        repetitions=repetitions,
        baseline="asyncio",
        medians=medians,
        ratios={name: medians[name] / medians["asyncio"] for name in ("random", "pct")},
        clock="cpu",
        command=f"python -m harness.bench --only scheduler_overhead --users {users}",
    )


def explore_rate(
    *, scenario: str = "golden_path", users: int = 8, strategy: str = "pct", budget: float = 3.0
) -> ExploreRate:
    """How many schedules ``harness explore`` tries per second on a clean target."""
    from harness.runner import explore

    _, tried, seconds = explore([scenario], users=users, strategy=strategy, budget=budget)
    return ExploreRate(
        scenario=scenario,
        users=users,
        strategy=strategy,
        tried=tried,
        seconds=seconds,
        command=(
            f"harness explore --scenario {scenario} --users {users} --strategy {strategy} "
            f"--budget {budget:g}"
        ),
    )
