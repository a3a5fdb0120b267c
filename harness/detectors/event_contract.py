"""Oracle for the event contract: ``event-misrouted``, ``event-missing`` and ``event-order``.

- misrouted: an event on a session of user B whose run belongs to user A, or whose ``user_id``
  is set and is not B. Every tab of the owner receiving an event is correct.
- missing: a turn that completed or errored must show, on the session that ran it,
  ``agent_started``, its terminal and (when the target scripts plans) the tool and thinking
  events of its plan; the owner's other tabs open for the whole turn must get the same events.
  A turn that ended with a status outside the contract must still show a terminal event.
- order: see :mod:`harness.detectors._event_order`.

Duplicates of some types can be allowed by the target (``event_rules["allow_duplicates"]``),
passed as ``allow_duplicates`` or as a trace note ``allow_duplicates: type, type``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable
from typing import Any

from harness.detectors._event_order import check_order
from harness.detectors._evidence import FindingAggregator
from harness.detectors._trace_view import TokenLookup, TraceView
from harness.model import (
    EVENT_TYPES,
    TERMINAL_EVENTS,
    CallTool,
    Event,
    Fail,
    Finding,
    SessionRecord,
    Think,
    Trace,
    TurnRecord,
)

__all__ = ["detect", "notes_allow_duplicates"]

_NOTE_PREFIX = "allow_duplicates:"
#: Outcomes of turns that may never have run: no event is owed.
_NOT_RUN = frozenset({"rejected", "timeout", "cancelled"})
_TERMINALS = frozenset({"agent_completed", "agent_error"})


def notes_allow_duplicates(trace: Trace) -> frozenset[str]:
    """Event types a trace note ``allow_duplicates: a, b`` allows to repeat."""
    allowed: set[str] = set()
    for note in trace.notes:
        if note.startswith(_NOTE_PREFIX):
            allowed.update(p.strip() for p in note[len(_NOTE_PREFIX) :].split(",") if p.strip())
    return frozenset(allowed)


def _misrouted(agg: FindingAggregator, view: TraceView) -> None:
    for session in view.trace.sessions:
        receiver = session.user_id
        for event in session.events:
            run_owner = view.run_owner(event.run_id)
            if run_owner is not None and run_owner != receiver:
                sender, why = run_owner, f"run {event.run_id} of {run_owner}"
            elif event.user_id is not None and event.user_id != receiver:
                sender, why = event.user_id, f"user_id={event.user_id!r}"
            else:
                continue
            agg.add(
                "event-misrouted",
                (sender, receiver),
                "misrouted",
                f"session {session.session_id} of {receiver} seq {event.seq} {event.type}: {why}",
                step=view.step_of(event),
                key=(session.session_id, event.seq),
                headline=f"an event of {sender} arrived on a session of {receiver}",
                plural=f"{{n}} events of {sender} arrived on sessions of {receiver}",
                expected=f"user_id={receiver}",
                actual=f"user_id={event.user_id or sender} ({why})",
            )


def _tool_results(record: TurnRecord) -> list[Any] | None:
    result = record.outcome.result
    entries = result.get("tool_results") if result is not None else None
    return list(entries) if isinstance(entries, list | tuple) else None


def _required_steps(record: TurnRecord) -> tuple[list[str] | None, int | None]:
    """Tool names (in order) and Think count the plan requires; None where unknowable."""
    plan = record.turn.plan
    fail_at = _fail_step(record)
    if fail_at is not None:
        ran = list(plan[:fail_at])  # a plan stops at its Fail step, whatever the outcome says
    elif record.outcome.status == "completed":
        ran = list(plan)
    else:
        # An error without a Fail step: where the plan stopped is known only from tool_results.
        entries = _tool_results(record)
        names = [e.get("name") for e in entries or () if isinstance(e, dict)]
        return ([n for n in names if isinstance(n, str)] if entries is not None else None), None
    tools = [step.name for step in ran if isinstance(step, CallTool)]
    return tools, sum(isinstance(step, Think) for step in ran)


def _fail_step(record: TurnRecord) -> int | None:
    """Index of the plan's first Fail step, or None."""
    return next((i for i, step in enumerate(record.turn.plan) if isinstance(step, Fail)), None)


def _unmatched(required: list[str], events: list[Event]) -> list[str]:
    """Required tool names with no event, matching payload names in order."""
    names = [e.payload.get("name") for e in events]
    missing: list[str] = []
    position = 0
    for name in required:
        j = position
        while j < len(names) and isinstance(names[j], str) and names[j] != name:
            j += 1
        if j < len(names):
            position = j + 1
        else:
            missing.append(name)
    return missing


def _event_type(lack: str) -> str:
    """``tool_executing(echo)`` -> ``tool_executing``: the type, without tool names or counts.

    A missing ``agent_completed`` and a missing ``agent_error`` are one cause (the terminal did
    not reach the session), whichever way the turn ended: both are ``terminal``.
    """
    kind = lack.split("(", 1)[0].split(" ", 1)[0]
    return "terminal" if kind in TERMINAL_EVENTS else kind


def _missing(agg: FindingAggregator, view: TraceView) -> None:
    trace = view.trace
    scripted = "scripted_plan" in trace.capabilities
    # tool_results prove tools ran even when the target ignores our plan (a real LLM).
    emits_tools = "tools" in trace.capabilities
    tools = scripted and emits_tools
    for record in trace.turns:
        # A turn the target crashed on is a crash finding; its missing events say nothing more.
        # A turn refused, timed out or cancelled need not have run at all.
        status = record.outcome.status
        if status in _NOT_RUN or record.crash is not None:
            continue
        run_id, owner = record.turn.run_id, record.user_id
        events = [e for e in view.turn_events(record) if e.type in EVENT_TYPES]
        types = [e.type for e in events]
        where = f"session {record.session_id} run {run_id}"
        if _joined(record, view.attempts_of(run_id)):
            # A resume sent while another attempt of its run was running may join it (a
            # correct target's choice, docs/targets.md "Retries and resumes"): it is owed
            # that attempt's remaining events only, not its start nor its own plan's steps.
            if not _TERMINALS & set(types):
                lack = ["a terminal event (agent_completed or agent_error)"]
                _lacking(agg, record, where, lack, types)
            continue
        lacks: list[str] = []
        if "agent_started" not in types:
            lacks.append("agent_started")
        terminal = "agent_completed" if status == "completed" else "agent_error"
        fail_at = _fail_step(record) if scripted else None
        if status not in ("completed", "error"):
            # An outcome outside the contract (a crash finding says so): which terminal it
            # meant is unknown, but a turn that ended must have had one.
            if not _TERMINALS & set(types):
                lacks.append("a terminal event (agent_completed or agent_error)")
        elif fail_at is not None and terminal == "agent_completed":
            # The scripted agent was told to fail: a completed turn swallowed the failure, and
            # the user never hears that the run went wrong.
            lacks.append(f"agent_error (plan step {fail_at + 1} is Fail)")
        elif terminal not in types:
            lacks.append(terminal)
        required_tools, thinks = _required_steps(record)
        tool_events = [e for e in events if e.type in ("tool_executing", "tool_completed")]
        ran = _tool_results(record) or []
        silent_tools = bool(emits_tools and ran and not tool_events)
        if tools and required_tools and not silent_tools:
            for kind in ("tool_executing", "tool_completed"):
                of_kind = [e for e in events if e.type == kind]
                lacks += [f"{kind}({name})" for name in _unmatched(required_tools, of_kind)]
        if scripted and thinks and types.count("agent_thinking") < thinks:
            lacks.append(f"agent_thinking x{thinks - types.count('agent_thinking')}")
        if silent_tools and lacks:
            # One turn, one cause: its events did not reach the session that ran it.
            lacks.append(f"tool_executing/tool_completed ({len(ran)} tool results, no tool event)")
        elif silent_tools:
            agg.add(
                "event-missing",
                (owner,),
                "no tool events",
                f"{where}: {len(ran)} tool results, 0 tool_executing/tool_completed events "
                f"(got: {', '.join(types) or 'nothing'})",
                step=record.step,
                headline=f"{len(ran)} tool{'s' if len(ran) != 1 else ''} ran (tool_results) "
                "but no tool event reached the connection",
                plural="in {n} turns, tools ran (tool_results) but no tool event reached "
                "the connection",
                expected=f"{len(ran)} tool_executing and {len(ran)} tool_completed",
                actual="no tool event",
            )
        if lacks:
            _lacking(agg, record, where, lacks, types)
        _other_tabs(agg, view, record, Counter(types))


def _joined(record: TurnRecord, attempts: list[TurnRecord]) -> bool:
    """A retried run id sent while an earlier attempt of it (one that was not refused) ran."""
    if not record.turn.retry:
        return False
    return any(
        other is not record
        and other.user_id == record.user_id
        and other.outcome.status != "rejected"
        and other.started_at < record.started_at <= other.ended_at
        for other in attempts
    )


def _lacking(
    agg: FindingAggregator,
    record: TurnRecord,
    where: str,
    lacks: list[str],
    types: list[str],
) -> None:
    got = ", ".join(types) or "nothing"
    agg.add(
        "event-missing",
        (record.user_id,),
        "missing on running session",
        f"{where} ({record.outcome.status}): missing {', '.join(lacks)}",
        pattern=", ".join(sorted({_event_type(lack) for lack in lacks})),
        step=record.step,
        headline=f"a {record.outcome.status} turn lacks {', '.join(lacks)}",
        plural="{n} turns lack required events on the session that ran them",
        expected="agent_started, one event per plan step, the terminal",
        actual=f"got {got}",
    )


def _other_tabs(
    agg: FindingAggregator, view: TraceView, record: TurnRecord, got: Counter[str]
) -> None:
    run_id = record.turn.run_id
    for session in view.sessions_of(record.user_id):
        if session.session_id == record.session_id:
            continue
        if not _open_throughout(session, record):
            continue
        other = Counter(e.type for e in view.run_events_until(session.session_id, record))
        lacking = got - other
        if not lacking:
            continue
        missed = ", ".join(f"{t} x{n}" if n > 1 else t for t, n in sorted(lacking.items()))
        agg.add(
            "event-missing",
            (record.user_id,),
            "other tab",
            f"session {session.session_id} (open for the whole turn) missed {missed} of run "
            f"{run_id} that session {record.session_id} received",
            step=record.step,
            headline=f"another tab of {record.user_id} missed events of a run",
            plural=f"{{n}} times a tab of {record.user_id} missed events of a run",
            expected=f"{sum(got.values())} events as on {record.session_id}",
            actual=f"{sum(other.values())} events",
        )


def detect(
    trace: Trace, index: TokenLookup, *, allow_duplicates: Collection[str] = ()
) -> Iterable[Finding]:
    """Judge every session's events against the event contract.

    Args:
        trace: the run to judge.
        index: the token index (knows the owner of each run).
        allow_duplicates: event types the target declares may repeat within a run.

    Example:
        >>> sorted({f.kind for f in detect(trace, index)})  # doctest: +SKIP
        ['event-missing']
    """
    view = TraceView(trace, index)
    agg = FindingAggregator()
    _misrouted(agg, view)
    _missing(agg, view)
    check_order(agg, view, frozenset(allow_duplicates) | notes_allow_duplicates(trace))
    return agg.findings()


def _open_throughout(session: SessionRecord, record: TurnRecord) -> bool:
    """Was ``session`` open from before the turn started until after it ended?

    Run-wide steps order what loop times cannot: on a virtual clock a tab and a turn often
    start at the same instant, in either order.
    """
    if session.opened_step is not None:
        if session.opened_step > record.step:
            return False
        end = record.ended_step
        return session.closed_step is None or end is None or session.closed_step > end
    if session.opened_at > record.started_at:
        return False
    return session.closed_at is None or session.closed_at >= record.ended_at
