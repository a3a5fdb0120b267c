"""The driver announces a run's lifecycle to its listeners, in order, and bounds the target."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from harness.errors import TargetError
from harness.model import Event, SimUser, Turn, TurnOutcome, TurnRecord
from harness.observe import TokenIndex
from harness.runner._driver import ScenarioDriver, runs_of
from harness.runner._recorder import TraceRecorder
from harness.scenarios import build
from harness.scheduling import run as run_seeded
from harness.targets import describe


class Tab:
    def __init__(self, user: SimUser, *, broken: bool) -> None:
        self.user = user
        self.on_event: Any = None
        self._events: list[Event] = []
        self._broken = broken

    async def run_turn(self, turn: Turn) -> TurnOutcome:
        if self._broken:
            raise RuntimeError("the tool exploded")
        for kind in ("agent_started", "agent_completed"):
            event = Event(
                type=kind,
                run_id=turn.run_id,
                thread_id=turn.thread_id,
                user_id=self.user.user_id,
                payload={},
                seq=len(self._events),
            )
            self._events.append(event)
            if self.on_event is not None:
                self.on_event(event)
        return TurnOutcome(run_id=turn.run_id, status="completed", result={"tool_results": []})

    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def roots(self) -> Mapping[str, object]:
        return {}

    async def close(self) -> None:
        pass


class Tiny:
    name = "tiny"
    capabilities = frozenset({"scripted_plan", "tools"})

    def __init__(self, *, broken_user: str | None = None, refuse: bool = False) -> None:
        self.broken_user = broken_user
        self.refuse = refuse
        self.started = self.stopped = 0

    async def start(self) -> None:
        self.started += 1

    async def stop(self) -> None:
        self.stopped += 1

    async def open_session(self, user: SimUser) -> Tab:
        if self.refuse:
            raise TargetError("the server refused the credentials")
        return Tab(user, broken=user.user_id == self.broken_user)

    def shared_roots(self) -> Mapping[str, object]:
        return {}


class Log:
    """A listener that writes down what it hears."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str]] = []

    def session_opened(
        self, session_id: str, user_id: str, session: Any, at: float, step: int
    ) -> None:
        self.heard.append(("opened", session_id))

    def event_received(self, session_id: str, event: Event, step: int) -> None:
        self.heard.append(("event", event.type))

    def turn_started(self, session_id: str, run_id: str) -> None:
        self.heard.append(("started", run_id))

    def turn_ended(self, record: TurnRecord) -> None:
        self.heard.append(("ended", record.turn.run_id))

    def session_closed(
        self, session_id: str, events: Sequence[Event], at: float, step: int
    ) -> None:
        self.heard.append(("closed", session_id))

    def crashed(self, description: str) -> None:
        self.heard.append(("crash", description))

    def run_ended(self) -> None:
        self.heard.append(("end", ""))


def _driver(target: Tiny, users: int = 2) -> tuple[ScenarioDriver, Log]:
    scenario = build("golden_path", 0, users)
    info = describe(target)
    driver = ScenarioDriver(
        target,
        info,
        scenario,
        index=TokenIndex.build(scenario.users, runs_of(scenario)),
        recorder=TraceRecorder(scenario, info),
        observe=False,
        progress=None,
    )
    log = Log()
    driver.listeners.append(log)
    return driver, log


def test_listeners_hear_each_session_in_lifecycle_order() -> None:
    target = Tiny()
    driver, log = _driver(target)
    run_seeded(driver.drive(), strategy="fifo")
    assert target.started == target.stopped == 1
    session = driver.scenario.sessions[0]
    mine = [h for h in log.heard if h[1] in (session.session_id, session.turns[0].run_id)]
    assert mine[0] == ("opened", session.session_id)
    assert mine[1] == ("started", session.turns[0].run_id)
    assert ("ended", session.turns[0].run_id) in mine
    assert mine[-1] == ("closed", session.session_id)
    assert log.heard[-1] == ("end", "")
    assert ("event", "agent_completed") in log.heard


def test_the_recorder_builds_the_trace_from_what_it_heard() -> None:
    driver, _ = _driver(Tiny())
    run_seeded(driver.drive(), strategy="fifo")
    trace = driver.recorder.trace(
        strategy="fifo", schedule=None, observation=driver.observation(), deterministic=True
    )
    planned = sum(len(p.turns) for p in driver.scenario.sessions)
    assert len(trace.turns) == planned
    assert all(t.outcome.status == "completed" for t in trace.turns)
    assert all(
        len(s.events) == 2 * len([t for t in trace.turns if t.session_id == s.session_id])
        for s in trace.sessions
    )
    # Events are stamped with the step at which the runner heard them.
    assert all(e.step is not None for s in trace.sessions for e in s.events)
    assert any("live roots not observed" in note for note in trace.notes)


def test_a_turn_that_raises_is_an_error_outcome_with_the_crash() -> None:
    scenario = build("golden_path", 0, 2)
    victim = scenario.users[0].user_id
    driver, _ = _driver(Tiny(broken_user=victim))
    run_seeded(driver.drive(), strategy="fifo")
    trace = driver.recorder.trace(
        strategy="fifo", schedule=None, observation=driver.observation(), deterministic=True
    )
    broken = [t for t in trace.turns if t.user_id == victim]
    assert broken and all(t.outcome.status == "error" for t in broken)
    assert all("RuntimeError: the tool exploded" in (t.crash or "") for t in broken)


def test_a_refused_session_stops_the_run_with_a_target_error() -> None:
    target = Tiny(refuse=True)
    driver, _ = _driver(target)
    with pytest.raises(TargetError, match="refused the credentials"):
        run_seeded(driver.drive(), strategy="fifo")
    assert target.stopped == 1  # stop() still ran


class SlowClose(Tab):
    """A tab whose close takes a while (a close handshake over a slow network)."""

    async def close(self) -> None:
        import asyncio

        await asyncio.sleep(0.5)


class SlowClosing(Tiny):
    async def open_session(self, user: SimUser) -> Tab:
        return SlowClose(user, broken=False)


def test_a_tab_is_closed_from_the_moment_it_stops_listening() -> None:
    # What arrives during close() is not in the tab's record, so the tab was not open then:
    # a turn of another tab that ended meanwhile must not look like one it was open for.
    driver, _ = _driver(SlowClosing())
    run_seeded(driver.drive(), strategy="fifo")
    trace = driver.recorder.trace(
        strategy="fifo", schedule=None, observation=driver.observation(), deterministic=True
    )
    for session in trace.sessions:
        last = max(t.ended_at for t in trace.turns if t.session_id == session.session_id)
        assert session.closed_at is not None
        assert session.closed_at < last + 0.5  # stamped before the half-second close
