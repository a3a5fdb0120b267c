"""The bounds of the WebSocket server, their defaults, and the close codes that enforce them.

Every bound is a field of :class:`ServerLimits` (frozen); ``serve(limits=...)`` and the command
line's options set them. docs/reliability.md lists them with what the server promises under abuse.

Close codes the server uses:

=====  ==========================================================================================
1001   the server is shutting down
1009   a frame larger than ``max_size`` (closed by the websockets library)
4401   no valid token (see :mod:`harness_backend.auth`)
4408   the client stopped reading: more than ``max_unsent_bytes`` waited to be sent, or one frame
       could not be sent within ``send_timeout`` seconds
4429   a per-user budget was exceeded: more than ``connections_per_user`` connections, or
       sustained flooding (more than ``flood_tolerance`` frames dropped by the rate limits)
=====  ==========================================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from harness_backend.protocol import PlanLimits

__all__ = [
    "AUTH_CLOSE_CODE",
    "BUDGET_CLOSE_CODE",
    "SHUTDOWN_CLOSE_CODE",
    "SLOW_CLIENT_CLOSE_CODE",
    "TOO_LARGE_CLOSE_CODE",
    "ServerLimits",
]

#: Close code for a connection refused for want of a valid token.
AUTH_CLOSE_CODE = 4401
#: Close code for a client that stopped reading what the server sends.
SLOW_CLIENT_CLOSE_CODE = 4408
#: Close code for a user over a budget: too many connections, or sustained flooding.
BUDGET_CLOSE_CODE = 4429
#: Close code of every connection when the server shuts down.
SHUTDOWN_CLOSE_CODE = 1001
#: Close code for a frame larger than ``max_size`` (sent by the websockets library).
TOO_LARGE_CLOSE_CODE = 1009

_COUNTS = (
    "max_size",
    "burst",
    "user_burst",
    "flood_tolerance",
    "connections_per_user",
    "turns_per_connection",
    "turns_per_user",
    "max_unsent_bytes",
    "threads_per_user",
    "runs_per_user",
)
_RATES = ("rate", "user_rate", "send_timeout")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Per-connection and per-user protections of the server, with their defaults."""

    #: Largest accepted frame in bytes; a larger one closes the connection with 1009.
    max_size: int = 256 * 1024
    #: Frames per second one connection may send on average (token bucket refill).
    rate: float = 20.0
    #: Frames one connection may send at once before ``rate`` applies.
    burst: float = 40.0
    #: Frames per second one user may send on average over all its connections.
    user_rate: float = 60.0
    #: Frames one user may send at once, over all its connections, before ``user_rate`` applies.
    user_burst: float = 120.0
    #: Frames over the rate limits a connection may send (forgiven at half of ``rate`` per
    #: second) before it is closed with 4429. Dropped frames get one ``rate_limited`` error
    #: frame per second at most, never one each.
    flood_tolerance: float = 100.0
    #: Open connections one user may hold; one more is closed with 4429.
    connections_per_user: int = 8
    #: Turns in flight on one connection; one more is refused with a ``rejected`` error frame.
    turns_per_connection: int = 8
    #: Turns in flight for one user over all its connections; one more is ``rejected``.
    turns_per_user: int = 16
    #: Bytes of frames waiting to be sent on one connection; past it the connection is
    #: closed with 4408 (the client stopped reading).
    max_unsent_bytes: int = 2 * 1024 * 1024
    #: Seconds one frame may take to be sent; past it the connection is closed with 4408.
    send_timeout: float = 10.0
    #: Threads one user may own; new threads past it are refused with ``rejected``. Owned
    #: threads are never evicted for another user.
    threads_per_user: int = 1_000
    #: Run ids remembered per user (single use); that user's oldest are forgotten first.
    runs_per_user: int = 10_000
    #: Bounds on plan numbers and params (see :class:`~harness_backend.protocol.PlanLimits`).
    plan: PlanLimits = field(default_factory=PlanLimits)

    def __post_init__(self) -> None:
        for name in _COUNTS + _RATES:
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (isinstance(value, float) and not math.isfinite(value))
                or not (value >= 1 if name in _COUNTS else value > 0)
            ):
                expected = ">= 1" if name in _COUNTS else "> 0"
                raise ValueError(
                    f"ServerLimits.{name}={value!r} must be a finite number {expected}; "
                    "see the field's description"
                )
        if not isinstance(self.plan, PlanLimits):
            raise ValueError(
                f"ServerLimits.plan={self.plan!r} must be a PlanLimits; "
                "build one with harness_backend.protocol.PlanLimits(...)"
            )
