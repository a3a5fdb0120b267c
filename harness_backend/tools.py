"""Tools: immutable definitions in a shared registry, and a per-user dispatcher.

A :class:`ToolRegistry` maps names to :class:`ToolDefinition` records and cannot change after it
is built, so one registry may serve every user. A :class:`ToolDispatcher` is per user: it runs
tools under that user's context and reports ``tool_executing``/``tool_completed`` through that
user's emitter. It cannot be built without a notifier.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import inspect
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from .connections import DeliveryReport
from .context import UserExecutionContext
from .errors import MissingNotifierError, ToolError, did_you_mean

__all__ = [
    "Notifier",
    "ToolDefinition",
    "ToolDispatcher",
    "ToolHandler",
    "ToolRegistry",
    "default_tools",
]

ToolHandler = Callable[
    [UserExecutionContext, Mapping[str, Any]], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"
]


class Notifier(Protocol):
    """What a dispatcher reports through: a ``UserEventEmitter`` or something shaped like it."""

    async def emit(
        self, event_type: str, *, run_id: str, thread_id: str, payload: Mapping[str, Any]
    ) -> DeliveryReport: ...


@dataclass(frozen=True, slots=True)
class ToolDefinition:
    """A named tool. ``handler(context, params)`` returns a dict (or an awaitable of one)."""

    name: str
    description: str
    handler: ToolHandler


class ToolRegistry:
    """Tool definitions by name, immutable after construction (safe to share).

    Raises:
        ValueError: for two definitions with the same name.
    """

    __slots__ = ("_tools",)

    def __init__(self, definitions: Iterable[ToolDefinition]) -> None:
        tools: dict[str, ToolDefinition] = {}
        for definition in definitions:
            if definition.name in tools:
                raise ValueError(
                    f"name={definition.name!r} is defined twice; tool names must be unique."
                )
            tools[definition.name] = definition
        self._tools: Mapping[str, ToolDefinition] = MappingProxyType(tools)

    @property
    def tools(self) -> Mapping[str, ToolDefinition]:
        """Read-only view of the definitions."""
        return self._tools

    def names(self) -> tuple[str, ...]:
        """Tool names in definition order."""
        return tuple(self._tools)

    def get(self, name: str) -> ToolDefinition | None:
        """The definition named ``name``, or None."""
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)


class ToolDispatcher:
    """Runs tools for one user's context and reports each through the user's notifier.

    Args:
        context: the context every tool executes under.
        registry: the shared tool registry.
        notifier: the user's emitter; ``None`` is refused.

    Raises:
        MissingNotifierError: (a ``ValueError``) when ``notifier`` is None.
    """

    def __init__(
        self, context: UserExecutionContext, registry: ToolRegistry, notifier: Notifier
    ) -> None:
        if notifier is None:
            raise MissingNotifierError(
                "notifier=None: a ToolDispatcher needs the user's event emitter, or tool events "
                "would vanish silently. Pass the engine's UserEventEmitter."
            )
        self.context = context
        self.registry = registry
        self.notifier = notifier

    def for_context(self, context: UserExecutionContext) -> ToolDispatcher:
        """A dispatcher with the same registry and notifier, executing under ``context``."""
        return ToolDispatcher(context, self.registry, self.notifier)

    async def execute(self, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Emit ``tool_executing``, run the tool, emit ``tool_completed``; return the result.

        Returns ``{"name", "params", "result", "error"}``. A failing or unknown tool gives an
        ``error`` text and ``result`` None; it does not raise.
        """
        context = self.context
        arguments = copy.deepcopy(dict(params or {}))
        await self.notifier.emit(
            "tool_executing",
            run_id=context.run_id,
            thread_id=context.thread_id,
            payload={"name": name, "params": copy.deepcopy(arguments)},
        )
        result: dict[str, Any] | None = None
        error: str | None = None
        definition = self.registry.get(name)
        if definition is None:
            error = (
                f"unknown tool name={name!r}; known tools: {', '.join(self.registry.names())}."
                + did_you_mean(name, self.registry.names())
            )
        else:
            try:
                result = await self._run(definition, context, arguments)
            except ToolError as exc:
                error = str(exc)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
        await self.notifier.emit(
            "tool_completed",
            run_id=context.run_id,
            thread_id=context.thread_id,
            payload={"name": name, "result": copy.deepcopy(result), "error": error},
        )
        return {"name": name, "params": arguments, "result": result, "error": error}

    @staticmethod
    async def _run(
        definition: ToolDefinition, context: UserExecutionContext, params: dict[str, Any]
    ) -> dict[str, Any]:
        delay = params.get("delay", 0)
        # NaN, infinity or an int too large for a float would corrupt the loop's timer heap,
        # sleep forever or overflow.
        if not _is_seconds(delay):
            raise ToolError(f"delay={str(delay)[:40]} is not a finite number of seconds >= 0.")
        if delay:
            await asyncio.sleep(delay)
        outcome = definition.handler(context, copy.deepcopy(params))
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return dict(outcome)


def _is_seconds(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        seconds = float(value)
    except OverflowError:
        return False
    return math.isfinite(seconds) and seconds >= 0


# --------------------------------------------------------------------------- built-in tools


def _echo(context: UserExecutionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    # The ids come from the context the dispatcher executes under, never from the caller: that is
    # how a context swapped mid-run becomes visible.
    return {
        "user_id": context.user_id,
        "run_id": context.run_id,
        "thread_id": context.thread_id,
        "params": dict(params),
    }


def _search(context: UserExecutionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    query = params.get("query")
    if not isinstance(query, str) or not query:
        raise ToolError(f"query={query!r} must be a non-empty string.")
    digest = hashlib.sha256(query.encode()).hexdigest()
    hits = [
        {"title": f"{query} ({index + 1})", "id": digest[index * 8 : index * 8 + 8]}
        for index in range(3)
    ]
    return {"query": query, "hits": hits}


_OPERATIONS: Mapping[str, Callable[[float, float], float]] = MappingProxyType(
    {
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
    }
)


def _calculator(context: UserExecutionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    a, b, op = params.get("a"), params.get("b"), params.get("op", "+")
    for label, value in (("a", a), ("b", b)):
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ToolError(f"{label}={value!r} is not a number.")
    operation = _OPERATIONS.get(op) if isinstance(op, str) else None
    if operation is None:
        raise ToolError(f"op={op!r} is not one of {', '.join(_OPERATIONS)}.")
    if op == "/" and b == 0:
        raise ToolError("b=0 with op='/': division by zero.")
    return {"a": a, "b": b, "op": op, "value": operation(a, b)}  # type: ignore[arg-type]


def _fail(context: UserExecutionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    raise ToolError(str(params.get("reason", "tool failed")))


def default_tools() -> ToolRegistry:
    """A registry of the built-in tools: ``echo``, ``search``, ``calculator``, ``fail``."""
    return ToolRegistry(
        [
            ToolDefinition("echo", "Return the executing context's ids and the params.", _echo),
            ToolDefinition(
                "search", "Deterministic fake search results for params.query.", _search
            ),
            ToolDefinition("calculator", "Compute params.a <op> params.b.", _calculator),
            ToolDefinition("fail", "Always fail with params.reason.", _fail),
        ]
    )
