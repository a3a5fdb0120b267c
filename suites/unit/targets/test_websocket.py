"""The WebSocket adapter's frame parsing, token handling and configuration errors."""

from __future__ import annotations

import json
from pathlib import Path

import jwt
import pytest

from harness.errors import ProtocolError, TargetAuthError, TargetLoadError
from harness.model import SimUser
from harness.targets.websocket import WebSocketTarget, mint_token, parse_frame

SECRET = "s" * 40


def _user(user_id: str) -> SimUser:
    return SimUser(user_id=user_id, thread_ids=(), email="", display_name="", canaries=())


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        ("{not json", "frame is not JSON"),
        ("[1, 2]", "a JSON list, not an object"),
        ('{"payload": {}}', "no string 'type'"),
        (b'{"type": 3}', "no string 'type'"),
    ],
)
def test_bad_frames_are_protocol_errors_quoting_the_frame(frame: str | bytes, message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_frame(frame)
    assert message in str(info.value)


def test_a_good_frame_parses() -> None:
    assert parse_frame('{"type": "agent_started", "run_id": "run_1"}')["type"] == "agent_started"


def test_minted_tokens_carry_the_four_claims() -> None:
    claims = jwt.decode(
        mint_token("usr_0123456789ab", SECRET, now=1000, ttl=60),
        SECRET,
        algorithms=["HS256"],
        options={"verify_exp": False},
    )
    assert claims["sub"] == "usr_0123456789ab"
    assert claims["exp"] - claims["iat"] == 60
    assert claims["jti"]


def test_no_secret_and_no_tokens_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_JWT_SECRET", raising=False)
    monkeypatch.delenv("HARNESS_TOKENS_FILE", raising=False)
    with pytest.raises(TargetLoadError, match="HARNESS_JWT_SECRET"):
        WebSocketTarget("ws://127.0.0.1:9")


def test_pre_issued_tokens_map_staging_ids_back_to_simulated_users(tmp_path: Path) -> None:
    tokens = {f"staff-{n}": mint_token(f"staff-{n}", SECRET) for n in range(2)}
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(tokens))
    target = WebSocketTarget("ws://127.0.0.1:9", tokens_file=path)
    assert target.token_for(_user("usr_aaaaaaaaaaaa")) == tokens["staff-0"]
    assert target.token_for(_user("usr_bbbbbbbbbbbb")) == tokens["staff-1"]
    assert target.simulated_id("staff-1") == "usr_bbbbbbbbbbbb"
    assert target.simulated_id("someone-else") == "someone-else"
    from harness.errors import TargetError

    with pytest.raises(TargetError, match="2 pre-issued tokens are all in use"):
        target.token_for(_user("usr_cccccccccccc"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{bad", "not valid JSON"),
        ("not-a-jwt\n", "token 1 is not a JWT"),
        ("\n", "holds no tokens"),
    ],
)
def test_bad_token_files_name_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "tokens.txt"
    path.write_text(content)
    with pytest.raises(TargetLoadError, match=message):
        WebSocketTarget("ws://127.0.0.1:9", tokens_file=path)


@pytest.mark.asyncio
async def test_an_http_401_on_the_handshake_is_a_refusal_of_credentials() -> None:
    """A gateway that answers 401 before the upgrade refuses the token just as a 4401 close."""
    from websockets.asyncio.server import ServerConnection, serve
    from websockets.http11 import Request, Response

    def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(401, "no such tenant\n")

    async def never(connection: ServerConnection) -> None:
        raise AssertionError("the handshake must not complete")

    async with serve(never, "127.0.0.1", 0, process_request=refuse) as server:
        port = server.sockets[0].getsockname()[1]
        target = WebSocketTarget(f"ws://127.0.0.1:{port}/ws", secret=SECRET)
        with pytest.raises(TargetAuthError) as refused:
            await target.open_session(_user("usr_0123456789ab"))
    assert "HTTP 401" in str(refused.value) and "usr_0123456789ab" in str(refused.value)


def test_read_frame_says_what_each_frame_means() -> None:
    import json as _json

    from harness.targets.websocket import FrameRead, read_frame

    def read(message: object) -> FrameRead:
        return read_frame(
            _json.dumps(message), ids_in=lambda m: m, seq=3, connection_id="c1", t=1.5
        )

    done = read({"type": "agent_completed", "run_id": "run_1", "payload": {"result": {"a": 1}}})
    assert done.event is not None and done.event.seq == 3 and done.event.connection_id == "c1"
    assert done.settles == ("run_1", "completed", {"a": 1}, None)
    failed = read({"type": "agent_error", "run_id": "run_1", "payload": {"error": "boom"}})
    assert failed.settles == ("run_1", "error", None, "boom")
    refused = read({"type": "error", "run_id": "run_2", "payload": {"code": "x", "error": "no"}})
    assert refused.event is None and refused.settles == ("run_2", "rejected", None, "x: no")
    assert refused.error_frame is not None
    started = read({"type": "agent_started", "run_id": "run_1"})
    assert started.event is not None and started.settles is None
    other = read({"type": "pong"})
    assert other.event is None and other.settles is None and other.problem is None
    broken = read_frame("{not json", ids_in=lambda m: m, seq=0, connection_id="c1", t=0.0)
    assert broken.problem is not None and broken.event is None
