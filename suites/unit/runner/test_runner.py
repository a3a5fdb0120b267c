"""``harness.runner``: replay commands, target specs, and one Trace per run built once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.model import RunResult
from harness.runner import derive_target_spec, replay_command, run
from harness.scenarios import build
from harness.targets import load_target
from harness.targets.reference import ReferenceTarget
from suites.integration.alien.adapter import AlienTarget


def test_replay_command_names_every_choice() -> None:
    scenario = build("burst", 3, 4)
    assert replay_command(scenario, seed=3, strategy="pct") == (
        "harness run --scenario burst --users 4 --seed 3 --strategy pct"
    )
    assert replay_command(
        "burst", seed=1, strategy="fifo", target="ws://h:1/ws", users=9, salt="ab", fault=None
    ) == (
        "harness run --target ws://h:1/ws --scenario burst --users 9 --seed 1 --strategy fifo "
        "--salt ab"
    )


def test_a_target_with_a_spec_names_itself() -> None:
    assert derive_target_spec(ReferenceTarget()) == "reference"
    assert derive_target_spec(load_target("reference", fault="shared-engine")) == "reference"


def test_a_target_instance_is_named_by_its_class() -> None:
    assert derive_target_spec(AlienTarget()) == "suites.integration.alien.adapter:AlienTarget"


def test_a_class_that_cannot_be_imported_says_so() -> None:
    class Local(AlienTarget):
        pass

    spec = derive_target_spec(Local())
    assert spec.startswith("<") and "not importable" in spec and "reference" not in spec


def test_run_of_an_alien_instance_replays_against_that_target() -> None:
    result = run(AlienTarget(["class-default"]), build("burst", 0, 4), strategy="random")
    assert result.findings
    expected = "--target suites.integration.alien.adapter:AlienTarget"
    assert result.target == "suites.integration.alien.adapter:AlienTarget"
    assert all(expected in finding.replay for finding in result.findings)
    assert expected in result.replay and "--fault" not in result.replay


def test_a_reference_instance_with_a_fault_replays_with_that_fault() -> None:
    result = run(ReferenceTarget(fault="shared-agent"), build("burst", 0, 4), strategy="fifo")
    assert result.target == "reference"
    assert result.replay.endswith("--fault shared-agent")
    assert result.fault == "shared-agent"


def _run(**options: Any) -> RunResult:
    return run("reference", build("golden_path", 2, 4), **options)


def test_the_trace_carries_its_schedule_and_determinism() -> None:
    result = _run(strategy="pct")
    trace = result.trace
    assert trace.schedule is not None and trace.schedule.strategy == "pct"
    assert trace.deterministic is True
    assert trace.strategy == "pct"
    assert result.stats["scheduler_steps"] == trace.schedule.steps > 0


def test_same_seed_same_digest_and_a_different_seed_another() -> None:
    first, again = _run(strategy="random"), _run(strategy="random")
    assert first.trace_digest == again.trace_digest
    other = run("reference", build("golden_path", 3, 4), strategy="random")
    assert other.trace_digest != first.trace_digest


def test_detectors_off_records_no_checkpoints_and_no_findings() -> None:
    result = run(ReferenceTarget(fault="shared-engine"), build("burst", 0, 4), detectors=False)
    assert result.findings == ()
    assert result.trace.checkpoints == ()
    assert result.stats["turns"] == len(result.trace.turns) > 0


def test_a_target_importable_only_through_an_added_path_carries_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "elsewhere" / "tgtpkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "adapter.py").write_text(
        "from harness.targets.reference import ReferenceTarget\n\n\n"
        "class T(ReferenceTarget):\n    spec = 'tgtpkg.adapter:T'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "elsewhere"))
    result = run("tgtpkg.adapter:T", build("golden_path", 0, 2), strategy="fifo")
    assert result.replay.startswith(f"PYTHONPATH={tmp_path / 'elsewhere'} harness run ")
    assert "--target tgtpkg.adapter:T" in result.replay


def test_a_target_in_the_current_directory_needs_no_path() -> None:
    result = run(AlienTarget(), build("golden_path", 0, 2), strategy="fifo")
    assert not result.replay.startswith("PYTHONPATH")
