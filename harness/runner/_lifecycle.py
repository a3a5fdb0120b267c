"""What the driver announces while a run goes, and who listens.

The driver knows when a session opens, an event arrives, a turn starts and ends, a session
closes and the run ends; it announces each to its listeners, in that order, on the loop. The
:class:`~harness.runner._recorder.TraceRecorder` is one listener (it builds the Trace), the
observer (walks of live roots) another. A listener never awaits and never raises into the run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from harness.errors import AdapterCallTimeout
from harness.model import Event, RetentionRecord, TurnRecord
from harness.observe import Observer
from harness.runner._bounds import DEFAULT_CALL_TIMEOUT, sync_call

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


class _BoundedRoots:
    """A session as the observer sees it: ``roots()`` under the adapter-call bound.

    A ``roots()`` that does not return in time (or raises) is the adapter's crash, said once
    per session; its walks are then skipped, and the skip is in the crash, never silent.
    """

    __slots__ = ("_bound", "_broken", "_crashed", "_session", "_who")

    def __init__(
        self, session: Any, who: str, bound: float, crashed: Callable[[str], None]
    ) -> None:
        self._session = session
        self._who = who
        self._bound = bound
        self._crashed = crashed
        self._broken = False

    def roots(self) -> Mapping[str, object]:
        if self._broken:
            return {}
        call = f"roots() of {self._who}"
        try:
            roots = sync_call(call, self._session.roots, self._bound)
        except AdapterCallTimeout as exc:
            self._broken = True
            self._crashed(f"{exc} Its walks were skipped from then on.")
            return {}
        except Exception as exc:
            self._broken = True
            self._crashed(
                f"{call} raised {exc!r}; its walks were skipped from then on. roots() returns a "
                "mapping of this user's live objects (or {} for none) and never raises."
            )
            return {}
        if not isinstance(roots, Mapping):
            self._broken = True
            self._crashed(
                f"{call} returned {roots!r} (type {type(roots).__name__}), not a mapping; its "
                "walks were skipped. roots() returns a mapping of name -> live object."
            )
            return {}
        return roots


class ObserverListener:
    """The observer as a listener: walks at tool events, forgets closed sessions, checks
    retention when the run ends (the retention record is then on :attr:`retention`).

    Args:
        observer: the run's observer.
        bound: seconds one ``roots()`` call may take (``--call-timeout``).
        crashed: records an adapter crash (the driver's).
    """

    def __init__(
        self,
        observer: Observer,
        *,
        bound: float = DEFAULT_CALL_TIMEOUT,
        crashed: Callable[[str], None] = lambda description: None,
    ) -> None:
        self.observer = observer
        self.retention: RetentionRecord | None = None
        self._bound = bound
        self._crashed = crashed

    def session_opened(
        self, session_id: str, user_id: str, session: Any, at: float, step: int
    ) -> None:
        bounded = _BoundedRoots(session, f"{user_id} ({session_id})", self._bound, self._crashed)
        self.observer.session_opened(session_id, user_id, bounded)

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
