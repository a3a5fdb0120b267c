"""Two small correct chat backends, each with a hazard built into its design, and one bug each.

Written for the hazard tests, not from any other backend here: they share only the idea of a
user, a thread and a run.

- :class:`ThreadDesk` keeps threads per user: a user naming another user's thread id gets a new
  thread of its own with that id, so an ``intrusion`` is accepted but reaches nothing of the
  other user (a hazard: ownership is never checked). Bug ``global-threads``: threads are keyed by
  id alone, so the intruder works on the victim's thread and reads its history (a leak).
- :class:`EngineDesk` keeps one engine per user that serves all of the user's runs at once and
  remembers the last run it started in ``engine.context`` (a hazard: code that read it would run
  under the wrong run). Every tool gets its run's context explicitly. Bug ``stale-context``: the
  ``echo`` tool reads ``engine.context`` instead (a leak: a tool runs under another run).

Both deliver each event to every open tab of its user and forget a user's state when the user's
last tab closes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["DESIGNS", "EngineDesk", "Hub", "Refused", "RunContext", "ThreadDesk", "execute"]

#: Each design's one bug switch.
DESIGNS: Mapping[str, str] = {"threads": "global-threads", "engine": "stale-context"}

Message = dict[str, Any]
Receive = Callable[[Message], None]


class Refused(Exception):
    """The backend refuses a turn (the adapter reports it as ``rejected``)."""


@dataclass(frozen=True, slots=True)
class RunContext:
    """Who a run is for: one per run, never changed."""

    user_id: str
    thread_id: str
    run_id: str


class Hub:
    """Open tabs per user: every event of a user goes to each of its tabs."""

    def __init__(self) -> None:
        self._tabs: dict[str, list[Receive]] = {}

    def attach(self, user_id: str, receive: Receive) -> None:
        self._tabs.setdefault(user_id, []).append(receive)

    def detach(self, user_id: str, receive: Receive) -> bool:
        """Forget one tab; True when it was the user's last."""
        tabs = self._tabs.get(user_id, [])
        if receive in tabs:
            tabs.remove(receive)
        if tabs:
            return False
        self._tabs.pop(user_id, None)
        return True

    def send(self, context: RunContext, kind: str, payload: Mapping[str, Any]) -> None:
        message = {
            "type": kind,
            "run_id": context.run_id,
            "thread_id": context.thread_id,
            "user_id": context.user_id,
            "payload": dict(payload),
        }
        for receive in tuple(self._tabs.get(context.user_id, ())):
            receive(message)


def _tool(name: str, context: RunContext, params: Mapping[str, Any]) -> dict[str, Any]:
    if name == "echo":
        return {
            "user_id": context.user_id,
            "run_id": context.run_id,
            "thread_id": context.thread_id,
            "params": dict(params),
        }
    if name == "search":
        return {"query": params.get("query"), "hits": 3}
    if name == "calculator":
        a, b, op = float(params.get("a", 0)), float(params.get("b", 1)), params.get("op", "+")
        values = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else None}
        return {"value": values.get(str(op))}
    raise ValueError(str(params.get("reason", f"no tool {name!r}")))


async def execute(
    hub: Hub,
    context: RunContext,
    message: str,
    plan: tuple[Any, ...],
    *,
    tool_context: Callable[[], RunContext],
    history: list[str],
) -> dict[str, Any]:
    """Run a scripted plan; returns ``{"status", "result", "error"}``.

    ``tool_context`` gives the context a tool runs under; ``history`` is the thread's earlier
    messages, which the answer quotes back.
    """
    earlier = list(history)
    history.append(message)
    results: list[dict[str, Any]] = []
    hub.send(context, "agent_started", {"message": message})
    try:
        for step in plan:
            kind = type(step).__name__
            if kind == "Think":
                hub.send(context, "agent_thinking", {"text": step.text})
                await asyncio.sleep(0)
            elif kind == "Pause":
                await asyncio.sleep(step.seconds)
            elif kind == "CallTool":
                params = dict(step.params)
                hub.send(context, "tool_executing", {"name": step.name, "params": params})
                delay = params.get("delay", 0)
                await asyncio.sleep(delay if isinstance(delay, int | float) else 0)
                result, error = None, None
                try:
                    result = _tool(step.name, tool_context(), params)
                except ValueError as exc:
                    error = str(exc)
                entry = {"name": step.name, "params": params, "result": result, "error": error}
                results.append(entry)
                hub.send(
                    context,
                    "tool_completed",
                    {"name": step.name, "result": result, "error": error},
                )
            elif kind == "Fail":
                hub.send(context, "agent_error", {"error": step.reason})
                return {"status": "error", "result": None, "error": step.reason}
    except asyncio.CancelledError:
        hub.send(context, "agent_error", {"error": "cancelled"})
        raise
    result = {"response": "done", "earlier": earlier, "tool_results": results}
    hub.send(context, "agent_completed", {"result": result})
    return {"status": "completed", "result": result, "error": None}


# ----------------------------------------------------------------------------- threads per user


class Thread:
    """A conversation: its messages so far."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.history: list[str] = []


class ThreadTurn:
    """One run on a thread (the per-run engine of :class:`ThreadDesk`)."""

    def __init__(self, context: RunContext, thread: Thread) -> None:
        self.context = context
        self.thread = thread


class ThreadDesk:
    """Threads per user (``global-threads``: per id alone). Shared infrastructure."""

    def __init__(self, hub: Hub, *, global_threads: bool = False) -> None:
        self.hub = hub
        self.global_threads = global_threads
        # namespace (the user id, or "" when global) -> thread id -> thread
        self._threads: dict[str, dict[str, Thread]] = {}
        self._opened: dict[str, list[tuple[str, str]]] = {}  # user -> (namespace, thread id)

    def open_turn(self, user_id: str, thread_id: str, run_id: str) -> ThreadTurn:
        namespace = "" if self.global_threads else user_id
        threads = self._threads.setdefault(namespace, {})
        thread = threads.get(thread_id)
        if thread is None:
            thread = threads[thread_id] = Thread(thread_id)
            self._opened.setdefault(user_id, []).append((namespace, thread_id))
        return ThreadTurn(RunContext(user_id, thread_id, run_id), thread)

    async def run(self, turn: ThreadTurn, message: str, plan: tuple[Any, ...]) -> dict[str, Any]:
        context = turn.context
        return await execute(
            self.hub,
            context,
            message,
            plan,
            tool_context=lambda: context,
            history=turn.thread.history,
        )

    def forget(self, user_id: str) -> None:
        """The user's last tab closed: drop the threads it opened."""
        for namespace, thread_id in self._opened.pop(user_id, []):
            threads = self._threads.get(namespace, {})
            threads.pop(thread_id, None)
            if not threads:
                self._threads.pop(namespace, None)


# ----------------------------------------------------------------------------- one engine per user


class UserEngine:
    """All runs of one user; ``context`` is the last run started (kept after it ends)."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.context: RunContext | None = None
        self.running: dict[str, RunContext] = {}
        self.history: dict[str, list[str]] = {}  # thread id -> messages


class EngineDesk:
    """One engine per user, made on first use (``stale-context``: echo reads engine.context)."""

    def __init__(self, hub: Hub, *, stale_context: bool = False) -> None:
        self.hub = hub
        self.stale_context = stale_context
        self._engines: dict[str, UserEngine] = {}
        self._owners: dict[str, str] = {}  # thread id -> the user who opened it

    def engine_for(self, user_id: str) -> UserEngine:
        engine = self._engines.get(user_id)
        if engine is None:
            engine = self._engines[user_id] = UserEngine(user_id)
        return engine

    def check_thread(self, user_id: str, thread_id: str) -> None:
        owner = self._owners.setdefault(thread_id, user_id)
        if owner != user_id:
            raise Refused(f"thread_id={thread_id!r} is not one of yours")

    async def run(
        self, engine: UserEngine, context: RunContext, message: str, plan: tuple[Any, ...]
    ) -> dict[str, Any]:
        engine.context = context
        engine.running[context.run_id] = context

        def tool_context() -> RunContext:
            if self.stale_context and engine.context is not None:
                return engine.context
            return context

        try:
            history = engine.history.setdefault(context.thread_id, [])
            return await execute(
                self.hub, context, message, plan, tool_context=tool_context, history=history
            )
        finally:
            engine.running.pop(context.run_id, None)

    def forget(self, user_id: str) -> None:
        """The user's last tab closed: drop its engine and its threads."""
        self._engines.pop(user_id, None)
        for thread_id in [t for t, owner in self._owners.items() if owner == user_id]:
            del self._owners[thread_id]
