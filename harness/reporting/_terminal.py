"""The terminal reporter: progress while runs go, then each finding and a summary.

On a terminal (``console.is_terminal``) each run gets a rich progress bar (turns done / total,
elapsed) and the end a summary table. Elsewhere (CI logs, pipes) it prints plain lines, one per
run start and finish, with no control codes. Every finding is shown the same way in both modes:
kind, users, summary, up to five evidence lines, expected/actual as a two-line diff, the docs
link and the replay command.

The reporter in use is swappable, as with Hypothesis's ``with_reporter``::

    with with_reporter(TerminalReporter(Console(file=buffer))):
        runner.run(...)          # calls current_reporter().run_started(...) etc.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from harness.detectors import LeakMatrix, group_findings, leak_matrix
from harness.model import Finding, RunResult

__all__ = [
    "DOCS_FINDINGS",
    "MAX_EVIDENCE",
    "TerminalReporter",
    "budget_notes",
    "current_reporter",
    "docs_link",
    "findings_by_kind",
    "matrix_lines",
    "with_reporter",
]

#: Where each finding kind is explained; the anchor is the kind.
DOCS_FINDINGS = "docs/findings.md"
#: Evidence lines shown per finding; the rest are counted.
MAX_EVIDENCE = 5


def budget_notes(observed: Mapping[str, int]) -> list[str]:
    """A note for walks that hit their budget: what lies beyond was not looked at."""
    truncated = observed.get("walks_truncated", 0)
    if not truncated:
        return []
    return [
        f"{truncated} of {observed.get('walks', 0)} walks hit the walk budget (objects or "
        "depth) and stopped there: objects beyond it were not checked, so a clean result "
        "is not proof for them (raise Walker max_objects/max_depth to look further)"
    ]


def docs_link(kind: str, base: str = DOCS_FINDINGS) -> str:
    """Return the docs link of a finding kind, e.g. ``docs/findings.md#foreign-data``."""
    return f"{base}#{kind}"


def findings_by_kind(findings: Sequence[Finding]) -> dict[str, int]:
    """Count findings by kind, in order of first appearance."""
    return dict(Counter(finding.kind for finding in findings))


def _kinds_text(findings: Sequence[Finding]) -> str:
    counts = findings_by_kind(findings)
    hazards = Counter(finding.kind for finding in findings if finding.severity == "hazard")
    return (
        ", ".join(
            f"{kind} x{count}" + (f" ({hazards[kind]} hazard)" if hazards[kind] else "")
            for kind, count in counts.items()
        )
        or "none"
    )


#: Findings of one kind printed per run before the rest are only counted.
MAX_PER_KIND = 3
#: Users shown as rows and columns of the leak matrix; the rest are summed as "others".
MATRIX_USERS = 8


def _short(user: str) -> str:
    return user[-6:]


def matrix_lines(matrix: LeakMatrix, limit: int = MATRIX_USERS, title: str = "") -> list[str]:
    """The user x user leak matrix as text: rows own the data, columns received it.

    The ``limit`` most involved users get a row and a column each; every other user is summed
    into ``others``. Empty when no data crossed users.
    """
    if not matrix.cells:
        return []
    shown, more = matrix.top(limit)
    labels = [_short(user) for user in shown] + (["others"] if more else [])
    position = {user: i for i, user in enumerate(shown)}
    rest = len(shown)
    grid = [[0] * len(labels) for _ in labels]
    for (owner, receiver), n in matrix.cells.items():
        grid[position.get(owner, rest)][position.get(receiver, rest)] += n
    width = max(6, *(len(label) for label in labels))
    head = "owner \\ received by "
    lines = [
        f"leak matrix{title} ({len(matrix.users)} users; ids shortened to their last 6 "
        "characters):",
        head + " ".join(label.rjust(width) for label in labels),
    ]
    for label, row in zip(labels, grid, strict=True):
        cells = " ".join((str(n) if n else ".").rjust(width) for n in row)
        lines.append(label.ljust(len(head)) + cells)
    return lines


class TerminalReporter:
    """Reports runs on a rich console: progress, findings, summary.

    Args:
        console: where everything goes; tests pass ``Console(file=io.StringIO())``.
        docs_base: the findings documentation linked from each finding.

    Example:
        >>> reporter = TerminalReporter(Console(file=io.StringIO(), force_terminal=False))
        >>> reporter.message("hello")
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        docs_base: str = DOCS_FINDINGS,
        per_kind: int = MAX_PER_KIND,
    ) -> None:
        self.console = console if console is not None else Console(highlight=False)
        self.docs_base = docs_base
        #: At most this many findings of each kind are printed per run; the reports hold all.
        self.per_kind = per_kind
        self._progress: Progress | None = None
        self._task: int | None = None
        self._notes_shown: set[str] = set()

    # -------------------------------------------------------------- run lifecycle

    def run_started(self, scenario: str, seed: int, strategy: str, users: int, turns: int) -> None:
        """A run begins: a progress bar on a terminal, one line elsewhere."""
        self._stop_progress()
        label = f"{scenario} seed={seed} strategy={strategy} users={users}"
        if self.console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("turns"),
                TimeElapsedColumn(),
                console=self.console,
                # No refresh thread: the bar moves when a turn ends.
                auto_refresh=False,
            )
            self._task = self._progress.add_task(label, total=turns)
            self._progress.start()
        else:
            self._line(f"run {label} turns={turns}")

    def turn_finished(self, n_done: int, n_total: int) -> None:
        """``n_done`` of ``n_total`` turns have ended (updates the bar; silent when plain)."""
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=n_done, total=n_total)  # type: ignore[arg-type]
            self._progress.refresh()

    def run_finished(self, result: RunResult) -> None:
        """A run ended: close its bar, print one line, its notes (once each) and each finding."""
        self._stop_progress()
        status = f"{len(result.findings)} finding(s)" if result.findings else "ok"
        hazards = sum(1 for finding in result.findings if finding.severity == "hazard")
        if hazards:
            status += f" ({hazards} hazard)" if hazards == 1 else f" ({hazards} hazards)"
        if not result.findings:
            style = "green"
        else:
            style = "bold yellow" if hazards == len(result.findings) else "bold red"
        self._line(
            f"done {result.scenario} seed={result.seed} strategy={result.strategy}: {status} "
            f"digest={result.trace_digest[:12]}",
            style=style,
        )
        # Skipped checks and best-effort replays (remote targets): said once, not per run.
        for note in (*result.notes, *budget_notes(result.trace.observed)):
            if note not in self._notes_shown:
                self._notes_shown.add(note)
                self._line(f"note: {note}", style="yellow")
        shown: dict[str, int] = {}
        groups = group_findings(result.findings)
        if len(groups) < len(result.findings):
            self._line(
                f"{len(groups)} root cause(s) for {len(result.findings)} finding(s), "
                "biggest blast radius first:"
            )
        for finding in groups:
            shown[finding.kind] = shown.get(finding.kind, 0) + 1
            if shown[finding.kind] <= self.per_kind:
                self.finding(finding, replay=result.replay)
        hidden = {kind: n - self.per_kind for kind, n in shown.items() if n > self.per_kind}
        if hidden:
            more = ", ".join(f"{n} {kind}" for kind, n in hidden.items())
            self._line(f"... not shown: {more} (findings.json and report.html hold every finding)")

    def finding(self, finding: Finding, *, replay: str = "") -> None:
        """Print one finding: kind, users, summary, evidence, diff, docs link and replay."""
        styled = self.console.is_terminal
        users = ", ".join(finding.users[:10])
        if len(finding.users) > 10:
            users += f" and {len(finding.users) - 10} more"
        times = f"  x{finding.count}" if finding.count > 1 else ""
        # A leak fails the run; a hazard fails it only when strict (docs/findings.md#severity).
        if finding.severity == "hazard":
            header, style = "HAZARD", "bold yellow"
        else:
            header, style = "FAIL", "bold red"
        self._line(f"{header} {finding.kind}  users: {users}{times}", style=style)
        self._line(f"  {finding.summary}")
        if finding.evidence:
            self._line("  evidence:")
            for line in finding.evidence[:MAX_EVIDENCE]:
                self._line(f"    {line}")
            hidden = len(finding.evidence) - MAX_EVIDENCE
            if hidden > 0:
                self._line(f"    ... and {hidden} more (findings.json has them all)")
        if finding.expected is not None or finding.actual is not None:
            self._line(f"  - expected {finding.expected}", style="red" if styled else None)
            self._line(f"  + actual   {finding.actual}", style="green" if styled else None)
        self._line(f"  docs: {docs_link(finding.kind, self.docs_base)}")
        command = finding.replay or replay
        if command:
            self._line(f"  replay: {command}", style="bold" if styled else None)

    def summary(self, results: Sequence[RunResult], *, strict: bool = False) -> None:
        """Print every run's outcome: a table on a terminal, plain lines elsewhere.

        The last line counts the findings and says how many hazards did not fail the run
        (or, with ``strict``, did).
        """
        self._stop_progress()
        failing = sum(1 for result in results if result.findings)
        total = sum(len(result.findings) for result in results)
        if self.console.is_terminal:
            table = Table(title="isolation runs", highlight=False)
            for column in ("scenario", "seed", "strategy", "users", "turns", "findings", "digest"):
                table.add_column(column, overflow="fold")
            for result in results:
                table.add_row(
                    Text(result.scenario),
                    str(result.seed),
                    Text(result.strategy),
                    str(len(result.trace.users)),
                    str(len(result.trace.turns)),
                    Text(_kinds_text(result.findings), style="red" if result.findings else "green"),
                    result.trace_digest[:12],
                )
            self.console.print(table)
        else:
            for result in results:
                self._line(
                    f"summary {result.scenario} seed={result.seed} strategy={result.strategy} "
                    f"users={len(result.trace.users)} turns={len(result.trace.turns)} "
                    f"findings={_kinds_text(result.findings)} digest={result.trace_digest[:12]}"
                )
        grouped = [group_findings(result.findings) for result in results]
        groups = sum(len(run_groups) for run_groups in grouped)
        # Hazards are counted as findings.json lists them: one per root cause.
        hazards = sum(1 for run_groups in grouped for g in run_groups if g.severity == "hazard")
        line = f"{len(results)} run(s), {failing} with findings, {total} finding(s) in all"
        if groups < total:
            line += f" ({groups} root causes)"
        if hazards and strict:
            line += f"; {hazards} hazard(s) failed the run (strict)"
        elif hazards:
            line += f"; {hazards} hazard(s) did not fail the run (--strict fails on them)"
        if total > hazards or (strict and hazards):
            style = "bold red"
        else:
            style = "bold yellow" if hazards else "bold green"
        self._line(line, style=style)
        # Users differ from run to run: the matrix is the headline run's (the first failing).
        head = next((result for result in results if result.findings), None)
        if head is not None:
            title = f" of {head.scenario} seed={head.seed}" if len(results) > 1 else ""
            for line in matrix_lines(leak_matrix(head.findings), title=title):
                self._line(line)

    def message(self, text: str) -> None:
        """Print one line of text as is (no markup is interpreted)."""
        self._stop_progress()
        self._line(text)

    def __call__(self, text: str) -> None:
        """A reporter is callable: ``reporter(text)`` is ``reporter.message(text)``."""
        self.message(text)

    # -------------------------------------------------------------- internals

    def _line(self, text: str, *, style: str | None = None) -> None:
        # Text objects: user data such as canaries may hold "[bold]" and must not become markup.
        # soft_wrap keeps replay commands on one line so they can be copied.
        rendered = Text(text, style=style or "") if self.console.is_terminal else Text(text)
        self.console.print(rendered, soft_wrap=True, highlight=False)

    def _stop_progress(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None


_CURRENT: contextvars.ContextVar[TerminalReporter | None] = contextvars.ContextVar(
    "harness_reporter", default=None
)
_DEFAULT: list[TerminalReporter] = []


def current_reporter() -> TerminalReporter:
    """Return the reporter in use: the innermost :func:`with_reporter`, else a default one.

    The default reporter writes to standard output and is created on first use, so importing
    the harness prints nothing.
    """
    reporter = _CURRENT.get()
    if reporter is not None:
        return reporter
    if not _DEFAULT:
        _DEFAULT.append(TerminalReporter())
    return _DEFAULT[0]


@contextlib.contextmanager
def with_reporter(reporter: TerminalReporter) -> Iterator[TerminalReporter]:
    """Use ``reporter`` as :func:`current_reporter` inside the ``with`` block.

    Any object with the same methods works (a test double recording calls, say).
    """
    token = _CURRENT.set(reporter)
    try:
        yield reporter
    finally:
        _CURRENT.reset(token)
