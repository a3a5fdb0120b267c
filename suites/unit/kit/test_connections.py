"""The connection registry delivers by the ids the backend chose, so misrouting shows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.kit import ConnectionRegistry, Owners
from harness.model import SimUser


class Tab:
    def __init__(self, user_id: str) -> None:
        self.user = SimUser(
            user_id=user_id, thread_ids=(), email="a@b.c", display_name="A", canaries=()
        )
        self.received: list[Mapping[str, Any]] = []

    def receive(self, message: Mapping[str, Any]) -> None:
        self.received.append(message)


def test_first_user_owns_a_thread_and_run() -> None:
    owners = Owners()
    assert owners.claim("usr_a", thread_id="thread_1", run_id="run_1")
    assert owners.claim("usr_a", thread_id="thread_1", run_id="run_2")
    assert not owners.claim("usr_b", thread_id="thread_1", run_id="run_3")
    assert owners.owner(run_id="run_3") is None  # a refused claim records nothing
    assert owners.owner(thread_id="thread_1") == "usr_a"
    owners.clear()
    assert owners.owner(thread_id="thread_1") is None


def test_every_tab_of_the_owner_receives_and_no_one_else() -> None:
    registry = ConnectionRegistry()
    a1, a2, b = Tab("usr_a"), Tab("usr_a"), Tab("usr_b")
    for tab in (a1, a2, b):
        registry.register(tab)
    registry.owners.claim("usr_a", thread_id="thread_a", run_id="run_a")
    message = {"type": "agent_started", "run_id": "run_a", "thread_id": "thread_a"}
    assert registry.send_to_thread("thread_a", message) == 2
    assert a1.received == a2.received == [message] and b.received == []


def test_a_backend_that_names_the_wrong_thread_misroutes_visibly() -> None:
    registry = ConnectionRegistry()
    a, b = Tab("usr_a"), Tab("usr_b")
    registry.register(a)
    registry.register(b)
    registry.owners.claim("usr_a", thread_id="thread_a", run_id="run_a")
    registry.owners.claim("usr_b", thread_id="thread_b", run_id="run_b")
    # A stale context: the event of a's run is sent on b's thread.
    stale = {"type": "tool_completed", "run_id": "run_a", "thread_id": "thread_b"}
    registry.send_to_thread("thread_b", stale)
    assert b.received == [stale] and a.received == []
    # deliver() follows the run's owner first, then the thread's, then the user_id sent.
    registry.deliver({"type": "agent_started", "run_id": "run_b", "thread_id": "thread_a"})
    assert len(b.received) == 2
    registry.deliver({"type": "agent_started", "user_id": "usr_a"})
    assert len(a.received) == 1


def test_unknown_owners_and_closed_users_count_as_undelivered() -> None:
    registry = ConnectionRegistry()
    tab = Tab("usr_a")
    registry.register(tab)
    assert registry.send_to_run("run_nobody", {"type": "agent_started"}) == 0
    registry.unregister(tab)
    assert registry.connected("usr_a") == 0
    assert registry.send_to_user("usr_a", {"type": "agent_started"}) == 0
    assert registry.undelivered == 2
    registry.unregister(tab)  # twice is harmless
    registry.clear()
    assert registry.undelivered == 0
