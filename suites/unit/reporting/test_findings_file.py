from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from harness.errors import FindingsFileError
from harness.reporting import (
    FindingsFile,
    read_findings,
    read_trace,
    report_from_dir,
    write_findings,
    write_reports,
    write_trace,
)
from harness.serialization import to_data
from suites.unit.reporting.traces import foreign_data, make_result, make_trace, missing_tools


def failing_result() -> Any:
    trace = make_trace(3, drop=[(2, "tool_executing"), (2, "tool_completed")])
    return make_result(trace, [foreign_data(trace), missing_tools(trace)], fault="shared_registry")


def test_one_run_round_trips(tmp_path: Path) -> None:
    result = failing_result()
    path = tmp_path / "out" / "findings.json"
    write_findings(path, [result])
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema"] == 1
    assert "runs" not in data
    assert set(data) == {
        "schema", "scenario", "seed", "strategy", "target", "fault", "trace_digest", "replay",
        "findings", "stats", "notes", "scenario_spec",
    }  # fmt: skip
    read = read_findings(path)
    assert isinstance(read, FindingsFile)
    assert read.findings == result.findings
    assert read.scenario_spec == result.trace.scenario_spec
    assert (read.scenario, read.seed, read.strategy, read.target, read.fault) == (
        "basic", 7, "random", "reference", "shared_registry",
    )  # fmt: skip
    assert read.trace_digest == result.trace_digest
    assert read.stats == dict(result.stats)
    assert read.notes == result.notes
    assert read.runs == ()
    assert read.all_runs() == (read.headline(),)


def test_several_runs_head_with_the_first_failing_one(tmp_path: Path) -> None:
    clean = make_result(make_trace(2, seed=0))
    failing = failing_result()
    also = make_result(make_trace(2, seed=9))
    path = tmp_path / "findings.json"
    write_findings(path, [clean, failing, also])
    read = read_findings(path)
    assert read.seed == failing.seed and read.findings == failing.findings
    assert [run.seed for run in read.runs] == [0, 7, 9]
    assert read.runs[0].findings == () and read.runs[1].findings == failing.findings
    assert "scenario_spec" not in json.loads(path.read_text())["runs"][0]
    # None failing: the first run heads the file.
    write_findings(path, [clean, also])
    assert read_findings(path).seed == 0


def test_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    write_findings(tmp_path / "findings.json", [failing_result()])
    write_trace(tmp_path / "trace.json", make_trace(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json", "trace.json"]
    # Readable by others as any file the user writes (not mkstemp's private 0600).
    mask = os.umask(0o022)
    os.umask(mask)
    assert (tmp_path / "findings.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_empty_results_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FindingsFileError, match=r"results=\[\] holds no run"):
        write_findings(tmp_path / "findings.json", [])


def test_trace_round_trips(tmp_path: Path) -> None:
    trace = make_trace(3, turns=2, name="Zoë <b>")
    write_trace(tmp_path / "trace.json", trace)
    assert read_trace(tmp_path / "trace.json") == trace


def test_trace_is_compact_and_may_be_gzipped(tmp_path: Path) -> None:
    trace = make_trace(3, turns=2, name="Zoë <b>")
    write_trace(tmp_path / "trace.json", trace)
    plain = (tmp_path / "trace.json").read_bytes()
    assert b"\n " not in plain and plain.count(b"\n") == 1  # one line, no indentation
    write_trace(tmp_path / "trace.json.gz", trace)
    packed = (tmp_path / "trace.json.gz").read_bytes()
    assert packed[:2] == b"\x1f\x8b" and len(packed) < len(plain)
    assert read_trace(tmp_path / "trace.json.gz") == trace
    write_trace(tmp_path / "again.json.gz", trace)
    assert (tmp_path / "again.json.gz").read_bytes() == packed  # same trace, same bytes
    (tmp_path / "broken.json.gz").write_bytes(packed[:20])
    with pytest.raises(FindingsFileError, match=r"trace file=.*broken.json.gz.* cannot be read"):
        read_trace(tmp_path / "broken.json.gz")


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "findings.json"
    path.write_text(content, encoding="utf-8")
    return path


def _valid_data(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "good.json"
    write_findings(path, [failing_result()])
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_not_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "{not json")
    with pytest.raises(FindingsFileError) as info:
        read_findings(path)
    message = str(info.value)
    assert str(path) in message
    assert "is not JSON" in message and "line 1" in message
    assert "harness run" in message


def test_list_instead_of_object(tmp_path: Path) -> None:
    path = _write(tmp_path, "[1, 2]")
    with pytest.raises(FindingsFileError, match=r"holds a JSON list, expected an object") as info:
        read_findings(path)
    assert str(path) in str(info.value)


def test_other_schema(tmp_path: Path) -> None:
    data = _valid_data(tmp_path)
    data["schema"] = 2
    path = _write(tmp_path, json.dumps(data))
    with pytest.raises(FindingsFileError) as info:
        read_findings(path)
    message = str(info.value)
    assert "schema=2" in message and "reads schema 1" in message and str(path) in message


def test_missing_schema(tmp_path: Path) -> None:
    data = _valid_data(tmp_path)
    del data["schema"]
    with pytest.raises(
        FindingsFileError, match=r"has no 'schema' key; this harness reads schema 1"
    ):
        read_findings(_write(tmp_path, json.dumps(data)))


def test_missing_findings(tmp_path: Path) -> None:
    data = _valid_data(tmp_path)
    del data["findings"]
    path = _write(tmp_path, json.dumps(data))
    with pytest.raises(FindingsFileError, match=r"lacks the key\(s\) 'findings'") as info:
        read_findings(path)
    assert str(path) in str(info.value)


def test_finding_missing_kind(tmp_path: Path) -> None:
    data = _valid_data(tmp_path)
    del data["findings"][1]["kind"]
    path = _write(tmp_path, json.dumps(data))
    with pytest.raises(FindingsFileError) as info:
        read_findings(path)
    message = str(info.value)
    assert "key 'findings[1].kind'" in message
    assert "Finding needs the field 'kind'" in message
    assert str(path) in message


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    data = _valid_data(tmp_path)
    data["seed"] = "seven"
    with pytest.raises(FindingsFileError, match=r"key 'seed': value='seven' \(type str\)"):
        read_findings(_write(tmp_path, json.dumps(data)))


def test_run_entry_missing_key(tmp_path: Path) -> None:
    data = _valid_data(tmp_path)
    data["runs"] = [{k: v for k, v in data.items() if k not in ("schema", "scenario_spec", "seed")}]
    with pytest.raises(FindingsFileError, match=r"runs\[0\] lacks the key\(s\) 'seed'"):
        read_findings(_write(tmp_path, json.dumps(data)))


def test_missing_file_and_bad_trace(tmp_path: Path) -> None:
    with pytest.raises(FindingsFileError, match=r"does not exist"):
        read_findings(tmp_path / "nowhere.json")
    data = to_data(make_trace(1))
    data["turns"][0]["outcome"]["status"] = "finished"
    (tmp_path / "trace.json").write_text(json.dumps(data))
    with pytest.raises(FindingsFileError, match=r"key 'turns\[0\]\.outcome\.status'"):
        read_trace(tmp_path / "trace.json")


def test_report_directory_round_trip(tmp_path: Path) -> None:
    result = failing_result()
    paths = write_reports(tmp_path / "latest", [make_result(make_trace(2, seed=0)), result])
    assert paths.findings.exists() and paths.trace is not None and paths.html is not None
    assert read_trace(paths.trace) == result.trace
    paths.html.unlink()
    rebuilt = report_from_dir(tmp_path / "latest")
    html = rebuilt.read_text(encoding="utf-8")
    assert "missing tool_executing, tool_completed" in html
    with pytest.raises(FindingsFileError, match=r"is not a directory"):
        report_from_dir(tmp_path / "absent")


def test_a_report_directory_with_a_compressed_trace_keeps_its_timeline(tmp_path: Path) -> None:
    result = failing_result()
    paths = write_reports(tmp_path / "latest", [result], trace=False)
    write_trace(tmp_path / "latest" / "trace.json.gz", result.trace)
    assert paths.html is not None
    paths.html.unlink()
    html = report_from_dir(tmp_path / "latest").read_text(encoding="utf-8")
    assert "missing tool_executing, tool_completed" in html  # drawn from the trace


def test_every_field_of_a_run_has_its_key_in_the_file() -> None:
    from harness.model import RUN_RECORD_FIELDS, RunRecord, RunResult
    from harness.reporting import FindingsFile, FindingsRun
    from harness.reporting._findings_file import RUN_KEYS

    assert sorted(RUN_KEYS) == sorted(RUN_RECORD_FIELDS)
    # One definition of a run's fields: the live result and the file's records share it.
    assert FindingsRun is RunRecord
    assert issubclass(RunResult, RunRecord) and issubclass(FindingsFile, RunRecord)
