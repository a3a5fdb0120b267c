"""The options every ``harness`` command shares, and the usage errors they give."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import __version__
from harness.cli import main
from harness.cli._options import (
    STRATEGIES,
    check_strategy,
    check_users,
    parse_seeds,
    prepare_report_dir,
    scenario_names,
)
from harness.errors import UnknownScenarioError, UsageError
from harness.scenarios import DEFAULT_SCENARIOS
from harness.scheduling import STRATEGY_NAMES


def test_seeds_are_one_seed_or_an_inclusive_range() -> None:
    assert parse_seeds(None, None) == [0]
    assert parse_seeds(7, None) == [7]
    assert parse_seeds(None, "2..4") == [2, 3, 4]


@pytest.mark.parametrize(
    ("seed", "seeds", "message"),
    [
        (1, "0..2", "both given"),
        (-1, None, "--seed=-1"),
        (None, "4..2", "--seeds='4..2'"),
        (None, "a..b", "--seeds='a..b'"),
        (None, "3", "--seeds='3'"),
    ],
)
def test_bad_seeds_name_the_value(seed: int | None, seeds: str | None, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("..", r"\.\.").replace("(", r"\(")):
        parse_seeds(seed, seeds)


def test_scenario_names_default_all_and_lists() -> None:
    assert scenario_names(None) == list(DEFAULT_SCENARIOS)
    assert "soak" in scenario_names("all")
    assert scenario_names(" burst, cancel ") == ["burst", "cancel"]
    with pytest.raises(UsageError, match="names no scenario"):
        scenario_names(" , ")
    with pytest.raises(UnknownScenarioError, match="burts"):
        scenario_names("burts")


def test_one_definition_of_the_strategies() -> None:
    assert STRATEGIES is STRATEGY_NAMES
    check_strategy("pct")
    with pytest.raises(UsageError, match="Did you mean 'random'"):
        check_strategy("randm")


def test_users_must_be_positive() -> None:
    check_users(1)
    with pytest.raises(UsageError, match="--users=0"):
        check_users(0)


def test_an_unusable_report_directory_fails_before_any_run(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(UsageError, match="cannot be used as a report directory"):
        prepare_report_dir(blocker / "sub")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"harness {__version__}"


def test_run_help_shows_defaults_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default 100)" in text and "(default random)" in text
    assert (
        "0 no findings, 1 findings (leaks; hazards too with --strict), 2 usage or target error"
        in text
    )


def test_explore_refuses_a_negative_start_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--start-seed", "-3", "--budget", "1"]) == 2
    assert "--start-seed=-3" in capsys.readouterr().err


def test_shrink_refuses_a_negative_reseed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["shrink", str(tmp_path / "findings.json"), "--reseed", "-1"]) == 2
    assert "--reseed=-1" in capsys.readouterr().err


def test_report_given_a_findings_file_names_its_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "findings.json"
    file.write_text("{}")
    assert main(["report", str(file)]) == 2
    assert f"harness report {tmp_path}" in capsys.readouterr().err
