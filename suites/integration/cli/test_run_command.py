"""``harness run`` end to end: exit codes, report files, clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main


def _run(tmp_path: Path, *args: str) -> int:
    return main(["run", "--report", str(tmp_path / "report"), *args])


def test_clean_run_exits_zero_and_writes_every_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(tmp_path, "--scenario", "golden_path,multi_tab", "--users", "6", "--seeds", "0..1")
    assert code == 0
    report = tmp_path / "report"
    data = json.loads((report / "findings.json").read_text())
    assert data["schema"] == 1
    assert data["findings"] == []
    assert len(data["runs"]) == 4
    assert (report / "report.html").read_text().startswith("<!DOCTYPE html>")
    # --trace failing (the default) writes trace.json only for a run with findings.
    assert not (report / "trace.json").exists()
    assert "0 with findings" in capsys.readouterr().out
    assert _run(tmp_path, "--scenario", "golden_path", "--users", "2", "--trace", "full") == 0
    assert (report / "trace.json").exists()
    assert _run(tmp_path, "--scenario", "golden_path", "--users", "2", "--trace", "none") == 0
    assert not (report / "trace.json").exists()


def test_a_fault_exits_one_with_its_kind_and_replay_command(tmp_path: Path) -> None:
    code = _run(tmp_path, "--scenario", "burst", "--users", "5", "--fault", "shared-engine")
    assert code == 1
    data = json.loads((tmp_path / "report" / "findings.json").read_text())
    kinds = {finding["kind"] for finding in data["findings"]}
    assert "shared-state" in kinds
    assert data["replay"] == (
        "harness run --scenario burst --users 5 --seed 0 --strategy random --fault shared-engine"
    )
    assert all(finding["replay"] == data["replay"] for finding in data["findings"])


def test_json_prints_the_findings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _run(tmp_path, "--scenario", "golden_path", "--users", "3", "--json")
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["scenario"] == "golden_path"
    assert printed["findings"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--target", "nosuchmodule:Target"], "could not import module 'nosuchmodule'"),
        (["--target", "reference", "--fault", "shared-engin"], "Did you mean 'shared-engine'?"),
        (["--target", "http://example.invalid"], "URL scheme"),
        (["--target", "justaword"], "module:attr"),
        (["--scenario", "golden-path"], "Did you mean 'golden_path'?"),
        (["--seeds", "5..2"], "--seeds='5..2'"),
        (["--seed", "1", "--seeds", "0..3"], "use one"),
        (["--seed", "-1"], "--seed=-1 must be an integer >= 0"),
        (["--users", "0"], "--users=0"),
        (["--strategy", "pcy"], "Did you mean 'pct'?"),
        (["--target", "ws://127.0.0.1:9", "--fault", "no-cleanup"], "reference backend only"),
        (["--scenario", ","], "--scenario=',' names no scenario"),
    ],
)
def test_bad_input_exits_two_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert _run(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_report_command_rewrites_the_html(tmp_path: Path) -> None:
    assert (
        _run(tmp_path, "--scenario", "golden_path", "--users", "4", "--fault", "null-notifier") == 1
    )
    html = tmp_path / "report" / "report.html"
    html.unlink()
    assert main(["report", str(tmp_path / "report")]) == 1
    text = html.read_text()
    assert "event-missing" in text
    assert "<svg" in text


def test_report_command_on_a_malformed_file_exits_two(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "findings.json").write_text("{not json")
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "findings.json" in err
    assert "not JSON" in err or "JSON" in err


def test_no_arguments_runs_the_default_scenarios(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    data = json.loads((tmp_path / "reports" / "latest" / "findings.json").read_text())
    from harness.scenarios import DEFAULT_SCENARIOS

    assert [run["scenario"] for run in data["runs"]] == list(DEFAULT_SCENARIOS)
    assert all(run["stats"]["users"] == 100 for run in data["runs"])


def test_an_unusable_report_directory_exits_two_before_any_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    occupied = tmp_path / "a-file"
    occupied.write_text("not a directory")
    code = main(["run", "--report", str(occupied), "--scenario", "golden_path", "--users", "2"])
    assert code == 2
    captured = capsys.readouterr()
    assert "cannot be used as a report directory" in captured.err
    assert "Traceback" not in captured.err
    assert "run golden_path" not in captured.out  # failed fast: nothing ran


def test_options_without_a_command_are_run_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `harness` alone runs `harness run`; so do options given without a command.
    report = tmp_path / "report"
    code = main(["--scenario", "golden_path", "--users", "2", "--report", str(report)])
    assert code == 0
    assert (report / "findings.json").exists()
    assert "run golden_path" in capsys.readouterr().out
