"""What adapters hand back is checked: each message names the method, the value and the fix."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from harness.model import Event
from harness.runner._checks import check_events, check_roots, check_session, short_repr

pytestmark = pytest.mark.unit

EVENT = Event(type="agent_started", run_id="run_1", thread_id="t", user_id="u", payload={}, seq=0)


class _Session:
    async def run_turn(self, turn: Any) -> Any: ...

    def events(self) -> list[Event]:
        return []

    async def close(self) -> None: ...


def test_a_session_passes_and_other_values_are_named() -> None:
    assert check_session(_Session(), "open_session(u)") is None
    message = check_session(42, "open_session(u)")
    assert message is not None
    assert message.startswith("open_session(u) returned 42 (type int), not a Session")
    assert "it lacks run_turn, events, close()" in message


def test_roots_must_be_a_mapping() -> None:
    assert check_roots({}, "shared_roots()") is None
    message = check_roots([1], "shared_roots()")
    assert message is not None and "returned [1] (type list), not a mapping" in message


def test_well_formed_events_pass_untouched() -> None:
    assert check_events([EVENT], "events()") == ((EVENT,), None)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        ({"type": "agent_started"}, "item 1: a dict, not an Event"),
        (replace(EVENT, run_id=["run_1"]), "item 1: run_id=['run_1'] is a list, not a str"),  # type: ignore[arg-type]
        (replace(EVENT, user_id=7), "item 1: user_id=7 is a int, not a str or None"),  # type: ignore[arg-type]
        (replace(EVENT, payload=[]), "item 1: payload is a list, not a mapping"),  # type: ignore[arg-type]
    ],
)
def test_a_broken_event_is_dropped_and_named(bad: Any, expected: str) -> None:
    kept, message = check_events([EVENT, bad, EVENT], "s1: events()")
    assert kept == (EVENT, EVENT)
    assert message is not None and message.startswith(f"s1: events() {expected}")
    assert "harness.model.Event(" in message


def test_events_that_are_not_a_sequence_are_named() -> None:
    kept, message = check_events(None, "events()")
    assert kept == ()
    assert message is not None and "returned None (type NoneType), not a sequence" in message


def test_short_repr_cuts_long_values_and_survives_a_broken_repr() -> None:
    assert short_repr("x" * 500, 20) == repr("x" * 500)[:17] + "..."

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError

    assert short_repr(Hostile()) == "<unrepresentable Hostile: RuntimeError>"
