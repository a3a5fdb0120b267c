"""``UserEventEmitter``: the only way events leave an engine, bound to one user.

An emitter is created per engine for the engine's user. Every event it builds carries that
user's id and is delivered through the shared
:class:`~harness_backend.connections.ConnectionRegistry` to that user's connections only. Failed
deliveries are returned and counted, never hidden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .connections import ConnectionRegistry, DeliveryReport
from .context import validate_id

__all__ = ["EVENT_TYPES", "EmitterStatistics", "UserEventEmitter"]

#: Event types of the contract, in the order a turn emits them.
EVENT_TYPES: tuple[str, ...] = (
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
    "agent_error",
)


@dataclass(frozen=True, slots=True)
class EmitterStatistics:
    """Counters of one emitter: events emitted, fully delivered, and with a failed delivery."""

    emitted: int
    delivered: int
    failed: int


class UserEventEmitter:
    """Builds and delivers events for one user.

    Args:
        context_user_id: the user every event is for.
        connections: the shared connection registry.

    Example:
        >>> emitter = UserEventEmitter("usr_0123456789ab", ConnectionRegistry())
        >>> emitter.user_id
        'usr_0123456789ab'
    """

    def __init__(self, context_user_id: str, connections: ConnectionRegistry) -> None:
        self.user_id = validate_id("user_id", context_user_id)
        self.connections = connections
        self._emitted = 0
        self._delivered = 0
        self._failed = 0

    def build(
        self, event_type: str, *, run_id: str, thread_id: str, payload: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Return the wire event (a plain dict) for this emitter's user.

        Raises:
            ValueError: for an event type outside :data:`EVENT_TYPES`.
        """
        if event_type not in EVENT_TYPES:
            raise ValueError(
                f"event_type={event_type!r} is not an event type of the contract; "
                f"expected one of {', '.join(EVENT_TYPES)}."
            )
        return {
            "type": event_type,
            "run_id": run_id,
            "thread_id": thread_id,
            "user_id": self.user_id,
            "payload": dict(payload),
        }

    async def emit(
        self, event_type: str, *, run_id: str, thread_id: str, payload: Mapping[str, Any]
    ) -> DeliveryReport:
        """Build the event and deliver it to this user's connections.

        Returns the :class:`DeliveryReport`; ``report.ok`` is False when nobody got it or a
        connection failed.
        """
        event = self.build(event_type, run_id=run_id, thread_id=thread_id, payload=payload)
        return self._count(await self.connections.deliver(self.user_id, event))

    def _count(self, report: DeliveryReport) -> DeliveryReport:
        self._emitted += 1
        if report.ok:
            self._delivered += 1
        else:
            self._failed += 1
        return report

    def statistics(self) -> EmitterStatistics:
        """Return this emitter's counters as a frozen record."""
        return EmitterStatistics(
            emitted=self._emitted, delivered=self._delivered, failed=self._failed
        )

    def __repr__(self) -> str:
        return f"UserEventEmitter(user_id={self.user_id!r})"
