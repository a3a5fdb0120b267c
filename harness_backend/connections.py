"""Connections and the registry that delivers each user's events to that user's tabs only.

The :class:`ConnectionRegistry` is shared infrastructure (one per server or factory). It maps a
user id to that user's connections (several tabs) and delivers an event to all of them and to
nobody else. A connection whose ``send`` raises is reported in the :class:`DeliveryReport`'s
``failed`` tuple; the other connections still get the event. A delivery that reached nobody is
never reported as a success.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["Connection", "ConnectionRegistry", "ConnectionStatistics", "DeliveryReport"]


@runtime_checkable
class Connection(Protocol):
    """One client connection (a browser tab). ``send`` raises when delivery fails."""

    connection_id: str

    async def send(self, event: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What happened to one event: how many connections got it and which ones failed."""

    user_id: str
    delivered: int
    failed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True only if at least one connection got the event and none failed."""
        return self.delivered > 0 and not self.failed


@dataclass(frozen=True, slots=True)
class ConnectionStatistics:
    """Counters of a :class:`ConnectionRegistry` (no per-user data)."""

    users: int
    connections: int
    delivered: int
    failed: int
    undeliverable: int


class ConnectionRegistry:
    """Maps user ids to their connections; delivers to one user's connections only.

    Example:
        >>> registry = ConnectionRegistry()
        >>> registry.connections_for("usr_0123456789ab")
        ()
    """

    def __init__(self) -> None:
        # user_id -> {connection_id: connection}; dicts keep the order tabs registered in.
        self._by_user: dict[str, dict[str, Connection]] = {}
        self._counter = 0
        self._delivered = 0
        self._failed = 0
        self._undeliverable = 0

    def next_connection_id(self) -> str:
        """Return a fresh connection id from this registry's counter (``conn_1``, ``conn_2``...)."""
        self._counter += 1
        return f"conn_{self._counter}"

    def register(self, user_id: str, connection: Connection) -> None:
        """Attach ``connection`` to ``user_id``. Registering it twice is a no-op.

        Raises:
            ValueError: if the connection id is already registered for another user.
        """
        for other_user, connections in self._by_user.items():
            if other_user != user_id and connection.connection_id in connections:
                raise ValueError(
                    f"connection_id={connection.connection_id!r} is already registered for "
                    f"another user; connection ids must be unique. "
                    "Use next_connection_id() for each new connection."
                )
        self._by_user.setdefault(user_id, {})[connection.connection_id] = connection

    def unregister(self, user_id: str, connection: Connection) -> None:
        """Detach ``connection`` from ``user_id``; drops the user's entry when it empties."""
        connections = self._by_user.get(user_id)
        if connections is None:
            return
        if connections.get(connection.connection_id) is connection:
            del connections[connection.connection_id]
        if not connections:
            del self._by_user[user_id]

    def connections_for(self, user_id: str) -> tuple[Connection, ...]:
        """Return the user's connections in registration order (empty if none)."""
        return tuple(self._by_user.get(user_id, {}).values())

    async def deliver(self, user_id: str, event: Mapping[str, Any]) -> DeliveryReport:
        """Send ``event`` to every connection of ``user_id`` and to no other connection.

        Each connection gets its own shallow copy of the event. A connection whose ``send``
        raises is listed in ``failed``; the others still get the event.
        """
        targets = self.connections_for(user_id)
        if not targets:
            self._undeliverable += 1
            return DeliveryReport(user_id=user_id, delivered=0, failed=())
        delivered = 0
        failed: list[str] = []
        for connection in targets:
            try:
                await connection.send(dict(event))
            except Exception:
                failed.append(connection.connection_id)
            else:
                delivered += 1
        self._delivered += delivered
        self._failed += len(failed)
        return DeliveryReport(user_id=user_id, delivered=delivered, failed=tuple(failed))

    def statistics(self) -> ConnectionStatistics:
        """Return the registry's counters as a frozen record."""
        return ConnectionStatistics(
            users=len(self._by_user),
            connections=sum(len(c) for c in self._by_user.values()),
            delivered=self._delivered,
            failed=self._failed,
            undeliverable=self._undeliverable,
        )
