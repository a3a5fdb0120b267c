"""``--runs``: the audit marks the items a run's shared-state/retention findings name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.audit import audit
from harness.cli import main
from harness.errors import FindingsFileError
from harness.model import Finding
from harness.reporting import write_findings
from suites.unit.reporting.traces import make_result, make_trace

SOURCE = """\
class AgentExecutionRegistry:
    def __init__(self):
        self._runs = {}


_unrelated = []
_shared_registry = AgentExecutionRegistry()


def register(run):
    _shared_registry._runs[run] = run
    _unrelated.append(run)
"""


def _reports(tmp_path: Path, *findings: Finding) -> Path:
    directory = tmp_path / "reports"
    write_findings(directory / "findings.json", [make_result(make_trace(), findings)])
    return directory


@pytest.fixture
def package(project: Path) -> Path:
    (project / "pkg" / "mod.py").write_text(SOURCE, encoding="utf-8")
    return project / "pkg"


def test_items_named_by_shared_state_evidence_are_marked_and_first(
    package: Path, tmp_path: Path
) -> None:
    shared = Finding(
        kind="shared-state",
        users=("usr_000000000000", "usr_000000000001"),
        summary="one AgentExecutionRegistry object is reachable from two users' roots",
        evidence=("engine.agent_registry (AgentExecutionRegistry)",),
    )
    unrelated = Finding(
        kind="foreign-data",
        users=("usr_000000000000",),
        summary="_unrelated leaked",
        evidence=("_unrelated",),
    )
    report = audit([package], runs=_reports(tmp_path, shared, unrelated))
    assert [(item.name, bool(item.seen_in_runs)) for item in report.items] == [
        ("pkg.mod._shared_registry", True),
        ("pkg.mod._unrelated", False),
    ]
    assert report.items[0].seen_in_runs == (f"shared-state: {shared.summary}",)


def test_no_matching_finding_leaves_the_order_alone(package: Path, tmp_path: Path) -> None:
    retention = Finding(
        kind="retention",
        users=("usr_000000000000",),
        summary="engine kept after close",
        evidence=("factory._engines['usr_000000000000']",),
    )
    report = audit([package], runs=_reports(tmp_path, retention))
    assert [item.seen_in_runs for item in report.items] == [(), ()]
    assert [item.name for item in report.items] == [
        "pkg.mod._unrelated",
        "pkg.mod._shared_registry",
    ]


def test_cli_shows_the_runs_column(
    package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = Finding(
        kind="retention",
        users=("usr_000000000000",),
        summary="run records kept in _shared_registry after close",
    )
    assert main(["audit", str(package), "--runs", str(_reports(tmp_path, shared)), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["items"][0]["name"] == "pkg.mod._shared_registry"
    assert data["items"][0]["seen_in_runs"] == [f"retention: {shared.summary}"]


def test_a_findings_file_of_another_schema_is_refused(package: Path, tmp_path: Path) -> None:
    (tmp_path / "findings.json").write_text(json.dumps({"schema": 9}), encoding="utf-8")
    with pytest.raises(FindingsFileError):
        audit([package], runs=tmp_path)
