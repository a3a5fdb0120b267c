from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.scenarios.strategies
from harness.model import Fail, Scenario, SimUser, Step, Turn
from harness.scenarios import validate
from harness.scenarios.strategies import plans, scenarios_, sim_users, steps, turns_for
from harness.users import (
    CANARY_PATTERN,
    RUN_ID_PATTERN,
    THREAD_ID_PATTERN,
    USER_ID_PATTERN,
)


def test_all_lists_the_strategies() -> None:
    assert set(harness.scenarios.strategies.__all__) == {
        "sim_users",
        "durations",
        "steps",
        "plans",
        "run_ids",
        "turns_for",
        "session_plans_for",
        "scenarios_",
    }


# A whole scenario (users with signed tokens, sessions, turns, plans) is a large draw: on a
# shared 2-core machine under `pytest -n 2` its generation time crossed Hypothesis's too_slow
# threshold once. The test checks validity, not generation speed, and the example count is
# fixed, so the health check's timing is noise here; deadline=None for the same reason.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios_())
def test_generated_scenarios_always_validate(scenario: Scenario) -> None:
    validate(scenario)
    assert 2 <= len(scenario.users) <= 6
    assert all(
        session.user_id in {u.user_id for u in scenario.users} for session in scenario.sessions
    )


@settings(max_examples=50)
@given(scenarios_(min_users=1, max_users=1, max_sessions_per_user=1))
def test_bounds_are_respected(scenario: Scenario) -> None:
    assert len(scenario.users) == 1
    assert len(scenario.sessions) == 1


@given(sim_users(min_users=2, max_users=8))
def test_users_share_nothing(users: tuple[SimUser, ...]) -> None:
    seen: dict[str, str] = {}
    for user in users:
        assert USER_ID_PATTERN.fullmatch(user.user_id)
        assert all(THREAD_ID_PATTERN.fullmatch(t) for t in user.thread_ids)
        assert all(CANARY_PATTERN.fullmatch(c) for c in user.canaries)
        for value in (user.user_id, *user.thread_ids, *user.canaries, user.email, user.token):
            assert seen.setdefault(value, user.user_id) == user.user_id


@given(st.data())
def test_turns_belong_to_their_user(data: st.DataObject) -> None:
    (user,) = data.draw(sim_users(min_users=1, max_users=1))
    turn: Turn = data.draw(turns_for(user))
    assert RUN_ID_PATTERN.fullmatch(turn.run_id)
    assert turn.thread_id in user.thread_ids
    assert any(c in turn.message for c in user.canaries)


@given(plans())
def test_fail_only_ends_a_plan(plan: tuple[Step, ...]) -> None:
    assert not any(isinstance(step, Fail) for step in plan[:-1])


@given(steps())
def test_steps_never_fail(step: Step) -> None:
    assert not isinstance(step, Fail)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios_(retries=True))
def test_generated_scenarios_with_retries_validate(scenario: Scenario) -> None:
    validate(scenario)
    first: dict[str, Turn] = {}
    for session in scenario.sessions:
        for turn in (*session.turns, *session.reopen_turns):
            if turn.retry:
                assert first[turn.run_id].thread_id == turn.thread_id
            else:
                first.setdefault(turn.run_id, turn)


def test_retries_are_drawn_when_asked() -> None:
    drawn: list[bool] = []

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(scenarios_(retries=True))
    def collect(scenario: Scenario) -> None:
        drawn.append(any(t.retry for s in scenario.sessions for t in s.turns))

    collect()
    assert any(drawn)
