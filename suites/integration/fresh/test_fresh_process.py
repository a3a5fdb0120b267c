"""``requires_fresh_process = True`` is honoured: each run happens in a process of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.runner import run
from harness.scenarios import build
from suites.integration.fresh.fresh_targets import STARTS

SPEC = "suites.integration.fresh.fresh_targets:FreshProcessTarget"


def test_a_run_of_the_spec_happens_in_another_process() -> None:
    before = len(STARTS)
    result = run(SPEC, build("golden_path", 0, 4), strategy="random")
    assert len(STARTS) == before  # nothing of it ran here
    assert result.findings == ()
    assert result.stats["turns"] == len(result.trace.turns) > 0
    assert any("fresh process" in note for note in result.notes)
    again = run(SPEC, build("golden_path", 0, 4), strategy="random")
    assert again.trace_digest == result.trace_digest  # a fresh process replays the same


def test_harness_run_runs_every_seed_in_its_own_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report"
    before = len(STARTS)
    code = main(
        ["run", "--target", SPEC, "--scenario", "burst", "--users", "3", "--seeds", "0..1",
         "--report", str(report)]
    )
    assert code == 0, capsys.readouterr()
    assert len(STARTS) == before
    data = json.loads((report / "findings.json").read_text())
    assert [r["seed"] for r in data["runs"]] == [0, 1]
    assert all(any("fresh process" in n for n in r["notes"]) for r in data["runs"])


def test_a_target_without_the_flag_runs_here() -> None:
    from suites.integration.kit.kit_targets import FreshRootsTarget

    result = run(FreshRootsTarget(), build("golden_path", 0, 3), strategy="fifo")
    assert not any("fresh process" in note for note in result.notes)
