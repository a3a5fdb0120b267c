"""Over the wire, a copy of a run that reaches the user's other tab late is waited for, within a
bound, before that tab closes: late is not lost. A copy that never comes is still missed.

Each user has two tabs that each send one turn and close when it ends; the second opens 20 ms
after the first, so the first is open for the whole of the second's run and must get its events
too. Only the wait before closing lets a copy that is 0.8 s late arrive.
"""

from __future__ import annotations

import pytest

import harness.runner._driver as driver
from harness.model import CallTool, Pause, RunResult, Scenario, SessionPlan, SimUser, Think, Turn
from harness.runner import run
from harness.scenarios import build
from suites.integration.robustness.robust_adapters import LateSiblingCopies, LostSiblingCopies

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def _turn(user: SimUser, run_id: str) -> Turn:
    return Turn(
        run_id=run_id,
        thread_id=user.thread_ids[0],
        message=f"summarise my notes (ref {user.canaries[0]})",
        plan=(Think("reading"), CallTool("echo", {"note": user.canaries[0]}), Pause(0.2)),
    )


def two_tabs_each() -> Scenario:
    users = build("golden_path", 0, 2).users
    sessions = []
    for number, user in enumerate(users):
        for tab, opens_at in enumerate((0.0, 0.02)):
            run_id = f"run_{number:06x}{tab:06x}"
            sessions.append(
                SessionPlan(
                    session_id=f"s{number}{tab}",
                    user_id=user.user_id,
                    turns=(_turn(user, run_id),),
                    opens_at=opens_at,
                )
            )
    return Scenario(name="two_tabs_each", seed=0, users=users, sessions=tuple(sessions))


def _other_tab_misses(result: RunResult) -> list[str]:
    return [
        line
        for f in result.findings
        if f.kind == "event-missing"
        for line in f.evidence
        if "(open for the whole turn) missed" in line
    ]


def test_copies_that_come_late_to_another_tab_are_waited_for() -> None:
    result = run(LateSiblingCopies(), two_tabs_each())
    assert result.findings == (), [(f.kind, f.summary) for f in result.findings]
    # The first tab of each user was open for the whole of the second tab's run, and got it
    # (late): the copies were waited for, not skipped.
    for session in result.trace.sessions:
        runs = {event.run_id for event in session.events}
        expected = 2 if session.session_id.endswith("0") else 1
        assert len(runs) == expected, (session.session_id, runs)


def test_without_the_wait_the_same_late_copies_read_as_missed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The control: the wait is what keeps the late copies from reading as lost.
    monkeypatch.setattr(driver, "COPY_WAIT", 0.0)
    result = run(LateSiblingCopies(), two_tabs_each())
    assert _other_tab_misses(result)


def test_copies_that_never_come_are_still_missed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Copies that never come outlast any wait, so a shorter one only runs out sooner: the tab
    # still waits, the wait still ends empty, and the copies must still read as missed.
    monkeypatch.setattr(driver, "COPY_WAIT", 0.2)
    result = run(LostSiblingCopies(), two_tabs_each())
    assert _other_tab_misses(result), [(f.kind, f.summary) for f in result.findings]
