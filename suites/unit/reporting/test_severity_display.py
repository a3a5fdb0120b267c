"""The terminal and report.html show each finding's severity; the summary counts hazards."""

from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from harness.model import RunResult
from harness.reporting import TerminalReporter, render_html
from suites.unit.reporting.traces import foreign_data, make_result, make_trace, missing_tools


def _reporter() -> tuple[TerminalReporter, io.StringIO]:
    buffer = io.StringIO()
    return TerminalReporter(Console(file=buffer, force_terminal=False, width=80)), buffer


def _mixed() -> list[RunResult]:
    trace = make_trace(3)
    hazard = dataclasses.replace(foreign_data(trace), severity="hazard")
    return [make_result(trace, [hazard, missing_tools(trace)])]


def test_a_hazard_is_labelled_and_a_leak_still_fails() -> None:
    reporter, buffer = _reporter()
    reporter.run_finished(_mixed()[0])
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("done basic seed=7 strategy=random: 2 finding(s) (1 hazard) digest=")
    assert any(line.startswith("HAZARD foreign-data  users: ") for line in lines)
    assert any(line.startswith("FAIL event-missing  users: ") for line in lines)
    assert not any(line.startswith("FAIL foreign-data") for line in lines)


def test_the_summary_counts_hazards_that_did_not_fail_the_run() -> None:
    reporter, buffer = _reporter()
    reporter.summary(_mixed())
    lines = buffer.getvalue().splitlines()
    assert "findings=foreign-data x1 (1 hazard), event-missing x1" in lines[0]
    assert lines[-1] == (
        "1 run(s), 1 with findings, 2 finding(s) in all; "
        "1 hazard(s) did not fail the run (--strict fails on them)"
    )


def test_under_strict_the_summary_says_hazards_failed_the_run() -> None:
    reporter, buffer = _reporter()
    reporter.summary(_mixed(), strict=True)
    assert buffer.getvalue().splitlines()[-1].endswith("; 1 hazard(s) failed the run (strict)")


def test_without_hazards_the_summary_line_is_unchanged() -> None:
    reporter, buffer = _reporter()
    trace = make_trace(2)
    reporter.summary([make_result(trace, [foreign_data(trace)])])
    assert buffer.getvalue().splitlines()[-1] == "1 run(s), 1 with findings, 1 finding(s) in all"


def test_report_html_shows_each_findings_severity() -> None:
    html = render_html(_mixed())
    assert 'class="finding foreign-data hazard"' in html
    assert '<span class="severity hazard">hazard</span>' in html
    assert 'class="finding event-missing leak"' in html
    assert '<span class="severity leak">leak</span>' in html
