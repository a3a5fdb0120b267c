"""``UserExecutionEngine``: everything one user's request needs, owned by that user alone.

An engine is built by the factory for one
:class:`~harness_backend.context.UserExecutionContext`. It owns
its execution registry, tool dispatcher, event emitter and concurrency limit, and refuses any
request for another user. Agent instances are created per turn and kept in ``agents_in_flight``
only while their turn runs.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass
from typing import Any

from .agents import AgentRegistry, AgentRequest
from .clock import Clock, LoopClock
from .context import UserExecutionContext
from .emitter import UserEventEmitter
from .errors import (
    AgentFailedError,
    EngineClosedError,
    InvalidRequestError,
    UserMismatchError,
)
from .execution_registry import AgentExecutionRegistry
from .faults import EngineFaults
from .tools import Notifier, ToolDispatcher, ToolRegistry

__all__ = ["EngineStatistics", "UserExecutionEngine"]


@dataclass(frozen=True, slots=True)
class EngineStatistics:
    """Counters of one engine."""

    engine_id: str
    user_id: str
    active_turns: int
    turns_completed: int
    turns_failed: int
    max_concurrency: int
    closed: bool


class UserExecutionEngine:
    """Runs agent turns for one user.

    Args:
        context: the user's context; every request must be for ``context.user_id``.
        agents: the shared agent registry.
        tools: the shared tool registry.
        emitter: the user's event emitter.
        execution_registry: this engine's own registry of runs.
        max_concurrency: how many turns may run at once; more wait.
        clock: time source (default: the running loop's clock). Build the engine inside a
            running loop when using the default.
        engine_id: the key the factory knows this engine by.
        fault_hooks: only for fault reproductions; None for the correct backend.
    """

    def __init__(
        self,
        context: UserExecutionContext,
        agents: AgentRegistry,
        tools: ToolRegistry,
        emitter: UserEventEmitter,
        execution_registry: AgentExecutionRegistry,
        *,
        max_concurrency: int = 2,
        clock: Clock | None = None,
        engine_id: str | None = None,
        fault_hooks: EngineFaults | None = None,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency={max_concurrency!r} must be at least 1.")
        self.context = context
        self.agents = agents
        self.tools = tools
        self.emitter = emitter
        self.execution_registry = execution_registry
        self.max_concurrency = max_concurrency
        self.clock: Clock = clock if clock is not None else LoopClock()
        self.engine_id = engine_id if engine_id is not None else f"engine:{context.run_id}"
        self._faults = fault_hooks
        self.tool_dispatcher = ToolDispatcher(context, tools, self._tool_notifier(emitter))
        #: run_id -> the agent instance executing that run, only while the turn runs.
        self.agents_in_flight: dict[str, Any] = {}
        self.active_turns = 0
        self.closed = False
        self.created_at = self.clock.time()
        self.last_active = self.created_at
        self._slots = asyncio.Semaphore(max_concurrency)
        self._completed = 0
        self._failed = 0
        #: False only for the ``shared-engine`` fault's singleton, which has no owner.
        self.verify_user = True

    def _tool_notifier(self, emitter: Notifier) -> Notifier:
        return emitter if self._faults is None else self._faults.tool_notifier(emitter)

    def rebind(self, context: UserExecutionContext, emitter: UserEventEmitter) -> None:
        """Point the engine at another context and emitter (only the ``shared-engine`` fault)."""
        self.context = context
        self.emitter = emitter
        self.tool_dispatcher = ToolDispatcher(context, self.tools, self._tool_notifier(emitter))

    def _turn_context(self, request: AgentRequest) -> UserExecutionContext:
        context = self.context
        if request.run_id == context.run_id and request.thread_id == context.thread_id:
            return context
        return UserExecutionContext(
            user_id=context.user_id,
            thread_id=request.thread_id,
            run_id=request.run_id,
            metadata=context.metadata,
        )

    async def execute_agent(self, agent_name: str, request: AgentRequest) -> dict[str, Any]:
        """Run one turn of ``agent_name`` for ``request``.

        Emits ``agent_started``, the agent's events, then exactly one of ``agent_completed`` /
        ``agent_error``. Returns ``{"status": "completed"|"error", "result": {"response",
        "tool_results"}, "error": text|None}``.

        Raises:
            UserMismatchError: the request is for another user; nothing is emitted.
            EngineClosedError: the engine was released.
            UnknownAgentError: no agent is registered as ``agent_name``.
            DuplicateRunError: ``request.run_id`` is already running here.
        """
        if not isinstance(request, AgentRequest):
            raise InvalidRequestError(
                f"request={request!r} ({type(request).__name__}) is not an AgentRequest; "
                "build one with AgentRequest(user_id, thread_id, run_id, message, plan)."
            )
        if self.verify_user and request.user_id != self.context.user_id:
            raise UserMismatchError(
                f"request.user_id={request.user_id!r} differs from this engine's "
                f"user_id={self.context.user_id!r}; engines serve one user. "
                "Create an engine for the request's own user."
            )
        agent_class = self.agents.get(agent_name)
        async with self._slots:
            if self.closed:
                raise EngineClosedError(
                    f"engine_id={self.engine_id!r} was released; create a new engine with "
                    "create_for_user for each scope."
                )
            return await self._run_turn(agent_name, agent_class, request)

    async def _run_turn(
        self, agent_name: str, agent_class: Any, request: AgentRequest
    ) -> dict[str, Any]:
        context = self._turn_context(request)
        emitter: Notifier = self.emitter
        dispatcher = self.tool_dispatcher
        if context is not self.context:
            dispatcher = dispatcher.for_context(context)
        if self._faults is not None:
            emitter = self._faults.turn_emitter(self.emitter, agent_name)
            if emitter is not self.emitter:
                dispatcher = ToolDispatcher(context, self.tools, self._tool_notifier(emitter))
        run_id, thread_id = context.run_id, context.thread_id
        self.execution_registry.start(
            run_id=run_id,
            user_id=context.user_id,
            thread_id=thread_id,
            agent=agent_name,
            message=request.message,
            now=self.clock.time(),
        )
        self.active_turns += 1
        status = "cancelled"
        try:
            if self._faults is not None:
                agent = self._faults.agent_for(
                    agent_name, agent_class, context, dispatcher, emitter
                )
            else:
                agent = agent_class(context, dispatcher, emitter)
            self.agents_in_flight[run_id] = agent
            await emitter.emit(
                "agent_started",
                run_id=run_id,
                thread_id=thread_id,
                payload={"agent": agent_name, "message": request.message},
            )
            error: str | None = None
            try:
                result = await agent.run(request)
            except AgentFailedError as exc:
                error = exc.reason
                result = {"response": None, "tool_results": exc.tool_results}
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                result = {"response": None, "tool_results": []}
            status = "completed" if error is None else "error"
            if error is None:
                self._completed += 1
                payload: dict[str, Any] = {"result": copy.deepcopy(result)}
                await emitter.emit(
                    "agent_completed", run_id=run_id, thread_id=thread_id, payload=payload
                )
            else:
                self._failed += 1
                await emitter.emit(
                    "agent_error", run_id=run_id, thread_id=thread_id, payload={"error": error}
                )
            return {"status": status, "result": result, "error": error}
        finally:
            self.agents_in_flight.pop(run_id, None)
            self.execution_registry.finish(run_id, status, self.clock.time())
            self.active_turns -= 1
            self.last_active = self.clock.time()

    def close(self) -> None:
        """Mark the engine released and drop its runs (the factory calls this on release)."""
        self.closed = True
        shared = (
            self._faults is not None and self._faults.shared_registry is self.execution_registry
        )
        if not shared:
            self.execution_registry.clear()

    def is_idle(self, now: float, idle_timeout: float) -> bool:
        """True if no turn runs and the last activity is at least ``idle_timeout`` ago."""
        return self.active_turns == 0 and now - self.last_active >= idle_timeout

    def statistics(self) -> EngineStatistics:
        """Return this engine's counters as a frozen record."""
        return EngineStatistics(
            engine_id=self.engine_id,
            user_id=self.context.user_id,
            active_turns=self.active_turns,
            turns_completed=self._completed,
            turns_failed=self._failed,
            max_concurrency=self.max_concurrency,
            closed=self.closed,
        )

    def __repr__(self) -> str:
        return (
            f"UserExecutionEngine(engine_id={self.engine_id!r}, user_id={self.context.user_id!r})"
        )
