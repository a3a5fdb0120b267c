"""The harness adapter (a Target) for the alien backend of :mod:`backends`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.model import Event, SimUser, Turn, TurnOutcome
from harness.targets import event_from_message
from suites.integration.alien.backends import (
    BUGS,
    Hub,
    Link,
    Pipeline,
    Refused,
    Runner,
    reset_module_state,
)
from suites.integration.alien.scratch import SCRATCH_KINDS

__all__ = ["AlienTab", "AlienTarget"]


class AlienTab:
    """One connection of one user to the alien backend."""

    def __init__(self, target: AlienTarget, user: SimUser, number: int) -> None:
        self.user = user
        self.on_event: Any = None
        self._target = target
        self._connection_id = f"tab-{number:04d}"
        self._events: list[Event] = []
        self._live: dict[str, Runner] = {}
        self._link: Link | None = Link(user.user_id, self._receive)

    @property
    def link(self) -> Link:
        assert self._link is not None, "tab closed"
        return self._link

    def _receive(self, message: dict[str, Any]) -> None:
        event = event_from_message(
            message,
            seq=len(self._events),
            connection_id=self._connection_id,
            t=asyncio.get_running_loop().time(),
        )
        self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    async def _open(self, turn: Turn) -> Runner:
        self._target.check_thread(self.user.user_id, turn.thread_id)
        self._target.hub.heard_from(self.link)
        return await self._target.pipeline.open_runner(
            self.user.user_id, self.user.email, turn.thread_id, turn.run_id
        )

    async def _drive(self, runner: Runner, turn: Turn) -> TurnOutcome:
        pipeline = self._target.pipeline
        self._live[turn.run_id] = runner
        try:
            reply = await pipeline.execute(runner, turn.message, turn.plan)
        finally:
            self._live.pop(turn.run_id, None)
            pipeline.release(runner)
        return TurnOutcome(
            run_id=turn.run_id,
            status="completed" if reply["status"] == "completed" else "error",
            result=reply["result"],
            error=reply["error"],
        )

    async def run_turn(self, turn: Turn) -> TurnOutcome:
        try:
            runner = await self._open(turn)
        except Refused as exc:
            return TurnOutcome(run_id=turn.run_id, status="rejected", error=str(exc))
        return await self._drive(runner, turn)

    async def burst(self, turns: Sequence[Turn]) -> list[TurnOutcome]:
        """Open every turn's runner before any runs, one loop step apart."""
        opening: list[asyncio.Future[Runner]] = []
        for turn in turns:
            opening.append(asyncio.ensure_future(self._open(turn)))
            await asyncio.sleep(0)
        runners = await asyncio.gather(*opening, return_exceptions=True)
        outcomes: dict[int, TurnOutcome] = {}
        drives = []
        for position, (turn, runner) in enumerate(zip(turns, runners, strict=True)):
            if isinstance(runner, Refused):
                outcomes[position] = TurnOutcome(
                    run_id=turn.run_id, status="rejected", error=str(runner)
                )
            elif isinstance(runner, BaseException):
                raise runner
            else:
                drives.append((position, self._drive(runner, turn)))
        done = await asyncio.gather(*(d for _, d in drives))
        for (position, _), outcome in zip(drives, done, strict=True):
            outcomes[position] = outcome
        return [outcomes[p] for p in range(len(turns))]

    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def roots(self) -> Mapping[str, object]:
        roots: dict[str, object] = {}
        for run_id, runner in self._live.items():
            roots[f"engine[{run_id}]"] = runner
            roots[f"context[{run_id}]"] = runner.workspace
            roots[f"emitter[{run_id}]"] = runner.outbox
        return roots

    async def close(self) -> None:
        if self._link is not None:
            self._target.hub.detach(self._link)
            self._link = None
        if not self._target.hub_has(self.user.user_id):
            self._target.pipeline.forget_profile(self.user.user_id, self.user.email)
        self._live.clear()
        self.on_event = None


class AlienTarget:
    """The alien backend as a harness Target, with zero or more bugs switched on."""

    capabilities = frozenset({"scripted_plan", "tools", "live_roots"})

    def __init__(self, bugs: Iterable[str] = (), *, scratch: str = "defaultdict") -> None:
        chosen = frozenset(bugs)
        unknown = chosen - BUGS
        assert not unknown, f"unknown bugs {sorted(unknown)}"
        assert scratch in SCRATCH_KINDS, scratch
        self.bugs = chosen
        self.scratch = scratch
        self.name = "alien" + (f"[{','.join(sorted(chosen))}]" if chosen else "")
        self._hub: Hub | None = None
        self._pipeline: Pipeline | None = None
        self._tabs = 0
        # The gateway's record of who opened each thread (a database in a real deployment):
        # adapter scaffolding, not state of the backend under test.
        self._thread_owners: dict[str, str] = {}

    @property
    def hub(self) -> Hub:
        assert self._hub is not None, "not started"
        return self._hub

    @property
    def pipeline(self) -> Pipeline:
        assert self._pipeline is not None, "not started"
        return self._pipeline

    def hub_has(self, user_id: str) -> bool:
        return self.hub.has(user_id)

    def check_thread(self, user_id: str, thread_id: str) -> None:
        """Refuse a turn on a thread another user opened (unless the any-thread bug is on)."""
        owner = self._thread_owners.setdefault(thread_id, user_id)
        if owner != user_id and "any-thread" not in self.bugs:
            raise Refused(f"thread_id={thread_id!r} belongs to another user")

    def adapter_objects(self) -> tuple[object, ...]:
        return (self._thread_owners,)

    async def start(self) -> None:
        reset_module_state()
        self._thread_owners.clear()
        self._hub = Hub(self.bugs)
        self._pipeline = Pipeline(self._hub, self.bugs, per_user=2, scratch=self.scratch)

    async def stop(self) -> None:
        self._hub = None
        self._pipeline = None

    async def open_session(self, user: SimUser) -> AlienTab:
        self._tabs += 1
        tab = AlienTab(self, user, self._tabs)
        self.hub.attach(tab.link)
        return tab

    def shared_roots(self) -> Mapping[str, object]:
        pipeline = self.pipeline
        return {"pipeline": pipeline, "hub": self.hub, "toolbox": pipeline.toolbox}

    def limits(self) -> dict[str, int]:
        return {"engines_per_user": 2}
