"""Oracles ``hang`` and ``crash``: turns that passed their timeout, and a target that raised.

- ``hang``: a turn whose status is ``timeout``; one finding per user, listing the runs and the
  last event each one's session received.
- ``crash``: a turn whose record carries ``crash`` (the exception the target raised), or an
  entry of ``trace.crashes`` (the target failed outside a turn, or an adapter call broke the
  contract or its bound). Crashes are grouped by their first line with ids blanked out, so one
  bug hit by every user is one finding.
- ``foreign-data``: a turn of user B crashed and its crash (the message, the data the
  exception failed on, its causes) carries a token of another user A: B's code was handed A's
  data. Reported on (A, B) with the crash as evidence, since a parse error on a reply read off a
  shared connection says nothing about whose reply it was. Tokens of users of earlier runs in
  the process count (the index knows them). The text of errors the target *returned* is judged
  by the ``foreign_data`` oracle.
- ``crash`` (contract breach): a ``TurnOutcome`` whose ``status`` is not one of the contract's,
  whose ``run_id`` is not the turn's, or whose ``result``/``error`` has the wrong type. The
  harness cannot tell what such a turn did, so it never counts as a pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import get_args

from harness.detectors._evidence import FindingAggregator
from harness.detectors._trace_view import TokenLookup, TraceView, normalize
from harness.model import Finding, Trace, TurnOutcome, TurnRecord, TurnStatus

__all__ = ["detect"]


#: The statuses a TurnOutcome may have (DESIGN.md section 4).
STATUSES = frozenset(get_args(TurnStatus))


def _breach(outcome: TurnOutcome, run_id: str) -> str | None:
    """What in ``outcome`` breaks the contract, or None."""
    if outcome.status not in STATUSES:
        return f"status={outcome.status!r} is not one of {', '.join(sorted(STATUSES))}"
    if outcome.run_id != run_id:
        return f"run_id={outcome.run_id!r} is not the turn's run_id {run_id!r}"
    if outcome.result is not None and not isinstance(outcome.result, Mapping):
        return f"result is a {type(outcome.result).__name__}, not a mapping or None"
    if outcome.error is not None and not isinstance(outcome.error, str):
        return f"error is a {type(outcome.error).__name__}, not a str or None"
    return None


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "(empty)"
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _braced(text: str) -> str:
    """``text`` safe inside a ``plural`` format string (crash text may hold ``{`` and ``}``)."""
    return text.replace("{", "{{").replace("}", "}}")


def _around(text: str, token: str, width: int = 60) -> str:
    """``text`` near the first ``token``, to show what the failing code was handed."""
    at = text.find(token)
    start, end = max(0, at - width), min(len(text), at + len(token) + width)
    return ("..." if start else "") + text[start:end] + ("..." if end < len(text) else "")


def _attribute(agg: FindingAggregator, record: TurnRecord, crash: str, index: TokenLookup) -> None:
    """A crash of B carrying A's tokens: foreign-data on (A, B), the crash as evidence."""
    receiver = record.user_id
    named = record.turn.thread_id if record.turn.victim is not None else None
    by_owner: dict[str, list[str]] = {}
    for token, owner in index.scan(crash):
        if owner != receiver and token != named:
            by_owner.setdefault(owner, []).append(token)
    error = _first_line(crash).split(" (at ", 1)[0]
    for owner, found in by_owner.items():
        what = ", ".join(f"{index.kind(token) or 'token'} {token!r}" for token in found)
        agg.add(
            "foreign-data",
            (owner, receiver),
            "crash",
            f"run {record.turn.run_id} (session {record.session_id}) crashed on {what} of "
            f"{owner}: {_around(crash, found[0])}",
            step=record.step,
            key=record.turn.run_id,
            headline=f"a turn of {receiver} crashed on data of {owner}: {error}",
            plural=f"{{n}} turns of {receiver} crashed on data of {owner}: {_braced(error)}",
            expected=f"only {receiver}'s data handed to {receiver}'s turn",
            actual=f"{what} of {owner}",
        )


def detect(trace: Trace, index: TokenLookup) -> Iterable[Finding]:
    """Report timed-out turns, crashes, and crashes on another user's data.

    Args:
        trace: the run to judge; reads ``turns`` and ``crashes``.
        index: the token index, to blank ids out of crash messages when grouping and to find
            whose tokens a crash carries.

    Example:
        >>> [f.kind for f in detect(trace, index)]  # doctest: +SKIP
        ['hang']
    """
    view = TraceView(trace, index)
    agg = FindingAggregator()
    for record in trace.turns:
        run_id = record.turn.run_id
        if record.outcome.status == "timeout":
            events = view.events_of(record.session_id, run_id)
            last = f"last event seq {events[-1].seq} {events[-1].type}" if events else "no event"
            agg.add(
                "hang",
                (record.user_id,),
                "timeout",
                f"session {record.session_id} run {run_id}: timed out after "
                f"{record.ended_at - record.started_at:.3f}s; {last}",
                step=record.step,
                headline=f"a turn of {record.user_id} passed its timeout",
                plural=f"{{n}} turns of {record.user_id} passed their timeout",
                expected="a terminal event (agent_completed or agent_error)",
                actual=last,
            )
        if record.crash:
            line = _first_line(record.crash)
            agg.add(
                "crash",
                (record.user_id,),
                normalize(line, index),
                f"session {record.session_id} run {run_id}: {line}",
                step=record.step,
                headline=f"the target raised during a turn of {record.user_id}: {line}",
                plural=f"the target raised during {{n}} turns of {record.user_id}: {_braced(line)}",
            )
            _attribute(agg, record, record.crash, index)
        breach = None if record.crash else _breach(record.outcome, run_id)
        if breach is not None:
            agg.add(
                "crash",
                (record.user_id,),
                f"contract breach: {normalize(breach, index)}",
                f"session {record.session_id} run {run_id}: run_turn returned a TurnOutcome "
                f"that breaks the contract: {breach}",
                step=record.step,
                headline=f"run_turn broke the outcome contract for {record.user_id}: {breach}",
                plural=f"run_turn broke the outcome contract in {{n}} turns of {record.user_id}",
                expected="TurnOutcome(run_id=turn.run_id, status=completed|error|rejected|"
                "timeout|cancelled)",
                actual=breach,
            )
    for crash in trace.crashes:
        line = _first_line(crash)
        users = tuple(sorted({owner for _token, owner in index.scan(crash)}))
        agg.add(
            "crash",
            users,
            normalize(line, index),
            _first_line(crash, limit=1000),  # the whole message: it names the fix
            step=0,  # outside any turn: when is unknown
            headline=f"the target raised: {line}",
            plural=f"the target raised {{n}} times: {_braced(line)}",
        )
    return agg.findings()
