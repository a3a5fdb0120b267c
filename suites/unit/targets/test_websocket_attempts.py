"""Two attempts of one run id waiting on one WebSocket connection (``Turn.retry``).

Frames name a run id only: an ``agent_started`` starts the earliest attempt not started, a
refusal settles the earliest attempt not started, a terminal the earliest started one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

import pytest

from harness.model import SimUser, Turn
from harness.targets.websocket import WebSocketSession, WebSocketTarget

RUN = "run_0123456789ab"
THREAD = "thread_0123456789ab"
USER = SimUser(
    user_id="usr_0123456789ab",
    thread_ids=(THREAD,),
    email="a@example.org",
    display_name="A",
    canaries=("cnry_0123456789abcdef",),
)


class FakeConnection:
    """Frames the test pushes are what the server sent; ``sent`` what the client sent."""

    close_code = None
    close_reason = None

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.frames: asyncio.Queue[str | None] = asyncio.Queue()
        self.both_sent = asyncio.Event()

    async def send(self, text: str) -> None:
        self.sent.append(json.loads(text))
        if len(self.sent) == 2:
            self.both_sent.set()

    def __aiter__(self) -> FakeConnection:
        return self

    async def __anext__(self) -> str:
        frame = await self.frames.get()
        if frame is None:
            raise StopAsyncIteration
        return frame

    async def close(self) -> None:
        self.frames.put_nowait(None)

    def push(self, type_: str, **payload: Any) -> None:
        frame = {"type": type_, "run_id": RUN, "thread_id": THREAD, "user_id": USER.user_id}
        self.frames.put_nowait(json.dumps({**frame, "payload": payload}))


async def _two_attempts(frames: list[tuple[str, dict[str, Any]]]) -> list[str]:
    target = WebSocketTarget("ws://127.0.0.1:9/ws", secret="s" * 40)
    connection = FakeConnection()
    session = WebSocketSession(target, USER, connection, "conn-1")
    turn = Turn(run_id=RUN, thread_id=THREAD, message="hi cnry_0123456789abcdef")
    first = asyncio.ensure_future(session.run_turn(turn))
    second = asyncio.ensure_future(session.run_turn(dataclasses.replace(turn, retry=True)))
    await asyncio.wait_for(connection.both_sent.wait(), timeout=5)
    for type_, payload in frames:
        connection.push(type_, **payload)
    outcomes = await asyncio.wait_for(asyncio.gather(first, second), timeout=5)
    await session.close()
    assert [m["run_id"] for m in connection.sent] == [RUN, RUN]
    return [outcome.status for outcome in outcomes]


@pytest.mark.asyncio
async def test_a_refusal_of_the_second_attempt_leaves_the_first_running() -> None:
    statuses = await _two_attempts(
        [
            ("agent_started", {}),
            ("error", {"code": "rejected", "error": "run already running"}),
            ("agent_completed", {"result": {"response": "ok", "tool_results": []}}),
        ]
    )
    assert statuses == ["completed", "rejected"]


@pytest.mark.asyncio
async def test_two_attempts_that_both_run_both_get_their_terminal() -> None:
    statuses = await _two_attempts(
        [
            ("agent_started", {}),
            ("agent_started", {}),
            ("agent_error", {"error": "boom"}),
            ("agent_completed", {"result": {"response": "ok", "tool_results": []}}),
        ]
    )
    assert statuses == ["error", "completed"]
