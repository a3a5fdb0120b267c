"""explore finds the register race, replay reproduces it every time, shrink makes it small."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main


@pytest.fixture(scope="module")
def race(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = tmp_path_factory.mktemp("explore")
    code = main(
        [
            "explore",
            "--fault",
            "register-race",
            "--strategy",
            "pct",
            "--scenario",
            "limit_pressure",
            "--users",
            "4",
            "--budget",
            "120",
            "--report",
            str(report),
        ]
    )
    assert code == 1, "pct found no register-race interleaving within the budget"
    return report / "findings.json"


def test_explore_writes_a_findings_file_with_the_limit_breach(race: Path) -> None:
    data = json.loads(race.read_text())
    assert data["strategy"] == "pct"
    assert "limit-breach" in {finding["kind"] for finding in data["findings"]}
    assert "--fault register-race" in data["replay"]


def test_replay_reproduces_the_race_ten_times_out_of_ten(
    race: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = json.loads(race.read_text())["trace_digest"]
    for _ in range(10):
        assert main(["replay", str(race)]) == 1
        out = capsys.readouterr().out
        assert "reproduced: limit-breach" in out
        assert f"trace identical ({recorded[:12]}" in out


def test_fifo_does_not_find_it_in_the_same_number_of_schedules(race: Path) -> None:
    from harness.runner import explore

    tried_by_pct = json.loads(race.read_text())["seed"] + 1
    found, tried, _ = explore(
        ["limit_pressure"],
        users=4,
        strategy="fifo",
        budget=60,
        fault="register-race",
        max_tries=max(tried_by_pct, 10),
    )
    assert found is None
    assert tried == max(tried_by_pct, 10)


def test_shrink_writes_a_smaller_failing_scenario_that_replays(
    race: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = race.with_name("shrunk.json")
    assert main(["shrink", str(race), "--output", str(output)]) == 1
    shrunk = json.loads(output.read_text())
    original = json.loads(race.read_text())
    assert len(shrunk["scenario_spec"]["users"]) < len(original["scenario_spec"]["users"])
    turns = sum(len(s["turns"]) for s in shrunk["scenario_spec"]["sessions"])
    assert turns <= 4
    assert shrunk["replay"] == f"harness replay {output}"
    capsys.readouterr()
    assert main(["replay", str(output)]) == 1
    assert "reproduced: limit-breach" in capsys.readouterr().out


def test_replay_of_a_clean_run_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "clean"
    assert main(["run", "--scenario", "golden_path", "--users", "3", "--report", str(report)]) == 0
    capsys.readouterr()
    assert main(["replay", str(report / "findings.json")]) == 0
    assert "had no findings" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[1, 2]", "expected an object"),
        ('{"schema": 2}', "schema"),
        ("", "JSON"),
    ],
)
def test_replay_rejects_malformed_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "findings.json"
    path.write_text(content)
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert str(path) in err


def test_shrink_refuses_a_file_without_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "clean"
    assert main(["run", "--scenario", "golden_path", "--users", "2", "--report", str(report)]) == 0
    assert main(["shrink", str(report / "findings.json")]) == 2
    assert "nothing to shrink" in capsys.readouterr().err
