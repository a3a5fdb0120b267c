"""A remote server that sends an event whose run_id is a list: a crash finding naming the field,
never a traceback. The server here is a few lines on 127.0.0.1, in a thread of its own."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from harness.runner import run
from harness.scenarios import build
from harness.targets.websocket import WebSocketTarget

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@contextmanager
def scripted_server(list_run_id: bool) -> Iterator[str]:
    """Answer every chat message with agent_started and agent_completed; with ``list_run_id``
    the agent_started event's run_id is a list."""
    from websockets.asyncio.server import ServerConnection, serve

    async def handler(connection: ServerConnection) -> None:
        async for frame in connection:
            message = json.loads(frame)
            run_id, thread_id = message["run_id"], message["thread_id"]
            started: Any = [run_id] if list_run_id else run_id
            for kind, rid in (("agent_started", started), ("agent_completed", run_id)):
                await connection.send(
                    json.dumps({"type": kind, "run_id": rid, "thread_id": thread_id, "payload": {}})
                )

    loop = asyncio.new_event_loop()
    ready: list[str] = []
    stop = loop.create_future()

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            ready.append(f"ws://127.0.0.1:{port}/ws")
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    try:
        while not ready:
            threading.Event().wait(0.01)
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(timeout=10)
        loop.close()


def _run(list_run_id: bool) -> Any:
    with scripted_server(list_run_id) as url:
        return run(WebSocketTarget(url, secret="s" * 32), build("golden_path", 0, 2))


def test_a_list_run_id_from_a_remote_server_is_a_crash_finding() -> None:
    result = _run(list_run_id=True)
    crashes = [line for f in result.findings if f.kind == "crash" for line in f.evidence]
    assert any(
        "run_id=['run_" in line and "is a list, not a str or None" in line for line in crashes
    ), crashes


def test_the_same_server_with_string_run_ids_gives_no_crash() -> None:
    result = _run(list_run_id=False)
    assert not [f for f in result.findings if f.kind == "crash"]
