"""The correct reference backend is clean on every named scenario, seed and strategy."""

from __future__ import annotations

import pytest

from harness.runner import run
from harness.scenarios import build, scenario_names


@pytest.mark.parametrize("name", scenario_names())
@pytest.mark.parametrize("strategy", ["fifo", "random", "pct"])
def test_every_scenario_is_clean(name: str, strategy: str) -> None:
    for seed in range(3):
        result = run("reference", build(name, seed, 12), strategy=strategy)
        assert result.findings == (), (name, seed, strategy, result.findings[:3])
        assert result.stats["turns"] > 0


def test_one_hundred_users_at_once_each_see_only_their_own_events() -> None:
    result = run("reference", build("burst", 0, 100), strategy="random")
    assert result.findings == ()
    owners = {turn.turn.run_id: turn.user_id for turn in result.trace.turns}
    for session in result.trace.sessions:
        assert session.events, session.session_id
        for event in session.events:
            assert event.user_id == session.user_id
            assert owners[event.run_id or ""] == session.user_id
