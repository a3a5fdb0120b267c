"""An adapter that raises or hands back the wrong thing ends as a crash finding or an exit-2
message naming the method, the value and the fix, with the report written; never a traceback
with exit 1 (which means findings). The harness's own failure is exit 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import run as run_command
from suites.integration.robustness._cli import ADAPTERS, run_harness

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.mark.parametrize(
    ("adapter", "expected"),
    [
        ("LimitsRaise", "limits() failed: KeyError"),
        ("SharedRootsRaise", "shared_roots() raised RuntimeError('factory not ready')"),
        ("OpenReturnsNone", "open_session(usr_"),
        ("OpenReturns42", "returned 42 (type int), not a Session"),
        ("TurnRaisesCancelled", "run_turn raised CancelledError"),
        ("EventsAreDicts", "item 0: a dict, not an Event"),
        ("RunIdIsList", "run_id=['run_"),
    ],
)
def test_a_broken_adapter_method_is_a_crash_finding_with_the_report_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], adapter: str, expected: str
) -> None:
    got = run_harness(capsys, tmp_path, "--target", f"{ADAPTERS}:{adapter}", "--users", "2")
    assert got.code == 1, got.err
    assert "Traceback" not in got.err
    crash = got.text_of("crash")
    assert expected in crash
    assert (tmp_path / "report.html").exists()


def test_walks_without_boundaries_stay_out_of_the_harness(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # shared_roots() raised, so the walks have no boundaries; the backend's connection registry
    # holds each session and the on_event callback the harness gave it. Past that callback lie
    # the harness's driver and token index, with every user's tokens: none of it is the target's.
    got = run_harness(capsys, tmp_path, "--target", f"{ADAPTERS}:SharedRootsRaise", "--users", "2")
    run = got.findings_file()
    assert run["stats"]["observed_walks"] > 0
    assert run["stats"]["observed_walks_truncated"] == 0
    evidence = "\n".join(line for f in run["findings"] for line in f["evidence"])
    assert "harness_backend." in evidence  # the undeclared shared registries are still found
    assert "on_event" not in evidence
    assert "harness.model" not in evidence and "harness/" not in evidence


def test_open_session_returning_none_names_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(capsys, tmp_path, "--target", f"{ADAPTERS}:OpenReturnsNone")
    crash = got.text_of("crash")
    assert "returned None (type NoneType), not a Session" in crash
    assert "Return an object with run_turn(turn), events(), roots() and close()" in crash


def test_a_list_run_id_names_the_field_and_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(capsys, tmp_path, "--target", f"{ADAPTERS}:RunIdIsList", "--users", "2")
    crash = got.text_of("crash")
    assert "is a list, not a str or None" in crash
    assert "harness.model.Event(" in crash


def test_a_constructor_that_raises_exits_two_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(capsys, tmp_path, "--target", f"{ADAPTERS}:ConstructorRaises")
    assert got.code == 2
    assert "the constructor ConstructorRaises() raised RuntimeError" in got.err
    assert "cannot read adapter settings" in got.err
    assert "connect or build the system under test in start()" in got.err


def test_an_outcome_that_breaks_the_contract_is_a_crash_and_event_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(capsys, tmp_path, "--target", f"{ADAPTERS}:WeirdOutcome", "--users", "2")
    assert got.code == 1
    crash = got.text_of("crash")
    assert "status='weird-status' is not one of" in crash
    missing = got.text_of("event-missing")
    assert "a terminal event (agent_completed or agent_error)" in missing


def test_a_completed_turn_without_any_event_is_event_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(capsys, tmp_path, "--target", f"{ADAPTERS}:SilentCompletion", "--users", "2")
    assert got.code == 1
    assert "missing agent_started, agent_completed" in got.text_of("event-missing")
    assert got.findings("crash") == []  # the outcome itself keeps the contract


def test_a_correct_target_gives_no_crash_and_no_missing_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(capsys, tmp_path, "--users", "2")
    assert got.code == 0
    assert got.findings("crash") == [] and got.findings("event-missing") == []


def test_an_exception_inside_the_harness_exits_three_with_the_traceback_in_a_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(args: object) -> int:
        raise ZeroDivisionError("a bug in the harness")

    monkeypatch.setitem(run_command.COMMANDS, "run", broken)
    got = run_harness(capsys, tmp_path)
    assert got.code == 3
    assert "the harness itself failed (exit 3): ZeroDivisionError: a bug in the harness" in got.err
    written = got.err.split("traceback written to ", 1)[1].split(";", 1)[0]
    assert "ZeroDivisionError" in Path(written).read_text()
    Path(written).unlink()


def test_one_adapter_bug_is_one_finding_whatever_the_users_and_tabs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # multi_tab: each user has several tabs; each tab's events() breaks the same way.
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:EventsAreDicts", "--users", "4",
        "--scenario", "multi_tab",
    )  # fmt: skip
    sessions = got.findings_file()["stats"]["sessions"]
    crashes = got.findings("crash")
    users = [user for crash in crashes for user in crash["users"]]
    assert sessions > 4
    # One root cause, one finding (findings.json holds groups): every user, counted once each.
    assert len(crashes) == 1 and sorted(users) == sorted(set(users)) and len(users) == 4
    assert crashes[0]["count"] == 4


@pytest.mark.parametrize(
    ("adapter", "expected"),
    [
        ("BurstRaisesCancelled", "burst raised CancelledError although the harness did not"),
        ("BurstReturnsNothing", "burst(turns) returned [] (type list) for 4 turns"),
    ],
)
def test_a_broken_burst_is_a_crash_for_every_turn_it_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], adapter: str, expected: str
) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:{adapter}", "--users", "3",
        "--scenario", "limit_pressure",
    )  # fmt: skip
    assert got.code == 1, got.err
    assert expected in got.text_of("crash")
    assert got.findings_file()["stats"]["statuses"] == {"error": 12}  # 3 users x 4 turns


def test_the_reference_burst_is_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = run_harness(capsys, tmp_path, "--users", "3", "--scenario", "limit_pressure")
    assert got.code == 0, got.out
