"""A broken backend at the default size: the cost of a fault run beside a clean one.

``harness run --fault shared-engine`` with the defaults (the default scenarios, 100 users) is
what a new user tries second, and a leak makes every user reach everything: the walks, the
detectors, the trace and the report all grow with what is shared. Measured here, in one
process, scenario by scenario, clean and faulty runs interleaved so that a noisy machine
weighs on both alike:

- wall time of ``harness.runner.run`` (seeded loop, walks, detectors, digest), fault / clean;
- the trace as ``harness run`` writes it (``trace.json``, compact JSON), in bytes;
- the finding groups per run (``group_findings``), and that each kind found raw is still
  reported by a group.

``python -m harness.bench.fault_run [USERS] [FAULT]`` prints it as JSON.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.bench._measures import _scenario

if TYPE_CHECKING:
    from harness.model import RunResult

__all__ = ["FaultRun", "FaultScenario", "fault_run"]


@dataclass(frozen=True, slots=True)
class FaultScenario:
    """One scenario, clean and with the fault."""

    scenario: str
    clean_seconds: float
    fault_seconds: float
    trace_bytes: int
    raw_findings: int
    groups: int
    kinds: tuple[str, ...]
    kinds_kept: bool  #: every kind of the raw findings is reported by a group


@dataclass(frozen=True, slots=True)
class FaultRun:
    """The fault run of ``harness run --fault FAULT`` beside the clean ``harness run``."""

    users: int
    fault: str
    scenarios: tuple[FaultScenario, ...]
    command: str

    @property
    def ratio(self) -> float:
        """Summed wall time with the fault / without."""
        clean = sum(s.clean_seconds for s in self.scenarios)
        return sum(s.fault_seconds for s in self.scenarios) / clean if clean else 0.0

    @property
    def largest_trace_bytes(self) -> int:
        return max((s.trace_bytes for s in self.scenarios), default=0)

    @property
    def most_groups(self) -> int:
        return max((s.groups for s in self.scenarios), default=0)


def _timed(name: str, users: int, fault: str | None) -> tuple[float, RunResult]:
    from harness.runner import run

    built = _scenario(users, 0, name)
    gc.collect()
    began = time.perf_counter()
    result = run("reference", built, strategy="random", fault=fault)
    return time.perf_counter() - began, result


def fault_run(
    users: int = 100, *, fault: str = "shared-engine", scenarios: tuple[str, ...] | None = None
) -> FaultRun:
    """Run each default scenario clean, then with ``fault``; time, size and group them."""
    from harness.detectors import group_findings
    from harness.reporting import trace_json
    from harness.scenarios import DEFAULT_SCENARIOS

    rows = []
    for name in scenarios or tuple(DEFAULT_SCENARIOS):
        clean_seconds, _clean = _timed(name, users, None)
        del _clean
        fault_seconds, result = _timed(name, users, fault)
        groups = group_findings(result.findings)
        raw_kinds = {f.kind for f in result.findings}
        rows.append(
            FaultScenario(
                scenario=name,
                clean_seconds=clean_seconds,
                fault_seconds=fault_seconds,
                trace_bytes=len(trace_json(result.trace)),
                raw_findings=len(result.findings),
                groups=len(groups),
                kinds=tuple(sorted(raw_kinds)),
                kinds_kept=raw_kinds == {g.kind for g in groups},
            )
        )
        del result
    return FaultRun(
        users=users,
        fault=fault,
        scenarios=tuple(rows),
        command=f"python -m harness.bench.fault_run {users} {fault}",
    )
