"""An "alien" multi-tenant agent backend, written without looking at ``harness_backend/``.

Its own vocabulary: a :class:`Pipeline` (the factory) hands out one :class:`Runner` per turn, the
runner owns a :class:`Workspace` (who and what the turn is about) and an :class:`Outbox` (events
out), tools live in a shared read-only :class:`ToolBox`, and a :class:`Hub` routes events to the
connections (``Link``) of a user. Tools read the acting workspace from a ``ContextVar``.

Every bug is one switch, off by default, named in :data:`BUGS`; each is a shape found in real
codebases (caches keyed without the user, a module-level "current request", a shared
``contextvars.Context``, reply-to-last-sender routing, a notifier defaulting to ``None``, state
shared through closures, class-level mutable defaults, registries that never forget, a
check-then-await limit, a "safety net" terminal event, profiles keyed by e-mail domain, and a
zoo of shared containers). Nothing here imports ``backend`` or the harness.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import hashlib
import types
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from suites.integration.alien.scratch import (
    SCRATCH_KINDS,
    Writer,
    closure_memo,
    note_with_default,
)

__all__ = [
    "BUGS",
    "Hub",
    "Link",
    "Outbox",
    "Pipeline",
    "Refused",
    "Runner",
    "ToolBox",
    "Workspace",
    "reset_module_state",
]

#: Bug switches. Each names one isolation bug; none is on by default.
BUGS: frozenset[str] = frozenset(
    {
        "result-cache",  # module dict of tool results keyed by params only
        "answer-lru",  # functools.lru_cache on an answer that reads the ambient user
        "current-request",  # a module-level "current request" singleton
        "shared-context",  # every run executes in one contextvars.Context
        "reply-to-last",  # the hub replies to the connection that spoke last
        "null-notifier",  # the runner forgets to pass the tool notifier (defaults to None)
        "closure-memo",  # runners share a dict through a closure
        "default-arg",  # runners share a function whose mutable default argument is the memo
        "class-default",  # Outbox.sent is a class-level list
        "dataclass-default",  # a dataclass field defaults to one shared object
        "never-forget",  # the pipeline keeps every runner it made
        "module-registry",  # a module-level list keeps every runner it saw
        "racy-limit",  # limit checked, then an await, then counted
        "finally-terminal",  # a finally block always sends agent_completed
        "domain-profile",  # profiles cached by e-mail domain
        "any-thread",  # the gateway never checks who owns the thread a turn names
        "shared-scratch",  # one scratch holder (see SCRATCH_KINDS) for every runner
        "deferred-notify",  # tool_completed is sent fire-and-forget (loop.call_soon)
    }
)


class Refused(Exception):
    """The pipeline refused a new runner (per-user limit)."""


# ----------------------------------------------------------------------------- ambient state

#: The workspace of the run executing the current task (tools read it).
ACTING: contextvars.ContextVar[Workspace] = contextvars.ContextVar("acting_workspace")


class _RequestSlot:
    """A module-level "current request" as some web frameworks keep one (bug current-request)."""

    def __init__(self) -> None:
        self.user_id = ""
        self.run_id = ""
        self.thread_id = ""


CURRENT_REQUEST = _RequestSlot()
_RESULT_CACHE: dict[str, dict[str, Any]] = {}
_RUNNER_LOG: list[Runner] = []


@functools.lru_cache(maxsize=256)
def _cached_answer(question: str) -> str:
    return _compose_answer(question)


def _compose_answer(question: str) -> str:
    workspace = ACTING.get()
    return f"Answer to {question!r}, prepared for {workspace.email}"


def reset_module_state() -> None:
    """Forget every module-level cache (test hygiene between runs of one process)."""
    _RESULT_CACHE.clear()
    _RUNNER_LOG.clear()
    (_seen,) = note_with_default.__defaults__ or ({},)
    _seen.clear()
    LeakyOutbox.sent.clear()
    _cached_answer.cache_clear()
    CURRENT_REQUEST.__init__()  # type: ignore[misc]


# ----------------------------------------------------------------------------- per-turn objects


class Workspace:
    """Who a turn runs for and what it is about."""

    def __init__(self, user_id: str, thread_id: str, run_id: str, email: str) -> None:
        self.user_id = user_id
        self.thread_id = thread_id
        self.run_id = run_id
        self.email = email
        self.notes: list[str] = []


class Notebook:
    """Free-form notes a run takes (kept per run)."""

    def __init__(self) -> None:
        self.lines: list[str] = []


@dataclasses.dataclass
class RunStats:
    """Per-run counters; ``book`` must be per instance."""

    steps: int = 0
    book: Notebook = dataclasses.field(default_factory=Notebook)


@dataclasses.dataclass
class LeakyRunStats:
    """The same record with the classic bug: one Notebook instance as the default."""

    steps: int = 0
    book: Notebook = Notebook()  # noqa: RUF009 - the bug under test


@dataclasses.dataclass
class Profile:
    """What the pipeline knows of a user: personalization for their runs."""

    user_id: str
    email: str
    preferences: dict[str, str] = dataclasses.field(default_factory=dict)


class Deliver(Protocol):
    def __call__(self, user_id: str, message: dict[str, Any]) -> None: ...


class Outbox:
    """A run's outgoing events: stamps ids from the workspace and hands them to the hub."""

    def __init__(self, workspace: Workspace, hub: Hub) -> None:
        self.workspace = workspace
        self.hub = hub
        self.closed = False
        self.sent: list[str] = []

    def post(self, kind: str, payload: Mapping[str, Any]) -> None:
        ws = self.workspace
        message = {
            "type": kind,
            "run_id": ws.run_id,
            "thread_id": ws.thread_id,
            "user_id": ws.user_id,
            "payload": dict(payload),
        }
        self.sent.append(kind)
        if kind in ("agent_completed", "agent_error"):
            self.closed = True
        self.hub.route(ws.user_id, message)


class LeakyOutbox(Outbox):
    """Outbox whose log is a class attribute: ``__init__`` never makes its own (class-default)."""

    sent: list[str] = []  # noqa: RUF012 - the bug under test

    def __init__(self, workspace: Workspace, hub: Hub) -> None:
        self.workspace = workspace
        self.hub = hub
        self.closed = False

    def post(self, kind: str, payload: Mapping[str, Any]) -> None:
        super().post(kind, payload)
        self.sent.append(f"{self.workspace.run_id}:{kind}")


# ----------------------------------------------------------------------------- routing


class Link:
    """One open connection of one user, as the hub knows it."""

    __slots__ = ("receive", "user_id")

    def __init__(self, user_id: str, receive: Callable[[dict[str, Any]], None]) -> None:
        self.user_id = user_id
        self.receive = receive


class Hub:
    """Routes events to the links of a user (shared infrastructure)."""

    def __init__(self, bugs: frozenset[str]) -> None:
        self._bugs = bugs
        self._links: dict[str, list[Link]] = {}
        self._last_speaker: Link | None = None

    def attach(self, link: Link) -> None:
        self._links.setdefault(link.user_id, []).append(link)

    def detach(self, link: Link) -> None:
        links = self._links.get(link.user_id, [])
        if link in links:
            links.remove(link)
        if not links:
            self._links.pop(link.user_id, None)
        if self._last_speaker is link:
            self._last_speaker = None

    def has(self, user_id: str) -> bool:
        return bool(self._links.get(user_id))

    def heard_from(self, link: Link) -> None:
        """A message arrived on ``link``."""
        self._last_speaker = link

    def route(self, user_id: str, message: dict[str, Any]) -> None:
        if "reply-to-last" in self._bugs and self._last_speaker is not None:
            self._last_speaker.receive(message)
            return
        for link in tuple(self._links.get(user_id, ())):
            link.receive(message)


# ----------------------------------------------------------------------------- tools


class Notify(Protocol):
    def __call__(self, kind: str, payload: Mapping[str, Any]) -> None: ...


ToolFn = Callable[[Workspace, Mapping[str, Any]], dict[str, Any]]


class ToolError(Exception):
    pass


def _tool_echo(ws: Workspace, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "user_id": ws.user_id,
        "run_id": ws.run_id,
        "thread_id": ws.thread_id,
        "params": dict(params),
    }


def _tool_search(ws: Workspace, params: Mapping[str, Any]) -> dict[str, Any]:
    query = params.get("query")
    if not isinstance(query, str) or not query:
        raise ToolError(f"query={query!r} must be a non-empty string")
    digest = hashlib.sha1(query.encode()).hexdigest()
    # Personalized ranking: the hits are ordered for the account asking.
    return {"query": query, "hits": [digest[:8], digest[8:16]], "ranked_for": ws.user_id}


def _tool_calculator(ws: Workspace, params: Mapping[str, Any]) -> dict[str, Any]:
    a, b, op = params.get("a"), params.get("b"), params.get("op", "+")
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        raise ToolError("a and b must be numbers")
    table: dict[str, Callable[[float, float], float]] = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: x / y if y else float("nan"),
    }
    if op not in table:
        raise ToolError(f"op={op!r} unknown")
    return {"value": table[op](float(a), float(b)), "for": ws.user_id}


def _tool_fail(ws: Workspace, params: Mapping[str, Any]) -> dict[str, Any]:
    raise ToolError(str(params.get("reason", "tool failed")))


class ToolBox:
    """The tools, read-only and shared by every runner."""

    def __init__(self, bugs: frozenset[str]) -> None:
        self._bugs = bugs
        self._tools: Mapping[str, ToolFn] = types.MappingProxyType(
            {
                "echo": _tool_echo,
                "search": _tool_search,
                "calculator": _tool_calculator,
                "fail": _tool_fail,
            }
        )

    @property
    def catalog(self) -> Mapping[str, ToolFn]:
        """The tool table, read-only."""
        return self._tools

    def _acting(self) -> Workspace:
        if "current-request" in self._bugs:
            slot = CURRENT_REQUEST
            return Workspace(slot.user_id, slot.thread_id, slot.run_id, "")
        return ACTING.get()

    async def invoke(
        self, name: str, params: Mapping[str, Any], notify: Notify | None = None
    ) -> dict[str, Any]:
        if notify is not None:
            notify("tool_executing", {"name": name, "params": dict(params)})
        result: dict[str, Any] | None = None
        error: str | None = None
        delay = params.get("delay", 0)
        if isinstance(delay, int | float) and delay > 0:
            await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)
        tool = self._tools.get(name)
        try:
            if tool is None:
                raise ToolError(f"no tool {name!r}")
            ws = self._acting()
            key = f"{name}:{sorted(params.items())!r}"
            if "result-cache" in self._bugs and name == "search" and key in _RESULT_CACHE:
                result = _RESULT_CACHE[key]
            else:
                result = tool(ws, params)
                if "result-cache" in self._bugs and name == "search":
                    _RESULT_CACHE[key] = result
        except ToolError as exc:
            error = str(exc)
        if notify is not None:
            done = {"name": name, "result": result, "error": error}
            if "deferred-notify" in self._bugs:
                asyncio.get_running_loop().call_soon(notify, "tool_completed", done)
            else:
                notify("tool_completed", done)
        return {"name": name, "params": dict(params), "result": result, "error": error}


# ----------------------------------------------------------------------------- the engine


class Runner:
    """Runs one turn's plan for one user."""

    #: A class-level lookup table, read-only: shared by every runner, and harmless.
    STEP_KINDS: Mapping[str, str] = types.MappingProxyType(
        {"Think": "agent_thinking", "CallTool": "tool_executing", "Fail": "agent_error"}
    )

    def __init__(
        self,
        workspace: Workspace,
        outbox: Outbox,
        toolbox: ToolBox,
        bugs: frozenset[str],
        *,
        profile: Profile,
        scratch: object,
        write: Writer,
        memo: Callable[[str, str], None],
    ) -> None:
        self.workspace = workspace
        self.outbox = outbox
        self.toolbox = toolbox
        self.tools = toolbox.catalog  # a read-only view of the shared table: harmless
        self.profile = profile
        self.scratch = scratch
        self.memo = memo
        self._write = write
        self._bugs = bugs
        self.stats: RunStats | LeakyRunStats = (
            LeakyRunStats() if "dataclass-default" in bugs else RunStats()
        )

    async def run(self, message: str, plan: tuple[Any, ...]) -> dict[str, Any]:
        """Execute ``plan``: returns ``{"status", "result", "error"}``."""
        ws = self.workspace
        token = ACTING.set(ws)
        if "current-request" in self._bugs:
            CURRENT_REQUEST.user_id, CURRENT_REQUEST.run_id = ws.user_id, ws.run_id
            CURRENT_REQUEST.thread_id = ws.thread_id
        post = self.outbox.post
        notify: Notify | None = None if "null-notifier" in self._bugs else post
        results: list[dict[str, Any]] = []
        try:
            post("agent_started", {"message": message})
            self.memo(ws.run_id, message)
            self._write(self.scratch, ws.run_id, message)
            for step in plan:
                self.stats.steps += 1
                kind = type(step).__name__
                if kind == "Think":
                    ws.notes.append(step.text)
                    self.stats.book.lines.append(step.text)
                    post("agent_thinking", {"text": step.text})
                    await asyncio.sleep(0)
                elif kind == "Pause":
                    await asyncio.sleep(step.seconds)
                elif kind == "CallTool":
                    results.append(await self.toolbox.invoke(step.name, step.params, notify))
                elif kind == "Fail":
                    post("agent_error", {"error": step.reason})
                    return {"status": "error", "result": None, "error": step.reason}
            question = message.split(" (ref ")[0]
            answer = (
                _cached_answer(question)
                if "answer-lru" in self._bugs
                else _compose_answer(question)
            )
            result = {"response": answer, "tool_results": results}
            post("agent_completed", {"result": result})
            return {"status": "completed", "result": result, "error": None}
        finally:
            if "finally-terminal" in self._bugs:
                post("agent_completed", {"result": None})  # "make sure the client stops waiting"
            elif not self.outbox.closed:
                post("agent_error", {"error": "run aborted"})
            ACTING.reset(token)


class Pipeline:
    """Makes runners, enforces the per-user limit, keeps profiles (shared infrastructure)."""

    def __init__(
        self, hub: Hub, bugs: frozenset[str], *, per_user: int = 2, scratch: str = "defaultdict"
    ) -> None:
        self.hub = hub
        self.toolbox = ToolBox(bugs)
        self.per_user = per_user
        self._bugs = bugs
        self._scratch_kind = scratch
        self._active: dict[str, int] = {}
        self._profiles: dict[str, Profile] = {}
        self._made: list[Runner] = []
        self._memo = closure_memo()
        make, _write = SCRATCH_KINDS[scratch]
        self._shared_scratch = make() if "shared-scratch" in bugs else None
        # One context for every run: "cheaper than copying a context per run" (shared-context).
        self._context = contextvars.copy_context()

    def _profile_key(self, user_id: str, email: str) -> str:
        return email.rpartition("@")[2] if "domain-profile" in self._bugs else user_id

    def profile_for(self, user_id: str, email: str) -> Profile:
        key = self._profile_key(user_id, email)
        profile = self._profiles.get(key)
        if profile is None:
            profile = self._profiles[key] = Profile(user_id, email, {"tone": "brief"})
        return profile

    def forget_profile(self, user_id: str, email: str) -> None:
        self._profiles.pop(self._profile_key(user_id, email), None)

    async def open_runner(self, user_id: str, email: str, thread_id: str, run_id: str) -> Runner:
        if "racy-limit" in self._bugs:
            if self._active.get(user_id, 0) >= self.per_user:
                raise Refused(f"{user_id} already runs {self.per_user} turns")
            await asyncio.sleep(0.001)  # load the user's tool settings
            self._active[user_id] = self._active.get(user_id, 0) + 1
        else:
            if self._active.get(user_id, 0) >= self.per_user:
                raise Refused(f"{user_id} already runs {self.per_user} turns")
            self._active[user_id] = self._active.get(user_id, 0) + 1
            await asyncio.sleep(0.001)
        workspace = Workspace(user_id, thread_id, run_id, email)
        outbox_type = LeakyOutbox if "class-default" in self._bugs else Outbox
        make, write = SCRATCH_KINDS[self._scratch_kind]
        scratch = self._shared_scratch if self._shared_scratch is not None else make()
        runner = Runner(
            workspace,
            outbox_type(workspace, self.hub),
            self.toolbox,
            self._bugs,
            profile=self.profile_for(user_id, email),
            scratch=scratch,
            write=write,
            memo=self._memo_for_runner(),
        )
        if "never-forget" in self._bugs:
            self._made.append(runner)
        if "module-registry" in self._bugs:
            _RUNNER_LOG.append(runner)
        return runner

    def _memo_for_runner(self) -> Callable[[str, str], None]:
        if "closure-memo" in self._bugs:
            return self._memo
        if "default-arg" in self._bugs:
            return note_with_default
        return closure_memo()

    async def execute(self, runner: Runner, message: str, plan: tuple[Any, ...]) -> dict[str, Any]:
        if "shared-context" in self._bugs:
            loop = asyncio.get_running_loop()
            return await loop.create_task(runner.run(message, plan), context=self._context)
        return await runner.run(message, plan)

    def release(self, runner: Runner) -> None:
        user_id = runner.workspace.user_id
        left = self._active.get(user_id, 0) - 1
        if left > 0:
            self._active[user_id] = left
        else:
            self._active.pop(user_id, None)
