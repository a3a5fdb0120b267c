"""100 concurrent users on the correct reference backend: everyone gets exactly their own events."""

from __future__ import annotations

import asyncio
import itertools
import random
from typing import Any

import pytest

from harness_backend import AgentRequest, ConnectionRegistry, ExecutionEngineFactory

USERS = 100
TABS = 2
TURNS = 2


class RecordingConnection:
    def __init__(self, connection_id: str, log: list[str]) -> None:
        self.connection_id = connection_id
        self.events: list[dict[str, Any]] = []
        self.log = log

    async def send(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.log.append(event["run_id"])
        await asyncio.sleep(0)  # let other users run between deliveries


def _plan(rng: random.Random, canary: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = []
    for _ in range(rng.randint(2, 5)):
        kind = rng.choice(["think", "echo", "pause", "fail_tool"])
        if kind == "think":
            steps.append({"step": "think", "text": f"thinking {canary}"})
        elif kind == "echo":
            steps.append({"step": "tool", "name": "echo", "params": {"canary": canary}})
        elif kind == "pause":
            steps.append({"step": "pause", "seconds": 0})
        else:
            steps.append({"step": "tool", "name": "fail", "params": {"reason": canary}})
    if rng.random() < 0.2:
        steps.append({"step": "fail", "reason": f"gave up {canary}"})
    return steps


def _expected_types(plan: list[dict[str, Any]]) -> list[str]:
    types = ["agent_started"]
    for step in plan:
        if step["step"] == "think":
            types.append("agent_thinking")
        elif step["step"] == "tool":
            types += ["tool_executing", "tool_completed"]
        elif step["step"] == "fail":
            return [*types, "agent_error"]
    return [*types, "agent_completed"]


@pytest.mark.asyncio
async def test_hundred_users_each_receive_exactly_their_own_events_in_order() -> None:
    rng = random.Random(20240611)
    connections = ConnectionRegistry()
    factory = ExecutionEngineFactory(connections=connections, max_engines_per_user=TURNS)
    users = [f"usr_{index:012x}" for index in range(1, USERS + 1)]
    tabs: dict[str, list[RecordingConnection]] = {}
    log: list[str] = []
    for user in users:
        tabs[user] = [
            RecordingConnection(connections.next_connection_id(), log) for _ in range(TABS)
        ]
        for tab in tabs[user]:
            connections.register(user, tab)
    plans: dict[str, dict[str, list[dict[str, Any]]]] = {
        user: {f"run_{u:06x}{t:06x}": _plan(rng, f"cnry_{u}_{t}") for t in range(TURNS)}
        for u, user in enumerate(users)
    }

    async def turn(user: str, run_id: str, plan: list[dict[str, Any]]) -> dict[str, Any]:
        thread_id = f"thread_{run_id[4:]}"
        context = factory.make_context(user, thread_id, run_id, {"canary": run_id})
        async with factory.user_execution_scope(context) as engine:
            request = AgentRequest(user, thread_id, run_id, f"message {run_id}", plan)
            return await engine.execute_agent("scripted", request)

    jobs = [(user, run_id, plan) for user in users for run_id, plan in plans[user].items()]
    rng.shuffle(jobs)
    replies = await asyncio.gather(*(turn(*job) for job in jobs))

    assert len(replies) == USERS * TURNS
    # The turns really ran interleaved: deliveries switch between runs far more often than once
    # per run.
    switches = sum(1 for before, after in itertools.pairwise(log) if before != after)
    assert switches > 2 * USERS * TURNS
    for (user, run_id, _plan_steps), reply in zip(jobs, replies, strict=True):
        for result in reply["result"]["tool_results"]:
            if result["name"] == "echo":
                assert result["result"]["user_id"] == user
                assert result["result"]["run_id"] == run_id
    for user in users:
        for tab in tabs[user]:
            assert {event["user_id"] for event in tab.events} == {user}
            assert {event["run_id"] for event in tab.events} == set(plans[user])
            for run_id, plan in plans[user].items():
                types = [e["type"] for e in tab.events if e["run_id"] == run_id]
                assert types == _expected_types(plan), (user, run_id)
                echoes = [
                    e["payload"]["result"]
                    for e in tab.events
                    if e["run_id"] == run_id
                    and e["type"] == "tool_completed"
                    and e["payload"]["name"] == "echo"
                ]
                for echo in echoes:
                    assert (echo["user_id"], echo["run_id"]) == (user, run_id)
        assert tabs[user][0].events == tabs[user][1].events
    metrics = factory.metrics()
    assert metrics.engines_active == 0 and metrics.users_active == 0
    assert metrics.engines_created == USERS * TURNS and metrics.engines_rejected == 0
    assert connections.statistics().failed == 0
