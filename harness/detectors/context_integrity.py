"""Oracle ``context-mismatch``: code ran under a context whose user or run is not the turn's.

Two sources of evidence:

- the ``echo`` tool, which returns the ``user_id``, ``run_id`` and ``thread_id`` of the context
  that executed it, in ``outcome.result["tool_results"]`` and in ``tool_completed`` events;
- walks of a user's roots taken while exactly one of that user's runs was active: a value under
  the ``context`` or ``agents`` root that is a user id or run id of another user, or another run
  id of the same user, means the live context is not the running one.

Severity: an echo that ran under another user's or another run's identity is a ``leak`` (code
did run as someone else), and so is another user's id in a live context. The user's own other
run id in its live context (a stale context that nothing was seen to use) is a ``hazard``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeAlias

from harness.detectors._evidence import FindingAggregator
from harness.detectors._trace_view import (
    ECHO_FIELDS,
    CachedScan,
    TokenLookup,
    TraceView,
    answered_echo,
    root_key,
)
from harness.model import Checkpoint, Finding, Trace, TurnRecord
from harness.observe import CONTEXT_ROOTS

__all__ = ["detect"]

KIND = "context-mismatch"


def _echoes(view: TraceView, record: TurnRecord) -> Iterator[tuple[str, Any]]:
    """Yield ``(where, echo result)`` for every echo answer of a turn."""
    result = record.outcome.result
    entries = result.get("tool_results") if isinstance(result, Mapping) else None
    if isinstance(entries, list | tuple):
        for position, entry in enumerate(entries):
            if isinstance(entry, Mapping) and answered_echo(entry):
                yield f"tool_results[{position}]", entry.get("result")
    # Only the turn's user's sessions: a copy on another user's tab is event-misrouted, not a
    # context swap.
    for session in view.sessions_of(record.user_id):
        for event in view.events_of(session.session_id, record.turn.run_id):
            if event.type == "tool_completed" and answered_echo(event.payload):
                yield f"session {session.session_id} seq {event.seq}", event.payload.get("result")


def _echo_mismatches(agg: FindingAggregator, view: TraceView, index: TokenLookup) -> None:
    for record in view.trace.turns:
        turn = record.turn
        wanted = {"user_id": record.user_id, "run_id": turn.run_id, "thread_id": turn.thread_id}
        for where, echoed in _echoes(view, record):
            seen = echoed if isinstance(echoed, Mapping) else {}
            wrong = [f for f in ECHO_FIELDS if seen.get(f) != wanted[f]]
            if not wrong:
                continue
            ran_as = seen.get("user_id")
            runner = index.owner(ran_as) if isinstance(ran_as, str) else None
            users = (runner, record.user_id) if runner and runner != record.user_id else None
            shown = ", ".join(f"{f}={seen.get(f)!r}" for f in wrong)
            agg.add(
                KIND,
                users or (record.user_id,),
                "echo " + "/".join(wrong),
                f"run {turn.run_id} of {record.user_id} (session {record.session_id}) "
                f"echo in {where} ran under {shown}",
                step=record.step,
                key=(turn.run_id, tuple((f, str(seen.get(f))) for f in wrong)),
                headline=f"a tool of {record.user_id}'s turn ran under another context",
                plural=f"{{n}} tools of {record.user_id}'s turns ran under another context",
                expected=", ".join(f"{f}={wanted[f]}" for f in wrong),
                actual=", ".join(f"{f}={seen.get(f)}" for f in wrong),
                channel="context",  # echo or walk: one way to see one swapped context
            )


def _walk_mismatches(agg: FindingAggregator, trace: Trace, index: TokenLookup) -> None:
    scan = CachedScan(index)
    for checkpoint in trace.checkpoints:
        for walk in checkpoint.walks:
            if walk.owner is None or len(walk.active_runs) != 1:
                continue
            owner, active = walk.owner, walk.active_runs[0]
            for found in walk.values:
                if root_key(found.path) not in CONTEXT_ROOTS:
                    continue
                for token, token_owner in scan(found.value):
                    kind = index.kind(token)
                    if kind not in ("user_id", "run_id"):
                        continue
                    if token_owner == owner and (kind == "user_id" or token == active):
                        continue
                    where = (checkpoint, owner, active, found.path)
                    if token_owner != owner:
                        _foreign_context(agg, where, token, kind, token_owner)
                    else:
                        _stale_context(agg, where, token)


#: Where a walk value was met: checkpoint, the walk's owner, its one active run, the path.
_Where: TypeAlias = tuple[Checkpoint, str, str, str]


def _foreign_context(
    agg: FindingAggregator, where: _Where, token: str, kind: str, token_owner: str
) -> None:
    """A leak: another user's id in a user's live context."""
    checkpoint, owner, active, path = where
    agg.add(
        KIND,
        (token_owner, owner),
        f"roots {kind}",
        f"checkpoint {checkpoint.index} ({checkpoint.label}) {owner}'s {path} = {kind} "
        f"{token!r} of {token_owner} while only run {active} was active",
        step=checkpoint.step,
        key=(path, token, active),
        headline=f"{owner}'s live context holds a {kind} of {token_owner} "
        "that is not its running turn's",
        plural=f"{{n}} {kind} values of {token_owner} in {owner}'s live "
        "contexts are not their running turn's",
        expected=f"user_id={owner}, run_id={active}",
        actual=f"{path} = {token} ({kind} of {token_owner})",
        channel="context",
    )


def _stale_context(agg: FindingAggregator, where: _Where, token: str) -> None:
    """A hazard: the user's own context names one of its runs that is not the running one.

    Nothing proves code ran under it (an ``echo`` that did is a leak, reported from the echo);
    code that read this context would.
    """
    checkpoint, owner, active, path = where
    agg.add(
        KIND,
        (owner,),
        "roots stale run_id",
        f"checkpoint {checkpoint.index} ({checkpoint.label}) {owner}'s {path} = run_id "
        f"{token!r} of {owner} while only run {active} was active",
        step=checkpoint.step,
        key=(path, token, active),
        headline=f"{owner}'s live context names its run {token}, not the running turn's "
        f"(a stale context: code reading it would run under the wrong run)",
        plural=f"{{n}} stale run ids in {owner}'s live contexts are not their running "
        "turn's (code reading them would run under the wrong run)",
        expected=f"user_id={owner}, run_id={active}",
        actual=f"{path} = {token} (another run of {owner})",
        severity="hazard",
        channel="context",
    )


def detect(trace: Trace, index: TokenLookup) -> Iterable[Finding]:
    """Find code that ran under a context that is not its turn's.

    Args:
        trace: the run to judge.
        index: the token index built from the trace's users and runs.

    Example:
        >>> [f.kind for f in detect(trace, index)]  # doctest: +SKIP
        ['context-mismatch']
    """
    view = TraceView(trace, index)
    agg = FindingAggregator()
    _echo_mismatches(agg, view, index)
    _walk_mismatches(agg, trace, index)
    return agg.findings()
