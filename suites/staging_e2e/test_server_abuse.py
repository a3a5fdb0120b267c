"""One user cannot starve, stall or lock out another: abuse over loopback, judged by a victim.

These tests start their own ``python -m harness_backend.server`` on 127.0.0.1 (the bounds they
press must be known, and a staging deployment cannot be asked to take abuse), so they run the
same with or without ``--staging-url``. Every test measures a victim user twice in the same
test: a control run on a quiet server, then the same turns while an abuser attacks. The victim
must complete every turn, and its median latency under abuse must stay within
``SLOWDOWN`` times its control. Each victim turn carries a planned pause, so the ratio compares
like with like and never an absolute duration. Every loop is bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import select
import signal
import socket
import statistics
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from harness_backend.auth import mint_token
from harness_backend.server_limits import BUDGET_CLOSE_CODE, SLOW_CLIENT_CLOSE_CODE

pytestmark = pytest.mark.timeout(90)

#: The victim's median latency under abuse may be at most this many times its control.
SLOWDOWN = 3.0
#: Turns the victim runs per measurement, and the pause each carries (server loop seconds).
#: The pause makes a turn's latency a planned duration, not noise: 0.1 s does that, and under
#: abuse the victim's median still has 0.2 s of headroom, where the turns measured here take
#: the same time with and without the attack. Every test measures the victim twice, so each
#: 0.1 s of pause costs a test a second.
VICTIM_TURNS = 5
VICTIM_PAUSE = 0.1
#: Upper bound of any single wait.
BOUND = 20.0
#: Bounds tightened so a test takes seconds; every other bound is the server's default.
SERVER_FLAGS = ("--max-unsent-bytes", "262144")


@contextmanager
def abuse_server(*flags: str) -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    """A ``harness_backend.server`` child process on 127.0.0.1: (url, secret, process)."""
    secret = secrets.token_urlsafe(48)
    command = [sys.executable, "-m", "harness_backend.server", "--port", "0", *flags]
    process = subprocess.Popen(
        command,
        env={**os.environ, "BACKEND_JWT_SECRET": secret},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([process.stdout], [], [], BOUND)
        line = process.stdout.readline() if ready and process.stdout else ""
        assert line.startswith("listening on "), f"server did not start: {line!r}"
        yield line.removeprefix("listening on ").strip(), secret, process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=BOUND)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=BOUND)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str, subprocess.Popen[str]]]:
    with abuse_server(*SERVER_FLAGS) as running:
        yield running


class Users:
    """Fresh user, thread and run ids from a seeded generator, and tokens for them."""

    def __init__(self, url: str, secret: str, seed: int) -> None:
        self.url = url
        self.secret = secret
        self._random = random.Random(seed)

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_{self._random.getrandbits(48):012x}"

    async def open(self, user_id: str) -> ClientConnection:
        token = mint_token(user_id, self.secret)
        async with asyncio.timeout(BOUND):
            return await connect(self.url, additional_headers={"Authorization": f"Bearer {token}"})


def chat(users: Users, run_id: str, plan: list[dict[str, Any]], content: str = "hi") -> str:
    message = {
        "type": "chat_message",
        "content": content,
        "thread_id": users.new_id("thread"),
        "run_id": run_id,
        "plan": plan,
    }
    return json.dumps(message, allow_nan=True)


async def until_terminal(websocket: ClientConnection, run_id: str) -> dict[str, Any]:
    async with asyncio.timeout(BOUND):
        while True:
            frame: dict[str, Any] = json.loads(await websocket.recv())
            if frame.get("run_id") == run_id and frame["type"] in (
                "agent_completed",
                "agent_error",
                "error",
            ):
                return frame


async def victim_latencies(users: Users) -> list[float]:
    """Run the victim's turns one after another; every one must complete. Loop seconds each."""
    victim = users.new_id("usr")
    websocket = await users.open(victim)
    loop = asyncio.get_running_loop()
    latencies = []
    try:
        for _ in range(VICTIM_TURNS):
            run_id = users.new_id("run")
            plan: list[dict[str, Any]] = [
                {"step": "pause", "seconds": VICTIM_PAUSE},
                {"step": "tool", "name": "echo", "params": {"probe": run_id}},
            ]
            began = loop.time()
            await websocket.send(chat(users, run_id, plan))
            terminal = await until_terminal(websocket, run_id)
            latencies.append(loop.time() - began)
            assert terminal["type"] == "agent_completed", f"victim's turn ended with {terminal}"
    finally:
        await websocket.close()
    return latencies


async def judged_against_control(
    users: Users, abuse: Callable[[asyncio.Event], Awaitable[Any]]
) -> Any:
    """Measure the victim quietly, then while ``abuse`` runs; assert the slowdown bound.

    ``abuse`` sets the event once the attack is under way and returns what it observed.
    """
    __tracebackhide__ = True
    control = statistics.median(await victim_latencies(users))
    underway = asyncio.Event()
    attack = asyncio.ensure_future(abuse(underway))
    try:
        async with asyncio.timeout(BOUND):
            await underway.wait()
        abused = statistics.median(await victim_latencies(users))
        async with asyncio.timeout(BOUND):
            observed = await attack
    finally:
        attack.cancel()
        await asyncio.gather(attack, return_exceptions=True)
    assert abused <= SLOWDOWN * control, (
        f"the victim's median turn took {abused:.3f}s under abuse against {control:.3f}s "
        f"in the control: more than {SLOWDOWN}x"
    )
    return observed


async def closed_with(websocket: ClientConnection) -> int | None:
    """Read (bounded) until the server closes ``websocket``; return its close code."""
    try:
        async with asyncio.timeout(BOUND):
            while True:
                await websocket.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


@pytest.mark.asyncio
async def test_a_flooding_user_is_disconnected_and_the_victim_is_not_slowed(
    server: tuple[str, str, Any],
) -> None:
    url, secret, _ = server
    users = Users(url, secret, seed=1)
    flooder = users.new_id("usr")

    async def flood(underway: asyncio.Event) -> list[int | None]:
        # As many connections as the user may hold, plus two the server must refuse.
        connections = [await users.open(flooder) for _ in range(10)]
        # Each connection keeps reading, so it sees the close frame the server sends it.
        readers = [asyncio.ensure_future(closed_with(c)) for c in connections]
        try:
            for _ in range(20):  # bounded: at most 20 rounds of 50 pings per connection
                for websocket in connections:
                    pings = [websocket.send('{"type": "ping"}') for _ in range(50)]
                    await asyncio.gather(*pings, return_exceptions=True)
                underway.set()
                if all(reader.done() for reader in readers):
                    break
                await asyncio.sleep(0.05)
            return list(await asyncio.gather(*readers))
        finally:
            for reader in readers:
                reader.cancel()
            await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)

    codes = await judged_against_control(users, flood)
    assert codes == [BUDGET_CLOSE_CODE] * 10, codes


@pytest.mark.asyncio
async def test_large_frames_from_one_user_do_not_keep_others_out(
    server: tuple[str, str, Any],
) -> None:
    url, secret, _ = server
    users = Users(url, secret, seed=2)
    heavy = users.new_id("usr")
    # Incompressible and just under the 256 KiB frame bound.
    blob = random.Random(2).randbytes(120 * 1024).hex()

    async def send_large_frames(underway: asyncio.Event) -> int:
        connections = [await users.open(heavy) for _ in range(8)]
        sent = 0
        try:
            for _ in range(10):  # bounded rounds
                for websocket in connections:
                    try:
                        await websocket.send(chat(users, users.new_id("run"), [], content=blob))
                        sent += 1
                    except ConnectionClosed:
                        pass
                underway.set()
                await asyncio.sleep(0.05)
            return sent
        finally:
            await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)

    sent = await judged_against_control(users, send_large_frames)
    assert sent > 0


@pytest.mark.asyncio
async def test_a_client_that_never_reads_is_dropped_with_4408(
    server: tuple[str, str, Any],
) -> None:
    url, secret, _ = server
    users = Users(url, secret, seed=3)
    sleeper = users.new_id("usr")
    blob = random.Random(3).randbytes(16 * 1024).hex()

    async def never_read(underway: asyncio.Event) -> int | None:
        token = mint_token(sleeper, secret)
        host, port = url.removeprefix("ws://").rsplit(":", 1)
        # A client that stops reading: a tiny receive window, so the server's output backs up.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((host, int(port)))
        async with connect(
            url,
            sock=sock,
            additional_headers={"Authorization": f"Bearer {token}"},
            max_queue=1,
            max_size=None,
        ) as websocket:
            plan = [{"step": "tool", "name": "echo", "params": {"blob": blob}}]
            # Bounded: 40 turns answered with about 5 MB the sleeper does not read, far more
            # than the socket buffers and the server's 256 KiB bound of unsent bytes hold.
            # Paced at 50 frames a second (under the server's 60 per user, so the 4408 is the
            # slow-client bound and not the flood bound), it lasts 0.8 s: longer than the
            # victim's five 0.1 s turns measured meanwhile.
            for _ in range(40):
                await websocket.send(chat(users, users.new_id("run"), plan, content=blob))
                underway.set()
                await asyncio.sleep(0.02)
            # It wakes up: what the server sent before dropping it, then the close frame.
            return await closed_with(websocket)

    assert await judged_against_control(users, never_read) == SLOW_CLIENT_CLOSE_CODE


@pytest.mark.asyncio
async def test_bad_numbers_and_deep_params_are_refused_without_stalls_or_tracebacks(
    server: tuple[str, str, Any],
) -> None:
    url, secret, process = server
    users = Users(url, secret, seed=4)
    attacker = users.new_id("usr")
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(899):
        inner["a"] = {}
        inner = inner["a"]
    bad_steps: list[dict[str, Any]] = [
        {"step": "tool", "name": "echo", "params": {"delay": float("nan")}},
        {"step": "tool", "name": "echo", "params": {"delay": float("inf")}},
        {"step": "tool", "name": "echo", "params": {"delay": 1e9}},
        {"step": "pause", "seconds": float("nan")},
        {"step": "tool", "name": "echo", "params": {"deep": deep}},
    ]

    async def send_bad_frames(underway: asyncio.Event) -> list[str]:
        connections = [await users.open(attacker) for _ in range(5)]
        codes = []
        try:
            for round_number in range(4):  # bounded: 4 rounds x 5 connections x 5 frames
                for websocket in connections:
                    for step in bad_steps:
                        run_id = users.new_id("run")
                        await websocket.send(chat(users, run_id, [step]))
                        codes.append((await until_terminal(websocket, run_id))["payload"]["code"])
                underway.set()
                await asyncio.sleep(0.05 * round_number)
            return codes
        finally:
            await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)

    codes = await judged_against_control(users, send_bad_frames)
    assert codes == ["invalid_message"] * 100
    # The server logged nothing for these client errors (its level is WARNING): no traceback.
    assert process.poll() is None
    assert not select.select([process.stderr], [], [], 0)[0], "the server wrote to its log"
