"""``AgentExecutionRegistry``: one engine's record of its active runs and recent history.

Each engine owns one. It holds the runs in flight (keyed by run id) and a bounded history of
finished runs, each with the message it answered. Nothing in it is keyed by anything but run id,
and it dies with its engine.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace

from .errors import DuplicateRunError

__all__ = ["AgentExecutionRegistry", "RunRecord", "RunStatus"]

RunStatus = str  # "running" | "completed" | "error" | "cancelled"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One agent run: who, which agent, what message, when, and how it ended."""

    run_id: str
    user_id: str
    thread_id: str
    agent: str
    message: str
    started_at: float
    finished_at: float | None = None
    status: RunStatus = "running"


class AgentExecutionRegistry:
    """Active runs (by run id) and a bounded history of finished ones.

    Args:
        history_limit: how many finished runs to keep (oldest dropped first).
    """

    def __init__(self, history_limit: int = 100) -> None:
        if history_limit < 0:
            raise ValueError(f"history_limit={history_limit!r} is negative; pass 0 or more.")
        self.history_limit = history_limit
        self._active: dict[str, RunRecord] = {}
        self._history: deque[RunRecord] = deque(maxlen=history_limit)

    def start(
        self,
        *,
        run_id: str,
        user_id: str,
        thread_id: str,
        agent: str,
        message: str,
        now: float,
    ) -> RunRecord:
        """Record a run as active.

        Raises:
            DuplicateRunError: if ``run_id`` is already active here.
        """
        if run_id in self._active:
            raise DuplicateRunError(
                f"run_id={run_id!r} is already active in this registry; "
                "every turn needs a fresh run id."
            )
        record = RunRecord(
            run_id=run_id,
            user_id=user_id,
            thread_id=thread_id,
            agent=agent,
            message=message,
            started_at=now,
        )
        self._active[run_id] = record
        return record

    def finish(self, run_id: str, status: RunStatus, now: float) -> RunRecord | None:
        """Move a run from active to history with its final ``status``; None if not active."""
        record = self._active.pop(run_id, None)
        if record is None:
            return None
        done = replace(record, status=status, finished_at=now)
        self._history.append(done)
        return done

    def active_runs(self) -> tuple[RunRecord, ...]:
        """Runs in flight, in start order."""
        return tuple(self._active.values())

    def history(self) -> tuple[RunRecord, ...]:
        """Finished runs, oldest first (at most ``history_limit``)."""
        return tuple(self._history)

    def get(self, run_id: str) -> RunRecord | None:
        """The active run with this id, or None."""
        return self._active.get(run_id)

    def clear(self) -> None:
        """Forget every run (on engine release)."""
        self._active.clear()
        self._history.clear()

    def __len__(self) -> int:
        return len(self._active)
