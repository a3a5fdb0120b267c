"""Black-box detection: the faults a client can see are caught over real WebSockets.

These tests start their own ``harness_backend.server`` with a fault switched on (a staging
deployment
cannot be asked to misbehave), so they run the same with or without ``--staging-url``. Over the
wire there are no live objects: only events, outcomes and echo results speak.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.errors import TargetAuthError
from harness.runner import run
from harness.scenarios import build
from harness.targets.websocket import WebSocketTarget
from harness.testing import local_server

USERS = 20

#: fault -> (scenario, the kind a black box must report)
VISIBLE = {
    "null-notifier": ("golden_path", "event-missing"),
    "last-writer-routing": ("burst", "event-misrouted"),
    "shared-agent": ("burst", "context-mismatch"),
    "key-collision": ("limit_pressure", "limit-breach"),
}


@pytest.mark.parametrize("fault", sorted(VISIBLE))
def test_fault_is_caught_through_the_wire(fault: str) -> None:
    scenario_name, kind = VISIBLE[fault]
    with local_server(faults=[fault]) as (url, secret):
        target = WebSocketTarget(url, secret=secret, limits={"engines_per_user": 2})
        # A misrouted turn never gets its terminal event on the caller's tab: it ends at the
        # turn timeout, which need not be the default 30 s for a 20-user loopback run. A turn
        # that merely ran late under load would be a hang finding, which these checks do not
        # forbid, so 1 s is enough: the longest plan of these scenarios is about 0.6 s of
        # planned work (the correct server keeps the default in the test below).
        scenario = replace(build(scenario_name, 0, USERS, salt=fault), turn_timeout=1.0)
        result = run(target, scenario, target_spec=url)
    kinds = {finding.kind for finding in result.findings}
    assert kind in kinds, (fault, kinds)
    assert any("black-box" in note for note in result.notes)
    assert "shared-state" not in kinds and "retention" not in kinds  # needs live roots


def test_the_correct_server_is_clean_through_the_same_checks() -> None:
    with local_server() as (url, secret):
        for scenario_name in sorted({name for name, _ in VISIBLE.values()}):
            target = WebSocketTarget(url, secret=secret, limits={"engines_per_user": 2})
            result = run(target, build(scenario_name, 0, USERS, salt="clean"), target_spec=url)
            assert result.findings == (), (scenario_name, result.findings[:3])
            assert result.stats["statuses"].get("completed", 0) > 0


def test_a_wrong_secret_stops_the_run_with_a_clear_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A refused token is the harness's configuration, not the server's crash: exit 2, once."""
    with local_server() as (url, secret):
        target = WebSocketTarget(url, secret=secret[::-1], limits={"engines_per_user": 2})
        with pytest.raises(TargetAuthError) as refused:
            run(target, build("golden_path", 0, 4, salt="refused"), target_spec=url)
    message = str(refused.value)
    assert url in message and "4401" in message
    assert "HARNESS_JWT_SECRET" in message
    # Every pending turn's failure was consumed: asyncio logged nothing about lost futures.
    assert "never retrieved" not in caplog.text
