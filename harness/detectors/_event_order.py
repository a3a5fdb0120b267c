"""The ``event-order`` half of the event contract: the order of one run's events on one session.

Rules, per (session, run), over the six contract event types only:

- at most one terminal (``agent_completed``/``agent_error``), and nothing after it;
- ``agent_started``, when present, comes before every other event of the run, and only once;
- each ``tool_completed`` follows a ``tool_executing`` of the same tool, unless the session never
  saw the run's ``agent_started`` (a tab that opened mid-run sees only the tail).

Types listed in ``allow_duplicates`` may repeat (``agent_started``, or a terminal of one type).

A run id that several turns sent (a retry, a tab resuming a run: ``Turn.retry``) may run once
per attempt: with k attempts, a session may see up to k ``agent_started`` and k terminals, and
an event is "after the terminal" only once every attempt has had its terminal, and events
before the session's first ``agent_started`` may be an earlier attempt's tail. Whether the
attempts were allowed to overlap is the limits' and the contexts' question, not this one.
"""

from __future__ import annotations

from collections.abc import Collection

from harness.detectors._evidence import FindingAggregator
from harness.detectors._trace_view import TraceView
from harness.model import EVENT_TYPES, TERMINAL_EVENTS, Event, SessionRecord

__all__ = ["check_order"]

KIND = "event-order"


def _tool_name(event: Event) -> str | None:
    name = event.payload.get("name") if hasattr(event.payload, "get") else None
    return name if isinstance(name, str) else None


def _take_pending(pending: list[str | None], name: str | None) -> bool:
    """Consume the first pending ``tool_executing`` matching ``name``; False when none does."""
    for position, candidate in enumerate(pending):
        if name is None or candidate is None or candidate == name:
            del pending[position]
            return True
    return False


def _check_run(
    agg: FindingAggregator,
    view: TraceView,
    session: SessionRecord,
    run_id: str,
    events: list[Event],
    allow_duplicates: Collection[str],
) -> None:
    owner = session.user_id
    where = f"session {session.session_id} run {run_id}"

    def report(cause: str, event: Event, detail: str, headline: str, plural: str) -> None:
        agg.add(
            KIND,
            (owner,),
            cause,
            f"{where}: seq {event.seq} {event.type} {detail}",
            step=view.step_of(event),
            key=(session.session_id, run_id, event.seq, cause),
            headline=headline,
            plural=plural,
        )

    started = [e for e in events if e.type == "agent_started"]
    saw_started = bool(started)
    attempts = max(1, view.attempts(run_id))
    terminals = 0
    terminal: Event | None = None
    pending: list[str | None] = []
    for event in events:
        if attempts > 1 and saw_started and event.seq < started[0].seq:
            # The tail of an earlier attempt that began before this tab saw it (a tab that
            # reopened after a disconnect sees the abandoned attempt end, then the retry).
            if event.type in TERMINAL_EVENTS:
                terminal = event
                terminals += 1
            continue
        if terminal is not None and terminals >= attempts:
            if event.type in TERMINAL_EVENTS:
                if event.type == terminal.type and event.type in allow_duplicates:
                    continue
                report(
                    "duplicate terminal",
                    event,
                    f"is a second terminal (first: seq {terminal.seq} {terminal.type})",
                    "a run has two terminal events on one session",
                    "{n} extra terminal events arrived after their run's terminal",
                )
            else:
                report(
                    "after terminal",
                    event,
                    f"arrived after the terminal seq {terminal.seq} {terminal.type}",
                    "an event arrived after its run's terminal event",
                    "{n} events arrived after their run's terminal event",
                )
            continue
        if event.type in TERMINAL_EVENTS:
            terminal = event
            terminals += 1
        if saw_started and event.seq < started[0].seq and event.type != "agent_started":
            report(
                "before agent_started",
                event,
                f"arrived before agent_started (seq {started[0].seq})",
                "an event arrived before its run's agent_started",
                "{n} events arrived before their run's agent_started",
            )
        if event.type == "agent_started" and event is not started[0]:
            if event.type not in allow_duplicates and started.index(event) >= attempts:
                report(
                    "duplicate agent_started",
                    event,
                    f"repeats agent_started seq {started[0].seq}",
                    "a run has two agent_started events on one session",
                    "{n} extra agent_started events arrived on sessions",
                )
        elif event.type == "tool_executing":
            pending.append(_tool_name(event))
        elif (
            event.type == "tool_completed"
            and saw_started
            and not _take_pending(pending, _tool_name(event))
        ):
            report(
                "tool_completed without tool_executing",
                event,
                f"for tool {_tool_name(event)!r} has no tool_executing before it",
                "a tool_completed arrived without its tool_executing",
                "{n} tool_completed events arrived without their tool_executing",
            )


def check_order(
    agg: FindingAggregator, view: TraceView, allow_duplicates: Collection[str] = ()
) -> None:
    """Add ``event-order`` observations for every (session, run) of the trace to ``agg``."""
    for session in view.trace.sessions:
        runs: dict[str, list[Event]] = {}
        for event in session.events:
            if event.run_id is not None and event.type in EVENT_TYPES:
                runs.setdefault(event.run_id, []).append(event)
        for run_id, events in runs.items():
            events.sort(key=lambda e: e.seq)
            _check_run(agg, view, session, run_id, events, allow_duplicates)
