"""Executing a turn's plan for a backend whose agents can be scripted.

:func:`run_plan` walks the plan (think, tool, pause, fail) and does what the contract asks of
a scripted agent: it emits the events through the *backend's* emitter (so routing stays the
backend's), runs each tool through the *backend's* tool code, and builds the outcome by keyword
with ``tool_results`` in plan order, on errors too. :func:`standard_tool` gives the four tools
the built-in scenarios call (``echo``, ``search``, ``calculator``, ``fail``, each honouring
``delay``) for a backend that has no such tools of its own: it runs them under whatever context
object the backend hands it, and ``echo`` reports that context's ids, never the caller's, which
is how a context swapped mid-run shows.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from harness.kit._outcomes import completed, errored
from harness.model import CallTool, Fail, Pause, Think, Turn, TurnOutcome

__all__ = ["Emit", "ToolCall", "ToolFailed", "echo_result", "run_plan", "standard_tool"]

#: The backend's emitter: ``emit(event_type, payload)``, plain or async.
Emit = Callable[[str, Mapping[str, Any]], Awaitable[object] | object]
#: The backend's tool code: ``call_tool(name, params)`` returns the result mapping or raises.
ToolCall = Callable[[str, Mapping[str, Any]], Awaitable[Mapping[str, Any]] | Mapping[str, Any]]


class ToolFailed(Exception):
    """A tool refused or failed; its message becomes the tool's ``error`` in ``tool_results``.

    Raised by :func:`standard_tool` for the ``fail`` tool and for bad params; any other
    exception of a backend's tool code is recorded the same way, with its type name.
    """


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _read(context: object, name: str) -> Any:
    if isinstance(context, Mapping):
        return context.get(name)
    return getattr(context, name, None)


def echo_result(context: object, params: Mapping[str, Any]) -> dict[str, Any]:
    """What ``echo`` returns: the ids of the context the tool ran under, and its params.

    Args:
        context: the backend's execution context (attributes or keys ``user_id``, ``run_id``,
            ``thread_id``), as the backend's tool code sees it.
        params: the params the tool received.

    Example:
        >>> echo_result({"user_id": "usr_1", "run_id": "run_1", "thread_id": "t"}, {})["user_id"]
        'usr_1'
    """
    return {
        "user_id": _read(context, "user_id"),
        "run_id": _read(context, "run_id"),
        "thread_id": _read(context, "thread_id"),
        "params": dict(params),
    }


async def standard_tool(name: str, params: Mapping[str, Any], context: object) -> dict[str, Any]:
    """Run one of the scenarios' tools under ``context``, after ``params["delay"]`` seconds.

    Args:
        name: ``echo``, ``search``, ``calculator`` or ``fail``.
        params: the tool's params as the plan gives them.
        context: the backend's execution context the tool runs under.

    Raises:
        ToolFailed: the ``fail`` tool, an unknown tool name or bad params.

    Example:
        >>> asyncio.run(standard_tool("calculator", {"a": 2, "b": 3, "op": "*"}, {}))["value"]
        6
    """
    delay = params.get("delay", 0)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
        raise ToolFailed(f"delay={delay!r} is not a number of seconds >= 0.")
    if delay:
        await asyncio.sleep(delay)
    if name == "echo":
        return echo_result(context, params)
    if name == "search":
        query = params.get("query")
        if not isinstance(query, str) or not query:
            raise ToolFailed(f"query={query!r} must be a non-empty string.")
        digest = hashlib.sha256(query.encode()).hexdigest()
        return {"query": query, "hits": [{"title": query, "id": digest[:8]}]}
    if name == "calculator":
        a, b, op = params.get("a"), params.get("b"), params.get("op", "+")
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b)):
            raise ToolFailed(f"a={a!r}, b={b!r}: both must be numbers.")
        if op not in ("+", "-", "*", "/") or (op == "/" and b == 0):
            raise ToolFailed(f"op={op!r} with b={b!r}: expected one of + - * / (no division by 0).")
        value = {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0}[op]  # type: ignore[operator]
        return {"a": a, "b": b, "op": op, "value": value}
    if name == "fail":
        raise ToolFailed(str(params.get("reason", "tool failed")))
    raise ToolFailed(f"unknown tool name={name!r}; known: echo, search, calculator, fail.")


async def run_plan(turn: Turn, *, emit: Emit, call_tool: ToolCall) -> TurnOutcome:
    """Execute ``turn.plan`` through the backend's emitter and tool code; return the outcome.

    Events: ``agent_started``, then per step ``agent_thinking`` (think), ``tool_executing`` and
    ``tool_completed`` (tool), nothing (pause: ``asyncio.sleep``), and the terminal
    ``agent_completed`` with ``{"result": {"response", "tool_results"}}`` or ``agent_error``
    (a fail step). A tool that raises is recorded as its ``error`` and the plan goes on.

    Args:
        turn: the turn whose plan to run.
        emit: the backend's emitter, ``emit(event_type, payload)`` (plain or async).
        call_tool: the backend's tool code, ``call_tool(name, params)`` (plain or async).

    Example:
        >>> from harness.model import Turn
        >>> async def emit(kind, payload): pass
        >>> turn = Turn(run_id="run_1", thread_id="thread_1", message="hi")
        >>> asyncio.run(run_plan(turn, emit=emit, call_tool=lambda n, p: {})).status
        'completed'
    """
    tool_results: list[dict[str, Any]] = []
    await _maybe(emit("agent_started", {"message": turn.message}))
    for step in turn.plan:
        if isinstance(step, Think):
            await _maybe(emit("agent_thinking", {"text": step.text}))
        elif isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
        elif isinstance(step, CallTool):
            params = dict(step.params)
            await _maybe(emit("tool_executing", {"name": step.name, "params": dict(params)}))
            result: dict[str, Any] | None = None
            error: str | None = None
            try:
                result = dict(await _maybe(call_tool(step.name, dict(params))))
            except ToolFailed as exc:
                error = str(exc)
            except Exception as exc:  # the backend's tool code failed: evidence, not a crash
                error = f"{type(exc).__name__}: {exc}"
            await _maybe(
                emit("tool_completed", {"name": step.name, "result": result, "error": error})
            )
            tool_results.append(
                {"name": step.name, "params": params, "result": result, "error": error}
            )
        elif isinstance(step, Fail):
            await _maybe(emit("agent_error", {"error": step.reason}))
            return errored(turn, step.reason, tool_results)
    body = {"response": f"done: {len(tool_results)} tool calls", "tool_results": tool_results}
    await _maybe(emit("agent_completed", {"result": body}))
    return completed(turn, tool_results, response=body["response"])
