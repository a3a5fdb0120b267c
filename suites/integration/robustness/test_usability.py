"""Usability under misbehaviour: --json stays parseable, --turn-timeout is honoured, a long run
shows a heartbeat, [tool.harness] configures run, replay names the real problem, shrink is
bounded in time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from suites.integration.robustness._cli import ADAPTERS, run_harness

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def test_adapter_prints_do_not_break_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:PrintsToStdout", "--users", "2", "--json"
    )
    assert got.code == 0
    assert json.loads(got.out)["findings"] == []
    assert "adapter: connecting to the backend" in got.err


def test_turn_timeout_is_honoured(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:TurnHangs", "--users", "2",
        "--turn-timeout", "2.5",
    )  # fmt: skip
    assert got.code == 1
    assert "timed out after 2.500s" in got.text_of("hang")


def test_turn_timeout_must_be_positive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run_harness(capsys, tmp_path, "--turn-timeout", "0")
    assert exited.value.code == 2
    assert "'0' is not a number of seconds > 0" in capsys.readouterr().err


def test_a_long_run_without_a_terminal_prints_a_heartbeat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(
        capsys, tmp_path, "--target", f"{ADAPTERS}:TurnBlocksLoop", "--users", "2",
        "--heartbeat", "0.2",
    )  # fmt: skip
    assert "harness run: still running golden_path seed 0:" in got.err


def test_a_quick_run_prints_no_heartbeat(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    got = run_harness(capsys, tmp_path, "--users", "2")
    assert "still running" not in got.err


def test_tool_harness_in_pyproject_configures_run_and_the_cli_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.harness]\nscenario = "golden_path"\nusers = 3\nseeds = "0..1"\n'
        'strategy = "fifo"\nstrict = true\n'
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_USERS", raising=False)
    assert main(["run", "--report", "configured"]) == 0
    data = json.loads((tmp_path / "configured" / "findings.json").read_text())
    assert [(r["seed"], r["stats"]["users"], r["strategy"]) for r in data["runs"]] == [
        (0, 3, "fifo"),
        (1, 3, "fifo"),
    ]
    monkeypatch.setenv("HARNESS_USERS", "2")
    assert main(["run", "--report", "by-env", "--seed", "4"]) == 0
    data = json.loads((tmp_path / "by-env" / "findings.json").read_text())
    assert (data["seed"], data["stats"]["users"]) == (4, 2)
    assert main(["run", "--report", "by-cli", "--users", "4"]) == 0
    data = json.loads((tmp_path / "by-cli" / "findings.json").read_text())
    assert data["runs"][0]["stats"]["users"] == 4
    capsys.readouterr()


def test_an_unknown_tool_harness_key_exits_two_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.harness]\nuser = 3\n")
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--report", "r"]) == 2
    err = capsys.readouterr().err
    assert "[tool.harness] has an unknown key 'user'. Did you mean 'users'?" in err


def _leaky_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    got = run_harness(capsys, tmp_path / "leak", "--users", "3", "--fault", "shared-engine")
    assert got.code == 1
    return tmp_path / "leak" / "findings.json"


def test_replay_of_an_unimportable_target_names_the_import_not_a_fault(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _leaky_findings(tmp_path, capsys)
    data = json.loads(path.read_text())
    assert data["fault"] == "shared-engine"
    data["target"] = "nosuch_adapters_xyz:Target"
    path.write_text(json.dumps(data))
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert "could not import module 'nosuch_adapters_xyz'" in err
    assert "--fault" not in err


def test_shrink_stops_at_its_budget_and_writes_what_it_has(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _leaky_findings(tmp_path, capsys)
    assert main(["shrink", str(path), "--reseed", "0", "--budget", "0.001"]) == 1
    out = capsys.readouterr().out
    assert "shrink: --budget 0.001s spent after 1 candidates" in out
    shrunk = json.loads(path.with_name("findings.shrunk.json").read_text())
    assert {f["kind"] for f in shrunk["findings"]} >= {"shared-state"}
