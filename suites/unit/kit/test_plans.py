"""run_plan runs a plan through the backend's emitter and tool code; standard_tool's tools."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from harness.kit import ToolFailed, echo_result, run_plan, standard_tool
from harness.model import CallTool, Fail, Pause, Think, Turn
from harness.scheduling import run as run_seeded


class Context:
    def __init__(self, user_id: str, run_id: str, thread_id: str) -> None:
        self.user_id, self.run_id, self.thread_id = user_id, run_id, thread_id


def _turn(*plan: Any) -> Turn:
    return Turn(run_id="run_1", thread_id="thread_1", message="hello", plan=tuple(plan))


def _execute(turn: Turn, context: Context) -> tuple[Any, list[tuple[str, Mapping[str, Any]]]]:
    emitted: list[tuple[str, Mapping[str, Any]]] = []

    async def emit(kind: str, payload: Mapping[str, Any]) -> None:
        emitted.append((kind, payload))

    async def call_tool(name: str, params: Mapping[str, Any]) -> dict[str, Any]:
        return await standard_tool(name, params, context)  # runs under the backend's context

    outcome, _ = run_seeded(run_plan(turn, emit=emit, call_tool=call_tool))
    return outcome, emitted


def test_a_plan_gives_the_contract_events_and_tool_results_in_order() -> None:
    turn = _turn(
        Think("first"),
        CallTool("echo", {"note": "n1"}),
        Pause(0.5),
        CallTool("fail", {"reason": "upstream down"}),
        CallTool("calculator", {"a": 2, "b": 3, "op": "*"}),
    )
    outcome, emitted = _execute(turn, Context("usr_1", "run_1", "thread_1"))
    assert [kind for kind, _ in emitted] == [
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "tool_executing",
        "tool_completed",
        "tool_executing",
        "tool_completed",
        "agent_completed",
    ]
    assert outcome.status == "completed"
    results = outcome.result["tool_results"]
    assert [r["name"] for r in results] == ["echo", "fail", "calculator"]
    assert all(set(r) == {"name", "params", "result", "error"} for r in results)
    assert results[1] == {
        "name": "fail",
        "params": {"reason": "upstream down"},
        "result": None,
        "error": "upstream down",
    }
    assert results[2]["result"]["value"] == 6
    assert emitted[-1][1]["result"]["tool_results"] == results


def test_echo_reports_the_context_the_tool_ran_under_not_the_turns() -> None:
    swapped = Context("usr_2", "run_9", "thread_9")  # a backend that swapped contexts
    outcome, emitted = _execute(_turn(CallTool("echo", {"note": "n1"})), swapped)
    echoed = outcome.result["tool_results"][0]["result"]
    assert echoed == {
        "user_id": "usr_2",
        "run_id": "run_9",
        "thread_id": "thread_9",
        "params": {"note": "n1"},
    }
    assert emitted[2] == ("tool_completed", {"name": "echo", "result": echoed, "error": None})


def test_a_fail_step_ends_in_agent_error_and_keeps_the_evidence() -> None:
    turn = _turn(CallTool("search", {"query": "q"}), Fail("gave up"), Think("never"))
    outcome, emitted = _execute(turn, Context("usr_1", "run_1", "thread_1"))
    assert (outcome.status, outcome.error) == ("error", "gave up")
    assert [r["name"] for r in outcome.result["tool_results"]] == ["search"]
    assert emitted[-1] == ("agent_error", {"error": "gave up"})


def test_a_crashing_tool_is_recorded_with_its_type_and_plain_callables_work() -> None:
    emitted: list[str] = []

    def call_tool(name: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        raise KeyError(name)

    turn = _turn(CallTool("lookup", {}))
    outcome = asyncio.run(
        run_plan(turn, emit=lambda kind, payload: emitted.append(kind), call_tool=call_tool)
    )
    assert outcome.result is not None
    assert outcome.result["tool_results"][0]["error"] == "KeyError: 'lookup'"
    assert emitted[-1] == "agent_completed"


def test_standard_tool_delay_and_bad_params() -> None:
    async def timed() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        await standard_tool("echo", {"delay": 2}, {"user_id": "u"})
        return loop.time() - start

    assert run_seeded(timed())[0] == pytest.approx(2)  # loop (virtual) time, not wall time
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("echo", {"delay": -1}, "delay=-1"),
        ("search", {"query": ""}, "query=''"),
        ("calculator", {"a": 1, "b": 0, "op": "/"}, "op='/'"),
        ("nope", {}, "unknown tool name='nope'"),
    ]
    for name, params, message in cases:
        with pytest.raises(ToolFailed, match=message):
            asyncio.run(standard_tool(name, params, {}))
    assert echo_result({"user_id": "u"}, {"a": 1})["params"] == {"a": 1}
