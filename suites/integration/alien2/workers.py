"""The second alien backend, part 1: scopes, tools, workers and the worker pool.

Written against the contract only (no import of ``backend`` or of the first alien backend). A
:class:`Ticket` is one chat turn; the :class:`Broker` (in :mod:`broker`) takes a
:class:`Worker` from a :class:`Pool`, binds it to the ticket's :class:`Scope` and a copy of the
module's config template, and the worker runs the ticket's scripted plan, calling tools through
child scopes (one per tool call).

Every bug is one switch, off by default, named in :data:`BUGS` (shared with :mod:`broker`).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import functools
import hashlib
import logging
import threading
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

__all__ = [
    "BUGS",
    "CONFIG_TEMPLATE",
    "Emit",
    "Pool",
    "Prefs",
    "Scope",
    "Ticket",
    "Worker",
    "reset_module_state",
]

#: Bug switches of the whole backend. None is on by default.
BUGS: frozenset[str] = frozenset(
    {
        "dirty-pool",  # a worker goes back to the pool without reset
        "shallow-config",  # copy.copy of the config template: its nested memory is shared
        "default-parent",  # a tool's child scope inherits from the process default scope
        "prompt-cache",  # functools.cache keyed by Prefs whose equality ignores the e-mail
        "task-registry",  # scopes registered by id(task) with setdefault, never removed
        "thread-local",  # the acting scope kept in a threading.local (one thread, many tasks)
        "swallow-fail",  # a Fail step ends the turn with agent_completed
        "quiet-thinking",  # Think steps emit nothing
        "audit-handler",  # a logging.Handler at module level keeps every formatted message
        "audit-adapter",  # a LoggerAdapter on the broker whose `extra` tracks the last user
        "queue-recipient",  # the dispatcher routes by the last poster, not by the message
        "focus-thread",  # events stamped with the broker's last submitted thread
        "replay-any-owner",  # a new connection is caught up on a thread without an owner check
        "replay-all",  # a new connection is caught up on every active thread
        "weak-meta",  # WeakKeyDictionary whose values reference their keys
        "per-channel-limit",  # the per-user limit counted per connection
    }
)

# ----------------------------------------------------------------------------- module state

#: What every worker starts from. Read-only by convention: workers get a copy.
CONFIG_TEMPLATE: dict[str, Any] = {
    "model": "scripted-1",
    "temperature": 0.0,
    "memory": {"notes": [], "limit": 32},
    "tools": ["echo", "search", "calculator", "fail"],
}

#: The process-wide default scope: the first scope ever opened becomes it (bug default-parent).
_DEFAULT_SCOPE: list[Scope] = []
#: Scopes by id(asyncio task) of the worker task running them.
_SCOPES_BY_TASK: dict[int, Scope] = {}
#: "Request-local" storage as a threaded server would keep it (bug thread-local).
_LOCAL = threading.local()

_log = logging.getLogger("alien2.workers")
_log.propagate = False
_log.setLevel(logging.INFO)


class _AuditHandler(logging.Handler):
    """Keeps the formatted audit lines in memory, for a support page (bug audit-handler)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


_AUDIT = _AuditHandler()


def reset_module_state() -> None:
    """Forget every module-level cache (hygiene between runs in one process)."""
    _DEFAULT_SCOPE.clear()
    _SCOPES_BY_TASK.clear()
    vars(_LOCAL).clear()
    _AUDIT.lines.clear()
    _log.removeHandler(_AUDIT)
    CONFIG_TEMPLATE["memory"]["notes"].clear()
    Worker.system_prompt.cache_clear()
    _prompt_template.cache_clear()


def install_audit(on: bool) -> None:
    if on:
        _log.addHandler(_AUDIT)
    else:
        _log.removeHandler(_AUDIT)


# ----------------------------------------------------------------------------- scopes


class Scope:
    """Who and what a piece of code runs for; unset names are looked up in the parent."""

    def __init__(
        self,
        *,
        user_id: str | None = None,
        thread_id: str | None = None,
        run_id: str | None = None,
        email: str | None = None,
        parent: Scope | None = None,
    ) -> None:
        self.values: dict[str, str] = {}
        for name, value in (
            ("user_id", user_id),
            ("thread_id", thread_id),
            ("run_id", run_id),
            ("email", email),
        ):
            if value is not None:
                self.values[name] = value
        self.parent = parent

    def get(self, name: str) -> str:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.values:
                return scope.values[name]
            scope = scope.parent
        return ""

    def child(self, run_id: str, bugs: frozenset[str]) -> Scope:
        """A scope for one tool call of this scope's run."""
        if "default-parent" in bugs and _DEFAULT_SCOPE:
            return Scope(run_id=run_id, parent=_DEFAULT_SCOPE[0])
        return Scope(run_id=run_id, parent=self)


@dataclasses.dataclass(frozen=True, slots=True)
class Ticket:
    """One chat turn as the broker takes it."""

    user_id: str
    email: str
    thread_id: str
    run_id: str
    message: str
    plan: tuple[Any, ...]


@dataclasses.dataclass(frozen=True)
class Prefs:
    """Prompt preferences; ``email`` personalizes but is not part of equality (bug prompt-cache)."""

    locale: str
    tone: str
    email: str = dataclasses.field(compare=False)


@functools.cache
def _prompt_template(locale: str, tone: str) -> str:
    return f"[{locale}/{tone}] You are a {tone} assistant for {{email}}."


# ----------------------------------------------------------------------------- tools


class ToolError(Exception):
    pass


def _echo(scope: Scope, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "user_id": scope.get("user_id"),
        "run_id": scope.get("run_id"),
        "thread_id": scope.get("thread_id"),
        "params": dict(params),
    }


def _search(scope: Scope, params: Mapping[str, Any]) -> dict[str, Any]:
    query = params.get("query")
    if not isinstance(query, str) or not query:
        raise ToolError("query must be a non-empty string")
    digest = hashlib.blake2s(query.encode(), digest_size=6).hexdigest()
    return {"query": query, "hits": [digest[:6], digest[6:]]}


def _calculator(scope: Scope, params: Mapping[str, Any]) -> dict[str, Any]:
    a, b, op = params.get("a"), params.get("b"), params.get("op", "+")
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        raise ToolError("a and b must be numbers")
    ops: dict[str, Callable[[float, float], float]] = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: x / y if y else float("nan"),
    }
    if op not in ops:
        raise ToolError(f"unknown op {op!r}")
    return {"value": ops[op](float(a), float(b))}


def _fail(scope: Scope, params: Mapping[str, Any]) -> dict[str, Any]:
    raise ToolError(str(params.get("reason", "tool failed")))


TOOLS: Mapping[str, Callable[[Scope, Mapping[str, Any]], dict[str, Any]]] = {
    "echo": _echo,
    "search": _search,
    "calculator": _calculator,
    "fail": _fail,
}

# ----------------------------------------------------------------------------- workers

Emit = Callable[[str, Mapping[str, Any]], Awaitable[None]]


class Worker:
    """Runs tickets; pooled, so it must be reset between tickets."""

    def __init__(self, number: int, bugs: frozenset[str]) -> None:
        self.number = number
        self._bugs = bugs
        self.scope: Scope | None = None
        self.config: dict[str, Any] = {}
        self.transcript: list[str] = []
        self.results: list[dict[str, Any]] = []

    @staticmethod
    @functools.cache
    def system_prompt(prefs: Prefs) -> str:
        """The full system prompt (bug prompt-cache: cached by a key blind to the e-mail)."""
        return _prompt_template(prefs.locale, prefs.tone).format(email=prefs.email)

    def bind(self, scope: Scope) -> None:
        self.scope = scope
        if "shallow-config" in self._bugs:
            self.config = copy.copy(CONFIG_TEMPLATE)
        else:
            self.config = copy.deepcopy(CONFIG_TEMPLATE)
        if "dirty-pool" not in self._bugs:
            self.transcript = []
            self.results = []

    def reset(self) -> None:
        if "dirty-pool" in self._bugs:
            return
        self.scope = None
        self.config = {}
        self.transcript = []
        self.results = []

    def _prompt(self, scope: Scope) -> str:
        prefs = Prefs("en", "brief", scope.get("email"))
        if "prompt-cache" in self._bugs:
            return Worker.system_prompt(prefs)
        return _prompt_template(prefs.locale, prefs.tone).format(email=prefs.email)

    def _acting_scope(self, scope: Scope) -> Scope:
        """The scope tools run under, found through the registry of the running task."""
        if "thread-local" in self._bugs:
            _LOCAL.scope = scope
            return scope
        task = asyncio.current_task()
        key = id(task)
        if "task-registry" in self._bugs:
            return _SCOPES_BY_TASK.setdefault(key, scope)
        _SCOPES_BY_TASK[key] = scope
        return scope

    async def run(self, ticket: Ticket, emit: Emit) -> dict[str, Any]:
        """Run the ticket's plan; returns ``{status, result, error}``."""
        scope = self.scope
        assert scope is not None, "worker not bound"
        acting = self._acting_scope(scope)
        try:
            return await self._steps(ticket, acting, emit)
        except asyncio.CancelledError:
            await emit("agent_error", {"error": "cancelled"})
            raise
        finally:
            if "task-registry" not in self._bugs:
                _SCOPES_BY_TASK.pop(id(asyncio.current_task()), None)

    async def _steps(self, ticket: Ticket, scope: Scope, emit: Emit) -> dict[str, Any]:
        self.transcript.append(f"{ticket.run_id}: {ticket.message}")
        self.config["memory"]["notes"].append(ticket.message)
        _log.info("run %s for %s: %s", ticket.run_id, ticket.email, ticket.message)
        await emit("agent_started", {"message": ticket.message, "system": self._prompt(scope)})
        for step in ticket.plan:
            kind = type(step).__name__
            if kind == "Think":
                self.transcript.append(step.text)
                if "quiet-thinking" not in self._bugs:
                    await emit("agent_thinking", {"text": step.text})
            elif kind == "Pause":
                await asyncio.sleep(step.seconds)
            elif kind == "CallTool":
                await self._call(step.name, dict(step.params), scope, emit)
            elif kind == "Fail":
                if "swallow-fail" in self._bugs:
                    self.transcript.append(f"gave up: {step.reason}")
                    break
                await emit("agent_error", {"error": step.reason})
                return {"status": "error", "result": None, "error": step.reason}
        result = {"response": f"done ({len(self.results)} tools)", "tool_results": self.results}
        await emit("agent_completed", {"result": result})
        return {"status": "completed", "result": result, "error": None}

    async def _call(self, name: str, params: dict[str, Any], scope: Scope, emit: Emit) -> None:
        await emit("tool_executing", {"name": name, "params": dict(params)})
        delay = params.get("delay", 0)
        await asyncio.sleep(delay if isinstance(delay, int | float) and delay > 0 else 0)
        if "thread-local" in self._bugs:
            scope = _LOCAL.scope  # "the current request", read after an await
        child = scope.child(scope.get("run_id"), self._bugs)
        result: dict[str, Any] | None = None
        error: str | None = None
        tool = TOOLS.get(name)
        try:
            if tool is None:
                raise ToolError(f"no tool {name!r}")
            result = tool(child, params)
        except ToolError as exc:
            error = str(exc)
        self.results.append({"name": name, "params": params, "result": result, "error": error})
        await emit("tool_completed", {"name": name, "result": result, "error": error})


class Pool:
    """Idle workers, handed out one ticket at a time (shared infrastructure)."""

    def __init__(self, bugs: frozenset[str], size: int = 4) -> None:
        self._bugs = bugs
        self._made = 0
        self.idle: list[Worker] = [self._make() for _ in range(size)]

    def _make(self) -> Worker:
        self._made += 1
        return Worker(self._made, self._bugs)

    def acquire(self, scope: Scope) -> Worker:
        worker = self.idle.pop() if self.idle else self._make()
        worker.bind(scope)
        if "default-parent" in self._bugs and not _DEFAULT_SCOPE:
            _DEFAULT_SCOPE.append(scope)  # "the root scope": the first one opened
        return worker

    def release(self, worker: Worker) -> None:
        worker.reset()
        self.idle.append(worker)
