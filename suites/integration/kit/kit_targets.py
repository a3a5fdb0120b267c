"""Targets on the kit over :mod:`tiny_factory`, for the kit's integration tests.

:class:`FreshRootsTarget` is correct and shapes its roots awkwardly (fresh containers on every
call, one object under two keys, the user's workspace shared by the user's tabs);
:class:`SharedAgentTarget` hands every engine one agent (the classic bug) and declares
``deterministic=False``, as a backend keyed on wall time or uuid4 would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from harness.kit import KitTarget, RecordingSession, run_plan
from harness.model import SimUser, Turn, TurnOutcome
from suites.integration.kit.tiny_factory import Agent, Engine, Factory, LimitReached

__all__ = ["FreshRootsSession", "FreshRootsTarget", "SharedAgentTarget"]


class ThreadRefused(Exception):
    """Another user's thread."""


class FreshRootsSession(RecordingSession):
    refusals: ClassVar[tuple[type[BaseException], ...]] = (ThreadRefused, LimitReached)

    def __init__(self, target: FreshRootsTarget, user: SimUser, connection_id: str) -> None:
        super().__init__(user, connection_id)
        self.target = target
        target.connections.register(self)

    async def open_run(self, turn: Turn) -> Engine:
        if not self.target.claim(self.user.user_id, turn.thread_id, turn.run_id):
            raise ThreadRefused(turn.thread_id)
        assert self.target.factory is not None
        return self.target.factory.create_engine(self.user.user_id, turn.thread_id, turn.run_id)

    async def drive(self, run: Engine, turn: Turn) -> TurnOutcome:
        try:
            return await run_plan(turn, emit=run.emit, call_tool=run.call_tool)
        finally:
            assert self.target.factory is not None
            self.target.factory.release(run)

    def roots(self) -> Mapping[str, object]:
        roots: dict[str, object] = {}  # a fresh dict, every call
        for run_id, engine in self.live_runs().items():
            assert isinstance(engine, Engine)
            roots[f"engine[{run_id}]"] = engine
            roots[f"context[{run_id}]"] = engine.context
            roots[f"turn_context[{run_id}]"] = engine.context  # the same object, another key
            roots[f"agents[{run_id}]"] = dict(engine.registry.agents)  # a fresh container
            roots[f"tool_dispatcher[{run_id}]"] = [engine.dispatcher]  # another
            roots["workspace"] = engine.workspace  # shared by this user's tabs and turns
        return roots

    async def disconnect(self) -> None:
        self.target.connections.unregister(self)


class FreshRootsTarget(KitTarget):
    name = "fresh-roots"

    def __init__(self) -> None:
        super().__init__()
        self.factory: Factory | None = None

    async def start(self) -> None:
        await super().start()
        self.factory = Factory(self.connections, engines_per_user=2)

    async def stop(self) -> None:
        self.factory = None
        await super().stop()

    async def open_session(self, user: SimUser) -> FreshRootsSession:
        return FreshRootsSession(self, user, self.next_connection_id())

    def shared_roots(self) -> Mapping[str, object]:
        return {"factory": self.factory}

    def limits(self) -> dict[str, int]:
        return {"engines_per_user": 2}


class _SharedAgentFactory(Factory):
    """The bug: every engine gets the factory's one agent, rebound to each new context."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._agent = Agent("assistant")

    def create_engine(self, user_id: str, thread_id: str, run_id: str) -> Engine:
        engine = super().create_engine(user_id, thread_id, run_id)
        engine.agent = self._agent
        engine.agent.bind(engine.context)
        return engine


class SharedAgentTarget(FreshRootsTarget):
    """The shared-agent bug, on a target that says it is not deterministic."""

    name = "shared-agent"
    deterministic = False

    async def start(self) -> None:
        await super().start()
        self.factory = _SharedAgentFactory(self.connections, engines_per_user=2)
