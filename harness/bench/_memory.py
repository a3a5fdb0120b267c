"""Memory per simulated user: peak RSS of a fresh process per size, and tracemalloc peaks.

Peak RSS (``resource.getrusage``) only grows within a process, so every size runs in its own
fresh interpreter: ``python -m harness.bench.memory_probe USERS [--tracemalloc]`` prints one
JSON object.
The per-user figure is (peak after the run - peak after the imports) / users.
"""

from __future__ import annotations

import itertools
import json
import resource
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError

__all__ = ["MemoryPoint", "MemoryScaling", "measure_memory", "memory_per_user"]

_ROOT = Path(__file__).resolve().parents[2]
#: Per-user bytes may grow by this factor from the smallest to the largest size and still
#: count as linear (fixed costs amortise, dicts resize in steps).
LINEAR_TOLERANCE = 1.5


@dataclass(frozen=True, slots=True)
class MemoryPoint:
    """One size measured in a fresh process."""

    users: int
    turns: int
    baseline_rss_bytes: int
    peak_rss_bytes: int
    tracemalloc_peak_bytes: int | None
    command: str

    @property
    def rss_per_user(self) -> float:
        """Bytes of peak RSS above the post-import baseline, per simulated user."""
        return (self.peak_rss_bytes - self.baseline_rss_bytes) / self.users


@dataclass(frozen=True, slots=True)
class MemoryScaling:
    """Every size measured and whether the cost of one more user stays flat.

    ``marginal`` holds the bytes each extra user costs between consecutive sizes; memory is
    linear when the last of them is at most ``LINEAR_TOLERANCE`` times the first (``growth``).
    """

    points: tuple[MemoryPoint, ...]
    marginal: tuple[float, ...]
    linear: bool
    growth: float


def _peak_rss() -> int:
    """This process's peak RSS in bytes.

    ``VmHWM`` from ``/proc/self/status`` where there is one: ``getrusage``'s ``ru_maxrss``
    survives ``execve`` on Linux, so a probe started by a big parent would report the
    parent's peak. Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def measure_memory(users: int, *, trace_allocations: bool = False) -> dict[str, int | None]:
    """Run the bench scenario with every detector on in THIS process; report its memory.

    Meant for a fresh interpreter (see :func:`memory_per_user`): peak RSS never goes down.
    """
    import tracemalloc

    from harness.bench._measures import BENCH_SCENARIO
    from harness.runner import run
    from harness.scenarios import build

    baseline = _peak_rss()
    if trace_allocations:
        tracemalloc.start()
    result = run("reference", build(BENCH_SCENARIO, 0, users), strategy="random")
    traced = tracemalloc.get_traced_memory()[1] if trace_allocations else None
    if trace_allocations:
        tracemalloc.stop()
    return {
        "users": users,
        "turns": int(result.stats["turns"]),
        "baseline_rss_bytes": baseline,
        "peak_rss_bytes": _peak_rss(),
        "tracemalloc_peak_bytes": traced,
    }


def _probe(users: int, trace_allocations: bool, timeout: float) -> dict[str, int | None]:
    command = [sys.executable, "-m", "harness.bench.memory_probe", str(users)]
    if trace_allocations:
        command.append("--tracemalloc")
    done = subprocess.run(
        command, cwd=_ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise HarnessError(
            f"memory probe users={users!r} exited {done.returncode}: {done.stderr[-800:]!r}; "
            f"run {' '.join(command)!r} in {str(_ROOT)!r} to see why"
        )
    data: dict[str, int | None] = json.loads(done.stdout.strip().splitlines()[-1])
    return data


def memory_per_user(
    sizes: Sequence[int], *, traced_sizes: Sequence[int] = (), timeout: float = 600.0
) -> MemoryScaling:
    """Measure each size in a fresh process (RSS), and ``traced_sizes`` with tracemalloc too.

    tracemalloc slows a run several times over, so it runs in a separate process and only
    for the sizes asked.
    """
    points = []
    for users in sizes:
        data = _probe(users, False, timeout)
        traced = _probe(users, True, timeout) if users in traced_sizes else None
        points.append(
            MemoryPoint(
                users=users,
                turns=int(data["turns"] or 0),
                baseline_rss_bytes=int(data["baseline_rss_bytes"] or 0),
                peak_rss_bytes=int(data["peak_rss_bytes"] or 0),
                tracemalloc_peak_bytes=None
                if traced is None
                else int(traced["tracemalloc_peak_bytes"] or 0),
                command=f"python -m harness.bench.memory_probe {users} [--tracemalloc]",
            )
        )
    ordered = sorted(points, key=lambda p: p.users)
    marginal = tuple(
        (later.peak_rss_bytes - earlier.peak_rss_bytes) / (later.users - earlier.users)
        for earlier, later in itertools.pairwise(ordered)
        if later.users > earlier.users
    )
    growth = marginal[-1] / max(marginal[0], 1.0) if marginal else 1.0
    return MemoryScaling(
        points=tuple(points),
        marginal=marginal,
        linear=growth <= LINEAR_TOLERANCE,
        growth=growth,
    )
