"""Oracle ``foreign-data``: a token of user A in anything that belongs to user B.

Everything of B is searched for every harness token (user and thread ids, run ids, emails,
canaries, auth tokens) whose owner is not B:

- the events received on B's sessions: their fields, payload (keys too) and raw frame;
- B's turn outcomes: ``result`` (recursively) and ``error``;
- the values found by walks of B's roots at every checkpoint;
- B's intrusion turns (a turn on A's thread, ``Turn.victim``): one the target did not refuse
  let B act on A's conversation; :mod:`harness.detectors._intrusions` decides whether data
  crossed (a ``leak``) or only ownership went unchecked (a ``hazard``). B named A's thread
  itself, so that id in the refusal, in the events of that one run or in B's own objects is not
  a leak; anywhere else it is.

The contract allows no exception between users. Findings are aggregated per (owner, receiver)
and channel, so one leak repeated on every turn is one finding.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping

from harness.detectors._evidence import FindingAggregator
from harness.detectors._grouping import carrier
from harness.detectors._grouping import holder as holder_of
from harness.detectors._intrusions import judge_intrusions
from harness.detectors._trace_view import (
    CachedScan,
    TokenLookup,
    TokenOwners,
    TraceView,
    collect_texts,
    echo_locations,
    event_strings,
    event_texts,
    iter_strings,
    normalize,
)
from harness.model import Event, Finding, Trace, TurnOutcome

__all__ = ["detect"]

KIND = "foreign-data"


def _foreign(
    scan: CachedScan,
    strings: Iterable[tuple[str, str]],
    receiver: str,
    named: str | Collection[str] | None = None,
) -> Iterator[tuple[str, str, str]]:
    """Yield ``(location, token, owner)`` once per foreign token, at its first location.

    ``named`` is a token (or tokens) the receiver itself sent (an intrusion's thread id): not a
    leak.
    """
    skip: Collection[str] = () if named is None else (named,) if isinstance(named, str) else named
    seen: set[str] = set()
    for location, text in strings:
        for token, owner in scan(text):
            if owner != receiver and token not in seen and token not in skip:
                seen.add(token)
                yield location, token, owner


def _intrusions(trace: Trace) -> dict[str, tuple[str, str]]:
    """``run_id -> (intruder, the victim's thread id it named)`` for every intrusion turn."""
    return {
        record.turn.run_id: (record.user_id, record.turn.thread_id)
        for record in trace.turns
        if record.turn.victim is not None
    }


def _named(intrusions: dict[str, tuple[str, str]], run_id: object, receiver: str) -> str | None:
    """The thread id ``receiver`` named itself in run ``run_id``, when that run is its intrusion."""
    probe = intrusions.get(run_id) if isinstance(run_id, str) else None
    return probe[1] if probe is not None and probe[0] == receiver else None


def _event_foreign(owners: TokenOwners, event: Event, receiver: str) -> bool:
    """Whether any string of the event (:func:`event_texts`) carries a token not of ``receiver``.

    Nearly every event and result is clean; checking them without building a location for
    every string first keeps the detector's cost near one dict lookup per string.
    """
    return owners.any_foreign(event_texts(event), receiver)


def _judged_elsewhere(
    view: TraceView, event: Event, receiver: str
) -> tuple[str | None, frozenset[str]]:
    """What another oracle already reports about an event: ``(sender, locations)``.

    - An event of another user's run (or naming another ``user_id``) on ``receiver``'s session
      is ``event-misrouted``; the sender's own tokens in it are that finding's evidence, not a
      second cause. A third user's data in it is still foreign data.
    - The identity fields of an ``echo`` answer in a ``tool_completed`` event of the receiver's
      own run are the ``context-mismatch`` oracle's.
    """
    run_owner = view.run_owner(event.run_id)
    if run_owner is not None and run_owner != receiver:
        return run_owner, frozenset()
    if event.user_id is not None and event.user_id != receiver:
        return view.index.owner(event.user_id) or event.user_id, frozenset()
    if run_owner != receiver:
        return None, frozenset()
    judged = set(echo_locations(event.payload, "payload") if event.type == "tool_completed" else ())
    record = view.turns_by_run.get(event.run_id) if event.run_id is not None else None
    result = event.payload.get("result")
    if record is not None and isinstance(result, Mapping) and _outcome_echoes(record.outcome):
        # The terminal event's copy of the turn's result: the oracle judged the outcome's.
        judged |= echo_locations(result.get("tool_results"), "payload['result']['tool_results']")
    return None, frozenset(judged)


def _outcome_echoes(outcome: TurnOutcome) -> frozenset[str]:
    """The echo identity fields in a turn's result, which the context oracle judges."""
    result = outcome.result
    entries = result.get("tool_results") if isinstance(result, Mapping) else None
    return echo_locations(entries, "result['tool_results']")


def _describe(index: TokenLookup, token: str, owner: str) -> str:
    return f"{index.kind(token) or 'token'} {token!r} of {owner}"


class _Shapes:
    """``normalize`` remembered per text, and the carrier pattern of a location: one leak
    repeats the same few locations on every user."""

    __slots__ = ("_holders", "_index", "_known", "_results")

    def __init__(self, index: TokenLookup) -> None:
        self._index = index
        self._known: dict[str, str] = {}
        self._results: dict[str, str] = {}
        self._holders: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        shape = self._known.get(text)
        if shape is None:
            shape = self._known[text] = normalize(text, self._index)
        return shape

    def result_pattern(self, location: str) -> str:
        """The carrier of a location in a turn result."""
        pattern = self._results.get(location)
        if pattern is None:
            pattern = self._results[location] = carrier(self(location))
        return pattern

    def holder_pattern(self, path: str) -> str:
        """The carrier of the object holding a walked value."""
        pattern = self._holders.get(path)
        if pattern is None:
            pattern = self._holders[path] = carrier(holder_of(self(path)))
        return pattern


class _Texts:
    """The headline, plural and expected text of one (channel, owner, receiver), built once:
    a fault repeats the same pair on every observation."""

    __slots__ = ("_built",)

    def __init__(self) -> None:
        self._built: dict[tuple[str, str, str], tuple[str, str, str]] = {}

    def __call__(self, channel: str, owner: str, receiver: str) -> tuple[str, str, str]:
        key = (channel, owner, receiver)
        texts = self._built.get(key)
        if texts is None:
            texts = self._built[key] = _TEXTS[channel](owner, receiver)
        return texts


def _event_texts(owner: str, receiver: str) -> tuple[str, str, str]:
    return (
        f"an event on {receiver}'s session carries data of {owner}",
        f"{{n}} tokens of {owner} reached events on {receiver}'s sessions",
        f"only {receiver}'s data on {receiver}'s sessions",
    )


def _outcome_texts(owner: str, receiver: str) -> tuple[str, str, str]:
    return (
        f"a turn result of {receiver} carries data of {owner}",
        f"{{n}} tokens of {owner} reached turn results of {receiver}",
        f"only {receiver}'s data in {receiver}'s results",
    )


def _object_texts(owner: str, holder: str) -> tuple[str, str, str]:
    return (
        f"an object reachable from {holder}'s roots holds data of {owner}",
        f"{{n}} objects reachable from {holder}'s roots hold data of {owner}",
        f"only {holder}'s data under {holder}'s roots",
    )


_TEXTS = {"events": _event_texts, "outcomes": _outcome_texts, "objects": _object_texts}


def detect(trace: Trace, index: TokenLookup) -> Iterable[Finding]:
    """Find harness tokens of one user in the events, results and objects of another.

    Args:
        trace: the run to judge.
        index: the token index built from ``trace.users`` and the runs of ``trace.turns``.

    Example:
        >>> list(detect(trace, index))  # doctest: +SKIP
        [Finding(kind='foreign-data', users=('usr_a', 'usr_b'), ...)]
    """
    view = TraceView(trace, index)
    agg = FindingAggregator()
    scan = CachedScan(index)
    owners = TokenOwners(scan)
    intrusions = _intrusions(trace)
    named_threads: dict[str, set[str]] = {}
    for intruder, thread_id in intrusions.values():
        named_threads.setdefault(intruder, set()).add(thread_id)
    shape = _Shapes(index)
    texts = _Texts()

    for session in trace.sessions:
        receiver = session.user_id
        for event in session.events:
            if not _event_foreign(owners, event, receiver):
                continue
            named = _named(intrusions, event.run_id, receiver)
            sender, judged = _judged_elsewhere(view, event, receiver)
            strings = [(where, text) for where, text in event_strings(event) if where not in judged]
            for location, token, owner in _foreign(scan, strings, receiver, named):
                if owner == sender:
                    continue
                described = _describe(index, token, owner)
                headline, plural, expected = texts("events", owner, receiver)
                agg.add(
                    KIND,
                    (owner, receiver),
                    "events",
                    f"session {session.session_id} seq {event.seq} {event.type} {location}: "
                    f"{described}",
                    step=view.step_of(event),
                    key=(session.session_id, event.seq, token),
                    headline=headline,
                    plural=plural,
                    expected=expected,
                    actual=described,
                    pattern="events received",
                )

    for record in trace.turns:
        receiver = record.user_id
        outcome = record.outcome
        # A crash's text is the outcomes oracle's: it attributes it with the crash as evidence.
        error = outcome.error if record.crash is None else None
        if not owners.any_foreign(collect_texts(outcome.result, []), receiver) and (
            error is None or not owners.foreign(error, receiver)
        ):
            continue
        # The echo's answer is the context oracle's evidence of a swapped context.
        judged = _outcome_echoes(outcome)
        strings = [
            (where, text)
            for where, text in iter_strings(outcome.result, "result")
            if where not in judged
        ]
        if error is not None:
            strings.append(("error", error))
        named = _named(intrusions, record.turn.run_id, receiver)
        for location, token, owner in _foreign(scan, strings, receiver, named):
            described = _describe(index, token, owner)
            headline, plural, expected = texts("outcomes", owner, receiver)
            agg.add(
                KIND,
                (owner, receiver),
                "outcomes",
                f"run {record.turn.run_id} (session {record.session_id}) outcome {location}: "
                f"{described}",
                step=record.step,
                key=(record.turn.run_id, token),
                headline=headline,
                plural=plural,
                expected=expected,
                actual=described,
                pattern=shape.result_pattern(location),
            )

    judge_intrusions(agg, view, index, scan)

    reported: set[tuple[str, str, str]] = set()
    for checkpoint in trace.checkpoints:
        for walk in checkpoint.walks:
            if walk.owner is None:
                continue  # shared roots: judged after close by the retention oracle
            holder = walk.owner
            strings = [(found.path, found.value) for found in walk.values]
            own_threads = named_threads.get(holder, set())
            sites = {found.path: found.site for found in walk.values if found.site}
            for path, token, owner in _foreign(scan, strings, holder, own_threads):
                if (holder, path, token) in reported:
                    continue  # the same object seen again at a later checkpoint
                reported.add((holder, path, token))
                described = _describe(index, token, owner)
                headline, plural, expected = texts("objects", owner, holder)
                agg.add(
                    KIND,
                    (owner, holder),
                    "objects",
                    f"checkpoint {checkpoint.index} ({checkpoint.label}) {holder}'s {path}: "
                    f"{described}",
                    step=checkpoint.step,
                    key=(path, token),
                    headline=headline,
                    plural=plural,
                    expected=expected,
                    actual=f"{path} = {described}",
                    pattern=shape.holder_pattern(path),
                    sites=(sites[path],) if path in sites else (),
                )
    return agg.findings()
