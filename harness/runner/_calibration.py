"""Timing verdicts over the wire, calibrated against the client's own load in the same run.

A remote run goes in real time: a starved turn (``limit-breach``) or an event that arrived too
late for its tab (``event-missing``) may be the harness's own fault when its process is
overloaded (a busy machine, a hogging task). The driver measures its loop while the run goes:
a watcher sleeps :data:`WATCH_INTERVAL` seconds again and again and records how late it wakes.
When the client was overloaded (:func:`client_load`), those timing verdicts are not findings:
the run's notes list them as "inconclusive: the client was overloaded", with the measurement.
Verdicts that do not depend on timing (foreign data, misrouting, concurrency limits) stay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from harness.model import Finding

__all__ = [
    "OVERLOAD_MAX_LAG",
    "OVERLOAD_P90_LAG",
    "WATCH_INTERVAL",
    "ClientLoad",
    "calibrate",
    "client_load",
    "watch_loop",
]

#: Seconds the loop watcher sleeps between samples.
WATCH_INTERVAL = 0.05
#: The client is overloaded when one wake-up came this many seconds late...
OVERLOAD_MAX_LAG = 0.5
#: ... or one in ten came at least this late.
OVERLOAD_P90_LAG = 0.1


@dataclass(frozen=True, slots=True)
class ClientLoad:
    """How late the harness's own loop ran during a remote run, in seconds."""

    samples: int
    p90: float
    max: float

    @property
    def overloaded(self) -> bool:
        return self.max > OVERLOAD_MAX_LAG or self.p90 > OVERLOAD_P90_LAG

    def describe(self) -> str:
        return (
            f"the harness's loop woke up to {self.max:.3f}s late (p90 {self.p90:.3f}s over "
            f"{self.samples} samples of {WATCH_INTERVAL:g}s)"
        )


async def watch_loop(lags: list[float]) -> None:
    """Append how late each wake-up is to ``lags``, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        before = loop.time()
        await asyncio.sleep(WATCH_INTERVAL)
        lags.append(max(0.0, loop.time() - before - WATCH_INTERVAL))


def client_load(lags: Sequence[float]) -> ClientLoad:
    """Summarize the watcher's samples."""
    ordered = sorted(lags)
    if not ordered:
        return ClientLoad(samples=0, p90=0.0, max=0.0)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return ClientLoad(samples=len(ordered), p90=round(p90, 6), max=round(ordered[-1], 6))


def _timing_based(finding: Finding) -> bool:
    if finding.kind == "event-missing":
        return True
    return finding.kind == "limit-breach" and "starved" in finding.summary


def calibrate(
    findings: Sequence[Finding], load: ClientLoad
) -> tuple[tuple[Finding, ...], tuple[str, ...]]:
    """Findings kept, and notes for the timing verdicts an overloaded client cannot make."""
    if not load.overloaded:
        return tuple(findings), ()
    kept = tuple(f for f in findings if not _timing_based(f))
    dropped = [f for f in findings if _timing_based(f)]
    if not dropped:
        return kept, ()
    notes = [
        f"inconclusive: the client was overloaded ({load.describe()}); {len(dropped)} timing "
        "verdict(s) (starvation limit-breach, event-missing) are not reported as findings. "
        "Run again on a quieter machine or with fewer --users."
    ]
    notes += [f"inconclusive {f.kind}: {f.summary}" for f in dropped]
    return kept, tuple(notes)
