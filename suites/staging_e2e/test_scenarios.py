"""The isolation scenarios over real WebSockets, 20 users each, against the staging server."""

from __future__ import annotations

import pytest

from harness.pytest_plugin import RunScenario
from harness.testing import assert_isolated

#: Every check below is relative to this number (every user, half of them), none needs more.
#: At 20 users, as at 50, turns of many users are in flight on the server at once: a scenario's
#: users arrive within about 0.15 s and its turns plan up to 0.2-0.6 s of work each. The run's
#: length is mostly the scenarios' planned work and listening tabs; more users add the
#: connection ramp (remote sessions open at 200 a second: 924 sessions over the 11 scenarios
#: at 50 users, 4.6 s of ramp).
USERS = 20
SCENARIOS = (
    "golden_path",
    "burst",
    "multi_tab",
    "tool_failure",
    "limit_pressure",
    "reconnect",
    "cancel",
    "tab_burst",
    "intrusion",
    "retry",
    "resume",
)


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_is_isolated_over_websockets(run_scenario: RunScenario, name: str) -> None:
    result = run_scenario(name, users=USERS)
    assert len(result.trace.users) == USERS
    statuses = result.stats["statuses"]
    assert sum(statuses.values()) > 0, f"{name}: no turn ran over {result.target}"
    assert_isolated(result)
    if name == "intrusion":  # every turn sent on another user's thread was refused
        assert statuses.get("rejected", 0) == USERS // 2, dict(statuses)
    # Every user's events arrived on a connection of that user only: the runs went through.
    received = {s.user_id for s in result.trace.sessions if s.events}
    assert len(received) == USERS, (
        f"{name}: only {len(received)} of {USERS} users received any event; "
        f"statuses={dict(statuses)}"
    )
