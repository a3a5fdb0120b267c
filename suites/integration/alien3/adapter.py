"""The harness adapter (a Target) for the Switchyard backend (:mod:`orchestrator` and friends).

``Alien3Target()`` is the correct build; ``Alien3Target(bugs={"shared-agent"})`` switches bugs
on (see :data:`orchestrator.BUGS`); ``BuggyAlien3Target`` has every bug on. From
``suites/integration``: ``harness run --target alien3.adapter:Alien3Target``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness import CallTool, Event, Fail, Pause, SimUser, Think, Turn, TurnOutcome
from harness.targets import event_from_message

from .models import JobResult, UserCard
from .orchestrator import BUGS, JOBS_PER_USER, Job, Orchestrator, Refused, forget_resumable
from .relay import Connection
from .telemetry import BREAKER, METRICS, RING, configure_logging, reset_telemetry

__all__ = ["Alien3Tab", "Alien3Target", "BuggyAlien3Target", "plan_to_wire"]


def plan_to_wire(plan: Sequence[object]) -> list[dict[str, Any]]:
    """A harness plan as the wire's list of step objects."""
    wire: list[dict[str, Any]] = []
    for step in plan:
        if isinstance(step, Think):
            wire.append({"step": "think", "text": step.text})
        elif isinstance(step, CallTool):
            wire.append({"step": "tool", "name": step.name, "params": dict(step.params)})
        elif isinstance(step, Pause):
            wire.append({"step": "pause", "seconds": step.seconds})
        elif isinstance(step, Fail):
            wire.append({"step": "fail", "reason": step.reason})
        else:
            raise TypeError(f"step={step!r} is not a Think, CallTool, Pause or Fail")
    return wire


class Alien3Tab:
    """One connection (browser tab) of one user to the Switchyard backend."""

    def __init__(self, target: Alien3Target, user: SimUser, number: int) -> None:
        self.user = user
        self.on_event: Any = None
        self._orchestrator = target.orchestrator
        self._connection_id = f"tab-{number:05d}"
        self._events: list[Event] = []
        self._live: dict[str, Job] = {}
        card = UserCard(user_id=user.user_id, email=user.email, display_name=user.display_name)
        self._connection: Connection | None = self._orchestrator.connect(card, self._receive)

    def _receive(self, message: dict[str, Any]) -> None:
        event = event_from_message(
            message,
            seq=len(self._events),
            connection_id=self._connection_id,
            t=asyncio.get_running_loop().time(),
        )
        self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    def _admit(self, turn: Turn) -> Job:
        raw = {
            "run_id": turn.run_id,
            "thread_id": turn.thread_id,
            "content": turn.message,
            "plan": plan_to_wire(turn.plan),
        }
        job = self._orchestrator.admit(self.user.user_id, raw)
        self._live[turn.run_id] = job
        return job

    async def _finish(self, job: Job) -> TurnOutcome:
        try:
            result: JobResult = await self._orchestrator.execute(job)
        finally:
            self._live.pop(job.run_id, None)
        return TurnOutcome(
            run_id=job.run_id,
            status=result.status,
            result=result.as_result(),
            error=result.error,
        )

    async def run_turn(self, turn: Turn) -> TurnOutcome:
        try:
            job = self._admit(turn)
        except Refused as exc:
            return TurnOutcome(run_id=turn.run_id, status="rejected", error=str(exc))
        return await self._finish(job)

    async def burst(self, turns: Sequence[Turn]) -> list[TurnOutcome]:
        """Admit every turn before any of them runs (admission is synchronous)."""
        admitted: list[Job | TurnOutcome] = []
        for turn in turns:
            try:
                admitted.append(self._admit(turn))
            except Refused as exc:
                admitted.append(TurnOutcome(run_id=turn.run_id, status="rejected", error=str(exc)))
        running = [self._finish(j) for j in admitted if isinstance(j, Job)]
        done = iter(await asyncio.gather(*running))
        return [a if isinstance(a, TurnOutcome) else next(done) for a in admitted]

    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def roots(self) -> Mapping[str, object]:
        roots: dict[str, object] = {}
        for run_id, job in self._live.items():
            roots[f"engine[{run_id}]"] = job
            roots[f"context[{run_id}]"] = job.identity
            roots[f"agents[{run_id}]"] = job.agent
            roots[f"emitter[{run_id}]"] = job.outlet
            roots["registry"] = job.tenant
        return roots

    async def close(self) -> None:
        if self._connection is not None:
            self._orchestrator.disconnect(self._connection)
            self._connection = None
        self._live.clear()
        self.on_event = None


class Alien3Target:
    """The Switchyard backend as a harness Target, with zero or more bugs switched on."""

    capabilities = frozenset({"scripted_plan", "tools", "live_roots"})

    def __init__(self, bugs: Iterable[str] = ()) -> None:
        chosen = frozenset(bugs)
        unknown = chosen - BUGS
        if unknown:
            raise ValueError(f"bugs={sorted(unknown)!r} are unknown; known: {sorted(BUGS)}")
        self.bugs = chosen
        self.name = "alien3" + (f"[{','.join(sorted(chosen))}]" if chosen else "")
        self._orchestrator: Orchestrator | None = None
        self._undo_logging: Any = None
        self._tabs = 0

    @property
    def orchestrator(self) -> Orchestrator:
        if self._orchestrator is None:
            raise RuntimeError("the target is not started")
        return self._orchestrator

    async def start(self) -> None:
        # A fresh deployment in this process: module singletons start empty.
        reset_telemetry(keep_records="tracker-records" in self.bugs)
        forget_resumable()
        self._undo_logging = configure_logging()
        self._orchestrator = Orchestrator(self.bugs)
        self._tabs = 0

    async def stop(self) -> None:
        if self._orchestrator is not None:
            await self._orchestrator.shutdown()
        if self._undo_logging is not None:
            self._undo_logging()
        self._orchestrator = None

    async def open_session(self, user: SimUser) -> Alien3Tab:
        self._tabs += 1
        return Alien3Tab(self, user, self._tabs)

    def shared_roots(self) -> Mapping[str, object]:
        orchestrator = self.orchestrator
        return {
            "orchestrator": orchestrator,
            "switchboard": orchestrator.switchboard,
            "catalog": orchestrator.catalog,
            "store": orchestrator.store,
            "upstream": orchestrator.upstream,
            "toolkit": orchestrator.toolkit,
            "metrics": METRICS,
            "breaker": BREAKER,
            "log_ring": RING,
        }

    def limits(self) -> dict[str, int]:
        return {"engines_per_user": JOBS_PER_USER}


class BuggyAlien3Target(Alien3Target):
    """Every bug switch on: the shared agent, lost lifecycle events, the tracker, parking."""

    def __init__(self) -> None:
        super().__init__(BUGS)
