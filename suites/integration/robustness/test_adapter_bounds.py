"""Every adapter call is bounded: a call that never returns or blocks the loop is reported.

Async calls time out on the loop's clock (virtual in process, so these tests take no real
waiting); sync calls and blocking steps are measured in real seconds against small bounds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from suites.integration.robustness._cli import ADAPTERS, run_harness, run_harness_process

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_a_stop_that_loops_forever_is_a_crash_naming_the_call_and_the_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:StopLoops", "--users", "2",
        "--call-timeout", "5",
    )  # fmt: skip
    assert got.code == 1
    crash = got.text_of("crash")
    assert "stop() did not return within 5s (--call-timeout 5)" in crash
    assert (tmp_path / "report.html").exists()


def test_a_start_that_never_returns_exits_two_with_the_report_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:StartNeverReturns", "--users", "2",
        "--call-timeout", "7",
    )  # fmt: skip
    assert got.code == 2
    assert "start() did not return within 7s" in got.err
    failed = got.findings_file()["stats"]["failed"]
    assert "start() did not return within 7s" in failed
    assert (tmp_path / "report.html").exists()


def test_a_turn_that_blocks_the_loop_is_reported_as_loop_lag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:TurnBlocksLoop", "--users", "2",
        "--block-limit", "0.25",
    )  # fmt: skip
    assert got.code == 1
    crash = got.text_of("crash")
    assert "run_turn() blocked the event loop (loop lag)" in crash
    assert "--block-limit 0.25s" in crash


def test_the_reference_target_under_the_same_bounds_is_clean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(
        capsys, tmp_path, "--users", "2", "--block-limit", "0.25", "--call-timeout", "0.25",
    )  # fmt: skip
    assert got.code == 0, got.err
    assert got.findings_file()["findings"] == []


def test_a_sync_events_call_past_its_bound_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Under pytest-timeout's alarm the harness cannot use its own: it measures the call.
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:EventsBlock", "--users", "2",
        "--call-timeout", "0.25",
    )  # fmt: skip
    assert got.code == 1
    crash = got.text_of("crash")
    assert "events()" in crash
    assert "past its bound of 0.25s" in crash


def test_a_roots_call_past_its_bound_is_reported_and_its_walks_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:RootsBlock", "--users", "2",
        "--scenario", "golden_path", "--call-timeout", "0.25",
    )  # fmt: skip
    assert got.code == 1
    crash = got.text_of("crash")
    assert "roots() of usr_" in crash and "past its bound of 0.25s" in crash
    assert "walks were skipped" in crash


def test_roots_that_are_not_a_mapping_are_a_crash_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:RootsNotAMapping", "--users", "2",
        "--scenario", "golden_path",
    )  # fmt: skip
    assert got.code == 1
    crash = got.text_of("crash")
    assert "returned 42 (type int), not a mapping" in crash


@pytest.mark.timeout(60)
def test_a_constructor_that_blocks_is_interrupted_at_the_bound(tmp_path: Path) -> None:
    # A fresh process has no alarm of pytest's: the harness interrupts the sleeping constructor.
    got = run_harness_process(
        tmp_path, "--target", f"{ADAPTERS}:ConstructorBlocks", "--call-timeout", "0.25",
        "--users", "2", "--scenario", "golden_path",
    )  # fmt: skip
    assert got.code == 2, got.err
    assert "did not return within 0.25s and was interrupted" in got.err
    assert "Traceback" not in got.err
