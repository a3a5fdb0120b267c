"""A real ``--fault shared-registry`` run: the names in its findings resolve to definition sites,
and ``--runs`` marks an audited object those findings name."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.audit import audit, definition_sites
from harness.cli import main
from harness.reporting import read_findings

ROOT = Path(__file__).parents[3]


@pytest.fixture(scope="module")
def shared_registry_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = tmp_path_factory.mktemp("shared-registry")
    code = main(
        [
            "run",
            "--fault",
            "shared-registry",
            "--scenario",
            "golden_path",
            "--users",
            "4",
            "--seed",
            "0",
            "--report",
            str(report),
            "--json",
        ]
    )
    assert code == 1
    return report


def test_shared_registry_findings_name_where_the_registry_is_defined(
    shared_registry_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    findings = read_findings(shared_registry_run / "findings.json").findings
    shared = [f for f in findings if f.kind == "shared-state"]
    retained = [f for f in findings if f.kind == "retention"]
    assert shared and retained
    sites = definition_sites([ROOT / "harness_backend"])
    # The class named in the shared-state summary ...
    classes = {
        name: site
        for word in re.findall(r"\b[A-Z]\w+\b", " ".join(f.summary for f in shared))
        for name, site in sites.items()
        if name.endswith(f".{word}")
    }
    assert str(classes["harness_backend.execution_registry.AgentExecutionRegistry"]) == (
        "harness_backend/execution_registry.py:"
        + str(_line_of(ROOT / "harness_backend/execution_registry.py", "class AgentExecution"))
    )
    # ... and the attribute the retention evidence goes through.
    evidence = " ".join(e for f in retained for e in f.evidence)
    assert "_fault_state.shared_registry" in evidence
    site = sites["harness_backend.faults.FaultState.shared_registry"]
    assert site.path == "harness_backend/faults.py"
    assert "self.shared_registry" in (ROOT / site.path).read_text().splitlines()[site.line - 1]


def _line_of(path: Path, prefix: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, 1) if line.startswith(prefix))


def test_runs_mark_an_audited_registry_the_run_saw_shared(
    shared_registry_run: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A codebase whose module-level registry has the class the run found shared.
    (project / "pkg" / "mod.py").write_text(
        "class AgentExecutionRegistry:\n    pass\n\n\n_registry = AgentExecutionRegistry()\n"
        "_other = {}\n",
        encoding="utf-8",
    )
    report = audit([project / "pkg"], runs=shared_registry_run)
    assert [(i.name, bool(i.seen_in_runs)) for i in report.items] == [
        ("pkg.mod._registry", True),
        ("pkg.mod._other", False),
    ]
    capsys.readouterr()
    assert main(["audit", str(project / "pkg"), "--runs", str(shared_registry_run), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["runs"] == str(shared_registry_run)
    assert data["items"][0]["seen_in_runs"][0].startswith(
        "shared-state: one AgentExecutionRegistry"
    )
