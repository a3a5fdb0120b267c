"""tiny_factory: a small factory-pattern agent backend, written for the kit's tests.

It knows nothing of the harness: a :class:`Factory` makes one :class:`Engine` per turn, bound to
a :class:`Context` (user, thread, run) and to the user's :class:`Workspace` (shared by that
user's concurrent turns, whichever tab started them). Each engine has its own
:class:`AgentRegistry`, which hands out an :class:`Agent` bound to that context, and a
:class:`ToolDispatcher` that runs tools under the context the agent is bound to. Events go
out through the notifier the factory was given, by thread. The factory refuses more than
``engines_per_user`` engines at once.

The classic bug is one line away: in :meth:`AgentRegistry.agent_for`, hand out the module's
``_ASSISTANT`` instead of a new :class:`Agent` (the end-to-end test makes that edit).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["Agent", "AgentRegistry", "Context", "Engine", "Factory", "LimitReached", "Workspace"]


class LimitReached(Exception):
    """The user already has as many engines as the factory allows."""


class Notifier(Protocol):
    def send_to_thread(self, thread_id: str, message: Mapping[str, Any]) -> int: ...


class Context:
    """Who a turn runs for."""

    def __init__(self, user_id: str, thread_id: str, run_id: str) -> None:
        self.user_id = user_id
        self.thread_id = thread_id
        self.run_id = run_id


class Agent:
    """An assistant bound to one context at a time, with a memory of what it was asked."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.context: Context | None = None
        self.memory: list[str] = []

    def bind(self, context: Context) -> None:
        self.context = context

    async def use_tool(self, dispatcher: ToolDispatcher, name: str, params: dict[str, Any]) -> Any:
        assert self.context is not None, "agent not bound"
        self.memory.append(f"{name} {params}")
        return await dispatcher.execute(self.context, name, params)


_ASSISTANT = Agent("assistant")  # a default agent, kept for the command line demo


class AgentRegistry:
    """The agents of one engine."""

    def __init__(self) -> None:
        self.agents: dict[str, Agent] = {}

    def agent_for(self, context: Context) -> Agent:
        agent = Agent("assistant")
        agent.bind(context)
        self.agents[agent.name] = agent
        return agent


class ToolError(Exception):
    """A tool refused its params or failed on purpose."""


class ToolDispatcher:
    """Runs the backend's tools under a context."""

    async def execute(self, context: Context, name: str, params: dict[str, Any]) -> Any:
        delay = params.get("delay", 0)
        if delay:
            await asyncio.sleep(float(delay))
        if name == "echo":
            ids = {"user_id": context.user_id, "run_id": context.run_id}
            return {**ids, "thread_id": context.thread_id, "params": dict(params)}
        if name == "search":
            return {"query": params.get("query"), "hits": [f"{params.get('query')} (1)"]}
        if name == "calculator":
            return {"value": float(params.get("a", 0)) + float(params.get("b", 0))}
        if name == "fail":
            raise ToolError(str(params.get("reason", "tool failed")))
        raise ToolError(f"unknown tool {name!r}")


class Workspace:
    """What one user's concurrent turns share, whichever tab started them: their runs."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.runs: list[str] = []


class Engine:
    """One turn's engine: its context, agent registry, dispatcher and notifier."""

    def __init__(self, context: Context, workspace: Workspace, notifier: Notifier) -> None:
        self.context = context
        self.workspace = workspace
        workspace.runs.append(context.run_id)
        self.registry = AgentRegistry()
        self.dispatcher = ToolDispatcher()
        self.agent = self.registry.agent_for(context)
        self._notifier = notifier

    def emit(self, kind: str, payload: Mapping[str, Any]) -> None:
        context = self.context
        message: dict[str, Any] = {"type": kind, "payload": dict(payload)}
        message.update(run_id=context.run_id, thread_id=context.thread_id, user_id=context.user_id)
        self._notifier.send_to_thread(context.thread_id, message)

    async def call_tool(self, name: str, params: Mapping[str, Any]) -> Any:
        return await self.agent.use_tool(self.dispatcher, name, dict(params))


class Factory:
    """Makes engines, at most ``engines_per_user`` at once per user."""

    def __init__(self, notifier: Notifier, *, engines_per_user: int = 2) -> None:
        self.notifier = notifier
        self.engines_per_user = engines_per_user
        self._active: dict[str, int] = {}
        self._workspaces: dict[str, Workspace] = {}  # while the user has an engine

    def create_engine(self, user_id: str, thread_id: str, run_id: str) -> Engine:
        if self._active.get(user_id, 0) >= self.engines_per_user:
            raise LimitReached(f"at most {self.engines_per_user} engines at once per user")
        self._active[user_id] = self._active.get(user_id, 0) + 1
        workspace = self._workspaces.setdefault(user_id, Workspace(user_id))
        return Engine(Context(user_id, thread_id, run_id), workspace, self.notifier)

    def release(self, engine: Engine) -> None:
        user_id = engine.context.user_id
        self._active[user_id] -= 1
        engine.workspace.runs.remove(engine.context.run_id)
        if not self._active[user_id]:
            del self._active[user_id], self._workspaces[user_id]
