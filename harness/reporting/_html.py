"""``report.html``: one self-contained page with the runs, their findings and a timeline.

The page has inline CSS and inline SVG only: no script, no stylesheet, no font or image fetched
from anywhere; the only link leaving the page is the relative one to ``docs/findings.md``.
Everything taken from a run is escaped (jinja2 autoescape), so a canary holding ``<script>``
shows as text.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2

from harness.detectors import group_findings, leak_matrix
from harness.model import Finding, RunResult, Trace
from harness.reporting._findings_file import FindingsFile, FindingsRun, _write_text, first_failing
from harness.reporting._terminal import DOCS_FINDINGS, budget_notes, findings_by_kind
from harness.reporting._timeline import Timeline, build_timeline

__all__ = ["FINDINGS_PER_PAGE", "render_html", "write_html"]

#: Findings shown per collapsible page of a run.
FINDINGS_PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class _RunRow:
    scenario: str
    seed: int
    strategy: str
    target: str
    fault: str | None
    users: str
    turns: str
    counts: dict[str, int]
    digest: str
    anchor: str
    pages: tuple[tuple[tuple[str, Finding], ...], ...]
    replay: str


def _pages(findings: Sequence[Finding], anchor: str) -> tuple[tuple[tuple[str, Finding], ...], ...]:
    items = tuple((f"{anchor}-{i}", finding) for i, finding in enumerate(findings))
    return tuple(
        items[start : start + FINDINGS_PER_PAGE]
        for start in range(0, len(items), FINDINGS_PER_PAGE)
    )


def _row_from_result(index: int, result: RunResult) -> _RunRow:
    anchor = f"run{index}"
    return _RunRow(
        scenario=result.scenario,
        seed=result.seed,
        strategy=result.strategy,
        target=result.target,
        fault=result.fault,
        users=str(len(result.trace.users)),
        turns=str(len(result.trace.turns)),
        counts=findings_by_kind(group_findings(result.findings)),
        digest=result.trace_digest,
        anchor=anchor,
        pages=_pages(group_findings(result.findings), anchor),
        replay=result.replay,
    )


def _row_from_file(index: int, run: FindingsRun, trace: Trace | None) -> _RunRow:
    anchor = f"run{index}"
    own = trace is not None and (trace.scenario, trace.seed) == (run.scenario, run.seed)
    return _RunRow(
        scenario=run.scenario,
        seed=run.seed,
        strategy=run.strategy,
        target=run.target,
        fault=run.fault,
        users=str(len(trace.users)) if own and trace else str(run.stats.get("users", "?")),
        turns=str(len(trace.turns)) if own and trace else str(run.stats.get("turns", "?")),
        counts=findings_by_kind(group_findings(run.findings)),
        digest=run.trace_digest,
        anchor=anchor,
        pages=_pages(group_findings(run.findings), anchor),
        replay=run.replay,
    )


#: Users given a row and a column of the leak matrix; the others are summed.
MATRIX_USERS = 20


def _matrix(findings: Sequence[Finding]) -> tuple[tuple[str, ...], list[tuple[str, list[int]]]]:
    """Column labels and (row label, cells) of the leak matrix; empty when nothing crossed."""
    matrix = leak_matrix(findings)
    if not matrix.cells:
        return (), []
    shown, more = matrix.top(MATRIX_USERS)
    labels = (*shown, *(("others",) if more else ()))
    position = {user: i for i, user in enumerate(shown)}
    grid = [[0] * len(labels) for _ in labels]
    for (owner, receiver), n in matrix.cells.items():
        grid[position.get(owner, len(shown))][position.get(receiver, len(shown))] += n
    return labels, list(zip(labels, grid, strict=True))


def _docs_href(path: Path | None) -> str:
    # Link to the repository's docs relative to where the report lands, when the docs exist
    # (a checkout); an installed harness falls back to the repository-relative path.
    docs = Path(__file__).resolve().parents[2] / DOCS_FINDINGS
    if path is None or not docs.exists():
        return DOCS_FINDINGS
    try:
        return Path(os.path.relpath(docs, path.resolve().parent)).as_posix()
    except ValueError:
        return DOCS_FINDINGS


@functools.lru_cache(maxsize=1)
def _template() -> jinja2.Template:
    """The report template, compiled once per process (a compile costs more than a render)."""
    environment = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    source = resources.files("harness.reporting").joinpath("templates/report.html.j2")
    return environment.from_string(source.read_text(encoding="utf-8"))


def render_html(
    source: Sequence[RunResult] | FindingsFile,
    trace: Trace | None = None,
    *,
    docs_href: str = DOCS_FINDINGS,
) -> str:
    """Return the HTML report of runs, or of a findings file and its trace.

    Args:
        source: the runs of ``harness run``, or a :class:`FindingsFile` read back.
        trace: the trace to draw; defaults to the first failing run's trace for runs.
        docs_href: the findings documentation, linked as ``<docs_href>#<kind>``.
    """
    if isinstance(source, FindingsFile):
        runs = source.all_runs()
        head_run = source.headline()
        rows = [_row_from_file(i, run, trace) for i, run in enumerate(runs)]
        head_index = next((i for i, run in enumerate(runs) if run == head_run), 0)
        notes = source.notes
    else:
        head = first_failing(source)
        trace = trace if trace is not None else head.trace
        rows = [_row_from_result(i, result) for i, result in enumerate(source)]
        head_index = next(i for i, result in enumerate(source) if result is head)
        notes = head.notes
    if trace is not None:
        notes = (*notes, *budget_notes(trace.observed))
    head_row = rows[head_index]
    timeline: Timeline | None = None
    if trace is not None:
        timeline = build_timeline(
            trace,
            [finding for page in head_row.pages for _, finding in page],
            anchor_prefix=head_row.anchor,
        )
    return _template().render(
        head=head_row,
        rows=rows,
        notes=notes,
        timeline=timeline,
        trace=trace,
        docs_href=docs_href,
        per_page=FINDINGS_PER_PAGE,
        matrix=_matrix([finding for page in head_row.pages for _, finding in page]),
        total=sum(sum(row.counts.values()) for row in rows),
    )


def write_html(
    path: str | os.PathLike[str],
    source: Sequence[RunResult] | FindingsFile,
    trace: Trace | None = None,
) -> None:
    """Write ``report.html`` (atomically) for runs, or for a findings file and its trace.

    Example:
        >>> write_html("reports/latest/report.html", results)  # doctest: +SKIP
        >>> write_html(out, read_findings(d / "findings.json"), read_trace(d / "trace.json"))
        ... # doctest: +SKIP
    """
    target = Path(path)
    html = render_html(source, trace, docs_href=_docs_href(target))
    _write_text(target, html)
