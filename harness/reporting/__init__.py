"""Reports of a run: the terminal, ``findings.json``/``trace.json`` and ``report.html``.

Reporters read frozen records (:class:`~harness.model.RunResult`, :class:`FindingsFile`),
never a live runner.
"""

from __future__ import annotations

from harness.reporting._findings_file import FINDINGS_SCHEMA as FINDINGS_SCHEMA
from harness.reporting._findings_file import FindingsFile as FindingsFile
from harness.reporting._findings_file import FindingsRun as FindingsRun
from harness.reporting._findings_file import first_failing as first_failing
from harness.reporting._findings_file import read_findings as read_findings
from harness.reporting._findings_file import read_trace as read_trace
from harness.reporting._findings_file import write_findings as write_findings
from harness.reporting._findings_file import write_trace as write_trace
from harness.reporting._html import render_html as render_html
from harness.reporting._html import write_html as write_html
from harness.reporting._protocol import Reporter as Reporter
from harness.reporting._report_dir import ReportPaths as ReportPaths
from harness.reporting._report_dir import report_from_dir as report_from_dir
from harness.reporting._report_dir import write_reports as write_reports
from harness.reporting._terminal import DOCS_FINDINGS as DOCS_FINDINGS
from harness.reporting._terminal import TerminalReporter as TerminalReporter
from harness.reporting._terminal import current_reporter as current_reporter
from harness.reporting._terminal import docs_link as docs_link
from harness.reporting._terminal import findings_by_kind as findings_by_kind
from harness.reporting._terminal import with_reporter as with_reporter
from harness.reporting._timeline import MAX_LANES as MAX_LANES
from harness.reporting._timeline import Timeline as Timeline
from harness.reporting._timeline import build_timeline as build_timeline

__all__ = [
    # files
    "FINDINGS_SCHEMA",
    "FindingsFile",
    "FindingsRun",
    "first_failing",
    "read_findings",
    "read_trace",
    "write_findings",
    "write_trace",
    # a report directory
    "ReportPaths",
    "report_from_dir",
    "write_reports",
    # HTML
    "MAX_LANES",
    "Timeline",
    "build_timeline",
    "render_html",
    "write_html",
    # terminal
    "DOCS_FINDINGS",
    "Reporter",
    "TerminalReporter",
    "current_reporter",
    "docs_link",
    "findings_by_kind",
    "with_reporter",
]
