"""The in-process adapter for the embedded reference backend (``harness_backend/``).

Each :class:`ReferenceSession` is one connection of its user, registered in the backend's
connection registry exactly as a WebSocket connection of ``harness_backend.server`` would be:
it receives every event the backend routes to that user, whichever tab started the turn.
``roots()`` exposes
the live per-user objects of the turns running on this connection (engine, context, execution
registry, tool dispatcher, emitter and agent instances); ``shared_roots()`` the factory, its
immutable agent and tool registries and the connection registry.

A fault from ``harness_backend.faults`` can be switched on by name (``--fault NAME``) to prove
that the detectors fire.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import TargetError, TargetLoadError, did_you_mean
from harness.model import Event, SimUser, Turn, TurnOutcome
from harness.serialization import to_data
from harness.targets._wire import event_from_message

__all__ = ["ReferenceSession", "ReferenceTarget"]


def _wire_plan(turn: Turn) -> list[dict[str, Any]]:
    return [to_data(step) for step in turn.plan]


class _InProcessConnection:
    """What the backend's connection registry sees: a connection that hands events over."""

    __slots__ = ("_session", "connection_id")

    def __init__(self, session: ReferenceSession, connection_id: str) -> None:
        self._session = session
        self.connection_id = connection_id

    async def send(self, event: dict[str, Any]) -> None:
        self._session._receive(event)


class ReferenceSession:
    """One connection of one user to the in-process reference backend."""

    def __init__(self, target: ReferenceTarget, user: SimUser, connection_id: str) -> None:
        self.user = user
        self.connection_id = connection_id
        #: Called with each Event as it arrives when set (the runner sets it).
        self.on_event: Any = None
        self._target = target
        self._events: list[Event] = []
        # (run_id, attempt) -> engine, while the turn runs: a retried run id may have two
        # attempts on one tab when a target lets them overlap.
        self._engines: dict[tuple[str, int], Any] = {}
        self._attempts = 0
        self._connection: _InProcessConnection | None = _InProcessConnection(self, connection_id)
        self._loop = asyncio.get_running_loop()

    # ---------------------------------------------------------------- what the backend calls
    def _receive(self, message: dict[str, Any]) -> None:
        event = event_from_message(
            message, seq=len(self._events), connection_id=self.connection_id, t=self._loop.time()
        )
        self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # ---------------------------------------------------------------- the Session contract
    async def run_turn(self, turn: Turn) -> TurnOutcome:
        factory = self._target.factory
        refused = self._target.claim(self.user.user_id, turn)
        if refused is not None:
            return refused
        context = self._make_context(turn)
        try:
            engine = await factory.create_for_user(context)
        except self._target.limit_error as exc:
            return TurnOutcome(run_id=turn.run_id, status="rejected", error=str(exc))
        return await self._run_on(engine, turn)

    async def burst(self, turns: Sequence[Turn]) -> list[TurnOutcome]:
        """Create every turn's engine before any turn runs, to press the per-user limit."""
        factory = self._target.factory
        creations: list[asyncio.Future[Any]] = []
        for turn in turns:
            refused = self._target.claim(self.user.user_id, turn)
            if refused is not None:
                done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                done.set_result(refused)
                creations.append(done)
                continue
            creations.append(
                asyncio.ensure_future(factory.create_for_user(self._make_context(turn)))
            )
            # Requests of one burst arrive one loop step apart, as frames on one socket do.
            await asyncio.sleep(0)
        engines = await asyncio.gather(*creations, return_exceptions=True)
        runs: list[Any] = []
        for turn, engine in zip(turns, engines, strict=True):
            if isinstance(engine, TurnOutcome):
                runs.append(engine)  # refused before any engine: another user's thread
            elif isinstance(engine, self._target.limit_error):
                runs.append(TurnOutcome(run_id=turn.run_id, status="rejected", error=str(engine)))
            elif isinstance(engine, BaseException):
                raise engine
            else:
                runs.append(self._run_on(engine, turn))
        pending = [r for r in runs if not isinstance(r, TurnOutcome)]
        finished = iter(await asyncio.gather(*pending))
        return [r if isinstance(r, TurnOutcome) else next(finished) for r in runs]

    @property
    def connection(self) -> _InProcessConnection:
        """This session's connection as the backend's registry knows it."""
        if self._connection is None:
            raise TargetError(f"session {self.connection_id} of {self.user.user_id} is closed")
        return self._connection

    def events(self) -> Sequence[Event]:
        return tuple(self._events)

    def roots(self) -> Mapping[str, object]:
        roots: dict[str, object] = {}
        named: set[str] = set()
        for index, ((run_id, _attempt), engine) in enumerate(self._engines.items()):
            suffix = "" if index == 0 else f"[{run_id}]"
            if suffix and suffix in named:
                suffix = f"[{run_id}#{index}]"  # a second attempt of the run on this tab
            named.add(suffix)
            roots[f"engine{suffix}"] = engine
            roots[f"context{suffix}"] = engine.context
            roots[f"registry{suffix}"] = engine.execution_registry
            roots[f"tool_dispatcher{suffix}"] = engine.tool_dispatcher
            roots[f"emitter{suffix}"] = engine.emitter
            roots[f"agents{suffix}"] = dict(engine.agents_in_flight)
        return roots

    async def close(self) -> None:
        if self._connection is not None:
            self._target.connections.unregister(self.user.user_id, self._connection)
            self._connection = None
        self._engines.clear()
        self.on_event = None

    # ---------------------------------------------------------------- internals
    def _make_context(self, turn: Turn) -> Any:
        metadata = {
            "email": self.user.email,
            "display_name": self.user.display_name,
            "canary": self.user.canaries[0] if self.user.canaries else "",
        }
        return self._target.factory.make_context(
            self.user.user_id, turn.thread_id, turn.run_id, metadata=metadata
        )

    async def _run_on(self, engine: Any, turn: Turn) -> TurnOutcome:
        from harness_backend.agents import AgentRequest

        request = AgentRequest(
            user_id=self.user.user_id,
            thread_id=turn.thread_id,
            run_id=turn.run_id,
            message=turn.message,
            plan=_wire_plan(turn),
        )
        self._attempts += 1
        key = (turn.run_id, self._attempts)
        self._engines[key] = engine
        try:
            reply = await engine.execute_agent("scripted", request)
        finally:
            self._engines.pop(key, None)
            await self._target.factory.release(engine)
        status = reply.get("status", "error")
        return TurnOutcome(
            run_id=turn.run_id,
            status="completed" if status == "completed" else "error",
            result=reply.get("result"),
            error=reply.get("error"),
        )


class ReferenceTarget:
    """The embedded reference backend, in this process, optionally with a fault switched on.

    Args:
        fault: one ``harness_backend.faults`` name, e.g. ``"shared-engine"``.
        faults: several fault names.
        max_engines_per_user: the factory's per-user engine limit.

    Raises:
        TargetLoadError: a fault name the backend does not know (the message lists them).
    """

    name = "reference"
    #: What ``--target`` loads this adapter by (replay commands name it).
    spec = "reference"
    capabilities = frozenset({"scripted_plan", "tools", "live_roots"})
    deterministic = True
    requires_fresh_process = False

    def __init__(
        self,
        fault: str | None = None,
        *,
        faults: Sequence[str] = (),
        max_engines_per_user: int = 2,
        idle_timeout: float = 300.0,
    ) -> None:
        from harness_backend.errors import DuplicateRunError, EngineLimitExceeded
        from harness_backend.faults import FAULTS

        names = tuple(faults) + ((fault,) if fault else ())
        for name in names:
            if name not in FAULTS:
                raise TargetLoadError(
                    f"fault={name!r} is not a fault of the reference backend."
                    f"{did_you_mean(name, FAULTS)} Known faults: {', '.join(FAULTS)}."
                )
        self.faults = names
        #: The fault a replay command switches on with ``--fault`` (one at most there).
        self.fault: str | None = names[0] if len(names) == 1 else None
        if names:
            self.name = f"reference[{','.join(names)}]"
        #: What the factory refuses a turn with: past the per-user limit, or a run id of the
        #: user already in flight (a retry or a resume while the first attempt runs).
        self.limit_error: tuple[type[BaseException], ...] = (EngineLimitExceeded, DuplicateRunError)
        self._max_engines_per_user = max_engines_per_user
        self._idle_timeout = idle_timeout
        self._factory: Any = None
        self._connections: Any = None
        self._ownership: Any = None
        self._sessions = 0

    @property
    def factory(self) -> Any:
        if self._factory is None:
            raise TargetError(f"target {self.name!r} is not started: call start() first")
        return self._factory

    @property
    def connections(self) -> Any:
        return self._connections

    async def start(self) -> None:
        from harness_backend.connections import ConnectionRegistry
        from harness_backend.factory import ExecutionEngineFactory
        from harness_backend.protocol import OwnershipTable

        # What harness_backend.server checks before any turn: who first used each thread and run
        # id. Runs are resumable here: a user may send its own run id again on its thread (a
        # retry, a second tab resuming it); the factory refuses it while the run is in flight.
        self._ownership = OwnershipTable(capacity=1_000_000, resumable_runs=True)
        self._connections = ConnectionRegistry()
        self._factory = ExecutionEngineFactory(
            connections=self._connections,
            max_engines_per_user=self._max_engines_per_user,
            idle_timeout=self._idle_timeout,
            faults=self.faults,
        )

    async def stop(self) -> None:
        if self._factory is not None:
            await self._factory.shutdown()
        self._factory = None
        self._connections = None
        self._ownership = None

    def claim(self, user_id: str, turn: Turn) -> TurnOutcome | None:
        """Check the turn's thread and run ids as the server does; a refusal is the outcome."""
        from harness_backend.protocol import ProtocolError

        try:
            self._ownership.claim(user_id, turn.thread_id, turn.run_id)
        except ProtocolError as exc:
            return TurnOutcome(run_id=turn.run_id, status="rejected", error=f"{exc.code}: {exc}")
        return None

    async def open_session(self, user: SimUser) -> ReferenceSession:
        self._sessions += 1
        session = ReferenceSession(self, user, f"conn-{self._sessions:05d}")
        self.connections.register(user.user_id, session.connection)
        return session

    def shared_roots(self) -> Mapping[str, object]:
        return dict(self.factory.shared_roots())

    def limits(self) -> dict[str, int]:
        return (
            dict(self.factory.limits())
            if self._factory is not None
            else {"engines_per_user": self._max_engines_per_user}
        )
