"""The WebSocket wire protocol: parsing client frames, error frames, and per-connection rate limits.

Client frames are JSON objects:

- ``{"type": "chat_message", "content": str, "thread_id": str, "run_id": str, "plan": [step]}``
  with steps ``{"step": "think", "text"}``, ``{"step": "tool", "name", "params": {...}}``,
  ``{"step": "pause", "seconds"}`` and ``{"step": "fail", "reason"}``;
- ``{"type": "ping"}``, answered by ``{"type": "pong"}``.

:func:`parse_message` validates a frame strictly, within the bounds of a :class:`PlanLimits`
(every number finite and bounded, params shallow and small), and raises :class:`ProtocolError`
carrying the error ``code`` sent back to the client (``bad_json``, ``unknown_type``,
``invalid_message``); :func:`error_frame` builds that reply. Messages quote the client's input
only through :func:`excerpt`, a short bounded rendering, so an error frame or a log line never
echoes a large frame back. :class:`TokenBucket` limits how fast one connection may send;
:class:`~harness_backend.ownership.OwnershipTable` keeps one user's threads and runs out of
another's reach (``forbidden``).
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from harness_backend.errors import ProtocolError
from harness_backend.ownership import OwnershipTable

__all__ = [
    "ERROR_CODES",
    "MESSAGE_TYPES",
    "STEP_KINDS",
    "MAX_PLAN_STEPS",
    "MAX_PAUSE_SECONDS",
    "MAX_ERROR_CHARS",
    "PlanLimits",
    "ProtocolError",
    "ChatMessage",
    "Ping",
    "excerpt",
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
#: Default of :attr:`PlanLimits.max_steps`.
MAX_PLAN_STEPS = 200
#: Default of :attr:`PlanLimits.max_pause`.
MAX_PAUSE_SECONDS = 30.0
#: Longest ``error`` text of an error frame; longer texts are cut (they never need to be).
MAX_ERROR_CHARS = 400
_CHAT_KEYS = ("type", "content", "thread_id", "run_id", "plan")
_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_PLACEHOLDER_IDS = frozenset(
    {"test", "default", "none", "null", "undefined", "mock", "demo", "anonymous", "user", "0"}
)
#: Longest excerpt of a client value quoted in a message.
_EXCERPT_CHARS = 80


def _excerpt_repr() -> reprlib.Repr:
    shown = reprlib.Repr()
    shown.maxlevel = 2
    shown.maxdict = shown.maxlist = shown.maxtuple = shown.maxset = 4
    shown.maxstring = shown.maxother = 48
    shown.maxlong = 24
    return shown


_EXCERPT = _excerpt_repr()


def excerpt(value: object, limit: int = _EXCERPT_CHARS) -> str:
    """A ``repr`` of ``value`` cut to at most ``limit`` characters, safe on deep or huge input.

    Example:
        >>> excerpt("x" * 1000)[:12], len(excerpt("x" * 1000)) <= 80
        ("'xxxxxxxxxxx", True)
    """
    text = _EXCERPT.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True, slots=True)
class PlanLimits:
    """Bounds on the numbers and shapes of a ``chat_message`` plan, checked before any copy.

    A frame breaking one is refused with ``invalid_message`` naming the field and the bound.
    """

    #: Most steps in one plan.
    max_steps: int = MAX_PLAN_STEPS
    #: Longest ``pause`` step, in seconds (``0 <= seconds <= max_pause``).
    max_pause: float = MAX_PAUSE_SECONDS
    #: Longest tool ``params.delay``, in seconds (``0 <= delay <= max_delay``).
    max_delay: float = 30.0
    #: Longest planned turn: the sum of a plan's pauses and tool delays, in seconds.
    max_plan_seconds: float = 120.0
    #: Deepest nesting of one step's ``params`` (the params object itself is depth 1).
    max_params_depth: int = 16
    #: Most values (containers, keys' values and items, counted together) in one step's params.
    max_params_items: int = 2_000

    def __post_init__(self) -> None:
        for name in (
            "max_steps",
            "max_pause",
            "max_delay",
            "max_plan_seconds",
            "max_params_depth",
            "max_params_items",
        ):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (isinstance(value, float) and not math.isfinite(value))
                or value < 0
            ):
                raise ValueError(
                    f"PlanLimits.{name}={value!r} must be a finite number >= 0; "
                    "see the field's description"
                )


_DEFAULT_PLAN_LIMITS = PlanLimits()


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
            f"{field}={excerpt(value)} has type {type(value).__name__}, expected a string id",
        )
    if not _ID_PATTERN.fullmatch(value):
        raise ProtocolError(
            "invalid_message",
            f"{field}={excerpt(value)} must be 1-128 characters of [A-Za-z0-9_.:-]",
        )
    if value.lower() in _PLACEHOLDER_IDS:
        raise ProtocolError(
            "invalid_message",
            f"{field}={value!r} is a placeholder; use a generated id such as 'run_0123456789ab'",
        )
    return value


def parse_message(raw: str | bytes, limits: PlanLimits | None = None) -> ChatMessage | Ping:
    """Decode and validate one client frame.

    Args:
        raw: the frame as received.
        limits: bounds on the plan; :class:`PlanLimits` defaults when omitted.

    Raises:
        ProtocolError: ``bad_json`` (not UTF-8 JSON, or nested too deep to decode),
            ``unknown_type`` (not an object, or an unknown ``type``) or ``invalid_message``
            (a field is missing, extra, ill-typed or outside its bound).
    """
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as error:
        raise ProtocolError("bad_json", f"frame is not valid UTF-8 JSON: {error}") from error
    except RecursionError:
        raise ProtocolError(
            "bad_json", "frame nests too deeply to decode; keep params a few levels deep"
        ) from None
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
            f"type={excerpt(kind)} is not a known message type; "
            f"expected one of {list(MESSAGE_TYPES)}",
            run_id=_run_id_or_none(data),
        )
    return _parse_chat(data, limits or _DEFAULT_PLAN_LIMITS)


def _run_id_or_none(data: Mapping[str, Any]) -> str | None:
    run_id = data.get("run_id")
    try:
        return validate_id("run_id", run_id)
    except ProtocolError:
        return None


def _parse_chat(data: dict[str, Any], limits: PlanLimits) -> ChatMessage:
    run_id = _run_id_or_none(data)

    def invalid(message: str) -> ProtocolError:
        return ProtocolError("invalid_message", message, run_id=run_id)

    extra = sorted(set(data) - set(_CHAT_KEYS))
    if extra:
        raise invalid(
            f"chat_message has unknown fields {excerpt(extra)}; allowed: {list(_CHAT_KEYS)}"
        )
    for field in ("content", "thread_id", "run_id"):
        if field not in data:
            raise invalid(f"chat_message is missing field {field!r}")
    content = data["content"]
    if not isinstance(content, str):
        raise invalid(
            f"content={excerpt(content)} has type {type(content).__name__}, expected a string"
        )
    try:
        thread_id = validate_id("thread_id", data["thread_id"])
        validate_id("run_id", data["run_id"])
    except ProtocolError as error:
        raise invalid(error.message) from None
    plan = data.get("plan", [])
    if not isinstance(plan, list):
        raise invalid(
            f"plan={excerpt(plan)} has type {type(plan).__name__}, expected a list of steps"
        )
    if len(plan) > limits.max_steps:
        raise invalid(f"plan has {len(plan)} steps, at most {limits.max_steps} are allowed")
    for index, step in enumerate(plan):
        _check_step(index, step, limits, invalid)
    planned = sum(_planned_seconds(step) for step in plan)
    if planned > limits.max_plan_seconds:
        raise invalid(
            f"plan pauses and tool delays add up to {planned:g}s, more than "
            f"max_plan_seconds={limits.max_plan_seconds:g}; plan a shorter turn"
        )
    # Re-serialised (only now that every step is known to be small and shallow) so no object
    # the client sent is shared with the engine.
    steps: tuple[dict[str, Any], ...] = tuple(json.loads(json.dumps(plan)))
    return ChatMessage(content=content, thread_id=thread_id, run_id=data["run_id"], plan=steps)


def _planned_seconds(step: dict[str, Any]) -> float:
    if step["step"] == "pause":
        return float(step["seconds"])
    if step["step"] == "tool":
        return float(step["params"].get("delay", 0))
    return 0.0


def _check_step(
    index: int, step: object, limits: PlanLimits, invalid: Callable[[str], ProtocolError]
) -> None:
    where = f"plan[{index}]"
    if not isinstance(step, dict):
        raise invalid(f"{where}={excerpt(step)} has type {type(step).__name__}, expected an object")
    kind = step.get("step")
    if not isinstance(kind, str) or kind not in STEP_KINDS:
        raise invalid(
            f"{where}.step={excerpt(kind)} is not a step kind; expected one of {list(STEP_KINDS)}"
        )
    allowed = STEP_KINDS[kind]
    extra = sorted(set(step) - {"step", *allowed})
    if extra:
        raise invalid(
            f"{where} ({kind}) has unknown fields {excerpt(extra)}; allowed: {list(allowed)}"
        )
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
            raise invalid(f"{where}.name={excerpt(name)} must be a non-empty string (a tool name)")
        if not isinstance(params, dict):
            raise invalid(
                f"{where}.params={excerpt(params)} has type {type(params).__name__}, "
                "expected an object"
            )
        if "delay" in params:
            _require_seconds(f"{where}.params.delay", params["delay"], limits.max_delay, invalid)
        _check_params(f"{where}.params", params, limits, invalid)
    else:
        _require_seconds(f"{where}.seconds", step["seconds"], limits.max_pause, invalid)


def _require_seconds(
    field: str, value: object, bound: float, invalid: Callable[[str], ProtocolError]
) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        # Checked for floats only: math.isfinite overflows on a huge int.
        or (isinstance(value, float) and not math.isfinite(value))
        or not 0 <= value <= bound
    ):
        raise invalid(
            f"{field}={excerpt(value)} must be a finite number of seconds between 0 and "
            f"{bound:g} (the server's bound)"
        )


def _check_params(
    where: str, params: dict[str, Any], limits: PlanLimits, invalid: Callable[[str], ProtocolError]
) -> None:
    """Walk ``params`` without recursion: bounded depth and size, every float finite."""
    pending: list[tuple[str, object, int]] = [(where, params, 1)]
    seen = 0
    while pending:
        path, value, depth = pending.pop()
        seen += 1
        if seen > limits.max_params_items:
            raise invalid(
                f"{where} holds more than max_params_items={limits.max_params_items} values; "
                "send smaller params"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise invalid(f"{path}={value!r} is not a finite number; send a finite number")
        if isinstance(value, dict | list):
            if depth > limits.max_params_depth:
                raise invalid(
                    f"{where} nests deeper than max_params_depth={limits.max_params_depth} "
                    f"(at {excerpt(path, 120)}); send flatter params"
                )
            children = (
                value.items() if isinstance(value, dict) else enumerate(value)  # type: ignore[arg-type]
            )
            for key, child in children:
                pending.append((f"{path}[{key!r}]" if len(path) < 120 else path, child, depth + 1))


def _require_str(
    where: str, field: str, value: object, invalid: Callable[[str], ProtocolError]
) -> None:
    if not isinstance(value, str):
        raise invalid(
            f"{where}.{field}={excerpt(value)} has type {type(value).__name__}, expected a string"
        )


def error_frame(code: str, message: str, *, run_id: str | None = None) -> dict[str, Any]:
    """Build an ``error`` frame: ``{"type": "error", "run_id", "payload": {"code", "error"}}``.

    ``message`` is cut to :data:`MAX_ERROR_CHARS` characters.
    """
    if len(message) > MAX_ERROR_CHARS:
        message = message[: MAX_ERROR_CHARS - 3] + "..."
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
