"""Read-only lookups over a Trace that several detectors need.

Detectors see only the :class:`~harness.model.Trace` and a token index. A :class:`TraceView`
indexes the trace once (sessions by id, turns by run, events by session and run) and answers the
questions every oracle asks: who owns this run, at which step was this event seen, when did this
turn really run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

from harness.model import TERMINAL_EVENTS, Event, SessionRecord, Trace, TurnRecord
from harness.observe import root_key

__all__ = [
    "CachedScan",
    "TokenLookup",
    "collect_texts",
    "TokenOwners",
    "TraceView",
    "ECHO_FIELDS",
    "answered_echo",
    "echo_locations",
    "event_strings",
    "event_texts",
    "iter_strings",
    "normalize",
    "root_key",
]


class TokenLookup(Protocol):
    """What detectors use of :class:`harness.observe.tokens.TokenIndex`."""

    def owner(self, token: str) -> str | None: ...

    def kind(self, token: str) -> str | None: ...

    def scan(self, text: str) -> list[tuple[str, str]]: ...


class CachedScan:
    """``index.scan`` memoized: checkpoints walk the same strings again and again."""

    __slots__ = ("_cache", "_index")

    def __init__(self, index: TokenLookup) -> None:
        self._index = index
        self._cache: dict[str, list[tuple[str, str]]] = {}

    def __call__(self, text: str) -> list[tuple[str, str]]:
        found = self._cache.get(text)
        if found is None:
            found = self._cache[text] = self._index.scan(text)
        return found


_MULTI = None  # TokenOwners signature of a text carrying tokens of two or more owners
_UNSEEN = "\x00unseen"  # not a signature: no owner id contains NUL


class TokenOwners:
    """Whose tokens a text carries, memoized: ``""`` (none), one owner, or None (several).

    One dict lookup answers "does this text carry a token not owned by ``receiver``?" for
    every receiver, so scanning a whole trace costs about one lookup per string.
    """

    __slots__ = ("_scan", "cache")

    def __init__(self, scan: CachedScan) -> None:
        self._scan = scan
        self.cache: dict[str, str | None] = {}

    def signature(self, text: str) -> str | None:
        """``""`` when ``text`` carries no token, its owner when one owner's, None when more."""
        signature = self.cache.get(text, _UNSEEN)
        if signature == _UNSEEN:
            owners = {owner for _token, owner in self._scan(text)}
            signature = "" if not owners else (owners.pop() if len(owners) == 1 else _MULTI)
            self.cache[text] = signature
        return signature

    def foreign(self, text: str, receiver: str) -> bool:
        """Whether ``text`` carries a token whose owner is not ``receiver``."""
        signature = self.signature(text)
        return signature is _MULTI or (signature != "" and signature != receiver)

    def any_foreign(self, texts: list[str], receiver: str) -> bool:
        """Whether any of ``texts`` carries a token whose owner is not ``receiver``."""
        cache = self.cache
        for text in texts:
            signature = cache.get(text, _UNSEEN)
            if signature == _UNSEEN:
                signature = self.signature(text)
            if signature is _MULTI or (signature != "" and signature != receiver):
                return True
        return False


_PLAIN = (int, float, bool, type(None))


def collect_texts(value: Any, texts: list[str]) -> list[str]:
    """Append every string of :func:`iter_strings` (``value``) to ``texts``, in no set order.

    The same strings, without their paths and gathered without generators: the clean fast
    path of a detector that sees every event and result of a run.
    """
    add = texts.append
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            add(item)
        elif kind is dict or (kind is not list and isinstance(item, Mapping)):
            for key, inner in item.items():
                if isinstance(key, str):
                    add(key)
                if type(inner) is str:
                    add(inner)
                elif type(inner) not in _PLAIN:
                    push(inner)
        elif kind is list or kind is tuple or isinstance(item, list | tuple | set | frozenset):
            for inner in item:
                if type(inner) is str:
                    add(inner)
                elif type(inner) not in _PLAIN:
                    push(inner)
        elif isinstance(item, str):
            add(item)
        elif isinstance(item, bytes | bytearray):
            add(bytes(item).decode("utf-8", "replace"))
    return texts


def iter_strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield ``(path, text)`` for every string in ``value``, mapping keys included.

    Containers are walked recursively; numbers, None and other scalars are skipped.
    """
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, bytes | bytearray):
        yield path, bytes(value).decode("utf-8", "replace")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield f"{path}[{key!r}]", key
            yield from iter_strings(item, f"{path}[{key!r}]")
    elif isinstance(value, list | tuple | set | frozenset):
        for position, item in enumerate(value):
            yield from iter_strings(item, f"{path}[{position}]")


def event_texts(event: Event) -> list[str]:
    """Every string of :func:`event_strings`, without locations (the clean fast path)."""
    texts = [
        text
        for text in (event.type, event.run_id, event.thread_id, event.user_id, event.raw)
        if isinstance(text, str)
    ]
    return collect_texts(event.payload, texts)


def event_strings(event: Event) -> Iterator[tuple[str, str]]:
    """Every string an event carries: its fields, its payload (recursively) and the raw frame."""
    for name in ("type", "run_id", "thread_id", "user_id"):
        text = getattr(event, name)
        if isinstance(text, str):
            yield name, text
    yield from iter_strings(event.payload, "payload")
    if event.raw is not None:
        # The raw frame may carry fields the Event record has no slot for.
        yield "raw", event.raw


#: What the ``echo`` tool answers: the identity of the context that ran it.
ECHO_FIELDS = ("user_id", "run_id", "thread_id")


def answered_echo(entry: Mapping[str, Any]) -> bool:
    """An ``echo`` call that answered (a failed call reports no context)."""
    return entry.get("name") == "echo" and (
        entry.get("error") is None or entry.get("result") is not None
    )


def echo_locations(entries: object, path: str) -> frozenset[str]:
    """The :func:`iter_strings` locations of the identity fields in answered echo entries.

    ``entries`` is a list of tool entries (``tool_results``) at ``path``, or one entry (a
    ``tool_completed`` payload). The ``context-mismatch`` oracle judges these fields: another
    user's id there is a context swap, one finding, not also ``foreign-data``.
    """
    if isinstance(entries, Mapping):
        items: list[tuple[str, object]] = [(path, entries)]
    elif isinstance(entries, list | tuple):
        items = [(f"{path}[{i}]", entry) for i, entry in enumerate(entries)]
    else:
        return frozenset()
    return frozenset(
        f"{where}['result'][{field!r}]"
        for where, entry in items
        if isinstance(entry, Mapping) and answered_echo(entry)
        for field in ECHO_FIELDS
    )


_SUBSCRIPT = re.compile(r"\[[^\]]*\]")


def normalize(text: str, index: TokenLookup) -> str:
    """Replace the harness tokens in ``text`` by their kind and subscripts by ``[*]``.

    Two observations of one bug on different users or runs normalize to the same shape.
    """
    for token, _owner in sorted(index.scan(text), key=lambda pair: -len(pair[0])):
        text = text.replace(token, f"<{index.kind(token) or 'token'}>")
    return _SUBSCRIPT.sub("[*]", text)


class TraceView:
    """Indexes of one trace, built once per detector call."""

    def __init__(self, trace: Trace, index: TokenLookup) -> None:
        self.trace = trace
        self.index = index
        self.sessions: dict[str, SessionRecord] = {s.session_id: s for s in trace.sessions}
        self._by_user: dict[str, list[SessionRecord]] = {}
        for session in trace.sessions:
            self._by_user.setdefault(session.user_id, []).append(session)
        self.turns_by_run: dict[str, TurnRecord] = {}
        # The turns that sent each run id: several for a retried or resumed run (``Turn.retry``).
        self._sends: dict[str, list[TurnRecord]] = {}
        for record in trace.turns:
            self.turns_by_run.setdefault(record.turn.run_id, record)
            self._sends.setdefault(record.turn.run_id, []).append(record)
        self._events: dict[tuple[str, str], list[Event]] = {}
        for session in trace.sessions:
            for event in session.events:
                if event.run_id is not None:
                    self._events.setdefault((session.session_id, event.run_id), []).append(event)

    def run_owner(self, run_id: str | None) -> str | None:
        """The user whose turn started ``run_id``, or None when the run is unknown."""
        if run_id is None:
            return None
        record = self.turns_by_run.get(run_id)
        if record is not None:
            return record.user_id
        if self.index.kind(run_id) == "run_id":
            return self.index.owner(run_id)
        return None

    def attempts(self, run_id: str | None) -> int:
        """How many turns of the trace sent ``run_id`` (more than 1 for a retried run)."""
        return len(self.attempts_of(run_id))

    def attempts_of(self, run_id: str | None) -> list[TurnRecord]:
        """The turns that sent ``run_id``, in trace order."""
        return self._sends.get(run_id or "", [])

    def sessions_of(self, user_id: str) -> list[SessionRecord]:
        """The sessions of one user, in trace order (per turn, not a scan of every session)."""
        return self._by_user.get(user_id, [])

    def session_owner(self, session_id: str) -> str | None:
        """The user of a session, or None for an unknown session id."""
        session = self.sessions.get(session_id)
        return session.user_id if session is not None else None

    def events_of(self, session_id: str, run_id: str) -> list[Event]:
        """Events of one run on one session, in arrival order."""
        return self._events.get((session_id, run_id), [])

    def turn_events(self, record: TurnRecord) -> list[Event]:
        """Events of the run of ``record`` on the turn's own session.

        For a run id that several turns sent (a retry, a resume), only the events that arrived
        while this turn ran: not an earlier or later attempt's.
        """
        events = self.events_of(record.session_id, record.turn.run_id)
        if self.attempts(record.turn.run_id) > 1:
            events = [e for e in events if _within(e, record)]
        return events

    def run_events_until(self, session_id: str, record: TurnRecord) -> list[Event]:
        """Events of the run of ``record`` on ``session_id``, but a later attempt's.

        For a run id that several turns sent, the events that arrived once the next attempt was
        sent (one sent after this turn ended, and not refused) are not this turn's: a resend
        while it ran was refused or joined it. An earlier attempt's events are kept
        (a target may replay them to the tab that resumes the run), and so are this attempt's
        copies that reach another tab just after the turn ended on its own (over the wire, a
        copy can come a moment after the original).
        """
        events = self.events_of(session_id, record.turn.run_id)
        if self.attempts(record.turn.run_id) > 1:
            later = [
                other
                for other in self.attempts_of(record.turn.run_id)
                if other is not record
                and other.outcome.status != "rejected"  # refused: no event of its own
                and _sent_after(other, record)  # one sent meanwhile was refused or joined it
            ]
            if later:
                following = min(later, key=lambda other: other.step)
                events = [e for e in events if _before(e, following)]
        return events

    def step_of(self, event: Event) -> int:
        """The step of an event: its own, else its turn's, else 0."""
        if event.step is not None:
            return event.step
        record = self.turns_by_run.get(event.run_id or "")
        return record.step if record is not None else 0

    def last_step(self) -> int:
        """The largest step the trace knows of: where after-the-run checks are placed."""
        steps = [record.step for record in self.trace.turns]
        steps += [checkpoint.step for checkpoint in self.trace.checkpoints]
        steps += [e.step for s in self.trace.sessions for e in s.events if e.step is not None]
        return max(steps, default=0)

    def run_interval(self, record: TurnRecord) -> tuple[float, float]:
        """When a turn ran: first event to terminal event on its session (loop time).

        Falls back to the runner's ``started_at``/``ended_at`` when events carry no time.
        """
        events = [e for e in self.turn_events(record) if e.t is not None]
        start = events[0].t if events else None
        end = next((e.t for e in events if e.type in TERMINAL_EVENTS), None)
        return (
            record.started_at if start is None else start,
            record.ended_at if end is None else end,
        )


def _within(event: Event, record: TurnRecord) -> bool:
    """Did ``event`` arrive while the turn of ``record`` ran (by run-wide steps, else time)?"""
    if event.step is not None and record.ended_step is not None:
        return record.step <= event.step <= record.ended_step
    t = event.t if event.t is not None else record.started_at
    return record.started_at <= t <= record.ended_at


def _sent_after(later: TurnRecord, record: TurnRecord) -> bool:
    """Was the turn of ``later`` sent after the turn of ``record`` ended (by steps, else time)?"""
    if record.ended_step is not None:
        return later.step > record.ended_step
    return later.started_at >= record.ended_at


def _before(event: Event, record: TurnRecord) -> bool:
    """Did ``event`` arrive before the turn of ``record`` was sent (by run-wide steps, else
    time)?"""
    if event.step is not None:
        return event.step < record.step
    return event.t is None or event.t < record.started_at
