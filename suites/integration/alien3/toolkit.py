"""The tools agents call: echo, search, calculator, fail (shared, stateless).

A tool gets its parameters and an ``identity`` callable: who it runs for is asked when the
tool really executes (after its ``delay``), from the code that runs it. That is what ``echo``
reports, so a job whose identity changed during the delay shows it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import types
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .models import ToolReceipt
from .telemetry import METRICS
from .upstream import Upstream, UpstreamError

__all__ = ["Identity", "ToolFailure", "Toolkit"]


@dataclasses.dataclass(frozen=True, slots=True)
class Identity:
    """Who a piece of code runs for."""

    user_id: str
    thread_id: str
    run_id: str


class ToolFailure(Exception):
    """A tool refused its input or failed; the message goes into the receipt."""


_OPERATORS: Mapping[str, Callable[[float, float], float]] = types.MappingProxyType(
    {
        "+": operator.add,
        "-": operator.sub,
        "*": operator.mul,
        "/": lambda a, b: a / b if b else float("nan"),
    }
)

_Tool = Callable[["Toolkit", Mapping[str, Any], Identity], Awaitable[dict[str, Any]]]


async def _echo(kit: Toolkit, params: Mapping[str, Any], who: Identity) -> dict[str, Any]:
    return {
        "user_id": who.user_id,
        "run_id": who.run_id,
        "thread_id": who.thread_id,
        "params": dict(params),
    }


async def _search(kit: Toolkit, params: Mapping[str, Any], who: Identity) -> dict[str, Any]:
    query = params.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ToolFailure(f"query={query!r} must be a non-empty string")
    try:
        hits = await kit.upstream.search(query)
    except UpstreamError as exc:
        raise ToolFailure(str(exc)) from exc
    return {"query": hits.query, "hits": list(hits.hits)}


async def _calculator(kit: Toolkit, params: Mapping[str, Any], who: Identity) -> dict[str, Any]:
    a, b, op = params.get("a"), params.get("b"), params.get("op", "+")
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        raise ToolFailure(f"a={a!r} and b={b!r} must be numbers")
    function = _OPERATORS.get(op) if isinstance(op, str) else None
    if function is None:
        raise ToolFailure(f"op={op!r} is not one of {', '.join(_OPERATORS)}")
    return {"value": function(float(a), float(b))}


async def _fail(kit: Toolkit, params: Mapping[str, Any], who: Identity) -> dict[str, Any]:
    raise ToolFailure(str(params.get("reason", "the tool failed")))


class Toolkit:
    """Runs tools by name; one per deployment, holding no per-call state."""

    TOOLS: Mapping[str, _Tool] = types.MappingProxyType(
        {"echo": _echo, "search": _search, "calculator": _calculator, "fail": _fail}
    )

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    async def run(
        self, name: str, params: Mapping[str, Any], identity: Callable[[], Identity]
    ) -> ToolReceipt:
        """Run ``name`` after its ``delay`` parameter (loop seconds); never raises ToolFailure."""
        delay = params.get("delay", 0)
        await asyncio.sleep(delay if isinstance(delay, int | float) and delay > 0 else 0)
        METRICS.tool_called(name if name in self.TOOLS else "unknown")
        tool = self.TOOLS.get(name)
        try:
            if tool is None:
                raise ToolFailure(f"no tool named {name!r}")
            result = await tool(self, params, identity())
        except ToolFailure as exc:
            return ToolReceipt(name=name, params=dict(params), error=str(exc))
        return ToolReceipt(name=name, params=dict(params), result=result)
