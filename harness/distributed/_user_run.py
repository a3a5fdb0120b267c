"""One simulated user's session plans, driven over blocking connections, and what they recorded.

:func:`drive_user` does for one :class:`UserSlot` what the harness's driver does for a
scenario's session plans (docs/scenarios.md): each tab opens at its arrival time, runs its turns
one after another (with the plan's gap) or together (``burst``), closes mid-turn after
``close_after`` and reopens with ``reopen_turns``, and stays open ``keep_open`` seconds. Each tab
is its own thread (a greenlet under Locust). Times are wall-clock seconds (``time.time()``), so
records of different workers fall on one axis; steps count per worker, and the master orders
them globally (:mod:`harness.distributed._assembly`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from harness.distributed._population import UserSlot
from harness.errors import TargetAuthError, TargetError
from harness.model import (
    TERMINAL_EVENTS,
    Event,
    SessionPlan,
    SessionRecord,
    Turn,
    TurnOutcome,
    TurnRecord,
    TurnStatus,
)
from harness.runner import owes_copies

__all__ = ["Connect", "Connection", "TurnListener", "UserJournal", "UserRecord", "drive_user"]

#: Seconds a tab waits before closing: events already sent may still be in flight (as the
#: harness's own driver does over a network).
SETTLE_SECONDS = 0.25
#: Seconds a tab waits, past the settle, for its copies of runs its user's other tabs ended
#: (as the harness's own driver does, ``harness.runner._copies``): late is not lost.
COPY_WAIT_SECONDS = 1.0
#: How often a waiting tab looks at what has arrived.
_COPY_POLL = 0.02


class Connection(Protocol):
    """What a tab needs of a connection (:class:`~harness.distributed.WireConnection`)."""

    def run_turns(
        self, turns: Sequence[Turn], timeout: float, *, timeout_status: TurnStatus = ...
    ) -> list[TurnOutcome]: ...

    def events(self) -> tuple[Event, ...]: ...

    @property
    def refused(self) -> bool:
        """The server closed the connection because it refused the user's token."""
        ...

    def close(self, timeout: float = ...) -> None: ...


#: Opens one connection for a user: ``connect(slot, connection_id)``.
Connect = Callable[[UserSlot, str], Connection]


#: Called after each turn with its record and the seconds it took (Locust's request event).
TurnListener = Callable[[TurnRecord, float], None]


@dataclass(frozen=True, slots=True)
class UserRecord:
    """What one simulated user's tabs recorded: session ids as the block scenario names them."""

    worker: int
    sequence: int
    user_id: str
    sessions: tuple[SessionRecord, ...]
    turns: tuple[TurnRecord, ...]
    crashes: tuple[str, ...] = ()
    finished: bool = True


class _Tab:
    __slots__ = ("closed", "closed_step", "connection", "events", "opened", "opened_step")

    def __init__(self, connection: Connection, opened: float, opened_step: int) -> None:
        self.connection: Connection | None = connection
        self.opened = opened
        self.opened_step = opened_step
        self.closed: float | None = None
        self.closed_step: int | None = None
        self.events: tuple[Event, ...] | None = None


class UserJournal:
    """The live record of one user's tabs (plain class); :meth:`record` freezes it."""

    def __init__(self, slot: UserSlot, next_step: Callable[[], int]) -> None:
        self.slot = slot
        self.next_step = next_step
        self.tabs: dict[str, _Tab] = {}
        self.turns: list[TurnRecord] = []
        self.crashes: list[str] = []
        self.finished = False
        #: The first refusal of the user's credentials: configuration, not the target's bug.
        self.fatal: TargetError | None = None

    def record(self) -> UserRecord:
        """What the tabs hold now (a tab still open contributes the events received so far)."""
        sessions = []
        for session_id, tab in self.tabs.items():
            events = tab.events
            if events is None:
                events = tab.connection.events() if tab.connection is not None else ()
            sessions.append(
                SessionRecord(
                    session_id=session_id,
                    user_id=self.slot.user.user_id,
                    opened_at=tab.opened,
                    closed_at=tab.closed,
                    events=events,
                    connection_id=events[0].connection_id if events else None,
                    opened_step=tab.opened_step,
                    closed_step=tab.closed_step,
                )
            )
        return UserRecord(
            worker=self.slot.worker,
            sequence=self.slot.sequence,
            user_id=self.slot.user.user_id,
            sessions=tuple(sessions),
            turns=tuple(self.turns),
            crashes=tuple(self.crashes),
            finished=self.finished,
        )


def drive_user(
    journal: UserJournal,
    connect: Connect,
    *,
    on_turn: TurnListener | None = None,
    settle: float = SETTLE_SECONDS,
) -> None:
    """Run every session plan of ``journal.slot`` to its end, recording into ``journal``."""
    started = time.monotonic()
    tabs = [
        threading.Thread(
            target=_drive_plan,
            args=(journal, connect, plan, started, on_turn, settle),
            name=f"harness-{journal.slot.prefix}{plan.session_id}",
            daemon=True,
        )
        for plan in journal.slot.plans
    ]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join()
    journal.finished = True


def _drive_plan(
    journal: UserJournal,
    connect: Connect,
    plan: SessionPlan,
    started: float,
    on_turn: TurnListener | None,
    settle: float,
) -> None:
    _sleep_until(started + plan.opens_at)
    connection = _open(journal, connect, plan.session_id)
    if connection is None:
        return
    opened = time.monotonic()
    deadline = None if plan.close_after is None else opened + plan.close_after
    _run_turns(journal, plan.session_id, connection, plan, deadline, on_turn)
    _sleep_until(opened + plan.keep_open)
    _close(journal, plan.session_id, connection, settle)
    if plan.close_after is not None and plan.reopen_turns:
        reopened_id = f"{plan.session_id}r"
        connection = _open(journal, connect, reopened_id)
        if connection is not None:
            reopened = SessionPlan(
                session_id=reopened_id, user_id=plan.user_id, turns=plan.reopen_turns, gap=plan.gap
            )
            _run_turns(journal, reopened_id, connection, reopened, None, on_turn)
            _close(journal, reopened_id, connection, settle)


def _behind(journal: UserJournal, session_id: str, connection: Connection) -> bool:
    """Whether this tab still owes a copy of a run its user's other tab ended
    (:func:`harness.runner.owes_copies`)."""
    received: dict[str, Sequence[Event]] = {session_id: connection.events()}

    def terminals(tab_id: str, run_id: str) -> int:
        events = received.get(tab_id)
        if events is None:
            tab = journal.tabs.get(tab_id)
            if tab is None:
                events = ()
            elif tab.events is not None:
                events = tab.events
            else:  # still open: what it received so far
                events = tab.connection.events() if tab.connection is not None else ()
            received[tab_id] = events
        return sum(1 for e in events if e.run_id == run_id and e.type in TERMINAL_EVENTS)

    opened = journal.tabs[session_id].opened_step
    # Other tabs' threads append to the turns: read a copy.
    return owes_copies(session_id, opened, list(journal.turns), terminals)


def _sleep_until(moment: float) -> None:
    remaining = moment - time.monotonic()
    if remaining > 0:
        time.sleep(remaining)


def _open(journal: UserJournal, connect: Connect, session_id: str) -> Connection | None:
    try:
        connection = connect(journal.slot, f"{journal.slot.prefix}{session_id}")
    except TargetAuthError as exc:
        journal.fatal = journal.fatal or exc
        journal.crashes.append(f"{session_id}: {exc}")
        return None
    except Exception as exc:
        journal.crashes.append(f"{session_id}: open_session({journal.slot.user.user_id}) {exc!r}")
        return None
    journal.tabs[session_id] = _Tab(connection, time.time(), journal.next_step())
    return connection


def _close(journal: UserJournal, session_id: str, connection: Connection, settle: float) -> None:
    if settle:
        time.sleep(settle)
        deadline = time.monotonic() + COPY_WAIT_SECONDS
        while _behind(journal, session_id, connection) and time.monotonic() < deadline:
            time.sleep(_COPY_POLL)
    tab = journal.tabs[session_id]
    tab.events = connection.events()
    # The tab stops listening here: what arrives while it closes is not in its record, so it
    # was not open then either (as the asyncio driver stamps its tabs).
    tab.closed, tab.closed_step = time.time(), journal.next_step()
    try:
        connection.close()
    except Exception as exc:
        journal.crashes.append(f"{session_id}: close() raised {exc!r}")
    tab.connection = None  # keep the record, not the socket


def _run_turns(
    journal: UserJournal,
    session_id: str,
    connection: Connection,
    plan: SessionPlan,
    deadline: float | None,
    on_turn: TurnListener | None,
) -> None:
    batches = [plan.turns] if plan.burst and len(plan.turns) > 1 else [(t,) for t in plan.turns]
    timeout = journal.slot.turn_timeout
    for number, batch in enumerate(batches):
        if number and plan.gap > 0:
            time.sleep(plan.gap)
        limit: float = timeout
        status: TurnStatus = "timeout"
        if plan.cancel_after is not None and plan.cancel_after < limit:
            limit, status = plan.cancel_after, "cancelled"
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return  # the tab closes before this turn starts
            if left < limit:
                limit, status = left, "cancelled"  # the tab closes mid-turn
        started, started_clock, step = time.time(), time.monotonic(), journal.next_step()
        crash = None
        try:
            outcomes = connection.run_turns(batch, limit, timeout_status=status)
        except Exception as exc:
            crash = f"{type(exc).__name__}: {exc}"
            outcomes = [TurnOutcome(run_id=t.run_id, status="error", error=crash) for t in batch]
        if connection.refused and journal.fatal is None:
            journal.fatal = TargetAuthError(
                f"the server refused the token of {journal.slot.user.user_id} (close code 4401 "
                "or 4403). Set HARNESS_JWT_SECRET to the server's signing secret, or "
                "HARNESS_TOKENS_FILE to tokens issued by that deployment."
            )
        took = time.monotonic() - started_clock
        ended, ended_step = time.time(), journal.next_step()
        for turn, outcome in zip(batch, outcomes, strict=True):
            record = TurnRecord(
                session_id=session_id,
                user_id=journal.slot.user.user_id,
                turn=turn,
                started_at=started,
                ended_at=ended,
                outcome=outcome,
                step=step,
                burst=len(batch) > 1,
                crash=crash,
                ended_step=ended_step,
            )
            journal.turns.append(record)
            if on_turn is not None:
                on_turn(record, took)
