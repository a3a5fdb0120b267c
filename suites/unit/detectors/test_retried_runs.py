"""A run id that several turns sent (``Turn.retry``): each attempt is judged on its own."""

from __future__ import annotations

from dataclasses import replace

from harness.detectors import event_contract, limits
from harness.model import CallTool, Finding, Think, Trace
from suites.unit.detectors.trace_builder import TraceBuilder

PLAN = (Think("a"), CallTool("echo", {"q": 1}))


def _order(builder: TraceBuilder, trace: Trace | None = None) -> list[Finding]:
    trace = trace or builder.build()
    found = event_contract.detect(trace, builder.index(trace))
    return [f for f in found if f.kind in ("event-order", "event-missing")]


def _first_attempt_only(trace: Trace) -> Trace:
    """The same events, but the trace forgets that a second turn sent the run again."""
    return replace(trace, turns=tuple(r for r in trace.turns if not r.turn.retry))


def test_two_attempts_one_after_the_other_on_one_tab_are_silent() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    run = b.run(tab, PLAN)
    b.run(tab, PLAN, retry_of=run)
    assert _order(b) == []
    # Without the retry, the same events are a duplicated start and terminal.
    unmarked = _order(b, _first_attempt_only(b.build()))
    assert {f.kind for f in unmarked} == {"event-order"}
    assert any("after their run's terminal" in f.summary for f in unmarked), unmarked


def test_a_third_terminal_for_two_attempts_is_still_a_duplicate() -> None:
    b = TraceBuilder(1)
    tab = b.open(b.users[0])
    run = b.run(tab, PLAN)
    b.run(tab, PLAN, retry_of=run)
    extra = b.event(tab, "agent_completed", run, {"result": {}})
    (finding,) = _order(b)
    assert finding.summary == "a run has two terminal events on one session"
    assert f"seq {extra.seq} agent_completed" in finding.evidence[0]


def test_overlapping_attempts_on_one_tab_are_not_an_order_finding() -> None:
    b = TraceBuilder(1)
    (user,) = b.users
    tab = b.open(user)
    run = b.new_run_id()
    ids = {"user_id": user.user_id, "thread_id": user.thread_ids[0]}  # what the target names
    for type_ in ("agent_started", "agent_started", "agent_thinking", "agent_thinking"):
        b.event(tab, type_, run, {"text": "a"}, user_id=ids["user_id"], thread_id=ids["thread_id"])
    for type_ in ("agent_completed", "agent_completed"):
        b.event(tab, type_, run, {"result": {}}, user_id=ids["user_id"], thread_id=ids["thread_id"])
    trace = b.build()
    # Two turns of the run (the builder's turn records are replaced by hand-made ones).
    first = b.run(tab, (Think("a"),), emit=False, status="completed")
    b.run(tab, (Think("a"),), emit=False, status="completed", retry_of=first)
    records = tuple(replace(r, turn=replace(r.turn, run_id=run)) for r in b.build().turns)
    trace = replace(trace, turns=records)
    order = [f for f in _order(b, trace) if f.kind == "event-order"]
    assert order == []
    late = b.event(
        tab,
        "agent_thinking",
        run,
        {"text": "late"},
        user_id=ids["user_id"],
        thread_id=ids["thread_id"],
    )
    trace = replace(b.build(), turns=records)
    (finding,) = [f for f in _order(b, trace) if f.kind == "event-order"]
    assert finding.summary == "an event arrived after its run's terminal event"
    assert f"seq {late.seq}" in finding.evidence[0]


def test_a_reopened_tab_sees_the_abandoned_attempts_tail_then_the_retry() -> None:
    b = TraceBuilder(1)
    (user,) = b.users
    old_tab = b.open(user)
    run = b.run(old_tab, PLAN, status="cancelled", drop={"agent_completed"})
    b.close(old_tab)
    new_tab = b.open(user)
    ids = {"user_id": user.user_id, "thread_id": user.thread_ids[0]}  # what the target names
    b.event(
        new_tab,
        "agent_error",
        run,
        {"error": "abandoned"},
        user_id=ids["user_id"],
        thread_id=ids["thread_id"],
    )
    b.run(new_tab, PLAN, retry_of=run)
    assert _order(b) == []


def test_a_retry_after_its_first_attempt_is_not_two_runs_at_once() -> None:
    b = TraceBuilder(1, limits={"engines_per_user": 1})
    tab = b.open(b.users[0])
    run = b.run(tab, PLAN)
    b.run(tab, PLAN, retry_of=run)
    trace = b.build()
    # Each attempt runs from its own agent_started to its own terminal: one at a time. (Read
    # from every event of the run id, the retry would span the first attempt: two at once.)
    assert list(limits.detect(trace, b.index(trace))) == []


def _resumed(started_before_the_end: bool, *, terminal: bool = True) -> tuple[TraceBuilder, Trace]:
    """Tab 1 runs a run; tab 2 resumes it and sees only its tail (the target joined it)."""
    b = TraceBuilder(1)
    (user,) = b.users
    run = b.run(b.open(user), PLAN)
    first = b.build().turns[0]
    tab = b.open(user)
    who, thread = user.user_id, user.thread_ids[0]
    tail = [b.event(tab, "tool_completed", run, {"name": "echo"}, user_id=who, thread_id=thread)]
    if terminal:
        tail.append(b.event(tab, "agent_completed", run, {}, user_id=who, thread_id=thread))
    b.run(tab, (Think("resume"),), emit=False, status="completed", retry_of=run)
    trace = b.build()
    sent = first.ended_at - 0.001 if started_before_the_end else first.ended_at + 0.001
    end, (begun, ended) = tail[-1].t, (tail[0].step, tail[-1].step)
    assert end is not None and begun is not None
    resumed = replace(trace.turns[1], started_at=sent, ended_at=end, step=begun, ended_step=ended)
    return b, replace(trace, turns=(first, resumed))


def test_a_resume_sent_while_its_run_ran_may_join_it_and_see_only_its_tail() -> None:
    # Over the wire, under load, a resume planned for after the run's end can arrive while it
    # still runs: a target that joins it delivers the rest of that attempt, nothing else.
    b, joined = _resumed(started_before_the_end=True)
    assert _order(b, joined) == []
    # Sent after the run ended, the same tail is a turn that lacks its start and its steps.
    b, after = _resumed(started_before_the_end=False)
    (finding,) = _order(b, after)
    assert finding.kind == "event-missing"
    assert "missing agent_started" in finding.evidence[0]
    # A joined resume still needs the attempt's terminal.
    b, cut = _resumed(started_before_the_end=True, terminal=False)
    (finding,) = _order(b, cut)
    assert "a terminal event (agent_completed or agent_error)" in finding.evidence[0]


def _copied_late(copies: bool) -> list[Finding]:
    """Tab 1 runs a run that is later retried; tab 2, open throughout, gets its copies just
    after the run ended on tab 1 (or none)."""
    b = TraceBuilder(1)
    (user,) = b.users
    tab, other = b.open(user), b.open(user)
    run = b.run(tab, PLAN)
    if copies:
        for event in list(b.build().sessions[0].events):
            b.event(other, event.type, run, event.payload, user_id=user.user_id)
    b.run(tab, PLAN, retry_of=run, also=[other])
    return [f for f in _order(b) if "missed" in f.evidence[0]]


def test_a_copy_that_reaches_another_tab_just_after_the_turn_ended_counts() -> None:
    # Over the wire a copy can come a moment after the original; until the run is sent again,
    # what reaches the other tab is still this attempt's.
    assert _copied_late(copies=True) == []
    (finding,) = _copied_late(copies=False)
    assert "(open for the whole turn) missed" in finding.evidence[0]


def test_a_refused_resend_does_not_take_the_copies_of_the_attempt_that_runs() -> None:
    # Sent twice in one instant: the target runs the first and refuses the second. Every copy
    # the other tab gets is the first's, however late.
    b = TraceBuilder(1)
    (user,) = b.users
    tab, other = b.open(user), b.open(user)
    run = b.run(tab, PLAN)
    b.run(tab, PLAN, retry_of=run, status="rejected", emit=False)
    for event in list(b.build().sessions[0].events):
        b.event(other, event.type, run, event.payload, user_id=user.user_id)
    assert [f for f in _order(b) if "missed" in f.evidence[0]] == []


def test_a_resume_that_joined_the_run_does_not_take_its_copies_either() -> None:
    # Tab 1 runs the run; tab 3 resumes it while it runs (the target joins it); tab 2, open
    # throughout, gets its copies just after the run ended on tab 1. They are the run's.
    b = TraceBuilder(1)
    (user,) = b.users
    tab, other = b.open(user), b.open(user)
    run = b.run(tab, PLAN)
    for event in list(b.build().sessions[0].events):
        b.event(other, event.type, run, event.payload, user_id=user.user_id)
    b.run(b.open(user), PLAN, retry_of=run, emit=False, status="completed")
    first, resume = b.build().turns
    # The resume was sent while the first attempt ran, and ended with it.
    joined = replace(resume, step=first.step + 1, started_at=first.started_at + 0.001)
    trace = replace(b.build(), turns=(first, joined))
    assert [f for f in _order(b, trace) if "missed" in f.evidence[0]] == []
