"""The harness adapter (a Target) for the real-I/O backend of :mod:`backend`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.model import CallTool, Event, Fail, Pause, SimUser, Think, Turn, TurnOutcome
from harness.targets import event_from_message
from suites.integration.realio.backend import (
    BUGS,
    Services,
    TurnContext,
    current_context,
    enter_context,
    reset_module_state,
)
from suites.integration.realio.upstream import Upstream

__all__ = ["RealIOTab", "RealIOTarget"]

#: Concurrent turns per user.
ENGINES_PER_USER = 2


class Engine:
    """One turn's live state: the user's own objects, walked as roots."""

    def __init__(self, context: TurnContext) -> None:
        self.context = context
        self.tool_results: list[dict[str, Any]] = []


class RealIOTab:
    """One connection of one user."""

    def __init__(self, target: RealIOTarget, user: SimUser, number: int) -> None:
        self.user = user
        self.profile: str | None = None
        self.cookie = ""
        #: Key-value commands left to complete in the background.
        self.background: set[asyncio.Future[Any]] = set()
        self._target = target
        self._connection_id = f"tab-{number:04d}"
        self._events: list[Event] = []
        self._live: dict[str, Engine] = {}

    def _emit(self, event_type: str, context: TurnContext, payload: Mapping[str, Any]) -> None:
        """Send one event to every open tab of the turn's user."""
        message = {
            "type": event_type,
            "run_id": context.run_id,
            "thread_id": context.thread_id,
            "user_id": context.user_id,
            "payload": dict(payload),
        }
        for tab in sorted(self._target.tabs, key=lambda tab: tab._connection_id):
            if tab.user.user_id == self.user.user_id:
                tab._receive(message)

    def _receive(self, message: Mapping[str, Any]) -> None:
        self._events.append(
            event_from_message(
                message,
                seq=len(self._events),
                connection_id=self._connection_id,
                t=asyncio.get_running_loop().time(),
            )
        )

    async def run_turn(self, turn: Turn) -> TurnOutcome:
        target = self._target
        owner = target.thread_owners.setdefault(turn.thread_id, self.user.user_id)
        if owner != self.user.user_id:
            return TurnOutcome(
                run_id=turn.run_id, status="rejected", error="the thread belongs to another user"
            )
        if target.running[self.user.user_id] >= ENGINES_PER_USER:
            return TurnOutcome(
                run_id=turn.run_id, status="rejected", error="too many turns running"
            )
        target.running[self.user.user_id] += 1
        try:
            return await self._run(turn)
        finally:
            target.running[self.user.user_id] -= 1
            self._live.pop(turn.run_id, None)

    async def _run(self, turn: Turn) -> TurnOutcome:
        services, bugs = self._target.services, self._target.bugs
        context = TurnContext(self.user.user_id, turn.run_id, turn.thread_id)
        engine = self._live[turn.run_id] = Engine(context)
        enter_context(context, bugs)
        self._emit("agent_started", context, {"message": turn.message})
        canary = self.user.canaries[0]
        caller = await services.whoami(self, self.user.user_id)
        await services.login_job(self.user.user_id)
        session = await services.session_record(self, context, canary)
        error: str | None = None
        for step in turn.plan:
            if isinstance(step, Think):
                self._emit("agent_thinking", context, {"text": step.text})
            elif isinstance(step, Pause):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, CallTool):
                await self._tool(engine, context, step)
            elif isinstance(step, Fail):
                error = step.reason
                break
        greeting = await services.greeting(self.user.user_id)
        result = {
            "tool_results": engine.tool_results,
            "caller": caller,
            "session": session,
            "greeting": greeting,
            "profile": self.profile,
        }
        if error is not None:
            self._emit("agent_error", context, {"error": error})
            return TurnOutcome(run_id=turn.run_id, status="error", result=result, error=error)
        self._emit("agent_completed", context, {"result": {"greeting": greeting}})
        return TurnOutcome(run_id=turn.run_id, status="completed", result=result)

    async def _tool(self, engine: Engine, context: TurnContext, step: CallTool) -> None:
        params = dict(step.params)
        self._emit("tool_executing", context, {"name": step.name, "params": params})
        delay = params.get("delay")
        if isinstance(delay, int | float):
            await asyncio.sleep(delay)
        result: Any = None
        error: str | None = None
        if step.name == "echo":
            seen = current_context(self._target.bugs)  # as the code running the tool sees it
            result = {
                "user_id": seen.user_id,
                "run_id": seen.run_id,
                "thread_id": seen.thread_id,
                "params": params,
            }
        elif step.name == "search":
            result = {"query": params.get("query"), "hits": []}
        elif step.name == "calculator":
            result = {"value": 0}
        else:
            error = f"tool {step.name!r} failed: {params.get('reason', 'unknown tool')}"
        entry = {"name": step.name, "params": params, "result": result, "error": error}
        engine.tool_results.append(entry)
        self._emit("tool_completed", context, {"name": step.name, "result": result, "error": error})

    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def roots(self) -> Mapping[str, object]:
        return {f"engine[{run_id}]": engine for run_id, engine in self._live.items()}

    async def close(self) -> None:
        await asyncio.gather(*self.background, return_exceptions=True)
        self._live.clear()
        self._target.tabs.discard(self)


class RealIOTarget:
    """The real-I/O backend as a harness Target, with zero or more bugs of :data:`BUGS` on.

    ``kv_port`` is the port of a running RESP server (:mod:`resp_server`); the HTTP upstream
    runs on the harness's loop, started and stopped with the target.
    """

    capabilities = frozenset({"scripted_plan", "tools", "live_roots"})

    def __init__(self, kv_port: int, bugs: Iterable[str] = ()) -> None:
        chosen = frozenset(bugs)
        assert chosen <= BUGS, f"unknown bugs {sorted(chosen - BUGS)}"
        self.bugs = chosen
        self.name = "realio" + (f"[{','.join(sorted(chosen))}]" if chosen else "")
        self.kv_port = kv_port
        self.running: dict[str, int] = {}
        self.tabs: set[RealIOTab] = set()
        #: Who opened each thread (a database in a real deployment).
        self.thread_owners: dict[str, str] = {}
        self._services: Services | None = None
        self._upstream: Upstream | None = None
        self._tab_count = 0

    @property
    def services(self) -> Services:
        assert self._services is not None, "not started"
        return self._services

    async def start(self) -> None:
        reset_module_state()
        self._upstream = Upstream()
        await self._upstream.start()
        self._services = Services(self.kv_port, self._upstream.url, self.bugs)
        await self._services.start()

    async def stop(self) -> None:
        if self._services is not None:
            await self._services.stop()
            self._services = None
        if self._upstream is not None:
            await self._upstream.stop()
            self._upstream = None
        self.running.clear()
        self.thread_owners.clear()

    async def open_session(self, user: SimUser) -> RealIOTab:
        self._tab_count += 1
        self.running.setdefault(user.user_id, 0)
        tab = RealIOTab(self, user, self._tab_count)
        self.tabs.add(tab)
        return tab

    def shared_roots(self) -> Mapping[str, object]:
        return {"services": self.services}

    def adapter_objects(self) -> tuple[object, ...]:
        return (self.running, self.tabs, self.thread_owners)

    def limits(self) -> dict[str, int]:
        return {"engines_per_user": ENGINES_PER_USER}
