"""Hypothesis strategies for arbitrary valid users, plans, turns and scenarios.

Everything drawn here passes :func:`harness.scenarios.validate`: ids have the generated shapes
and are unique, turns use their user's threads, times are finite and not negative and a ``Fail`` is
always the last step. Shrinking goes towards fewer users, sessions, turns and steps::

    from hypothesis import given
    from harness.scenarios.strategies import scenarios_

    @given(scenarios_(min_users=2, max_users=4))
    def test_runs(scenario): ...
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from hypothesis import strategies as st

from harness.model import CallTool, Fail, Pause, Scenario, SessionPlan, SimUser, Step, Think, Turn
from harness.scenarios._building import COMMON_QUERIES, COMMON_QUESTIONS
from harness.users import DEFAULT_ISSUED_AT, DEFAULT_JWT_SECRET, DEFAULT_TOKEN_TTL, sign_token

__all__ = [
    "sim_users",
    "durations",
    "steps",
    "plans",
    "run_ids",
    "turns_for",
    "session_plans_for",
    "scenarios_",
]

_FIRST_NAMES = ("Ana", "Bo", "Chen", "Dara", "Emeka", "Freya", "Goran", "Hana", "Ivo", "Jun")
_LAST_NAMES = ("Abara", "Berg", "Costa", "Dahl", "Eze", "Fox", "Gill", "Haas", "Ito", "Juarez")
_DOMAINS = ("example.org", "mail.example.com", "corp.example.net")
_TOOLS = ("echo", "search", "calculator", "fail")


def _milliseconds(seconds: float) -> float:
    return round(seconds, 3)


def _run_id(value: int) -> str:
    return f"run_{value:012x}"


def _thought(canary: str) -> Think:
    return Think(f"thinking {canary}".strip())


@functools.lru_cache(maxsize=64)
def durations(max_seconds: float = 0.5) -> st.SearchStrategy[float]:
    """Finite, non-negative loop durations up to ``max_seconds``, rounded to milliseconds."""
    return st.floats(0.0, max_seconds, allow_nan=False, allow_infinity=False).map(_milliseconds)


def run_ids() -> st.SearchStrategy[str]:
    """``run_<12 hex>`` ids."""
    return st.integers(0, 16**12 - 1).map(_run_id)


@st.composite
def sim_users(
    draw: st.DrawFn,
    min_users: int = 1,
    max_users: int = 6,
    max_threads: int = 3,
    max_canaries: int = 3,
) -> tuple[SimUser, ...]:
    """Users with distinct ids, threads, canaries, emails and tokens (none shared).

    Uniqueness comes from one list of distinct numbers that every id is made from, so no
    draw is ever rejected for a collision.
    """
    count = draw(st.integers(min_users, max_users))
    threads = draw(st.lists(st.integers(1, max_threads), min_size=count, max_size=count))
    canaries = draw(st.lists(st.integers(1, max_canaries), min_size=count, max_size=count))
    needed = 2 * count + sum(threads) + sum(canaries)
    numbers = iter(
        draw(st.lists(st.integers(0, 16**12 - 1), min_size=needed, max_size=needed, unique=True))
    )
    users = []
    for index in range(count):
        user_id = f"usr_{next(numbers):012x}"
        first = draw(st.sampled_from(_FIRST_NAMES))
        last = draw(st.sampled_from(_LAST_NAMES))
        users.append(
            SimUser(
                user_id=user_id,
                thread_ids=tuple(f"thread_{next(numbers):012x}" for _ in range(threads[index])),
                email=f"{first.lower()}.{last.lower()}.{next(numbers):012x}@"
                f"{draw(st.sampled_from(_DOMAINS))}",
                display_name=f"{first} {last}",
                canaries=tuple(f"cnry_{next(numbers):016x}" for _ in range(canaries[index])),
                token=sign_token(
                    user_id,
                    secret=DEFAULT_JWT_SECRET,
                    issued_at=DEFAULT_ISSUED_AT,
                    ttl=DEFAULT_TOKEN_TTL,
                    jti=f"{index:016x}",
                ),
            )
        )
    return tuple(users)


# Strategies are cached per argument: building and validating a fresh strategy object on every
# draw costs more than the draw itself, and Hypothesis flags slow generation.
@functools.lru_cache(maxsize=256)
def _canaries(user: SimUser | None) -> st.SearchStrategy[str]:
    return st.sampled_from(user.canaries) if user is not None else st.just("")


@st.composite
def _tool_calls(draw: st.DrawFn, user: SimUser | None) -> CallTool:
    name = draw(st.sampled_from(_TOOLS))
    canary = draw(_canaries(user))
    params: dict[str, Any]
    if name == "search":
        query = draw(st.sampled_from(COMMON_QUERIES))
        params = {"query": f"{query} {canary}".strip() if draw(st.booleans()) else query}
    elif name == "calculator":
        params = {"a": draw(st.integers(-99, 99)), "b": draw(st.integers(1, 99)), "op": "+"}
    elif name == "fail":
        params = {"reason": f"tool broke {canary}".strip()}
    else:
        params = {"note": canary}
    if draw(st.booleans()):
        params["delay"] = draw(durations(0.2))
    return CallTool(name, params)


@functools.lru_cache(maxsize=256)
def steps(user: SimUser | None = None) -> st.SearchStrategy[Step]:
    """One ``Think``, ``CallTool`` or ``Pause`` (never ``Fail``: see :func:`plans`)."""
    return st.one_of(
        _canaries(user).map(_thought),
        _tool_calls(user),
        durations().map(Pause),
    )


@st.composite
def plans(
    draw: st.DrawFn, user: SimUser | None = None, max_steps: int = 5, allow_fail: bool = True
) -> tuple[Step, ...]:
    """A plan of up to ``max_steps`` steps, possibly empty, ending with ``Fail`` sometimes."""
    plan: list[Step] = draw(st.lists(steps(user), max_size=max_steps))
    if allow_fail and draw(st.booleans()):
        plan.append(Fail("gave up"))
    return tuple(plan)


@st.composite
def turns_for(draw: st.DrawFn, user: SimUser, max_steps: int = 5) -> Turn:
    """A turn of ``user``: one of its threads, a message carrying one of its canaries."""
    question = draw(st.sampled_from(COMMON_QUESTIONS))
    return Turn(
        run_id=draw(run_ids()),
        thread_id=draw(st.sampled_from(user.thread_ids)),
        message=f"{question} (ref {draw(st.sampled_from(user.canaries))})",
        plan=draw(plans(user, max_steps=max_steps)),
    )


@st.composite
def _unique_turns(
    draw: st.DrawFn, user: SimUser, seen: set[str], max_turns: int, max_steps: int
) -> tuple[Turn, ...]:
    turns = []
    for turn in draw(st.lists(turns_for(user, max_steps), max_size=max_turns)):
        if turn.run_id in seen:
            # Step to the next unused id: deterministic, and no draw is rejected.
            number = int(turn.run_id.removeprefix("run_"), 16)
            while _run_id(number) in seen:
                number = (number + 1) % 16**12
            turn = Turn(_run_id(number), turn.thread_id, turn.message, turn.plan)
        seen.add(turn.run_id)
        turns.append(turn)
    return tuple(turns)


@st.composite
def session_plans_for(
    draw: st.DrawFn,
    user: SimUser,
    session_id: str = "s0000",
    max_turns: int = 3,
    seen_run_ids: set[str] | None = None,
    max_steps: int = 5,
) -> SessionPlan:
    """One session of ``user`` with arbitrary timing options; run ids avoid ``seen_run_ids``."""
    seen = seen_run_ids if seen_run_ids is not None else set()
    turns = draw(_unique_turns(user, seen, max_turns, max_steps))
    close_after = draw(st.none() | durations(1.0))
    reopen = draw(_unique_turns(user, seen, 1, max_steps)) if close_after is not None else ()
    return SessionPlan(
        session_id=session_id,
        user_id=user.user_id,
        turns=turns,
        opens_at=draw(durations(1.0)),
        gap=draw(durations(0.1)),
        burst=draw(st.booleans()),
        close_after=close_after,
        reopen_turns=reopen,
        cancel_after=draw(st.none() | durations(1.0)),
        keep_open=draw(durations(1.0)),
    )


@st.composite
def scenarios_(
    draw: st.DrawFn,
    min_users: int = 2,
    max_users: int = 6,
    max_sessions_per_user: int = 2,
    max_turns: int = 3,
    max_steps: int = 4,
    name: str = "generated",
    retries: bool = False,
) -> Scenario:
    """A valid scenario: each user gets 1 to ``max_sessions_per_user`` sessions.

    Session ids run ``s0000``, ``s0001``... in order; run ids are unique in the scenario, except
    with ``retries``: then a session may end with a retry (``Turn.retry``) of an earlier turn
    of its user, on that turn's thread (from the same tab, or from another tab: a resume).
    """
    users = draw(sim_users(min_users=min_users, max_users=max_users))
    seen: set[str] = set()
    sessions: list[SessionPlan] = []
    for user in users:
        sent: list[Turn] = []
        for _ in range(draw(st.integers(1, max_sessions_per_user))):
            session_id = f"s{len(sessions):04d}"
            session = draw(session_plans_for(user, session_id, max_turns, seen, max_steps))
            sent.extend(session.turns)
            if retries and sent and draw(st.booleans()):
                earlier = draw(st.sampled_from(sent))
                again = dataclasses.replace(earlier, retry=True)
                session = dataclasses.replace(session, turns=(*session.turns, again))
            sent.extend(session.reopen_turns)
            sessions.append(session)
    heavy = draw(st.lists(st.sampled_from([user.user_id for user in users]), max_size=1))
    return Scenario(
        name=name,
        seed=draw(st.integers(0, 2**32 - 1)),
        users=users,
        sessions=tuple(sessions),
        heavy_users=tuple(heavy),
    )
