"""Hand-built traces, findings and run results for the reporting tests.

Every user runs ``turns`` turns on one tab; each turn thinks once, calls ``echo`` and completes,
so it emits ``agent_started, agent_thinking, tool_executing, tool_completed, agent_completed``.
Loop time advances 0.01 s per event; ``step`` counts events across the whole run.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.model import (
    CallTool,
    Event,
    Finding,
    RunResult,
    Scenario,
    SessionPlan,
    SessionRecord,
    SimUser,
    Think,
    Trace,
    Turn,
    TurnOutcome,
    TurnRecord,
)
from harness.serialization import digest

__all__ = [
    "FULL_TURN",
    "REPLAY",
    "foreign_data",
    "make_result",
    "make_trace",
    "make_user",
    "missing_tools",
]

FULL_TURN = (
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
)


def make_user(index: int, *, name: str | None = None) -> SimUser:
    """User ``index`` with ids in the contract's shapes and one canary."""
    return SimUser(
        user_id=f"usr_{index:012x}",
        thread_ids=(f"thread_{index:012x}",),
        email=f"user{index}@example.org",
        display_name=name or f"User {index}",
        canaries=(f"CANARY-{index:06d}",),
        token=f"tok{index}",
    )


def make_trace(
    users: int = 3,
    *,
    turns: int = 1,
    drop: Sequence[tuple[int, str]] = (),
    name: str | None = None,
    seed: int = 7,
) -> Trace:
    """A trace of ``users`` users; ``drop`` lists (user index, event type) never delivered."""
    sim_users = tuple(make_user(i, name=name if i == 0 else None) for i in range(users))
    step = 0
    sessions: list[SessionRecord] = []
    records: list[TurnRecord] = []
    plans: list[SessionPlan] = []
    for index, user in enumerate(sim_users):
        t = 0.001 * index
        events: list[Event] = []
        user_turns: list[Turn] = []
        for turn_index in range(turns):
            run_id = f"run_{index:06x}{turn_index:06x}"
            turn = Turn(
                run_id=run_id,
                thread_id=user.thread_ids[0],
                message=f"remember {user.canaries[0]}",
                plan=(Think(text="hmm"), CallTool(name="echo", params={"x": index})),
            )
            user_turns.append(turn)
            started = t
            for event_type in FULL_TURN:
                t += 0.01
                step += 1
                if (index, event_type) in drop:
                    continue
                events.append(
                    Event(
                        type=event_type,
                        run_id=run_id,
                        thread_id=user.thread_ids[0],
                        user_id=user.user_id,
                        payload={"n": len(events)},
                        seq=len(events),
                        t=round(t, 6),
                        step=step,
                    )
                )
            records.append(
                TurnRecord(
                    session_id=f"s{index}",
                    user_id=user.user_id,
                    turn=turn,
                    started_at=round(started, 6),
                    ended_at=round(t, 6),
                    outcome=TurnOutcome(run_id=run_id, status="completed", result={}),
                    step=step,
                )
            )
        sessions.append(
            SessionRecord(
                session_id=f"s{index}",
                user_id=user.user_id,
                opened_at=0.0,
                closed_at=round(t + 0.01, 6),
                events=tuple(events),
            )
        )
        plans.append(
            SessionPlan(session_id=f"s{index}", user_id=user.user_id, turns=tuple(user_turns))
        )
    spec = Scenario(name="basic", seed=seed, users=sim_users, sessions=tuple(plans))
    return Trace(
        scenario="basic",
        seed=seed,
        strategy="random",
        target="reference",
        users=sim_users,
        sessions=tuple(sessions),
        turns=tuple(records),
        scenario_spec=spec,
        capabilities=frozenset({"tools", "scripted_plan"}),
    )


REPLAY = "harness run --scenario basic --seed 7 --strategy random"


def foreign_data(trace: Trace, victim: int = 1, owner: int = 0, *, extra: str = "") -> Finding:
    """``owner``'s canary seen in ``victim``'s ``agent_thinking`` event."""
    victim_user = trace.users[victim]
    event = next(
        e
        for s in trace.sessions
        if s.user_id == victim_user.user_id
        for e in s.events
        if e.type == "agent_thinking"
    )
    canary = trace.users[owner].canaries[0]
    return Finding(
        kind="foreign-data",
        users=(victim_user.user_id, trace.users[owner].user_id),
        summary=f"{canary} of {trace.users[owner].user_id} reached {victim_user.user_id}{extra}",
        evidence=tuple(f"event seq={event.seq} line {i}" for i in range(7)),
        first_seen=event.step or 0,
        replay=REPLAY,
        expected=f"only canaries of {victim_user.user_id}",
        actual=f"{canary}{extra}",
    )


def missing_tools(trace: Trace, user: int = 2) -> Finding:
    """``user``'s first turn lacks its tool events."""
    record = next(r for r in trace.turns if r.user_id == trace.users[user].user_id)
    return Finding(
        kind="event-missing",
        users=(record.user_id,),
        summary=f"run {record.turn.run_id} lacks tool events",
        evidence=(f"run_id={record.turn.run_id}",),
        first_seen=record.step,
        replay=REPLAY,
        expected="tool_executing, tool_completed",
        actual="none",
    )


def make_result(
    trace: Trace, findings: Sequence[Finding] = (), *, fault: str | None = None
) -> RunResult:
    """A RunResult for ``trace`` with its real digest."""
    return RunResult(
        scenario=trace.scenario,
        seed=trace.seed,
        strategy=trace.strategy,
        target=trace.target,
        trace=trace,
        findings=tuple(findings),
        trace_digest=digest(trace),
        replay=REPLAY,
        fault=fault,
        stats={"turns": len(trace.turns), "events": sum(len(s.events) for s in trace.sessions)},
        notes=("deterministic",),
    )
