"""``harness check-target``: a short conformance pass over the Target contract.

A few users, one turn each, and one check per contract rule, each reported as pass or fail
with the fix. It runs before any scenario, so that an adapter mistake shows as what it is
rather than as a finding about the backend.
"""

from __future__ import annotations

import gc
import random
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from harness.contract import Target
from harness.model import CallTool, Event, SimUser, Think, Turn, TurnOutcome
from harness.observe import frozen_heap
from harness.targets import TargetInfo, describe, load_target

__all__ = ["EVENT_TYPES", "RULES", "RuleResult", "check_target", "conformance"]

EVENT_TYPES = frozenset(
    {
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_completed",
        "agent_error",
    }
)
_TERMINAL = ("agent_completed", "agent_error")
_TOOL_KEYS = frozenset({"name", "params", "result", "error"})

#: Every rule, in report order, with the fix shown when it fails.
RULES: Mapping[str, str] = MappingProxyType(
    {
        "start-stop": "start() and stop() must not raise; build the backend in start(), "
        "drop it in stop().",
        "sessions": "open_session(user) returns a Session, and close() neither raises nor hangs.",
        "outcome": "Return TurnOutcome(run_id=turn.run_id, status=..., "
        "result={'tool_results': [...]}, error=...) built by keyword; harness.kit.run_plan "
        "and completed() do it.",
        "tool-results": "result['tool_results'] lists {name, params, result, error} per tool "
        "call, in plan order (harness.kit.run_plan builds it).",
        "echo": "The echo tool returns the user_id, run_id and thread_id of the context the "
        "tool code ran under, and its params (harness.kit.echo_result).",
        "events": "events() returns every Event the connection received, seq numbered from 0, "
        "each run with one terminal agent_completed/agent_error; deliver events to the "
        "owner's tabs.",
        "events-as-sent": "Build events with harness.targets.event_from_message (or subclass "
        "harness.kit.RecordingSession): never fill user_id/thread_id in from the session.",
        "refusals": "A turn on another user's thread, or past a limit, must end with status "
        "'rejected': list the backend's refusal exceptions in RecordingSession.refusals.",
        "roots": "roots() returns this user's live objects while a turn runs (engine, "
        "context, ...), and the session drops its references on close() so they become "
        "garbage.",
    }
)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule of the conformance pass: passed or not, what was seen, and the fix.

    Example:
        >>> RuleResult(rule="echo", passed=True, detail="3 echoes", fix="").passed
        True
    """

    rule: str
    passed: bool
    detail: str
    fix: str


class _Report:
    def __init__(self) -> None:
        self.failures: dict[str, list[str]] = {}
        self.notes: dict[str, list[str]] = {}

    def fail(self, rule: str, detail: str) -> None:
        self.failures.setdefault(rule, []).append(detail)

    def note(self, rule: str, detail: str) -> None:
        notes = self.notes.setdefault(rule, [])
        if detail not in notes:
            notes.append(detail)

    def results(self) -> tuple[RuleResult, ...]:
        out = []
        for rule, fix in RULES.items():
            failed = self.failures.get(rule, [])
            detail = "; ".join(failed[:3] or self.notes.get(rule, ["ok"])[:3])
            out.append(
                RuleResult(rule=rule, passed=not failed, detail=detail, fix=fix if failed else "")
            )
        return tuple(out)


def _turn(user: SimUser, number: int, thread_id: str | None = None) -> Turn:
    canary = user.canaries[0]
    plan = (
        Think(f"checking for {user.display_name} ({canary})"),
        CallTool("echo", {"note": canary}),
        CallTool("search", {"query": f"weather {canary}"}),
    )
    return Turn(
        run_id=f"run_{number:012x}",
        thread_id=thread_id or user.thread_ids[0],
        message=f"hello from {canary}",
        plan=plan,
    )


def _check_outcome(report: _Report, user: SimUser, turn: Turn, outcome: object) -> None:
    if not isinstance(outcome, TurnOutcome):
        report.fail("outcome", f"run_turn returned {type(outcome).__name__}, not a TurnOutcome")
        return
    if outcome.run_id != turn.run_id or outcome.status != "completed":
        report.fail(
            "outcome",
            f"run_id={outcome.run_id!r} status={outcome.status!r} error={outcome.error!r} "
            f"(expected run_id={turn.run_id!r}, status='completed')",
        )
    results = (outcome.result or {}).get("tool_results") if outcome.result is not None else None
    if not isinstance(results, Sequence) or isinstance(results, str):
        report.fail("tool-results", f"result={outcome.result!r} has no tool_results list")
        return
    names = [entry.get("name") if isinstance(entry, Mapping) else None for entry in results]
    wanted = [step.name for step in turn.plan if isinstance(step, CallTool)]
    bad = [e for e in results if not isinstance(e, Mapping) or set(e) != _TOOL_KEYS]
    if names != wanted or bad:
        report.fail(
            "tool-results", f"tool_results names {names} (expected {wanted}), entries {bad[:1]}"
        )
        return
    echo = results[wanted.index("echo")]["result"]
    expected = {"user_id": user.user_id, "run_id": turn.run_id, "thread_id": turn.thread_id}
    got = {k: echo.get(k) for k in expected} if isinstance(echo, Mapping) else echo
    params = echo.get("params") if isinstance(echo, Mapping) else None
    if got != expected or not isinstance(params, Mapping) or params.get("note") != user.canaries[0]:
        report.fail("echo", f"echo returned {echo!r}, expected {expected} and params with the note")
    else:
        report.note("echo", "echo reports the executing context")


def _check_events(report: _Report, user: SimUser, events: Sequence[object], runs: set[str]) -> None:
    if not all(isinstance(e, Event) for e in events):
        report.fail("events", f"events() of {user.user_id} holds non-Event items")
        return
    typed: Sequence[Event] = events  # type: ignore[assignment]
    seqs = [e.seq for e in typed]
    if seqs != list(range(len(typed))):
        report.fail("events", f"seq numbers {seqs[:8]} are not 0, 1, 2, ... in arrival order")
    unknown = sorted({e.type for e in typed} - EVENT_TYPES)
    if unknown:
        report.fail("events", f"unknown event types {unknown}")
    for run_id in sorted(runs):
        mine = [e for e in typed if e.run_id == run_id]
        terminals = [e for e in mine if e.type in _TERMINAL]
        if not mine or mine[0].type != "agent_started" or len(terminals) != 1:
            kinds = [e.type for e in mine]
            report.fail("events", f"run {run_id} on {user.user_id}'s tab: events {kinds}")
        elif any(e.user_id not in (user.user_id, None) for e in mine):
            report.fail("events", f"run {run_id}: an event names another user")
    if runs and not report.failures.get("events"):
        report.note("events", f"{len(typed)} events, one terminal per run")


async def _check_limit(
    report: _Report, limits: Mapping[str, int], user: SimUser, session: Any
) -> None:
    limit = limits.get("engines_per_user")
    burst = getattr(session, "burst", None)
    if not limit or not callable(burst):
        report.note("refusals", "no engines_per_user limit with a burst() to press it")
        return
    turns = [_turn(user, 200 + n) for n in range(limit + 1)]
    try:
        outcomes = await burst(turns)
    except Exception as exc:
        report.fail("refusals", f"burst() past the limit raised {type(exc).__name__}: {exc}")
        return
    statuses = [getattr(o, "status", None) for o in outcomes]
    if "rejected" not in statuses:
        report.fail(
            "refusals", f"{limit + 1} turns burst past engines_per_user={limit}: {statuses}"
        )
    else:
        report.note("refusals", f"a burst past engines_per_user={limit} is refused as 'rejected'")


def _probe_recording(report: _Report, session: Any) -> None:
    receive = getattr(session, "receive", None)
    if not callable(receive):
        report.note("events-as-sent", "no receive(message) to probe; use event_from_message")
        return
    before = len(session.events())
    receive({"type": "agent_thinking", "run_id": None, "thread_id": None, "user_id": None})
    recorded = list(session.events())[before:]
    if len(recorded) != 1:
        report.fail("events-as-sent", f"receive(message) recorded {len(recorded)} events, not 1")
    elif recorded[0].user_id is not None or recorded[0].thread_id is not None:
        event = recorded[0]
        report.fail(
            "events-as-sent",
            f"a message without ids was recorded with user_id={event.user_id!r}, "
            f"thread_id={event.thread_id!r}: the session filled them in",
        )
    else:
        report.note("events-as-sent", "a message without ids stays without ids")


def _not_checked(report: _Report, why: str) -> tuple[RuleResult, ...]:
    for rule in RULES:
        if rule not in report.failures:
            report.fail(rule, f"not checked: {why}")
    return report.results()


async def conformance(target: Target, users: int = 3) -> tuple[RuleResult, ...]:
    """Run the conformance pass on a loaded target; return one result per rule.

    Args:
        target: the target (not started).
        users: how many simulated users take one turn each (at least 2).

    Example:
        >>> from harness.targets.reference import ReferenceTarget
        >>> from harness.scheduling import run
        >>> results, _ = run(conformance(ReferenceTarget()))
        >>> [r.rule for r in results if not r.passed]
        []
    """
    info = describe(target)
    # The roots rule collects garbage at the end: only what the pass made is looked through.
    with frozen_heap(enabled="live_roots" in info.capabilities):
        return await _conformance(target, info, users)


async def _conformance(target: Target, info: TargetInfo, users: int) -> tuple[RuleResult, ...]:
    from harness.users import UserFactory  # faker: loaded when a check runs, not on import

    report = _Report()
    people = UserFactory(random.Random(0)).users(max(2, users))
    try:
        await target.start()
    except Exception as exc:
        report.fail("start-stop", f"start() raised {type(exc).__name__}: {exc}")
        return _not_checked(report, "the target did not start")
    refs: list[weakref.ref[Any]] = []
    unweakable: set[str] = set()
    sessions: list[Any] = []
    try:
        for user in people:
            try:
                sessions.append(await target.open_session(user))
            except Exception as exc:
                report.fail("sessions", f"open_session raised {type(exc).__name__}: {exc}")
                return _not_checked(report, "no session could be opened")
        for number, (user, session) in enumerate(zip(people, sessions, strict=True), start=1):
            seen: dict[str, int] = {"walks": 0}

            def on_event(event: Event, session: Any = session, seen: dict[str, int] = seen) -> None:
                if event.type != "tool_executing":
                    return
                roots = session.roots()
                seen["walks"] += 1
                seen["roots"] = seen.get("roots", 0) + len(roots)
                for obj in roots.values():
                    try:
                        refs.append(weakref.ref(obj))
                    except TypeError:
                        unweakable.add(type(obj).__name__)

            if hasattr(session, "on_event"):
                session.on_event = on_event
            turn = _turn(user, number)
            try:
                outcome = await session.run_turn(turn)
            except Exception as exc:
                report.fail("outcome", f"run_turn raised {type(exc).__name__}: {exc}")
                continue
            _check_outcome(report, user, turn, outcome)
            _check_events(report, user, session.events(), {turn.run_id})
            if "live_roots" in info.capabilities and not seen.get("roots"):
                report.fail("roots", f"roots() of {user.user_id} was empty while a tool ran")
        intruder, victim = people[1], people[0]
        turn = _turn(intruder, 100, thread_id=victim.thread_ids[0])
        try:
            outcome = await sessions[1].run_turn(turn)
            if getattr(outcome, "status", None) != "rejected":
                report.fail("refusals", f"a turn on another user's thread ended {outcome!r}")
            else:
                report.note("refusals", "another user's thread is refused as 'rejected'")
        except Exception as exc:
            report.fail(
                "refusals", f"a turn on another user's thread raised {type(exc).__name__}: {exc}"
            )
        await _check_limit(report, info.limits, people[-1], sessions[-1])
        _probe_recording(report, sessions[0])
        for session in sessions:
            try:
                await session.close()
            except Exception as exc:
                report.fail("sessions", f"close() raised {type(exc).__name__}: {exc}")
    finally:
        sessions.clear()
        try:
            await target.stop()
        except Exception as exc:
            report.fail("start-stop", f"stop() raised {type(exc).__name__}: {exc}")
    if "live_roots" in info.capabilities:
        gc.collect()
        alive = sorted({type(r()).__name__ for r in refs if r() is not None})
        if alive:
            report.fail("roots", f"still alive after close(): {', '.join(alive)}")
        elif refs:
            report.note("roots", f"{len(refs)} root objects became garbage after close()")
        if unweakable:
            report.note("roots", f"not weak-referenceable, not checked: {sorted(unweakable)}")
    return report.results()


def check_target(spec: str, *, users: int = 3) -> tuple[RuleResult, ...]:
    """Load the target named by ``spec`` and run :func:`conformance` on the seeded loop.

    Args:
        spec: ``module:attr`` (or any ``--target`` value).
        users: how many users take a turn.

    Raises:
        TargetLoadError: the spec names nothing loadable.

    Example:
        >>> all(r.passed for r in check_target("reference"))
        True
    """
    from harness.scheduling import run as run_on_loop

    target = load_target(spec)
    virtual = "live_roots" in describe(target).capabilities
    results, _ = run_on_loop(conformance(target, users), strategy="fifo", virtual_time=virtual)
    return results
