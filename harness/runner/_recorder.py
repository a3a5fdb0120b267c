"""The listener that records a run as it happens and builds its Trace, once, at the end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from harness.model import (
    Checkpoint,
    Event,
    RetentionRecord,
    Scenario,
    ScheduleRecord,
    SessionRecord,
    Trace,
    TurnRecord,
)
from harness.targets import TargetInfo

__all__ = ["Observation", "TraceRecorder"]


class Observation:
    """What the observer's walks found in a run (empty for a run without live roots)."""

    __slots__ = ("checkpoints", "observed", "retention")

    def __init__(
        self,
        checkpoints: Sequence[Checkpoint] = (),
        retention: RetentionRecord | None = None,
        observed: dict[str, int] | None = None,
    ) -> None:
        self.checkpoints = tuple(checkpoints)
        self.retention = retention
        self.observed = dict(observed or {})


class _OpenSession:
    __slots__ = ("closed", "closed_step", "events", "opened", "opened_step", "session", "user_id")

    def __init__(self, user_id: str, session: Any, opened: float, step: int) -> None:
        self.user_id = user_id
        self.session = session
        self.opened = opened
        self.opened_step = step
        self.closed: float | None = None
        self.closed_step: int | None = None
        self.events: tuple[Event, ...] | None = None


class TraceRecorder:
    """Records sessions, events, turns, crashes and notes; :meth:`trace` builds the Trace."""

    def __init__(self, scenario: Scenario, info: TargetInfo) -> None:
        self.scenario = scenario
        self.info = info
        self.turns: list[TurnRecord] = []
        self.crashes: list[str] = []
        self.notes: list[str] = []
        self._sessions: dict[str, _OpenSession] = {}
        self._event_steps: dict[tuple[str, int], int] = {}

    # ------------------------------------------------------------------ the lifecycle
    def session_opened(
        self, session_id: str, user_id: str, session: Any, at: float, step: int
    ) -> None:
        self._sessions[session_id] = _OpenSession(user_id, session, at, step)

    def event_received(self, session_id: str, event: Event, step: int) -> None:
        self._event_steps[(session_id, event.seq)] = step

    def turn_started(self, session_id: str, run_id: str) -> None:
        pass

    def turn_ended(self, record: TurnRecord) -> None:
        self.turns.append(record)

    def session_closed(
        self, session_id: str, events: Sequence[Event], at: float, step: int
    ) -> None:
        record = self._sessions[session_id]
        record.events = tuple(events)
        record.closed, record.closed_step = at, step
        record.session = None  # the harness keeps no live session past its close

    def crashed(self, description: str) -> None:
        self.crashes.append(description)

    def run_ended(self) -> None:
        pass

    def note(self, text: str) -> None:
        """Add a line to the Trace's notes (remote runs, skipped checks, best-effort replay)."""
        if text not in self.notes:
            self.notes.append(text)

    def user_of(self, session_id: str) -> str:
        return self._sessions[session_id].user_id

    # ------------------------------------------------------------------ the record
    def trace(
        self,
        *,
        strategy: str,
        schedule: ScheduleRecord | None,
        observation: Observation,
        deterministic: bool,
    ) -> Trace:
        """The run's Trace, built once from everything recorded."""
        records = []
        for session_id, record in self._sessions.items():
            events = record.events
            if events is None:  # never closed: the run was interrupted
                events = _events_of(record.session)
            stamped = tuple(
                replace(e, step=self._event_steps.get((session_id, e.seq), e.step)) for e in events
            )
            records.append(
                SessionRecord(
                    session_id=session_id,
                    user_id=record.user_id,
                    opened_at=record.opened,
                    closed_at=record.closed,
                    events=stamped,
                    connection_id=stamped[0].connection_id if stamped else None,
                    opened_step=record.opened_step,
                    closed_step=record.closed_step,
                )
            )
        scenario = self.scenario
        return Trace(
            scenario=scenario.name,
            seed=scenario.seed,
            strategy=strategy,
            target=self.info.name,
            users=scenario.users,
            sessions=tuple(records),
            turns=tuple(sorted(self.turns, key=lambda r: (r.step, r.turn.run_id))),
            checkpoints=observation.checkpoints,
            retention=observation.retention,
            limits=dict(self.info.limits),
            capabilities=self.info.capabilities,
            schedule=schedule,
            notes=tuple(self.notes),
            deterministic=deterministic,
            scenario_spec=scenario,
            heavy_users=scenario.heavy_users,
            starvation_factor=scenario.starvation_factor,
            crashes=tuple(self.crashes),
            observed=observation.observed,
        )


def _events_of(session: Any) -> tuple[Event, ...]:
    """The well-formed events of a session the run never closed (none if it cannot say)."""
    if session is None:
        return ()
    try:
        return tuple(e for e in session.events() if isinstance(e, Event))
    except Exception:  # the run already failed; what it recorded matters more than this
        return ()
