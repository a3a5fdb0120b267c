from __future__ import annotations

from harness.detectors import limits
from harness.model import CallTool, Finding, Pause, Think, Trace
from suites.unit.detectors.trace_builder import TraceBuilder


def _findings(builder: TraceBuilder, trace: Trace | None = None) -> list[Finding]:
    trace = trace or builder.build()
    return list(limits.detect(trace, builder.index(trace)))


def _overlapping(builder: TraceBuilder, tab: str, spans: list[tuple[float, float]]) -> list[str]:
    """Turns whose first and terminal events are at the given loop times."""
    runs = [builder.run(tab, (), emit=False, started_at=0.0, ended_at=9.0) for _ in spans]
    for run, (start, _end) in zip(runs, spans, strict=True):
        builder.event(tab, "agent_started", run, {}, t=start)
    for run, (_start, end) in zip(runs, spans, strict=True):
        builder.event(tab, "agent_completed", run, {}, t=end)
    return runs


def test_three_overlapping_turns_with_limit_two() -> None:
    b = TraceBuilder(1, limits={"engines_per_user": 2})
    tab = b.open(b.users[0])
    runs = _overlapping(b, tab, [(0.0, 1.0), (0.2, 1.2), (0.4, 0.6)])
    (finding,) = _findings(b)
    assert finding.kind == "limit-breach"
    assert finding.users == (b.users[0].user_id,)
    assert finding.expected == "at most 2 concurrent turns"
    assert finding.actual == "3"
    assert "at t=0.400 3 turns" in finding.evidence[0]
    assert all(run in finding.evidence[0] for run in runs)


def test_turns_that_touch_but_do_not_overlap_are_within_the_limit() -> None:
    b = TraceBuilder(1, limits={"engines_per_user": 2})
    tab = b.open(b.users[0])
    _overlapping(b, tab, [(0.0, 1.0), (0.5, 2.0), (1.0, 3.0)])
    assert _findings(b) == []


def test_runner_times_are_the_fallback_and_rejected_turns_never_ran() -> None:
    b = TraceBuilder(1, limits={"engines_per_user": 1})
    tab = b.open(b.users[0])
    b.run(tab, emit=False, status="timeout", started_at=0.0, ended_at=5.0)
    b.run(tab, emit=False, status="rejected", started_at=1.0, ended_at=1.0)
    assert _findings(b) == []
    b.run(tab, emit=False, status="timeout", started_at=2.0, ended_at=3.0)
    (finding,) = _findings(b)
    assert finding.actual == "2"


def test_burst_past_the_limit_must_be_partly_rejected() -> None:
    b = TraceBuilder(1, limits={"engines_per_user": 2})
    tab = b.open(b.users[0])
    for _ in range(3):
        b.run(tab, (), burst=True)  # sequential in time, but none rejected
    findings = [f for f in _findings(b)]
    assert [f.summary for f in findings] == [
        f"a burst of 3 turns of {b.users[0].user_id} was not limited to 2 engines"
    ]
    assert findings[0].expected == "at least 1 of 3 rejected"

    ok = TraceBuilder(1, limits={"engines_per_user": 2})
    tab = ok.open(ok.users[0])
    ok.run(tab, (), burst=True)
    ok.run(tab, (), burst=True)
    ok.run(tab, (), burst=True, status="rejected", emit=False)
    assert _findings(ok) == []


def test_light_user_starved_by_a_heavy_one() -> None:
    b = TraceBuilder(2)
    heavy, light = b.users
    heavy_tab, light_tab = b.open(heavy), b.open(light)
    b.run(heavy_tab, (Pause(5.0),), started_at=0.0, ended_at=5.0)
    starved = b.run(
        light_tab, (Pause(0.1), CallTool("echo", {"delay": 0.1})), started_at=0.5, ended_at=2.0
    )
    b.run(light_tab, (Think("quick"),), started_at=2.0, ended_at=2.1)  # within 4 x 0.05
    (finding,) = _findings(b, b.build(heavy_users=(heavy.user_id,)))
    assert finding.users == (heavy.user_id, light.user_id)
    assert starved in finding.evidence[0]
    assert finding.expected == "at most 4 x 0.200s"
    assert finding.actual == "1.500s"
    assert _findings(b) == []  # nobody declared heavy: no starvation judgement


def test_planned_duration() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    b.run(tab, (Pause(0.25), CallTool("search", {"delay": 0.5}), CallTool("x", {"delay": "no"})))
    b.run(tab, (Think("x"),))
    first, second = b.build().turns
    assert limits.planned_duration(first) == 0.75
    assert limits.planned_duration(second) == limits.MIN_PLANNED
