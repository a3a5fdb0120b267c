"""Process-wide telemetry of the Switchyard platform: metrics, a circuit breaker, logging.

One :data:`METRICS` tracker and one :data:`BREAKER` serve every tenant of the process, as in a
real service where a metrics exporter and a breaker around the upstream client are module
singletons. They count by status and by upstream route, never by user: what they hold is the
same whoever asked. The ``switchyard`` logger writes into a bounded in-memory
:class:`RingBufferHandler` (the "recent log" page of an admin console); its lines carry
statuses and counts, never ids or message text.

Bug ``tracker-records``: the tracker also keeps an activity record per job (user id, run id,
thread id and the message text) "for the admin dashboard", and jobs keep a reference to its
window to compute a load hint: everyone's records are reachable from every job and stay after
close.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Callable

__all__ = [
    "BREAKER",
    "LOG",
    "METRICS",
    "ActivityRecord",
    "BreakerOpen",
    "CircuitBreaker",
    "MetricsStatistics",
    "MetricsTracker",
    "RingBufferHandler",
    "configure_logging",
    "reset_telemetry",
]

LOG = logging.getLogger("switchyard")


@dataclasses.dataclass(frozen=True, slots=True)
class ActivityRecord:
    """One job as the dashboard shows it (bug ``tracker-records`` only)."""

    user_id: str
    run_id: str
    thread_id: str
    message: str
    status: str


@dataclasses.dataclass(frozen=True, slots=True)
class MetricsStatistics:
    """A snapshot of the tracker."""

    jobs_started: int
    jobs_by_status: dict[str, int]
    tools_by_name: dict[str, int]
    upstream_calls: int


class MetricsTracker:
    """Counters for the whole process: by status, by tool, by upstream route."""

    def __init__(self) -> None:
        self.keep_records = False
        self.jobs_started = 0
        self.jobs_by_status: collections.Counter[str] = collections.Counter()
        self.tools_by_name: collections.Counter[str] = collections.Counter()
        self.upstream_by_route: collections.Counter[str] = collections.Counter()
        self.step_histogram: dict[int, int] = {}
        # Bug tracker-records: the dashboard's activity window and per-user index.
        self.window: list[ActivityRecord] = []
        self.by_user: dict[str, list[ActivityRecord]] = {}

    def reset(self, *, keep_records: bool = False) -> None:
        self.__init__()  # type: ignore[misc]
        self.keep_records = keep_records

    def job_started(self) -> None:
        self.jobs_started += 1

    def tool_called(self, name: str) -> None:
        self.tools_by_name[name] += 1

    def upstream_called(self, route: str) -> None:
        self.upstream_by_route[route] += 1

    def job_finished(
        self, status: str, steps: int, *, user_id: str, run_id: str, thread_id: str, message: str
    ) -> None:
        """Count a finished job; with ``keep_records`` also keep who ran what (the bug)."""
        self.jobs_by_status[status] += 1
        bucket = min(steps, 16)
        self.step_histogram[bucket] = self.step_histogram.get(bucket, 0) + 1
        if self.keep_records:
            record = ActivityRecord(user_id, run_id, thread_id, message, status)
            self.window.append(record)
            self.by_user.setdefault(user_id, []).append(record)

    def load_hint(self) -> float:
        """A rough load figure for prompts: finished jobs over started ones."""
        finished = sum(self.jobs_by_status.values())
        return finished / self.jobs_started if self.jobs_started else 1.0

    def statistics(self) -> MetricsStatistics:
        return MetricsStatistics(
            jobs_started=self.jobs_started,
            jobs_by_status=dict(self.jobs_by_status),
            tools_by_name=dict(self.tools_by_name),
            upstream_calls=sum(self.upstream_by_route.values()),
        )


class BreakerOpen(Exception):
    """The breaker refuses calls to a route that failed too often."""


class _RouteState:
    """Failure bookkeeping of one upstream route."""

    __slots__ = ("failures", "opened_at", "successes")

    def __init__(self) -> None:
        self.failures = 0
        self.successes = 0
        self.opened_at: float | None = None


class CircuitBreaker:
    """Opens a route after ``threshold`` consecutive failures, for ``cooldown`` loop seconds."""

    def __init__(self, *, threshold: int = 25, cooldown: float = 5.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.routes: dict[str, _RouteState] = {}
        self.trips = 0

    def reset(self) -> None:
        self.routes.clear()
        self.trips = 0

    def check(self, route: str, now: float) -> None:
        """Raise :class:`BreakerOpen` while ``route`` is open."""
        state = self.routes.get(route)
        if state is None or state.opened_at is None:
            return
        if now - state.opened_at < self.cooldown:
            raise BreakerOpen(f"route {route!r} is open after {state.failures} failures")
        state.opened_at = None  # half-open: let one call through
        state.failures = 0

    def record(self, route: str, ok: bool, now: float) -> None:
        state = self.routes.setdefault(route, _RouteState())
        if ok:
            state.successes += 1
            state.failures = 0
            return
        state.failures += 1
        if state.failures >= self.threshold and state.opened_at is None:
            state.opened_at = now
            self.trips += 1


class RingBufferHandler(logging.Handler):
    """Keeps the last ``capacity`` formatted lines in memory for the admin console."""

    def __init__(self, capacity: int = 512) -> None:
        super().__init__(logging.DEBUG)
        self.lines: collections.deque[str] = collections.deque(maxlen=capacity)
        self.counts: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] += 1
        self.lines.append(self.format(record))


METRICS = MetricsTracker()  # harness: shared-ok counters by status and route, never by user
BREAKER = CircuitBreaker()  # harness: shared-ok one breaker for the upstream, holds no user data
RING = RingBufferHandler()  # harness: shared-ok the log ring, which logs no ids or content


def configure_logging(level: int = logging.DEBUG) -> Callable[[], None]:
    """Attach the ring buffer to the ``switchyard`` logger; returns the undo function."""
    RING.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    LOG.setLevel(level)
    LOG.propagate = False
    if RING not in LOG.handlers:
        LOG.addHandler(RING)

    def undo() -> None:
        LOG.removeHandler(RING)

    return undo


def reset_telemetry(*, keep_records: bool = False) -> None:
    """Fresh counters for a new deployment in this process."""
    METRICS.reset(keep_records=keep_records)
    BREAKER.reset()
    RING.lines.clear()
    RING.counts.clear()
