"""The server's bounds over loopback sockets: one user cannot starve, stall or lock out another.

Each test starts an in-process server with the limits it presses (small ones, so the test is
quick) and checks both sides: the abuser is refused or dropped with the documented error or
close code, and a well-behaved user still completes its turns.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import jwt
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from harness_backend.auth import mint_token
from harness_backend.server import (
    BUDGET_CLOSE_CODE,
    SLOW_CLIENT_CLOSE_CODE,
    BackendServer,
    ServerLimits,
    serve,
)

pytestmark = pytest.mark.timeout(60)

SECRET = "budget-secret-0123456789abcdef-0123456789"
ALICE = "usr_a11ce0000101"
BOB = "usr_b0b000000102"
#: Upper bound of any one wait; loopback answers in milliseconds.
BOUND = 15.0
TERMINAL = ("agent_completed", "agent_error", "error")
_ids = itertools.count(1)

Frame = dict[str, Any]


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):012x}"


def chat(run_id: str, plan: list[Frame], thread_id: str | None = None, content: str = "hi") -> str:
    message = {
        "type": "chat_message",
        "content": content,
        "thread_id": thread_id or new_id("thread"),
        "run_id": run_id,
        "plan": plan,
    }
    return json.dumps(message, allow_nan=True)


def echo(**params: Any) -> Frame:
    return {"step": "tool", "name": "echo", "params": params}


def headers(user_id: str, token: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token or mint_token(user_id, SECRET)}"}


async def receive(websocket: ClientConnection) -> Frame:
    async with asyncio.timeout(BOUND):
        frame: Frame = json.loads(await websocket.recv())
    return frame


async def until_terminal(websocket: ClientConnection, run_id: str) -> list[Frame]:
    frames = []
    while True:
        frame = await receive(websocket)
        frames.append(frame)
        if frame.get("run_id") == run_id and frame["type"] in TERMINAL:
            return frames


async def completes(websocket: ClientConnection, plan: list[Frame] | None = None) -> list[Frame]:
    """Run one turn on ``websocket`` and assert it completed; return its frames."""
    __tracebackhide__ = True
    run_id = new_id("run")
    await websocket.send(chat(run_id, plan if plan is not None else [echo(probe=1)]))
    frames = await until_terminal(websocket, run_id)
    assert frames[-1]["type"] == "agent_completed", frames[-1]
    return frames


async def close_code(websocket: ClientConnection) -> tuple[int | None, str]:
    """Read until the server closes ``websocket``; return the close code and reason."""
    try:
        async with asyncio.timeout(BOUND):
            while True:
                await websocket.recv()
    except ConnectionClosed as closed:
        if closed.rcvd is None:
            return None, ""
        return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("unreachable")  # pragma: no cover


async def eventually(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds, polling at most ``BOUND`` seconds."""
    __tracebackhide__ = True
    for _ in range(int(BOUND / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{what}: still not so after {BOUND:g}s")


StartServer = Callable[..., Awaitable[BackendServer]]


@pytest_asyncio.fixture
async def start_server() -> AsyncIterator[StartServer]:
    servers: list[BackendServer] = []

    async def start(**options: Any) -> BackendServer:
        server = await serve("127.0.0.1", 0, secret=SECRET, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("raw_delay", "shown"),
    [("NaN", "nan"), ("Infinity", "inf"), ("1e9", "1000000000.0"), ("-1", "-1")],
)
async def test_a_bad_delay_is_the_senders_error_and_nobody_stalls(
    start_server: StartServer, raw_delay: str, shown: str
) -> None:
    server = await start_server()
    async with (
        connect(server.url, additional_headers=headers(ALICE)) as alice,
        connect(server.url, additional_headers=headers(BOB)) as bob,
    ):
        run_id = new_id("run")
        raw = chat(run_id, [echo(delay=0)]).replace('"delay": 0', f'"delay": {raw_delay}')
        await alice.send(raw)
        error = await receive(alice)
        assert (error["type"], error["run_id"], error["payload"]["code"]) == (
            "error",
            run_id,
            "invalid_message",
        )
        assert f"plan[0].params.delay={shown}" in error["payload"]["error"]
        assert "between 0 and 30" in error["payload"]["error"]
        assert server.statistics().turns_started == 0
        # Nobody's timers were touched: both users' timed turns end.
        await completes(bob, [{"step": "pause", "seconds": 0.05}, echo(delay=0.05)])
        await completes(alice, [{"step": "pause", "seconds": 0.05}])


@pytest.mark.asyncio
async def test_params_900_deep_are_refused_without_a_traceback(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    params: Frame = {}
    inner = params
    for _ in range(899):
        inner["a"] = {}
        inner = inner["a"]
    caplog.set_level(logging.DEBUG)
    async with connect(server.url, additional_headers=headers(ALICE)) as alice:
        run_id = new_id("run")
        await alice.send(chat(run_id, [echo(deep=params)]))
        error = await receive(alice)
        assert error["payload"]["code"] == "invalid_message"
        assert "max_params_depth" in error["payload"]["error"]
        await completes(alice)
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []
    assert all(len(r.getMessage()) < 1000 for r in caplog.records)


@pytest.mark.asyncio
async def test_error_frames_echo_only_a_short_excerpt(start_server: StartServer) -> None:
    server = await start_server()
    async with connect(server.url, additional_headers=headers(ALICE)) as alice:
        huge = "t" * 200_000
        await alice.send(chat(new_id("run"), [], thread_id=huge))
        await alice.send(json.dumps({"type": huge}))
        await alice.send(json.dumps({"type": "chat_message", huge: 1}))
        for _ in range(3):
            raw = await alice.recv()
            assert len(raw) < 1000, raw[:300]


@pytest.mark.asyncio
async def test_a_flooding_connection_gets_one_notice_a_second_then_is_closed_with_4429(
    start_server: StartServer,
) -> None:
    limits = ServerLimits(rate=5, burst=5, flood_tolerance=20)
    server = await start_server(limits=limits)
    async with (
        connect(server.url, additional_headers=headers(ALICE)) as flooder,
        connect(server.url, additional_headers=headers(BOB)) as victim,
    ):
        for _ in range(200):
            await flooder.send('{"type": "ping"}')
        replies: list[Frame] = []
        try:
            async with asyncio.timeout(BOUND):
                while True:
                    replies.append(json.loads(await flooder.recv()))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            assert closed.rcvd.code == BUDGET_CLOSE_CODE
            assert "flooding" in closed.rcvd.reason
        notices = [r for r in replies if r["type"] == "error"]
        assert [n["payload"]["code"] for n in notices] == ["rate_limited"]
        assert 5 <= sum(r == {"type": "pong"} for r in replies) <= 8
        assert server.statistics().frames_dropped >= 20
        await completes(victim)
        await completes(victim)


@pytest.mark.asyncio
async def test_the_users_frame_rate_is_shared_by_its_connections(
    start_server: StartServer,
) -> None:
    limits = ServerLimits(rate=100, burst=100, user_rate=5, user_burst=6, flood_tolerance=1000)
    server = await start_server(limits=limits)
    async with (
        connect(server.url, additional_headers=headers(ALICE)) as tab_one,
        connect(server.url, additional_headers=headers(ALICE)) as tab_two,
    ):
        for tab in (tab_one, tab_two):
            for _ in range(5):
                await tab.send('{"type": "ping"}')
        replies = [await receive(tab_one) for _ in range(5)]
        replies += [await receive(tab_two) for _ in range(2)]
    assert sum(r == {"type": "pong"} for r in replies) == 6
    assert sum(r.get("type") == "error" for r in replies) == 1


@pytest.mark.asyncio
async def test_connections_past_the_users_budget_are_closed_with_4429(
    start_server: StartServer,
) -> None:
    server = await start_server(limits=ServerLimits(connections_per_user=2))
    async with (
        connect(server.url, additional_headers=headers(ALICE)) as first,
        connect(server.url, additional_headers=headers(ALICE)) as second,
    ):
        async with connect(server.url, additional_headers=headers(ALICE)) as third:
            code, reason = await close_code(third)
        assert code == BUDGET_CLOSE_CODE
        assert "too many connections" in reason and "the most is 2" in reason
        async with connect(server.url, additional_headers=headers(BOB)) as bob:
            await completes(bob)
        await completes(first)
        await second.close()
        await eventually(lambda: server.statistics().connections == 1, "second unregistered")
        async with connect(server.url, additional_headers=headers(ALICE)) as again:
            await completes(again)


@pytest.mark.asyncio
async def test_turns_in_flight_are_bounded_per_connection_and_per_user(
    start_server: StartServer,
) -> None:
    limits = ServerLimits(turns_per_connection=2, turns_per_user=3)
    server = await start_server(limits=limits, max_engines_per_user=10)
    slow = [{"step": "pause", "seconds": 0.3}]
    async with (
        connect(server.url, additional_headers=headers(ALICE)) as tab_one,
        connect(server.url, additional_headers=headers(ALICE)) as tab_two,
    ):
        runs = [new_id("run") for _ in range(5)]
        for run_id in runs[:3]:
            await tab_one.send(chat(run_id, slow))
        refused = [f for f in [await receive(tab_one) for _ in range(3)] if f["type"] == "error"]
        assert [f["run_id"] for f in refused] == [runs[2]]
        assert "turns_per_connection=2" in refused[0]["payload"]["error"]
        for run_id in runs[3:]:
            await tab_two.send(chat(run_id, slow))
        last = await until_terminal(tab_two, runs[4])
        assert last[-1]["payload"]["code"] == "rejected"
        assert "turns_per_user=3" in last[-1]["payload"]["error"]
        for run_id in (runs[0], runs[1], runs[3]):
            assert (await until_terminal(tab_two, run_id))[-1]["type"] == "agent_completed"
    assert server.statistics().turns_started == 3


def _small_receive_buffer() -> socket.socket:
    # A client that stops reading: a tiny receive window, so the server's output backs up.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("max_unsent_bytes", "send_timeout", "why"),
    # The send timeout is 0.5 s: a frame waits only while the client's socket is full, so a
    # victim reading its frames is never cut (its frames go straight into the socket), and the
    # sleeper's stalled frame trips it within half a second of the socket filling up.
    [(256 * 1024, 30.0, "over 262144 bytes unsent"), (2**30, 0.5, "a frame waited over 0.5s")],
    ids=["unsent-bytes", "send-timeout"],
)
async def test_a_client_that_stops_reading_is_dropped_with_4408_and_others_go_on(
    start_server: StartServer, max_unsent_bytes: int, send_timeout: float, why: str
) -> None:
    # Rate limits over the 100 frames a second sent below: the drop must be the slow-client
    # bound's, never the flood bound's.
    limits = ServerLimits(
        max_unsent_bytes=max_unsent_bytes,
        send_timeout=send_timeout,
        rate=200,
        burst=200,
        user_rate=200,
        user_burst=200,
    )
    server = await start_server(limits=limits)
    sock = _small_receive_buffer()
    sock.connect(("127.0.0.1", server.port))
    async with (
        connect(
            server.url, sock=sock, additional_headers=headers(ALICE), max_queue=1, max_size=None
        ) as sleeper,
        connect(server.url, additional_headers=headers(BOB)) as victim,
    ):
        # Incompressible (the connection may use permessage-deflate), seeded for replay.
        payload = random.Random(13).randbytes(10_000).hex()
        sent = 0
        # Each turn answers with about four times its payload; the sleeper reads none of it.
        # The buffers fill within a few dozen turns; a stalled frame then waits out the send
        # timeout while this loop goes on at about 100 turns a second: well under 200 turns.
        async with asyncio.timeout(BOUND):
            while server.statistics().connections_dropped == 0 and sent < 200:
                await sleeper.send(chat(new_id("run"), [echo(blob=payload)], content=payload))
                sent += 1
                await asyncio.sleep(0.01)
        assert server.statistics().connections_dropped == 1, f"not dropped after {sent} turns"
        # It wakes up: what the server sent before dropping it, then the close frame.
        code, reason = await close_code(sleeper)
        assert code == SLOW_CLIENT_CLOSE_CODE, (code, reason)
        assert f"client not reading: {why}" == reason
        await eventually(
            lambda: not server.connections.connections_for(ALICE), "sleeper unregistered"
        )
        await completes(victim)


@pytest.mark.asyncio
async def test_a_dropped_connection_cancels_its_turns_so_its_user_is_not_locked_out(
    start_server: StartServer,
) -> None:
    server = await start_server(max_engines_per_user=2)
    long_turn = [echo(delay=25)]
    websocket = await connect(server.url, additional_headers=headers(ALICE))
    for _ in range(2):  # the user's whole engine budget, each held for 25 s
        await websocket.send(chat(new_id("run"), long_turn))
    started = [await receive(websocket) for _ in range(4)]
    assert [f["type"] for f in started].count("agent_started") == 2
    websocket.transport.abort()  # dropped: no close frame
    await eventually(lambda: server.statistics().turns_in_flight == 0, "turns cancelled")
    assert server.statistics().turns_cancelled == 2
    async with connect(server.url, additional_headers=headers(ALICE)) as again:
        frames = await completes(again)
    assert "error" not in [f["type"] for f in frames]


@pytest.mark.asyncio
async def test_a_turn_outlives_its_tab_while_another_tab_listens_and_no_longer(
    start_server: StartServer,
) -> None:
    server = await start_server(max_engines_per_user=1)
    sender = await connect(server.url, additional_headers=headers(ALICE))
    listener = await connect(server.url, additional_headers=headers(ALICE))
    run_id = new_id("run")
    await sender.send(chat(run_id, [echo(delay=25)]))
    assert (await receive(listener))["type"] == "agent_started"
    await sender.close()
    # The listener still sees the sender's turn: it keeps running.
    assert (await receive(listener))["type"] == "tool_executing"
    assert server.statistics().turns_in_flight == 1
    await listener.close()
    await eventually(lambda: server.statistics().turns_in_flight == 0, "orphan cancelled")
    assert server.statistics().turns_cancelled == 1
    async with connect(server.url, additional_headers=headers(ALICE)) as again:
        await completes(again)


@pytest.mark.asyncio
async def test_a_user_flooding_fresh_threads_cannot_take_over_another_users_thread(
    start_server: StartServer,
) -> None:
    server = await start_server(limits=ServerLimits(threads_per_user=5, rate=500, burst=500))
    owned = new_id("thread")
    async with (
        connect(server.url, additional_headers=headers(BOB)) as owner,
        connect(server.url, additional_headers=headers(ALICE)) as flooder,
    ):
        run_id = new_id("run")
        await owner.send(chat(run_id, [echo(probe=1)], thread_id=owned))
        assert (await until_terminal(owner, run_id))[-1]["type"] == "agent_completed"
        codes = []
        for _ in range(30):
            run_id = new_id("run")
            await flooder.send(chat(run_id, [], thread_id=new_id("thread")))
            codes.append((await until_terminal(flooder, run_id))[-1]["type"])
        assert codes[:5] == ["agent_completed"] * 5
        assert codes[5:] == ["error"] * 25
        steal = new_id("run")
        await flooder.send(chat(steal, [echo(probe=2)], thread_id=owned))
        error = (await until_terminal(flooder, steal))[-1]
        assert error["payload"]["code"] == "forbidden"
        assert "not found or not yours" in error["payload"]["error"]
        assert BOB not in json.dumps(error)
        run_id = new_id("run")
        await owner.send(chat(run_id, [echo(probe=3)], thread_id=owned))
        assert (await until_terminal(owner, run_id))[-1]["type"] == "agent_completed"
    assert server.ownership.threads_owned(ALICE) == 5


def _token(**claims: Any) -> str:
    now = int(time.time())  # a JWT's times are wall time by definition
    base: dict[str, Any] = {"sub": ALICE, "iat": now, "exp": now + 600, "jti": "j1"}
    base.update({key: value(now) for key, value in claims.items()})
    return jwt.encode(base, SECRET, algorithm="HS256")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"nbf": lambda now: now + 3600, "exp": lambda now: now + 7200}, "not yet valid"),
        (
            {"iat": lambda now: now + 10 * 365 * 86400, "exp": lambda now: now + 11 * 365 * 86400},
            "issued in the future",
        ),
        ({"exp": lambda now: now + 48 * 3600}, "lifetime too long"),
    ],
    ids=["nbf-future", "iat-ten-years-ahead", "lifetime-48h"],
)
async def test_tokens_outside_the_lifetime_policy_are_closed_with_4401(
    start_server: StartServer, claims: dict[str, Callable[[int], int]], reason: str
) -> None:
    server = await start_server()
    async with connect(server.url, additional_headers=headers(ALICE, _token(**claims))) as ws:
        code, text = await close_code(ws)
    assert code == 4401
    assert reason in text
    assert server.statistics().auth_refused == 1
