"""Event delivery of the Switchyard platform: the switchboard, relays and job outlets.

The :class:`Switchboard` (shared by the deployment) keeps one :class:`Relay` per connected
user; a relay fans each event out to every open :class:`Connection` of that user (every
browser tab). A job sends through its own :class:`Outlet`, bound at creation to the job's
identity: the ids in an event, and the user it is delivered to, come from the outlet, never
from whoever is sending.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from .toolkit import Identity

__all__ = ["Connection", "Outlet", "Relay", "SentEvent", "Switchboard"]

Receive = Callable[[dict[str, Any]], None]


class Connection:
    """One open connection (a browser tab) of one user."""

    __slots__ = ("label", "receive", "user_id")

    def __init__(self, user_id: str, label: str, receive: Receive) -> None:
        self.user_id = user_id
        self.label = label
        self.receive = receive


class Relay:
    """The open connections of one tenant; delivers to all of them."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.connections: list[Connection] = []
        self.delivered = 0

    def attach(self, connection: Connection) -> None:
        self.connections.append(connection)

    def detach(self, connection: Connection) -> None:
        if connection in self.connections:
            self.connections.remove(connection)

    def deliver(self, message: dict[str, Any]) -> None:
        self.delivered += 1
        for connection in tuple(self.connections):
            connection.receive(dict(message))


class Switchboard:
    """Every connected user's relay, by user id (shared infrastructure)."""

    def __init__(self) -> None:
        self.relays: dict[str, Relay] = {}

    def attach(self, connection: Connection) -> None:
        relay = self.relays.get(connection.user_id)
        if relay is None:
            relay = self.relays[connection.user_id] = Relay(connection.user_id)
        relay.attach(connection)

    def detach(self, connection: Connection) -> None:
        relay = self.relays.get(connection.user_id)
        if relay is None:
            return
        relay.detach(connection)
        if not relay.connections:
            del self.relays[connection.user_id]

    def connected(self, user_id: str) -> bool:
        return user_id in self.relays

    def deliver(self, user_id: str, message: dict[str, Any]) -> None:
        relay = self.relays.get(user_id)
        if relay is not None:
            relay.deliver(message)


@dataclasses.dataclass(frozen=True, slots=True)
class SentEvent:
    """What an outlet sent: its kind, for the job's own bookkeeping."""

    kind: str
    position: int


class Outlet:
    """A job's events out: stamps the job's ids and delivers them to the job's user."""

    TERMINAL = frozenset({"agent_completed", "agent_error"})

    def __init__(self, identity: Identity, switchboard: Switchboard) -> None:
        self.identity = identity
        self.switchboard = switchboard
        self.sent: list[SentEvent] = []
        self.finished = False

    def send(self, kind: str, payload: Mapping[str, Any]) -> None:
        if self.finished:
            return  # one terminal per run; nothing after it
        who = self.identity
        self.sent.append(SentEvent(kind, len(self.sent)))
        if kind in self.TERMINAL:
            self.finished = True
        self.switchboard.deliver(
            who.user_id,
            {
                "type": kind,
                "run_id": who.run_id,
                "thread_id": who.thread_id,
                "user_id": who.user_id,
                "payload": dict(payload),
            },
        )
