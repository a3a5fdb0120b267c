"""One blocking WebSocket connection of one simulated user, cooperative under gevent.

Locust workers are gevent processes that monkey-patch ``socket``, ``threading`` and ``time``
at start. This client is written against those standard modules (websockets' sync client, a
reader thread, ``threading.Event``), so under Locust the reader is a greenlet and every wait
yields to the hub; outside Locust (unit tests) it runs on real threads. docs/distributed.md
says why this was chosen over the harness's asyncio client in a thread, with the measures.

Frames are parsed exactly as the asyncio adapter parses them
(:func:`harness.targets.websocket.read_frame`: the same parsing, the same events, the same
mapping of pre-issued tokens' ids back to simulated ids, the same outcomes).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from harness.errors import TargetAuthError, TargetError
from harness.model import Event, SimUser, Turn, TurnOutcome, TurnStatus
from harness.targets.websocket import (
    AUTH_CLOSE_CODES,
    FrameReader,
    RunAttempts,
    WebSocketTarget,
    chat_message,
)

__all__ = ["WireConnection"]


class _Pending:
    """One attempt of a run id waiting on this connection (a retried run may have two)."""

    __slots__ = ("done", "outcome", "started")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.outcome: TurnOutcome | None = None
        self.started = False


class WireConnection(FrameReader[_Pending]):
    """A user's connection (browser tab): send turns, keep every event received.

    Args:
        target: the WebSocket adapter whose tokens and id mapping this connection uses.
        user: the simulated user.
        connection_id: how events name this connection.
        next_step: a counter shared by the worker, stamped on each event as it arrives.
        open_timeout: seconds for the handshake.

    Raises:
        TargetAuthError: the server refused the user's token (HTTP 401/403).
        TargetError: the server could not be reached.
    """

    def __init__(
        self,
        target: WebSocketTarget,
        user: SimUser,
        connection_id: str,
        *,
        next_step: Callable[[], int],
        open_timeout: float = 10.0,
    ) -> None:
        from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI
        from websockets.sync.client import connect

        self.user = user
        self.connection_id = connection_id
        #: ``error`` frames the server sent, and frames that broke the protocol.
        self.errors: list[dict[str, Any]] = []
        self.protocol_errors: list[str] = []
        self._target = target
        self._next_step = next_step
        self._events: list[Event] = []
        self._pending: RunAttempts[_Pending] = RunAttempts()
        token = target.token_for(user)
        # Entered as a context manager (websockets 17 deprecates the bare call; older
        # versions return the connection itself, which is its own context manager).
        self._exit = contextlib.ExitStack()
        try:
            self._connection = self._exit.enter_context(
                connect(
                    target.url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    open_timeout=open_timeout,
                    max_size=None,
                    compression=None,
                )
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise TargetAuthError(
                    f"{target.url} refused the token of {user.user_id} (HTTP {status} on the "
                    "handshake). Set HARNESS_JWT_SECRET to the server's signing secret, or "
                    "HARNESS_TOKENS_FILE to tokens issued by that deployment."
                ) from exc
            raise TargetError(f"cannot connect to {target.url} as {user.user_id}: {exc!r}") from exc
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise TargetError(f"cannot connect to {target.url} as {user.user_id}: {exc!r}") from exc
        self._reader = threading.Thread(
            target=self._read, name=f"harness-{connection_id}", daemon=True
        )
        self._reader.start()

    # ------------------------------------------------------------------ receiving
    def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            for frame in self._connection:
                self._handle(frame)
        except ConnectionClosed:
            pass
        finally:
            for run_id, pending in self._pending.items():
                self._resolve(
                    pending,
                    TurnOutcome(run_id=run_id, status="cancelled", error=self._closed_reason()),
                )

    def _closed_reason(self) -> str:
        code = getattr(self._connection, "close_code", None)
        reason = getattr(self._connection, "close_reason", None) or "no reason given"
        if code in AUTH_CLOSE_CODES:
            return f"token refused (close code {code}: {reason})"
        return f"connection closed before the terminal event (close code {code}: {reason})"

    def _now(self) -> float:
        return time.time()

    def _keep(self, event: Event) -> None:
        self._events.append(replace(event, step=self._next_step()))

    @staticmethod
    def _answered(attempt: _Pending) -> bool:
        return attempt.outcome is not None

    @staticmethod
    def _resolve(attempt: _Pending, outcome: TurnOutcome) -> None:
        if attempt.outcome is None:  # the first terminal wins
            attempt.outcome = outcome
            attempt.done.set()

    # ------------------------------------------------------------------ sending
    def run_turns(
        self, turns: Sequence[Turn], timeout: float, *, timeout_status: TurnStatus = "timeout"
    ) -> list[TurnOutcome]:
        """Send ``turns`` together and wait for each one's terminal (at most ``timeout`` s).

        A turn without a terminal by then ends with ``timeout_status``; a connection that
        closes first ends its turns ``cancelled`` with the close code in ``error``.
        """
        pendings = []
        for turn in turns:
            pending = _Pending()
            self._pending.add(turn.run_id, pending)
            pendings.append(pending)
        try:
            for turn, pending in zip(turns, pendings, strict=True):
                self._send(turn, pending)
            deadline = time.monotonic() + timeout
            for pending in pendings:
                pending.done.wait(max(0.0, deadline - time.monotonic()))
        finally:
            for turn, pending in zip(turns, pendings, strict=True):
                self._pending.remove(turn.run_id, pending)
        return [
            pending.outcome or TurnOutcome(run_id=turn.run_id, status=timeout_status)
            for turn, pending in zip(turns, pendings, strict=True)
        ]

    def _send(self, turn: Turn, pending: _Pending) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            self._connection.send(chat_message(turn))
        except ConnectionClosed:
            self._resolve(
                pending,
                TurnOutcome(run_id=turn.run_id, status="cancelled", error=self._closed_reason()),
            )

    def events(self) -> tuple[Event, ...]:
        """Every event this connection received, in arrival order."""
        return tuple(self._events)

    @property
    def refused(self) -> bool:
        """The server closed this connection because it refused the user's token."""
        return getattr(self._connection, "close_code", None) in AUTH_CLOSE_CODES

    def close(self, timeout: float = 10.0) -> None:
        """Close the connection and wait (bounded) for the reader to finish."""
        self._exit.close()
        self._reader.join(timeout)
