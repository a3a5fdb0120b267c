"""Each fault switch changes behaviour: the bug is observed with the fault and never without."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from harness_backend import (
    FAULTS,
    AgentRequest,
    ConnectionRegistry,
    DuplicateRunError,
    EngineLimitExceeded,
    ExecutionEngineFactory,
    FaultSet,
    ManualClock,
    UnknownFaultError,
    UserExecutionEngine,
)

ALICE = "usr_a1a1a1a1a1a1"
BOB = "usr_b2b2b2b2b2b2"


class RecordingConnection:
    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        self.events: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        self.events.append(event)


class World:
    """A factory with one recording tab per user."""

    def __init__(self, faults: tuple[str, ...], **options: Any) -> None:
        self.connections = ConnectionRegistry()
        self.tabs = {user: RecordingConnection(f"conn_{user}") for user in (ALICE, BOB)}
        for user, tab in self.tabs.items():
            self.connections.register(user, tab)
        self.factory = ExecutionEngineFactory(
            connections=self.connections, faults=faults, **options
        )

    def context(self, user: str, n: int, **metadata: Any) -> Any:
        return self.factory.make_context(user, f"thread_{user[-4:]}", f"run_{n:012x}", metadata)

    async def turn(self, user: str, n: int, plan: list[dict[str, Any]]) -> dict[str, Any]:
        context = self.context(user, n, canary=f"cnry_{user}")
        async with self.factory.user_execution_scope(context) as engine:
            request = AgentRequest(user, context.thread_id, context.run_id, f"cnry_{user}", plan)
            return await engine.execute_agent("scripted", request)


async def shared_engine(world: World) -> bool:
    alice = await world.factory.create_for_user(world.context(ALICE, 1))
    bob = await world.factory.create_for_user(world.context(BOB, 2))
    return alice is bob


async def shared_agent(world: World) -> bool:
    plan: list[dict[str, Any]] = [
        {"step": "pause", "seconds": 0},
        {"step": "tool", "name": "echo", "params": {}},
    ]
    alice, bob = await asyncio.gather(world.turn(ALICE, 1, plan), world.turn(BOB, 2, plan))
    seen = [r["result"]["tool_results"][0]["result"]["user_id"] for r in (alice, bob)]
    return seen != [ALICE, BOB]


async def shared_registry(world: World) -> bool:
    alice = await world.factory.create_for_user(world.context(ALICE, 1))
    bob = await world.factory.create_for_user(world.context(BOB, 2))
    request = AgentRequest(ALICE, alice.context.thread_id, alice.context.run_id, "cnry_alice", [])
    await alice.execute_agent("scripted", request)
    return any(record.message == "cnry_alice" for record in bob.execution_registry.history())


async def null_notifier(world: World) -> bool:
    reply = await world.turn(ALICE, 1, [{"step": "tool", "name": "echo", "params": {}}])
    types = [e["type"] for e in world.tabs[ALICE].events]
    if reply["status"] != "completed" or len(reply["result"]["tool_results"]) != 1:
        raise AssertionError(f"the turn itself must still complete: {reply!r}")
    return "tool_executing" not in types and "tool_completed" not in types


async def last_writer_routing(world: World) -> bool:
    plan: list[dict[str, Any]] = [
        {"step": "pause", "seconds": 0},
        {"step": "think", "text": "mine"},
    ]
    await asyncio.gather(world.turn(ALICE, 1, plan), world.turn(BOB, 2, plan))
    bob_got_alice = any(e["user_id"] == ALICE for e in world.tabs[BOB].events)
    alice_types = [e["type"] for e in world.tabs[ALICE].events if e["user_id"] == ALICE]
    return bob_got_alice and "agent_thinking" not in alice_types


async def key_collision(world: World) -> bool:
    results = await asyncio.gather(
        *(world.factory.create_for_user(world.context(ALICE, n)) for n in range(5)),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, UserExecutionEngine)]
    for engine in created:
        await world.factory.release(engine)
    leaked = [e for e in created if not e.closed]
    return len(created) > 2 and bool(leaked)


async def no_cleanup(world: World) -> bool:
    await world.turn(ALICE, 1, [{"step": "think", "text": "x"}])
    return world.factory.engines_for(ALICE) != () or world.factory.metrics().users_active > 0


async def mutable_context(world: World) -> bool:
    alice = world.context(ALICE, 1, canary="cnry_alice")
    bob = world.context(BOB, 2, canary="cnry_bob")
    return alice.metadata is bob.metadata and alice.metadata["canary"] == "cnry_bob"


async def register_race(world: World) -> bool:
    results = await asyncio.gather(
        *(world.factory.create_for_user(world.context(ALICE, n)) for n in range(5)),
        return_exceptions=True,
    )
    return sum(isinstance(r, UserExecutionEngine) for r in results) > 2


async def run_keyed_engines(world: World) -> bool:
    first = await world.factory.create_for_user(world.context(ALICE, 1))
    try:
        resumed = await world.factory.create_for_user(world.context(ALICE, 1))
        other = await world.factory.create_for_user(world.context(ALICE, 2))
    except (DuplicateRunError, EngineLimitExceeded):
        return False
    running = {id(first), id(resumed), id(other)}
    await world.factory.release(first)  # frees the resumed engine's slot, by key
    return len(running) == 3 > world.factory.max_engines_per_user and not resumed.closed


OBSERVERS: dict[str, Callable[[World], Awaitable[bool]]] = {
    "shared-engine": shared_engine,
    "shared-agent": shared_agent,
    "shared-registry": shared_registry,
    "null-notifier": null_notifier,
    "last-writer-routing": last_writer_routing,
    "key-collision": key_collision,
    "no-cleanup": no_cleanup,
    "mutable-context": mutable_context,
    "register-race": register_race,
    "run-keyed-engines": run_keyed_engines,
}


def test_every_fault_has_an_observer_and_a_doc_line() -> None:
    assert list(OBSERVERS) == list(FAULTS)
    for name, line in FAULTS.items():
        assert line and "\n" not in line, name


@pytest.mark.asyncio
@pytest.mark.parametrize("name", list(OBSERVERS))
async def test_correct_backend_does_not_show_the_bug(name: str) -> None:
    world = World((), clock=ManualClock(1.0))
    assert await OBSERVERS[name](world) is False


@pytest.mark.asyncio
@pytest.mark.parametrize("name", list(OBSERVERS))
async def test_fault_switch_reproduces_the_bug(name: str) -> None:
    world = World((name,), clock=ManualClock(1.0))
    assert world.factory.metrics().faults == (name,)
    assert await OBSERVERS[name](world) is True


@pytest.mark.asyncio
async def test_shared_engine_turn_runs_under_the_last_binders_context() -> None:
    world = World(("shared-engine",))
    alice = await world.factory.create_for_user(world.context(ALICE, 1))
    await world.factory.create_for_user(world.context(BOB, 2))
    request = AgentRequest(ALICE, "thread_a1a1", "run_000000000001", "cnry_alice", [])
    reply = await alice.execute_agent("scripted", request)
    assert reply["status"] == "completed"
    assert any(e["payload"].get("message") == "cnry_alice" for e in world.tabs[BOB].events)


@pytest.mark.asyncio
async def test_faulty_and_correct_factories_do_not_interfere() -> None:
    faulty = World(tuple(FAULTS))
    correct = World(())
    await faulty.factory.create_for_user(faulty.context(ALICE, 1))
    await faulty.factory.create_for_user(faulty.context(BOB, 2))
    first = await correct.factory.create_for_user(correct.context(ALICE, 1))
    second = await correct.factory.create_for_user(correct.context(BOB, 2))
    assert first is not second
    assert first.context.metadata is not second.context.metadata
    assert first.execution_registry is not second.execution_registry
    with pytest.raises(EngineLimitExceeded):
        for n in range(3, 6):
            await correct.factory.create_for_user(correct.context(ALICE, n))


def test_unknown_fault_lists_known_names_and_suggests() -> None:
    with pytest.raises(UnknownFaultError) as info:
        FaultSet.from_names(["shared-engin"])
    message = str(info.value)
    assert "fault='shared-engin'" in message
    assert "Did you mean 'shared-engine'?" in message
    for name in FAULTS:
        assert name in message
    with pytest.raises(UnknownFaultError):
        ExecutionEngineFactory(faults=["nope"])


def test_fault_set_orders_and_deduplicates() -> None:
    faults = FaultSet.from_names(["no-cleanup", "shared-engine", "no-cleanup"])
    assert faults.names == ("shared-engine", "no-cleanup")
    assert faults.enabled("no-cleanup") and not faults.enabled("shared-agent")
    assert FaultSet.from_names("no-cleanup").names == ("no-cleanup",)
    assert not FaultSet.none()
    with pytest.raises(UnknownFaultError):
        faults.enabled("no-clean")
