from __future__ import annotations

from typing import Any

import pytest

from harness_backend import ConnectionRegistry, UserEventEmitter

ALICE = "usr_a1a1a1a1a1a1"
BOB = "usr_b2b2b2b2b2b2"


class RecordingConnection:
    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id
        self.events: list[dict[str, Any]] = []

    async def send(self, event: dict[str, Any]) -> None:
        self.events.append(event)


class BrokenConnection:
    def __init__(self, connection_id: str) -> None:
        self.connection_id = connection_id

    async def send(self, event: dict[str, Any]) -> None:
        raise ConnectionResetError("socket closed")


@pytest.mark.asyncio
async def test_event_reaches_every_tab_of_the_user_and_nobody_else() -> None:
    registry = ConnectionRegistry()
    alice_tabs = [RecordingConnection(registry.next_connection_id()) for _ in range(3)]
    bob_tab = RecordingConnection(registry.next_connection_id())
    for tab in alice_tabs:
        registry.register(ALICE, tab)
    registry.register(BOB, bob_tab)
    emitter = UserEventEmitter(ALICE, registry)

    report = await emitter.emit(
        "agent_thinking", run_id="run_000000000001", thread_id="thread_1", payload={"text": "hi"}
    )

    assert report.ok and report.delivered == 3 and report.failed == ()
    for tab in alice_tabs:
        assert [e["user_id"] for e in tab.events] == [ALICE]
        assert tab.events[0]["payload"] == {"text": "hi"}
    assert bob_tab.events == []


@pytest.mark.asyncio
async def test_failed_connection_is_reported_and_others_still_receive() -> None:
    registry = ConnectionRegistry()
    good = RecordingConnection("conn_good")
    broken = BrokenConnection("conn_broken")
    registry.register(ALICE, broken)
    registry.register(ALICE, good)
    emitter = UserEventEmitter(ALICE, registry)

    report = await emitter.emit(
        "agent_started", run_id="run_000000000001", thread_id="thread_1", payload={}
    )

    assert report.failed == ("conn_broken",)
    assert report.delivered == 1
    assert not report.ok
    assert len(good.events) == 1
    assert registry.statistics().failed == 1
    assert emitter.statistics().failed == 1
    assert emitter.statistics().delivered == 0


@pytest.mark.asyncio
async def test_delivery_to_nobody_is_not_a_success() -> None:
    registry = ConnectionRegistry()
    emitter = UserEventEmitter(ALICE, registry)
    report = await emitter.emit(
        "agent_started", run_id="run_000000000001", thread_id="thread_1", payload={}
    )
    assert report.delivered == 0 and not report.ok
    assert registry.statistics().undeliverable == 1


def test_unregister_drops_empty_user_entries() -> None:
    registry = ConnectionRegistry()
    first, second = RecordingConnection("conn_1"), RecordingConnection("conn_2")
    registry.register(ALICE, first)
    registry.register(ALICE, second)
    registry.unregister(ALICE, first)
    assert registry.connections_for(ALICE) == (second,)
    registry.unregister(ALICE, second)
    assert registry.connections_for(ALICE) == ()
    assert ALICE not in registry._by_user
    assert registry.statistics().users == 0


def test_a_connection_id_cannot_belong_to_two_users() -> None:
    registry = ConnectionRegistry()
    registry.register(ALICE, RecordingConnection("conn_1"))
    with pytest.raises(ValueError, match="connection_id='conn_1'"):
        registry.register(BOB, RecordingConnection("conn_1"))


def test_connection_ids_come_from_a_per_registry_counter() -> None:
    first, second = ConnectionRegistry(), ConnectionRegistry()
    assert [first.next_connection_id() for _ in range(2)] == ["conn_1", "conn_2"]
    assert second.next_connection_id() == "conn_1"


def test_emitter_refuses_unknown_event_type() -> None:
    emitter = UserEventEmitter(ALICE, ConnectionRegistry())
    with pytest.raises(ValueError, match="event_type='agent_done'"):
        emitter.build("agent_done", run_id="run_1", thread_id="thread_1", payload={})


def test_emitter_event_carries_the_bound_user() -> None:
    emitter = UserEventEmitter(ALICE, ConnectionRegistry())
    event = emitter.build("agent_error", run_id="run_1", thread_id="thread_1", payload={"e": 1})
    assert event == {
        "type": "agent_error",
        "run_id": "run_1",
        "thread_id": "thread_1",
        "user_id": ALICE,
        "payload": {"e": 1},
    }
