"""The WebSocket adapter reads no frame larger than its ``max_size`` from a hostile server.

A tiny server in the test answers the adapter's turn with a frame of a chosen size. The frame
header announces the size before the payload, so a frame over the bound fails that session with
an error naming ``max_size`` without its payload ever being read: a 300 MB announcement costs
the adapter nothing.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from websockets.asyncio.server import ServerConnection, serve

from harness.errors import TargetError, TargetLoadError
from harness.model import SimUser, Turn
from harness.targets.websocket import DEFAULT_MAX_SIZE, WebSocketTarget

pytestmark = pytest.mark.timeout(30)

SECRET = "s" * 40
USER = SimUser(
    user_id="usr_0123456789ab",
    thread_ids=("thread_0123456789ab",),
    email="",
    display_name="",
    canaries=(),
)
TURN = Turn(run_id="run_0123456789ab", thread_id="thread_0123456789ab", message="hello")

#: How the hostile server answers a turn: given the run id, the raw bytes it writes.
Answer = Callable[[str], bytes]


def text_frame_header(length: int) -> bytes:
    """An unmasked, final text frame header announcing ``length`` payload bytes."""
    return bytes([0x81, 127]) + struct.pack("!Q", length)


def announced(length: int) -> Answer:
    """A frame header announcing ``length`` bytes, followed by a few of them only."""
    return lambda run_id: text_frame_header(length) + b"x" * 1024


def completed_frame(padding: int) -> Answer:
    """A real ``agent_completed`` for the run, padded to about ``padding`` bytes."""

    def answer(run_id: str) -> bytes:
        event = {
            "type": "agent_completed",
            "run_id": run_id,
            "thread_id": TURN.thread_id,
            "user_id": USER.user_id,
            "payload": {"result": {"response": "y" * padding, "tool_results": []}},
        }
        body = json.dumps(event).encode()
        return text_frame_header(len(body)) + body

    return answer


StartHostile = Callable[[Answer], Awaitable[str]]


@pytest_asyncio.fixture
async def hostile_server() -> AsyncIterator[StartHostile]:
    servers = []

    async def start(answer: Answer) -> str:
        async def handler(websocket: ServerConnection) -> None:
            message = json.loads(await websocket.recv())
            # Written under the websockets library, as a hostile server would.
            websocket.transport.write(answer(message["run_id"]))
            await websocket.wait_closed()

        server = await serve(handler, "127.0.0.1", 0, compression=None)
        servers.append(server)
        port = next(iter(server.sockets)).getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def run_one_turn(url: str, max_size: int = DEFAULT_MAX_SIZE) -> object:
    target = WebSocketTarget(url, secret=SECRET, max_size=max_size)
    session = await target.open_session(USER)
    try:
        async with asyncio.timeout(10):
            return await session.run_turn(TURN)
    finally:
        await session.close()


@pytest.mark.asyncio
async def test_a_300_mb_frame_fails_the_session_naming_max_size(
    hostile_server: StartHostile,
) -> None:
    url = await hostile_server(announced(300 * 1024 * 1024))
    with pytest.raises(TargetError) as caught:
        await run_one_turn(url)
    message = str(caught.value)
    assert f"larger than max_size={DEFAULT_MAX_SIZE} bytes" in message
    assert USER.user_id in message and TURN.run_id in message
    assert "WebSocketTarget(max_size=...)" in message


@pytest.mark.asyncio
async def test_max_size_is_an_option_and_frames_within_it_are_read(
    hostile_server: StartHostile,
) -> None:
    url = await hostile_server(completed_frame(300_000))
    with pytest.raises(TargetError, match="larger than max_size=100000 bytes"):
        await run_one_turn(url, max_size=100_000)
    outcome = await run_one_turn(url, max_size=1_000_000)
    assert getattr(outcome, "status", None) == "completed"


@pytest.mark.parametrize("max_size", [0, -1, True])
def test_a_bad_max_size_is_a_load_error(max_size: int) -> None:
    with pytest.raises(TargetLoadError, match=f"max_size={max_size!r} must be"):
        WebSocketTarget("ws://127.0.0.1:9", secret=SECRET, max_size=max_size)
