"""Validation of retries: a repeated run id is allowed only as a marked retry of the same user
and thread, and the marker survives the JSON round trip."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from harness.errors import ScenarioError
from harness.model import Scenario, Turn
from harness.scenarios import build, validate
from harness.serialization import from_data, to_data


@pytest.fixture
def scenario() -> Scenario:
    return build("golden_path", 7, 2)


def with_turns(scenario: Scenario, index: int, *turns: Turn, **changes: Any) -> Scenario:
    sessions = list(scenario.sessions)
    sessions[index] = dataclasses.replace(sessions[index], turns=turns, **changes)
    return dataclasses.replace(scenario, sessions=tuple(sessions))


def retry_of(turn: Turn, **changes: Any) -> Turn:
    return dataclasses.replace(turn, retry=True, **changes)


def test_a_retry_on_the_same_tab_is_valid(scenario: Scenario) -> None:
    first = scenario.sessions[0].turns[0]
    validate(with_turns(scenario, 0, first, retry_of(first, message="again")))


def test_a_resume_from_another_tab_of_the_user_is_valid(scenario: Scenario) -> None:
    first = scenario.sessions[0]
    tab = dataclasses.replace(first, session_id="s9000", turns=(retry_of(first.turns[0]),))
    validate(dataclasses.replace(scenario, sessions=(*scenario.sessions, tab)))


def test_a_retry_in_reopen_turns_is_valid(scenario: Scenario) -> None:
    first = scenario.sessions[0].turns[0]
    validate(with_turns(scenario, 0, first, close_after=0.1, reopen_turns=(retry_of(first),)))


def test_a_repeated_run_id_without_the_marker_is_still_an_error(scenario: Scenario) -> None:
    first = scenario.sessions[0].turns[0]
    with pytest.raises(ScenarioError) as info:
        validate(with_turns(scenario, 0, first, dataclasses.replace(first, message="x")))
    rule = str(info.value).splitlines()[-1]
    assert rule.startswith(f"rule: duplicate run id run_id={first.run_id!r}")
    assert "set retry=True" in rule


def test_a_retry_of_a_run_never_sent_is_an_error(scenario: Scenario) -> None:
    first = scenario.sessions[0].turns[0]
    with pytest.raises(ScenarioError) as info:
        validate(with_turns(scenario, 0, retry_of(first)))
    lines = str(info.value).splitlines()
    assert lines[2] == f"turn {first.run_id!r} (turns[0])"
    assert lines[3].startswith(f"rule: retry=True but run_id={first.run_id!r} is not the run")


def test_a_retry_comes_after_the_turn_it_repeats(scenario: Scenario) -> None:
    first = scenario.sessions[0].turns[0]
    with pytest.raises(ScenarioError, match="not the run id of an earlier turn"):
        validate(with_turns(scenario, 0, retry_of(first), first))


def test_a_retry_of_another_users_run_is_an_error(scenario: Scenario) -> None:
    theirs = scenario.sessions[0].turns[0]
    mine = scenario.sessions[1]
    user = next(u for u in scenario.users if u.user_id == mine.user_id)
    steal = retry_of(theirs, thread_id=user.thread_ids[0])
    with pytest.raises(ScenarioError) as info:
        validate(with_turns(scenario, 1, steal))
    rule = str(info.value).splitlines()[-1]
    assert f"a run of user {scenario.sessions[0].user_id!r}, from user {user.user_id!r}" in rule


def test_a_retry_on_another_thread_is_an_error(scenario: Scenario) -> None:
    first = scenario.sessions[0].turns[0]
    user = next(u for u in scenario.users if u.user_id == scenario.sessions[0].user_id)
    other = next(t for t in user.thread_ids if t != first.thread_id)
    with pytest.raises(ScenarioError) as info:
        validate(with_turns(scenario, 0, first, retry_of(first, thread_id=other)))
    assert f"the run was sent on thread_id={first.thread_id!r}" in str(info.value)


def test_an_intrusion_is_never_a_retry(scenario: Scenario) -> None:
    first = scenario.sessions[0].turns[0]
    victim = scenario.sessions[1].user_id
    with pytest.raises(ScenarioError, match="an intrusion is never a retry"):
        validate(with_turns(scenario, 0, first, retry_of(first, victim=victim)))


def test_retry_must_be_a_bool(scenario: Scenario) -> None:
    first = scenario.sessions[0].turns[0]
    broken = dataclasses.replace(first, retry="yes")  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match=r"rule: retry='yes' \(type str\) must be a bool"):
        validate(with_turns(scenario, 0, first, broken))


def test_the_retry_marker_survives_the_json_round_trip(scenario: Scenario) -> None:
    first = scenario.sessions[0].turns[0]
    retried = with_turns(scenario, 0, first, retry_of(first))
    data = to_data(retried)
    assert data["sessions"][0]["turns"][1]["retry"] is True
    assert data["sessions"][0]["turns"][0]["retry"] is False
    back = from_data(Scenario, data)
    assert back == retried
    validate(back)
