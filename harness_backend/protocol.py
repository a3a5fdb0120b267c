"""The WebSocket wire protocol: parsing client frames, error frames, and per-connection rate limits.

Client frames are JSON objects:

- ``{"type": "chat_message", "content": str, "thread_id": str, "run_id": str, "plan": [step]}``
  with steps ``{"step": "think", "text"}``, ``{"step": "tool", "name", "params": {...}}``,
  ``{"step": "pause", "seconds"}`` and ``{"step": "fail", "reason"}``;
- ``{"type": "ping"}``, answered by ``{"type": "pong"}``.

:func:`parse_message` validates a frame strictly and raises :class:`ProtocolError` carrying the
error ``code`` sent back to the client (``bad_json``, ``unknown_type``, ``invalid_message``);
:func:`error_frame` builds that reply. :class:`TokenBucket` limits how fast one connection may send;
:class:`OwnershipTable` keeps one user's threads and runs out of another's reach (``forbidden``).
"""

from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness_backend.errors import BackendError

__all__ = [
    "ERROR_CODES",
    "MESSAGE_TYPES",
    "STEP_KINDS",
    "MAX_PLAN_STEPS",
    "MAX_PAUSE_SECONDS",
    "ProtocolError",
    "ChatMessage",
    "Ping",
    "parse_message",
    "validate_id",
    "error_frame",
    "pong_frame",
    "TokenBucket",
    "OwnershipTable",
]

#: Codes of ``error`` frames, one per way a frame can be refused.
ERROR_CODES = (
    "bad_json",
    "unknown_type",
    "invalid_message",
    "forbidden",
    "rejected",
    "rate_limited",
    "internal_error",
)
MESSAGE_TYPES = ("chat_message", "ping")
#: Allowed keys of each step kind, besides ``step`` itself.
STEP_KINDS: Mapping[str, tuple[str, ...]] = {
    "think": ("text",),
    "tool": ("name", "params"),
    "pause": ("seconds",),
    "fail": ("reason",),
}
MAX_PLAN_STEPS = 200
MAX_PAUSE_SECONDS = 300.0
_CHAT_KEYS = ("type", "content", "thread_id", "run_id", "plan")
_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_PLACEHOLDER_IDS = frozenset(
    {"test", "default", "none", "null", "undefined", "mock", "demo", "anonymous", "user", "0"}
)


class ProtocolError(BackendError):
    """A client frame was refused; the connection stays open.

    ``code`` is the ``error`` frame's code and ``run_id`` the frame's run id when it had a valid
    one. Fix: send frames shaped as described in :mod:`harness_backend.protocol`.
    """

    def __init__(self, code: str, message: str, *, run_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.run_id = run_id


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A validated ``chat_message``; ``plan`` holds wire-format step dicts (fresh copies)."""

    content: str
    thread_id: str
    run_id: str
    plan: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Ping:
    """A ``ping``; the server answers with :func:`pong_frame`."""


def validate_id(field: str, value: object) -> str:
    """Return ``value`` if it is an acceptable id, else raise ``ProtocolError(invalid_message)``.

    An id is 1-128 characters of ``[A-Za-z0-9_.:-]`` and not a placeholder such as ``test``.
    """
    if not isinstance(value, str):
        raise ProtocolError(
            "invalid_message",
            f"{field}={value!r} has type {type(value).__name__}, expected a string id",
        )
    if not _ID_PATTERN.fullmatch(value):
        raise ProtocolError(
            "invalid_message",
            f"{field}={value!r} must be 1-128 characters of [A-Za-z0-9_.:-]",
        )
    if value.lower() in _PLACEHOLDER_IDS:
        raise ProtocolError(
            "invalid_message",
            f"{field}={value!r} is a placeholder; use a generated id such as 'run_0123456789ab'",
        )
    return value


def parse_message(raw: str | bytes) -> ChatMessage | Ping:
    """Decode and validate one client frame.

    Raises:
        ProtocolError: ``bad_json`` (not UTF-8 JSON), ``unknown_type`` (not an object, or an
            unknown ``type``) or ``invalid_message`` (a field is missing, extra or ill-typed).
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError("bad_json", f"frame is not valid UTF-8 JSON: {error}") from error
    if not isinstance(data, dict):
        raise ProtocolError(
            "unknown_type",
            f"frame is a JSON {type(data).__name__}, expected an object with a 'type' field",
        )
    kind = data.get("type")
    if kind == "ping":
        return Ping()
    if kind != "chat_message":
        raise ProtocolError(
            "unknown_type",
            f"type={kind!r} is not a known message type; expected one of {list(MESSAGE_TYPES)}",
            run_id=_run_id_or_none(data),
        )
    return _parse_chat(data)


def _run_id_or_none(data: Mapping[str, Any]) -> str | None:
    run_id = data.get("run_id")
    try:
        return validate_id("run_id", run_id)
    except ProtocolError:
        return None


def _parse_chat(data: dict[str, Any]) -> ChatMessage:
    run_id = _run_id_or_none(data)

    def invalid(message: str) -> ProtocolError:
        return ProtocolError("invalid_message", message, run_id=run_id)

    extra = sorted(set(data) - set(_CHAT_KEYS))
    if extra:
        raise invalid(f"chat_message has unknown fields {extra}; allowed: {list(_CHAT_KEYS)}")
    for field in ("content", "thread_id", "run_id"):
        if field not in data:
            raise invalid(f"chat_message is missing field {field!r}")
    content = data["content"]
    if not isinstance(content, str):
        raise invalid(f"content={content!r} has type {type(content).__name__}, expected a string")
    try:
        thread_id = validate_id("thread_id", data["thread_id"])
        validate_id("run_id", data["run_id"])
    except ProtocolError as error:
        raise invalid(error.message) from None
    plan = data.get("plan", [])
    if not isinstance(plan, list):
        raise invalid(f"plan={plan!r} has type {type(plan).__name__}, expected a list of steps")
    if len(plan) > MAX_PLAN_STEPS:
        raise invalid(f"plan has {len(plan)} steps, at most {MAX_PLAN_STEPS} are allowed")
    steps = tuple(_parse_step(index, step, invalid) for index, step in enumerate(plan))
    return ChatMessage(content=content, thread_id=thread_id, run_id=data["run_id"], plan=steps)


def _parse_step(
    index: int, step: object, invalid: Callable[[str], ProtocolError]
) -> dict[str, Any]:
    where = f"plan[{index}]"
    if not isinstance(step, dict):
        raise invalid(f"{where}={step!r} has type {type(step).__name__}, expected an object")
    kind = step.get("step")
    if not isinstance(kind, str) or kind not in STEP_KINDS:
        raise invalid(
            f"{where}.step={kind!r} is not a step kind; expected one of {list(STEP_KINDS)}"
        )
    allowed = STEP_KINDS[kind]
    extra = sorted(set(step) - {"step", *allowed})
    if extra:
        raise invalid(f"{where} ({kind}) has unknown fields {extra}; allowed: {list(allowed)}")
    missing = [field for field in allowed if field not in step]
    if missing:
        raise invalid(f"{where} ({kind}) is missing field {missing[0]!r}")
    if kind == "think":
        _require_str(where, "text", step["text"], invalid)
    elif kind == "fail":
        _require_str(where, "reason", step["reason"], invalid)
    elif kind == "tool":
        name, params = step["name"], step["params"]
        if not isinstance(name, str) or not name:
            raise invalid(f"{where}.name={name!r} must be a non-empty string (a tool name)")
        if not isinstance(params, dict):
            raise invalid(
                f"{where}.params={params!r} has type {type(params).__name__}, expected an object"
            )
    else:
        seconds = step["seconds"]
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not math.isfinite(seconds)
            or not 0 <= seconds <= MAX_PAUSE_SECONDS
        ):
            raise invalid(
                f"{where}.seconds={seconds!r} must be a number between 0 and {MAX_PAUSE_SECONDS}"
            )
    # Re-serialised so no object the client sent is shared with the engine.
    copied: dict[str, Any] = json.loads(json.dumps(step))
    return copied


def _require_str(
    where: str, field: str, value: object, invalid: Callable[[str], ProtocolError]
) -> None:
    if not isinstance(value, str):
        raise invalid(
            f"{where}.{field}={value!r} has type {type(value).__name__}, expected a string"
        )


def error_frame(code: str, message: str, *, run_id: str | None = None) -> dict[str, Any]:
    """Build an ``error`` frame: ``{"type": "error", "run_id", "payload": {"code", "error"}}``."""
    return {"type": "error", "run_id": run_id, "payload": {"code": code, "error": message}}


def pong_frame() -> dict[str, Any]:
    """Build the answer to a ``ping``."""
    return {"type": "pong"}


class TokenBucket:
    """A token bucket: ``rate`` tokens per second, holding at most ``burst``.

    Time comes from ``clock`` (the event loop's ``time`` in the server), never the wall clock.

    Example:
        >>> now = [0.0]
        >>> bucket = TokenBucket(rate=1, burst=2, clock=lambda: now[0])
        >>> [bucket.take() for _ in range(3)]
        [True, True, False]
    """

    def __init__(self, *, rate: float, burst: float, clock: Callable[[], float]) -> None:
        if not rate > 0 or not burst >= 1:
            raise ValueError(
                f"rate={rate!r}, burst={burst!r}: expected rate > 0 and burst >= 1 "
                "(messages per second and the largest burst)"
            )
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._updated = clock()

    def take(self) -> bool:
        """Spend one token if there is one; return whether the message may pass."""
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class OwnershipTable:
    """Which user first used each thread id and run id; run ids are single-use.

    Bounded: past ``capacity`` entries per table the oldest are forgotten, so memory stays flat
    on a long-running server. Error messages never name the other owner (that would leak one
    user's id to another).

    Example:
        >>> table = OwnershipTable(capacity=10)
        >>> table.claim("usr_a", "thread_1", "run_1")
        >>> table.claim("usr_b", "thread_1", "run_2")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ProtocolError: thread_id='thread_1' belongs to another user
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._threads: OrderedDict[str, str] = OrderedDict()
        self._runs: OrderedDict[str, str] = OrderedDict()

    def claim(self, user_id: str, thread_id: str, run_id: str) -> None:
        """Record ``user_id`` as owner of both ids, or raise without recording anything.

        Raises:
            ProtocolError: ``forbidden`` when another user owns the thread or the run,
                ``invalid_message`` when this user already used the run id.
        """
        thread_owner = self._threads.get(thread_id)
        if thread_owner is not None and thread_owner != user_id:
            raise ProtocolError(
                "forbidden",
                f"thread_id={thread_id!r} belongs to another user; use one of your own threads",
                run_id=run_id,
            )
        run_owner = self._runs.get(run_id)
        if run_owner is not None and run_owner != user_id:
            raise ProtocolError(
                "forbidden",
                f"run_id={run_id!r} belongs to another user; every turn needs a fresh run_id",
                run_id=run_id,
            )
        if run_owner is not None:
            raise ProtocolError(
                "invalid_message",
                f"run_id={run_id!r} was already used; every turn needs a fresh run_id",
                run_id=run_id,
            )
        self._remember(self._threads, thread_id, user_id)
        self._remember(self._runs, run_id, user_id)

    def _remember(self, table: OrderedDict[str, str], key: str, user_id: str) -> None:
        table[key] = user_id
        table.move_to_end(key)
        while len(table) > self._capacity:
            table.popitem(last=False)
