"""Roots that cannot lie: how an adapter shapes ``roots()`` never makes a correct backend fail.

The adapter below is correct and deliberately awkward: its ``roots()`` returns a fresh dict
every call, with fresh containers inside, the same context under two keys, and the user's
workspace (one object shared by that user's own tabs and turns). None of that may produce a
finding on :mod:`tiny_factory`, over every built-in scenario and ten seeds. The harness once
compared ``id()``s of such fresh containers after they had died and their ids were reused by
another user's: a ``shared-state`` finding about an object that never existed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from harness.kit import KitTarget, RecordingSession, run_plan
from harness.model import SimUser, Turn, TurnOutcome
from harness.runner import run
from harness.scenarios import build, scenario_names
from suites.integration.kit.tiny_factory import Engine, Factory, LimitReached


class ThreadRefused(Exception):
    """Another user's thread."""


class FreshRootsSession(RecordingSession):
    refusals = (ThreadRefused, LimitReached)

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


@pytest.mark.parametrize("seed", range(10))
def test_fresh_containers_in_roots_give_no_finding_on_a_correct_backend(seed: int) -> None:
    for name in scenario_names():
        result = run(FreshRootsTarget(), build(name, seed, 6), strategy="random")
        found: list[Any] = [(f.kind, f.summary, f.evidence[:2]) for f in result.findings]
        assert found == [], (name, seed, found)
        # Not clean by blindness: walks and checkpoints looked at the roots while turns ran.
        assert result.trace.observed["walks"] > 0, (name, seed)


def test_the_same_roots_do_catch_a_shared_agent() -> None:
    # The same adapter is not blind: with the classic bug, every shape of root still reports.
    from suites.integration.kit import tiny_factory

    original = tiny_factory.AgentRegistry.agent_for

    def shared(self: tiny_factory.AgentRegistry, context: tiny_factory.Context) -> Any:
        agent = tiny_factory._ASSISTANT
        agent.bind(context)
        self.agents[agent.name] = agent
        return agent

    tiny_factory.AgentRegistry.agent_for = shared  # type: ignore[method-assign]
    try:
        result = run(FreshRootsTarget(), build("burst", 0, 6), strategy="random")
    finally:
        tiny_factory.AgentRegistry.agent_for = original  # type: ignore[method-assign]
        tiny_factory._ASSISTANT.context = None
        tiny_factory._ASSISTANT.memory.clear()
    kinds = {f.kind for f in result.findings}
    assert {"shared-state", "context-mismatch"} <= kinds, kinds
