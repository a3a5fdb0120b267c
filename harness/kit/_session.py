"""The session base every in-process adapter needs: events, live runs, burst and close.

A subclass says how its backend opens a run (``open_run``), drives it (``drive``), which live
objects of a run are this user's (``run_roots``) and how the connection goes away
(``disconnect``). The base does the bookkeeping the contract asks of every session:

* it records each message the backend delivered to this connection (``receive``) as an
  :class:`~harness.model.Event` built by :func:`harness.targets.event_from_message`: ``user_id``
  and ``thread_id`` are what the backend put there, never filled in from the session;
* it numbers ``seq`` in arrival order and calls ``on_event`` (set by the runner);
* it turns the backend's refusal exceptions (``refusals``) into ``rejected`` outcomes;
* it exposes the live runs' objects as ``roots()`` (``engine[run_id]``, ``context[run_id]``...);
* ``burst(turns)`` opens every turn's run, one loop step apart, before any of them is driven;
* ``close()`` disconnects and drops every reference to the user's objects.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from harness.errors import TargetError
from harness.kit._outcomes import is_refusal, rejected
from harness.model import Event, SimUser, Turn, TurnOutcome
from harness.targets import event_from_message

__all__ = ["RecordingSession"]

T = TypeVar("T")


class RecordingSession:
    """Base class of one connection (one browser tab) of one user to an in-process backend.

    Args:
        user: the simulated user this connection belongs to.
        connection_id: a name for this connection, unique within the target.

    Raises:
        TargetError: from ``run_turn``/``burst`` after ``close()``.

    Example:
        >>> class EchoSession(RecordingSession):
        ...     async def open_run(self, turn):
        ...         return {"run": turn.run_id}
        ...     async def drive(self, run, turn):
        ...         self.receive({"type": "agent_completed", "run_id": turn.run_id})
        ...         from harness.kit import completed
        ...         return completed(turn, [])
    """

    #: The exception classes the backend raises to refuse a turn; they become ``rejected``.
    refusals: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(self, user: SimUser, connection_id: str) -> None:
        self.user = user
        self.connection_id = connection_id
        #: Called with each Event as it arrives, when set (the runner sets it).
        self.on_event: Callable[[Event], object] | None = None
        self.closed = False
        self._events: list[Event] = []
        self._live: dict[str, object] = {}
        self._jobs: set[asyncio.Future[Any]] = set()

    # ------------------------------------------------------------------ for subclasses
    async def open_run(self, turn: Turn) -> object:
        """Create the backend's objects for ``turn`` (engine, runner, job); may refuse.

        Args:
            turn: the turn to open.

        Raises:
            BaseException: one of ``refusals`` to refuse the turn (it becomes ``rejected``).
        """
        raise NotImplementedError(f"{type(self).__name__} must define open_run(turn)")

    async def drive(self, run: Any, turn: Turn) -> TurnOutcome:
        """Run an opened turn until its terminal event; return its outcome.

        Args:
            run: what ``open_run`` returned for this turn.
            turn: the turn.
        """
        raise NotImplementedError(f"{type(self).__name__} must define drive(run, turn)")

    def run_roots(self, run: Any) -> Mapping[str, object]:
        """The live objects of one run, by root key (``engine``, ``context``, ``emitter``...).

        The default exposes the run object itself as ``engine``.
        """
        return {"engine": run}

    async def disconnect(self) -> None:
        """Take this connection away from the backend (called once, by ``close``)."""

    async def await_job(self, job: asyncio.Future[T]) -> T:
        """Wait for a turn the backend runs as its own task; cancel it if the turn is abandoned.

        A turn cancelled by the runner (the stop button, a tab closed mid-turn) cancels the
        backend's task too, and ``close()`` waits for such tasks to finish cancelling, so their
        terminal events are sent before the session is gone.

        Args:
            job: the backend's task (or future) for this turn.

        Raises:
            asyncio.CancelledError: the turn was abandoned.
        """
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)
        try:
            return await asyncio.shield(job)
        except asyncio.CancelledError:
            job.cancel()
            raise

    async def finish_jobs(self) -> None:
        """Wait until every backend task given to ``await_job`` is done (close calls it)."""
        pending = [job for job in self._jobs if not job.done()]
        if pending:
            await asyncio.wait(pending)

    # ------------------------------------------------------------------ what the backend calls
    def receive(self, message: Mapping[str, Any]) -> None:
        """Record one message the backend delivered to this connection, as it was sent.

        Args:
            message: the event as a mapping (``type``, ``run_id``, ``thread_id``,
                ``user_id``, ``payload``).
        """
        if self.closed:
            return  # a closed connection receives nothing, as a closed socket would
        try:
            now: float | None = asyncio.get_running_loop().time()
        except RuntimeError:
            now = None
        event = event_from_message(
            message, seq=len(self._events), connection_id=self.connection_id, t=now
        )
        self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    # ------------------------------------------------------------------ the Session contract
    async def run_turn(self, turn: Turn) -> TurnOutcome:
        """Open and drive one turn; a refusal becomes a ``rejected`` outcome."""
        self._check_open()
        try:
            run = await self.open_run(turn)
        except Exception as exc:
            if is_refusal(exc, self.refusals):
                return rejected(turn, exc)
            raise
        return await self._drive_live(run, turn)

    async def burst(self, turns: Sequence[Turn]) -> list[TurnOutcome]:
        """Open every turn's run, one loop step apart, before any is driven (presses limits).

        Args:
            turns: the turns to start together.
        """
        self._check_open()
        opening: list[asyncio.Future[object]] = []
        for turn in turns:
            opening.append(asyncio.ensure_future(self.open_run(turn)))
            await asyncio.sleep(0)  # requests of a burst arrive one loop step apart
        runs = await asyncio.gather(*opening, return_exceptions=True)
        for run in runs:  # an error that is no refusal is the backend's crash: before any drive
            if isinstance(run, BaseException) and not (
                isinstance(run, Exception) and is_refusal(run, self.refusals)
            ):
                raise run
        outcomes: list[TurnOutcome | None] = []
        drives: list[Any] = []
        for turn, run in zip(turns, runs, strict=True):
            if isinstance(run, Exception):
                outcomes.append(rejected(turn, run))
            else:
                outcomes.append(None)
                drives.append(self._drive_live(run, turn))
        finished = iter(await asyncio.gather(*drives))
        return [o if o is not None else next(finished) for o in outcomes]

    def events(self) -> Sequence[Event]:
        """Every event this connection received, in arrival order."""
        return tuple(self._events)

    def roots(self) -> Mapping[str, object]:
        """This user's live objects: ``key[run_id]`` for each key of each live run."""
        roots: dict[str, object] = {}
        for run_id, run in self._live.items():
            for key, obj in self.run_roots(run).items():
                roots[f"{key}[{run_id}]"] = obj
        return roots

    def live_runs(self) -> Mapping[str, object]:
        """The runs being driven on this connection, by run id (a copy)."""
        return dict(self._live)

    async def close(self) -> None:
        """Disconnect and drop every reference to the user's objects (idempotent)."""
        if self.closed:
            return
        try:
            await self.disconnect()
            await self.finish_jobs()
        finally:
            self.closed = True
            self._live.clear()
            self._jobs.clear()
            self.on_event = None

    # ------------------------------------------------------------------ internals
    async def _drive_live(self, run: object, turn: Turn) -> TurnOutcome:
        self._live[turn.run_id] = run
        try:
            return await self.drive(run, turn)
        finally:
            self._live.pop(turn.run_id, None)

    def _check_open(self) -> None:
        if self.closed:
            raise TargetError(
                f"session connection_id={self.connection_id!r} of user {self.user.user_id!r} "
                "is closed: open a new session for more turns."
            )
