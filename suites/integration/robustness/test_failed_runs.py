"""A run that fails on a target error leaves the finished runs and itself, marked, on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from suites.integration.robustness import robust_adapters
from suites.integration.robustness._cli import ADAPTERS, run_harness

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture(autouse=True)
def _fresh_start_count() -> Iterator[None]:
    robust_adapters.StartFailsThird.starts = 0
    yield
    robust_adapters.StartFailsThird.starts = 0


def test_start_failing_on_the_third_seed_keeps_the_two_finished_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:StartFailsThird", "--users", "2",
        "--seeds", "0..4",
    )  # fmt: skip
    assert got.code == 2
    assert "golden_path seed 2 failed" in got.err
    assert "the system under test is down" in got.err
    runs = got.findings_file()["runs"]
    assert [run["seed"] for run in runs] == [0, 1, 2]
    assert [("failed" in run["stats"]) for run in runs] == [False, False, True]
    assert "ConnectionRefusedError" in runs[2]["stats"]["failed"]
    assert any("this run did not finish" in note for note in runs[2]["notes"])
    assert all(run["stats"]["turns"] > 0 for run in runs[:2])
    assert (tmp_path / "report.html").exists()


def test_the_same_seeds_against_a_target_that_starts_are_all_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(capsys, tmp_path, "--users", "2", "--seeds", "0..4")
    assert got.code == 0
    runs = got.findings_file()["runs"]
    assert [run["seed"] for run in runs] == [0, 1, 2, 3, 4]
    assert not any("failed" in run["stats"] for run in runs)
