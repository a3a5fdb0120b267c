from __future__ import annotations

from harness.detectors import retention
from harness.model import Finding, FoundValue, RetentionRecord, Trace
from suites.unit.detectors.trace_builder import TraceBuilder


def _findings(builder: TraceBuilder, trace: Trace) -> list[Finding]:
    return list(retention.detect(trace, builder.index(trace)))


def test_alive_roots_after_close_with_the_path_that_keeps_them() -> None:
    b = TraceBuilder(2)
    user_a, _user_b = b.users
    tab = b.open(user_a)
    b.run(tab)
    b.close(tab)
    record = RetentionRecord(
        alive={user_a.user_id: ("engine", "emitter")},
        shared_values=(),
        reachable={f"{user_a.user_id}:engine": 'registry._engines["k"]'},
    )
    (finding,) = _findings(b, b.build(retention=record))
    assert finding.kind == "retention"
    assert finding.users == (user_a.user_id,)
    assert finding.evidence == (
        f"{user_a.user_id}'s engine is still alive after close "
        '(kept alive by registry._engines["k"])',
        f"{user_a.user_id}'s emitter is still alive after close",
    )
    assert finding.first_seen == b.step


def test_user_data_reachable_from_shared_roots() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    record = RetentionRecord(
        alive={},
        shared_values=(
            FoundValue("registry._history[0]", f"ran for {user_b.email}"),
            FoundValue("registry.name", "shared registry"),
        ),
    )
    (finding,) = _findings(b, b.build(retention=record))
    assert finding.users == (user_b.user_id,)
    assert "registry._history[0] = email" in finding.evidence[0]
    assert user_a.user_id not in finding.evidence[0]


def test_no_or_unchecked_retention_is_silent() -> None:
    b = TraceBuilder(1)
    alive = {b.users[0].user_id: ("engine",)}
    assert _findings(b, b.build()) == []
    unchecked = RetentionRecord(alive=alive, shared_values=(), checked=False, note="remote")
    assert _findings(b, b.build(retention=unchecked)) == []
    clean = RetentionRecord(alive={b.users[0].user_id: ()}, shared_values=())
    assert _findings(b, b.build(retention=clean)) == []
