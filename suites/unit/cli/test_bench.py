"""The bench machinery on tiny sizes: JSON shape and positive numbers, never timing limits."""

from __future__ import annotations

import json
from typing import Any

import pytest

import harness.cli.bench
from harness.cli.bench import load_bench, render


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    bench = load_bench()
    report = bench.run_all(quick=True, sizes=bench.BenchSizes.tiny())
    data: dict[str, Any] = report.summary()
    return data


def test_headline_numbers_are_positive_plain_numbers(summary: dict[str, Any]) -> None:
    for key in ("turns_per_second", "detector_overhead", "scheduler_overhead"):
        value = summary[key]
        assert type(value) is float, (key, value)
        assert value > 0, (key, value)


def test_summary_is_one_json_object_with_every_section(summary: dict[str, Any]) -> None:
    text = json.dumps(summary)
    again = json.loads(text)
    assert isinstance(again, dict)
    assert set(again["turns_per_second_by_users"]) == {"3", "4"}
    assert all(v > 0 for v in again["turns_per_second_by_users"].values())
    assert set(again["rss_per_user_bytes"]) == {"3"}
    assert set(again["goals"]) == set(harness.cli.bench.load_bench().GOALS)
    for goal in again["goals"].values():
        assert isinstance(goal["met"], bool)
        assert goal["value"] > 0
    assert again["machine"]["nproc"] >= 1
    assert again["websocket_turns_per_second"] is None  # tiny sizes skip the server


def test_details_count_what_ran(summary: dict[str, Any]) -> None:
    details = summary["details"]
    throughput = details["throughput"]
    assert [t["users"] for t in throughput] == [3, 4]
    assert all(t["turns"] >= t["users"] and t["walks"] > 0 for t in throughput)
    assert all(t["command"].startswith("harness run") for t in throughput)
    assert details["scheduler_overhead"]["medians"]["asyncio"] > 0
    memory = details["memory"][0]
    assert memory["peak_rss_bytes"] >= memory["baseline_rss_bytes"] > 0
    assert memory["tracemalloc_peak_bytes"] > 0
    assert all(e["tried"] >= 1 for e in details["explore"])
    race = details["race"]
    assert set(race["needed"]) == {"pct", "random", "fifo"}
    for needed in race["needed"].values():
        assert all(count is None or 1 <= count <= race["limit"] for count in needed)


def test_render_prints_every_figure(summary: dict[str, Any]) -> None:
    from rich.console import Console

    console = Console(record=True, width=200)
    render(summary, console)
    text = console.export_text()
    assert "detector overhead" in text
    assert "seeded loop (pct) / stock asyncio" in text
    assert "race search register-race" in text
    assert "goals" in text


def test_only_rejects_an_unknown_benchmark(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["bench", "--only", "throughputs"]) == 2
    assert "--only='throughputs' is not one of" in capsys.readouterr().err


def test_only_runs_one_benchmark_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["bench", "--only", "throughput", "--users", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[0]["users"] == 3 and data[0]["turns"] >= 3


def test_public_names() -> None:
    bench = load_bench()
    assert harness.cli.bench.__all__ == [
        "COMMANDS",
        "ONLY",
        "add_commands",
        "command_bench",
        "load_bench",
        "render",
    ]
    assert "run_all" in bench.__all__ and all(hasattr(bench, name) for name in bench.__all__)
