"""What the driver announces while a run goes, and who listens.

The driver knows when a session opens, an event arrives, a turn starts and ends, a session
closes and the run ends; it announces each to its listeners, in that order, on the loop. The
:class:`~harness.runner._recorder.TraceRecorder` is one listener (it builds the Trace), the
observer (walks of live roots) another. A listener never awaits and never raises into the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from harness.model import Event, RetentionRecord, TurnRecord
from harness.observe import Observer

__all__ = ["ObserverListener", "RunListener"]


class RunListener(Protocol):
    """Receives a run's lifecycle from the driver."""

    def session_opened(
        self, session_id: str, user_id: str, session: Any, at: float, step: int
    ) -> None: ...

    def event_received(self, session_id: str, event: Event, step: int) -> None: ...

    def turn_started(self, session_id: str, run_id: str) -> None: ...

    def turn_ended(self, record: TurnRecord) -> None: ...

    def session_closed(
        self, session_id: str, events: Sequence[Event], at: float, step: int
    ) -> None: ...

    def crashed(self, description: str) -> None: ...

    def run_ended(self) -> None: ...


class ObserverListener:
    """The observer as a listener: walks at tool events, forgets closed sessions, checks
    retention when the run ends (the retention record is then on :attr:`retention`)."""

    def __init__(self, observer: Observer) -> None:
        self.observer = observer
        self.retention: RetentionRecord | None = None

    def session_opened(
        self, session_id: str, user_id: str, session: Any, at: float, step: int
    ) -> None:
        self.observer.session_opened(session_id, user_id, session)

    def event_received(self, session_id: str, event: Event, step: int) -> None:
        self.observer.on_event(session_id, event.type, step)

    def turn_started(self, session_id: str, run_id: str) -> None:
        self.observer.turn_started(session_id, run_id)

    def turn_ended(self, record: TurnRecord) -> None:
        self.observer.turn_ended(record.session_id, record.turn.run_id)

    def session_closed(
        self, session_id: str, events: Sequence[Event], at: float, step: int
    ) -> None:
        self.observer.session_closed(session_id)

    def crashed(self, description: str) -> None:
        pass

    def run_ended(self) -> None:
        self.retention = self.observer.retention()
