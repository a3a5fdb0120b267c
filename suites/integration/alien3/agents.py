"""Agents of the Switchyard platform: the class-level kind registry, hooks, working memory.

An :class:`Agent` executes one job's scripted plan. Subclasses register themselves by
``kind`` in a class-level directory (read-only in the correct build: a ``MappingProxyType``
over the module's table). Tool lifecycle events go through :class:`LifecycleHooks`; each job
builds a :class:`WorkingMemory` (prompt lines from the catalog, upstream tokens, step notes:
a few hundred small objects per turn).

Bugs here: ``shared-agent`` (the orchestrator keeps one agent per kind and re-binds it for
every job: its user fields are overwritten while another job of it awaits) and
``lost-lifecycle`` (the agent gets :class:`CompactHooks`, whose methods were renamed, and the
``AttributeError`` of the old call is swallowed as "optional hook missing").
"""

from __future__ import annotations

import asyncio
import contextlib
import types
from collections.abc import Mapping
from typing import Any, ClassVar

from .catalog import Catalog, PromptFragment
from .models import JobResult, PlanStep, ToolReceipt
from .relay import Outlet
from .telemetry import LOG
from .toolkit import Identity, Toolkit
from .upstream import Upstream

__all__ = [
    "Agent",
    "CompactHooks",
    "Fragment",
    "LifecycleHooks",
    "PromptLine",
    "ResearchAgent",
    "ScriptedAgent",
    "WorkingMemory",
    "agent_kinds",
]

_KINDS: dict[str, type[Agent]] = {}  # harness: shared-ok filled at import, read-only after


def agent_kinds() -> Mapping[str, type[Agent]]:
    """Every registered agent class by kind (read-only)."""
    return Agent.directory


# ----------------------------------------------------------------------------- memory


class Fragment:
    """One token the upstream model produced, with where it came from."""

    __slots__ = ("position", "source", "text")

    def __init__(self, text: str, source: str, position: int) -> None:
        self.text = text
        self.source = source
        self.position = position


class PromptLine:
    """One line of a job's prompt: a catalog fragment rendered for the job's user."""

    __slots__ = ("fragment", "rendered")

    def __init__(self, fragment: PromptFragment, rendered: str) -> None:
        self.fragment = fragment
        self.rendered = rendered


class WorkingMemory:
    """What one job knows while it runs: prompt, history, tokens, notes."""

    def __init__(self) -> None:
        self.prompt: list[PromptLine] = []
        self.history: list[tuple[str, str]] = []
        self.fragments: list[Fragment] = []
        self.notes: list[str] = []

    def absorb(self, tokens: tuple[str, ...], source: str) -> None:
        start = len(self.fragments)
        self.fragments.extend(Fragment(t, source, start + i) for i, t in enumerate(tokens))

    def summary(self, words: int = 12) -> str:
        return " ".join(f.text for f in self.fragments[:words])

    def size(self) -> int:
        return len(self.prompt) + len(self.history) + len(self.fragments) + len(self.notes)


# ----------------------------------------------------------------------------- hooks


class LifecycleHooks:
    """Sends a tool's lifecycle events through the job's outlet."""

    def on_tool_start(self, outlet: Outlet, name: str, params: Mapping[str, Any]) -> None:
        outlet.send("tool_executing", {"name": name, "params": dict(params)})

    def on_tool_end(self, outlet: Outlet, receipt: ToolReceipt) -> None:
        outlet.send(
            "tool_completed",
            {"name": receipt.name, "result": receipt.result, "error": receipt.error},
        )


class CompactHooks:
    """The hooks' newer interface (bug ``lost-lifecycle``): methods renamed, callers not."""

    def tool_started(self, outlet: Outlet, name: str, params: Mapping[str, Any]) -> None:
        outlet.send("tool_executing", {"name": name, "params": dict(params)})

    def tool_finished(self, outlet: Outlet, receipt: ToolReceipt) -> None:
        outlet.send(
            "tool_completed",
            {"name": receipt.name, "result": receipt.result, "error": receipt.error},
        )


# ----------------------------------------------------------------------------- agents


class Agent:
    """Runs one job's plan. Bound to one job (identity, outlet, memory) before it runs."""

    kind: ClassVar[str] = ""
    #: Every agent class by kind; read-only, filled as subclasses are defined.
    directory: ClassVar[Mapping[str, type[Agent]]] = types.MappingProxyType(_KINDS)
    #: Tokens asked of the model for the opening and for each think step.
    OPENING_TOKENS: ClassVar[int] = 64
    THINK_TOKENS: ClassVar[int] = 48

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.kind:
            _KINDS[cls.kind] = cls

    def __init__(self, toolkit: Toolkit, upstream: Upstream, catalog: Catalog, hooks: Any) -> None:
        self.toolkit = toolkit
        self.upstream = upstream
        self.catalog = catalog
        self.hooks = hooks
        self.model = catalog.model_for(self.kind).name
        self.user_id = ""
        self.thread_id = ""
        self.run_id = ""
        self.email = ""
        self.outlet: Outlet | None = None
        self.memory: WorkingMemory | None = None
        self.receipts: list[ToolReceipt] = []

    def bind(self, identity: Identity, email: str, outlet: Outlet, memory: WorkingMemory) -> None:
        """Take on a job: who it runs for, where its events go, what it remembers."""
        self.user_id, self.thread_id, self.run_id = (
            identity.user_id,
            identity.thread_id,
            identity.run_id,
        )
        self.email = email
        self.outlet = outlet
        self.memory = memory
        self.receipts = []

    def identity(self) -> Identity:
        """Who this agent runs for now (tools ask when they execute)."""
        return Identity(self.user_id, self.thread_id, self.run_id)

    def _send(self, kind: str, payload: Mapping[str, Any]) -> None:
        assert self.outlet is not None, "agent not bound"
        self.outlet.send(kind, payload)

    def _memory(self) -> WorkingMemory:
        assert self.memory is not None, "agent not bound"
        return self.memory

    async def _ask_model(self, prompt: str, tokens: int, source: str) -> None:
        completion = await self.upstream.complete(self.model, prompt, tokens)
        self._memory().absorb(completion.tokens, source)

    def _notify(self, method: str, *args: Any) -> None:
        """Call an optional lifecycle hook: "a missing hook must never break a turn"."""
        with contextlib.suppress(AttributeError):
            getattr(self.hooks, method)(self.outlet, *args)
            return
        LOG.debug("lifecycle hook %s is not available", method)

    async def run(self, content: str, plan: tuple[PlanStep, ...]) -> JobResult:
        """Execute ``plan``; the terminal event is the caller's to send."""
        memory = self._memory()
        self._send("agent_started", {"message": content, "agent": self.kind})
        prompt = "\n".join(line.rendered for line in memory.prompt)
        await self._ask_model(f"{prompt}\n{content}", self.OPENING_TOKENS, "opening")
        for step in plan:
            if step.step == "think":
                memory.notes.append(step.text)
                self._send("agent_thinking", {"text": step.text})
                await self._ask_model(step.text, self.THINK_TOKENS, "think")
            elif step.step == "pause":
                await asyncio.sleep(step.seconds)
            elif step.step == "tool":
                await self._call_tool(step.name, step.params)
            elif step.step == "fail":
                return JobResult(status="error", error=step.reason)
        return JobResult(
            status="completed", response=memory.summary(), receipts=tuple(self.receipts)
        )

    async def _call_tool(self, name: str, params: Mapping[str, Any]) -> None:
        self._notify("on_tool_start", name, params)
        receipt = await self.toolkit.run(name, params, self.identity)
        self.receipts.append(receipt)
        self._notify("on_tool_end", receipt)


class ScriptedAgent(Agent):
    """The default agent: follows the plan as written."""

    kind = "scripted"


class ResearchAgent(Agent):
    """An agent that reads more of the model per step (longer openings)."""

    kind = "research"
    OPENING_TOKENS = 128
