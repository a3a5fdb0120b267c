"""Harness adapters (Targets) for the two backends of :mod:`backends`, as docs/targets.md says."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.model import Event, SimUser, Turn, TurnOutcome
from harness.targets import event_from_message
from suites.integration.hazards.backends import (
    DESIGNS,
    EngineDesk,
    Hub,
    Refused,
    RunContext,
    ThreadDesk,
    ThreadTurn,
)

__all__ = [
    "EngineDeskTarget",
    "HazardTab",
    "ThreadDeskTarget",
    "global_threads_target",
    "stale_context_target",
]


class HazardTab:
    """One connection of one user to either desk."""

    def __init__(self, target: _DeskTarget, user: SimUser, number: int) -> None:
        self.user = user
        self.on_event: Any = None
        self._target = target
        self._connection_id = f"desk-tab-{number:04d}"
        self._events: list[Event] = []
        self._live: dict[str, object] = {}  # run id -> this run's engine (a ThreadTurn or None)
        self._closed = False
        target.hub.attach(user.user_id, self._receive)

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

    async def run_turn(self, turn: Turn) -> TurnOutcome:
        try:
            reply = await self._target.run(self, turn)
        except Refused as exc:
            return TurnOutcome(run_id=turn.run_id, status="rejected", error=str(exc))
        finally:
            self._live.pop(turn.run_id, None)
        return TurnOutcome(
            run_id=turn.run_id,
            status="completed" if reply["status"] == "completed" else "error",
            result=reply["result"],
            error=reply["error"],
        )

    def track(self, run_id: str, engine: object) -> None:
        self._live[run_id] = engine

    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def roots(self) -> Mapping[str, object]:
        return self._target.roots_of(self.user.user_id, self._live)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self._target.hub.detach(self.user.user_id, self._receive):
                self._target.forget(self.user.user_id)
        self._live.clear()
        self.on_event = None


class _DeskTarget:
    """What both adapters share: the hub, tabs, and the Target contract's plumbing."""

    capabilities = frozenset({"scripted_plan", "tools", "live_roots"})
    design = ""

    def __init__(self, bugs: Iterable[str] = ()) -> None:
        chosen = frozenset(bugs)
        if not chosen <= {DESIGNS[self.design]}:
            raise ValueError(f"bugs={sorted(chosen)!r}; this design knows {DESIGNS[self.design]!r}")
        self.bugs = chosen
        self.name = f"desk-{self.design}" + (f"[{','.join(sorted(chosen))}]" if chosen else "")
        self._hub: Hub | None = None
        self._tabs = 0

    @property
    def hub(self) -> Hub:
        if self._hub is None:
            raise RuntimeError("the target is not started")
        return self._hub

    async def start(self) -> None:
        self._hub = Hub()

    async def stop(self) -> None:
        self._hub = None

    async def open_session(self, user: SimUser) -> HazardTab:
        self._tabs += 1
        return HazardTab(self, user, self._tabs)

    def limits(self) -> dict[str, int]:
        return {}

    async def run(self, tab: HazardTab, turn: Turn) -> dict[str, Any]:
        raise NotImplementedError

    def roots_of(self, user_id: str, live: Mapping[str, object]) -> Mapping[str, object]:
        raise NotImplementedError

    def forget(self, user_id: str) -> None:
        raise NotImplementedError


class ThreadDeskTarget(_DeskTarget):
    """Threads per user; ``ThreadDeskTarget(["global-threads"])`` keys them by id alone."""

    design = "threads"

    def __init__(self, bugs: Iterable[str] = ()) -> None:
        super().__init__(bugs)
        self._desk: ThreadDesk | None = None

    async def start(self) -> None:
        await super().start()
        self._desk = ThreadDesk(self.hub, global_threads="global-threads" in self.bugs)

    async def stop(self) -> None:
        self._desk = None
        await super().stop()

    @property
    def desk(self) -> ThreadDesk:
        if self._desk is None:
            raise RuntimeError("the target is not started")
        return self._desk

    async def run(self, tab: HazardTab, turn: Turn) -> dict[str, Any]:
        opened = self.desk.open_turn(tab.user.user_id, turn.thread_id, turn.run_id)
        tab.track(turn.run_id, opened)
        return await self.desk.run(opened, turn.message, tuple(turn.plan))

    def roots_of(self, user_id: str, live: Mapping[str, object]) -> Mapping[str, object]:
        roots: dict[str, object] = {}
        for run_id, engine in live.items():
            if isinstance(engine, ThreadTurn):
                roots[f"engine[{run_id}]"] = engine
                roots[f"context[{run_id}]"] = engine.context
        return roots

    def forget(self, user_id: str) -> None:
        self.desk.forget(user_id)

    def shared_roots(self) -> Mapping[str, object]:
        return {"desk": self.desk, "hub": self.hub}


class EngineDeskTarget(_DeskTarget):
    """One engine per user; ``EngineDeskTarget(["stale-context"])``: echo reads engine.context."""

    design = "engine"

    def __init__(self, bugs: Iterable[str] = ()) -> None:
        super().__init__(bugs)
        self._desk: EngineDesk | None = None

    async def start(self) -> None:
        await super().start()
        self._desk = EngineDesk(self.hub, stale_context="stale-context" in self.bugs)

    async def stop(self) -> None:
        self._desk = None
        await super().stop()

    @property
    def desk(self) -> EngineDesk:
        if self._desk is None:
            raise RuntimeError("the target is not started")
        return self._desk

    async def run(self, tab: HazardTab, turn: Turn) -> dict[str, Any]:
        user_id = tab.user.user_id
        self.desk.check_thread(user_id, turn.thread_id)
        engine = self.desk.engine_for(user_id)
        tab.track(turn.run_id, engine)
        context = RunContext(user_id, turn.thread_id, turn.run_id)
        return await self.desk.run(engine, context, turn.message, tuple(turn.plan))

    def roots_of(self, user_id: str, live: Mapping[str, object]) -> Mapping[str, object]:
        engine = next(iter(live.values()), None)
        if engine is None:
            return {}
        # The user's engine, and what it calls the current context (the last run it started).
        return {"engine": engine, "context": getattr(engine, "context", None)}

    def forget(self, user_id: str) -> None:
        self.desk.forget(user_id)

    def shared_roots(self) -> Mapping[str, object]:
        return {"desk": self.desk, "hub": self.hub}


def global_threads_target() -> ThreadDeskTarget:
    """The buggy thread desk (threads keyed by id alone), for ``--target module:attr``."""
    return ThreadDeskTarget(["global-threads"])


def stale_context_target() -> EngineDeskTarget:
    """The buggy engine desk (echo reads ``engine.context``), for ``--target module:attr``."""
    return EngineDeskTarget(["stale-context"])
