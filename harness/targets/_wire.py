"""Wire parsing shared by the adapters: a received event message as an :class:`Event`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.model import Event

__all__ = ["event_from_message"]


def event_from_message(
    message: Mapping[str, Any],
    *,
    seq: int,
    connection_id: str | None = None,
    t: float | None = None,
    raw: str | None = None,
) -> Event:
    """The :class:`~harness.model.Event` for one event message a connection received.

    ``type``, ``run_id``, ``thread_id``, ``user_id`` and ``payload`` are taken from the message
    as the target sent them, never filled in from the connection (that would hide misrouting);
    a payload that is not a mapping becomes ``{}``. ``seq`` is the message's arrival index on
    its connection.

    Example:
        >>> event_from_message({"type": "agent_started", "run_id": "run_1"}, seq=0).type
        'agent_started'
    """
    payload = message.get("payload")
    return Event(
        type=str(message.get("type")),
        run_id=message.get("run_id"),
        thread_id=message.get("thread_id"),
        user_id=message.get("user_id"),
        payload=dict(payload) if isinstance(payload, Mapping) else {},
        seq=seq,
        connection_id=connection_id,
        t=t,
        raw=raw,
    )
