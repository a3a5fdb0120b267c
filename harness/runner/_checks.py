"""What an adapter hands back, checked against the contract before the harness relies on it.

Each check returns a message naming the adapter method, the value (its repr, cut short) and the
fix, or None when the value is fine. The driver turns a message into a ``crash`` record, so a
broken adapter ends as a finding with the report written, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.model import Event, TurnOutcome

__all__ = ["check_events", "check_outcomes", "check_roots", "check_session", "short_repr"]

_SESSION_METHODS = ("run_turn", "events", "close")


def short_repr(value: object, limit: int = 120) -> str:
    """``repr(value)``, cut to ``limit`` characters (a value may be huge or hostile)."""
    try:
        text = repr(value)
    except Exception as exc:  # a repr that raises is itself worth naming, not a crash
        text = f"<unrepresentable {type(value).__name__}: {type(exc).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_session(session: object, call: str) -> str | None:
    """A message when ``open_session`` returned something that is not a Session."""
    missing = [name for name in _SESSION_METHODS if not callable(getattr(session, name, None))]
    if not missing:
        return None
    return (
        f"{call} returned {short_repr(session)} (type {type(session).__name__}), not a Session: "
        f"it lacks {', '.join(missing)}(). Return an object with run_turn(turn), events(), "
        "roots() and close() (docs/targets.md)."
    )


def check_outcomes(outcomes: object, count: int, call: str) -> str | None:
    """A message when ``burst`` did not return one TurnOutcome per turn, in order."""
    if (
        isinstance(outcomes, Sequence)
        and not isinstance(outcomes, str | bytes)
        and len(outcomes) == count
        and all(isinstance(outcome, TurnOutcome) for outcome in outcomes)
    ):
        return None
    return (
        f"{call} returned {short_repr(outcomes)} (type {type(outcomes).__name__}) for {count} "
        f"turns. Return a list of {count} TurnOutcome, one per turn, in the order given."
    )


def check_roots(roots: object, call: str) -> str | None:
    """A message when ``shared_roots()`` / ``roots()`` is not a mapping of names to objects."""
    if isinstance(roots, Mapping):
        return None
    return (
        f"{call} returned {short_repr(roots)} (type {type(roots).__name__}), not a mapping of "
        "names to live objects. Return a dict such as {'factory': factory}, or {} for a "
        "remote target."
    )


def check_events(events: object, call: str) -> tuple[tuple[Event, ...], str | None]:
    """The well-formed events of ``events()`` and a message about the first broken one.

    An event must be a :class:`harness.model.Event` whose ``run_id``, ``thread_id`` and
    ``user_id`` are strings or None, and whose ``payload`` is a mapping.
    """
    if not isinstance(events, Sequence) or isinstance(events, str | bytes):
        return (), (
            f"{call} returned {short_repr(events)} (type {type(events).__name__}), not a "
            "sequence of Event. Return the list of harness.model.Event this connection received."
        )
    kept: list[Event] = []
    problem: str | None = None
    for position, event in enumerate(events):
        wrong = _wrong_event(event)
        if wrong is None:
            kept.append(event)
        elif problem is None:
            problem = (
                f"{call} item {position}: {wrong} (got {_shape(event)}). Build each "
                "item with harness.model.Event(type=..., run_id=..., thread_id=..., "
                "user_id=..., payload=..., seq=...)."
            )
    return tuple(kept), problem


def _shape(value: object) -> str:
    """What an item looked like, without its values (they differ from user to user, and one
    bug hit by every user should read the same)."""
    if isinstance(value, Mapping):
        keys = sorted(str(key) for key in value)
        more = ", ..." if len(keys) > 8 else ""
        return f"a {type(value).__name__} with keys {', '.join(keys[:8])}{more}"
    if isinstance(value, Event):
        return "an Event"
    return short_repr(value, 40)


def _wrong_event(event: Any) -> str | None:
    if not isinstance(event, Event):
        return f"a {type(event).__name__}, not an Event"
    for name in ("run_id", "thread_id", "user_id"):
        value = getattr(event, name)
        if value is not None and not isinstance(value, str):
            return f"{name}={short_repr(value, 60)} is a {type(value).__name__}, not a str or None"
    if not isinstance(event.type, str):
        return f"type={short_repr(event.type, 60)} is not a str"
    if not isinstance(event.payload, Mapping):
        return f"payload is a {type(event.payload).__name__}, not a mapping"
    return None
