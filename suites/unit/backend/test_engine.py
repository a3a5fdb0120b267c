from __future__ import annotations

import asyncio
from typing import Any

import pytest

from harness_backend import (
    AgentRegistry,
    AgentRequest,
    ConnectionRegistry,
    EngineClosedError,
    ExecutionEngineFactory,
    InvalidRequestError,
    UnknownAgentError,
    UserMismatchError,
)
from harness_backend.agents import ScriptedAgent

ALICE = "usr_a1a1a1a1a1a1"
BOB = "usr_b2b2b2b2b2b2"


class RecordingConnection:
    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        self.events: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        self.events.append(event)


def _setup() -> tuple[ExecutionEngineFactory, RecordingConnection]:
    connections = ConnectionRegistry()
    tab = RecordingConnection("conn_alice")
    connections.register(ALICE, tab)
    return ExecutionEngineFactory(connections=connections), tab


def _request(run_id: str, plan: list[dict[str, Any]], user_id: str = ALICE) -> AgentRequest:
    return AgentRequest(
        user_id=user_id, thread_id="thread_a1", run_id=run_id, message="hello cnry_1", plan=plan
    )


@pytest.mark.asyncio
async def test_planned_turn_emits_the_full_contract_sequence() -> None:
    factory, tab = _setup()
    plan: list[dict[str, Any]] = [
        {"step": "think", "text": "first"},
        {"step": "tool", "name": "echo", "params": {"canary": "cnry_1"}},
        {"step": "pause", "seconds": 0},
        {"step": "think", "text": "second"},
        {"step": "tool", "name": "calculator", "params": {"a": 1, "b": 2}},
    ]
    context = factory.make_context(ALICE, "thread_a1", "run_000000000001")
    async with factory.user_execution_scope(context) as engine:
        reply = await engine.execute_agent("scripted", _request("run_000000000001", plan))

    assert [e["type"] for e in tab.events] == [
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_completed",
    ]
    assert {e["user_id"] for e in tab.events} == {ALICE}
    assert {e["run_id"] for e in tab.events} == {"run_000000000001"}
    assert tab.events[0]["payload"] == {"agent": "scripted", "message": "hello cnry_1"}
    assert [e["payload"]["text"] for e in tab.events if e["type"] == "agent_thinking"] == [
        "first",
        "second",
    ]
    echo = tab.events[3]["payload"]["result"]
    assert echo == {
        "user_id": ALICE,
        "run_id": "run_000000000001",
        "thread_id": "thread_a1",
        "params": {"canary": "cnry_1"},
    }
    assert reply["status"] == "completed" and reply["error"] is None
    assert [r["name"] for r in reply["result"]["tool_results"]] == ["echo", "calculator"]
    assert reply["result"]["tool_results"][0]["result"] == echo
    assert tab.events[-1]["payload"]["result"] == reply["result"]


@pytest.mark.asyncio
async def test_fail_step_ends_the_turn_with_agent_error() -> None:
    factory, tab = _setup()
    plan: list[dict[str, Any]] = [
        {"step": "tool", "name": "echo", "params": {}},
        {"step": "fail", "reason": "model refused"},
        {"step": "think", "text": "never"},
    ]
    context = factory.make_context(ALICE, "thread_a1", "run_000000000002")
    async with factory.user_execution_scope(context) as engine:
        reply = await engine.execute_agent("scripted", _request("run_000000000002", plan))
        history = engine.execution_registry.history()

    assert [e["type"] for e in tab.events] == [
        "agent_started",
        "tool_executing",
        "tool_completed",
        "agent_error",
    ]
    assert tab.events[-1]["payload"] == {"error": "model refused"}
    assert reply["status"] == "error" and reply["error"] == "model refused"
    assert [r["name"] for r in reply["result"]["tool_results"]] == ["echo"]
    assert [(r.run_id, r.status) for r in history] == [("run_000000000002", "error")]


@pytest.mark.asyncio
async def test_failing_tool_does_not_end_the_turn() -> None:
    factory, tab = _setup()
    plan: list[dict[str, Any]] = [
        {"step": "tool", "name": "fail", "params": {"reason": "quota"}},
        {"step": "think", "text": "carry on"},
    ]
    context = factory.make_context(ALICE, "thread_a1", "run_000000000003")
    async with factory.user_execution_scope(context) as engine:
        reply = await engine.execute_agent("scripted", _request("run_000000000003", plan))

    types = [e["type"] for e in tab.events]
    assert types == [
        "agent_started",
        "tool_executing",
        "tool_completed",
        "agent_thinking",
        "agent_completed",
    ]
    assert tab.events[2]["payload"]["error"] == "quota"
    assert reply["status"] == "completed"
    assert reply["result"]["tool_results"][0]["error"] == "quota"


@pytest.mark.asyncio
async def test_engine_refuses_a_foreign_request_without_emitting() -> None:
    factory, tab = _setup()
    context = factory.make_context(ALICE, "thread_a1", "run_000000000004")
    async with factory.user_execution_scope(context) as engine:
        with pytest.raises(UserMismatchError) as info:
            await engine.execute_agent("scripted", _request("run_000000000004", [], user_id=BOB))
        assert engine.execution_registry.active_runs() == ()
    assert f"request.user_id={BOB!r}" in str(info.value)
    assert f"user_id={ALICE!r}" in str(info.value)
    assert tab.events == []


@pytest.mark.asyncio
async def test_agents_in_flight_holds_the_agent_only_while_the_turn_runs() -> None:
    factory, _ = _setup()
    seen: list[dict[str, Any]] = []

    class SpyAgent(ScriptedAgent):
        async def run(self, request: AgentRequest) -> dict[str, Any]:
            seen.append(dict(engine.agents_in_flight))
            return await super().run(request)

    factory = ExecutionEngineFactory(
        connections=factory.connections, agents=AgentRegistry({"spy": SpyAgent})
    )
    context = factory.make_context(ALICE, "thread_a1", "run_000000000005")
    async with factory.user_execution_scope(context) as engine:
        await engine.execute_agent("spy", _request("run_000000000005", []))
        assert engine.agents_in_flight == {}
        assert engine.execution_registry.active_runs() == ()
    assert len(seen) == 1
    assert list(seen[0]) == ["run_000000000005"]
    assert isinstance(seen[0]["run_000000000005"], SpyAgent)


@pytest.mark.asyncio
async def test_each_turn_gets_a_fresh_agent_instance() -> None:
    instances: list[object] = []

    class CountingAgent(ScriptedAgent):
        async def run(self, request: AgentRequest) -> dict[str, Any]:
            instances.append(self)
            return await super().run(request)

    factory = ExecutionEngineFactory(agents=AgentRegistry({"scripted": CountingAgent}))
    context = factory.make_context(ALICE, "thread_a1", "run_000000000006")
    async with factory.user_execution_scope(context) as engine:
        await engine.execute_agent("scripted", _request("run_000000000006", []))
        await engine.execute_agent("scripted", _request("run_000000000007", []))
    assert len(instances) == 2 and instances[0] is not instances[1]


@pytest.mark.asyncio
async def test_unknown_agent_and_closed_engine_are_refused() -> None:
    factory, tab = _setup()
    context = factory.make_context(ALICE, "thread_a1", "run_000000000008")
    async with factory.user_execution_scope(context) as engine:
        with pytest.raises(UnknownAgentError, match="Did you mean 'scripted'"):
            await engine.execute_agent("scripte", _request("run_000000000008", []))
    with pytest.raises(EngineClosedError, match="was released"):
        await engine.execute_agent("scripted", _request("run_000000000008", []))
    assert tab.events == []


@pytest.mark.asyncio
async def test_concurrency_limit_holds_turns_back() -> None:
    factory = ExecutionEngineFactory(max_concurrency_per_engine=1)
    context = factory.make_context(ALICE, "thread_a1", "run_000000000009")
    peak = 0

    class PeakAgent(ScriptedAgent):
        async def run(self, request: AgentRequest) -> dict[str, Any]:
            nonlocal peak
            peak = max(peak, engine.active_turns)
            await asyncio.sleep(0)
            return await super().run(request)

    factory = ExecutionEngineFactory(
        max_concurrency_per_engine=1, agents=AgentRegistry({"scripted": PeakAgent})
    )
    async with factory.user_execution_scope(context) as engine:
        replies = await asyncio.gather(
            *(
                engine.execute_agent("scripted", _request(f"run_00000000010{i}", []))
                for i in range(4)
            )
        )
    assert [r["status"] for r in replies] == ["completed"] * 4
    assert peak == 1


@pytest.mark.parametrize(
    ("plan", "fragment"),
    [
        ([{"step": "dance"}], "plan[0].step='dance'"),
        ([{"step": "pause", "seconds": -1}], "plan[0].seconds=-1"),
        ([{"step": "think"}], "plan[0].text=None"),
        ([{"step": "tool", "name": "echo", "params": [1]}], "plan[0].params=[1]"),
        (["think"], "plan[0]='think'"),
    ],
)
def test_malformed_plans_are_refused(plan: list[Any], fragment: str) -> None:
    with pytest.raises(InvalidRequestError) as info:
        _request("run_000000000011", plan)
    assert fragment in str(info.value)
