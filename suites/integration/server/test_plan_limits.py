"""Every number in a plan is finite and bounded; params are shallow and small; errors are short."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness_backend.protocol import (
    MAX_ERROR_CHARS,
    ChatMessage,
    PlanLimits,
    ProtocolError,
    error_frame,
    excerpt,
    parse_message,
)

RUN = "run_0123456789ab"
THREAD = "thread_0123456789ab"


def frame(plan: Any, **overrides: Any) -> str:
    message = {
        "type": "chat_message",
        "content": "hello",
        "thread_id": THREAD,
        "run_id": RUN,
        "plan": plan,
    }
    message.update(overrides)
    # allow_nan: the frames a hostile client sends, NaN and Infinity included.
    return json.dumps(message, allow_nan=True)


def refused(raw: str, limits: PlanLimits | None = None) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        parse_message(raw, limits)
    return caught.value


def tool(params: dict[str, Any]) -> dict[str, Any]:
    return {"step": "tool", "name": "echo", "params": params}


BAD_SECONDS = [
    (float("nan"), "nan"),
    (float("inf"), "inf"),
    (float("-inf"), "-inf"),
    (1e9, "1000000000.0"),
    (31, "31"),
    (-1, "-1"),
    (True, "True"),
    ("1", "'1'"),
    (None, "None"),
    (10**400, "1000"),
]


@pytest.mark.parametrize(("value", "shown"), BAD_SECONDS, ids=[s for _, s in BAD_SECONDS])
def test_a_tool_delay_outside_its_bound_is_refused_naming_field_and_bound(
    value: object, shown: str
) -> None:
    error = refused(frame([tool({"delay": value})]))
    assert (error.code, error.run_id) == ("invalid_message", RUN)
    assert f"plan[0].params.delay={shown}" in error.message
    assert "between 0 and 30" in error.message


@pytest.mark.parametrize(("value", "shown"), BAD_SECONDS, ids=[s for _, s in BAD_SECONDS])
def test_a_pause_outside_its_bound_is_refused(value: object, shown: str) -> None:
    error = refused(frame([{"step": "pause", "seconds": value}]))
    assert error.code == "invalid_message"
    assert f"plan[0].seconds={shown}" in error.message
    assert "between 0 and 30" in error.message


@pytest.mark.parametrize("seconds", [0, 0.25, 30, 30.0])
def test_numbers_within_the_bounds_pass(seconds: float) -> None:
    message = parse_message(
        frame([tool({"delay": seconds}), {"step": "pause", "seconds": seconds}])
    )
    assert isinstance(message, ChatMessage)
    assert message.plan[0]["params"]["delay"] == seconds


def test_the_bounds_are_configurable() -> None:
    limits = PlanLimits(max_delay=60, max_pause=1, max_plan_seconds=100)
    message = parse_message(frame([tool({"delay": 45})]), limits)
    assert isinstance(message, ChatMessage)
    error = refused(frame([{"step": "pause", "seconds": 2}]), limits)
    assert "plan[0].seconds=2" in error.message and "between 0 and 1" in error.message


def test_a_plan_longer_than_max_plan_seconds_is_refused() -> None:
    plan = [{"step": "pause", "seconds": 25}] * 4 + [tool({"delay": 25})]
    error = refused(frame(plan))
    assert "add up to 125s" in error.message
    assert "max_plan_seconds=120" in error.message


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_a_non_finite_number_anywhere_in_params_is_refused(value: float) -> None:
    error = refused(frame([tool({"a": 1, "b": {"list": [1, value]}})]))
    assert error.code == "invalid_message"
    assert f"plan[0].params['b']['list'][1]={value!r} is not a finite number" in error.message


def nested(depth: int) -> dict[str, Any]:
    params: dict[str, Any] = {}
    inner = params
    for _ in range(depth - 1):
        inner["a"] = {}
        inner = inner["a"]
    return params


def test_params_900_deep_are_the_clients_error_before_any_copy() -> None:
    raw = frame([tool(nested(900))])
    error = refused(raw)
    assert error.code == "invalid_message"
    assert "nests deeper than max_params_depth=16" in error.message
    assert len(error.message) < MAX_ERROR_CHARS


def test_params_at_the_depth_bound_pass() -> None:
    assert isinstance(parse_message(frame([tool(nested(16))])), ChatMessage)
    assert refused(frame([tool(nested(17))])).code == "invalid_message"


def test_a_frame_too_deep_to_decode_is_bad_json_not_a_crash() -> None:
    error = refused("[" * 100_000 + "]" * 100_000)
    assert error.code == "bad_json"
    assert "nests too deeply" in error.message


def test_params_with_too_many_values_are_refused() -> None:
    error = refused(frame([tool({"items": list(range(3000))})]))
    assert "more than max_params_items=2000 values" in error.message


@pytest.mark.parametrize(
    "overrides",
    [
        {"thread_id": "t" * 250_000},
        {"thread_id": ["x" * 1000] * 250},
        {"content": ["y" * 250_000]},
        {"type": "z" * 250_000},
        {"plan_": "p" * 250_000},
        {"plan_": [{"step": "q" * 250_000}]},
        {"extra_" + "k" * 1000: 1},
    ],
    ids=["thread", "thread-list", "content", "type", "plan", "step", "extra-key"],
)
def test_error_messages_quote_only_a_short_excerpt(overrides: dict[str, Any]) -> None:
    plan = overrides.pop("plan_", [])
    error = refused(frame(plan, **overrides))
    assert len(error.message) <= 250, error.message[:300]


def test_excerpt_is_bounded_on_deep_and_huge_values() -> None:
    assert len(excerpt("x" * 10**6)) <= 80
    assert len(excerpt(nested(900))) <= 80
    assert len(excerpt(list(range(10**5)))) <= 80
    assert len(excerpt(10**400)) <= 80
    assert excerpt("short") == "'short'"


def test_error_frames_are_cut_to_max_error_chars() -> None:
    payload = error_frame("invalid_message", "m" * 10_000)["payload"]
    assert len(payload["error"]) == MAX_ERROR_CHARS
    assert payload["error"].endswith("...")


@pytest.mark.parametrize(
    "options", [{"max_delay": float("nan")}, {"max_pause": -1}, {"max_params_depth": True}]
)
def test_plan_limits_refuse_bad_bounds(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must be a finite number >= 0"):
        PlanLimits(**options)
