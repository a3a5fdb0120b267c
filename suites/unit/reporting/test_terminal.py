from __future__ import annotations

import dataclasses
import io

from rich.console import Console

from harness import reporting
from harness.model import RunResult
from harness.reporting import TerminalReporter, current_reporter, with_reporter
from suites.unit.reporting.traces import (
    REPLAY,
    foreign_data,
    make_result,
    make_trace,
    missing_tools,
)


def plain() -> tuple[TerminalReporter, io.StringIO]:
    buffer = io.StringIO()
    return TerminalReporter(Console(file=buffer, force_terminal=False, width=60)), buffer


def tty() -> tuple[TerminalReporter, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=140, color_system="standard")
    return TerminalReporter(console), buffer


def failing() -> RunResult:
    trace = make_trace(3, drop=[(2, "tool_executing"), (2, "tool_completed")])
    return make_result(trace, [foreign_data(trace, extra=" [bold]x[/bold]"), missing_tools(trace)])


def test_plain_mode_renders_each_finding_readably() -> None:
    reporter, buffer = plain()
    result = failing()
    reporter.run_started("basic", 7, "random", 3, 3)
    reporter.turn_finished(1, 3)
    reporter.run_finished(result)
    out = buffer.getvalue()
    assert "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "run basic seed=7 strategy=random users=3 turns=3"
    assert lines[1].startswith("done basic seed=7 strategy=random: 2 finding(s) digest=")
    assert "FAIL foreign-data  users: usr_000000000001, usr_000000000000" in lines
    # Markup in user data stays text.
    assert "  CANARY-000000 of usr_000000000000 reached usr_000000000001 [bold]x[/bold]" in lines
    # Five of seven evidence lines, then a count.
    assert [line for line in lines if "event seq=1 line" in line] == [
        f"    event seq=1 line {i}" for i in range(5)
    ]
    assert "    ... and 2 more (findings.json has them all)" in lines
    assert "  - expected only canaries of usr_000000000001" in lines
    assert "  + actual   CANARY-000000 [bold]x[/bold]" in lines
    assert "  docs: docs/findings.md#foreign-data" in lines
    assert "  docs: docs/findings.md#event-missing" in lines
    # The replay command stays whole on one line, however narrow the console.
    assert lines.count(f"  replay: {REPLAY}") == 2


def test_plain_mode_summary_is_one_line_per_run() -> None:
    reporter, buffer = plain()
    clean = make_result(make_trace(2, seed=0))
    reporter.summary([clean, failing()])
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("summary basic seed=0 strategy=random users=2 turns=2 findings=none")
    assert "findings=foreign-data x1, event-missing x1" in lines[1]
    assert lines[2] == "2 run(s), 1 with findings, 2 finding(s) in all"
    assert "\x1b" not in buffer.getvalue()


def test_replay_falls_back_to_the_run_command() -> None:
    reporter, buffer = plain()
    result = failing()
    bare = dataclasses.replace(result.findings[0], replay="")
    reporter.run_finished(dataclasses.replace(result, findings=(bare,)))
    assert f"  replay: {REPLAY}" in buffer.getvalue().splitlines()


def test_tty_mode_shows_progress_and_a_summary_table() -> None:
    reporter, buffer = tty()
    result = failing()
    reporter.run_started("basic", 7, "random", 3, 3)
    reporter.turn_finished(2, 3)
    reporter.run_finished(result)
    reporter.summary([result])
    out = buffer.getvalue()
    assert "\x1b[" in out  # styled
    assert "2/3" in out  # the progress bar counted turns
    for header in ("scenario", "seed", "strategy", "users", "turns", "findings", "digest"):
        assert header in out
    assert "┏" in out and "┃" in out  # a table, not lines
    assert result.trace_digest[:12] in out
    assert "foreign-data x1, event-missing x1" in out
    assert "docs/findings.md#foreign-data" in out


def test_message_and_call_print_text_as_is() -> None:
    reporter, buffer = plain()
    reporter.message("[red]not markup[/red]")
    reporter("second")
    assert buffer.getvalue().splitlines() == ["[red]not markup[/red]", "second"]


def test_with_reporter_swaps_and_restores() -> None:
    outer = current_reporter()
    first, _ = plain()
    second, _ = plain()
    with with_reporter(first):
        assert current_reporter() is first
        with with_reporter(second):
            assert current_reporter() is second
        assert current_reporter() is first
    assert current_reporter() is outer


def test_reporting_exports_exactly_its_public_names() -> None:
    public = {
        name
        for name, value in vars(reporting).items()
        if not name.startswith("_") and name != "annotations" and not _is_module(value)
    }
    assert public == set(reporting.__all__)
    assert len(reporting.__all__) == len(set(reporting.__all__))


def _is_module(value: object) -> bool:
    return type(value).__name__ == "module"


def test_a_run_prints_a_few_findings_per_kind_and_counts_the_rest() -> None:
    trace = make_trace(3)
    many = [dataclasses.replace(foreign_data(trace), summary=f"leak number {n}") for n in range(7)]
    buffer = io.StringIO()
    reporter = TerminalReporter(Console(file=buffer, force_terminal=False, width=200), per_kind=2)
    reporter.run_finished(make_result(trace, [*many, missing_tools(trace)]))
    out = buffer.getvalue()
    assert "leak number 0" in out and "leak number 1" in out
    assert "leak number 2" not in out
    assert "not shown: 5 foreign-data" in out
    assert "event-missing" in out


def test_a_runs_notes_are_printed_once_each() -> None:
    # A remote run's notes say which checks were skipped; a clean summary alone would hide it.
    reporter, buffer = plain()
    skipped = "live roots not observed (black-box target): shared-state and retention skipped"
    result = dataclasses.replace(make_result(make_trace(2)), notes=(skipped, "best-effort"))
    reporter.run_finished(result)
    reporter.run_finished(result)
    lines = buffer.getvalue().splitlines()
    assert lines.count(f"note: {skipped}") == 1
    assert lines.count("note: best-effort") == 1
    assert lines.index(f"note: {skipped}") == 1  # right after the first run's done line


def test_walks_past_their_budget_are_a_note_not_a_silent_pass() -> None:
    reporter, buffer = plain()
    clean = make_result(make_trace(2, seed=0))
    observed = {"walks": 40, "walks_truncated": 3}
    reporter.run_finished(
        dataclasses.replace(clean, trace=dataclasses.replace(clean.trace, observed=observed))
    )
    assert "note: 3 of 40 walks hit the walk budget (objects or depth)" in buffer.getvalue()
    reporter, buffer = plain()
    reporter.run_finished(clean)
    assert "walk budget" not in buffer.getvalue()


def test_the_summary_ends_with_the_leak_matrix_of_the_first_failing_run() -> None:
    reporter, buffer = plain()
    clean, broken = make_result(make_trace(2, seed=0)), failing()
    reporter.summary([clean, broken])
    lines = buffer.getvalue().splitlines()
    leak = next(f for f in broken.findings if f.kind == "foreign-data")
    owner, receiver = leak.users
    assert (
        lines[3]
        == "leak matrix of basic seed=7 (2 users; ids shortened to their last 6 characters):"
    )
    # Equally involved users come in id order; rows own the data, columns received it.
    first, second = sorted((owner, receiver))
    assert lines[4].split() == ["owner", "\\", "received", "by", first[-6:], second[-6:]]
    rows = {line.split()[0]: line.split()[1:] for line in lines[5:7]}
    assert rows[owner[-6:]][[first, second].index(receiver)] == str(leak.count)
    assert rows[owner[-6:]][[first, second].index(owner)] == "."
    assert rows[receiver[-6:]] == [".", "."]
    reporter, buffer = plain()
    reporter.summary([clean])
    assert "leak matrix" not in buffer.getvalue()
