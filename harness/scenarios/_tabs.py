"""Scenarios about connections: several tabs per user, a tab that reconnects, a turn cancelled."""

from __future__ import annotations

import random
from collections.abc import Sequence

from harness.model import Scenario, SessionPlan, SimUser, Turn
from harness.scenarios._building import (
    ScenarioBuilder,
    arrival_spread,
    plan_duration,
    require_users,
)

__all__ = ["cancel", "multi_tab", "reconnect", "tab_burst"]

#: Tabs each user bursts from at once in ``tab_burst``, and turns per tab: each tab alone stays
#: within a per-user limit of 2 plus one, the user's total does not.
TAB_BURST_TABS = 2
TAB_BURST_TURNS = 3

# Extra loop seconds an idle tab stays open past the sending tab's planned work, so it sees
# every event even when the scheduler delays the turn.
_KEEP_OPEN_MARGIN = 1.0
# The sending tab opens this long after the idle tabs, so they are connected before any event.
_SENDER_OFFSET = 0.005


def _listening_time(turns: Sequence[Turn], gap: float = 0.0) -> float:
    """How long a tab stays open to see every event of ``turns``: twice their planned work
    (a scheduler may delay them) plus a margin."""
    busy = sum(plan_duration(turn.plan) for turn in turns) + gap * len(turns)
    return round(2 * busy + _KEEP_OPEN_MARGIN, 3)


def multi_tab(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Each user opens 2-3 tabs together; one sends the turns, the others stay open and listen.

    Every tab of the owner must receive every event of the owner's runs, and no other user's.
    Presses routing keyed by the last connection (``last-writer-routing``), fan-out to the wrong
    user and connection registries that mix users up.
    """
    people = require_users("multi_tab", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        opens_at = builder.arrival(spread)
        tabs = rng.randint(2, 3)
        turns = [builder.turn(user, builder.standard_plan(user)) for _ in range(rng.randint(1, 2))]
        gap = builder.seconds(0.01, 0.05)
        keep_open = _listening_time(turns, gap)
        for _ in range(tabs - 1):
            sessions.append(builder.session(user, (), opens_at=opens_at, keep_open=keep_open))
        sessions.append(
            builder.session(user, turns, opens_at=round(opens_at + _SENDER_OFFSET, 3), gap=gap)
        )
    return Scenario(
        name="multi_tab",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description="each user: 2-3 tabs open together, one sends, the others listen",
    )


def reconnect(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Each user's tab closes mid-turn (``close_after``) and reopens to send one more turn.

    Presses cleanup on disconnect: a closed connection that stays registered, events of the
    abandoned run delivered to the new tab or to someone else, engines never released.
    """
    people = require_users("reconnect", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        thread_id = builder.thread(user)
        long_plan = (
            builder.think(user),
            builder.echo(user),
            builder.search(user, delay=builder.seconds(0.2, 0.4)),
            builder.pause(0.1, 0.3),
            builder.echo(user),
        )
        first = builder.turn(user, long_plan, thread_id=thread_id)
        # Strictly inside the first turn, which starts as the tab opens.
        close_after = builder.seconds(0.02, 0.5 * plan_duration(long_plan))
        again = builder.turn(user, builder.standard_plan(user), thread_id=thread_id)
        sessions.append(
            builder.session(
                user,
                [first],
                opens_at=builder.arrival(spread),
                close_after=close_after,
                reopen_turns=(again,),
            )
        )
    return Scenario(
        name="reconnect",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description="each user: a tab closes mid-turn and reopens for one more turn",
    )


def cancel(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Each user abandons a turn mid-tool (``cancel_after`` < the tool delay), then asks again.

    The first turn is cancelled while its ``search`` sleeps; the second is short enough to
    finish. Presses cleanup of cancelled runs: registry entries, engines and contexts that
    linger, or a later turn that runs under the cancelled turn's context.
    """
    people = require_users("cancel", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        cancel_after = builder.seconds(0.05, 0.15)
        doomed = (
            builder.think(user),
            builder.echo(user),
            builder.search(user, delay=round(cancel_after + builder.seconds(0.2, 0.4), 3)),
            builder.pause(0.01, 0.1),
            builder.echo(user),
        )
        quick = (
            builder.think(user),
            builder.echo(user),
            builder.pause(0.01, 0.02),
            builder.echo(user),
        )
        turns: list[Turn] = [builder.turn(user, doomed), builder.turn(user, quick)]
        sessions.append(
            builder.session(
                user,
                turns,
                opens_at=builder.arrival(spread),
                gap=builder.seconds(0.01, 0.05),
                cancel_after=cancel_after,
            )
        )
    return Scenario(
        name="cancel",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description="each user: a turn cancelled mid-tool, then a short turn that completes",
    )


def tab_burst(rng: random.Random, users: Sequence[SimUser]) -> Scenario:
    """Each user opens two tabs at the same instant and bursts 3 turns on each: 6 at once.

    A per-user limit must hold across the user's connections: a target that counts engines per
    connection (or per socket, per tab id) lets this user run twice its limit, which one tab
    alone never shows. Presses limits keyed by the connection instead of the user
    (``limit-breach``), and registration races between two tabs of one user.
    """
    people = require_users("tab_burst", users)
    builder = ScenarioBuilder(rng)
    spread = arrival_spread(len(people))
    sessions: list[SessionPlan] = []
    for user in people:
        opens_at = builder.arrival(spread)
        for _ in range(TAB_BURST_TABS):
            turns = []
            for _ in range(TAB_BURST_TURNS):
                plan = (
                    builder.think(user),
                    builder.echo(user),
                    builder.pause(0.1, 0.3),
                    builder.echo(user),  # after the pause: a context swapped meanwhile shows
                )
                turns.append(builder.turn(user, plan))
            # Each tab must see every event of the other's runs: it stays open past them.
            keep_open = _listening_time(turns)
            sessions.append(
                builder.session(user, turns, opens_at=opens_at, burst=True, keep_open=keep_open)
            )
    return Scenario(
        name="tab_burst",
        seed=0,
        users=people,
        sessions=tuple(sessions),
        description=(
            f"each user: {TAB_BURST_TABS} tabs bursting {TAB_BURST_TURNS} turns each at once"
        ),
    )
