"""A report directory: ``findings.json``, ``trace.json`` and ``report.html`` side by side.

``harness run --report DIR`` writes all three with :func:`write_reports`; ``harness report DIR``
rebuilds the HTML from the two JSON files with :func:`report_from_dir`.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import FindingsFileError
from harness.model import RunResult
from harness.reporting._findings_file import (
    first_failing,
    read_findings,
    read_trace,
    write_findings,
    write_trace,
)
from harness.reporting._html import write_html

__all__ = [
    "FINDINGS_NAME",
    "HTML_NAME",
    "TRACE_NAME",
    "ReportPaths",
    "report_from_dir",
    "write_reports",
]

FINDINGS_NAME = "findings.json"
TRACE_NAME = "trace.json"
HTML_NAME = "report.html"


@dataclass(frozen=True, slots=True)
class ReportPaths:
    """The files a report directory holds (``None`` for one not written)."""

    findings: Path
    trace: Path | None
    html: Path | None


def write_reports(
    directory: str | os.PathLike[str],
    results: Sequence[RunResult],
    *,
    trace: bool = True,
    html: bool = True,
    cache: MutableMapping[int, dict[str, Any]] | None = None,
) -> ReportPaths:
    """Write ``findings.json`` and, unless turned off, ``trace.json`` and ``report.html``.

    The trace is the first failing run's (the first run's when none failed).

    Raises:
        FindingsFileError: ``results`` is empty.

    Example:
        >>> write_reports("reports/latest", results).html  # doctest: +SKIP
        PosixPath('reports/latest/report.html')
    """
    root = Path(directory)
    head = first_failing(results)
    findings_path = root / FINDINGS_NAME
    write_findings(findings_path, results, cache=cache)
    trace_path = root / TRACE_NAME if trace else None
    if trace_path is not None:
        write_trace(trace_path, head.trace)
    html_path = root / HTML_NAME if html else None
    if html_path is not None:
        write_html(html_path, results)
    return ReportPaths(findings=findings_path, trace=trace_path, html=html_path)


def report_from_dir(
    directory: str | os.PathLike[str], output: str | os.PathLike[str] | None = None
) -> Path:
    """Rebuild ``report.html`` from a report directory's ``findings.json`` and ``trace.json``.

    A missing ``trace.json`` gives a report without the timeline.

    Raises:
        FindingsFileError: ``directory`` is not a directory, or a file there cannot be read.
    """
    root = Path(directory)
    if not root.is_dir():
        raise FindingsFileError(
            f"report directory={str(root)!r} is not a directory. Pass the directory given to "
            "`harness run --report DIR` (it holds findings.json)."
        )
    findings = read_findings(root / FINDINGS_NAME)
    # trace.json, or its compressed form (``--report`` directories may hold either).
    trace_file = next(
        (path for path in (root / TRACE_NAME, root / f"{TRACE_NAME}.gz") if path.exists()), None
    )
    trace = read_trace(trace_file) if trace_file is not None else None
    html_path = Path(output) if output is not None else root / HTML_NAME
    write_html(html_path, findings, trace)
    return html_path
