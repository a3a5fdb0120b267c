from __future__ import annotations

from dataclasses import replace

from harness.detectors import event_contract
from harness.model import CallTool, Fail, Finding, Pause, Think, Trace
from suites.unit.detectors.trace_builder import TraceBuilder


def _findings(builder: TraceBuilder, trace: Trace | None = None, **kwargs: object) -> list[Finding]:
    trace = trace or builder.build()
    return list(event_contract.detect(trace, builder.index(trace), **kwargs))  # type: ignore[arg-type]


PLAN = (Think("a"), CallTool("echo", {"q": 1}), CallTool("search", {"query": "x"}))


# ---------------------------------------------------------------- silent on clean traces


def test_clean_multi_tab_trace_is_silent() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_a1, tab_a2, tab_b = b.open(user_a), b.open(user_a), b.open(user_b)
    b.run(tab_a1, PLAN, also=[tab_a2])
    b.run(tab_a2, PLAN, also=[tab_a1])
    b.run(tab_b, (Think("x"), CallTool("echo"), Pause(0.1), Fail("boom"), CallTool("echo")))
    assert _findings(b) == []


def test_reconnect_tab_that_sees_only_the_tail_of_a_run_is_silent() -> None:
    b = TraceBuilder(1)
    (user_a,) = b.users
    tab_1 = b.open(user_a)
    run = b.run(tab_1, PLAN, drop={"agent_completed"})
    # the tab reconnects mid-run: it sees the end of the last tool and the terminal only
    tab_2 = b.open(user_a)
    b.event(tab_2, "tool_completed", run, {"name": "search", "result": {}}, user_id=user_a.user_id)
    b.event(tab_2, "agent_completed", run, {"result": {}}, user_id=user_a.user_id)
    b.event(tab_1, "agent_completed", run, {"result": {}}, user_id=user_a.user_id)
    assert _findings(b) == []


def test_rejected_timeout_and_cancelled_turns_require_nothing() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    for status in ("rejected", "timeout", "cancelled"):
        b.run(tab, PLAN, status=status, emit=False)  # type: ignore[arg-type]
    assert _findings(b) == []


def test_without_scripted_plan_tool_events_are_not_required() -> None:
    b = TraceBuilder(1, capabilities=frozenset({"tools"}))
    tab = b.open(b.users[0])
    b.run(
        tab,
        (Think("x"), CallTool("calculator"), CallTool("calculator")),
        drop={"agent_thinking", "tool_executing", "tool_completed"},
    )
    # the target ignores our plan (a real LLM) and its result lists no tools: no judgement
    trace = b.build()
    trace = replace(
        trace,
        turns=tuple(
            replace(t, outcome=replace(t.outcome, result={"response": "ok"})) for t in trace.turns
        ),
    )
    assert _findings(b, trace) == []


def test_tool_results_without_tool_events_fire_even_without_scripted_plan() -> None:
    b = TraceBuilder(1, capabilities=frozenset({"tools"}))
    tab = b.open(b.users[0])
    b.run(tab, (CallTool("calculator"),), drop={"tool_executing", "tool_completed"})
    (finding,) = _findings(b)
    assert finding.summary == "1 tool ran (tool_results) but no tool event reached the connection"


# ---------------------------------------------------------------- misrouted


def test_event_of_a_on_b_session_is_misrouted() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_a, tab_b = b.open(user_a), b.open(user_b)
    run_a = b.run(tab_a)
    stray = b.event(tab_b, "agent_thinking", run_a, {"text": "x"}, user_id=user_a.user_id)
    (finding,) = [f for f in _findings(b) if f.kind == "event-misrouted"]
    assert finding.users == (user_a.user_id, user_b.user_id)
    assert f"seq {stray.seq} agent_thinking: run {run_a} of {user_a.user_id}" in finding.evidence[0]
    assert finding.expected == f"user_id={user_b.user_id}"
    assert finding.first_seen == stray.step


def test_user_id_field_of_another_user_is_misrouted() -> None:
    b = TraceBuilder(2)
    user_a, user_b = b.users
    tab_b = b.open(user_b)
    run_b = b.run(tab_b)
    b.event(tab_b, "agent_thinking", run_b, {"text": "x"}, user_id=user_a.user_id)
    kinds = [(f.kind, f.users) for f in _findings(b)]
    assert ("event-misrouted", (user_a.user_id, user_b.user_id)) in kinds


# ---------------------------------------------------------------- missing


def test_missing_tool_events_with_tool_results_present() -> None:
    b = TraceBuilder(2)
    user_a, _ = b.users
    tab = b.open(user_a)
    for _ in range(3):
        b.run(tab, PLAN, drop={"tool_executing", "tool_completed"})
    (finding,) = _findings(b)
    assert finding.kind == "event-missing"
    assert finding.users == (user_a.user_id,)
    assert "tools ran (tool_results) but no tool event reached the connection" in finding.summary
    assert finding.summary.startswith("in 3 turns")
    assert "2 tool results, 0 tool_executing/tool_completed events" in finding.evidence[0]


def test_a_turn_that_lost_every_event_is_one_finding_not_two() -> None:
    # Its lifecycle and its tool events went missing together: one turn, one cause. The tool
    # results still say that tools ran, inside the same finding.
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    run = b.run(tab, PLAN, emit=False)
    (finding,) = _findings(b)
    assert finding.kind == "event-missing"
    assert finding.summary.startswith("a completed turn lacks agent_started, agent_completed")
    assert f"run {run} (completed): missing agent_started, agent_completed" in finding.evidence[0]
    assert "tool_executing/tool_completed (2 tool results, no tool event)" in finding.evidence[0]
    assert finding.group_key.endswith(
        "agent_started, agent_thinking, terminal, tool_executing/tool_completed"
    )


def test_single_turn_without_tool_events_names_the_count() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    b.run(tab, PLAN, drop={"tool_executing", "tool_completed"})
    (finding,) = _findings(b)
    assert finding.summary == "2 tools ran (tool_results) but no tool event reached the connection"


def test_missing_started_terminal_thinking_and_one_tool() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    run = b.run(tab, PLAN, drop={"agent_started", "agent_completed", "agent_thinking"})
    # drop the search pair only: echo events arrived
    trace = b.build()
    session = trace.sessions[0]
    kept = tuple(e for e in session.events if e.payload.get("name") != "search")
    trace = replace(trace, sessions=(replace(session, events=kept),))
    (finding,) = _findings(b, trace)
    assert finding.kind == "event-missing"
    assert run in finding.evidence[0]
    for lack in (
        "agent_started",
        "agent_completed",
        "tool_executing(search)",
        "tool_completed(search)",
        "agent_thinking x1",
    ):
        assert lack in finding.evidence[0]
    assert "echo" not in finding.evidence[0]


def test_error_turn_needs_only_the_steps_before_fail() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    b.run(tab, (CallTool("echo"), Fail("stop"), CallTool("search")), drop={"agent_error"})
    (finding,) = _findings(b)
    assert "missing agent_error" in finding.evidence[0]
    assert "search" not in finding.evidence[0]


def test_a_completed_turn_whose_plan_fails_swallowed_the_failure() -> None:
    b = TraceBuilder(1)
    (user,) = b.users
    tab = b.open(user)
    plan = (CallTool("echo"), Fail("stop"), CallTool("search"))
    run = b.run(tab, plan, status="completed", drop={"agent_error"})
    b.event(tab, "agent_completed", run, {"result": {}}, user_id=user.user_id)
    (finding,) = _findings(b)
    assert finding.kind == "event-missing"
    assert "missing agent_error (plan step 2 is Fail)" in finding.evidence[0]
    assert "search" not in finding.evidence[0]  # the steps after Fail were never owed


def test_a_failed_plan_without_a_scripted_agent_is_not_judged_by_its_steps() -> None:
    b = TraceBuilder(1, capabilities=frozenset({"tools"}))
    (user,) = b.users
    tab = b.open(user)
    run = b.run(tab, (Think("x"), Fail("stop")), status="completed", drop={"agent_error"})
    b.event(tab, "agent_completed", run, {"result": {}}, user_id=user.user_id)
    assert _findings(b) == []  # a real LLM ignores our plan: completing is its right


def test_other_tab_open_for_the_whole_turn_must_get_every_event() -> None:
    b = TraceBuilder(1)
    (user_a,) = b.users
    tab_1, tab_2 = b.open(user_a), b.open(user_a)
    run = b.run(tab_1, PLAN)  # tab_2 receives nothing: last-writer routing
    (finding,) = _findings(b)
    assert finding.kind == "event-missing"
    assert f"session {tab_2} (open for the whole turn) missed" in finding.evidence[0]
    assert run in finding.evidence[0]
    assert "tool_executing x2" in finding.evidence[0]


def test_tab_closed_mid_turn_is_not_required_to_get_events() -> None:
    b = TraceBuilder(1)
    (user_a,) = b.users
    tab_1, tab_2 = b.open(user_a), b.open(user_a)
    b.close(tab_2, at=0.005)
    b.run(tab_1, PLAN)
    assert _findings(b) == []


# ---------------------------------------------------------------- order


def test_agent_completed_after_a_terminal_is_a_duplicate_terminal() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    run = b.run(tab, (Think("x"), Fail("nope")))
    extra = b.event(tab, "agent_completed", run, {"result": {}})
    (finding,) = _findings(b)
    assert finding.kind == "event-order"
    assert f"seq {extra.seq} agent_completed is a second terminal" in finding.evidence[0]
    assert "agent_error" in finding.evidence[0]
    assert finding.first_seen == extra.step


def test_event_after_terminal_and_before_started() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    run = b.run(tab, ())
    b.event(tab, "agent_thinking", run, {"text": "late"})
    b.event(tab, "heartbeat", run, {})  # not a contract type: ignored
    run_2 = b.new_run_id()
    b.event(tab, "agent_thinking", run_2, {"text": "early"})
    b.event(tab, "agent_started", run_2, {})
    b.event(tab, "agent_completed", run_2, {})
    summaries = sorted(f.summary for f in _findings(b) if f.kind == "event-order")
    assert summaries == [
        "an event arrived after its run's terminal event",
        "an event arrived before its run's agent_started",
    ]


def test_duplicate_agent_started_unless_allowed() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    run = b.run(tab, (), drop={"agent_completed"})
    b.event(tab, "agent_started", run, {})
    b.event(tab, "agent_completed", run, {})
    (finding,) = _findings(b)
    assert finding.summary == "a run has two agent_started events on one session"
    assert _findings(b, allow_duplicates=["agent_started"]) == []
    noted = b.build(notes=("allow_duplicates: agent_started, agent_thinking",))
    assert _findings(b, noted) == []


def test_tool_completed_without_tool_executing_when_start_was_seen() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    run = b.run(tab, (CallTool("echo"),), drop={"tool_executing", "agent_completed"})
    b.event(tab, "tool_executing", run, {"name": "search"})
    b.event(tab, "tool_completed", run, {"name": "search"})
    b.event(tab, "agent_completed", run, {})
    order = [f for f in _findings(b) if f.kind == "event-order"]
    assert [f.summary for f in order] == ["a tool_completed arrived without its tool_executing"]
    assert "'echo'" in order[0].evidence[0]
