from __future__ import annotations

from typing import Any

import pytest

from harness_backend import (
    ConnectionRegistry,
    MissingNotifierError,
    ToolDefinition,
    ToolDispatcher,
    ToolRegistry,
    UserEventEmitter,
    UserExecutionContext,
    default_tools,
)

ALICE = "usr_a1a1a1a1a1a1"


class RecordingConnection:
    def __init__(self) -> None:
        self.connection_id = "conn_1"
        self.events: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def _dispatcher() -> tuple[ToolDispatcher, RecordingConnection]:
    registry = ConnectionRegistry()
    tab = RecordingConnection()
    registry.register(ALICE, tab)
    context = UserExecutionContext.create(ALICE, "thread_a1", "run_a1")
    return ToolDispatcher(context, default_tools(), UserEventEmitter(ALICE, registry)), tab


def test_dispatcher_refuses_none_notifier() -> None:
    context = UserExecutionContext.create(ALICE, "thread_a1", "run_a1")
    with pytest.raises(MissingNotifierError) as info:
        ToolDispatcher(context, default_tools(), None)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert "notifier=None" in str(info.value)


@pytest.mark.asyncio
async def test_echo_returns_the_executing_context_and_params() -> None:
    dispatcher, tab = _dispatcher()
    outcome = await dispatcher.execute("echo", {"canary": "cnry_1"})
    assert outcome == {
        "name": "echo",
        "params": {"canary": "cnry_1"},
        "result": {
            "user_id": ALICE,
            "run_id": "run_a1",
            "thread_id": "thread_a1",
            "params": {"canary": "cnry_1"},
        },
        "error": None,
    }
    assert [e["type"] for e in tab.events] == ["tool_executing", "tool_completed"]
    assert tab.events[0]["payload"] == {"name": "echo", "params": {"canary": "cnry_1"}}
    assert tab.events[1]["payload"]["result"]["user_id"] == ALICE


@pytest.mark.asyncio
async def test_failing_tool_gives_an_error_result() -> None:
    dispatcher, tab = _dispatcher()
    outcome = await dispatcher.execute("fail", {"reason": "disk full"})
    assert outcome["error"] == "disk full" and outcome["result"] is None
    assert tab.events[-1]["payload"] == {"name": "fail", "result": None, "error": "disk full"}


@pytest.mark.asyncio
async def test_unknown_tool_is_an_error_result_with_suggestion() -> None:
    dispatcher, tab = _dispatcher()
    outcome = await dispatcher.execute("ecko", {})
    assert outcome["result"] is None
    assert "name='ecko'" in outcome["error"] and "Did you mean 'echo'?" in outcome["error"]
    assert [e["type"] for e in tab.events] == ["tool_executing", "tool_completed"]


@pytest.mark.asyncio
async def test_search_and_calculator_are_deterministic() -> None:
    dispatcher, _ = _dispatcher()
    first = await dispatcher.execute("search", {"query": "weather"})
    second = await dispatcher.execute("search", {"query": "weather"})
    assert first["result"] == second["result"]
    assert len(first["result"]["hits"]) == 3
    calc = await dispatcher.execute("calculator", {"a": 6, "b": 7, "op": "*"})
    assert calc["result"]["value"] == 42
    divide = await dispatcher.execute("calculator", {"a": 1, "b": 0, "op": "/"})
    assert "division by zero" in divide["error"]


@pytest.mark.asyncio
async def test_async_handler_and_unexpected_exception() -> None:
    async def slow(context: UserExecutionContext, params: Any) -> dict[str, Any]:
        return {"who": context.user_id}

    def broken(context: UserExecutionContext, params: Any) -> dict[str, Any]:
        raise KeyError("missing")

    registry = ToolRegistry(
        [ToolDefinition("slow", "async", slow), ToolDefinition("broken", "raises", broken)]
    )
    context = UserExecutionContext.create(ALICE, "thread_a1", "run_a1")
    dispatcher = ToolDispatcher(context, registry, UserEventEmitter(ALICE, ConnectionRegistry()))
    assert (await dispatcher.execute("slow"))["result"] == {"who": ALICE}
    assert (await dispatcher.execute("broken"))["error"] == "KeyError: 'missing'"


def test_tool_registry_is_immutable_and_unique() -> None:
    registry = default_tools()
    assert registry.names() == ("echo", "search", "calculator", "fail")
    with pytest.raises(TypeError):
        registry.tools["new"] = registry.tools["echo"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        registry.extra = 1  # type: ignore[attr-defined]
    echo = registry.tools["echo"]
    with pytest.raises(ValueError, match="name='echo'"):
        ToolRegistry([echo, echo])
