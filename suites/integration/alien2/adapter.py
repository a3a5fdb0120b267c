"""The harness adapter (a Target) for the second alien backend (:mod:`broker`, :mod:`workers`)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harness.model import Event, SimUser, Turn, TurnOutcome
from harness.targets import event_from_message
from suites.integration.alien2.broker import Broker, Channel, Job, Refused
from suites.integration.alien2.workers import BUGS, Ticket, install_audit, reset_module_state

__all__ = ["BrokerTab", "BrokerTarget"]


class BrokerTab:
    """One connection of one user: a channel, and the jobs this tab submitted."""

    def __init__(self, target: BrokerTarget, user: SimUser, number: int) -> None:
        self.user = user
        self.on_event: Any = None
        self._target = target
        self._broker = target.broker
        self._connection_id = f"conn-{number:04d}"
        self._events: list[Event] = []
        self._live: dict[str, Job] = {}
        self._submitted: dict[str, Job] = {}
        self._channel: Channel | None = self._broker.connect(user.user_id, self._receive)
        # A new connection is caught up on the runs going on in the user's threads.
        self._broker.replay(self._channel, user.thread_ids)

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

    def _submit(self, turn: Turn) -> Job:
        assert self._channel is not None, "tab closed"
        if turn.thread_id not in self.user.thread_ids:
            # The client opens a conversation it does not show yet: catch the tab up on it.
            self._broker.replay(self._channel, [turn.thread_id])
        self._target.check_thread(self.user.user_id, turn.thread_id)
        ticket = Ticket(
            user_id=self.user.user_id,
            email=self.user.email,
            thread_id=turn.thread_id,
            run_id=turn.run_id,
            message=turn.message,
            plan=tuple(turn.plan),
        )
        job = self._broker.submit(self._channel, ticket)
        self._live[turn.run_id] = job
        self._submitted[turn.run_id] = job
        return job

    async def _wait(self, job: Job) -> TurnOutcome:
        run_id = job.ticket.run_id
        assert job.task is not None
        try:
            reply = await asyncio.shield(job.task)
            await self._broker.dispatcher.drained()
        except asyncio.CancelledError:
            job.task.cancel()  # the turn was abandoned (stop button, tab closed): stop the job
            raise
        finally:
            self._live.pop(run_id, None)
            if job.task.done():
                self._submitted.pop(run_id, None)
        return TurnOutcome(
            run_id=run_id,
            status="completed" if reply["status"] == "completed" else "error",
            result=reply["result"],
            error=reply["error"],
        )

    async def run_turn(self, turn: Turn) -> TurnOutcome:
        try:
            job = self._submit(turn)
        except Refused as exc:
            return TurnOutcome(run_id=turn.run_id, status="rejected", error=str(exc))
        return await self._wait(job)

    async def burst(self, turns: Sequence[Turn]) -> list[TurnOutcome]:
        """Submit every turn before any of them runs (submission is synchronous)."""
        jobs: list[Job | TurnOutcome] = []
        for turn in turns:
            try:
                jobs.append(self._submit(turn))
            except Refused as exc:
                jobs.append(TurnOutcome(run_id=turn.run_id, status="rejected", error=str(exc)))
        waits = [self._wait(j) for j in jobs if isinstance(j, Job)]
        done = iter(await asyncio.gather(*waits))
        return [j if isinstance(j, TurnOutcome) else next(done) for j in jobs]

    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def roots(self) -> Mapping[str, object]:
        roots: dict[str, object] = {}
        for run_id, job in self._live.items():
            roots[f"engine[{run_id}]"] = job
            roots[f"context[{run_id}]"] = job.scope
            roots[f"emitter[{run_id}]"] = job.outbox
        return roots

    async def close(self) -> None:
        if self._channel is not None:
            self._broker.disconnect(self._channel)
            self._channel = None
        # The tab's cancelled jobs finish cancelling (their terminal events are sent).
        pending = [j.task for j in self._submitted.values() if j.task and not j.task.done()]
        if pending:
            await asyncio.wait(pending)
        await self._broker.dispatcher.drained()
        self._submitted.clear()
        self._live.clear()
        self.on_event = None


class BrokerTarget:
    """The broker backend as a harness Target, with zero or more bugs switched on."""

    capabilities = frozenset({"scripted_plan", "tools", "live_roots"})

    def __init__(self, bugs: Iterable[str] = ()) -> None:
        chosen = frozenset(bugs)
        unknown = chosen - BUGS
        assert not unknown, f"unknown bugs {sorted(unknown)}"
        self.bugs = chosen
        self.name = "alien2" + (f"[{','.join(sorted(chosen))}]" if chosen else "")
        self._broker: Broker | None = None
        self._tabs = 0
        # The gateway's record of who opened each thread (a database in a real deployment):
        # adapter scaffolding, not state of the backend under test.
        self._thread_owners: dict[str, str] = {}

    @property
    def broker(self) -> Broker:
        assert self._broker is not None, "not started"
        return self._broker

    def check_thread(self, user_id: str, thread_id: str) -> None:
        """Refuse a turn on a thread another user opened."""
        owner = self._thread_owners.setdefault(thread_id, user_id)
        if owner != user_id:
            raise Refused(f"thread_id={thread_id!r} belongs to another user")

    def adapter_objects(self) -> tuple[object, ...]:
        return (self._thread_owners,)

    async def start(self) -> None:
        reset_module_state()
        self._thread_owners.clear()
        install_audit("audit-handler" in self.bugs)
        self._broker = Broker(self.bugs, per_user=2)
        self._broker.dispatcher.start()

    async def stop(self) -> None:
        if self._broker is not None:
            await self._broker.dispatcher.stop()
        install_audit(False)
        self._broker = None

    async def open_session(self, user: SimUser) -> BrokerTab:
        self._tabs += 1
        return BrokerTab(self, user, self._tabs)

    def shared_roots(self) -> Mapping[str, object]:
        broker = self.broker
        return {"broker": broker, "pool": broker.pool, "dispatcher": broker.dispatcher}

    def limits(self) -> dict[str, int]:
        return {"engines_per_user": 2}
