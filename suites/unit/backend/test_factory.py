from __future__ import annotations

import asyncio
import gc
import weakref
from collections import deque
from types import MappingProxyType
from typing import Any

import pytest

from harness.observe import frozen_heap
from harness_backend import (
    AgentRequest,
    DuplicateRunError,
    EngineLimitExceeded,
    ExecutionEngineFactory,
    FactoryClosedError,
    FactoryMetrics,
    ManualClock,
    UserExecutionEngine,
)

ALICE = "usr_a1a1a1a1a1a1"
BOB = "usr_b2b2b2b2b2b2"


def _context(factory: ExecutionEngineFactory, user: str, n: int) -> Any:
    return factory.make_context(user, "thread_1", f"run_{n:012x}", metadata={"canary": user})


def _contains(root: object, needle: str) -> list[str]:
    """Every path from root (through containers and backend objects) to a string with needle."""
    found: list[str] = []
    seen: set[int] = set()
    queue: deque[tuple[str, object]] = deque([("root", root)])
    while queue:
        path, value = queue.popleft()
        if id(value) in seen:
            continue
        seen.add(id(value))
        if isinstance(value, str):
            if needle in value:
                found.append(path)
            continue
        if isinstance(value, dict | MappingProxyType):
            for key, item in value.items():
                queue.append((f"{path}[{key!r}]", key))
                queue.append((f"{path}[{key!r}]", item))
        elif isinstance(value, list | tuple | deque | set | frozenset):
            for index, item in enumerate(value):
                queue.append((f"{path}[{index}]", item))
        elif type(value).__module__.startswith("harness_backend"):
            slots = [s for c in type(value).__mro__ for s in getattr(c, "__slots__", ())]
            for name in slots:
                if hasattr(value, name):
                    queue.append((f"{path}.{name}", getattr(value, name)))
            for name, item in getattr(value, "__dict__", {}).items():
                queue.append((f"{path}.{name}", item))
    return found


@pytest.mark.asyncio
async def test_same_instant_burst_respects_the_limit_exactly() -> None:
    factory = ExecutionEngineFactory(clock=ManualClock(5.0))
    results = await asyncio.gather(
        *(factory.create_for_user(_context(factory, ALICE, n)) for n in range(20)),
        return_exceptions=True,
    )
    engines = [r for r in results if isinstance(r, UserExecutionEngine)]
    rejected = [r for r in results if isinstance(r, EngineLimitExceeded)]
    assert len(engines) == 2 and len(rejected) == 18
    assert len({e.engine_id for e in engines}) == 2
    assert f"user_id={ALICE!r}" in str(rejected[0])
    assert "max_engines_per_user=2" in str(rejected[0])
    # Other users are unaffected by Alice's burst.
    bob = await factory.create_for_user(_context(factory, BOB, 99))
    assert bob.context.user_id == BOB
    assert factory.metrics().engines_active == 3
    assert factory.metrics().engines_rejected == 18


@pytest.mark.asyncio
async def test_release_frees_the_slot() -> None:
    factory = ExecutionEngineFactory(max_engines_per_user=1)
    first = await factory.create_for_user(_context(factory, ALICE, 1))
    with pytest.raises(EngineLimitExceeded):
        await factory.create_for_user(_context(factory, ALICE, 2))
    await factory.release(first)
    await factory.release(first)  # twice is harmless
    second = await factory.create_for_user(_context(factory, ALICE, 3))
    assert second is not first and first.closed and not second.closed
    assert factory.metrics().engines_released == 1


@pytest.mark.asyncio
async def test_a_run_in_flight_is_refused_again_until_released() -> None:
    factory = ExecutionEngineFactory()
    first = await factory.create_for_user(_context(factory, ALICE, 1))
    with pytest.raises(DuplicateRunError) as info:
        await factory.create_for_user(_context(factory, ALICE, 1))  # a retry, a second tab
    assert f"run_id={'run_' + format(1, '012x')!r} is already running" in str(info.value)
    # Another user's run id of the same text is not this user's run (ownership is elsewhere).
    await factory.create_for_user(_context(factory, BOB, 1))
    assert factory.metrics().engines_active == 2 and factory.metrics().engines_rejected == 1
    await factory.release(first)
    again = await factory.create_for_user(_context(factory, ALICE, 1))  # the retry, now
    assert again is not first and again.engine_id != first.engine_id
    await factory.release(again)
    assert factory.engines_for(ALICE) == ()
    assert _contains(factory, ALICE) == []  # nothing of Alice's runs in flight stays behind


@pytest.mark.asyncio
async def test_scope_exit_leaves_nothing_of_the_user() -> None:
    # Only what this test makes is looked through by its collection: the session's heap
    # before it (thousands of tests' objects in a worker) is frozen for its length.
    with frozen_heap():
        await _scope_exit_leaves_nothing_of_the_user()


async def _scope_exit_leaves_nothing_of_the_user() -> None:
    factory = ExecutionEngineFactory()
    plan: list[dict[str, Any]] = [
        {"step": "tool", "name": "echo", "params": {"canary": "cnry_alice"}}
    ]
    async with factory.user_execution_scope(_context(factory, ALICE, 1)) as engine:
        request = AgentRequest(ALICE, "thread_1", engine.context.run_id, "cnry_alice", plan)
        await engine.execute_agent("scripted", request)
        assert factory.engines_for(ALICE) == (engine,)
        assert _contains(factory, ALICE) != []  # the walk does see a live user's engine
    reference = weakref.ref(engine)
    del engine
    gc.collect()
    assert reference() is None
    assert factory.metrics().engines_active == 0 and factory.metrics().users_active == 0
    for root in factory.shared_roots().values():
        assert _contains(root, ALICE) == []
        assert _contains(root, "cnry_alice") == []


@pytest.mark.asyncio
async def test_scope_releases_on_exception() -> None:
    factory = ExecutionEngineFactory()
    with pytest.raises(RuntimeError, match="boom"):
        async with factory.user_execution_scope(_context(factory, ALICE, 1)) as engine:
            raise RuntimeError("boom")
    assert engine.closed
    assert factory.metrics().engines_active == 0 and factory.metrics().users_active == 0


@pytest.mark.asyncio
async def test_scope_releases_on_cancellation() -> None:
    factory = ExecutionEngineFactory()
    started = asyncio.Event()
    never = asyncio.Event()

    async def turn() -> None:
        async with factory.user_execution_scope(_context(factory, ALICE, 1)):
            started.set()
            await never.wait()

    task = asyncio.get_running_loop().create_task(turn())
    await started.wait()
    assert factory.metrics().engines_active == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert factory.metrics().engines_active == 0 and factory.metrics().users_active == 0


class _StartSignal:
    """A connection that sets an asyncio.Event when agent_started arrives."""

    def __init__(self) -> None:
        self.connection_id = "conn_signal"
        self.started = asyncio.Event()

    async def send(self, event: dict[str, Any]) -> None:
        if event["type"] == "agent_started":
            self.started.set()


@pytest.mark.asyncio
async def test_cancelled_turn_is_released_and_recorded() -> None:
    factory = ExecutionEngineFactory()
    signal = _StartSignal()
    factory.connections.register(ALICE, signal)
    plan: list[dict[str, Any]] = [{"step": "pause", "seconds": 3600}]
    holder: list[UserExecutionEngine] = []

    async def turn() -> None:
        async with factory.user_execution_scope(_context(factory, ALICE, 1)) as engine:
            holder.append(engine)
            await engine.execute_agent(
                "scripted", AgentRequest(ALICE, "thread_1", engine.context.run_id, "m", plan)
            )

    task = asyncio.get_running_loop().create_task(turn())
    await signal.started.wait()
    assert list(holder[0].agents_in_flight) == [holder[0].context.run_id]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert holder[0].agents_in_flight == {} and holder[0].closed
    assert factory.metrics().engines_active == 0


@pytest.mark.asyncio
async def test_idle_engines_are_reaped_by_the_injected_clock() -> None:
    clock = ManualClock(100.0)
    factory = ExecutionEngineFactory(clock=clock, idle_timeout=60.0)
    idle = await factory.create_for_user(_context(factory, ALICE, 1))
    clock.advance(30)
    fresh = await factory.create_for_user(_context(factory, BOB, 2))
    clock.advance(29)
    assert await factory.cleanup_idle() == 0
    clock.advance(1)
    assert await factory.cleanup_idle() == 1
    assert idle.closed and not fresh.closed
    assert factory.engines() == (fresh,)
    assert factory.metrics().engines_reaped == 1
    assert factory.metrics().users_active == 1


@pytest.mark.asyncio
async def test_busy_engine_is_not_reaped() -> None:
    clock = ManualClock()
    factory = ExecutionEngineFactory(clock=clock, idle_timeout=1.0)
    engine = await factory.create_for_user(_context(factory, ALICE, 1))
    engine.active_turns = 1  # as while a turn runs
    clock.advance(10)
    assert await factory.cleanup_idle() == 0
    engine.active_turns = 0
    assert await factory.cleanup_idle() == 1


@pytest.mark.asyncio
async def test_idle_reaper_starts_and_stops() -> None:
    factory = ExecutionEngineFactory()
    with pytest.raises(ValueError, match="interval=0"):
        factory.start_idle_reaper(0)
    factory.start_idle_reaper(3600)
    with pytest.raises(RuntimeError, match="already runs"):
        factory.start_idle_reaper(3600)
    await factory.stop_idle_reaper()
    factory.start_idle_reaper(3600)
    await factory.shutdown()
    assert factory._reaper is None


@pytest.mark.asyncio
async def test_shutdown_releases_everything_and_refuses_new_engines() -> None:
    factory = ExecutionEngineFactory()
    engines = [
        await factory.create_for_user(_context(factory, u, n)) for n, u in enumerate([ALICE, BOB])
    ]
    await factory.shutdown()
    assert all(e.closed for e in engines)
    assert factory.metrics().engines_active == 0
    with pytest.raises(FactoryClosedError, match="shut down"):
        await factory.create_for_user(_context(factory, ALICE, 9))


@pytest.mark.asyncio
async def test_metrics_and_limits() -> None:
    factory = ExecutionEngineFactory(max_engines_per_user=3)
    await factory.create_for_user(_context(factory, ALICE, 1))
    metrics = factory.metrics()
    assert isinstance(metrics, FactoryMetrics)
    assert (metrics.engines_active, metrics.users_active, metrics.engines_created) == (1, 1, 1)
    assert metrics.faults == ()
    assert factory.limits() == {"engines_per_user": 3, "turns_per_engine": 2}


@pytest.mark.asyncio
async def test_engine_keys_come_from_a_per_factory_counter() -> None:
    first, second = ExecutionEngineFactory(), ExecutionEngineFactory()
    a = await first.create_for_user(_context(first, ALICE, 1))
    b = await first.create_for_user(_context(first, BOB, 2))
    c = await second.create_for_user(_context(second, ALICE, 3))
    assert (a.engine_id, b.engine_id, c.engine_id) == ("engine_1", "engine_2", "engine_1")


@pytest.mark.asyncio
async def test_engines_of_two_users_share_only_declared_infrastructure() -> None:
    factory = ExecutionEngineFactory()
    alice = await factory.create_for_user(_context(factory, ALICE, 1))
    bob = await factory.create_for_user(_context(factory, BOB, 2))
    for name in ("context", "emitter", "tool_dispatcher", "execution_registry", "agents_in_flight"):
        assert getattr(alice, name) is not getattr(bob, name), name
    assert alice.context.metadata is not bob.context.metadata
    assert alice.agents is bob.agents is factory.agents
    assert alice.tools is bob.tools is factory.tools


def test_bad_factory_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="max_engines_per_user=0"):
        ExecutionEngineFactory(max_engines_per_user=0)
    with pytest.raises(ValueError, match="idle_timeout=0"):
        ExecutionEngineFactory(idle_timeout=0)
