"""One user's session plans over blocking connections: tabs, bursts, cancels, reopens, records."""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import pytest

from harness.distributed import UserJournal, UserSlot, _user_run, drive_user
from harness.errors import TargetAuthError
from harness.model import Event, SessionPlan, SimUser, Turn, TurnOutcome, TurnRecord, TurnStatus

USER = SimUser(
    user_id="usr_0123456789ab",
    thread_ids=("thread_0123456789ab",),
    email="ada.lovelace.0a1b2c@example.org",
    display_name="Ada Lovelace",
    canaries=("cnry_0123456789abcdef",),
)


def turn(number: int) -> Turn:
    return Turn(run_id=f"run_{number:012x}", thread_id=USER.thread_ids[0], message="hi")


class Tab:
    """A connection that answers each turn at once, or never (``silent``)."""

    def __init__(self, connection_id: str, calls: list[tuple[str, int, float, str]]) -> None:
        self.connection_id = connection_id
        self.calls = calls
        self.closed = False
        self.refused = False
        self._events: list[Event] = []

    def run_turns(
        self, turns: Sequence[Turn], timeout: float, *, timeout_status: TurnStatus = "timeout"
    ) -> list[TurnOutcome]:
        self.calls.append((self.connection_id, len(turns), timeout, timeout_status))
        outcomes = []
        for t in turns:
            if t.message == "silent":
                outcomes.append(TurnOutcome(run_id=t.run_id, status=timeout_status))
                continue
            for kind in ("agent_started", "agent_completed"):
                self._events.append(
                    Event(
                        type=kind,
                        run_id=t.run_id,
                        thread_id=t.thread_id,
                        user_id=USER.user_id,
                        payload={},
                        seq=len(self._events),
                        connection_id=self.connection_id,
                    )
                )
            outcomes.append(TurnOutcome(run_id=t.run_id, status="completed", result={}))
        return outcomes

    def events(self) -> tuple[Event, ...]:
        return tuple(self._events)

    def close(self, timeout: float = 10.0) -> None:
        self.closed = True


def slot(*plans: SessionPlan, turn_timeout: float = 5.0) -> UserSlot:
    return UserSlot(
        worker=1,
        sequence=4,
        block=0,
        index=4,
        salt="w1-b0",
        user=USER,
        plans=plans,
        turn_timeout=turn_timeout,
    )


def drive(user: UserSlot) -> tuple[UserJournal, list[tuple[str, int, float, str]], list[Tab]]:
    calls: list[tuple[str, int, float, str]] = []
    tabs: list[Tab] = []

    def connect(slot: UserSlot, connection_id: str) -> Tab:
        tabs.append(Tab(connection_id, calls))
        return tabs[-1]

    journal = UserJournal(user, itertools.count().__next__)
    ended: list[tuple[TurnRecord, float]] = []
    drive_user(journal, connect, on_turn=lambda r, took: ended.append((r, took)), settle=0.0)
    assert [r for r, _ in ended] == list(journal.turns)
    assert all(took >= 0 for _, took in ended)
    return journal, calls, tabs


def test_turns_run_one_after_another_and_every_event_is_kept() -> None:
    plan = SessionPlan(session_id="s0000", user_id=USER.user_id, turns=(turn(1), turn(2)))
    journal, calls, tabs = drive(slot(plan))
    assert calls == [("w1.b0.s0000", 1, 5.0, "timeout"), ("w1.b0.s0000", 1, 5.0, "timeout")]
    record = journal.record()
    assert record.finished and (record.worker, record.sequence) == (1, 4)
    (session,) = record.sessions
    assert session.session_id == "s0000" and session.closed_at is not None
    assert [e.type for e in session.events] == ["agent_started", "agent_completed"] * 2
    assert [t.outcome.status for t in record.turns] == ["completed", "completed"]
    assert tabs[0].closed
    steps = [session.opened_step, *(t.step for t in record.turns), session.closed_step]
    numbers = [step for step in steps if step is not None]
    assert numbers == steps and numbers == sorted(set(numbers))


def test_a_burst_sends_its_turns_together() -> None:
    plan = SessionPlan(
        session_id="s0000", user_id=USER.user_id, turns=(turn(1), turn(2), turn(3)), burst=True
    )
    journal, calls, _ = drive(slot(plan))
    assert calls == [("w1.b0.s0000", 3, 5.0, "timeout")]
    assert all(t.burst for t in journal.turns)


def test_cancel_after_bounds_a_turn_and_names_it_cancelled() -> None:
    silent = Turn(run_id="run_00000000000a", thread_id=USER.thread_ids[0], message="silent")
    plan = SessionPlan(session_id="s0000", user_id=USER.user_id, turns=(silent,), cancel_after=0.5)
    journal, calls, _ = drive(slot(plan))
    assert calls == [("w1.b0.s0000", 1, 0.5, "cancelled")]
    assert journal.turns[0].outcome.status == "cancelled"


def test_a_tab_closed_early_reopens_with_its_reopen_turns() -> None:
    plan = SessionPlan(
        session_id="s0003",
        user_id=USER.user_id,
        turns=(turn(1),),
        close_after=2.0,
        reopen_turns=(turn(2),),
    )
    journal, calls, tabs = drive(slot(plan))
    assert [c[0] for c in calls] == ["w1.b0.s0003", "w1.b0.s0003r"]
    assert 0 < calls[0][2] <= 2.0 and calls[0][3] == "cancelled"  # the close bounds the turn
    assert [s.session_id for s in journal.record().sessions] == ["s0003", "s0003r"]
    assert all(tab.closed for tab in tabs)


def test_tabs_of_one_user_run_side_by_side() -> None:
    plans = [
        SessionPlan(session_id=f"s000{n}", user_id=USER.user_id, turns=(turn(n),)) for n in range(3)
    ]
    journal, calls, _ = drive(slot(*plans))
    assert sorted(c[0] for c in calls) == ["w1.b0.s0000", "w1.b0.s0001", "w1.b0.s0002"]
    assert len(journal.record().sessions) == 3


def test_a_refused_token_is_kept_as_the_user_s_fatal_error() -> None:
    def refuse(slot: UserSlot, connection_id: str) -> Tab:
        raise TargetAuthError("ws://x refused the token of usr_0123456789ab")

    plan = SessionPlan(session_id="s0000", user_id=USER.user_id, turns=(turn(1),))
    journal = UserJournal(slot(plan), itertools.count().__next__)
    drive_user(journal, refuse, settle=0.0)
    assert isinstance(journal.fatal, TargetAuthError)
    assert journal.record().sessions == () and journal.turns == []
    assert journal.record().crashes == ("s0000: ws://x refused the token of usr_0123456789ab",)


def test_a_connection_that_cannot_open_is_a_crash_not_a_fatal_error() -> None:
    def broken(slot: UserSlot, connection_id: str) -> Tab:
        raise OSError("connection refused")

    plan = SessionPlan(session_id="s0000", user_id=USER.user_id, turns=(turn(1),))
    journal = UserJournal(slot(plan), itertools.count().__next__)
    drive_user(journal, broken, settle=0.0)
    assert journal.fatal is None
    (crash,) = journal.record().crashes
    assert crash.startswith("s0000: open_session(usr_0123456789ab) OSError")


def test_a_token_refused_after_the_handshake_is_the_user_s_fatal_error() -> None:
    def refusing(slot: UserSlot, connection_id: str) -> Tab:
        tab = Tab(connection_id, [])
        tab.refused = True  # the server accepted the handshake, then closed with 4401
        return tab

    plan = SessionPlan(session_id="s0000", user_id=USER.user_id, turns=(turn(1),))
    journal = UserJournal(slot(plan), itertools.count().__next__)
    drive_user(journal, refusing, settle=0.0)
    assert isinstance(journal.fatal, TargetAuthError)
    assert "refused the token of usr_0123456789ab" in str(journal.fatal)
    assert "HARNESS_JWT_SECRET" in str(journal.fatal)


def test_a_tab_is_closed_from_the_moment_it_stops_listening() -> None:
    # What arrives during close() is not in the tab's record, so the tab was not open then.
    class SlowClose(Tab):
        def close(self, timeout: float = 10.0) -> None:
            time.sleep(0.3)
            super().close(timeout)

    journal = UserJournal(
        slot(SessionPlan("s0000", USER.user_id, (turn(1),))), itertools.count().__next__
    )
    calls: list[tuple[str, int, float, str]] = []
    began = time.time()
    drive_user(journal, lambda _slot, cid: SlowClose(cid, calls), on_turn=None, settle=0.0)
    (session,) = journal.record().sessions
    assert session.closed_at is not None and session.closed_at < began + 0.3


def _with_a_late_copy(copy_after: float | None) -> tuple[UserJournal, float]:
    """Tab s0000 runs a turn; tab s0001, open beside it, gets its copy of the terminal
    ``copy_after`` seconds after opening (never, with None). Returns the journal and when the
    copy arrived."""
    opened = time.monotonic()
    arrival = opened + copy_after if copy_after is not None else float("inf")
    run_id = turn(1).run_id

    class Beside(Tab):
        def events(self) -> tuple[Event, ...]:
            if self.connection_id.endswith("s0001") and time.monotonic() >= arrival:
                copy = Event(
                    type="agent_completed",
                    run_id=run_id,
                    thread_id=USER.thread_ids[0],
                    user_id=USER.user_id,
                    payload={},
                    seq=0,
                    connection_id=self.connection_id,
                )
                return (copy,)
            return super().events()

    plans = (  # s0001 opens first and stays until s0000's turn has ended
        SessionPlan("s0000", USER.user_id, (turn(1),), opens_at=0.05),
        SessionPlan("s0001", USER.user_id, (), keep_open=0.15),
    )
    journal = UserJournal(slot(*plans), itertools.count().__next__)
    calls: list[tuple[str, int, float, str]] = []
    drive_user(journal, lambda _slot, cid: Beside(cid, calls), on_turn=None, settle=0.05)
    return journal, arrival


def test_a_tab_waits_for_a_late_copy_of_a_run_its_other_tab_ended() -> None:
    journal, arrival = _with_a_late_copy(0.4)
    beside = next(s for s in journal.record().sessions if s.session_id == "s0001")
    assert [e.type for e in beside.events] == ["agent_completed"]
    assert beside.closed_at is not None and time.monotonic() >= arrival


def test_a_copy_that_never_comes_is_waited_for_within_the_bound_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_user_run, "COPY_WAIT_SECONDS", 0.2)
    began = time.monotonic()
    journal, _ = _with_a_late_copy(None)
    beside = next(s for s in journal.record().sessions if s.session_id == "s0001")
    assert beside.events == ()  # missed, and the event contract will say so
    assert time.monotonic() - began < 5.0  # the wait ended at its bound
