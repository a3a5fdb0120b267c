"""``ExecutionEngineFactory``: the only shared request machinery.

The factory builds one :class:`~harness_backend.engine.UserExecutionEngine` per request scope,
enforces
the per-user engine limit atomically (check and reserve with no ``await`` in between), releases
engines on scope exit (also on exception and cancellation), reaps idle engines by an injected
clock, and keeps nothing of a user once that user's engines are released.

Engine keys come from a per-factory counter, never from time or uuid4, so they never collide.
A user's run id is in flight on at most one engine: a retry of a run still running, or a second
tab resuming it, is refused (``DuplicateRunError``) until the first attempt is released.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from .agents import AgentRegistry, default_agents
from .clock import Clock, LoopClock
from .connections import ConnectionRegistry
from .context import UserExecutionContext
from .emitter import UserEventEmitter
from .engine import UserExecutionEngine
from .errors import (
    DuplicateRunError,
    EngineLimitExceeded,
    FactoryClosedError,
    InvalidContextError,
)
from .execution_registry import AgentExecutionRegistry
from .faults import FaultSet, FaultState
from .tools import ToolRegistry, default_tools

__all__ = ["ExecutionEngineFactory", "FactoryMetrics"]


@dataclass(frozen=True, slots=True)
class FactoryMetrics:
    """Counters of one factory (no per-user data)."""

    engines_active: int
    users_active: int
    engines_created: int
    engines_released: int
    engines_rejected: int
    engines_reaped: int
    max_engines_per_user: int
    faults: tuple[str, ...]


class ExecutionEngineFactory:
    """Creates, limits and releases per-user engines.

    Args:
        connections: shared connection registry (a fresh one if None).
        agents: shared agent registry (``default_agents()`` if None).
        tools: shared tool registry (``default_tools()`` if None).
        clock: time source (the running loop's clock if None).
        max_engines_per_user: engines one user may hold at once.
        idle_timeout: seconds without activity after which :meth:`cleanup_idle` releases an engine.
        faults: faults to switch on (a :class:`FaultSet` or names); none by default.
        max_concurrency_per_engine: turns one engine runs at once.
        history_limit: finished runs each engine's execution registry keeps.

    Example:
        >>> factory = ExecutionEngineFactory()
        >>> factory.limits()["engines_per_user"]
        2
    """

    def __init__(
        self,
        *,
        connections: ConnectionRegistry | None = None,
        agents: AgentRegistry | None = None,
        tools: ToolRegistry | None = None,
        clock: Clock | None = None,
        max_engines_per_user: int = 2,
        idle_timeout: float = 300.0,
        faults: FaultSet | Iterable[str] = (),
        max_concurrency_per_engine: int = 2,
        history_limit: int = 100,
    ) -> None:
        if max_engines_per_user < 1:
            raise ValueError(f"max_engines_per_user={max_engines_per_user!r} must be at least 1.")
        if idle_timeout <= 0:
            raise ValueError(f"idle_timeout={idle_timeout!r} must be a positive number of seconds.")
        self.connections = connections if connections is not None else ConnectionRegistry()
        self.agents = agents if agents is not None else default_agents()
        self.tools = tools if tools is not None else default_tools()
        self.clock: Clock = clock if clock is not None else LoopClock()
        self.max_engines_per_user = max_engines_per_user
        self.idle_timeout = idle_timeout
        self.max_concurrency_per_engine = max_concurrency_per_engine
        self.history_limit = history_limit
        self.faults = faults if isinstance(faults, FaultSet) else FaultSet.from_names(faults)
        self._fault_state = FaultState(self.faults, history_limit) if self.faults else None
        self._engines: dict[str, UserExecutionEngine] = {}
        # user_id -> {engine key: None}; an ordered set of the user's engine keys.
        self._user_engines: dict[str, dict[str, None]] = {}
        # (user_id, run_id) -> the key of the engine running that run: one attempt at a time.
        self._runs_in_flight: dict[tuple[str, str], str] = {}
        self._counter = 0
        self._created = 0
        self._released = 0
        self._rejected = 0
        self._reaped = 0
        self._reaper: asyncio.Task[None] | None = None
        self.closed = False

    # ------------------------------------------------------------------ contexts and engines

    def make_context(
        self,
        user_id: str,
        thread_id: str,
        run_id: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> UserExecutionContext:
        """Build a validated context for one request.

        Raises:
            InvalidContextError: for an empty, malformed or placeholder id.
        """
        if self._fault_state is not None and "mutable-context" in self.faults:
            return self._fault_state.template_context(user_id, thread_id, run_id, metadata)
        return UserExecutionContext.create(user_id, thread_id, run_id, metadata=metadata)

    async def create_for_user(self, context: UserExecutionContext) -> UserExecutionEngine:
        """Create an engine for ``context``'s user, within the per-user limit.

        Raises:
            DuplicateRunError: the user's ``context.run_id`` is already running on an engine.
            EngineLimitExceeded: the user already holds ``max_engines_per_user`` engines.
            FactoryClosedError: after :meth:`shutdown`.
            InvalidContextError: ``context`` is not a UserExecutionContext.
        """
        self._check_open()
        if not isinstance(context, UserExecutionContext):
            raise InvalidContextError(
                f"context={context!r} ({type(context).__name__}) is not a UserExecutionContext; "
                "build one with make_context()."
            )
        state = self._fault_state
        if state is not None and "shared-engine" in self.faults and state.shared_engine is not None:
            engine: UserExecutionEngine = state.shared_engine
            engine.rebind(context, UserEventEmitter(context.user_id, self.connections))
            self._created += 1
            return engine
        if "run-keyed-engines" not in self.faults:
            self._check_run_free(context)
        self._check_limit(context.user_id)
        if "register-race" in self.faults:
            await asyncio.sleep(0)  # the fault: an "async allocation" between check and act
            self._check_open()
        # Correct path: the check above and the reservation below run with no await between
        # them, so a same-instant burst cannot overshoot the limit.
        key = self._engine_key(context)
        engine = self._build_engine(context, key)
        self._engines[key] = engine
        self._user_engines.setdefault(context.user_id, {})[key] = None
        self._runs_in_flight[(context.user_id, context.run_id)] = key
        self._created += 1
        if state is not None and "shared-engine" in self.faults:
            engine.verify_user = False
            state.shared_engine = engine
        return engine

    def _check_open(self) -> None:
        if self.closed:
            raise FactoryClosedError(
                "the factory was shut down and creates no more engines; build a new "
                "ExecutionEngineFactory."
            )

    def _check_run_free(self, context: UserExecutionContext) -> None:
        if (context.user_id, context.run_id) in self._runs_in_flight:
            self._rejected += 1
            raise DuplicateRunError(
                f"run_id={context.run_id!r} is already running for this user; a retry or a "
                "resume is accepted once the first attempt has ended. Wait for its terminal "
                "event, or send a fresh run_id."
            )

    def _check_limit(self, user_id: str) -> None:
        held = len(self._user_engines.get(user_id, ()))
        if held >= self.max_engines_per_user:
            self._rejected += 1
            raise EngineLimitExceeded(
                f"user_id={user_id!r} already holds {held} engines; "
                f"max_engines_per_user={self.max_engines_per_user}. Release an engine (leave its "
                "user_execution_scope) before creating another."
            )

    def _engine_key(self, context: UserExecutionContext) -> str:
        if "key-collision" in self.faults:
            return f"{context.user_id}:{int(self.clock.time() * 1000)}"
        if "run-keyed-engines" in self.faults:
            return f"{context.user_id}:{context.run_id}"
        self._counter += 1
        return f"engine_{self._counter}"

    def _build_engine(self, context: UserExecutionContext, key: str) -> UserExecutionEngine:
        state = self._fault_state
        hooks = state.engine_faults() if state is not None else None
        registry = (
            state.execution_registry(self.history_limit)
            if state is not None
            else AgentExecutionRegistry(self.history_limit)
        )
        return UserExecutionEngine(
            context,
            self.agents,
            self.tools,
            UserEventEmitter(context.user_id, self.connections),
            registry,
            max_concurrency=self.max_concurrency_per_engine,
            clock=self.clock,
            engine_id=key,
            fault_hooks=hooks,
        )

    async def release(self, engine: UserExecutionEngine) -> None:
        """Release ``engine``: forget it and drop the user's entry if it was the last one.

        Releasing twice, or an engine of another factory, does nothing.
        """
        self._release_now(engine)

    def _release_now(self, engine: UserExecutionEngine, *, force: bool = False) -> bool:
        # Synchronous on purpose: it runs to completion even inside a cancelled task.
        if not force:
            if "no-cleanup" in self.faults:
                return False
            state = self._fault_state
            if state is not None and state.shared_engine is engine:
                return False
        key = engine.engine_id
        by_key_only = "key-collision" in self.faults or "run-keyed-engines" in self.faults
        if not by_key_only and self._engines.get(key) is not engine:
            return False
        if self._engines.pop(key, None) is None:
            return False
        user_id = engine.context.user_id
        run = (user_id, engine.context.run_id)
        if self._runs_in_flight.get(run) == key:
            del self._runs_in_flight[run]
        keys = self._user_engines.get(user_id)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del self._user_engines[user_id]
        engine.close()
        self._released += 1
        return True

    @asynccontextmanager
    async def user_execution_scope(
        self, context: UserExecutionContext
    ) -> AsyncIterator[UserExecutionEngine]:
        """Create an engine for ``context`` and always release it on exit.

        Released on normal exit, on exception and on cancellation.

        Example:
            >>> async def turn(factory, context, request):
            ...     async with factory.user_execution_scope(context) as engine:
            ...         return await engine.execute_agent("scripted", request)
        """
        engine = await self.create_for_user(context)
        try:
            yield engine
        finally:
            self._release_now(engine)

    # ------------------------------------------------------------------ idle engines

    async def cleanup_idle(self) -> int:
        """Release engines idle for at least ``idle_timeout``; return how many were released."""
        now = self.clock.time()
        idle = [e for e in self._engines.values() if e.is_idle(now, self.idle_timeout)]
        count = sum(1 for engine in idle if self._release_now(engine))
        self._reaped += count
        return count

    def start_idle_reaper(self, interval: float) -> None:
        """Run :meth:`cleanup_idle` every ``interval`` loop seconds until stopped.

        Raises:
            ValueError: for a non-positive interval.
            RuntimeError: if a reaper already runs, or no loop is running.
        """
        if interval <= 0:
            raise ValueError(f"interval={interval!r} must be a positive number of seconds.")
        if self._reaper is not None and not self._reaper.done():
            raise RuntimeError("an idle reaper already runs; call stop_idle_reaper() first.")
        self._reaper = asyncio.get_running_loop().create_task(self._reap(interval))

    async def _reap(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await self.cleanup_idle()

    async def stop_idle_reaper(self) -> None:
        """Stop the idle reaper if one runs."""
        task, self._reaper = self._reaper, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])

    # ------------------------------------------------------------------ lifecycle and reports

    async def shutdown(self) -> None:
        """Stop the reaper, release every engine (faults included) and refuse new ones."""
        await self.stop_idle_reaper()
        self.closed = True
        for engine in list(self._engines.values()):
            self._release_now(engine, force=True)
        self._engines.clear()
        self._user_engines.clear()
        self._runs_in_flight.clear()
        if self._fault_state is not None:
            self._fault_state = FaultState(self.faults, self.history_limit)

    def engines(self) -> tuple[UserExecutionEngine, ...]:
        """The engines currently held, in creation order."""
        return tuple(self._engines.values())

    def engines_for(self, user_id: str) -> tuple[UserExecutionEngine, ...]:
        """The engines ``user_id`` currently holds."""
        keys = self._user_engines.get(user_id, {})
        return tuple(self._engines[key] for key in keys if key in self._engines)

    def metrics(self) -> FactoryMetrics:
        """Return the factory's counters as a frozen record."""
        return FactoryMetrics(
            engines_active=len(self._engines),
            users_active=len(self._user_engines),
            engines_created=self._created,
            engines_released=self._released,
            engines_rejected=self._rejected,
            engines_reaped=self._reaped,
            max_engines_per_user=self.max_engines_per_user,
            faults=self.faults.names,
        )

    def limits(self) -> dict[str, int]:
        """The limits this factory enforces."""
        return {
            "engines_per_user": self.max_engines_per_user,
            "turns_per_engine": self.max_concurrency_per_engine,
        }

    def shared_roots(self) -> dict[str, object]:
        """The infrastructure meant to be shared by every user (walk boundaries)."""
        return {
            "factory": self,
            "connections": self.connections,
            "agents": self.agents,
            "tools": self.tools,
            "clock": self.clock,
        }
