"""The verdict on an accepted intrusion: what crossed decides between a leak and a hazard.

An intrusion is a turn that user B sends on a thread of user A (``Turn.victim``, scenario
``intrusion``). A target that refuses it (``rejected``) is correct. One that runs it is either

- a ``leak``: something crossed. Tokens of A (canaries, ids, content of A's turns; never the
  thread id B named itself) in B's events of that run or on that thread, or in the run's result;
  or tokens of B in A's events on that thread, or in the results of A's turns on that thread
  that were still running or started once the intrusion began;
- a ``hazard``: nothing crossed. The ownership of the thread was not checked, which is the
  hole behind real cross-user leaks on a backend whose thread ids are global; a backend that
  keeps threads per user (B naming A's thread id gets a new thread of its own) is correct.

The crossings found here are also reported on their own channel by the ``foreign-data`` oracle;
the intrusion finding repeats them as the evidence of its verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from harness.detectors._evidence import FindingAggregator
from harness.detectors._trace_view import (
    CachedScan,
    TokenLookup,
    TraceView,
    event_strings,
    iter_strings,
)
from harness.model import Event, TurnRecord

__all__ = ["judge_intrusions"]

KIND = "foreign-data"
#: Crossing lines kept as the evidence of one intrusion.
MAX_CROSSINGS = 4


def _tokens_of(
    scan: CachedScan, strings: Iterable[tuple[str, str]], owner: str, skip: str
) -> Iterator[tuple[str, str]]:
    """Yield ``(location, token)`` for each token of ``owner`` (but ``skip``), once per token."""
    seen: set[str] = set()
    for location, text in strings:
        for token, token_owner in scan(text):
            if token_owner == owner and token != skip and token not in seen:
                seen.add(token)
                yield location, token


def _on_thread(event: Event, thread_id: str, run_ids: set[str]) -> bool:
    return event.thread_id == thread_id or event.run_id in run_ids


def _outcome_strings(record: TurnRecord) -> list[tuple[str, str]]:
    strings = list(iter_strings(record.outcome.result, "result"))
    if record.outcome.error is not None:
        strings.append(("error", record.outcome.error))
    return strings


def _crossings(
    view: TraceView, index: TokenLookup, scan: CachedScan, record: TurnRecord, victim: str
) -> list[str]:
    """Evidence lines of what crossed between intruder and victim once the intrusion began."""
    intruder, thread, begun = record.user_id, record.turn.thread_id, record.step
    lines: list[str] = []

    def describe(token: str, owner: str) -> str:
        return f"{index.kind(token) or 'token'} {token!r} of {owner}"

    # The victim's data reaching the intruder: that run's events and result, and any later
    # event of that thread on the intruder's tabs.
    mine = {record.turn.run_id}
    for session in view.sessions_of(intruder):
        for event in session.events:
            if view.step_of(event) < begun or not _on_thread(event, thread, mine):
                continue
            for location, token in _tokens_of(scan, event_strings(event), victim, thread):
                lines.append(
                    f"{victim}'s data reached {intruder}: session {session.session_id} seq "
                    f"{event.seq} {event.type} {location}: {describe(token, victim)}"
                )
    for location, token in _tokens_of(scan, _outcome_strings(record), victim, thread):
        lines.append(
            f"{victim}'s data reached {intruder}: run {record.turn.run_id} outcome "
            f"{location}: {describe(token, victim)}"
        )

    # The intruder's data reaching the victim on that thread, once the intrusion began.
    victim_turns = [
        other
        for other in view.trace.turns
        if other.user_id == victim
        and other.turn.thread_id == thread
        and (other.ended_step if other.ended_step is not None else other.step) >= begun
    ]
    theirs = {other.turn.run_id for other in victim_turns}
    for session in view.sessions_of(victim):
        for event in session.events:
            if view.step_of(event) < begun or not _on_thread(event, thread, theirs):
                continue
            for location, token in _tokens_of(scan, event_strings(event), intruder, ""):
                lines.append(
                    f"{intruder}'s data reached {victim}: session {session.session_id} seq "
                    f"{event.seq} {event.type} {location}: {describe(token, intruder)}"
                )
    for other in victim_turns:
        for location, token in _tokens_of(scan, _outcome_strings(other), intruder, ""):
            lines.append(
                f"{intruder}'s data reached {victim}: run {other.turn.run_id} outcome "
                f"{location}: {describe(token, intruder)}"
            )
    return lines


def _claimed_before(view: TraceView, record: TurnRecord, victim: str) -> bool:
    """Whether an event of the victim's turns on the intruded thread arrived before the
    intrusion was sent: proof that the target had the thread as the victim's by then."""
    thread = record.turn.thread_id
    runs = {
        other.turn.run_id
        for other in view.trace.turns
        if other.user_id == victim and other.turn.thread_id == thread
    }
    return any(
        view.step_of(event) < record.step and _on_thread(event, thread, runs)
        for session in view.sessions_of(victim)
        for event in session.events
    )


def judge_intrusions(
    agg: FindingAggregator, view: TraceView, index: TokenLookup, scan: CachedScan
) -> None:
    """Add one observation per accepted intrusion: a leak with what crossed, else a hazard."""
    for record in view.trace.turns:
        victim = record.turn.victim
        if victim is None or record.outcome.status not in ("completed", "error"):
            continue  # refused (or never answered: a hang, judged elsewhere)
        intruder, thread = record.user_id, record.turn.thread_id
        accepted = (
            f"run {record.turn.run_id} (session {record.session_id}) on {victim}'s thread "
            f"{thread}: {record.outcome.status}, not rejected"
        )
        crossed = _crossings(view, index, scan, record, victim)
        if not crossed and not _claimed_before(view, record, victim):
            # Nothing crossed, and the target had not started the victim's turn on that thread
            # when the intrusion was sent (over the wire, under load, a later send can arrive
            # first): to the target the intruder was the thread's first user, and running its
            # turn is what a correct target does with a thread id it has not seen.
            continue
        if crossed:
            shown = crossed[:MAX_CROSSINGS]
            more = len(crossed) - len(shown)
            agg.add(
                KIND,
                (victim, intruder),
                "intrusions",
                accepted + "; " + "; ".join(shown) + (f"; and {more} more" if more else ""),
                step=record.step,
                key=(record.turn.run_id,),
                headline=f"{intruder} ran a turn on a thread of {victim}",
                plural=f"{{n}} turns of {intruder} ran on threads of {victim}, and data crossed",
                expected=f"rejected: the thread belongs to {victim}",
                actual=f"{record.outcome.status}; {crossed[0]}",
                pattern="turn on another user's thread",
            )
            continue
        agg.add(
            KIND,
            (victim, intruder),
            "intrusions",
            accepted + f"; nothing of {victim} reached {intruder} and nothing of {intruder} "
            f"reached {victim} on that thread (ownership of thread {thread} not checked)",
            step=record.step,
            key=(record.turn.run_id,),
            headline=f"{intruder} ran a turn on a thread of {victim}",
            plural=f"{{n}} turns of {intruder} ran on threads of {victim}, nothing crossed "
            "(ownership not checked)",
            expected=f"rejected: the thread belongs to {victim}",
            actual=f"{record.outcome.status}, nothing crossed",
            severity="hazard",
            pattern="turn on another user's thread",
        )
