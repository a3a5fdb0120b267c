"""Scenarios real clients produce: a turn sent again with the same run id, a run resumed.

A client that got no answer sends the same request again, with the same run id: after a
refusal, after it gave up waiting, after its connection dropped, or twice in one instant (a
double click, a retry timer that fired early). A second tab of the user may resume a run the
first tab started. These turns carry ``Turn.retry``; a target may refuse them (``rejected``) or
run them again, but never let one attempt's engine, limit slot or events stand in for another's.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence

from harness.model import Scenario, SessionPlan, SimUser, Step, Turn
from harness.scenarios._building import (
    ScenarioBuilder,
    arrival_spread,
    plan_duration,
    require_users,
)

__all__ = ["resume", "retry"]

#: Loop seconds between a user's first tab and the tabs that come back after its work ended.
_LATER = 0.4
# Extra loop seconds a listening tab stays open past the work it listens to.
_MARGIN = 1.0


def _again(turn: Turn, plan: Sequence[Step] | None = None) -> Turn:
    """``turn`` sent again: the same run id, thread and message, marked as a retry."""
    return dataclasses.replace(
        turn, retry=True, plan=tuple(plan) if plan is not None else turn.plan
    )


def _long_plan(builder: ScenarioBuilder, user: SimUser) -> tuple[Step, ...]:
    """think, echo, a pause long enough to be overlapped, echo (a swapped context shows)."""
    return (
        builder.think(user),
        builder.echo(user),
        builder.pause(0.2, 0.3),
        builder.echo(user),
    )


def _quick_plan(builder: ScenarioBuilder, user: SimUser) -> tuple[Step, ...]:
    return (builder.think(user), builder.echo(user), builder.pause(0.01, 0.02), builder.echo(user))


def retry(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Each user sends turns again with the same run id, right after each way a client gives up.

    Four tabs per user:

    - a burst that sends one run twice in the same instant, plus one more run: a target that
      keys engines by run id (or by user and clock tick) lets the second attempt overwrite
      the first, so the user holds more engines than the limit allows (``limit-breach``);
    - a tab that opens while that burst holds the limit: its turn is refused and retried at
      once, in the same virtual instant (a refusal must not leave a slot or an engine behind);
    - later, a tab that gives up on a slow turn (``cancel_after``) and retries it at once with
      a quick plan (the first attempt's cleanup races the retry);
    - later, a tab that drops mid-turn (``close_after``) and whose new tab retries the run
      (``reopen_turns``).

    A correct target refuses an attempt while another attempt of the run is in flight, or runs
    it again once that ended; either way every attempt's events reach the owner's tabs only.
    """
    people = require_users("retry", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        opens_at = builder.arrival(spread)
        first = builder.turn(user, _long_plan(builder, user))
        other = builder.turn(user, _long_plan(builder, user))
        sessions.append(
            builder.session(user, (first, _again(first), other), opens_at=opens_at, burst=True)
        )
        refused = builder.turn(user, _quick_plan(builder, user))
        sessions.append(
            builder.session(user, (refused, _again(refused)), opens_at=round(opens_at + 0.01, 3))
        )
        later = round(opens_at + _LATER, 3)
        cancel_after = builder.seconds(0.05, 0.15)
        slow = (
            builder.think(user),
            builder.echo(user),
            builder.search(user, delay=round(cancel_after + builder.seconds(0.2, 0.4), 3)),
            builder.pause(0.01, 0.05),
            builder.echo(user),
        )
        abandoned = builder.turn(user, slow)
        sessions.append(
            builder.session(
                user,
                (abandoned, _again(abandoned, _quick_plan(builder, user))),
                opens_at=later,
                cancel_after=cancel_after,
            )
        )
        dropped = builder.turn(user, _long_plan(builder, user))
        sessions.append(
            builder.session(
                user,
                (dropped,),
                opens_at=later,
                close_after=builder.seconds(0.02, 0.5 * plan_duration(dropped.plan)),
                reopen_turns=(_again(dropped, _quick_plan(builder, user)),),
            )
        )
    return Scenario(
        name="retry",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description=(
            "each user: a run sent twice in one instant, retries right after a refusal, a "
            "client timeout and a disconnect, all with the same run id"
        ),
    )


def resume(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """A second tab of each user resumes a run the first tab started, while it runs and after.

    The first tab sends a slow turn and stays open; 0.05 s later a second tab sends, in one
    burst, the same run id (a resume, ``retry=True``) and a fresh run; once the first run has
    ended a third tab resumes it again. A correct target refuses the resume while the run is in
    flight (or joins it without a second engine) and keeps the per-user limit; a target whose
    engines or run->thread maps are keyed by run id with the last writer winning lets the
    resume overwrite the running engine (``limit-breach``) or send its events astray
    (``event-misrouted``, ``event-missing``).
    """
    people = require_users("resume", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        opens_at = builder.arrival(spread)
        started = builder.turn(user, _long_plan(builder, user))
        fresh = builder.turn(user, _long_plan(builder, user), thread_id=started.thread_id)
        busy = plan_duration(started.plan) + plan_duration(fresh.plan)
        sessions.append(
            builder.session(
                user, (started,), opens_at=opens_at, keep_open=round(2 * busy + _MARGIN, 3)
            )
        )
        sessions.append(
            builder.session(
                user,
                (_again(started), fresh),
                opens_at=round(opens_at + 0.05, 3),
                burst=True,
            )
        )
        sessions.append(
            builder.session(
                user,
                (_again(started, _quick_plan(builder, user)),),
                opens_at=round(opens_at + _LATER + 0.2, 3),
            )
        )
    return Scenario(
        name="resume",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description=(
            "each user: a second tab resumes a run the first tab started, while it runs and "
            "after it ended"
        ),
    )
