"""Client frame validation, error frames and the per-connection token bucket."""

from __future__ import annotations

import json
from typing import Any

import pytest

import harness_backend.protocol
from harness_backend.protocol import (
    ChatMessage,
    Ping,
    ProtocolError,
    TokenBucket,
    error_frame,
    parse_message,
    pong_frame,
    validate_id,
)

RUN = "run_0123456789ab"
THREAD = "thread_0123456789ab"


def chat(**overrides: Any) -> str:
    message: dict[str, Any] = {
        "type": "chat_message",
        "content": "hello",
        "thread_id": THREAD,
        "run_id": RUN,
        "plan": [
            {"step": "think", "text": "hm"},
            {"step": "tool", "name": "echo", "params": {"x": 1}},
            {"step": "pause", "seconds": 0.5},
            {"step": "fail", "reason": "done"},
        ],
    }
    message.update(overrides)
    return json.dumps({key: value for key, value in message.items() if value is not ...})


def refused(raw: str | bytes) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_message(raw)
    return caught.value


def test_all_lists_the_public_names() -> None:
    assert set(harness_backend.protocol.__all__) == {
        "ERROR_CODES",
        "MESSAGE_TYPES",
        "STEP_KINDS",
        "MAX_PLAN_STEPS",
        "MAX_PAUSE_SECONDS",
        "MAX_ERROR_CHARS",
        "PlanLimits",
        "ProtocolError",
        "ChatMessage",
        "Ping",
        "excerpt",
        "parse_message",
        "validate_id",
        "error_frame",
        "pong_frame",
        "TokenBucket",
        "OwnershipTable",
    }


def test_valid_chat_message() -> None:
    message = parse_message(chat())
    assert isinstance(message, ChatMessage)
    assert (message.content, message.thread_id, message.run_id) == ("hello", THREAD, RUN)
    assert [step["step"] for step in message.plan] == ["think", "tool", "pause", "fail"]
    assert message.plan[1] == {"step": "tool", "name": "echo", "params": {"x": 1}}


def test_bytes_frame_and_missing_plan() -> None:
    message = parse_message(chat(plan=...).encode())
    assert isinstance(message, ChatMessage)
    assert message.plan == ()


def test_ping() -> None:
    assert parse_message('{"type": "ping"}') == Ping()
    assert pong_frame() == {"type": "pong"}


@pytest.mark.parametrize("raw", ["{not json", b"\xff\xfe", ""])
def test_bad_json(raw: str | bytes) -> None:
    assert refused(raw).code == "bad_json"


@pytest.mark.parametrize("raw", ["[1, 2]", '"chat"', "3"])
def test_not_an_object(raw: str) -> None:
    error = refused(raw)
    assert error.code == "unknown_type"
    assert "expected an object" in error.message


def test_unknown_type_names_the_value_and_keeps_the_run_id() -> None:
    error = refused(json.dumps({"type": "shout", "run_id": RUN}))
    assert error.code == "unknown_type"
    assert "type='shout'" in error.message
    assert error.run_id == RUN


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"content": 5}, "content=5"),
        ({"content": ...}, "missing field 'content'"),
        ({"thread_id": ...}, "missing field 'thread_id'"),
        ({"thread_id": "test"}, "thread_id='test' is a placeholder"),
        ({"thread_id": "has space"}, "thread_id='has space'"),
        ({"thread_id": "t" * 129}, "1-128 characters"),
        ({"run_id": 7}, "run_id=7"),
        ({"extra": 1}, "unknown fields ['extra']"),
        ({"plan": {}}, "plan={}"),
        ({"plan": ["think"]}, "plan[0]='think'"),
        ({"plan": [{"step": "dance"}]}, "plan[0].step='dance'"),
        ({"plan": [{"step": "think"}]}, "plan[0] (think) is missing field 'text'"),
        ({"plan": [{"step": "think", "text": 1}]}, "plan[0].text=1"),
        ({"plan": [{"step": "think", "text": "a", "x": 1}]}, "unknown fields ['x']"),
        ({"plan": [{"step": "tool", "name": "", "params": {}}]}, "plan[0].name=''"),
        ({"plan": [{"step": "tool", "name": "echo", "params": []}]}, "plan[0].params=[]"),
        ({"plan": [{"step": "pause", "seconds": -1}]}, "plan[0].seconds=-1"),
        ({"plan": [{"step": "pause", "seconds": True}]}, "plan[0].seconds=True"),
        ({"plan": [{"step": "pause", "seconds": 1e9}]}, "plan[0].seconds=1000000000.0"),
        ({"plan": [{"step": "fail", "reason": None}]}, "plan[0].reason=None"),
        ({"plan": [{"step": "think", "text": "a"}] * 201}, "at most 200"),
    ],
)
def test_invalid_message(overrides: dict[str, Any], fragment: str) -> None:
    error = refused(chat(**overrides))
    assert error.code == "invalid_message"
    assert fragment in error.message


def test_invalid_message_keeps_a_valid_run_id_only() -> None:
    assert refused(chat(content=5)).run_id == RUN
    assert refused(chat(run_id="null")).run_id is None


def test_plan_steps_are_copies() -> None:
    message = parse_message(chat())
    assert isinstance(message, ChatMessage)
    message.plan[1]["params"]["x"] = 2
    again = parse_message(chat())
    assert isinstance(again, ChatMessage)
    assert again.plan[1]["params"] == {"x": 1}


def test_validate_id() -> None:
    assert validate_id("run_id", RUN) == RUN
    for bad in ("", "DEFAULT", "a/b", None):
        with pytest.raises(ProtocolError, match="run_id="):
            validate_id("run_id", bad)


def test_error_frame_shape() -> None:
    assert error_frame("forbidden", "no", run_id=RUN) == {
        "type": "error",
        "run_id": RUN,
        "payload": {"code": "forbidden", "error": "no"},
    }
    assert error_frame("bad_json", "x")["run_id"] is None


def test_token_bucket_bursts_then_refills_with_the_clock() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.5  # one token back
    assert [bucket.take() for _ in range(2)] == [True, False]
    now[0] = 100.0  # capped at the burst
    assert sum(bucket.take() for _ in range(10)) == 3


@pytest.mark.parametrize(("rate", "burst"), [(0, 3), (1, 0.5)])
def test_token_bucket_rejects_bad_settings(rate: float, burst: float) -> None:
    with pytest.raises(ValueError, match="rate="):
        TokenBucket(rate=rate, burst=burst, clock=lambda: 0.0)
