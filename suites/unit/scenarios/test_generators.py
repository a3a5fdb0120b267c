from __future__ import annotations

from collections import Counter

import pytest

from harness.model import CallTool, Fail, Pause, Scenario, SessionPlan, Turn
from harness.scenarios import SCENARIOS, build, plan_duration, validate
from harness.scenarios._building import COMMON_QUERIES, COMMON_QUESTIONS
from harness.users import RUN_ID_PATTERN

NAMES = tuple(SCENARIOS)


def all_turns(scenario: Scenario) -> list[tuple[SessionPlan, Turn]]:
    return [
        (session, turn)
        for session in scenario.sessions
        for turn in (*session.turns, *session.reopen_turns)
    ]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [0, 1, 97])
@pytest.mark.parametrize("users", [1, 2, 7])
def test_every_generator_passes_validate(name: str, seed: int, users: int) -> None:
    scenario = build(name, seed, users)
    validate(scenario)
    assert {s.user_id for s in scenario.sessions} == {u.user_id for u in scenario.users}


@pytest.mark.parametrize("name", NAMES)
def test_ids_have_their_shapes_and_order(name: str) -> None:
    scenario = build(name, 3, 6)
    ids = [session.session_id for session in scenario.sessions]
    assert ids == [f"s{index:04d}" for index in range(len(ids))]
    # A retry repeats an earlier run id on purpose (validate checks whose and where).
    runs = [turn.run_id for _, turn in all_turns(scenario) if not turn.retry]
    assert runs and len(set(runs)) == len(runs)
    assert all(RUN_ID_PATTERN.fullmatch(run) for run in runs)


@pytest.mark.parametrize("name", NAMES)
def test_messages_and_tool_params_carry_the_owners_canaries(name: str) -> None:
    scenario = build(name, 4, 5)
    owners = {user.user_id: user for user in scenario.users}
    for session, turn in all_turns(scenario):
        own = owners[session.user_id].canaries
        assert any(c in turn.message for c in own), turn.message
        others = {c for u in scenario.users if u.user_id != session.user_id for c in u.canaries}
        texts = [turn.message] + [repr(step) for step in turn.plan]
        assert not any(c in text for c in others for text in texts)
        calls = [step for step in turn.plan if isinstance(step, CallTool)]
        assert any(any(c in repr(call.params) for c in own) for call in calls), turn


@pytest.mark.parametrize("name", NAMES)
def test_every_tool_turn_echoes_after_a_pause(name: str) -> None:
    scenario = build(name, 5, 4)
    for _, turn in all_turns(scenario):
        kinds = [type(step).__name__ for step in turn.plan]
        assert "CallTool" in kinds
        first_pause = kinds.index("Pause")
        assert any(
            isinstance(step, CallTool) and step.name == "echo"
            for step in turn.plan[first_pause + 1 :]
        ), turn.plan


@pytest.mark.parametrize("name", NAMES)
def test_durations_are_small_and_virtual(name: str) -> None:
    scenario = build(name, 6, 4)
    for _, turn in all_turns(scenario):
        for step in turn.plan:
            if isinstance(step, Pause):
                assert 0.01 <= step.seconds <= 0.5
            if isinstance(step, CallTool) and "delay" in step.params:
                assert 0 < step.params["delay"] <= 0.6


def test_users_share_realistic_inputs() -> None:
    scenario = build("golden_path", 2, 40)
    questions = Counter(
        next(q for q in COMMON_QUESTIONS if turn.message.startswith(q))
        for _, turn in all_turns(scenario)
    )
    assert max(questions.values()) >= 2
    shared = [
        step
        for _, turn in all_turns(scenario)
        for step in turn.plan
        if isinstance(step, CallTool) and step.params.get("query") in COMMON_QUERIES
    ]
    assert len({repr(step.params) for step in shared}) < len(shared)


def test_golden_path_one_tab_one_or_two_turns_staggered() -> None:
    scenario = build("golden_path", 1, 30)
    per_user = Counter(session.user_id for session in scenario.sessions)
    assert set(per_user.values()) == {1}
    assert {len(session.turns) for session in scenario.sessions} <= {1, 2}
    assert len({session.opens_at for session in scenario.sessions}) > 1


def test_burst_everyone_at_zero_with_pauses() -> None:
    scenario = build("burst", 1, 20)
    assert all(session.opens_at == 0.0 for session in scenario.sessions)
    assert all(len(session.turns) == 1 for session in scenario.sessions)
    for _, turn in all_turns(scenario):
        assert sum(isinstance(step, Pause) for step in turn.plan) >= 2


def test_multi_tab_listeners_outlive_the_sender() -> None:
    scenario = build("multi_tab", 2, 10)
    by_user: dict[str, list[SessionPlan]] = {}
    for session in scenario.sessions:
        by_user.setdefault(session.user_id, []).append(session)
    for tabs in by_user.values():
        assert 2 <= len(tabs) <= 3
        senders = [tab for tab in tabs if tab.turns]
        listeners = [tab for tab in tabs if not tab.turns]
        assert len(senders) == 1
        sender = senders[0]
        busy = sum(plan_duration(t.plan) for t in sender.turns) + sender.gap * len(sender.turns)
        for tab in listeners:
            assert tab.opens_at <= sender.opens_at
            assert tab.opens_at + tab.keep_open > sender.opens_at + busy


def test_reconnect_closes_inside_the_first_turn_and_reopens() -> None:
    scenario = build("reconnect", 3, 10)
    for session in scenario.sessions:
        assert session.close_after is not None
        assert 0 < session.close_after < plan_duration(session.turns[0].plan)
        assert len(session.reopen_turns) == 1
        assert session.reopen_turns[0].thread_id == session.turns[0].thread_id


def test_cancel_abandons_mid_tool_then_completes() -> None:
    scenario = build("cancel", 3, 10)
    for session in scenario.sessions:
        assert session.cancel_after is not None
        doomed, quick = session.turns
        delays = [
            s.params["delay"]
            for s in doomed.plan
            if isinstance(s, CallTool) and "delay" in s.params
        ]
        assert max(delays) > session.cancel_after
        assert plan_duration(quick.plan) < session.cancel_after


def test_tool_failure_has_failing_tools_and_some_fail_endings() -> None:
    scenario = build("tool_failure", 4, 12)
    turns = [turn for _, turn in all_turns(scenario)]
    assert all(any(isinstance(s, CallTool) and s.name == "fail" for s in t.plan) for t in turns)
    endings = [isinstance(t.plan[-1], Fail) for t in turns]
    assert any(endings) and not all(endings)
    one_user = build("tool_failure", 4, 1)
    assert isinstance(one_user.sessions[0].turns[-1].plan[-1], Fail)


def test_limit_pressure_bursts_more_than_two_turns() -> None:
    scenario = build("limit_pressure", 5, 8)
    assert len(scenario.sessions) == 8
    for session in scenario.sessions:
        assert session.burst
        assert len(session.turns) > 2


def test_noisy_neighbor_has_one_heavy_user() -> None:
    scenario = build("noisy_neighbor", 6, 9)
    assert len(scenario.heavy_users) == 1
    (heavy,) = scenario.heavy_users
    heavy_sessions = [s for s in scenario.sessions if s.user_id == heavy]
    light_sessions = [s for s in scenario.sessions if s.user_id != heavy]
    assert len(heavy_sessions) >= 2
    assert sum(len(s.turns) for s in heavy_sessions) >= 16
    assert len(light_sessions) == 8
    assert all(len(s.turns) == 1 for s in light_sessions)


def test_soak_has_ten_or_more_turns_in_sequence() -> None:
    scenario = build("soak", 7, 5)
    for session in scenario.sessions:
        assert len(session.turns) >= 10
        assert not session.burst
        assert 0 < session.gap <= 0.05


@pytest.mark.parametrize("name", NAMES)
def test_scales_linearly(name: str) -> None:
    small = build(name, 9, 100)
    large = build(name, 9, 1_000)
    ratio = len(all_turns(large)) / len(all_turns(small))
    assert 7 <= ratio <= 13
    validate(large)
