"""The pieces every built-in generator shares: ids, messages and the standard plan steps.

A :class:`ScenarioBuilder` holds one generator's rng and the ids it has issued, so session ids
run ``s0000``, ``s0001``... in order and run ids are unique within the scenario. Messages and
tool parameters mix one of the user's canaries with inputs that real users share (the same
question, the same search), because a cache or dedup keyed without the user only shows when two
users' inputs coincide.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from harness.errors import ScenarioError
from harness.model import CallTool, Pause, SessionPlan, SimUser, Step, Think, Turn

__all__ = [
    "COMMON_QUESTIONS",
    "COMMON_QUERIES",
    "COMMON_CALCULATIONS",
    "ScenarioBuilder",
    "arrival_spread",
    "plan_duration",
    "require_users",
]

#: Questions many users ask word for word.
COMMON_QUESTIONS: tuple[str, ...] = (
    "What was our quarterly revenue?",
    "Summarize the open support tickets.",
    "Draft a reply to the latest customer email.",
    "Which deals are likely to close this month?",
    "List the action items from yesterday's meeting.",
)
#: Search queries many users send unchanged.
COMMON_QUERIES: tuple[str, ...] = (
    "quarterly revenue",
    "open support tickets",
    "pipeline forecast",
    "meeting notes",
)
#: Calculator inputs many users send unchanged.
COMMON_CALCULATIONS: tuple[dict[str, object], ...] = (
    {"a": 1200, "b": 12, "op": "/"},
    {"a": 19.5, "b": 4, "op": "*"},
    {"a": 250, "b": 75, "op": "-"},
)


def require_users(name: str, users: Sequence[SimUser]) -> tuple[SimUser, ...]:
    """Return ``users`` as a tuple, or raise :class:`ScenarioError` when there are none."""
    result = tuple(users)
    if not result:
        raise ScenarioError(
            f"scenario {name!r}\n"
            "users=() is empty\n"
            "rule: a scenario needs at least one user. Fix: pass users >= 1 "
            "(the multi-user detectors need >= 2)."
        )
    return result


def arrival_spread(count: int) -> float:
    """Loop seconds over which ``count`` staggered users arrive: short, so their turns overlap."""
    return min(2.0, 0.1 + 0.002 * count)


def plan_duration(plan: Sequence[Step]) -> float:
    """Loop seconds a plan takes on an idle target: its pauses plus its tools' ``delay``."""
    total = 0.0
    for step in plan:
        if isinstance(step, Pause):
            total += step.seconds
        elif isinstance(step, CallTool):
            delay = step.params.get("delay", 0.0)
            if isinstance(delay, int | float):
                total += float(delay)
    return total


class ScenarioBuilder:
    """Issues ids and builds turns for one generator run; every choice comes from ``rng``."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._sessions = 0
        self._runs: set[str] = set()

    # ------------------------------------------------------------------ ids

    def session_id(self) -> str:
        """The next session id: ``s0000``, ``s0001``... (more digits past ``s9999``)."""
        value = f"s{self._sessions:04d}"
        self._sessions += 1
        return value

    def run_id(self) -> str:
        """A ``run_<12 hex>`` not yet used in this scenario."""
        while True:
            value = f"run_{self.rng.getrandbits(48):012x}"
            if value not in self._runs:
                self._runs.add(value)
                return value

    # ------------------------------------------------------------------ small draws

    def seconds(self, low: float = 0.01, high: float = 0.5) -> float:
        """A virtual duration in ``[low, high]``, rounded to milliseconds (never below low)."""
        return max(low, round(self.rng.uniform(low, high), 3))

    def arrival(self, spread: float) -> float:
        """A staggered opening time in ``[0, spread]``, rounded to milliseconds."""
        return round(self.rng.uniform(0.0, spread), 3)

    def canary(self, user: SimUser) -> str:
        """One of the user's canaries."""
        return user.canaries[self.rng.randrange(len(user.canaries))]

    def thread(self, user: SimUser) -> str:
        """One of the user's threads."""
        return user.thread_ids[self.rng.randrange(len(user.thread_ids))]

    # ------------------------------------------------------------------ steps

    def think(self, user: SimUser) -> Think:
        """A thought that carries a canary."""
        return Think(f"Looking this up for {user.display_name} (ref {self.canary(user)})")

    def echo(self, user: SimUser, delay: float | None = None) -> CallTool:
        """``echo`` with a canary note: reveals the context the tool really ran under."""
        params: dict[str, object] = {"note": self.canary(user)}
        if delay is not None:
            params["delay"] = delay
        return CallTool("echo", params)

    def search(self, user: SimUser, delay: float | None = None) -> CallTool:
        """``search`` for a common query with a canary appended."""
        query = COMMON_QUERIES[self.rng.randrange(len(COMMON_QUERIES))]
        params: dict[str, object] = {"query": f"{query} {self.canary(user)}"}
        if delay is not None:
            params["delay"] = delay
        return CallTool("search", params)

    def shared_search(self) -> CallTool:
        """``search`` with a query many users send unchanged (no canary on purpose)."""
        return CallTool(
            "search", {"query": COMMON_QUERIES[self.rng.randrange(len(COMMON_QUERIES))]}
        )

    def shared_calculation(self) -> CallTool:
        """``calculator`` with inputs many users send unchanged."""
        return CallTool("calculator", dict(COMMON_CALCULATIONS[self.rng.randrange(3)]))

    def pause(self, low: float = 0.01, high: float = 0.5) -> Pause:
        """A pause of a small virtual duration."""
        return Pause(self.seconds(low, high))

    # ------------------------------------------------------------------ turns

    def message(self, user: SimUser) -> str:
        """A common question with one of the user's canaries attached."""
        question = COMMON_QUESTIONS[self.rng.randrange(len(COMMON_QUESTIONS))]
        return f"{question} (ref {self.canary(user)})"

    def turn(self, user: SimUser, plan: Sequence[Step], thread_id: str | None = None) -> Turn:
        """A turn on one of the user's threads with a fresh run id and a canary message."""
        return Turn(
            run_id=self.run_id(),
            thread_id=thread_id if thread_id is not None else self.thread(user),
            message=self.message(user),
            plan=tuple(plan),
        )

    def standard_plan(self, user: SimUser) -> tuple[Step, ...]:
        """think, echo, search, shared search or calculation, pause, echo."""
        shared = self.shared_search() if self.rng.random() < 0.5 else self.shared_calculation()
        return (
            self.think(user),
            self.echo(user),
            self.search(user),
            shared,
            self.pause(0.01, 0.2),
            self.echo(user),
        )

    def session(self, user: SimUser, turns: Sequence[Turn], **options: object) -> SessionPlan:
        """A session for ``user`` with the next session id; ``options`` are SessionPlan fields."""
        return SessionPlan(
            session_id=self.session_id(),
            user_id=user.user_id,
            turns=tuple(turns),
            **options,  # type: ignore[arg-type]
        )
