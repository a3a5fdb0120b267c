"""Oracle ``limit-breach``: per-user limits not enforced, or one user starving another.

With ``engines_per_user`` = L in ``trace.limits``:

- concurrency: a user's turns running at once (first event to terminal event, loop time; the
  runner's start/end when events carry no time) must never exceed L. Rejected turns never ran.
- bursts: of k > L turns started together on one session, at least k - L must be rejected.

Starvation, when ``trace.heavy_users`` is set: a light user's completed turn must take at most
``trace.starvation_factor`` times its planned duration (its Pause seconds plus tool ``delay``
params, at least 0.05 s).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.detectors._evidence import FindingAggregator
from harness.detectors._trace_view import TokenLookup, TraceView
from harness.model import CallTool, Finding, Pause, Trace, TurnRecord

__all__ = ["MIN_PLANNED", "detect", "planned_duration"]

KIND = "limit-breach"
#: Shortest planned duration a turn is held to, in loop seconds.
MIN_PLANNED = 0.05


def planned_duration(record: TurnRecord) -> float:
    """Loop seconds a turn's plan asks for: Pause seconds plus tool ``delay`` params."""
    total = 0.0
    for step in record.turn.plan:
        if isinstance(step, Pause):
            total += step.seconds
        elif isinstance(step, CallTool) and isinstance(step.params, Mapping):
            delay = step.params.get("delay", 0)
            if isinstance(delay, int | float):
                total += float(delay)
    return max(total, MIN_PLANNED)


def _concurrency(agg: FindingAggregator, view: TraceView, limit: int) -> None:
    by_user: dict[str, list[tuple[TurnRecord, float, float]]] = {}
    for record in view.trace.turns:
        if record.outcome.status == "rejected":
            continue
        start, end = view.run_interval(record)
        by_user.setdefault(record.user_id, []).append((record, start, end))
    for user, runs in by_user.items():
        worst: list[tuple[TurnRecord, float, float]] = []
        worst_at = 0.0
        for _record, start, _end in runs:
            running = [r for r in runs if r[1] <= start < r[2] or r[1] == start]
            if len(running) > len(worst):
                worst, worst_at = running, start
        if len(worst) <= limit:
            continue
        spans = ", ".join(f"{r.turn.run_id} ({s:.3f}-{e:.3f})" for r, s, e in worst[:10])
        agg.add(
            KIND,
            (user,),
            "concurrency",
            f"at t={worst_at:.3f} {len(worst)} turns of {user} were running: {spans}",
            step=min(r.step for r, _s, _e in worst),
            headline=f"{user} ran {len(worst)} turns at once with engines_per_user={limit}",
            expected=f"at most {limit} concurrent turns",
            actual=f"{len(worst)}",
            channel="limit not enforced",
        )


def _bursts(agg: FindingAggregator, trace: Trace, limit: int) -> None:
    bursts: dict[str, list[TurnRecord]] = {}
    for record in trace.turns:
        if record.burst:
            bursts.setdefault(record.session_id, []).append(record)
    for session_id, records in bursts.items():
        k = len(records)
        rejected = sum(r.outcome.status == "rejected" for r in records)
        if k <= limit or rejected >= k - limit:
            continue
        user = records[0].user_id
        statuses = ", ".join(f"{r.turn.run_id}={r.outcome.status}" for r in records[:10])
        agg.add(
            KIND,
            (user,),
            "burst",
            f"session {session_id} burst of {k} turns, {rejected} rejected: {statuses}",
            step=min(r.step for r in records),
            headline=f"a burst of {k} turns of {user} was not limited to {limit} engines",
            plural=f"{{n}} bursts of {user} were not limited to {limit} engines",
            expected=f"at least {k - limit} of {k} rejected",
            actual=f"{rejected} rejected",
            channel="limit not enforced",  # a burst let through and turns overlapping: one cause
        )


def _starvation(agg: FindingAggregator, view: TraceView) -> None:
    trace = view.trace
    heavy = set(trace.heavy_users)
    heavy_runs = [(r, *view.run_interval(r)) for r in trace.turns if r.user_id in heavy]
    for record in trace.turns:
        if record.user_id in heavy or record.outcome.status != "completed":
            continue
        took = record.ended_at - record.started_at
        planned = planned_duration(record)
        if took <= trace.starvation_factor * planned:
            continue
        overlapping = [
            r.user_id for r, s, e in heavy_runs if s < record.ended_at and e > record.started_at
        ]
        culprit = (
            max(sorted(set(overlapping)), key=overlapping.count)
            if overlapping
            else sorted(heavy)[0]
        )
        agg.add(
            KIND,
            (culprit, record.user_id),
            "starved",
            f"run {record.turn.run_id} (session {record.session_id}) took {took:.3f}s for a "
            f"planned {planned:.3f}s while {culprit} ran {overlapping.count(culprit)} turns",
            step=record.step,
            headline=f"{record.user_id} was starved while {culprit} was busy",
            plural=f"{{n}} turns of {record.user_id} were starved while {culprit} was busy",
            expected=f"at most {trace.starvation_factor:g} x {planned:.3f}s",
            actual=f"{took:.3f}s",
        )


def detect(trace: Trace, index: TokenLookup) -> Iterable[Finding]:
    """Check per-user engine limits and fairness between heavy and light users.

    Args:
        trace: the run to judge; reads ``limits``, ``turns``, ``heavy_users``.
        index: the token index (unused here; every detector takes one).

    Example:
        >>> [f.summary for f in detect(trace, index)]  # doctest: +SKIP
        ['usr_a ran 3 turns at once with engines_per_user=2']
    """
    view = TraceView(trace, index)
    agg = FindingAggregator()
    limit = trace.limits.get("engines_per_user")
    if isinstance(limit, int) and limit > 0:
        _concurrency(agg, view, limit)
        _bursts(agg, trace, limit)
    if trace.heavy_users:
        _starvation(agg, view)
    return agg.findings()
