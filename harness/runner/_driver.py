"""The runner's stateful core: one run of a Scenario against a Target, as it happens.

:class:`ScenarioDriver` opens each session plan's tab at its arrival time, runs its turns (one
after another, or together through ``Session.burst``), closes it (mid-turn when the plan says
so, reopening a new tab), and announces each step of that lifecycle to its listeners
(:mod:`harness.runner._lifecycle`): the trace recorder and, for targets with live roots, the
observer. Each turn has a timeout; every other adapter call a bound
(:mod:`harness.runner._bounds`); an exception from the target, or a value that breaks the
contract (:mod:`harness.runner._checks`), becomes a crash record. :mod:`harness.runner` is the
public face: it picks the loop, builds the Trace once and runs the detectors.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from harness.contract import Target
from harness.errors import TargetAuthError, TargetError
from harness.model import (
    Event,
    Scenario,
    SessionPlan,
    Turn,
    TurnOutcome,
    TurnRecord,
)
from harness.observe import Observer, TokenIndex
from harness.runner._bounds import (
    AdapterCallTimeout,
    Bounds,
    StepTimer,
    bounded_call,
    sync_call,
)
from harness.runner._calibration import watch_loop
from harness.runner._checks import (
    check_events,
    check_outcomes,
    check_roots,
    check_session,
    short_repr,
)
from harness.runner._copies import TabCopies
from harness.runner._lifecycle import ObserverListener, RunListener
from harness.runner._recorder import Observation, TraceRecorder
from harness.targets import TargetInfo

__all__ = ["RunProgress", "ScenarioDriver", "runs_of"]

#: Called as ``progress(done_turns, total_turns)`` after each turn.
RunProgress = Callable[[int, int], None]
#: Seconds a remote tab waits, past the settle, for copies of runs its user's other tabs ended.
COPY_WAIT = 1.0


class ScenarioDriver:
    """The mutable state of one run (plain class); listeners record what happens.

    Args:
        target: the started-per-run system under test.
        info: ``describe(target)``, read once per target by the caller.
        scenario: what to run.
        index: every token of the scenario's users, built once per run and shared with the
            observer and the detectors.
        recorder: the listener that builds the Trace.
        observe: walk live roots (only for targets with the ``live_roots`` capability).
        progress: called after each turn.
        bounds: how long adapter calls may take (default :class:`Bounds`).
    """

    def __init__(
        self,
        target: Target,
        info: TargetInfo,
        scenario: Scenario,
        *,
        index: TokenIndex,
        recorder: TraceRecorder,
        observe: bool,
        progress: RunProgress | None,
        bounds: Bounds | None = None,
    ) -> None:
        self.target = target
        self.bounds = bounds or Bounds()
        self.timer = StepTimer(self.bounds.block_limit)
        # Remote sessions are opened at most connect_rate a second (in process: no pacing).
        remote = "live_roots" not in info.capabilities
        self.connect_interval = 1.0 / self.bounds.connect_rate if remote else 0.0
        self._next_connect = 0.0
        #: How late the loop watcher woke up, in seconds (remote runs, which go in real time).
        self.lags: list[float] = []
        self.info = info
        self.scenario = scenario
        self.users = {user.user_id: user for user in scenario.users}
        self.index = index
        self.recorder = recorder
        self.listeners: list[RunListener] = [recorder]
        self.observe = observe and "live_roots" in info.capabilities
        self.observer: ObserverListener | None = None
        self.progress = progress
        self.total_turns = sum(len(p.turns) + len(p.reopen_turns) for p in scenario.sessions)
        self.done_turns = 0
        self._steps = itertools.count()
        # The first error that makes the run meaningless (a session that cannot be opened, a
        # user's credentials refused): the run finishes (every other session fails as fast)
        # and then raises it, a target error (exit 2) rather than findings about the target.
        self.fatal: TargetError | None = None
        self.active_turns = 0
        # Over a real network, events already sent may still be in flight when the runner
        # decides to close a tab; closing at once would blame the server for events the tab
        # simply closed too early to receive.
        self.settle = 0.0 if "live_roots" in info.capabilities else 0.25
        # ... and a tab whose copy of a run another tab of its user ended has not come yet
        # waits for it a little longer (the copy may be late, not lost; harness/runner/_copies).
        self.copies = TabCopies() if self.settle else None
        if self.copies is not None:
            self.listeners.append(self.copies)

    def next_step(self) -> int:
        return next(self._steps)

    def observation(self) -> Observation:
        """What the observer found (empty when the run observed nothing)."""
        if self.observer is None:
            return Observation()
        observer = self.observer.observer
        return Observation(
            observer.checkpoints, self.observer.retention, observer.statistics.as_dict()
        )

    def _crash(self, description: str) -> None:
        for listener in self.listeners:
            listener.crashed(description)

    # ------------------------------------------------------------------ the whole run
    async def drive(self) -> None:
        loop = asyncio.get_running_loop()
        name, bound = self.info.name, self.bounds.call_timeout
        for problem in self.info.problems:
            self._crash(problem)
        try:
            starting = self._timed("start()", self.target.start)
            await bounded_call(f"{name}.start()", starting, bound, own_task=False)
        except TargetError:
            raise
        except Exception as exc:
            raise TargetError(
                f"target {name!r} failed to start: start() raised {short_repr(exc)}. "
                "Check that the system under test can start on its own (docs/targets.md)."
            ) from exc
        try:
            shared = self._shared_roots() if self.observe else {}
            observer = Observer(
                self.index,
                shared_roots=shared,
                opaque=self.info.adapter_objects,
                clock=loop.time,
                next_step=self.next_step,
                enabled=self.observe,
            )
            del shared
            self.observer = ObserverListener(
                observer, bound=self.bounds.call_timeout, crashed=self._crash
            )
            self.listeners.append(self.observer)
            sessions = [
                asyncio.ensure_future(self.drive_session(p)) for p in self.scenario.sessions
            ]
            periodic = asyncio.ensure_future(
                observer.periodic(self.scenario.checkpoint_interval, lambda: self.active_turns > 0)
            )
            # In real time only: on the seeded loop a watcher would change the schedule.
            remote = "live_roots" not in self.info.capabilities
            watcher = asyncio.ensure_future(watch_loop(self.lags)) if remote else None
            try:
                await asyncio.gather(*sessions)
            finally:
                background = [task for task in (periodic, watcher) if task is not None]
                for task in background:
                    task.cancel()
                await asyncio.gather(*background, return_exceptions=True)
            for listener in self.listeners:
                listener.run_ended()
            if not self.observe:
                self.recorder.note(
                    "live roots not observed (black-box target): shared-state and retention "
                    "checks skipped; context checks use echo results only"
                )
        finally:
            try:
                stopping = self._timed("stop()", self.target.stop)
                await bounded_call(f"{name}.stop()", stopping, bound, own_task=False)
            except AdapterCallTimeout as exc:
                self._crash(str(exc))
            except Exception as exc:
                self._crash(f"target.stop() raised {short_repr(exc)}")
            self._report_blocks()
        if self.fatal is not None:
            raise self.fatal

    def _timed(self, call: str, method: Callable[[], Any]) -> Any:
        """``method()`` as an awaitable timed step by step (a sync error raises at await)."""

        async def called() -> Any:
            return await method()

        return self.timer.wrap(call, called())

    def _shared_roots(self) -> Any:
        call = f"{self.info.name}.shared_roots()"
        try:
            shared = sync_call(call, self.target.shared_roots, self.bounds.call_timeout)
        except AdapterCallTimeout as exc:
            self._crash(str(exc))
            return {}
        except Exception as exc:
            self._crash(
                f"{call} raised {short_repr(exc)}; shared-state and retention checks ran without "
                "boundaries. Fix shared_roots() to return a dict of shared objects ({} if none)."
            )
            return {}
        problem = check_roots(shared, call)
        if problem is not None:
            self._crash(problem)
            return {}
        return shared

    def _report_blocks(self) -> None:
        """One crash line per adapter call that held the loop past the block limit."""
        longest: dict[str, tuple[float, int]] = {}
        for call, took in self.timer.blocks:
            worst, count = longest.get(call, (0.0, 0))
            longest[call] = (max(worst, took), count + 1)
        for call, (worst, count) in sorted(longest.items()):
            self._crash(
                f"{call} blocked the event loop (loop lag) {count} time(s), longest {worst:.1f}s "
                f"(--block-limit {self.timer.block_limit:g}s): every other user stalled meanwhile. "
                "Await instead of blocking (asyncio.sleep, an async client), or move blocking "
                "work to a thread (asyncio.to_thread)."
            )

    async def drive_session(self, plan: SessionPlan) -> None:
        await asyncio.sleep(plan.opens_at)
        session = await self.open(plan.session_id, plan.user_id)
        if session is None:
            return
        opened = asyncio.get_running_loop().time()
        work = asyncio.ensure_future(self.run_turns(plan.session_id, session, plan))
        if plan.close_after is not None:
            done, _ = await asyncio.wait({work}, timeout=plan.close_after)
            if not done:
                work.cancel()  # the tab closes mid-turn: run_turn records it as cancelled
        await asyncio.gather(work, return_exceptions=plan.close_after is not None)
        remaining = opened + plan.keep_open - asyncio.get_running_loop().time()
        if remaining > 0:
            await asyncio.sleep(remaining)
        await self.close(plan.session_id, session)
        if plan.close_after is not None and plan.reopen_turns:
            reopened_id = f"{plan.session_id}r"
            session = await self.open(reopened_id, plan.user_id)
            if session is not None:
                reopened = replace(
                    plan, session_id=reopened_id, turns=plan.reopen_turns, burst=False
                )
                await self.run_turns(reopened_id, session, reopened)
                await self.close(reopened_id, session)

    async def open(self, session_id: str, user_id: str) -> Any:
        user = self.users[user_id]
        call = f"open_session({user_id})"
        await self._connect_slot()  # the wait for a slot is not the adapter's time
        try:
            opening = self._timed(call, lambda: self.target.open_session(user))
            session = await bounded_call(call, opening, self.bounds.call_timeout)
        except AdapterCallTimeout as exc:
            self._crash(str(exc))
            return None
        except TargetError as exc:
            # The adapter says it cannot reach or use the target (a refused connection, a
            # refused token, too few pre-issued tokens): configuration, not the target's bug.
            self.fatal = self.fatal or exc
            return None
        except Exception as exc:
            self._crash(f"{call} raised {short_repr(exc)}")
            return None
        problem = check_session(session, call)
        if problem is not None:
            self._crash(problem)
            return None
        at, step = asyncio.get_running_loop().time(), self.next_step()
        if hasattr(session, "on_event"):
            session.on_event = self._event_hook(session_id)
        for listener in self.listeners:
            listener.session_opened(session_id, user_id, session, at, step)
        return session

    async def _connect_slot(self) -> None:
        """Wait for this session's slot: at most ``connect_rate`` opens a second."""
        if not self.connect_interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_connect)
        self._next_connect = slot + self.connect_interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def _event_hook(self, session_id: str) -> Callable[[Event], None]:
        listeners = self.listeners
        timer = self.timer

        def hook(event: Event) -> None:
            # Runs inside the adapter's step: the harness's time here is not the adapter's.
            started = time.perf_counter()
            step = self.next_step()
            for listener in listeners:
                listener.event_received(session_id, event, step)
            timer.harness_seconds += time.perf_counter() - started

        return hook

    async def close(self, session_id: str, session: Any) -> None:
        if self.settle:
            await asyncio.sleep(self.settle)
        if self.copies is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(COPY_WAIT):
                    await self.copies.caught_up(session_id)
        events: Sequence[Event] = ()
        bound = self.bounds.call_timeout
        # The user, not the session, names the call: crashes are grouped with ids blanked out,
        # so one adapter bug hit by every user's tabs is one finding.
        who = self.recorder.user_of(session_id)
        try:
            got = sync_call(f"events() of {who}", session.events, bound)
            events, problem = check_events(got, f"events() of {who}")
            if problem is not None:
                self._crash(problem)
        except AdapterCallTimeout as exc:
            self._crash(str(exc))
        except Exception as exc:
            self._crash(f"events() of {who} raised {short_repr(exc)}")
        # The tab stops listening here: what arrives while it closes is not in its record, so
        # it was not open then either. (Stamped after close(), a turn that ended during a slow
        # close handshake looked like one the tab was open for, and its copies "missed".)
        at, step = asyncio.get_running_loop().time(), self.next_step()
        try:
            closing = self._timed("close()", session.close)
            await bounded_call(f"close() of {who}", closing, bound)
        except AdapterCallTimeout as exc:
            self._crash(str(exc))
        except Exception as exc:
            self._crash(f"close() of {who} raised {short_repr(exc)}")
        for listener in reversed(self.listeners):  # the observer forgets before the record
            listener.session_closed(session_id, events, at, step)

    async def run_turns(self, session_id: str, session: Any, plan: SessionPlan) -> None:
        if plan.burst and len(plan.turns) > 1:
            await self.run_burst(session_id, session, plan)
            return
        for number, turn in enumerate(plan.turns):
            if number and plan.gap > 0:
                await asyncio.sleep(plan.gap)
            await self.run_turn(session_id, session, turn, plan.cancel_after, burst=False)

    async def run_burst(self, session_id: str, session: Any, plan: SessionPlan) -> None:
        burst = getattr(session, "burst", None)
        if not callable(burst):
            await asyncio.gather(
                *(
                    self.run_turn(session_id, session, t, plan.cancel_after, burst=True)
                    for t in plan.turns
                )
            )
            return
        loop = asyncio.get_running_loop()
        started, step = loop.time(), self.next_step()
        self._turns_started(session_id, plan.turns)
        task = asyncio.ensure_future(self._timed("burst()", lambda: burst(plan.turns)))
        crash = None
        try:
            outcomes = await asyncio.wait_for(task, self.scenario.turn_timeout)
        except TimeoutError:
            outcomes = [TurnOutcome(run_id=t.run_id, status="timeout") for t in plan.turns]
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():  # the tab closes mid-burst
                outcomes = [TurnOutcome(run_id=t.run_id, status="cancelled") for t in plan.turns]
                self._turns_ended(session_id, plan.turns, outcomes, started, step, None)
                raise
            crash = (
                "burst raised CancelledError although the harness did not cancel it. Catch the "
                "cancellation of the adapter's own tasks and return one TurnOutcome per turn."
            )
            outcomes = []
        except Exception as exc:
            crash = self._turn_crash(exc)
            outcomes = []
        crash = crash or check_outcomes(outcomes, len(plan.turns), "burst(turns)")
        if crash is not None:
            outcomes = [
                TurnOutcome(run_id=t.run_id, status="error", error=crash) for t in plan.turns
            ]
        self._turns_ended(session_id, plan.turns, outcomes, started, step, crash)

    async def run_turn(
        self, session_id: str, session: Any, turn: Turn, cancel_after: float | None, *, burst: bool
    ) -> None:
        loop = asyncio.get_running_loop()
        started, step = loop.time(), self.next_step()
        self._turns_started(session_id, (turn,))
        limit = self.scenario.turn_timeout
        if cancel_after is not None:
            limit = min(limit, cancel_after)
        task = asyncio.ensure_future(self._timed("run_turn()", lambda: session.run_turn(turn)))
        crash = None
        try:
            done, _ = await asyncio.wait({task}, timeout=limit)
            if done and task.cancelled():
                # Nobody cancelled it: the adapter let a CancelledError out of run_turn.
                crash = (
                    "run_turn raised CancelledError although the harness did not cancel it. "
                    "Catch the cancellation of the adapter's own tasks and return a TurnOutcome "
                    "(status='error')."
                )
                outcome = TurnOutcome(run_id=turn.run_id, status="error", error=crash)
            elif done:
                outcome = task.result()
            else:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
                cancelled = cancel_after is not None and cancel_after < self.scenario.turn_timeout
                outcome = TurnOutcome(
                    run_id=turn.run_id, status="cancelled" if cancelled else "timeout"
                )
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            outcome = TurnOutcome(
                run_id=turn.run_id, status="cancelled", error="tab closed mid-turn"
            )
            self._turns_ended(session_id, (turn,), [outcome], started, step, None, burst=burst)
            raise
        except Exception as exc:
            crash = self._turn_crash(exc)
            outcome = TurnOutcome(run_id=turn.run_id, status="error", error=crash)
        if not isinstance(outcome, TurnOutcome):
            crash = (
                f"run_turn returned {short_repr(outcome)} (type {type(outcome).__name__}), not a "
                "TurnOutcome. Return harness.model.TurnOutcome(run_id=turn.run_id, status=...)."
            )
            outcome = TurnOutcome(run_id=turn.run_id, status="error", error=crash)
        self._turns_ended(session_id, (turn,), [outcome], started, step, crash, burst=burst)

    def _turn_crash(self, exc: Exception) -> str:
        """Describe a turn's exception; remember a refusal of credentials for the end."""
        if isinstance(exc, TargetAuthError):
            self.fatal = self.fatal or exc
        return _describe_crash(exc)

    def _turns_started(self, session_id: str, turns: Sequence[Turn]) -> None:
        self.active_turns += len(turns)
        for turn in turns:
            for listener in self.listeners:
                listener.turn_started(session_id, turn.run_id)

    def _turns_ended(
        self,
        session_id: str,
        turns: Sequence[Turn],
        outcomes: Sequence[TurnOutcome],
        started: float,
        step: int,
        crash: str | None,
        *,
        burst: bool = True,
    ) -> None:
        ended, ended_step = asyncio.get_running_loop().time(), self.next_step()
        user_id = self.recorder.user_of(session_id)
        self.active_turns -= len(turns)
        for turn, outcome in zip(turns, outcomes, strict=False):
            record = TurnRecord(
                session_id=session_id,
                user_id=user_id,
                turn=turn,
                started_at=started,
                ended_at=ended,
                outcome=outcome,
                step=step,
                burst=burst and len(turns) > 1,
                crash=crash,
                ended_step=ended_step,
            )
            for listener in reversed(self.listeners):
                listener.turn_ended(record)
            self.done_turns += 1
        if self.progress is not None:
            self.progress(self.done_turns, self.total_turns)


def runs_of(scenario: Scenario) -> list[tuple[str, str]]:
    return [
        (plan.user_id, turn.run_id)
        for plan in scenario.sessions
        for turn in (*plan.turns, *plan.reopen_turns)
    ]


def _describe_crash(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = "; ".join(f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name}" for f in frames)
    text = f"{type(exc).__name__}: {exc} (at {where})" if where else f"{type(exc).__name__}: {exc}"
    data = _failed_on(exc)
    return f"{text}; failed on: {data}" if data else text


def _failed_on(exc: BaseException, limit: int = 600) -> str:
    """The data an exception carries beyond its message, and its causes' messages.

    ``JSONDecodeError.doc``, ``UnicodeError.object`` or any text attribute: what the target
    failed on is evidence of whose data it was (another user's reply read off a shared
    connection shows only as a parse error otherwise).
    """
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen and len(seen) < 4:
        seen.add(id(current))
        message = str(current)
        if current is not exc:
            parts.append(f"{type(current).__name__}: {message}"[:limit])
        values = list(getattr(current, "__dict__", {}).values())
        if isinstance(current, UnicodeError):
            values.append(getattr(current, "object", None))
        for value in values:
            if isinstance(value, bytes | bytearray):
                value = bytes(value[:limit]).decode("utf-8", "replace")
            if isinstance(value, str) and value and value not in message:
                parts.append(repr(value[:limit]))
        context = None if current.__suppress_context__ else current.__context__
        current = current.__cause__ or context
    return "; ".join(parts)
