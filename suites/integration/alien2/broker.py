"""The second alien backend, part 2: the broker, its dispatcher queue and connections.

The :class:`Broker` (the factory) takes a :class:`~workers.Ticket` from a :class:`Channel` (one
open connection), checks the per-user limit, takes a worker from the pool and runs it as a
:class:`Job` in its own task. Events go through one shared ``asyncio.Queue`` that a
:class:`Dispatcher` task drains, delivering each message to every channel of the user it is
stamped with. The events of runs still going are kept per thread, so a connection that opens
mid-run is caught up on the threads it shows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from suites.integration.alien2.workers import Pool, Scope, Ticket, Worker, _log

__all__ = ["Broker", "Channel", "Dispatcher", "Job", "JobMeta", "Outbox", "Refused"]

Receive = Callable[[dict[str, Any]], None]


class Refused(Exception):
    """The broker refused a ticket (per-user limit)."""


class Channel:
    """One open connection of one user."""

    __slots__ = ("__weakref__", "open", "receive", "running", "user_id")

    def __init__(self, user_id: str, receive: Receive) -> None:
        self.user_id = user_id
        self.receive = receive
        self.running = 0
        self.open = True


class Dispatcher:
    """One queue of outgoing messages for everyone, drained by one task."""

    def __init__(self, broker: Broker, bugs: frozenset[str]) -> None:
        self._broker = broker
        self._bugs = bugs
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._recipient = ""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._pump())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        self._recipient = ""

    async def post(self, message: dict[str, Any]) -> None:
        if "queue-recipient" in self._bugs:
            self._recipient = str(message["user_id"])  # "who we are talking to right now"
        await self.queue.put(message)

    async def drained(self) -> None:
        await self.queue.join()

    async def _pump(self) -> None:
        while True:
            message = await self.queue.get()
            try:
                if "queue-recipient" in self._bugs:
                    self._broker.deliver(self._recipient, message)
                else:
                    self._broker.deliver(str(message["user_id"]), message)
            finally:
                self.queue.task_done()


class Outbox:
    """A job's emitter: stamps the job's ids on each event and posts it."""

    def __init__(self, scope: Scope, broker: Broker, bugs: frozenset[str]) -> None:
        self.scope = scope
        self.broker = broker
        self._bugs = bugs
        self.sent = 0

    async def emit(self, kind: str, payload: Mapping[str, Any]) -> None:
        thread_id = self.scope.get("thread_id")
        if "focus-thread" in self._bugs:
            thread_id = self.broker.focus_thread
        self.sent += 1
        await self.broker.dispatcher.post(
            {
                "type": kind,
                "run_id": self.scope.get("run_id"),
                "thread_id": thread_id,
                "user_id": self.scope.get("user_id"),
                "payload": dict(payload),
            }
        )


class Job:
    """One ticket being worked on: the per-turn engine."""

    def __init__(self, ticket: Ticket, scope: Scope, worker: Worker, outbox: Outbox) -> None:
        self.ticket = ticket
        self.scope = scope
        self.worker: Worker | None = worker
        self.outbox = outbox
        self.task: asyncio.Task[dict[str, Any]] | None = None


@dataclasses.dataclass
class JobMeta:
    """Bookkeeping about a live job; must not reference the job (bug weak-meta does)."""

    run_id: str
    started: float
    job: Job | None = None


class Broker:
    """The factory and the connection registry (shared infrastructure)."""

    def __init__(self, bugs: frozenset[str], *, per_user: int = 2) -> None:
        self._bugs = bugs
        self.per_user = per_user
        self.pool = Pool(bugs)
        self.dispatcher = Dispatcher(self, bugs)
        self._channels: dict[str, list[Channel]] = {}
        self._running: dict[str, int] = {}
        # thread id -> (owner, run id -> events so far) for runs not yet terminated.
        self._active: dict[str, tuple[str, dict[str, list[dict[str, Any]]]]] = {}
        self._meta: weakref.WeakKeyDictionary[Job, JobMeta] = weakref.WeakKeyDictionary()
        self.focus_thread = ""
        self.audit = logging.LoggerAdapter(_log, {"user": ""})

    # ------------------------------------------------------------------ connections
    def connect(self, user_id: str, receive: Receive) -> Channel:
        channel = Channel(user_id, receive)
        self._channels.setdefault(user_id, []).append(channel)
        return channel

    def disconnect(self, channel: Channel) -> None:
        channel.open = False
        channels = self._channels.get(channel.user_id, [])
        if channel in channels:
            channels.remove(channel)
        if not channels:
            self._channels.pop(channel.user_id, None)

    def replay(self, channel: Channel, thread_ids: Iterable[str]) -> int:
        """Catch a new connection up: replay the events so far of the active runs on
        ``thread_ids`` (the threads the client says it shows); returns how many."""
        if "replay-all" in self._bugs:
            wanted = list(self._active)
        else:
            wanted = [t for t in thread_ids if t in self._active]
        count = 0
        for thread_id in wanted:
            owner, runs = self._active[thread_id]
            if owner != channel.user_id and not self._bugs & {"replay-all", "replay-any-owner"}:
                continue
            for messages in runs.values():
                for message in messages:
                    channel.receive(message)
                    count += 1
        return count

    def deliver(self, user_id: str, message: dict[str, Any]) -> None:
        thread_id, run_id = str(message.get("thread_id")), str(message.get("run_id"))
        _, runs = self._active.setdefault(thread_id, (user_id, {}))
        if message.get("type") in ("agent_completed", "agent_error"):
            runs.pop(run_id, None)
            if not runs:
                del self._active[thread_id]
        else:
            runs.setdefault(run_id, []).append(message)
        for channel in tuple(self._channels.get(user_id, ())):
            channel.receive(message)

    # ------------------------------------------------------------------ work
    def submit(self, channel: Channel, ticket: Ticket) -> Job:
        """Check and reserve the user's slot, then start the job (no await in between)."""
        if "per-channel-limit" in self._bugs:
            if channel.running >= self.per_user:
                raise Refused(f"{self.per_user} tickets already running on this connection")
            channel.running += 1
        else:
            if self._running.get(ticket.user_id, 0) >= self.per_user:
                raise Refused(f"{self.per_user} tickets of this user already running")
            self._running[ticket.user_id] = self._running.get(ticket.user_id, 0) + 1
        if "focus-thread" in self._bugs:
            self.focus_thread = ticket.thread_id
        if "audit-adapter" in self._bugs:
            self.audit.extra["user"] = ticket.email  # type: ignore[index]
        self.audit.info("ticket %s", ticket.run_id)
        scope = Scope(
            user_id=ticket.user_id,
            thread_id=ticket.thread_id,
            run_id=ticket.run_id,
            email=ticket.email,
        )
        job = Job(ticket, scope, self.pool.acquire(scope), Outbox(scope, self, self._bugs))
        loop = asyncio.get_running_loop()
        meta = JobMeta(ticket.run_id, loop.time())
        if "weak-meta" in self._bugs:
            meta.job = job  # "handy back-pointer": the value now keeps its key alive
        self._meta[job] = meta
        job.task = loop.create_task(self._run(job, channel))
        return job

    async def _run(self, job: Job, channel: Channel) -> dict[str, Any]:
        worker = job.worker
        assert worker is not None
        try:
            return await worker.run(job.ticket, job.outbox.emit)
        finally:
            # The job may outlive its turn (its tab still holds it while events drain): it must
            # not keep pointing at a worker that the pool now hands to someone else.
            job.worker = None
            self.pool.release(worker)
            if "per-channel-limit" in self._bugs:
                channel.running -= 1
            else:
                left = self._running.get(job.ticket.user_id, 1) - 1
                if left > 0:
                    self._running[job.ticket.user_id] = left
                else:
                    self._running.pop(job.ticket.user_id, None)
