"""The remote adapter: any server that speaks the wire protocol of ``harness_backend.server``.

Black-box: ``roots()`` and ``shared_roots()`` are empty, so the detectors that need live objects
say they were skipped, and everything else is judged from what each connection received. Runs go
over real sockets on the stock asyncio loop; replay is best-effort and the report says so.

Tokens: minted per user (HS256, claims sub, exp, iat, jti) from ``HARNESS_JWT_SECRET`` (or the
``secret`` argument), or read from a file of pre-issued tokens for a real staging deployment
(``HARNESS_TOKENS_FILE``: a JSON object ``{"<sub>": "<token>", ...}`` or one token per line). With
pre-issued tokens the i-th simulated user to connect gets the i-th token, and the adapter maps the
staging user ids in events back to the simulated ids, one to one (an id it does not know is kept
as is, so a misrouted event still shows).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import jwt

from harness.errors import ProtocolError, TargetAuthError, TargetError, TargetLoadError
from harness.model import EVENT_TYPES, Event, SimUser, Turn, TurnOutcome, TurnStatus
from harness.serialization import to_data
from harness.targets._wire import event_from_message
from harness.users import sign_token

__all__ = [
    "AUTH_CLOSE_CODES",
    "DEFAULT_HANDSHAKE_RETRIES",
    "DEFAULT_MAX_SIZE",
    "FrameRead",
    "FrameReader",
    "WebSocketSession",
    "WebSocketTarget",
    "RunAttempts",
    "chat_message",
    "mint_token",
    "parse_frame",
    "read_frame",
]

_CONTRACT_TYPES = frozenset(EVENT_TYPES)

#: Further handshake attempts after one timed out or was reset.
DEFAULT_HANDSHAKE_RETRIES = 2

#: Close codes that mean "your credentials were refused" (the protocol's 4401, and 4403, the
#: usual code for a forbidden user); HTTP 401/403 on the handshake mean the same.
AUTH_CLOSE_CODES = frozenset({4401, 4403})
#: Default largest frame the adapter accepts from a server, in bytes (4 MiB).
DEFAULT_MAX_SIZE = 4 * 1024 * 1024
#: Close code of a frame over ``max_size`` (RFC 6455 "message too big").
_TOO_BIG = 1009
_AUTH_FIX = (
    "Set HARNESS_JWT_SECRET to the server's signing secret, or HARNESS_TOKENS_FILE to fresh "
    "tokens issued by that deployment."
)


def mint_token(user_id: str, secret: str, *, ttl: int = 3600, now: float | None = None) -> str:
    """An HS256 token for ``user_id`` with the four claims the protocol requires."""
    # Tokens are checked against the server's wall clock, so they are minted on it.
    issued = int(time.time() if now is None else now)
    return sign_token(user_id, secret=secret, issued_at=issued, ttl=ttl, jti=secrets.token_hex(8))


def parse_frame(frame: str | bytes) -> dict[str, Any]:
    """Decode one frame into an object with a string ``type``.

    Raises:
        ProtocolError: not JSON, not an object, or no ``type``; the frame is quoted.
    """
    text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"frame is not JSON ({exc.msg}): {text[:200]!r}") from None
    if not isinstance(message, dict):
        raise ProtocolError(
            f"frame is a JSON {type(message).__name__}, not an object: {text[:200]!r}"
        )
    if not isinstance(message.get("type"), str):
        raise ProtocolError(f"frame has no string 'type': {text[:200]!r}")
    return message


@dataclass(frozen=True, slots=True)
class FrameRead:
    """What one received frame means for a client of the wire protocol.

    ``event`` is the contract event it carries (None for an error frame, a frame of another
    type, or one that is not a valid frame: then ``problem`` says why). ``settles`` is the
    outcome it gives its run, when it ends one: ``(run_id, status, result, error)``.
    """

    event: Event | None = None
    problem: str | None = None
    error_frame: Mapping[str, Any] | None = None
    settles: tuple[object, TurnStatus, dict[str, Any] | None, str | None] | None = None


def read_frame(
    frame: str | bytes,
    *,
    ids_in: Callable[[Mapping[str, Any]], Mapping[str, Any]],
    seq: int,
    connection_id: str,
    t: float,
) -> FrameRead:
    """Read one frame as the harness's WebSocket clients do (in process and on Locust workers).

    ``ids_in`` maps staging ids (pre-issued tokens) back to simulated ones in the message.
    """
    try:
        message = parse_frame(frame)
    except ProtocolError as exc:
        return FrameRead(problem=str(exc))
    kind = message["type"]
    run_id = message.get("run_id")
    if kind == "error":
        payload = message.get("payload")
        payload = payload if isinstance(payload, dict) else {}
        error = f"{payload.get('code')}: {payload.get('error')}"
        return FrameRead(error_frame=message, settles=(run_id, "rejected", None, error))
    if kind not in _CONTRACT_TYPES:
        return FrameRead()
    event = event_from_message(
        ids_in(message),
        seq=seq,
        connection_id=connection_id,
        t=t,
        raw=frame if isinstance(frame, str) else frame.decode("utf-8", "replace"),
    )
    if kind == "agent_completed":
        result = event.payload.get("result")
        done = result if isinstance(result, dict) else None
        return FrameRead(event=event, settles=(run_id, "completed", done, None))
    if kind == "agent_error":
        return FrameRead(
            event=event, settles=(run_id, "error", None, str(event.payload.get("error")))
        )
    return FrameRead(event=event)


def chat_message(turn: Turn) -> str:
    """The ``chat_message`` frame that sends ``turn`` (as every WebSocket client sends it)."""
    return json.dumps(
        {
            "type": "chat_message",
            "content": turn.message,
            "thread_id": turn.thread_id,
            "run_id": turn.run_id,
            "plan": [to_data(step) for step in turn.plan],
        }
    )


class _Startable(Protocol):
    started: bool


A = TypeVar("A", bound=_Startable)


class RunAttempts(Generic[A]):
    """The attempts of each run id waiting on one connection, oldest first.

    Frames name a run id only, and a retried run (``Turn.retry``) may have two attempts
    waiting at once: an ``agent_started`` starts the earliest attempt not started; a refusal
    answers an attempt that never started, a terminal one that did; failing that, the oldest
    attempt still waiting takes it. Shared by the asyncio adapter and the Locust worker's
    client, whose attempts differ only in how they wait.
    """

    def __init__(self) -> None:
        self._by_run: dict[str, list[A]] = {}

    def add(self, run_id: str, attempt: A) -> None:
        self._by_run.setdefault(run_id, []).append(attempt)

    def remove(self, run_id: str, attempt: A) -> None:
        attempts = self._by_run.get(run_id, [])
        if attempt in attempts:
            attempts.remove(attempt)
        if not attempts:
            self._by_run.pop(run_id, None)

    def start(self, run_id: object) -> None:
        """An ``agent_started`` of ``run_id`` arrived."""
        if isinstance(run_id, str):
            waiting = [a for a in self._by_run.get(run_id, ()) if not a.started]
            if waiting:
                waiting[0].started = True

    def answered(
        self, run_id: object, status: TurnStatus, *, done: Callable[[A], bool]
    ) -> A | None:
        """The attempt an outcome of ``run_id`` with ``status`` answers (None: no attempt waits)."""
        if not isinstance(run_id, str):
            return None
        waiting = [a for a in self._by_run.get(run_id, ()) if not done(a)]
        if not waiting:
            return None
        fitting = [a for a in waiting if a.started == (status != "rejected")]
        return (fitting or waiting)[0]

    def items(self) -> list[tuple[str, A]]:
        """Every waiting attempt with its run id (a copy: safe to settle while iterating)."""
        return [(run_id, a) for run_id, attempts in self._by_run.items() for a in attempts]


class FrameReader(Generic[A]):
    """What one connection keeps of the frames it reads, in arrival order.

    Events, ``error`` frames, frames that broke the protocol, and the run attempts the frames
    start and settle (:class:`RunAttempts`). Shared by the asyncio adapter and the Locust
    worker's blocking client, which differ only in their clock (:meth:`_now`), in how they keep
    an event (:meth:`_keep`), and in how an attempt is seen answered (:meth:`_answered`) and
    given its outcome (:meth:`_resolve`).
    """

    connection_id: str
    #: ``error`` frames the server sent, and frames that broke the protocol.
    errors: list[dict[str, Any]]
    protocol_errors: list[str]
    _target: WebSocketTarget
    _events: list[Event]
    _pending: RunAttempts[A]

    def _handle(self, frame: str | bytes) -> None:
        read = read_frame(
            frame,
            # Staging ids (pre-issued tokens) back to simulated ones: user_id and payload alike.
            ids_in=self._target.simulated_ids_in,
            seq=len(self._events),
            connection_id=self.connection_id,
            t=self._now(),
        )
        if read.problem is not None:
            self.protocol_errors.append(read.problem)
            return
        if read.error_frame is not None:
            self.errors.append(dict(read.error_frame))
        if read.event is not None:
            self._keep(read.event)
            if read.event.type == "agent_started":
                self._pending.start(read.event.run_id)
        if read.settles is not None:
            run_id, status, result, error = read.settles
            self._settle(run_id, status, result=result, error=error)

    def _now(self) -> float:
        """The time stamped on a frame as it arrives."""
        raise NotImplementedError

    def _keep(self, event: Event) -> None:
        """Record ``event`` (and tell whoever listens)."""
        raise NotImplementedError

    def _settle(
        self,
        run_id: object,
        status: TurnStatus,
        *,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Resolve the attempt of ``run_id`` this outcome answers (:class:`RunAttempts`)."""
        attempt = self._pending.answered(run_id, status, done=self._answered)
        if attempt is not None and isinstance(run_id, str):
            outcome = TurnOutcome(run_id=run_id, status=status, result=result, error=error)
            self._resolve(attempt, outcome)

    @staticmethod
    def _answered(attempt: A) -> bool:
        """Whether ``attempt`` has its outcome already."""
        raise NotImplementedError

    @staticmethod
    def _resolve(attempt: A, outcome: TurnOutcome) -> None:
        """Give ``attempt`` its outcome."""
        raise NotImplementedError


class _Attempt:
    """One turn waiting for its outcome; ``started`` once its ``agent_started`` arrived."""

    __slots__ = ("future", "started")

    def __init__(self, future: asyncio.Future[TurnOutcome]) -> None:
        self.future = future
        self.started = False


class WebSocketSession(FrameReader[_Attempt]):
    """One WebSocket connection of one simulated user.

    Frames name a run id only, and a retried run (``Turn.retry``) may have two attempts
    waiting on one connection: an ``agent_started`` starts the earliest attempt not started,
    a refusal settles the earliest not started, a terminal the earliest started.
    """

    def __init__(
        self, target: WebSocketTarget, user: SimUser, connection: Any, connection_id: str
    ) -> None:
        self.user = user
        self.connection_id = connection_id
        #: Called with each Event as it arrives when set (the runner sets it).
        self.on_event: Any = None
        #: Frames that broke the protocol, and ``error`` frames the server sent.
        self.protocol_errors: list[str] = []
        self.errors: list[dict[str, Any]] = []
        self._target = target
        self._connection = connection
        self._events: list[Event] = []
        self._pending: RunAttempts[_Attempt] = RunAttempts()
        self._closed_by: Any = None  # the ConnectionClosed that ended the reader, if any
        self._loop = asyncio.get_running_loop()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for frame in self._connection:
                self._handle(frame)
        except ConnectionClosed as exc:
            self._closed_by = exc
        finally:
            for run_id, attempt in self._pending.items():
                if not attempt.future.done():
                    attempt.future.set_exception(self._closed_error(run_id))

    def _closed_error(self, run_id: str) -> TargetError:
        """Why ``run_id`` cannot finish: a refusal of the user's token, or a plain close."""
        code = getattr(self._connection, "close_code", None)
        reason = getattr(self._connection, "close_reason", None) or ""
        sent = getattr(self._closed_by, "sent", None)
        if getattr(sent, "code", None) == _TOO_BIG:
            return TargetError(
                f"{self.user.user_id}: {self._target.url} sent a frame larger than "
                f"max_size={self._target.max_size} bytes on connection {self.connection_id}, "
                f"so it was closed before the terminal event of {run_id}. If the server "
                "legitimately sends larger frames, raise WebSocketTarget(max_size=...)."
            )
        if code in AUTH_CLOSE_CODES:
            return TargetAuthError(
                f"{self._target.url} refused the token of {self.user.user_id} "
                f"(close code {code}: {reason or 'no reason given'}). {_AUTH_FIX}"
            )
        return TargetError(
            f"{self.user.user_id}: connection {self.connection_id} closed before "
            f"the terminal event of {run_id} (close code {code}: {reason or 'no reason given'})"
        )

    def _now(self) -> float:
        return self._loop.time()

    def _keep(self, event: Event) -> None:
        self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    @staticmethod
    def _answered(attempt: _Attempt) -> bool:
        return attempt.future.done()

    @staticmethod
    def _resolve(attempt: _Attempt, outcome: TurnOutcome) -> None:
        attempt.future.set_result(outcome)

    async def run_turn(self, turn: Turn) -> TurnOutcome:
        future: asyncio.Future[TurnOutcome] = self._loop.create_future()
        attempt = _Attempt(future)
        self._pending.add(turn.run_id, attempt)
        from websockets.exceptions import ConnectionClosed

        try:
            await self._connection.send(chat_message(turn))
            return await future
        except ConnectionClosed as exc:
            raise self._closed_error(turn.run_id) from exc
        finally:
            self._pending.remove(turn.run_id, attempt)
            # The reader may have failed the future while send() raised: retrieve it, so the
            # loop does not log "Future exception was never retrieved".
            if future.done() and not future.cancelled():
                future.exception()
            else:
                future.cancel()

    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def roots(self) -> Mapping[str, object]:
        return {}

    async def close(self) -> None:
        await self._connection.close()
        await asyncio.gather(self._reader, return_exceptions=True)
        self.on_event = None


class WebSocketTarget:
    """A server at ``url`` speaking the protocol of ``harness_backend.server``.

    Args:
        url: ``ws://host:port/path`` or ``wss://...``.
        secret: HS256 secret to mint tokens (default: ``HARNESS_JWT_SECRET``).
        tokens_file: pre-issued tokens (default: ``HARNESS_TOKENS_FILE``).
        limits: the server's per-user limits, when known (e.g. ``{"engines_per_user": 2}``).
        open_timeout: seconds to wait for one connection handshake.
        max_size: largest frame accepted from the server, in bytes (default 4 MiB); a larger
            one closes that session with 1009 and fails its turn with a TargetError saying so,
            instead of being read into memory.
        handshake_retries: further attempts after a handshake that timed out or was reset.

    Raises:
        TargetLoadError: neither a secret nor a tokens file, or an unreadable tokens file.
    """

    capabilities = frozenset({"scripted_plan", "tools"})
    deterministic = False
    requires_fresh_process = False

    def __init__(
        self,
        url: str,
        *,
        secret: str | None = None,
        tokens_file: str | Path | None = None,
        limits: Mapping[str, int] | None = None,
        open_timeout: float = 10.0,
        max_size: int = DEFAULT_MAX_SIZE,
        handshake_retries: int = DEFAULT_HANDSHAKE_RETRIES,
    ) -> None:
        self.name = url
        self.url = url
        self.spec = url
        self._secret = secret or os.environ.get("HARNESS_JWT_SECRET")
        tokens_file = tokens_file or os.environ.get("HARNESS_TOKENS_FILE")
        self._tokens = _read_tokens(Path(tokens_file)) if tokens_file else None
        if self._secret is None and self._tokens is None:
            raise TargetLoadError(
                f"target={url!r} needs tokens: set HARNESS_JWT_SECRET to the server's "
                "signing secret (the harness mints one token per simulated user), or "
                "HARNESS_TOKENS_FILE to a file of pre-issued tokens."
            )
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise TargetLoadError(
                f"max_size={max_size!r} must be a number of bytes >= 1 "
                f"(default {DEFAULT_MAX_SIZE}, 4 MiB)"
            )
        self.max_size = max_size
        self._limits = dict(limits or {})
        self._open_timeout = open_timeout
        if handshake_retries < 0:
            raise TargetLoadError(f"handshake_retries={handshake_retries!r} must be >= 0, e.g. 2")
        self.handshake_retries = handshake_retries
        self._assigned: dict[str, str] = {}  # simulated user id -> token
        self._to_simulated: dict[str, str] = {}  # staging sub -> simulated user id
        self._sessions = 0

    def limits(self) -> dict[str, int]:
        return dict(self._limits)

    def simulated_id(self, user_id: Any) -> Any:
        """Map a staging user id from a pre-issued token back to its simulated user."""
        return self._to_simulated.get(user_id, user_id) if isinstance(user_id, str) else user_id

    def simulated_ids_in(self, data: Any) -> Any:
        """``data`` with every string that is exactly a staging user id mapped to its simulated
        user (the ``user_id`` an ``echo`` result reports, say). One to one, so a foreign id
        stays foreign; unchanged when tokens are minted (the ids are the simulated ones)."""
        if not self._to_simulated:
            return data
        if isinstance(data, str):
            return self.simulated_id(data)
        if isinstance(data, dict):
            return {key: self.simulated_ids_in(value) for key, value in data.items()}
        if isinstance(data, list):
            return [self.simulated_ids_in(item) for item in data]
        return data

    def token_for(self, user: SimUser) -> str:
        if user.user_id in self._assigned:
            return self._assigned[user.user_id]
        if self._tokens is not None:
            if len(self._assigned) >= len(self._tokens):
                raise TargetError(
                    f"{len(self._tokens)} pre-issued tokens are all in use; the scenario has more "
                    "users. Lower --users or issue more tokens."
                )
            sub, token = self._tokens[len(self._assigned)]
            self._to_simulated[sub] = user.user_id
        else:
            token = mint_token(user.user_id, self._secret or "")
        self._assigned[user.user_id] = token
        return token

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def open_session(self, user: SimUser) -> WebSocketSession:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

        token = self.token_for(user)
        attempts = 1 + self.handshake_retries
        for attempt in range(1, attempts + 1):
            try:
                connection = await connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    open_timeout=self._open_timeout,
                    max_size=self.max_size,
                )
                break
            except (TimeoutError, ConnectionResetError) as exc:
                if attempt == attempts:
                    raise TargetError(self._too_slow(user, attempts, exc)) from exc
                # Back off before the next try: the server's accept queue needs to drain.
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403):
                    raise TargetAuthError(
                        f"{self.url} refused the token of {user.user_id} (HTTP {status} on the "
                        f"handshake). {_AUTH_FIX}"
                    ) from exc
                raise TargetError(
                    f"cannot connect to {self.url} as {user.user_id}: {exc!r}"
                ) from exc
            except (OSError, InvalidHandshake, InvalidURI) as exc:
                raise TargetError(
                    f"cannot connect to {self.url} as {user.user_id}: {exc!r}"
                ) from exc
        self._sessions += 1
        return WebSocketSession(self, user, connection, f"ws-{self._sessions:05d}")

    def shared_roots(self) -> Mapping[str, object]:
        return {}

    def _too_slow(self, user: SimUser, attempts: int, exc: BaseException) -> str:
        return (
            f"the target cannot accept connections fast enough: {self.url} did not complete "
            f"the handshake of {user.user_id} in {attempts} attempt(s) of {self._open_timeout:g}s "
            f"({type(exc).__name__}) after {self._sessions} connection(s) opened. The server's "
            f"accept queue is full or the server is overloaded. Lower --connect-rate or "
            "--users, or give the server more room."
        )


def _read_tokens(path: Path) -> list[tuple[str, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetLoadError(f"HARNESS_TOKENS_FILE={str(path)!r} cannot be read: {exc}") from exc
    text = text.strip()
    tokens: list[str] = []
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TargetLoadError(
                f"tokens file {str(path)!r} is not valid JSON: {exc.msg}"
            ) from None
        tokens = [str(value) for value in data.values()]
    else:
        tokens = [line.strip() for line in text.splitlines() if line.strip()]
    pairs = []
    for number, token in enumerate(tokens, 1):
        try:
            sub = jwt.decode(token, options={"verify_signature": False}).get("sub")
        except jwt.PyJWTError as exc:
            raise TargetLoadError(
                f"tokens file {str(path)!r}: token {number} is not a JWT ({exc})"
            ) from None
        if not isinstance(sub, str):
            raise TargetLoadError(f"tokens file {str(path)!r}: token {number} has no 'sub' claim")
        pairs.append((sub, token))
    if not pairs:
        raise TargetLoadError(f"tokens file {str(path)!r} holds no tokens")
    return pairs
