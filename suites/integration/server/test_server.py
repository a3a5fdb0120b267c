"""The WebSocket server over real loopback sockets, started in-process on a free port."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import jwt
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

import harness_backend.server
from harness_backend.auth import mint_token
from harness_backend.factory import ExecutionEngineFactory
from harness_backend.server import BackendServer, ServerLimits, serve

SECRET = "integration-secret-0123456789abcdef-0123456789"
ALICE = "usr_a11ce0000001"
BOB = "usr_b0b000000002"
THREAD = "thread_0123456789ab"
TIMEOUT = 10.0
TERMINAL = ("agent_completed", "agent_error")
_ids = itertools.count(1)

Frame = dict[str, Any]
StartServer = Callable[..., Awaitable[BackendServer]]


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_ids):012x}"


def chat(thread_id: str, run_id: str, plan: list[Frame] | None = None, **extra: Any) -> str:
    message = {
        "type": "chat_message",
        "content": f"hello from {run_id}",
        "thread_id": thread_id,
        "run_id": run_id,
        "plan": plan if plan is not None else [],
    }
    return json.dumps({**message, **extra})


def echo_plan(pause: float = 0.0) -> list[Frame]:
    plan: list[Frame] = [{"step": "think", "text": "planning"}]
    if pause:
        plan.append({"step": "pause", "seconds": pause})
    plan.append({"step": "tool", "name": "echo", "params": {"probe": 1}})
    return plan


async def receive(websocket: ClientConnection) -> Frame:
    async with asyncio.timeout(TIMEOUT):
        frame: Frame = json.loads(await websocket.recv())
    return frame


async def until_terminal(websocket: ClientConnection, run_id: str) -> list[Frame]:
    """Frames up to this run's terminal event or its error frame (inclusive)."""
    frames = []
    while True:
        frame = await receive(websocket)
        frames.append(frame)
        if frame.get("run_id") == run_id and frame["type"] in (*TERMINAL, "error"):
            return frames


async def assert_nothing_pending(websocket: ClientConnection) -> None:
    """A ping's pong is the next frame: nothing else was queued on this connection."""
    await websocket.send(json.dumps({"type": "ping"}))
    assert await receive(websocket) == {"type": "pong"}


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


@pytest_asyncio.fixture
async def server(start_server: StartServer) -> BackendServer:
    return await start_server()


@pytest_asyncio.fixture
async def open_client(
    server: BackendServer,
) -> AsyncIterator[Callable[[str], Awaitable[ClientConnection]]]:
    clients: list[ClientConnection] = []

    async def open_for(user_id: str) -> ClientConnection:
        token = mint_token(user_id, SECRET)
        websocket = await connect(
            server.url, additional_headers={"Authorization": f"Bearer {token}"}
        )
        clients.append(websocket)
        return websocket

    yield open_for
    for websocket in clients:
        await websocket.close()


OpenClient = Callable[[str], Awaitable[ClientConnection]]


def test_all_lists_the_public_names() -> None:
    assert set(harness_backend.server.__all__) == {
        "AUTH_CLOSE_CODE",
        "BUDGET_CLOSE_CODE",
        "SLOW_CLIENT_CLOSE_CODE",
        "ServerLimits",
        "ServerStatistics",
        "WebSocketConnection",
        "BackendServer",
        "serve",
    }


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("max_size", ">= 1"),
        ("burst", ">= 1"),
        ("threads_per_user", ">= 1"),
        ("connections_per_user", ">= 1"),
        ("max_unsent_bytes", ">= 1"),
        ("rate", "> 0"),
        ("send_timeout", "> 0"),
    ],
)
def test_server_limits_reject_values_below_their_floor(field: str, expected: str) -> None:
    with pytest.raises(
        ValueError, match=f"ServerLimits.{field}=0 must be a finite number {expected}"
    ):
        ServerLimits(**{field: 0})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True, "3"])
def test_server_limits_reject_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match=r"ServerLimits\.rate="):
        ServerLimits(rate=value)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_planned_turn_gets_every_event_with_the_turns_ids(
    server: BackendServer, open_client: OpenClient
) -> None:
    assert server.url == f"ws://127.0.0.1:{server.port}" and server.port > 0
    websocket = await open_client(ALICE)
    thread_id, run_id = new_id("thread"), new_id("run")
    await websocket.send(chat(thread_id, run_id, echo_plan(pause=0.01)))
    frames = await until_terminal(websocket, run_id)
    assert [frame["type"] for frame in frames] == [
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_completed",
    ]
    for frame in frames:
        assert (frame["user_id"], frame["run_id"], frame["thread_id"]) == (
            ALICE,
            run_id,
            thread_id,
        )
    echoed = frames[3]["payload"]["result"]
    assert echoed["user_id"] == ALICE
    assert (echoed["run_id"], echoed["thread_id"]) == (run_id, thread_id)
    assert echoed["params"] == {"probe": 1}
    tool_results = frames[4]["payload"]["result"]["tool_results"]
    assert [result["name"] for result in tool_results] == ["echo"]
    assert tool_results[0]["result"]["user_id"] == ALICE
    await assert_nothing_pending(websocket)


@pytest.mark.asyncio
async def test_fail_step_ends_with_agent_error(open_client: OpenClient) -> None:
    websocket = await open_client(ALICE)
    run_id = new_id("run")
    await websocket.send(chat(new_id("thread"), run_id, [{"step": "fail", "reason": "nope"}]))
    frames = await until_terminal(websocket, run_id)
    assert [frame["type"] for frame in frames] == ["agent_started", "agent_error"]
    assert "nope" in frames[-1]["payload"]["error"]


@pytest.mark.asyncio
async def test_token_in_a_subprotocol_is_accepted_and_selected(server: BackendServer) -> None:
    subprotocol = f"jwt.{mint_token(ALICE, SECRET)}"
    async with connect(server.url, subprotocols=[subprotocol]) as websocket:  # type: ignore[list-item]
        assert websocket.subprotocol == subprotocol
        run_id = new_id("run")
        await websocket.send(chat(new_id("thread"), run_id, echo_plan()))
        frames = await until_terminal(websocket, run_id)
        assert frames[-1]["type"] == "agent_completed"
        assert frames[-1]["user_id"] == ALICE


def _claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"sub": ALICE, "iat": 1_700_000_000, "exp": 4_000_000_000, "jti": "j1"}
    claims.update(overrides)
    return {key: value for key, value in claims.items() if value is not None}


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("make_token", "reason"),
    [
        (lambda: None, "missing token"),
        (lambda: mint_token(ALICE, "forged-secret-0123456789abcdef-0123"), "bad signature"),
        (lambda: mint_token(ALICE, SECRET, ttl=-5), "expired"),
        (lambda: jwt.encode(_claims(jti=None), SECRET, algorithm="HS256"), "missing claim 'jti'"),
        (lambda: jwt.encode(_claims(exp=None), SECRET, algorithm="HS256"), "missing claim 'exp'"),
        (lambda: mint_token("test", SECRET), "invalid claim 'sub'"),
        (lambda: "garbage", "malformed token"),
    ],
    ids=["none", "forged", "expired", "no-jti", "no-exp", "placeholder-sub", "garbage"],
)
async def test_bad_tokens_are_closed_with_4401_and_a_reason(
    server: BackendServer, make_token: Callable[[], str | None], reason: str
) -> None:
    token = make_token()
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with connect(server.url, additional_headers=headers) as websocket:
        with pytest.raises(ConnectionClosed) as caught:
            await receive(websocket)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == 4401
    assert reason in caught.value.rcvd.reason
    assert server.statistics().auth_refused == 1
    assert server.connections.statistics().connections == 0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("frame", "code", "fragment"),
    [
        ("{not json", "bad_json", "not valid UTF-8 JSON"),
        ("[1, 2]", "unknown_type", "expected an object"),
        ('{"type": "shout"}', "unknown_type", "type='shout'"),
        (
            chat("thread_0123456789ab", "run_0123456789ab", content=3),
            "invalid_message",
            "content=3",
        ),
        (chat("default", "run_0123456789ab"), "invalid_message", "thread_id='default'"),
        (
            chat(THREAD, "run_0123456789ab", [{"step": "dance"}]),
            "invalid_message",
            "plan[0].step='dance'",
        ),
    ],
    ids=["bad-json", "not-object", "unknown-type", "content", "placeholder-thread", "step"],
)
async def test_bad_frames_get_an_error_and_the_connection_stays_usable(
    open_client: OpenClient, frame: str, code: str, fragment: str
) -> None:
    websocket = await open_client(ALICE)
    await websocket.send(frame)
    error = await receive(websocket)
    assert error["type"] == "error"
    assert error["payload"]["code"] == code
    assert fragment in error["payload"]["error"]
    run_id = new_id("run")
    await websocket.send(chat(new_id("thread"), run_id, echo_plan()))
    assert (await until_terminal(websocket, run_id))[-1]["type"] == "agent_completed"


@pytest.mark.asyncio
async def test_another_users_thread_and_run_are_forbidden(open_client: OpenClient) -> None:
    alice, bob = await open_client(ALICE), await open_client(BOB)
    alice_thread, alice_run = new_id("thread"), new_id("run")
    await alice.send(chat(alice_thread, alice_run, echo_plan()))
    await until_terminal(alice, alice_run)

    bob_run = new_id("run")
    await bob.send(chat(alice_thread, bob_run, echo_plan()))
    error = await receive(bob)
    assert (error["type"], error["run_id"], error["payload"]["code"]) == (
        "error",
        bob_run,
        "forbidden",
    )
    assert ALICE not in json.dumps(error)

    await bob.send(chat(new_id("thread"), alice_run, echo_plan()))
    error = await receive(bob)
    assert error["payload"]["code"] == "forbidden"
    assert f"run_id={alice_run!r}" in error["payload"]["error"]

    # Bob is still served, and Alice saw none of it.
    bob_thread, bob_run = new_id("thread"), new_id("run")
    await bob.send(chat(bob_thread, bob_run, echo_plan()))
    frames = await until_terminal(bob, bob_run)
    assert frames[-1]["type"] == "agent_completed"
    assert {frame["user_id"] for frame in frames} == {BOB}
    await assert_nothing_pending(alice)


@pytest.mark.asyncio
async def test_a_run_id_cannot_be_reused(open_client: OpenClient) -> None:
    websocket = await open_client(ALICE)
    thread_id, run_id = new_id("thread"), new_id("run")
    await websocket.send(chat(thread_id, run_id, echo_plan()))
    await until_terminal(websocket, run_id)
    await websocket.send(chat(thread_id, run_id, echo_plan()))
    error = await receive(websocket)
    assert (error["run_id"], error["payload"]["code"]) == (run_id, "invalid_message")
    assert "already used" in error["payload"]["error"]


@pytest.mark.asyncio
async def test_ping_pong(open_client: OpenClient) -> None:
    await assert_nothing_pending(await open_client(ALICE))


@pytest.mark.asyncio
async def test_oversized_frame_closes_with_1009(start_server: StartServer) -> None:
    server = await start_server(limits=ServerLimits(max_size=4096))
    headers = {"Authorization": f"Bearer {mint_token(ALICE, SECRET)}"}
    async with connect(server.url, additional_headers=headers) as websocket:
        await websocket.send(chat(new_id("thread"), new_id("run"), content="x" * 5000))
        with pytest.raises(ConnectionClosed) as caught:
            await receive(websocket)
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1009


@pytest.mark.asyncio
async def test_flood_is_rate_limited_without_disturbing_another_user(
    start_server: StartServer,
) -> None:
    server = await start_server(limits=ServerLimits(rate=20, burst=40, flood_tolerance=100))
    flood_count = 100

    def headers(user_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(user_id, SECRET)}"}

    async with (
        connect(server.url, additional_headers=headers(ALICE)) as flooder,
        connect(server.url, additional_headers=headers(BOB)) as victim,
    ):
        loop = asyncio.get_running_loop()
        began = loop.time()
        run_id = new_id("run")
        await victim.send(chat(new_id("thread"), run_id, echo_plan(pause=0.01)))
        await asyncio.gather(*(flooder.send('{"type": "ping"}') for _ in range(flood_count)))
        frames = await until_terminal(victim, run_id)
        assert [frame["type"] for frame in frames][-1] == "agent_completed"
        assert all(frame["type"] != "error" for frame in frames)

        # Past the flood the bucket refills; the replies to the flood come before this turn's.
        await asyncio.sleep(0.2)
        marker = new_id("run")
        await flooder.send(chat(new_id("thread"), marker, echo_plan()))
        replies = await until_terminal(flooder, marker)
        assert replies[-1]["type"] == "agent_completed"
        replies = [reply for reply in replies if reply.get("run_id") != marker]
        elapsed = loop.time() - began
        notices = [reply for reply in replies if reply["type"] == "error"]
        pongs = [reply for reply in replies if reply == {"type": "pong"}]
        assert {notice["payload"]["code"] for notice in notices} == {"rate_limited"}
        # One notice a second at most, never one per dropped frame.
        assert 1 <= len(notices) <= int(elapsed) + 1
        assert server.statistics().frames_dropped == flood_count - len(pongs)
        assert len(pongs) >= 40
        assert flooder.state is State.OPEN


@pytest.mark.asyncio
async def test_every_tab_of_a_user_gets_every_event_and_nobody_else_does(
    open_client: OpenClient,
) -> None:
    tab_one, tab_two, bob = (
        await open_client(ALICE),
        await open_client(ALICE),
        await open_client(BOB),
    )
    run_id = new_id("run")
    await tab_one.send(chat(new_id("thread"), run_id, echo_plan()))
    first, second = await until_terminal(tab_one, run_id), await until_terminal(tab_two, run_id)
    assert first == second
    assert len(first) == 5
    await assert_nothing_pending(bob)


@pytest.mark.asyncio
async def test_closing_a_tab_keeps_its_turn_running_for_the_other_tabs(
    open_client: OpenClient, server: BackendServer
) -> None:
    tab_one, tab_two = await open_client(ALICE), await open_client(ALICE)
    run_id = new_id("run")
    await tab_one.send(chat(new_id("thread"), run_id, echo_plan(pause=0.2)))
    assert (await receive(tab_one))["type"] == "agent_started"
    await tab_one.close()
    frames = await until_terminal(tab_two, run_id)
    assert [frame["type"] for frame in frames][-1] == "agent_completed"
    assert len(server.connections.connections_for(ALICE)) == 1


@pytest.mark.asyncio
async def test_more_turns_than_the_engine_limit_are_rejected(
    start_server: StartServer,
) -> None:
    server = await start_server(max_engines_per_user=2)
    headers = {"Authorization": f"Bearer {mint_token(ALICE, SECRET)}"}
    async with connect(server.url, additional_headers=headers) as websocket:
        thread_id = new_id("thread")
        runs = [new_id("run") for _ in range(3)]
        # The first two turns hold both engines while the third is read: the three frames
        # arrive back to back, so 0.4 s of planned work outlasts the reading many times over.
        for run_id in runs:
            await websocket.send(chat(thread_id, run_id, echo_plan(pause=0.4)))
        frames: list[Frame] = []
        async with asyncio.timeout(TIMEOUT):
            while sum(frame["type"] in (*TERMINAL, "error") for frame in frames) < 3:
                frames.append(await receive(websocket))
    by_run = {run_id: [f for f in frames if f["run_id"] == run_id] for run_id in runs}
    assert [f["type"] for f in by_run[runs[2]]] == ["error"]
    assert by_run[runs[2]][0]["payload"]["code"] == "rejected"
    for run_id in runs[:2]:
        assert by_run[run_id][-1]["type"] == "agent_completed"


@pytest.mark.asyncio
async def test_close_cancels_turns_and_closes_connections_with_1001(
    start_server: StartServer,
) -> None:
    server = await start_server()
    headers = {"Authorization": f"Bearer {mint_token(ALICE, SECRET)}"}
    async with connect(server.url, additional_headers=headers) as websocket:
        run_id = new_id("run")
        await websocket.send(chat(new_id("thread"), run_id, echo_plan(pause=25)))
        assert (await receive(websocket))["type"] == "agent_started"
        assert server.statistics().turns_in_flight == 1
        await server.close()
        with pytest.raises(ConnectionClosed) as caught:
            while True:
                await receive(websocket)
    assert caught.value.rcvd is not None and caught.value.rcvd.code == 1001
    assert server.statistics().turns_in_flight == 0


@pytest.mark.asyncio
async def test_a_given_factory_is_used_and_left_open(start_server: StartServer) -> None:
    factory = ExecutionEngineFactory(max_engines_per_user=1)
    server = await start_server(factory=factory)
    assert server.connections is factory.connections
    headers = {"Authorization": f"Bearer {mint_token(ALICE, SECRET)}"}
    async with connect(server.url, additional_headers=headers) as websocket:
        assert len(factory.connections.connections_for(ALICE)) == 1
        run_id = new_id("run")
        await websocket.send(chat(new_id("thread"), run_id, echo_plan()))
        assert (await until_terminal(websocket, run_id))[-1]["type"] == "agent_completed"
    await server.close()
    assert not factory.closed
    assert factory.connections.statistics().connections == 0
    assert server.statistics().turns_started == 1
    await factory.shutdown()
