"""RecordingSession: events as received, live runs as roots, burst, refusals, close."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

import pytest

from harness.errors import TargetError
from harness.kit import RecordingSession, completed
from harness.model import Event, SimUser, Turn, TurnOutcome
from harness.scheduling import run as run_seeded

T = TypeVar("T")
USER = SimUser(
    user_id="usr_00000000000a",
    thread_ids=("thread_00000000000a",),
    email="ada@example.org",
    display_name="Ada",
    canaries=("cnry_1",),
)


class Full(Exception):
    """The backend's refusal."""


class Engine:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.context = {"run_id": run_id}


class Session(RecordingSession):
    refusals = (Full,)

    def __init__(self, limit: int = 2) -> None:
        super().__init__(USER, "tab-0001")
        self.limit = limit
        self.opened = 0
        self.log: list[str] = []
        self.seen_roots: list[Mapping[str, object]] = []
        self.disconnected = 0

    async def open_run(self, turn: Turn) -> Engine:
        if self.opened >= self.limit:
            raise Full(f"at most {self.limit} engines")
        self.opened += 1
        self.log.append(f"open {turn.run_id}")
        return Engine(turn.run_id)

    async def drive(self, run: Engine, turn: Turn) -> TurnOutcome:
        self.log.append(f"drive {turn.run_id}")
        # A backend message without a user id: it must stay without one.
        self.receive({"type": "agent_started", "run_id": turn.run_id, "payload": {"n": 1}})
        self.seen_roots.append(self.roots())
        await asyncio.sleep(0.01)
        self.receive({"type": "agent_completed", "run_id": turn.run_id, "user_id": "usr_other"})
        self.opened -= 1
        return completed(turn, [])

    def run_roots(self, run: Engine) -> Mapping[str, object]:
        return {"engine": run, "context": run.context}

    async def disconnect(self) -> None:
        self.disconnected += 1


def _turn(number: int) -> Turn:
    return Turn(run_id=f"run_{number:012x}", thread_id=USER.thread_ids[0], message="hi")


def _run(main: Coroutine[Any, Any, T]) -> T:
    return run_seeded(main, strategy="fifo")[0]


def test_events_are_recorded_as_sent_numbered_and_passed_to_on_event() -> None:
    session = Session()
    heard: list[Event] = []
    session.on_event = heard.append
    outcome = _run(session.run_turn(_turn(1)))
    assert outcome.status == "completed"
    events = session.events()
    assert [e.seq for e in events] == [0, 1] and list(events) == heard
    assert events[0].user_id is None and events[0].thread_id is None  # never filled in
    assert events[1].user_id == "usr_other"  # as the backend sent it, even when wrong
    assert events[0].payload == {"n": 1} and events[0].connection_id == "tab-0001"
    assert events[1].t == pytest.approx(0.01)  # loop time of arrival


def test_roots_are_the_live_runs_objects_keyed_by_run() -> None:
    session = Session()
    _run(session.run_turn(_turn(1)))
    (roots,) = session.seen_roots
    assert set(roots) == {"engine[run_000000000001]", "context[run_000000000001]"}
    assert session.roots() == {}  # the run ended: no longer live


def test_a_refusal_becomes_rejected_and_other_errors_propagate() -> None:
    session = Session(limit=0)
    outcome = _run(session.run_turn(_turn(1)))
    assert (outcome.status, outcome.error) == ("rejected", "at most 0 engines")

    class Broken(Session):
        async def open_run(self, turn: Turn) -> Engine:
            raise RuntimeError("database down")

    with pytest.raises(RuntimeError, match="database down"):
        _run(Broken().run_turn(_turn(1)))


def test_burst_opens_every_run_before_driving_any_and_rejects_past_the_limit() -> None:
    session = Session(limit=2)
    outcomes = _run(session.burst([_turn(n) for n in (1, 2, 3)]))
    assert [o.status for o in outcomes] == ["completed", "completed", "rejected"]
    assert [o.run_id for o in outcomes] == [_turn(n).run_id for n in (1, 2, 3)]
    opens = [i for i, line in enumerate(session.log) if line.startswith("open")]
    drives = [i for i, line in enumerate(session.log) if line.startswith("drive")]
    assert max(opens) < min(drives)


def test_close_drops_references_once_and_refuses_more_turns() -> None:
    session = Session()

    async def scenario() -> weakref.ref[Engine]:
        task = asyncio.ensure_future(session.run_turn(_turn(1)))
        await asyncio.sleep(0.005)  # the turn is live
        engine = session.live_runs()["run_000000000001"]
        assert isinstance(engine, Engine)
        ref = weakref.ref(engine)
        del engine
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await session.close()
        await session.close()
        return ref

    ref = _run(scenario())
    session.seen_roots.clear()
    gc.collect()
    assert ref() is None
    assert session.disconnected == 1 and session.on_event is None and session.roots() == {}
    before = len(session.events())
    session.receive({"type": "agent_thinking"})  # a closed socket receives nothing
    assert len(session.events()) == before
    with pytest.raises(TargetError, match=r"connection_id='tab-0001'.*is closed"):
        _run(session.run_turn(_turn(2)))


def test_an_abandoned_turn_cancels_the_backends_task_and_close_waits_for_it() -> None:
    finished: list[str] = []

    class Jobs(Session):
        async def drive(self, run: Engine, turn: Turn) -> TurnOutcome:
            async def job() -> str:
                try:
                    await asyncio.sleep(10)
                    return "done"
                except asyncio.CancelledError:
                    await asyncio.sleep(0.5)  # cancelling takes a while (terminal events)
                    finished.append("cancelled")
                    raise

            await self.await_job(asyncio.ensure_future(job()))
            return completed(turn, [])

    session = Jobs()

    async def scenario() -> None:
        task = asyncio.ensure_future(session.run_turn(_turn(1)))
        await asyncio.sleep(1)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert finished == []  # still cancelling
        await session.close()
        assert finished == ["cancelled"]

    _run(scenario())


def test_a_subclass_must_say_how_to_open_and_drive() -> None:
    bare = RecordingSession(USER, "tab-0009")
    with pytest.raises(NotImplementedError, match="must define open_run"):
        _run(bare.run_turn(_turn(1)))
    with pytest.raises(NotImplementedError, match="must define drive"):
        _run(bare.drive(object(), _turn(1)))
