"""``python -m harness_backend.server`` as a subprocess: start, serve a turn, stop on a signal."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from websockets.asyncio.client import connect

from harness_backend.auth import SECRET_ENV, mint_token

SECRET = "cli-secret-0123456789abcdef-0123456789abcdef"
USER = "usr_c11000000001"
ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 20.0


def environment(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != SECRET_ENV}
    env.update(extra)
    return env


async def start(*arguments: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "harness_backend.server",
        *arguments,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


@pytest_asyncio.fixture
async def process() -> AsyncIterator[asyncio.subprocess.Process]:
    child = await start(
        "--host", "127.0.0.1", "--port", "0", env=environment(**{SECRET_ENV: SECRET})
    )
    yield child
    if child.returncode is None:
        child.kill()
        await child.wait()


@pytest.mark.asyncio
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_cli_listens_serves_a_turn_and_exits_on_a_signal(
    process: asyncio.subprocess.Process, signum: signal.Signals
) -> None:
    assert process.stdout is not None and process.stderr is not None
    async with asyncio.timeout(TIMEOUT):
        line = (await process.stdout.readline()).decode().strip()
    assert line.startswith("listening on ws://127.0.0.1:")
    url = line.removeprefix("listening on ")
    assert int(url.rsplit(":", 1)[1]) > 0

    headers = {"Authorization": f"Bearer {mint_token(USER, SECRET)}"}
    async with asyncio.timeout(TIMEOUT), connect(url, additional_headers=headers) as websocket:
        await websocket.send(
            json.dumps(
                {
                    "type": "chat_message",
                    "content": "hi",
                    "thread_id": "thread_0000000000c1",
                    "run_id": "run_0000000000c1",
                    "plan": [{"step": "tool", "name": "echo", "params": {}}],
                }
            )
        )
        types: list[str] = []
        while not types or types[-1] not in ("agent_completed", "agent_error", "error"):
            event = json.loads(await websocket.recv())
            assert event["user_id"] == USER
            types.append(event["type"])
    assert types == ["agent_started", "tool_executing", "tool_completed", "agent_completed"]

    process.send_signal(signum)
    async with asyncio.timeout(TIMEOUT):
        code = await process.wait()
        errors = (await process.stderr.read()).decode()
    assert code == 0, errors
    assert "Traceback" not in errors


@pytest.mark.asyncio
async def test_cli_refuses_to_start_without_a_secret() -> None:
    child = await start("--port", "0", env=environment())
    async with asyncio.timeout(TIMEOUT):
        stdout, stderr = await child.communicate()
    assert child.returncode == 2
    assert stdout == b""
    assert f"set {SECRET_ENV} or pass --jwt-secret" in stderr.decode()


@pytest.mark.asyncio
async def test_cli_reports_an_unknown_fault() -> None:
    child = await start(
        "--port", "0", "--fault", "no-such-fault", env=environment(**{SECRET_ENV: SECRET})
    )
    async with asyncio.timeout(TIMEOUT):
        stdout, stderr = await child.communicate()
    assert child.returncode == 2
    assert b"listening" not in stdout
    assert "no-such-fault" in stderr.decode()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--rate", "0"), "ServerLimits.rate=0.0 must be a finite number > 0"),
        (("--connections-per-user", "0"), "ServerLimits.connections_per_user=0 must be"),
        (("--max-delay", "nan"), "PlanLimits.max_delay=nan must be a finite number >= 0"),
        (("--token-max-lifetime", "-1"), "TokenPolicy.max_lifetime=-1.0 must be"),
    ],
    ids=["rate", "connections", "delay", "lifetime"],
)
async def test_cli_reports_a_bad_bound(arguments: tuple[str, ...], message: str) -> None:
    child = await start("--port", "0", *arguments, env=environment(**{SECRET_ENV: SECRET}))
    async with asyncio.timeout(TIMEOUT):
        stdout, stderr = await child.communicate()
    assert child.returncode == 2
    assert b"listening" not in stdout
    assert "cannot start" in stderr.decode() and message in stderr.decode()


@pytest.mark.asyncio
async def test_cli_bounds_reach_the_server() -> None:
    child = await start("--port", "0", "--max-delay", "2", env=environment(**{SECRET_ENV: SECRET}))
    try:
        async with asyncio.timeout(TIMEOUT):
            assert child.stdout is not None
            url = (await child.stdout.readline()).decode().split()[-1]
            headers = {"Authorization": f"Bearer {mint_token(USER, SECRET)}"}
            async with connect(url, additional_headers=headers) as websocket:
                plan = [{"step": "tool", "name": "echo", "params": {"delay": 3}}]
                message = {
                    "type": "chat_message",
                    "content": "c",
                    "thread_id": "thread_c11000000001",
                    "run_id": "run_c11000000001",
                    "plan": plan,
                }
                await websocket.send(json.dumps(message))
                error = json.loads(await websocket.recv())
        assert error["payload"]["code"] == "invalid_message"
        assert "between 0 and 2" in error["payload"]["error"]
    finally:
        child.send_signal(signal.SIGTERM)
        async with asyncio.timeout(TIMEOUT):
            await child.communicate()
