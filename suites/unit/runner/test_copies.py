"""TabCopies: which closing tab is still owed a copy of a run another tab of its user ended."""

from __future__ import annotations

import asyncio

import pytest

from harness.model import Event, Turn, TurnOutcome, TurnRecord
from harness.runner._copies import TabCopies


def _event(kind: str, run_id: str, session_id: str) -> Event:
    return Event(
        type=kind, run_id=run_id, thread_id="thread_a", user_id="usr_a", payload={},
        seq=0, connection_id=session_id, t=0.0,
    )  # fmt: skip


def _ended(session_id: str, run_id: str, step: int, user: str = "usr_a") -> TurnRecord:
    return TurnRecord(
        session_id=session_id,
        user_id=user,
        turn=Turn(run_id=run_id, thread_id="thread_a", message="hi"),
        started_at=0.0,
        ended_at=1.0,
        outcome=TurnOutcome(run_id=run_id, status="completed"),
        step=step,
    )


def _tabs() -> TabCopies:
    copies = TabCopies()
    copies.session_opened("listener", "usr_a", None, 0.0, step=1)
    copies.session_opened("sender", "usr_a", None, 0.0, step=2)
    copies.session_opened("stranger", "usr_b", None, 0.0, step=3)
    return copies


def test_a_tab_is_owed_the_terminal_of_a_run_another_tab_of_its_user_ended() -> None:
    copies = _tabs()
    copies.event_received("sender", _event("agent_completed", "run_1", "sender"), 4)
    copies.turn_ended(_ended("sender", "run_1", step=3))
    assert copies.behind("listener")
    assert not copies.behind("sender")  # its own run
    assert not copies.behind("stranger")  # another user's run owes it nothing
    copies.event_received("listener", _event("agent_thinking", "run_1", "listener"), 5)
    assert copies.behind("listener")  # not the terminal yet
    copies.event_received("listener", _event("agent_completed", "run_1", "listener"), 6)
    assert not copies.behind("listener")


def test_a_run_that_started_before_the_tab_opened_is_not_owed() -> None:
    copies = _tabs()
    copies.event_received("sender", _event("agent_error", "run_0", "sender"), 4)
    copies.turn_ended(_ended("sender", "run_0", step=0))
    assert not copies.behind("listener")


@pytest.mark.asyncio
async def test_caught_up_returns_when_the_copy_arrives() -> None:
    copies = _tabs()
    copies.event_received("sender", _event("agent_completed", "run_1", "sender"), 4)
    copies.turn_ended(_ended("sender", "run_1", step=3))
    waiting = asyncio.ensure_future(copies.caught_up("listener"))
    await asyncio.sleep(0)
    assert not waiting.done()
    copies.event_received("listener", _event("agent_completed", "run_1", "listener"), 5)
    await asyncio.wait_for(waiting, 1.0)
