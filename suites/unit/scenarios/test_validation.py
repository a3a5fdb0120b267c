from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.model import CallTool, Fail, Pause, Scenario, SessionPlan, Think, Turn
from harness.scenarios import build, validate


@pytest.fixture
def scenario() -> Scenario:
    return build("golden_path", 7, 2)


def with_session(scenario: Scenario, index: int, **changes: Any) -> Scenario:
    sessions = list(scenario.sessions)
    sessions[index] = dataclasses.replace(sessions[index], **changes)
    return dataclasses.replace(scenario, sessions=tuple(sessions))


def with_plan(scenario: Scenario, plan: tuple[Any, ...]) -> Scenario:
    turn = dataclasses.replace(scenario.sessions[0].turns[0], plan=plan)
    return with_session(scenario, 0, turns=(turn, *scenario.sessions[0].turns[1:]))


def lines_of(error: pytest.ExceptionInfo[ScenarioError]) -> list[str]:
    return str(error.value).splitlines()


def test_valid_scenario_passes(scenario: Scenario) -> None:
    validate(scenario)
    assert scenario.sessions


def test_empty_plan_is_allowed(scenario: Scenario) -> None:
    validate(with_plan(scenario, ()))


def test_session_for_an_unknown_user(scenario: Scenario) -> None:
    broken = with_session(scenario, 1, user_id="usr_ffffffffffff")
    with pytest.raises(ScenarioError) as info:
        validate(broken)
    lines = lines_of(info)
    assert lines[0] == "scenario 'golden_path' (seed 7)"
    assert lines[1] == "session 's0001' (sessions[1])"
    assert lines[2].startswith("rule: user_id='usr_ffffffffffff' is an unknown user")


def test_turn_on_a_thread_the_user_does_not_own(scenario: Scenario) -> None:
    other = scenario.sessions[1]
    owner = next(u for u in scenario.users if u.user_id == other.user_id)
    foreign = next(u for u in scenario.users if u.user_id != other.user_id).thread_ids[0]
    turn = dataclasses.replace(other.turns[0], thread_id=foreign)
    with pytest.raises(ScenarioError) as info:
        validate(with_session(scenario, 1, turns=(turn,)))
    lines = lines_of(info)
    assert lines[0].startswith("scenario 'golden_path'")
    assert lines[1] == f"session 's0001' (sessions[1]) (user {owner.user_id!r})"
    assert lines[2] == f"turn {turn.run_id!r} (turns[0])"
    assert lines[3].startswith(f"rule: thread_id={foreign!r} is a thread the user does not own")


def test_an_intrusion_names_the_owner_of_the_thread_as_victim(scenario: Scenario) -> None:
    other = scenario.sessions[1]
    victim = next(u for u in scenario.users if u.user_id != other.user_id)
    thread = victim.thread_ids[0]
    intrusion = dataclasses.replace(other.turns[0], thread_id=thread, victim=victim.user_id)
    validate(with_session(scenario, 1, turns=(intrusion,)))
    for wrong, rule in (
        (other.user_id, "must be another user of the scenario"),
        ("usr_000000000000", "must be another user of the scenario"),
    ):
        bad = dataclasses.replace(intrusion, victim=wrong)
        with pytest.raises(ScenarioError, match=rule):
            validate(with_session(scenario, 1, turns=(bad,)))
    own_thread = dataclasses.replace(intrusion, thread_id=other.turns[0].thread_id)
    with pytest.raises(ScenarioError, match="of an intrusion must be a thread of its victim"):
        validate(with_session(scenario, 1, turns=(own_thread,)))


def test_duplicate_run_ids(scenario: Scenario) -> None:
    first_run = scenario.sessions[0].turns[0].run_id
    turn = dataclasses.replace(scenario.sessions[1].turns[0], run_id=first_run)
    with pytest.raises(ScenarioError, match=f"duplicate run id run_id={first_run!r}"):
        validate(with_session(scenario, 1, turns=(turn,)))


def test_duplicate_run_id_in_reopen_turns(scenario: Scenario) -> None:
    session = scenario.sessions[0]
    again = dataclasses.replace(session.turns[0], message="again")
    broken = with_session(scenario, 0, close_after=0.1, reopen_turns=(again,))
    with pytest.raises(ScenarioError) as info:
        validate(broken)
    assert f"turn {again.run_id!r} (reopen_turns[0])" in lines_of(info)


def test_duplicate_session_ids(scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match="duplicate session id session_id='s0000'"):
        validate(with_session(scenario, 1, session_id="s0000"))


@pytest.mark.parametrize("field", ["opens_at", "gap", "keep_open", "close_after", "cancel_after"])
def test_negative_session_times(scenario: Scenario, field: str) -> None:
    with pytest.raises(ScenarioError, match=f"rule: {field}=-0.5 must be a finite number"):
        validate(with_session(scenario, 0, **{field: -0.5}))


def test_nan_time_is_refused(scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match="rule: opens_at=nan"):
        validate(with_session(scenario, 0, opens_at=float("nan")))


def test_negative_pause(scenario: Scenario) -> None:
    with pytest.raises(ScenarioError) as info:
        validate(with_plan(scenario, (Think("x"), Pause(-1.0))))
    lines = lines_of(info)
    assert lines[3] == "step 1"
    assert lines[4].startswith("rule: Pause seconds=-1.0 must be a finite number >= 0")


def test_negative_tool_delay(scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match=r"CallTool\('search'\) delay=-0.1"):
        validate(with_plan(scenario, (CallTool("search", {"query": "q", "delay": -0.1}),)))


def test_fail_not_last(scenario: Scenario) -> None:
    plan = (Think("x"), Fail("boom"), Pause(0.1))
    with pytest.raises(ScenarioError) as info:
        validate(with_plan(scenario, plan))
    lines = lines_of(info)
    assert lines[0].startswith("scenario ")
    assert lines[1].startswith("session 's0000'")
    assert lines[2].startswith("turn 'run_")
    assert lines[3] == "step 1"
    assert lines[4].startswith("rule: a Fail step is not last: Fail(reason='boom') is step 1 of 3")
    assert "Fix: move the Fail to the end" in lines[4]


def test_fail_last_is_fine(scenario: Scenario) -> None:
    validate(with_plan(scenario, (Think("x"), Fail("boom"))))


def test_not_a_step(scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match=r"step='think' \(type str\) is not a step"):
        validate(with_plan(scenario, ("think",)))


def test_reopen_turns_need_close_after(scenario: Scenario) -> None:
    session = scenario.sessions[0]
    fresh = dataclasses.replace(session.turns[0], run_id="run_abcabcabcabc")
    with pytest.raises(ScenarioError, match="close_after=None, so the tab never closes"):
        validate(with_session(scenario, 0, reopen_turns=(fresh,)))


def test_duplicate_users(scenario: Scenario) -> None:
    broken = dataclasses.replace(scenario, users=(*scenario.users, scenario.users[0]))
    with pytest.raises(ScenarioError, match=r"users\[2\] repeats user_id="):
        validate(broken)


def test_unknown_heavy_user(scenario: Scenario) -> None:
    broken = dataclasses.replace(scenario, heavy_users=("usr_000000000000",))
    with pytest.raises(ScenarioError, match="heavy_users names user_id='usr_000000000000'"):
        validate(broken)


def test_turn_timeout_must_be_positive(scenario: Scenario) -> None:
    with pytest.raises(ScenarioError, match="turn_timeout=0 must be a finite number > 0"):
        validate(dataclasses.replace(scenario, turn_timeout=0))


def test_not_a_scenario() -> None:
    with pytest.raises(ScenarioError, match=r"scenario=\{\} \(type dict\) is not a Scenario"):
        validate({})  # type: ignore[arg-type]


def test_an_empty_scenario_is_valid() -> None:
    validate(Scenario(name="empty", seed=0, users=(), sessions=()))


def test_session_without_turns_is_valid(scenario: Scenario) -> None:
    validate(with_session(scenario, 0, turns=(), keep_open=1.0))
    assert isinstance(scenario.sessions[0], SessionPlan)
    assert isinstance(scenario.sessions[0].turns[0], Turn)
