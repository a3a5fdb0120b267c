"""Agents: an immutable registry of agent classes and the scripted agent.

Agent *classes* live in an :class:`AgentRegistry` that cannot change after it is built and may be
shared; agent *instances* are created per turn by the engine, bound to that turn's context,
dispatcher and emitter. The :class:`ScriptedAgent` executes a plan (think, call tool, pause,
fail) instead of calling an LLM.
"""

from __future__ import annotations

import asyncio
import copy
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from .context import UserExecutionContext, validate_id
from .errors import AgentFailedError, InvalidRequestError, UnknownAgentError, did_you_mean
from .tools import Notifier, ToolDispatcher

__all__ = [
    "Agent",
    "AgentClass",
    "AgentRegistry",
    "AgentRequest",
    "ScriptedAgent",
    "STEP_KINDS",
    "default_agents",
]

#: Step kinds of a wire-format plan.
STEP_KINDS: tuple[str, ...] = ("think", "tool", "pause", "fail")


def _is_seconds(value: object) -> bool:
    # NaN, infinity or an int too large for a float would corrupt or overflow the loop's timers.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        seconds = float(value)
    except OverflowError:
        return False
    return math.isfinite(seconds) and seconds >= 0


def _check_step(index: int, step: object) -> dict[str, Any]:
    if not isinstance(step, Mapping):
        raise InvalidRequestError(
            f"plan[{index}]={step!r} is not a mapping; expected a step dict such as "
            "{'step': 'think', 'text': '...'}."
        )
    kind = step.get("step")
    if kind not in STEP_KINDS:
        raise InvalidRequestError(
            f"plan[{index}].step={kind!r} is not a step kind; expected one of "
            f"{', '.join(STEP_KINDS)}."
            + (did_you_mean(kind, STEP_KINDS) if isinstance(kind, str) else "")
        )
    if kind == "think" and not isinstance(step.get("text"), str):
        raise InvalidRequestError(f"plan[{index}].text={step.get('text')!r} must be a string.")
    if kind == "tool":
        if not isinstance(step.get("name"), str):
            raise InvalidRequestError(f"plan[{index}].name={step.get('name')!r} must be a string.")
        if not isinstance(step.get("params", {}), Mapping):
            raise InvalidRequestError(
                f"plan[{index}].params={step.get('params')!r} must be a mapping."
            )
    if kind == "pause":
        seconds = step.get("seconds")
        if not _is_seconds(seconds):
            raise InvalidRequestError(
                f"plan[{index}].seconds={str(seconds)[:40]} must be a finite number of "
                "seconds >= 0."
            )
    if kind == "fail" and not isinstance(step.get("reason", ""), str):
        raise InvalidRequestError(f"plan[{index}].reason={step.get('reason')!r} must be a string.")
    return copy.deepcopy(dict(step))


@dataclass(frozen=True, slots=True)
class AgentRequest:
    """One chat turn as the backend receives it. ``plan`` holds wire-format step dicts.

    Raises:
        InvalidContextError: for an invalid id.
        InvalidRequestError: for a malformed message or plan step.
    """

    user_id: str
    thread_id: str
    run_id: str
    message: str
    #: Step dicts; stored as a tuple of read-only mappings.
    plan: Sequence[Mapping[str, Any]] = field(default=())

    def __post_init__(self) -> None:
        validate_id("user_id", self.user_id)
        validate_id("thread_id", self.thread_id)
        validate_id("run_id", self.run_id)
        if not isinstance(self.message, str):
            raise InvalidRequestError(f"message={self.message!r} must be a string.")
        if isinstance(self.plan, str | bytes | Mapping) or not isinstance(self.plan, Iterable):
            raise InvalidRequestError(f"plan={self.plan!r} must be a list of step dicts.")
        steps = tuple(
            MappingProxyType(_check_step(index, step)) for index, step in enumerate(self.plan)
        )
        object.__setattr__(self, "plan", steps)


class Agent(Protocol):
    """What the engine needs from an agent instance."""

    async def run(self, request: AgentRequest) -> dict[str, Any]: ...


class AgentClass(Protocol):
    """An agent class: called with the turn's context, dispatcher and emitter."""

    def __call__(
        self, context: UserExecutionContext, dispatcher: ToolDispatcher, emitter: Notifier
    ) -> Agent: ...


class ScriptedAgent:
    """Executes a request's plan step by step; no LLM.

    ``think`` emits ``agent_thinking``; ``tool`` calls the dispatcher (a tool error is recorded
    and the turn goes on); ``pause`` sleeps on the loop; ``fail`` raises
    :class:`AgentFailedError`, which the engine turns into ``agent_error``.
    """

    def __init__(
        self, context: UserExecutionContext, dispatcher: ToolDispatcher, emitter: Notifier
    ) -> None:
        self.bind(context, dispatcher, emitter)

    def bind(
        self, context: UserExecutionContext, dispatcher: ToolDispatcher, emitter: Notifier
    ) -> None:
        """Set the context, dispatcher and emitter this agent works with."""
        self.context = context
        self.dispatcher = dispatcher
        self.emitter = emitter
        self.user_id = context.user_id
        self.run_id = context.run_id

    async def run(self, request: AgentRequest) -> dict[str, Any]:
        """Execute the plan; return ``{"response", "tool_results"}``.

        Raises:
            AgentFailedError: at a ``fail`` step, carrying the tool results so far.
        """
        tool_results: list[dict[str, Any]] = []
        for step in request.plan:
            kind = step["step"]
            if kind == "think":
                # Read the bound fields at every step (not once): a shared instance would show
                # the last writer's context here, which is exactly what the fault reproduces.
                await self.emitter.emit(
                    "agent_thinking",
                    run_id=self.context.run_id,
                    thread_id=self.context.thread_id,
                    payload={"text": step["text"]},
                )
            elif kind == "tool":
                tool_results.append(
                    await self.dispatcher.execute(step["name"], step.get("params", {}))
                )
            elif kind == "pause":
                await asyncio.sleep(step["seconds"])
            else:
                raise AgentFailedError(step.get("reason", "agent failed"), tool_results)
        return {
            "response": f"Done with {len(request.plan)} steps: {request.message}",
            "tool_results": tool_results,
        }


class AgentRegistry:
    """Agent classes by name, immutable after construction (safe to share)."""

    __slots__ = ("_classes",)

    def __init__(self, classes: Mapping[str, AgentClass]) -> None:
        self._classes: Mapping[str, AgentClass] = MappingProxyType(dict(classes))

    def names(self) -> tuple[str, ...]:
        """Registered agent names in registration order."""
        return tuple(self._classes)

    def get(self, name: str) -> AgentClass:
        """The class registered as ``name``.

        Raises:
            UnknownAgentError: naming the known agents.
        """
        try:
            return self._classes[name]
        except KeyError:
            raise UnknownAgentError(
                f"agent_name={name!r} is not registered; known agents: "
                f"{', '.join(self._classes)}." + did_you_mean(name, self._classes)
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._classes


def default_agents() -> AgentRegistry:
    """A registry with ``"scripted"`` -> :class:`ScriptedAgent`."""
    return AgentRegistry({"scripted": ScriptedAgent})
