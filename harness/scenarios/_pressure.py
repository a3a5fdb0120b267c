"""Scenarios that press the edges: failing tools, per-user limits and one heavy neighbour."""

from __future__ import annotations

import random
from collections.abc import Sequence

from harness.model import CallTool, Fail, Scenario, SessionPlan, SimUser, Step, Turn
from harness.scenarios._building import ScenarioBuilder, arrival_spread, require_users

__all__ = ["limit_pressure", "noisy_neighbor", "tool_failure"]

#: Turns each user bursts in ``limit_pressure``: more than a per-user engine limit of 2.
LIMIT_PRESSURE_TURNS = 4
#: Tabs of the heavy user in ``noisy_neighbor``: within a per-user engine limit of 2, so its
#: load is real work rather than cheap rejections.
HEAVY_TABS = 2


def tool_failure(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """A tool fails mid-plan in every turn, and some turns end with ``Fail``.

    Presses error paths: a failed tool must still emit ``tool_completed`` with its error, the
    turn must still end with exactly one terminal event, and error text (which carries a canary)
    must reach only its owner. The first user's last turn always ends with ``Fail``.
    """
    people = require_users("tool_failure", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for index, user in enumerate(people):
        count = rng.randint(1, 2)
        turns: list[Turn] = []
        for number in range(count):
            plan: list[Step] = [
                builder.think(user),
                builder.echo(user),
                CallTool("fail", {"reason": f"upstream unavailable ({builder.canary(user)})"}),
                builder.pause(0.01, 0.2),
                builder.echo(user),
            ]
            last = number == count - 1
            if (index == 0 and last) or rng.random() < 0.4:
                plan.append(Fail(f"could not finish the request ({builder.canary(user)})"))
            turns.append(builder.turn(user, plan))
        sessions.append(
            builder.session(
                user, turns, opens_at=builder.arrival(spread), gap=builder.seconds(0.01, 0.1)
            )
        )
    return Scenario(
        name="tool_failure",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description="a failing tool mid-plan in every turn; some turns end with Fail",
    )


def limit_pressure(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Each user bursts 4 overlapping turns from one tab: more than a per-user limit of 2.

    A correct target rejects the turns past its limit (status ``rejected``) for that user only,
    and never refuses another user because of this one. Presses limits that are not enforced,
    counted globally instead of per user, or leaked by rejected turns.
    """
    people = require_users("limit_pressure", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        turns = []
        for _ in range(LIMIT_PRESSURE_TURNS):
            plan = (
                builder.think(user),
                builder.echo(user),
                builder.pause(0.1, 0.3),
                builder.echo(user),
            )
            turns.append(builder.turn(user, plan))
        sessions.append(builder.session(user, turns, opens_at=builder.arrival(spread), burst=True))
    return Scenario(
        name="limit_pressure",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description=f"each user: one tab bursting {LIMIT_PRESSURE_TURNS} turns at once",
    )


def noisy_neighbor(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """One heavy user with many slow turns on two tabs among light users with one turn each.

    The heavy user is listed in ``heavy_users``; light users' turns must finish within the
    scenario's ``starvation_factor`` times their planned duration. Presses shared queues,
    global locks and limits that let one user starve the rest.
    """
    people = require_users("noisy_neighbor", users)
    builder = ScenarioBuilder(rng)
    heavy = people[rng.randrange(len(people))]
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        if user is heavy:
            for _ in range(HEAVY_TABS):
                turns = []
                for _ in range(rng.randint(8, 12)):
                    plan = (
                        builder.think(user),
                        builder.echo(user),
                        builder.search(user, delay=builder.seconds(0.05, 0.15)),
                        builder.shared_search(),
                        builder.pause(0.01, 0.05),
                        builder.echo(user),
                    )
                    turns.append(builder.turn(user, plan))
                sessions.append(builder.session(user, turns, opens_at=0.0, gap=0.01))
        else:
            turn = builder.turn(user, builder.standard_plan(user))
            sessions.append(builder.session(user, [turn], opens_at=builder.arrival(spread)))
    return Scenario(
        name="noisy_neighbor",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description="one heavy user on two tabs with 8-12 slow turns each, light users with one",
        heavy_users=(heavy.user_id,),
    )
