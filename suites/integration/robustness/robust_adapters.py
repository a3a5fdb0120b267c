"""Misbehaving adapters, each the reference target with one broken method.

Loaded by the tests as ``--target suites.integration.robustness.robust_adapters:Name`` or used
directly with ``harness.runner.run``. Each class breaks exactly one rule of the Target
contract, so a test can say which finding or message that one breach must give.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from harness.model import Event, SimUser, Turn, TurnOutcome
from harness.targets.reference import ReferenceSession, ReferenceTarget
from harness.targets.websocket import WebSocketTarget

#: Real seconds the blocking adapters below hold the loop or a sync call: past the 0.25 s
#: ``--block-limit`` and ``--call-timeout`` the tests pass (``time.sleep`` never returns early,
#: so the bound is always crossed), short enough that a run of a few such steps takes about a
#: second. The reference target under the same small bounds is the clean control.
BLOCK_SECONDS = 0.3


class StopLoops(ReferenceTarget):
    """stop() never returns: ``while True: await asyncio.sleep(1)``."""

    async def stop(self) -> None:
        await super().stop()
        while True:  # noqa: ASYNC110 (the misbehaviour under test)
            await asyncio.sleep(1)


class StartNeverReturns(ReferenceTarget):
    """start() waits for a server that never comes."""

    async def start(self) -> None:
        await asyncio.get_running_loop().create_future()


class StartFailsThird(ReferenceTarget):
    """start() raises on the third run (its third call)."""

    starts = 0

    async def start(self) -> None:
        type(self).starts += 1
        if type(self).starts == 3:
            raise ConnectionRefusedError("the system under test is down")
        await super().start()


class ConstructorRaises(ReferenceTarget):
    def __init__(self) -> None:
        raise RuntimeError("cannot read adapter settings")


class ConstructorBlocks(ReferenceTarget):
    def __init__(self) -> None:
        time.sleep(60)
        super().__init__()


class LimitsRaise(ReferenceTarget):
    def limits(self) -> dict[str, int]:
        raise KeyError("engines_per_user")


class SharedRootsRaise(ReferenceTarget):
    def shared_roots(self) -> Mapping[str, object]:
        raise RuntimeError("factory not ready")


class OpenReturnsNone(ReferenceTarget):
    async def open_session(self, user: SimUser) -> Any:
        return None


class OpenReturns42(ReferenceTarget):
    async def open_session(self, user: SimUser) -> Any:
        return 42


class _Patched(ReferenceTarget):
    """Open a reference session, then let :meth:`patch` break one of its methods."""

    async def open_session(self, user: SimUser) -> ReferenceSession:
        session = await super().open_session(user)
        self.patch(session)
        return session

    def patch(self, session: ReferenceSession) -> None:
        raise NotImplementedError


class TurnRaisesCancelled(_Patched):
    def patch(self, session: ReferenceSession) -> None:
        async def run_turn(turn: Turn) -> TurnOutcome:
            raise asyncio.CancelledError

        session.run_turn = run_turn  # type: ignore[method-assign]


class TurnBlocksLoop(_Patched):
    """run_turn calls time.sleep: every other user stalls meanwhile."""

    seconds = BLOCK_SECONDS

    def patch(self, session: ReferenceSession) -> None:
        original = session.run_turn

        async def run_turn(turn: Turn) -> TurnOutcome:
            time.sleep(self.seconds)  # noqa: ASYNC251 (the misbehaviour under test)
            return await original(turn)

        session.run_turn = run_turn  # type: ignore[method-assign]


class EventsAreDicts(_Patched):
    def patch(self, session: ReferenceSession) -> None:
        original = session.events

        def events() -> Sequence[Any]:
            return [{"type": e.type, "run_id": e.run_id} for e in original()]

        session.events = events  # type: ignore[method-assign]


class RunIdIsList(_Patched):
    def patch(self, session: ReferenceSession) -> None:
        original = session.events

        def events() -> Sequence[Event]:
            got = list(original())
            broken: Any = [got[0].run_id]  # what a remote server sent: a list
            return [replace(got[0], run_id=broken), *got[1:]] if got else got

        session.events = events  # type: ignore[method-assign]


class EventsBlock(_Patched):
    def patch(self, session: ReferenceSession) -> None:
        original = session.events

        def events() -> Sequence[Event]:
            time.sleep(BLOCK_SECONDS)
            return original()

        session.events = events  # type: ignore[method-assign]


class RootsBlock(_Patched):
    """roots() sleeps: every walk of the run would stall the loop for every user."""

    def patch(self, session: ReferenceSession) -> None:
        original = session.roots

        def roots() -> Mapping[str, object]:
            time.sleep(BLOCK_SECONDS)
            return original()

        session.roots = roots  # type: ignore[method-assign]


class RootsNotAMapping(_Patched):
    def patch(self, session: ReferenceSession) -> None:
        session.roots = lambda: 42  # type: ignore[method-assign, assignment, return-value]


class WeirdOutcome(_Patched):
    """run_turn answers without running anything: an unknown status, a foreign run id."""

    def patch(self, session: ReferenceSession) -> None:
        async def run_turn(turn: Turn) -> TurnOutcome:
            return TurnOutcome(run_id="run_000000000000", status="weird-status")  # type: ignore[arg-type]

        session.run_turn = run_turn  # type: ignore[method-assign]


class SilentCompletion(_Patched):
    """run_turn says completed but nothing ran: no event at all."""

    def patch(self, session: ReferenceSession) -> None:
        async def run_turn(turn: Turn) -> TurnOutcome:
            return TurnOutcome(run_id=turn.run_id, status="completed", result={})

        session.run_turn = run_turn  # type: ignore[method-assign]


class PrintsToStdout(ReferenceTarget):
    async def start(self) -> None:
        print("adapter: connecting to the backend")
        await super().start()


def gated_websocket() -> WebSocketTarget:
    """The WebSocket adapter at ``ROBUST_WS_URL`` with short handshakes (see _gate.py)."""
    return WebSocketTarget(os.environ["ROBUST_WS_URL"], open_timeout=0.25, handshake_retries=1)


class BlackBoxReference(ReferenceTarget):
    """The reference backend judged as a remote target: real time, no live roots."""

    capabilities = frozenset({"scripted_plan", "tools"})


class OverloadedClient(BlackBoxReference):
    """A hog task in the harness's own process holds the loop 0.8 s out of every 0.85 s: the
    client is overloaded, the backend is not.

    Two such cycles, while the light users' turns are in flight at the start of the run, starve
    them and put a 0.8 s late wake-up in the watcher's samples; holding the loop for the whole
    run as well only made it last 12 s instead of 3 s and proved nothing more. The hog first
    lets the run's sessions and loop watcher start: a cycle that ran before them (as the first
    of three did when the hog began at once) only delayed the run, unseen by the watcher.
    """

    #: Cycles of 0.8 s blocked and 0.05 s free before the hog lets go.
    cycles = 2

    hog: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        self.hog = asyncio.ensure_future(self._hog())

    async def stop(self) -> None:
        if self.hog is not None:
            self.hog.cancel()
        await super().stop()

    async def _hog(self) -> None:
        await asyncio.sleep(0.05)  # the run's sessions and its loop watcher start first
        for _ in range(self.cycles):
            time.sleep(0.8)  # noqa: ASYNC251 (the overload under test)
            await asyncio.sleep(0.05)


class TurnHangs(_Patched):
    """run_turn waits forever (a lost wake-up)."""

    def patch(self, session: ReferenceSession) -> None:
        async def run_turn(turn: Turn) -> TurnOutcome:
            await asyncio.get_running_loop().create_future()
            raise AssertionError("unreachable")

        session.run_turn = run_turn  # type: ignore[method-assign]


class BurstRaisesCancelled(_Patched):
    def patch(self, session: ReferenceSession) -> None:
        async def burst(turns: Sequence[Turn]) -> list[TurnOutcome]:
            raise asyncio.CancelledError

        session.burst = burst  # type: ignore[method-assign]


class BurstReturnsNothing(_Patched):
    """burst() answers [] for k turns: without a check those turns would vanish (clean)."""

    def patch(self, session: ReferenceSession) -> None:
        async def burst(turns: Sequence[Turn]) -> list[TurnOutcome]:
            return []

        session.burst = burst  # type: ignore[method-assign]


class _SiblingCopies(BlackBoxReference):
    """The reference backend as a remote target, whose copy of a run reaches the user's other
    tabs ``delay`` seconds after the tab that sent it (None: never)."""

    delay: float | None = None

    async def open_session(self, user: SimUser) -> ReferenceSession:
        session = await super().open_session(user)
        own: set[str] = set()  # runs sent on this tab
        original_turn, original_receive = session.run_turn, session._receive
        loop = asyncio.get_running_loop()

        async def run_turn(turn: Turn) -> TurnOutcome:
            own.add(turn.run_id)
            return await original_turn(turn)

        def receive(message: dict[str, Any]) -> None:
            if message.get("run_id") in own:
                original_receive(message)
            elif self.delay is not None:
                loop.call_later(self.delay, original_receive, message)

        session.run_turn = run_turn  # type: ignore[method-assign]
        session._receive = receive  # type: ignore[method-assign]
        return session


class LateSiblingCopies(_SiblingCopies):
    """Correct, only late: each copy reaches the other tabs 0.8 s after the sending tab, as from
    a server starved by a busy machine: past the 0.25 s a closing tab settles, within the 1 s it
    then waits for copies it is owed."""

    delay = 0.8


class LostSiblingCopies(_SiblingCopies):
    """The other tabs never get a copy of a run: a real ``event-missing``."""

    delay = None
