"""Each bug switch of the Switchyard backend (alien3) is caught, with the kinds a user expects.

The four shapes of issue 10, found in a real backend: one shared agent instance whose user
fields are overwritten mid-run; lifecycle events lost because a helper method is missing and
the ``AttributeError`` is swallowed; a process-wide tracker holding users' records; a per-user
object parked in a module-level cache on close. Evidence must point at the culprit: the
class, the attribute, the module global.
"""

from __future__ import annotations

import pytest

from harness import Finding, RunResult, build_scenario, run
from suites.integration.alien3.adapter import Alien3Target, BuggyAlien3Target

MODULE = "suites.integration.alien3.orchestrator"


def _run(target: Alien3Target, scenario: str = "golden_path", users: int = 8) -> RunResult:
    return run(target, build_scenario(scenario, 0, users), strategy="random")


def _of(result: RunResult, kind: str) -> list[Finding]:
    found = [f for f in result.findings if f.kind == kind]
    assert found, (kind, result.stats["findings_by_kind"], result.replay)
    return found


def _kinds(result: RunResult) -> set[str]:
    return {f.kind for f in result.findings}


def _evidence(findings: list[Finding]) -> str:
    return "\n".join(line for f in findings for line in f.evidence)


def _crossing(findings: list[Finding]) -> list[Finding]:
    """Findings naming two different users (one's data or context reached the other)."""
    return [f for f in findings if len(f.users) == 2 and f.users[0] != f.users[1]]


# ----------------------------------------------------------------------------- shared agent


@pytest.mark.parametrize("scenario", ["golden_path", "burst"])
def test_one_agent_instance_rebound_for_every_job_runs_tools_as_another_user(
    scenario: str,
) -> None:
    result = _run(Alien3Target({"shared-agent"}), scenario)
    mismatch = _crossing(_of(result, "context-mismatch"))
    text = _evidence(mismatch)
    assert "echo in tool_results[" in text and "ran under user_id=" in text
    # The live walk sees the agent's overwritten user fields while one run is active.
    assert "agents[run_" in text and "].user_id = user_id" in text
    shared = _of(result, "shared-state")
    agent = [f for f in shared if "ScriptedAgent" in f.summary]
    assert agent and len(agent[0].users) >= 2
    assert all(line.split(": ", 1)[1].startswith("agents[run_") for line in agent[0].evidence[:2])
    foreign = _evidence(_crossing(_of(result, "foreign-data")))
    assert "outcome result['tool_results']" in foreign


# ----------------------------------------------------------------------------- lost lifecycle


@pytest.mark.parametrize("scenario", ["golden_path", "tool_failure"])
def test_hooks_renamed_under_a_swallowed_attribute_error_lose_the_tool_events(
    scenario: str,
) -> None:
    result = _run(Alien3Target({"lost-lifecycle"}), scenario)
    text = _evidence(_of(result, "event-missing"))
    assert "tools ran (tool_results) but no tool event reached the connection" in " ".join(
        f.summary for f in result.findings
    )
    assert "0 tool_executing/tool_completed events" in text
    # Nothing crossed between users: the bug loses events, it does not leak them.
    assert _kinds(result) == {"event-missing"}


# ----------------------------------------------------------------------------- tracker records


def test_a_process_wide_tracker_keeping_records_leaks_every_users_messages() -> None:
    result = _run(Alien3Target({"tracker-records"}))
    foreign = _crossing(_of(result, "foreign-data"))
    text = _evidence(foreign)
    assert ".activity[" in text and "].message: canary 'cnry_" in text
    # Everyone's records reach everyone's jobs: many receivers, many owners.
    assert len({f.users[1] for f in foreign}) >= 4
    assert len({f.users[0] for f in foreign}) >= 4
    shared = _evidence(_of(result, "shared-state"))
    assert "].activity" in shared
    kept = _evidence(_of(result, "retention"))
    assert "shared metrics.window[" in kept and "shared metrics.by_user" in kept


# ----------------------------------------------------------------------------- park on close


@pytest.mark.parametrize("scenario", ["golden_path", "reconnect"])
def test_a_tenant_parked_on_close_keeps_its_last_job_alive(scenario: str) -> None:
    result = _run(Alien3Target({"park-on-close"}), scenario)
    found = _of(result, "retention")
    text = _evidence(found)
    assert f"is still alive after close (kept alive by {MODULE}._RESUMABLE[" in text
    assert f"{MODULE}._RESUMABLE[" in text and "].last_job" in text
    assert f"module global {MODULE}._RESUMABLE[" in text
    assert len({f.users[0] for f in found}) == 8  # every user is parked
    assert _kinds(result) == {"retention"}


# ----------------------------------------------------------------------------- every bug


def test_the_buggy_build_reports_every_planted_bug() -> None:
    result = _run(BuggyAlien3Target())
    assert result.findings and result.stats["statuses"].get("completed", 0) > 0
    assert {"context-mismatch", "shared-state", "foreign-data", "event-missing"} <= _kinds(result)
    retention = _evidence(_of(result, "retention"))
    assert f"{MODULE}._RESUMABLE[" in retention
    assert "shared metrics.window[" in retention
