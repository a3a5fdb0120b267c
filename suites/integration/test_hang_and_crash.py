"""A target that never answers becomes a hang finding, one that raises a crash finding.

The harness itself never hangs: turn timeouts run on the loop's clock, virtual in process.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from harness.model import SimUser, Turn, TurnOutcome
from harness.runner import run
from harness.scenarios import build
from harness.targets.reference import ReferenceSession, ReferenceTarget


class _LostWakeupTarget(ReferenceTarget):
    """The reference backend, except that one user's turns wait forever or blow up."""

    def __init__(self, hang_user: str, crash_user: str) -> None:
        super().__init__()
        self.hang_user, self.crash_user = hang_user, crash_user

    async def open_session(self, user: SimUser) -> ReferenceSession:
        session = await super().open_session(user)
        if user.user_id == self.hang_user:
            session.run_turn = self._hang  # type: ignore[method-assign]
        elif user.user_id == self.crash_user:
            session.run_turn = self._crash  # type: ignore[method-assign]
        return session

    async def _hang(self, turn: Turn) -> TurnOutcome:
        await asyncio.get_running_loop().create_future()  # nobody ever resolves it
        raise AssertionError("unreachable")

    async def _crash(self, turn: Turn) -> Any:
        raise RuntimeError(f"engine pool exhausted while starting {turn.run_id}")


def test_a_lost_wakeup_is_a_hang_and_an_exception_a_crash() -> None:
    scenario = replace(build("golden_path", 0, 4), turn_timeout=5.0)
    hang_user, crash_user = scenario.users[0].user_id, scenario.users[1].user_id
    result = run(_LostWakeupTarget(hang_user, crash_user), scenario, strategy="random")
    by_kind = {finding.kind: finding for finding in result.findings}
    assert set(by_kind) == {"hang", "crash"}
    assert by_kind["hang"].users == (hang_user,)
    assert "5" in by_kind["hang"].summary or any("5" in line for line in by_kind["hang"].evidence)
    assert by_kind["crash"].users == (crash_user,)
    assert any("engine pool exhausted" in line for line in by_kind["crash"].evidence)
    statuses = {t.user_id: t.outcome.status for t in result.trace.turns}
    assert statuses[hang_user] == "timeout"
    assert statuses[crash_user] == "error"
    others = [t for t in result.trace.turns if t.user_id not in (hang_user, crash_user)]
    assert others and all(t.outcome.status == "completed" for t in others)


def test_the_same_target_without_the_faulty_users_is_clean() -> None:
    scenario = build("golden_path", 0, 4)
    result = run(_LostWakeupTarget("usr_000000000000", "usr_000000000001"), scenario)
    assert result.findings == ()
