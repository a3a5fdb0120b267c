"""The harness adapter (a Target) for the alien backend of :mod:`backends`, on the kit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness.kit import KitTarget, RecordingSession, finished
from harness.model import SimUser, Turn, TurnOutcome
from suites.integration.alien import backends
from suites.integration.alien.backends import BUGS, Hub, Link, Pipeline, Refused, Runner
from suites.integration.alien.scratch import SCRATCH_KINDS

__all__ = ["AlienTab", "AlienTarget"]


class AlienTab(RecordingSession):
    """One connection of one user: a link on the hub, and the runners of its turns."""

    refusals = (Refused,)

    def __init__(self, target: AlienTarget, user: SimUser, connection_id: str) -> None:
        super().__init__(user, connection_id)
        self._target = target
        self.link: Link | None = Link(user.user_id, self.receive)

    async def open_run(self, turn: Turn) -> Runner:
        target, user = self._target, self.user
        if not target.claim(user.user_id, turn.thread_id) and "any-thread" not in target.bugs:
            raise Refused(f"thread_id={turn.thread_id!r} belongs to another user")
        assert self.link is not None and target.pipeline is not None
        target.hub.heard_from(self.link)
        return await target.pipeline.open_runner(
            user.user_id, user.email, turn.thread_id, turn.run_id
        )

    async def drive(self, run: Runner, turn: Turn) -> TurnOutcome:
        pipeline = self._target.pipeline
        assert pipeline is not None
        try:
            reply: dict[str, Any] = await pipeline.execute(run, turn.message, turn.plan)
        finally:
            pipeline.release(run)
        return finished(
            turn, ok=reply["status"] == "completed", result=reply["result"], error=reply["error"]
        )

    def run_roots(self, run: Runner) -> Mapping[str, object]:
        return {"engine": run, "context": run.workspace, "emitter": run.outbox}

    async def disconnect(self) -> None:
        target, user = self._target, self.user
        if self.link is not None:
            target.hub.detach(self.link)
            self.link = None
        if target.pipeline is not None and not target.hub.has(user.user_id):
            target.pipeline.forget_profile(user.user_id, user.email)


class AlienTarget(KitTarget):
    """The alien backend as a harness Target, with zero or more bugs switched on."""

    def __init__(self, bugs: Iterable[str] = (), *, scratch: str = "defaultdict") -> None:
        super().__init__()
        self.bugs = frozenset(bugs)
        unknown = self.bugs - BUGS
        assert not unknown, f"unknown bugs {sorted(unknown)}"
        assert scratch in SCRATCH_KINDS, scratch
        self.scratch = scratch
        self.name = "alien" + (f"[{','.join(sorted(self.bugs))}]" if self.bugs else "")
        self.hub = Hub(self.bugs)
        self.pipeline: Pipeline | None = None

    async def start(self) -> None:
        await super().start()
        backends.reset_module_state()
        self.hub = Hub(self.bugs)
        self.pipeline = Pipeline(self.hub, self.bugs, per_user=2, scratch=self.scratch)

    async def stop(self) -> None:
        await super().stop()
        self.pipeline = None

    async def open_session(self, user: SimUser) -> AlienTab:
        tab = AlienTab(self, user, self.next_connection_id("tab"))
        assert tab.link is not None
        self.hub.attach(tab.link)
        return tab

    def shared_roots(self) -> Mapping[str, object]:
        assert self.pipeline is not None, "not started"
        return {"pipeline": self.pipeline, "hub": self.hub, "toolbox": self.pipeline.toolbox}

    def limits(self) -> dict[str, int]:
        return {"engines_per_user": 2}
