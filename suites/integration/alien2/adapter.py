"""The harness adapter (a Target) for the second alien backend (:mod:`broker`, :mod:`workers`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from harness.kit import KitTarget, RecordingSession, finished
from harness.model import SimUser, Turn, TurnOutcome
from suites.integration.alien2 import workers
from suites.integration.alien2.broker import Broker, Job, Refused
from suites.integration.alien2.workers import BUGS, Ticket

__all__ = ["BrokerTab", "BrokerTarget"]


class BrokerTab(RecordingSession):
    """One connection of one user: a channel, and the jobs this tab submitted."""

    refusals = (Refused,)

    def __init__(self, target: BrokerTarget, user: SimUser, connection_id: str) -> None:
        super().__init__(user, connection_id)
        self._target = target
        broker = target.broker
        assert broker is not None, "not started"
        self._broker = broker
        self._channel = broker.connect(user.user_id, self.receive)
        broker.replay(self._channel, user.thread_ids)  # caught up on the user's running runs

    async def open_run(self, turn: Turn) -> Job:
        user = self.user
        if turn.thread_id not in user.thread_ids:  # a conversation the tab does not show yet
            self._broker.replay(self._channel, [turn.thread_id])
        if not self._target.claim(user.user_id, turn.thread_id):
            raise Refused(f"thread_id={turn.thread_id!r} belongs to another user")
        ticket = Ticket(
            user_id=user.user_id,
            email=user.email,
            thread_id=turn.thread_id,
            run_id=turn.run_id,
            message=turn.message,
            plan=tuple(turn.plan),
        )
        return self._broker.submit(self._channel, ticket)

    async def drive(self, run: Job, turn: Turn) -> TurnOutcome:
        assert run.task is not None
        reply = await self.await_job(run.task)  # abandoned, the job is cancelled too
        await self._broker.dispatcher.drained()
        return finished(
            turn, ok=reply["status"] == "completed", result=reply["result"], error=reply["error"]
        )

    def run_roots(self, run: Job) -> Mapping[str, object]:
        return {"engine": run, "context": run.scope, "emitter": run.outbox}

    async def disconnect(self) -> None:
        self._broker.disconnect(self._channel)
        await self.finish_jobs()  # cancelled jobs finish cancelling: their terminal events go out
        await self._broker.dispatcher.drained()


class BrokerTarget(KitTarget):
    """The broker backend as a harness Target, with zero or more bugs switched on."""

    def __init__(self, bugs: Iterable[str] = ()) -> None:
        super().__init__()
        self.bugs = frozenset(bugs)
        assert not self.bugs - BUGS, f"unknown bugs {sorted(self.bugs - BUGS)}"
        self.name = "alien2" + (f"[{','.join(sorted(self.bugs))}]" if self.bugs else "")
        self.broker: Broker | None = None

    async def start(self) -> None:
        await super().start()
        workers.reset_module_state()
        workers.install_audit("audit-handler" in self.bugs)
        self.broker = Broker(self.bugs, per_user=2)
        self.broker.dispatcher.start()

    async def stop(self) -> None:
        await super().stop()
        if self.broker is not None:
            await self.broker.dispatcher.stop()
        workers.install_audit(False)
        self.broker = None

    async def open_session(self, user: SimUser) -> BrokerTab:
        return BrokerTab(self, user, self.next_connection_id("conn"))

    def shared_roots(self) -> Mapping[str, object]:
        broker = self.broker
        assert broker is not None, "not started"
        return {"broker": broker, "pool": broker.pool, "dispatcher": broker.dispatcher}

    def limits(self) -> dict[str, int]:
        return {"engines_per_user": 2}
