"""Correct backends with a hazard by design pass without --strict; their buggy twins leak.

:mod:`suites.integration.hazards.backends` holds two small backends written for these tests:
threads kept per user (an intrusion is accepted but reaches nothing) and one engine per user
whose ``context`` attribute names the last run it started. Each is clean of leaks on every
scenario, shows its hazard, and fails only with ``--strict``; each bug switch turns the hazard
into a leak, which fails without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.model import Finding, RunResult
from harness.runner import run
from harness.scenarios import build
from suites.integration.alien.adapter import AlienTarget
from suites.integration.hazards.adapter import EngineDeskTarget, ThreadDeskTarget

ADAPTER = "suites.integration.hazards.adapter"
#: design -> (its correct target, its buggy target, the kind its hazard and its leak are)
DESIGNS = {
    "threads": (f"{ADAPTER}:ThreadDeskTarget", f"{ADAPTER}:global_threads_target", "foreign-data"),
    "engine": (
        f"{ADAPTER}:EngineDeskTarget",
        f"{ADAPTER}:stale_context_target",
        "context-mismatch",
    ),
}


def _harness(tmp_path: Path, target: str, *args: str) -> tuple[int, dict[str, Any]]:
    report = tmp_path / "report"
    code = main(["run", "--target", target, "--users", "4", "--report", str(report), *args])
    return code, json.loads((report / "findings.json").read_text(encoding="utf-8"))


def _all_findings(data: dict[str, Any]) -> list[dict[str, Any]]:
    runs = data.get("runs") or [data]
    return [finding for run_data in runs for finding in run_data["findings"]]


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_a_correct_design_passes_every_scenario_without_strict_and_shows_its_hazard(
    design: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    correct, _buggy, kind = DESIGNS[design]
    # Three seeds of every scenario: each design's hazard shows on every seed of the same
    # scenarios (intrusion; tab_burst, limit_pressure, noisy_neighbor, resume, retry), so seeds
    # 3 to 9 repeated the same verdicts at twice the cost.
    code, data = _harness(tmp_path, correct, "--scenario", "all", "--seeds", "0..2")
    found = _all_findings(data)
    assert code == 0, [
        (f["kind"], f["severity"], f["summary"]) for f in found if f["severity"] == "leak"
    ]
    assert found, "the hazard of this design was not reported"
    assert {f["severity"] for f in found} == {"hazard"}
    assert {f["kind"] for f in found} == {kind}
    hazards = len(found)
    assert (
        f"{hazards} hazard(s) did not fail the run (--strict fails on them)"
        in capsys.readouterr().out
    )


@pytest.mark.parametrize(
    ("design", "scenario"), [("threads", "intrusion"), ("engine", "tab_burst")]
)
def test_strict_fails_a_correct_design_on_its_hazard(
    design: str, scenario: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    correct, _buggy, _kind = DESIGNS[design]
    code, data = _harness(tmp_path, correct, "--scenario", scenario, "--strict")
    assert code == 1
    assert _all_findings(data)
    assert "hazard(s) failed the run (strict)" in capsys.readouterr().out


def test_strict_from_pyproject_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    correct, _buggy, _kind = DESIGNS["threads"]
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.harness]\nstrict = true\n", encoding="utf-8")
    here = Path.cwd()
    monkeypatch.syspath_prepend(str(here))  # the adapter module stays importable
    monkeypatch.chdir(project)
    code, _data = _harness(tmp_path, correct, "--scenario", "intrusion")
    assert code == 1
    (project / "pyproject.toml").write_text("[tool.harness]\nstrict = false\n", encoding="utf-8")
    code, _data = _harness(tmp_path, correct, "--scenario", "intrusion")
    assert code == 0


@pytest.mark.parametrize("design", sorted(DESIGNS))
def test_the_buggy_variant_leaks_and_fails_without_strict(design: str, tmp_path: Path) -> None:
    _correct, buggy, kind = DESIGNS[design]
    scenario = "intrusion" if design == "threads" else "tab_burst"
    code, data = _harness(tmp_path, buggy, "--scenario", scenario)
    assert code == 1
    leaks = [f for f in _all_findings(data) if f["severity"] == "leak"]
    assert {f["kind"] for f in leaks} >= {kind}


# ----------------------------------------------------------------------------- the evidence


def _of(result: RunResult, kind: str, severity: str) -> list[Finding]:
    return [f for f in result.findings if f.kind == kind and f.severity == severity]


def test_per_user_threads_make_an_intrusion_a_hazard_naming_thread_and_users() -> None:
    result = run(ThreadDeskTarget(), build("intrusion", 0, 4), strategy="random")
    found = _of(result, "foreign-data", "hazard")
    assert len(found) == 2 and result.findings == tuple(found)
    for finding in found:
        victim, intruder = finding.users
        line = finding.evidence[0]
        assert f"on {victim}'s thread thread_" in line and "completed, not rejected" in line
        assert f"nothing of {victim} reached {intruder}" in line


def test_global_threads_let_the_intruder_read_the_victims_history() -> None:
    result = run(ThreadDeskTarget(["global-threads"]), build("intrusion", 0, 4), strategy="random")
    intrusions = [f for f in _of(result, "foreign-data", "leak") if "thread of" in f.summary]
    assert len(intrusions) == 2
    for finding in intrusions:
        victim, intruder = finding.users
        assert f"{victim}'s data reached {intruder}" in finding.evidence[0]
        assert "['earlier']" in finding.evidence[0] and "canary" in finding.evidence[0]
    assert not _of(result, "foreign-data", "hazard")


def test_one_engine_per_user_shows_its_stale_context_as_a_hazard() -> None:
    result = run(EngineDeskTarget(), build("tab_burst", 0, 4), strategy="random")
    found = _of(result, "context-mismatch", "hazard")
    assert found and result.findings == tuple(found)
    for finding in found:
        (user,) = finding.users
        assert "stale" in finding.summary
        assert f"{user}'s context.run_id = run_id" in finding.evidence[0]


def test_a_tool_that_reads_the_stale_engine_context_is_a_leak() -> None:
    result = run(EngineDeskTarget(["stale-context"]), build("tab_burst", 0, 4), strategy="random")
    echoes = _of(result, "context-mismatch", "leak")
    assert echoes
    assert all("echo in" in line for f in echoes for line in f.evidence if "more" not in line)
    assert all(f.actual is not None and f.actual.startswith("run_id=") for f in echoes)


def test_an_alien_gateway_with_no_thread_state_is_an_ownership_hazard() -> None:
    # The alien backend's `any-thread` bug skips the ownership check, but the backend keeps
    # nothing per thread: no data of either user can cross, so by its evidence it is a hazard
    # (reported, and failing under --strict), exactly like the per-user thread design.
    result = run(AlienTarget(["any-thread"]), build("intrusion", 0, 8), strategy="random")
    assert result.findings
    assert {(f.kind, f.severity) for f in result.findings} == {("foreign-data", "hazard")}


def test_harness_report_weighs_hazards_as_harness_run_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    correct, _buggy, _kind = DESIGNS["threads"]
    code, data = _harness(tmp_path, correct, "--scenario", "intrusion")
    assert code == 0 and {f["severity"] for f in _all_findings(data)} == {"hazard"}
    report = str(tmp_path / "report")
    assert main(["report", report]) == 0  # hazards only: the file does not fail
    assert main(["report", report, "--strict"]) == 1
    capsys.readouterr()
