"""Who owns each thread id and run id, with a quota per user instead of a global eviction.

The first user to use a thread id owns it for as long as the server runs: another user naming it
is refused with ``forbidden``, and the refusal reads "not found or not yours" so it does not
confirm that the thread exists. A user may own at most ``threads_per_user`` threads; past that
quota the user's *new* threads are refused (``rejected``) while its existing threads keep
working. No user's entries are ever evicted to make room for another's, so flooding fresh
thread ids cannot take over someone else's thread.

Run ids are single-use unless the table is ``resumable_runs``: then a user may send its own run
id again on the thread it was first sent on (a client retrying, a second tab resuming the run);
whether that run is still in flight is the factory's question, not the table's. Each user's
last ``runs_per_user`` run ids are remembered; past that the
user's *own* oldest run ids are forgotten (never another user's), which keeps memory bounded
per user without letting anyone push out another user's entries.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from harness_backend.errors import ProtocolError

__all__ = ["OwnershipStatistics", "OwnershipTable"]


@dataclass(frozen=True, slots=True)
class OwnershipStatistics:
    """Counters of an :class:`OwnershipTable`."""

    users: int
    threads: int
    runs: int
    refused_by_quota: int


class OwnershipTable:
    """Owners of thread ids and run ids; a per-user quota on threads, per-user memory of runs.

    Args:
        capacity: how many threads one user may own (its quota); past it, new threads of
            that user are refused with ``rejected``.
        runs_per_user: how many of a user's run ids are remembered; that user's oldest are
            forgotten first.
        resumable_runs: accept a user's own run id again on the thread it was first sent on.

    Example:
        >>> table = OwnershipTable(capacity=10)
        >>> table.claim("usr_a", "thread_1", "run_1")
        >>> table.claim("usr_b", "thread_1", "run_2")  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        ProtocolError: thread_id='thread_1' not found or not yours
    """

    def __init__(
        self, capacity: int = 1_000, *, runs_per_user: int = 10_000, resumable_runs: bool = False
    ) -> None:
        for name, value in (("capacity", capacity), ("runs_per_user", runs_per_user)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"OwnershipTable {name}={value!r} must be an integer >= 1")
        self.capacity = capacity
        self.runs_per_user = runs_per_user
        self.resumable_runs = resumable_runs
        # run id -> the thread it was first sent on (kept only when runs are resumable).
        self._run_thread: dict[str, str] = {}
        self._thread_owner: dict[str, str] = {}
        self._threads_of: dict[str, int] = {}
        self._run_owner: dict[str, str] = {}
        self._runs_of: dict[str, deque[str]] = {}
        self._refused_by_quota = 0

    def claim(self, user_id: str, thread_id: str, run_id: str) -> None:
        """Record ``user_id`` as owner of both ids, or raise without recording anything.

        Raises:
            ProtocolError: ``forbidden`` when another user owns the thread or the run,
                ``invalid_message`` when this user already used the run id (unless the
                table is ``resumable_runs`` and the thread is the run's own), ``rejected``
                when the thread is new and the user already owns ``capacity`` threads.
        """
        thread_owner = self._thread_owner.get(thread_id)
        if thread_owner is not None and thread_owner != user_id:
            raise ProtocolError(
                "forbidden",
                f"thread_id={thread_id!r} not found or not yours; use one of your own threads",
                run_id=run_id,
            )
        run_owner = self._run_owner.get(run_id)
        if run_owner is not None and run_owner != user_id:
            raise ProtocolError(
                "forbidden",
                f"run_id={run_id!r} not found or not yours; every turn needs a fresh run_id",
                run_id=run_id,
            )
        if run_owner is not None:
            if self.resumable_runs and self._run_thread.get(run_id) == thread_id:
                return  # the user resumes its own run on its thread: nothing new to record
            raise ProtocolError(
                "invalid_message",
                f"run_id={run_id!r} was already used; every turn needs a fresh run_id",
                run_id=run_id,
            )
        owned = self._threads_of.get(user_id, 0)
        if thread_owner is None and owned >= self.capacity:
            self._refused_by_quota += 1
            raise ProtocolError(
                "rejected",
                f"thread_id={thread_id!r} is new and this user already owns {owned} threads, "
                f"the most one user may own (threads_per_user={self.capacity}); "
                "continue on one of your threads",
                run_id=run_id,
            )
        if thread_owner is None:
            self._thread_owner[thread_id] = user_id
            self._threads_of[user_id] = owned + 1
        runs = self._runs_of.setdefault(user_id, deque())
        runs.append(run_id)
        self._run_owner[run_id] = user_id
        if self.resumable_runs:
            self._run_thread[run_id] = thread_id
        while len(runs) > self.runs_per_user:
            forgotten = runs.popleft()
            del self._run_owner[forgotten]
            self._run_thread.pop(forgotten, None)

    def owner_of_thread(self, thread_id: str) -> str | None:
        """The user owning ``thread_id``, or None."""
        return self._thread_owner.get(thread_id)

    def threads_owned(self, user_id: str) -> int:
        """How many threads ``user_id`` owns."""
        return self._threads_of.get(user_id, 0)

    def statistics(self) -> OwnershipStatistics:
        """Return the table's counters as a frozen record."""
        return OwnershipStatistics(
            users=len(self._threads_of),
            threads=len(self._thread_owner),
            runs=len(self._run_owner),
            refused_by_quota=self._refused_by_quota,
        )
