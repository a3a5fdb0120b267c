from __future__ import annotations

import importlib

import pytest

from harness.detectors import DETECTORS, MAX_FINDINGS_PER_KIND, run_detectors
from harness.errors import UsageError
from harness.model import CallTool, FoundObject, RetentionRecord, Think, Trace
from suites.unit.detectors.trace_builder import TraceBuilder


def test_public_names() -> None:
    module = importlib.import_module("harness.detectors")
    assert module.__all__ == [
        "DETECTORS",
        "MAX_FINDINGS_PER_KIND",
        "Detector",
        "LeakMatrix",
        "TokenLookup",
        "blast_radius",
        "build_index",
        "group_findings",
        "leak_matrix",
        "run_detectors",
    ]
    assert all(hasattr(module, name) for name in module.__all__)
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == module.__name__
    }
    assert defined <= set(module.__all__)
    assert list(DETECTORS) == [
        "foreign_data",
        "shared_state",
        "event_contract",
        "context_integrity",
        "retention",
        "limits",
        "outcomes",
    ]


def _clean_trace() -> Trace:
    b = TraceBuilder(3, limits={"engines_per_user": 2})
    user_a, user_b, user_c = b.users
    tab_a1, tab_a2, tab_b = b.open(user_a), b.open(user_a), b.open(user_b)
    plan = (Think("x"), CallTool("echo"), CallTool("search", {"delay": 0.01}))
    run_a = b.run(tab_a1, plan, also=[tab_a2])
    b.checkpoint(
        [
            b.walk(
                user_a.user_id,
                {"context.run_id": run_a, "engine.ctx.user_id": user_a.user_id},
                [run_a],
            ),
            b.walk(user_b.user_id, {}),
        ]
    )
    b.run(tab_b, plan)
    b.close(tab_a2)
    tab_c = b.open(user_c)
    b.run(tab_c, plan)
    return b.build(retention=RetentionRecord(alive={}, shared_values=()))


def test_clean_trace_has_no_findings() -> None:
    assert run_detectors(_clean_trace()) == ()


def _faulty_trace() -> tuple[TraceBuilder, Trace]:
    b = TraceBuilder(2, limits={"engines_per_user": 2})
    user_a, user_b = b.users
    tab_a, tab_b = b.open(user_a), b.open(user_b)
    run_a = b.run(tab_a, (CallTool("echo"),), drop={"tool_executing", "tool_completed"})
    b.event(tab_b, "agent_thinking", run_a, {"text": user_a.canaries[0]}, user_id=user_a.user_id)
    b.checkpoint(
        [b.walk(user_b.user_id, {"engine.c.note": user_a.canaries[0]})],
        shared=[FoundObject(1, "dict", {user_a.user_id: "engine.c", user_b.user_id: "engine.c"})],
    )
    b.run(tab_b, status="timeout", emit=False)
    return b, b.build()


def test_findings_are_sorted_unique_and_replay_is_empty() -> None:
    builder, trace = _faulty_trace()
    findings = run_detectors(trace)
    assert {f.kind for f in findings} == {
        "event-missing",
        "foreign-data",
        "event-misrouted",
        "shared-state",
        "hang",
    }
    keys = [(f.first_seen, f.kind, f.users, f.summary) for f in findings]
    assert keys == sorted(keys)
    assert len(set(findings)) == len(findings)
    assert all(f.replay == "" for f in findings)
    assert run_detectors(trace, index=builder.index(trace)) == findings


def test_only_selects_detectors_and_kinds() -> None:
    _builder, trace = _faulty_trace()
    assert {f.kind for f in run_detectors(trace, only=["outcomes"])} == {"hang"}
    assert {f.kind for f in run_detectors(trace, only=["event-misrouted"])} == {"event-misrouted"}
    both = run_detectors(trace, only=["event-misrouted", "shared_state"])
    assert {f.kind for f in both} == {"event-misrouted", "shared-state"}
    with pytest.raises(UsageError, match=r"only='outcome' .*Did you mean 'outcomes'\?"):
        run_detectors(trace, only=["outcome"])


def test_each_kind_is_capped_and_says_so() -> None:
    users = MAX_FINDINGS_PER_KIND + 5
    b = TraceBuilder(users)
    for user in b.users:
        b.run(b.open(user), status="timeout", emit=False)
    findings = run_detectors(b.build(), only=["outcomes"])
    assert len(findings) == MAX_FINDINGS_PER_KIND
    notices = [f for f in findings if "not shown" in f.summary]
    assert len(notices) == 1
    assert (
        notices[0].summary
        == f"6 more hang findings not shown (at most {MAX_FINDINGS_PER_KIND} per kind)"
    )


def test_allow_duplicates_reaches_the_event_contract() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    run = b.run(tab, (), drop={"agent_completed"})
    b.event(tab, "agent_started", run, {})
    b.event(tab, "agent_completed", run, {})
    assert [f.kind for f in run_detectors(b.build())] == ["event-order"]
    assert run_detectors(b.build(), allow_duplicates=["agent_started"]) == ()
