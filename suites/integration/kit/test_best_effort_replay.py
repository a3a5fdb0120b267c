"""``deterministic=False``: replay and shrink say "best effort", and judge by findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main

SPEC = "suites.integration.kit.kit_targets:SharedAgentTarget"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = tmp_path_factory.mktemp("best-effort")
    argv = ["run", "--target", SPEC, "--scenario", "burst", "--users", "4", "--report", str(report)]
    assert main(argv) == 1
    return report / "findings.json"


def test_replay_of_a_nondeterministic_target_compares_findings_not_digests(
    recorded: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kinds = sorted({f["kind"] for f in json.loads(recorded.read_text())["findings"]})
    capsys.readouterr()
    assert main(["replay", str(recorded)]) == 1
    out = capsys.readouterr().out
    assert "best effort (the target is not deterministic)" in out
    assert "comparing findings, not trace digests" in out
    assert "trace identical" not in out and "trace differs" not in out
    assert f"reproduced: {', '.join(kinds)}" in out


def test_shrink_of_a_nondeterministic_target_says_best_effort(
    recorded: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "shrunk.json"
    capsys.readouterr()
    assert main(["shrink", str(recorded), "--output", str(output)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("best effort: the target is not deterministic")
    assert "trace digests are not compared" in out
    shrunk = json.loads(output.read_text())
    assert len(shrunk["scenario_spec"]["users"]) < 4
    assert shrunk["findings"]


def test_replay_of_a_deterministic_target_still_compares_digests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = "suites.integration.kit.kit_targets:FreshRootsTarget"
    argv = ["run", "--target", spec, "--scenario", "golden_path", "--users", "3"]
    assert main([*argv, "--report", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["replay", str(tmp_path / "findings.json")]) == 0
    out = capsys.readouterr().out
    assert "trace identical" in out and "best effort" not in out
