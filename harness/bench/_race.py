"""Race search: how many schedules each strategy needs to find a planted race.

The reference backend's ``register-race`` fault checks a user's engine count, awaits, then
registers: only some interleavings of a user's burst let two turns pass the check together and
breach the per-user limit. Each strategy walks seeds from a starting seed until the first run
with a ``limit-breach`` finding; the count of runs is the schedules it needed.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["RaceSearch", "race_search"]


@dataclass(frozen=True, slots=True)
class RaceSearch:
    """Schedules needed per strategy and starting seed (``None``: not found within ``limit``)."""

    scenario: str
    users: int
    fault: str
    kind: str
    limit: int
    start_seeds: tuple[int, ...]
    needed: dict[str, tuple[int | None, ...]]
    command: str

    def mean(self, strategy: str) -> float | None:
        """Mean schedules needed over the starting seeds; None if any search came up empty."""
        counts = self.needed[strategy]
        if any(count is None for count in counts):
            return None
        return statistics.fmean(count for count in counts if count is not None)

    def ratios(self, baseline: str = "pct") -> dict[str, float | None]:
        """Mean schedules of each strategy over the baseline's (None: not always found)."""
        base = self.mean(baseline)
        return {
            name: (None if base is None or self.mean(name) is None else self.mean(name) / base)  # type: ignore[operator]
            for name in self.needed
        }

    def describe(self, strategy: str) -> str:
        """Human text: ``mean 3.7 (1, 5, 5)`` or ``not found in 40 (2/3 starts)``."""
        counts = self.needed[strategy]
        mean = self.mean(strategy)
        shown = ", ".join("-" if c is None else str(c) for c in counts)
        if mean is not None:
            return f"mean {mean:.1f} ({shown})"
        missed = sum(1 for c in counts if c is None)
        return f"not found in {self.limit} ({missed}/{len(counts)} starts) ({shown})"


def _needed(
    strategy: str, start: int, *, scenario: str, users: int, fault: str, kind: str, limit: int
) -> int | None:
    from harness.runner import run
    from harness.scenarios import build

    for offset in range(limit):
        built = build(scenario, start + offset, users)
        result = run("reference", built, strategy=strategy, fault=fault)
        if any(finding.kind == kind for finding in result.findings):
            return offset + 1
    return None


def race_search(
    *,
    strategies: Sequence[str] = ("pct", "random", "fifo"),
    start_seeds: Sequence[int] = (0, 1000, 2000),
    limit: int = 40,
    scenario: str = "limit_pressure",
    users: int = 4,
    fault: str = "register-race",
    kind: str = "limit-breach",
) -> RaceSearch:
    """For each strategy and starting seed, the schedules tried until the first ``kind``."""
    needed = {
        strategy: tuple(
            _needed(
                strategy,
                start,
                scenario=scenario,
                users=users,
                fault=fault,
                kind=kind,
                limit=limit,
            )
            for start in start_seeds
        )
        for strategy in strategies
    }
    return RaceSearch(
        scenario=scenario,
        users=users,
        fault=fault,
        kind=kind,
        limit=limit,
        start_seeds=tuple(start_seeds),
        needed=needed,
        command=(
            f"harness explore --scenario {scenario} --users {users} --fault {fault} "
            "--strategy pct|random|fifo --start-seed S"
        ),
    )
