"""The correct Switchyard backend (alien3) on every built-in scenario, and the test bed's shape.

:mod:`suites.integration.alien3` is a third independently written backend, shaped like
production code (pydantic models, SQLAlchemy on SQLite, a shared ``httpx.AsyncClient``, a
``logging`` ring buffer, process-wide metrics and a circuit breaker, a catalog of a few thousand
shared objects). Its correct build must give no finding at all: the libraries' own machinery
(pydantic's model configuration, SQLAlchemy's compiled-statement cache, httpx's transport) is
not users sharing state, and the walks must know it without being told.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness import CallTool, Finding, Pause, SimUser, Think, Turn, build_scenario, run
from harness.scenarios import scenario_names
from suites.integration.alien3.adapter import Alien3Target
from suites.integration.alien3.orchestrator import BUGS
from suites.integration.alien3.telemetry import BREAKER, METRICS, RING

HERE = Path(__file__).resolve().parent
SPEC = "suites.integration.alien3.adapter:Alien3Target"


def _describe(findings: list[Finding]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(f.kind, f.summary, f.evidence[:3]) for f in findings]


# ----------------------------------------------------------------------------- clean runs


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("scenario", scenario_names())
def test_the_correct_build_is_clean_on_every_scenario(scenario: str, seed: int) -> None:
    result = run(Alien3Target(), build_scenario(scenario, seed, 8), strategy="random")
    assert list(result.findings) == [], _describe(list(result.findings))
    # Clean by looking, not by blindness: the roots were walked and the turns really ran.
    assert result.trace.observed["walks"] > 0
    statuses = result.stats["statuses"]
    assert statuses.get("completed", 0) > 0
    if scenario in ("limit_pressure", "tab_burst", "intrusion"):
        assert statuses.get("rejected", 0) > 0
    if scenario in ("cancel", "reconnect"):
        assert statuses.get("cancelled", 0) > 0
    if scenario == "tool_failure":
        assert statuses.get("error", 0) > 0


@pytest.mark.parametrize("strategy", ["fifo", "pct"])
@pytest.mark.parametrize("scenario", scenario_names())
def test_the_correct_build_is_clean_under_every_strategy(scenario: str, strategy: str) -> None:
    result = run(Alien3Target(), build_scenario(scenario, 3, 10), strategy=strategy)
    assert list(result.findings) == [], _describe(list(result.findings))
    assert result.stats["statuses"].get("completed", 0) > 0


def test_the_correct_build_gives_no_finding_at_all() -> None:
    result = run(Alien3Target(), build_scenario("golden_path", 0, 8), strategy="random")
    assert result.findings == (), _describe(list(result.findings))


def test_library_machinery_is_silent_but_the_backends_own_sharing_is_not() -> None:
    # On the shared-agent bug the shared-state findings name the backend's agent, and none of
    # them names pydantic's model configuration or SQLAlchemy's statement cache.
    result = run(Alien3Target({"shared-agent"}), build_scenario("golden_path", 0, 8))
    shared = [f for f in result.findings if f.kind == "shared-state"]
    assert any("ScriptedAgent" in f.summary for f in shared)
    text = " ".join(line for f in result.findings for line in (f.summary, *f.evidence))
    assert "model_config" not in text and "_compiled_cache" not in text


def test_the_correct_build_limits_each_user_across_connections() -> None:
    result = run(Alien3Target(), build_scenario("tab_burst", 0, 4), strategy="random")
    assert list(result.findings) == [], _describe(list(result.findings))
    # 6 overlapping turns per user over two tabs, 2 jobs per user: 2 complete, 4 are refused.
    assert result.stats["statuses"] == {"completed": 8, "rejected": 16}


def test_the_same_seed_gives_the_same_trace() -> None:
    first = run(Alien3Target(), build_scenario("multi_tab", 4, 8), strategy="random")
    second = run(Alien3Target(), build_scenario("multi_tab", 4, 8), strategy="random")
    assert first.trace_digest == second.trace_digest
    # Not equal by being empty: sessions with events, and walks of the live roots (a correct
    # build's checkpoints find nothing to record, so the count of walks is what shows them).
    assert first.trace.sessions and first.trace.observed["walks"] > 0
    other = run(Alien3Target(), build_scenario("multi_tab", 5, 8), strategy="random")
    assert other.trace_digest != first.trace_digest


def test_the_target_loads_from_a_module_attr_spec() -> None:
    result = run(SPEC, build_scenario("golden_path", 0, 4), strategy="random")
    assert list(result.findings) == []
    assert result.replay.startswith(f"harness run --target {SPEC}")


def test_an_unknown_bug_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"bugs=\['no-such-bug'\] are unknown; known: \["):
        Alien3Target(["no-such-bug"])
    assert {"shared-agent", "lost-lifecycle", "tracker-records", "park-on-close"} == BUGS


# ----------------------------------------------------------------------------- the test bed


def _user(number: int) -> SimUser:
    return SimUser(
        user_id=f"usr_{number:012x}",
        thread_ids=(f"thread_{number:012x}",),
        email=f"ada.lovelace.{number:06x}@example.org",
        display_name="Ada Lovelace",
        canaries=(f"cnry_{number:016x}",),
    )


def _turn(user: SimUser, run: int, thread_id: str | None = None) -> Turn:
    canary = user.canaries[0]
    return Turn(
        run_id=f"run_{run:012x}",
        thread_id=thread_id or user.thread_ids[0],
        message=f"What was our quarterly revenue? (ref {canary})",
        plan=(
            Think("look up the revenue figures"),
            CallTool("echo", {"note": canary}),
            CallTool("search", {"query": "quarterly revenue"}),
            Pause(0.01),
        ),
    )


def test_one_turn_goes_through_every_layer_and_the_telemetry_keeps_no_user_data() -> None:
    """The production shape is real: a few thousand shared objects, a few hundred per turn,
    the upstream client, the database, the breaker, the metrics and the log all used."""

    async def scenario() -> dict[str, Any]:
        target = Alien3Target()
        await target.start()
        try:
            owner, intruder = _user(1), _user(2)
            tab = await target.open_session(owner)
            other = await target.open_session(intruder)
            outcome = await tab.run_turn(_turn(owner, 1))
            refused = await other.run_turn(_turn(intruder, 2, thread_id=owner.thread_ids[0]))
            orchestrator = target.orchestrator
            job = orchestrator.tenants[owner.user_id].last_job
            assert job is not None
            with orchestrator.store.unit() as session:
                stored = orchestrator.store.count(session, owner.thread_ids[0])
            seen = {
                "outcome": outcome,
                "refused": refused,
                "per_turn": job.memory.size(),
                "shared": orchestrator.catalog.object_count(),
                "stored": stored,
                "upstream_requests": orchestrator.upstream.service.requests,
            }
            await tab.close()
            await other.close()
            seen["tenants_left"] = len(orchestrator.tenants)
            seen["metrics"] = METRICS.statistics()
            seen["routes"] = dict(METRICS.upstream_by_route)
            seen["window"] = list(METRICS.window)
            seen["trips"] = BREAKER.trips
            seen["log"] = list(RING.lines)
            return seen
        finally:
            await target.stop()

    seen = asyncio.run(scenario())
    outcome = seen["outcome"]
    assert outcome.status == "completed"
    echo, search = outcome.result["tool_results"]
    assert echo["result"]["user_id"] == "usr_000000000001"
    assert search["result"]["hits"][0].startswith("doc-")  # answered by the upstream service
    assert seen["refused"].status == "rejected"
    # A refusal may name the thread the intruder sent, never its owner.
    assert seen["refused"].error == "thread_id='thread_000000000001' is not yours"
    assert seen["shared"] >= 3000
    assert 150 <= seen["per_turn"] <= 1000
    assert seen["stored"] == 2  # the user's message and the answer; the intrusion stored nothing
    assert seen["upstream_requests"] == 3  # opening, the think step, the search
    assert seen["routes"] == {"/v1/complete": 2, "/v1/search": 1}
    assert seen["tenants_left"] == 0
    assert seen["metrics"].jobs_by_status == {"completed": 1}
    assert seen["window"] == [] and seen["trips"] == 0
    log = "\n".join(seen["log"])
    assert "job finished status=completed steps=4 tools=2" in log
    assert "usr_" not in log and "cnry_" not in log and "thread_" not in log


def test_the_documented_command_runs_the_buggy_build_from_suites_integration(
    tmp_path: Path,
) -> None:
    # The console script beside this interpreter, as a user runs it (README.md).
    command = [
        *(str(Path(sys.executable).with_name("harness")), "run"),
        *("--target", "alien3.adapter:BuggyAlien3Target", "--scenario", "golden_path"),
        *("--users", "4", "--seed", "0", "--report", str(tmp_path)),
    ]
    done = subprocess.run(command, cwd=HERE.parent, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr[-2000:]
    text = (tmp_path / "findings.json").read_text()
    for kind in ("context-mismatch", "event-missing", "foreign-data", "retention"):
        assert f'"kind": "{kind}"' in text
