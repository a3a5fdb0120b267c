"""Scenarios of ordinary traffic: the golden path, a burst of arrivals and a long soak."""

from __future__ import annotations

import random
from collections.abc import Sequence

from harness.model import Scenario, SessionPlan, SimUser
from harness.scenarios._building import ScenarioBuilder, arrival_spread, require_users

__all__ = ["burst", "golden_path", "soak"]


def golden_path(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Each user opens one tab and asks one or two questions, arrivals staggered.

    Plans: think, echo, search, a shared search or calculation, pause, echo. The baseline: a
    correct target passes it with no finding, and any leak of plain concurrent traffic shows.
    """
    people = require_users("golden_path", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        turns = [builder.turn(user, builder.standard_plan(user)) for _ in range(rng.randint(1, 2))]
        sessions.append(
            builder.session(
                user, turns, opens_at=builder.arrival(spread), gap=builder.seconds(0.01, 0.1)
            )
        )
    return Scenario(
        name="golden_path",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description="each user: one tab, 1-2 turns (think, echo, search, pause, echo)",
    )


def burst(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Every user arrives at once (``opens_at`` 0) and sends one turn with pauses in it.

    Presses registration races and lookups keyed by something other than the user: every engine
    is created in the same instant and every turn is mid-pause at the same time.
    """
    people = require_users("burst", users)
    builder = ScenarioBuilder(rng)
    sessions: list[SessionPlan] = []
    for user in people:
        plan = (
            builder.think(user),
            builder.echo(user, delay=builder.seconds(0.01, 0.1)),
            builder.pause(0.05, 0.3),
            builder.shared_search(),
            builder.search(user),
            builder.pause(0.01, 0.2),
            builder.echo(user),
        )
        sessions.append(builder.session(user, [builder.turn(user, plan)], opens_at=0.0))
    return Scenario(
        name="burst",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description="all users at once, one turn each with pauses",
    )


def soak(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Each user sends 10-12 short turns one after another with small gaps.

    Presses state that accumulates across turns: run histories that grow, engines not released,
    caches that keep a previous turn's data, leaks that only show after many turns.
    """
    people = require_users("soak", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        turns = []
        for _ in range(rng.randint(10, 12)):
            middle = builder.search(user) if rng.random() < 0.5 else builder.shared_calculation()
            plan = (
                builder.think(user),
                builder.echo(user),
                middle,
                builder.pause(0.01, 0.05),
                builder.echo(user),
            )
            turns.append(builder.turn(user, plan))
        sessions.append(
            builder.session(
                user, turns, opens_at=builder.arrival(spread), gap=builder.seconds(0.01, 0.05)
            )
        )
    return Scenario(
        name="soak",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description="10-12 turns per user, one after another with small gaps",
    )
