"""Hand-built traces for the detector tests.

A :class:`TraceBuilder` holds users, tabs and turns; ``run`` writes the events a correct
backend would emit for a plan (``agent_started``, one ``agent_thinking`` per Think, a
``tool_executing``/``tool_completed`` pair per CallTool, the terminal), on the running tab and on
any other tabs given in ``also``. Tests then break one thing: drop events, add a foreign one,
swap the echo context. Loop time advances 0.01 s per event; ``step`` counts events globally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from harness.detectors import build_index
from harness.model import (
    CallTool,
    Checkpoint,
    Event,
    Fail,
    FoundObject,
    FoundValue,
    RootWalk,
    SessionRecord,
    SimUser,
    Step,
    Think,
    Trace,
    Turn,
    TurnOutcome,
    TurnRecord,
    TurnStatus,
)
from harness.observe.tokens import TokenIndex

__all__ = ["ALL_CAPABILITIES", "TraceBuilder", "make_user"]

ALL_CAPABILITIES = frozenset({"scripted_plan", "tools", "live_roots"})


def make_user(n: int) -> SimUser:
    """User number ``n``: ids, a thread, two canaries and an email unique to it."""
    return SimUser(
        user_id=f"usr_{n:012x}",
        thread_ids=(f"thread_{n:012x}",),
        email=f"user{n}@example.org",
        display_name=f"User {n}",
        canaries=(f"cnry_{n:016x}", f"cnry_{n + 0xABC000:016x}"),
    )


class _Tab:
    def __init__(self, session_id: str, user: SimUser, opened_at: float) -> None:
        self.session_id = session_id
        self.user = user
        self.opened_at = opened_at
        self.closed_at: float | None = None
        self.events: list[Event] = []


class TraceBuilder:
    """Builds a :class:`Trace` step by step."""

    def __init__(
        self,
        users: int = 2,
        *,
        capabilities: frozenset[str] = ALL_CAPABILITIES,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        self.users = tuple(make_user(n + 1) for n in range(users))
        self.capabilities = capabilities
        self.limits = dict(limits or {})
        self.clock = 0.0
        self.step = 0
        self._tabs: dict[str, _Tab] = {}
        self._turns: list[TurnRecord] = []
        self._checkpoints: list[Checkpoint] = []
        self._runs = 0

    # ------------------------------------------------------------------ tabs and events

    def open(self, user: SimUser, *, at: float | None = None) -> str:
        """Open a tab for ``user``; returns its session id."""
        session_id = f"s{len(self._tabs) + 1}-{user.user_id[-2:]}"
        self._tabs[session_id] = _Tab(session_id, user, self.clock if at is None else at)
        return session_id

    def close(self, session_id: str, *, at: float | None = None) -> None:
        self._tabs[session_id].closed_at = self.clock if at is None else at

    def event(
        self,
        session_id: str,
        type_: str,
        run_id: str | None,
        payload: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        thread_id: str | None = None,
        t: float | None = None,
    ) -> Event:
        """Append one event to a tab; time and step advance."""
        tab = self._tabs[session_id]
        if t is None:
            self.clock = round(self.clock + 0.01, 6)
            t = self.clock
        self.step += 1
        event = Event(
            type=type_,
            run_id=run_id,
            thread_id=thread_id,
            user_id=user_id,
            payload=dict(payload or {}),
            seq=len(tab.events),
            connection_id=f"conn-{session_id}",
            t=t,
            step=self.step,
        )
        tab.events.append(event)
        return event

    def new_run_id(self) -> str:
        self._runs += 1
        return f"run_{self._runs:012x}"

    # ------------------------------------------------------------------ turns

    def run(
        self,
        session_id: str,
        plan: Iterable[Step] = (Think("hm"), CallTool("echo", {"x": 1})),
        *,
        status: TurnStatus | None = None,
        also: Iterable[str] = (),
        drop: Iterable[str] = (),
        echo_as: tuple[str, str, str] | None = None,
        emit: bool = True,
        burst: bool = False,
        crash: str | None = None,
        started_at: float | None = None,
        ended_at: float | None = None,
        retry_of: str | None = None,
    ) -> str:
        """Run one turn of the tab's user; returns its run id.

        ``also``: other tabs that receive every event; ``drop``: event types never delivered;
        ``echo_as``: (user_id, run_id, thread_id) the echo tool reports instead of the turn's;
        ``emit=False``: no events at all (rejected or timed-out turns); ``retry_of``: send
        that run id again (``Turn.retry``), recording the turn's last step.
        """
        tab = self._tabs[session_id]
        user = tab.user
        plan = tuple(plan)
        run_id = retry_of if retry_of is not None else self.new_run_id()
        thread_id = user.thread_ids[0]
        start = self.clock if started_at is None else started_at
        first_step = self.step + 1
        tool_results: list[dict[str, Any]] = []
        items: list[tuple[str, dict[str, Any]]] = [
            ("agent_started", {"agent": "scripted", "message": f"hi {user.canaries[0]}"})
        ]
        failed: str | None = None
        for step in plan:
            if isinstance(step, Think):
                items.append(("agent_thinking", {"text": step.text}))
            elif isinstance(step, CallTool):
                who = echo_as or (user.user_id, run_id, thread_id)
                result = (
                    {
                        "user_id": who[0],
                        "run_id": who[1],
                        "thread_id": who[2],
                        "params": step.params,
                    }
                    if step.name == "echo"
                    else {"ok": True}
                )
                items.append(("tool_executing", {"name": step.name, "params": dict(step.params)}))
                items.append(
                    ("tool_completed", {"name": step.name, "result": result, "error": None})
                )
                tool_results.append(
                    {
                        "name": step.name,
                        "params": dict(step.params),
                        "result": result,
                        "error": None,
                    }
                )
            elif isinstance(step, Fail):
                failed = step.reason
                break
        result_map: dict[str, Any] = {"response": "done", "tool_results": tool_results}
        if failed is not None:
            items.append(("agent_error", {"error": failed}))
        else:
            items.append(("agent_completed", {"result": result_map}))
        if status is None:
            status = "error" if failed is not None else "completed"
        dropped = set(drop)
        if emit:
            for type_, payload in items:
                if type_ in dropped:
                    continue
                self.event(
                    session_id, type_, run_id, payload, user_id=user.user_id, thread_id=thread_id
                )
                for other in also:
                    self.event(
                        other,
                        type_,
                        run_id,
                        payload,
                        user_id=user.user_id,
                        thread_id=thread_id,
                        t=self.clock,
                    )
        end = self.clock if ended_at is None else ended_at
        outcome = TurnOutcome(
            run_id=run_id,
            status=status,
            result=result_map if status in ("completed", "error") else None,
            error=failed,
        )
        self._turns.append(
            TurnRecord(
                session_id=session_id,
                user_id=user.user_id,
                turn=Turn(
                    run_id=run_id,
                    thread_id=thread_id,
                    message=f"hi {user.canaries[0]}",
                    plan=plan,
                    retry=retry_of is not None,
                ),
                started_at=start,
                ended_at=end,
                outcome=outcome,
                step=first_step,
                burst=burst,
                crash=crash,
                ended_step=self.step if retry_of is not None else None,
            )
        )
        return run_id

    # ------------------------------------------------------------------ walks

    def checkpoint(
        self,
        walks: Iterable[RootWalk] = (),
        shared: Iterable[FoundObject] = (),
        *,
        label: str = "tick",
    ) -> Checkpoint:
        self.step += 1
        checkpoint = Checkpoint(
            index=len(self._checkpoints),
            label=label,
            t=self.clock,
            step=self.step,
            walks=tuple(walks),
            shared=tuple(shared),
        )
        self._checkpoints.append(checkpoint)
        return checkpoint

    @staticmethod
    def walk(
        owner: str | None, values: Mapping[str, str], active_runs: Iterable[str] = ()
    ) -> RootWalk:
        return RootWalk(
            owner=owner,
            session_id=None,
            active_runs=tuple(active_runs),
            values=tuple(FoundValue(path=p, value=v) for p, v in values.items()),
            visited=len(values) + 1,
        )

    # ------------------------------------------------------------------ result

    def build(self, **changes: Any) -> Trace:
        sessions = tuple(
            SessionRecord(
                session_id=tab.session_id,
                user_id=tab.user.user_id,
                opened_at=tab.opened_at,
                closed_at=tab.closed_at,
                events=tuple(tab.events),
                connection_id=f"conn-{tab.session_id}",
            )
            for tab in self._tabs.values()
        )
        trace = Trace(
            scenario="hand-built",
            seed=1,
            strategy="fifo",
            target="test",
            users=self.users,
            sessions=sessions,
            turns=tuple(self._turns),
            checkpoints=tuple(self._checkpoints),
            limits=self.limits,
            capabilities=self.capabilities,
        )
        return replace(trace, **changes)

    def index(self, trace: Trace) -> TokenIndex:
        return build_index(trace)
