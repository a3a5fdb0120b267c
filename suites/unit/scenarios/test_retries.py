"""Shapes of the ``retry`` and ``resume`` scenarios, for several seeds and user counts."""

from __future__ import annotations

import pytest

from harness.model import Scenario, SessionPlan, Turn
from harness.scenarios import build, plan_duration, validate

SEEDS = (0, 1, 7, 42)
USER_COUNTS = (1, 2, 5)


def turns_of(session: SessionPlan) -> tuple[Turn, ...]:
    return (*session.turns, *session.reopen_turns)


def tabs_by_user(scenario: Scenario) -> dict[str, list[SessionPlan]]:
    tabs: dict[str, list[SessionPlan]] = {}
    for session in scenario.sessions:
        tabs.setdefault(session.user_id, []).append(session)
    return tabs


@pytest.mark.parametrize("name", ["retry", "resume"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("users", USER_COUNTS)
def test_valid_deterministic_and_every_retry_repeats_an_earlier_run(
    name: str, seed: int, users: int
) -> None:
    scenario = build(name, seed, users)
    validate(scenario)
    assert scenario == build(name, seed, users)
    assert len(scenario.users) == users
    for user in scenario.users:
        sent: dict[str, str] = {}
        retries = 0
        for session in tabs_by_user(scenario)[user.user_id]:
            for turn in turns_of(session):
                assert any(canary in turn.message for canary in user.canaries)
                if turn.retry:
                    retries += 1
                    assert sent[turn.run_id] == turn.thread_id
                else:
                    assert turn.run_id not in sent
                    sent[turn.run_id] = turn.thread_id
        assert retries == (4 if name == "retry" else 2)


@pytest.mark.parametrize("seed", SEEDS)
def test_retry_covers_each_way_a_client_gives_up(seed: int) -> None:
    scenario = build("retry", seed, 3)
    for tabs in tabs_by_user(scenario).values():
        twice, refused, timed_out, dropped = tabs
        # One instant: the run and its retry in one burst, with one more run past the limit.
        assert twice.burst and len(twice.turns) == 3
        assert twice.turns[1].retry and twice.turns[1].run_id == twice.turns[0].run_id
        # Right after a refusal: opened while the burst holds the limit, retried with no gap.
        assert refused.opens_at < twice.opens_at + plan_duration(twice.turns[0].plan)
        assert refused.gap == 0 and refused.turns[1].retry
        assert refused.turns[1].run_id == refused.turns[0].run_id
        # After a client timeout: the first attempt outlives cancel_after, the retry does not.
        assert timed_out.cancel_after is not None
        slow, quick = timed_out.turns
        assert plan_duration(slow.plan) > timed_out.cancel_after > plan_duration(quick.plan)
        assert quick.retry and quick.run_id == slow.run_id and timed_out.gap == 0
        # After a disconnect: the tab drops inside the turn and the new tab retries the run.
        assert dropped.close_after is not None
        assert dropped.close_after < plan_duration(dropped.turns[0].plan)
        (again,) = dropped.reopen_turns
        assert again.retry and again.run_id == dropped.turns[0].run_id


@pytest.mark.parametrize("seed", SEEDS)
def test_resume_comes_from_another_tab_while_the_run_runs_and_after(seed: int) -> None:
    scenario = build("resume", seed, 3)
    for tabs in tabs_by_user(scenario).values():
        first, second, third = tabs
        (started,) = first.turns
        running_until = first.opens_at + plan_duration(started.plan)
        assert second.burst and first.opens_at < second.opens_at < running_until
        resumed, fresh = second.turns
        assert resumed.retry and resumed.run_id == started.run_id
        assert not fresh.retry and fresh.run_id != started.run_id
        (late,) = third.turns
        assert late.retry and late.run_id == started.run_id
        assert third.opens_at > running_until
        # The first tab listens past the resumes: every tab of the owner must get the events.
        assert first.keep_open > third.opens_at - first.opens_at
