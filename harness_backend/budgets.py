"""What one connection and one user may spend: frames per second, turns in flight, connections.

A :class:`UserBudget` is shared by all connections of one user while any is open or any of its
turns runs; a :class:`ConnectionBudget` belongs to one connection. Both read time from the
event loop's clock, never the wall clock. The server (:mod:`harness_backend.server`) consults
them before parsing a frame and before starting a turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from harness_backend.protocol import TokenBucket
from harness_backend.server_limits import ServerLimits

__all__ = ["Admission", "ConnectionBudget", "UserBudget"]

#: Seconds between two ``rate_limited`` notices on one connection.
NOTICE_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class Admission:
    """The verdict on one incoming frame."""

    #: The frame may be processed.
    accepted: bool
    #: A dropped frame should be answered by one ``rate_limited`` notice (at most one a second).
    notify: bool = False
    #: The connection flooded past its tolerance and must be closed with 4429.
    disconnect: bool = False


class UserBudget:
    """One user's frames, connections and turns over all its connections."""

    def __init__(self, limits: ServerLimits, clock: Callable[[], float]) -> None:
        self.bucket = TokenBucket(rate=limits.user_rate, burst=limits.user_burst, clock=clock)
        self.connections = 0
        self.turns = 0
        #: The user's turns in flight, whichever connection started them: cancelled when the
        #: user's last connection goes away.
        self.tasks: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> bool:
        """True when the user has no open connection and no turn in flight."""
        return self.connections == 0 and self.turns == 0


class ConnectionBudget:
    """One connection's frame rate, flood tolerance and turns in flight."""

    def __init__(self, limits: ServerLimits, user: UserBudget, clock: Callable[[], float]) -> None:
        self.user = user
        self.turns = 0
        self.dropped = 0
        self._clock = clock
        self._bucket = TokenBucket(rate=limits.rate, burst=limits.burst, clock=clock)
        # Dropped frames are forgiven at half the allowed rate: a client that only bursts now
        # and then is never closed, one that keeps sending faster than allowed is.
        self._tolerance = TokenBucket(
            rate=limits.rate / 2, burst=limits.flood_tolerance, clock=clock
        )
        self._last_notice: float | None = None

    def admit(self) -> Admission:
        """Spend one frame of this connection's and its user's rate, or say why not."""
        if self._bucket.take() and self.user.bucket.take():
            return Admission(accepted=True)
        self.dropped += 1
        if not self._tolerance.take():
            return Admission(accepted=False, disconnect=True)
        now = self._clock()
        notify = self._last_notice is None or now - self._last_notice >= NOTICE_INTERVAL
        if notify:
            self._last_notice = now
        return Admission(accepted=False, notify=notify)
