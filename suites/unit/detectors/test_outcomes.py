from __future__ import annotations

from harness.detectors import outcomes
from harness.model import Finding, Trace
from suites.unit.detectors.trace_builder import TraceBuilder


def _findings(builder: TraceBuilder, trace: Trace | None = None) -> list[Finding]:
    trace = trace or builder.build()
    return list(outcomes.detect(trace, builder.index(trace)))


def test_timeout_is_a_hang() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    b.run(tab)
    run = b.run(tab, status="timeout", drop={"agent_completed"}, ended_at=30.5)
    (finding,) = _findings(b)
    assert finding.kind == "hang"
    assert finding.users == (b.users[0].user_id,)
    assert f"run {run}: timed out after" in finding.evidence[0]
    assert finding.actual is not None and finding.actual.endswith("tool_completed")


def test_crashes_are_grouped_by_message_shape() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_a, tab_b = b.open(user_a), b.open(user_a)
    run_1 = b.run(tab_a, crash=f"KeyError: '{user_a.user_id}'\nTraceback...")
    b.run(tab_b, crash=f"KeyError: '{user_a.user_id}'")
    trace = b.build(crashes=(f"RuntimeError: open_session failed for {user_b.user_id}",))
    findings = _findings(b, trace)
    assert [(f.kind, f.users) for f in findings] == [
        ("crash", (user_a.user_id,)),
        ("crash", (user_b.user_id,)),
    ]
    assert findings[0].summary.startswith("the target raised during 2 turns")
    assert f"run {run_1}: KeyError" in findings[0].evidence[0]
    assert findings[1].first_seen == 0


def test_completed_turns_are_silent() -> None:
    b = TraceBuilder(2)
    for user in b.users:
        b.run(b.open(user))
    assert _findings(b) == []
