"""A scenario where users name each other's threads: ownership must be checked, not assumed."""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

from harness.model import Scenario, SessionPlan, SimUser
from harness.scenarios._building import ScenarioBuilder, arrival_spread, require_users

__all__ = ["intrusion"]

#: How long after its victim an intruder opens: the victim's turn has started, and is still
#: running (its pause is longer), when the intrusion arrives.
INTRUDER_DELAY = 0.05


def intrusion(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Users in pairs: a victim runs a slow turn, and while it runs the intruder sends a turn on
    the victim's thread, then one on its own.

    A correct target refuses the intrusion (``rejected``), runs nothing for it, tells the
    intruder nothing about the thread, and keeps delivering the victim's events to the victim
    only. Presses ownership that is never checked: a thread or run looked up by its id alone,
    events replayed to whoever names a thread, a resume that hands over another user's
    conversation (``foreign-data``, ``event-misrouted``). With an odd count the last user just
    runs a turn of its own.
    """
    people = require_users("intrusion", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for index in range(0, len(people), 2):
        victim = people[index]
        opens_at = builder.arrival(spread)
        plan = (
            builder.think(victim),
            builder.echo(victim),
            builder.pause(0.3, 0.5),
            builder.echo(victim),
        )
        # On the thread the intruder will name: the victim uses it first, so it is the victim's.
        own_thread = builder.turn(victim, plan, thread_id=victim.thread_ids[0])
        sessions.append(builder.session(victim, [own_thread], opens_at=opens_at))
        if index + 1 == len(people):
            break
        intruder = people[index + 1]
        probe = builder.turn(
            intruder, (builder.think(intruder), builder.pause(0.01, 0.05), builder.echo(intruder))
        )
        probe = dataclasses.replace(probe, thread_id=victim.thread_ids[0], victim=victim.user_id)
        own = builder.turn(
            intruder, (builder.think(intruder), builder.pause(0.01, 0.2), builder.echo(intruder))
        )
        sessions.append(
            builder.session(
                intruder,
                [probe, own],
                opens_at=round(opens_at + INTRUDER_DELAY, 3),
                gap=0.01,
            )
        )
    return Scenario(
        name="intrusion",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description="users in pairs: one sends a turn on the other's thread while its turn runs",
    )
