"""Searching over runs: seeds until a finding (explore), and smaller failing scenarios (shrink).

Both are pure algorithms over :func:`harness.runner.run`: the faces (``harness explore``,
``harness shrink``, the benchmarks) call them with their own budgets and progress output.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace

from harness.model import RunResult, Scenario, SessionPlan
from harness.settings import failing

__all__ = ["explore", "shrink_scenario"]


def explore(
    scenarios: list[str],
    *,
    users: int,
    strategy: str,
    budget: float,
    start_seed: int = 0,
    target: str = "reference",
    fault: str | None = None,
    on_try: Callable[[RunResult, int, float], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    max_tries: int | None = None,
    strict: bool = False,
) -> tuple[RunResult | None, int, float]:
    """Try seeds from ``start_seed`` over ``scenarios`` until a finding or ``budget`` seconds.

    A finding here is one that fails a run: a leak, or with ``strict`` a hazard too.

    ``max_tries`` also bounds the number of schedules (to compare strategies on equal counts).

    Returns:
        (the first failing result or None, schedules tried, seconds spent).
    """
    from harness.runner._run import run
    from harness.scenarios import build

    began = clock()
    tried = 0
    for seed in _seeds(start_seed):
        for name in scenarios:
            if (tried and clock() - began >= budget) or (
                max_tries is not None and tried >= max_tries
            ):
                return None, tried, clock() - began
            result = run(target, build(name, seed, users), strategy=strategy, fault=fault)
            tried += 1
            if on_try is not None:
                on_try(result, tried, clock() - began)
            if failing(result.findings, strict=strict):
                return result, tried, clock() - began
    raise AssertionError("unreachable: seeds are endless")  # pragma: no cover


def _seeds(start: int) -> Iterator[int]:
    seed = start
    while True:
        yield seed
        seed += 1


def shrink_scenario(
    scenario: Scenario,
    fails: Callable[[Scenario], bool],
    *,
    on_step: Callable[[Scenario], None] | None = None,
    reseed: int = 0,
) -> Scenario:
    """Greedily remove users, sessions, turns and plan steps while ``fails`` stays true.

    A smaller scenario schedules differently: the interleaving that broke the original may
    need another seed in the smaller one. With ``reseed`` > 0, a candidate that passes with its
    seed is tried with up to ``reseed`` more seeds, and kept (with the failing seed) if one of
    them fails: the result is a (scenario, seed) pair that fails, which is what replays.
    """
    current = scenario

    def attempt(candidate: Scenario) -> bool:
        nonlocal current
        if candidate == current or not candidate.sessions:
            return False
        for offset in range(reseed + 1):
            variant = replace(candidate, seed=candidate.seed + offset) if offset else candidate
            if fails(variant):
                current = variant
                if on_step is not None:
                    on_step(variant)
                return True
        return False

    changed = True
    while changed:
        changed = False
        # Users, in halves then one by one.
        chunk = max(1, len(current.users) // 2)
        while chunk >= 1:
            start = 0
            while start < len(current.users):
                drop = {u.user_id for u in current.users[start : start + chunk]}
                if len(drop) < len(current.users) and attempt(_without_users(current, drop)):
                    changed = True
                else:
                    start += chunk
            chunk //= 2
        for index in range(len(current.sessions) - 1, -1, -1):
            if index < len(current.sessions):
                sessions = current.sessions[:index] + current.sessions[index + 1 :]
                changed |= attempt(replace(current, sessions=sessions))
        for index in range(len(current.sessions)):
            for turn_index in range(len(current.sessions[index].turns) - 1, -1, -1):
                plan = current.sessions[index]
                turns = plan.turns[:turn_index] + plan.turns[turn_index + 1 :]
                if turns and attempt(_with_session(current, index, replace(plan, turns=turns))):
                    changed = True
            for turn_index in range(len(current.sessions[index].turns)):
                for step_index in range(
                    len(current.sessions[index].turns[turn_index].plan) - 1, -1, -1
                ):
                    plan = current.sessions[index]
                    turn = plan.turns[turn_index]
                    steps = turn.plan[:step_index] + turn.plan[step_index + 1 :]
                    edited = list(plan.turns)
                    edited[turn_index] = replace(turn, plan=steps)
                    if attempt(_with_session(current, index, replace(plan, turns=tuple(edited)))):
                        changed = True
    return current


def _without_users(scenario: Scenario, drop: set[str]) -> Scenario:
    return replace(
        scenario,
        users=tuple(u for u in scenario.users if u.user_id not in drop),
        sessions=tuple(s for s in scenario.sessions if s.user_id not in drop),
        heavy_users=tuple(u for u in scenario.heavy_users if u not in drop),
    )


def _with_session(scenario: Scenario, index: int, plan: SessionPlan) -> Scenario:
    sessions = list(scenario.sessions)
    sessions[index] = plan
    return replace(scenario, sessions=tuple(sessions))
