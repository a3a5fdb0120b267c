"""Before a remote tab closes: has it received its copy of every run its user's other tabs ended?

Over a real network a server sends each event to every connection of the user, and the copies
reach the tabs at different times. A tab that closes before its copy arrives would blame the
server for an event that was only late (``event-missing``: another tab missed events of a run),
and a server starved by the machine the harness runs on (a local staging server beside a busy
test suite) is late without being wrong. So a tab waits, within a bound, for evidence: the
terminal event of each run of its user that ended on another tab while this one was open, as
many times as that tab got it. A connection delivers in order, so the terminal copy means the
run's earlier copies are in too. A copy that never comes is still missed: the wait only ends
sooner when the copies are in.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from harness.model import TERMINAL_EVENTS, Event, TurnRecord

__all__ = ["TabCopies", "owes_copies"]


def owes_copies(
    session_id: str,
    opened_step: int,
    ended: Iterable[TurnRecord],
    terminals: Callable[[str, str], int],
) -> bool:
    """Whether a run of ``ended`` (the turns the tab's user ended) that ended on another tab,
    after this one opened at ``opened_step``, has more terminal events there than here.

    ``terminals(session_id, run_id)`` counts the terminal events of a run a tab received. A
    connection delivers in order, so the terminal copy means the run's earlier copies are in
    too. Shared by the asyncio driver's tabs and the Locust worker's blocking ones.
    """
    for record in ended:
        if record.session_id == session_id or record.step < opened_step:
            continue
        run_id = record.turn.run_id
        if terminals(record.session_id, run_id) > terminals(session_id, run_id):
            return True
    return False


class TabCopies:
    """A run listener that counts, per tab, the terminal events of each run it received."""

    def __init__(self) -> None:
        self._user: dict[str, str] = {}
        self._opened: dict[str, int] = {}
        self._terminals: dict[str, Counter[str]] = {}
        self._ended: dict[str, list[TurnRecord]] = {}  # by user
        self._waiting: set[asyncio.Event] = set()  # one per tab waiting to close

    def session_opened(
        self, session_id: str, user_id: str, session: Any, at: float, step: int
    ) -> None:
        self._user[session_id] = user_id
        self._opened[session_id] = step
        self._terminals[session_id] = Counter()

    def event_received(self, session_id: str, event: Event, step: int) -> None:
        if event.type in TERMINAL_EVENTS and isinstance(event.run_id, str):
            counts = self._terminals.get(session_id)
            if counts is not None:
                counts[event.run_id] += 1
            for waiter in self._waiting:
                waiter.set()

    def turn_started(self, session_id: str, run_id: str) -> None:
        pass

    def turn_ended(self, record: TurnRecord) -> None:
        self._ended.setdefault(record.user_id, []).append(record)

    def session_closed(
        self, session_id: str, events: Sequence[Event], at: float, step: int
    ) -> None:
        pass

    def crashed(self, description: str) -> None:
        pass

    def run_ended(self) -> None:
        pass

    def behind(self, session_id: str) -> bool:
        """Whether a run that ended on another tab of the user, after this tab opened, has
        more terminal events there than here (:func:`owes_copies`)."""
        user = self._user.get(session_id)
        if user is None:
            return False
        counts = self._terminals
        return owes_copies(
            session_id,
            self._opened[session_id],
            self._ended.get(user, ()),
            lambda tab, run_id: counts[tab][run_id],
        )

    async def caught_up(self, session_id: str) -> None:
        """Return once :meth:`behind` is False for ``session_id`` (bound it with a timeout)."""
        arrived = asyncio.Event()
        self._waiting.add(arrived)
        try:
            while self.behind(session_id):
                arrived.clear()
                await arrived.wait()
        finally:
            self._waiting.discard(arrived)
