from __future__ import annotations

from harness.detectors import shared_state
from harness.model import Finding, FoundObject
from suites.unit.detectors.trace_builder import TraceBuilder


def _findings(builder: TraceBuilder) -> list[Finding]:
    trace = builder.build()
    return list(shared_state.detect(trace, builder.index(trace)))


def test_shared_dict_over_many_checkpoints_is_one_finding() -> None:
    b = TraceBuilder(3)
    user_a, user_b, user_c = b.users
    first = None
    for n, (one, two) in enumerate([(user_a, user_b), (user_a, user_b), (user_b, user_c)]):
        checkpoint = b.checkpoint(
            shared=[
                FoundObject(
                    identity=1000 + n,
                    type_name="dict",
                    paths={
                        one.user_id: f'engine.agents._cache["{one.user_id}"]',
                        two.user_id: f'engine.agents._cache["{two.user_id}"]',
                    },
                )
            ],
            label=f"tick {n}",
        )
        first = first or checkpoint
    (finding,) = _findings(b)
    assert finding.kind == "shared-state"
    assert finding.users == (user_a.user_id, user_b.user_id, user_c.user_id)
    assert f'{user_a.user_id}: engine.agents._cache["{user_a.user_id}"]' in finding.evidence
    assert finding.evidence[-1].startswith("first seen at checkpoint 0 (tick 0)")
    assert finding.evidence[-1].endswith("seen at 3 checkpoints")
    assert first is not None and finding.first_seen == first.step
    assert finding.summary.startswith("one dict object is reachable from the roots of")
    assert f'{user_c.user_id}: engine.agents._cache["{user_c.user_id}"]' in finding.evidence


def test_different_objects_are_different_findings() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    b.checkpoint(
        shared=[
            FoundObject(1, "dict", {user_a.user_id: "engine.x", user_b.user_id: "engine.x"}),
            FoundObject(2, "list", {user_a.user_id: "emitter.q", user_b.user_id: "emitter.q"}),
        ]
    )
    assert sorted(f.summary.split()[1] for f in _findings(b)) == ["dict", "list"]


def test_no_shared_objects_is_silent() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    b.checkpoint([b.walk(user_a.user_id, {}), b.walk(user_b.user_id, {})])
    b.checkpoint(shared=[FoundObject(3, "dict", {user_a.user_id: "engine.x"})])  # one owner only
    assert _findings(b) == []
