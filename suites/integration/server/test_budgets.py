"""Frame budgets on a manual clock: one notice a second, a disconnect only on sustained flooding."""

from __future__ import annotations

import asyncio
import math

import pytest

import harness_backend.budgets
import harness_backend.server_limits
import harness_backend.turn_runner
import harness_backend.websocket_connection
from harness_backend.agents import AgentRequest
from harness_backend.budgets import Admission, ConnectionBudget, UserBudget
from harness_backend.errors import InvalidRequestError
from harness_backend.server_limits import ServerLimits
from harness_backend.tools import ToolDispatcher, default_tools


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_all_lists_the_public_names() -> None:
    assert set(harness_backend.budgets.__all__) == {"Admission", "ConnectionBudget", "UserBudget"}
    assert set(harness_backend.turn_runner.__all__) == {
        "SendError",
        "check_turn_budget",
        "run_turn",
    }
    assert set(harness_backend.websocket_connection.__all__) == {
        "ConnectionDropped",
        "WebSocketConnection",
    }
    assert set(harness_backend.server_limits.__all__) == {
        "AUTH_CLOSE_CODE",
        "BUDGET_CLOSE_CODE",
        "SHUTDOWN_CLOSE_CODE",
        "SLOW_CLIENT_CLOSE_CODE",
        "TOO_LARGE_CLOSE_CODE",
        "ServerLimits",
    }


def budgets(clock: Clock, **limits: float) -> tuple[UserBudget, ConnectionBudget]:
    settings = ServerLimits(**limits)  # type: ignore[arg-type]
    user = UserBudget(settings, clock)
    return user, ConnectionBudget(settings, user, clock)


def test_a_burst_within_the_rate_passes_silently() -> None:
    clock = Clock()
    _, connection = budgets(clock, rate=10, burst=5)
    assert [connection.admit() for _ in range(5)] == [Admission(accepted=True)] * 5
    assert connection.dropped == 0


def test_dropped_frames_get_one_notice_a_second() -> None:
    clock = Clock()
    _, connection = budgets(clock, rate=10, burst=5, flood_tolerance=1000)
    for _ in range(5):
        connection.admit()
    verdicts = [connection.admit() for _ in range(30)]
    assert not any(verdict.accepted or verdict.disconnect for verdict in verdicts)
    assert [verdict.notify for verdict in verdicts].count(True) == 1
    clock.now = 0.5  # five frames' worth refilled; still within the notice interval
    for _ in range(5):
        assert connection.admit().accepted
    assert connection.admit() == Admission(accepted=False, notify=False)
    clock.now = 1.0
    for _ in range(5):
        connection.admit()
    assert connection.admit().notify


def test_sustained_flooding_disconnects_and_occasional_bursts_do_not() -> None:
    clock = Clock()
    _, connection = budgets(clock, rate=10, burst=10, flood_tolerance=20)
    # Twice the allowed rate for 10 seconds: 10 drops a second, forgiven at 5 a second.
    verdicts = []
    for tick in range(200):
        clock.now = tick * 0.05
        verdicts.append(connection.admit())
        if verdicts[-1].disconnect:
            break
    assert verdicts[-1].disconnect
    assert 3.0 <= clock.now <= 6.0, clock.now

    clock = Clock()
    _, calm = budgets(clock, rate=10, burst=10, flood_tolerance=20)
    # Bursts of 15 (5 over) every 2 seconds, for a minute: never disconnected.
    for second in range(0, 60, 2):
        clock.now = float(second)
        for _ in range(15):
            assert not calm.admit().disconnect


def test_a_users_connections_share_its_budget() -> None:
    clock = Clock()
    settings = ServerLimits(rate=100, burst=100, user_rate=1, user_burst=4)
    user = UserBudget(settings, clock)
    first, second = ConnectionBudget(settings, user, clock), ConnectionBudget(settings, user, clock)
    assert [first.admit().accepted for _ in range(3)] == [True] * 3
    assert [second.admit().accepted for _ in range(2)] == [True, False]
    other_user = UserBudget(settings, clock)
    assert ConnectionBudget(settings, other_user, clock).admit().accepted


def test_a_user_budget_is_idle_without_connections_and_turns() -> None:
    user, _ = budgets(Clock())
    assert user.idle
    user.turns += 1
    assert not user.idle


@pytest.mark.parametrize("delay", [math.nan, math.inf, -1, 10**400])
def test_the_dispatcher_never_sleeps_a_non_finite_or_negative_delay(delay: float) -> None:
    class Notifier:
        async def emit(self, *args: object, **kwargs: object) -> None:
            return None

    from harness_backend.context import UserExecutionContext

    context = UserExecutionContext.create("usr_0123456789ab", "thread_0123456789ab", "run_01")
    dispatcher = ToolDispatcher(context, default_tools(), Notifier())  # type: ignore[arg-type]
    outcome = asyncio.run(asyncio.wait_for(dispatcher.execute("echo", {"delay": delay}), 5))
    assert outcome["result"] is None
    assert "is not a finite number of seconds >= 0" in str(outcome["error"])


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -1.0, 10**400])
def test_a_request_refuses_a_non_finite_pause(seconds: float) -> None:
    with pytest.raises(InvalidRequestError, match="must be a finite number of seconds >= 0"):
        AgentRequest(
            user_id="usr_0123456789ab",
            thread_id="thread_0123456789ab",
            run_id="run_0123456789ab",
            message="m",
            plan=[{"step": "pause", "seconds": seconds}],
        )
