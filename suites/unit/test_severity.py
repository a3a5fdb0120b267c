"""A severity on every finding: the record, its JSON form, old files and the gate."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from harness.errors import FindingsFileError
from harness.model import SEVERITIES, Finding
from harness.reporting import read_findings, write_findings
from harness.serialization import RecordDataError, from_data, to_data
from harness.settings import failing, hazards
from suites.unit.reporting.traces import foreign_data, make_result, make_trace


def _finding(severity: str = "leak") -> Finding:
    return Finding(kind="shared-state", users=("u1", "u2"), summary="s", severity=severity)  # type: ignore[arg-type]


def test_a_finding_is_a_leak_unless_told_otherwise() -> None:
    assert Finding(kind="hang", users=("u",), summary="s").severity == "leak"
    assert SEVERITIES == ("leak", "hazard")


def test_severity_round_trips_through_json_data() -> None:
    hazard = _finding("hazard")
    data = to_data(hazard)
    assert data["severity"] == "hazard"
    assert from_data(Finding, json.loads(json.dumps(data))) == hazard


def test_findings_of_different_severity_are_different_findings() -> None:
    assert _finding("leak") != _finding("hazard")
    assert len({_finding("leak"), _finding("hazard")}) == 2


def test_data_without_a_severity_reads_as_a_leak() -> None:
    data = to_data(_finding("hazard"))
    del data["severity"]
    assert from_data(Finding, data).severity == "leak"


def test_an_unknown_severity_is_refused_naming_the_field() -> None:
    data = to_data(_finding())
    data["severity"] = "critical"
    with pytest.raises(RecordDataError, match=r"Finding\.severity: value='critical' is not one"):
        from_data(Finding, data)


def test_findings_json_keeps_the_severity_and_old_files_still_read(tmp_path: Path) -> None:
    trace = make_trace(3)
    leak = foreign_data(trace)
    hazard = dataclasses.replace(leak, summary="only a hazard", severity="hazard")
    path = tmp_path / "findings.json"
    write_findings(path, [make_result(trace, [leak, hazard])])
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert [f["severity"] for f in raw["findings"]] == ["leak", "hazard"]
    assert [f.severity for f in read_findings(path).findings] == ["leak", "hazard"]
    # A schema-1 file written before severities existed: every finding reads as a leak.
    for finding in raw["findings"]:
        del finding["severity"]
    for run in raw.get("runs", []):
        for finding in run.get("findings", []):
            finding.pop("severity", None)
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert [f.severity for f in read_findings(path).findings] == ["leak", "leak"]


def test_a_findings_file_with_a_bad_severity_says_where(tmp_path: Path) -> None:
    trace = make_trace(2)
    path = tmp_path / "findings.json"
    write_findings(path, [make_result(trace, [foreign_data(trace)])])
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw["findings"][0]["severity"] = "minor"
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(FindingsFileError, match="severity"):
        read_findings(path)


def test_leaks_always_fail_hazards_only_when_strict() -> None:
    leak, hazard = _finding("leak"), _finding("hazard")
    assert failing([leak, hazard], strict=False) == [leak]
    assert failing([hazard], strict=False) == []
    assert failing([leak, hazard], strict=True) == [leak, hazard]
    assert hazards([leak, hazard]) == [hazard]
