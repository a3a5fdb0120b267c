from __future__ import annotations

from harness.detectors import context_integrity
from harness.model import CallTool, Finding
from suites.unit.detectors.trace_builder import TraceBuilder


def _findings(builder: TraceBuilder) -> list[Finding]:
    trace = builder.build()
    return list(context_integrity.detect(trace, builder.index(trace)))


def test_echo_showing_another_user_is_a_context_mismatch() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_a, tab_b = b.open(user_a), b.open(user_b)
    run_a = b.run(tab_a)
    run_b = b.run(tab_b, (CallTool("echo"),), echo_as=(user_a.user_id, run_a, user_a.thread_ids[0]))
    (finding,) = _findings(b)
    assert finding.kind == "context-mismatch"
    assert finding.users == (user_a.user_id, user_b.user_id)
    assert finding.expected == (
        f"user_id={user_b.user_id}, run_id={run_b}, thread_id={user_b.thread_ids[0]}"
    )
    assert finding.actual == (
        f"user_id={user_a.user_id}, run_id={run_a}, thread_id={user_a.thread_ids[0]}"
    )
    # the same echo seen in tool_results and in the tool_completed event counts once
    assert len(finding.evidence) == 1
    assert "tool_results[0] ran under user_id=" in finding.evidence[0]


def test_echo_showing_another_run_of_the_same_user() -> None:
    b = TraceBuilder(1)
    (user_a,) = b.users
    tab = b.open(user_a)
    run_1 = b.run(tab)
    b.run(tab, (CallTool("echo"),), echo_as=(user_a.user_id, run_1, user_a.thread_ids[0]))
    (finding,) = _findings(b)
    assert finding.users == (user_a.user_id,)
    assert finding.actual == f"run_id={run_1}"


def test_context_root_holding_another_user_while_one_run_is_active() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_a, tab_b = b.open(user_a), b.open(user_b)
    run_a, run_b = b.run(tab_a), b.run(tab_b)
    checkpoint = b.checkpoint(
        [
            b.walk(user_b.user_id, {"context.user_id": user_a.user_id}, active_runs=[run_b]),
            # not under context/agents: that is foreign-data's business, not a context swap
            b.walk(user_b.user_id, {"engine.history[0]": run_a}, active_runs=[run_b]),
            # two runs active: which one is "the" context is unknowable
            b.walk(user_a.user_id, {"agents.current.run_id": run_b}, active_runs=[run_a, "x"]),
        ]
    )
    (finding,) = _findings(b)
    assert finding.users == (user_a.user_id, user_b.user_id)
    assert finding.first_seen == checkpoint.step
    assert "context.user_id = user_id" in finding.evidence[0]


def test_agents_root_holding_an_older_run_of_the_same_user() -> None:
    b = TraceBuilder(1)
    (user_a,) = b.users
    tab = b.open(user_a)
    run_1, run_2 = b.run(tab), b.run(tab)
    b.checkpoint([b.walk(user_a.user_id, {"agents.scripted._context.run_id": run_1}, [run_2])])
    (finding,) = _findings(b)
    assert finding.users == (user_a.user_id,)
    assert finding.expected == f"user_id={user_a.user_id}, run_id={run_2}"


def test_clean_echoes_and_contexts_are_silent() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_a1, tab_a2, tab_b = b.open(user_a), b.open(user_a), b.open(user_b)
    run_a = b.run(tab_a1, (CallTool("echo"), CallTool("echo")), also=[tab_a2])
    b.run(tab_b, (CallTool("echo"), CallTool("fail")))
    b.checkpoint(
        [
            b.walk(
                user_a.user_id,
                {
                    "context.user_id": user_a.user_id,
                    "context.run_id": run_a,
                    "context.thread_id": user_a.thread_ids[0],
                },
                [run_a],
            )
        ]
    )
    assert _findings(b) == []
